//! The container's own cgroups, seen from inside at /sys/fs/cgroup (read-only), as Docker
//! mounts them: `free`, `top` and runtimes that size themselves read the limits there. Made
//! in the container's cgroup namespace, so each hierarchy's root is the container's group —
//! never the host's, and never a `release_agent`.
//!
//! - unified host: cgroup2 itself at /sys/fs/cgroup;
//! - v1 or hybrid: a small tmpfs there holding each hierarchy the container has a group in
//!   (`memory`, `cpu,cpuacct` with `cpu` and `cpuacct` links, `unified`, …), like the host's.

use super::{Cgroup, Kind, MAX_HIERARCHIES};
use crate::error::{Context, Error, Result};
use linker::sys::fs::{self, CGROUP2_SUPER_MAGIC};
use linker::sys::mount::{self, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT};
use linker::{List, Text};

/// What to mount: the whole of it as cgroup2, or hierarchies by their names under
/// /sys/fs/cgroup (and whether each is cgroup2).
#[derive(Clone, Copy, Default)]
pub struct View {
    pub unified: bool,
    pub hierarchies: List<(Text<48>, bool), MAX_HIERARCHIES>,
}

impl Cgroup {
    /// The view of this container's groups, for the child to mount.
    pub fn view(&self) -> View {
        let mut v = View { unified: fs::statfs_type(c"/sys/fs/cgroup") == Ok(CGROUP2_SUPER_MAGIC), ..View::default() };
        if v.unified {
            return v;
        }
        for d in self.dirs.iter() {
            let Some(rest) = d.path.as_bytes().strip_prefix(b"/sys/fs/cgroup/") else { continue };
            let name = rest.split(|&c| c == b'/').next().unwrap_or(b"");
            let mut t = Text::new();
            t.bytes(name);
            if !name.is_empty() && !t.overflowed() {
                let _ = v.hierarchies.push((t, d.kind == Kind::V2));
            }
        }
        v
    }
}

const FLAGS: u64 = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY;

/// In the container, after it entered its cgroup namespace: mounts `view` at /sys/fs/cgroup,
/// read-only unless `writable`.
pub fn mount_view(view: &View, writable: bool) -> Result<()> {
    let flags = if writable { FLAGS & !MS_RDONLY } else { FLAGS };
    let at = c"/sys/fs/cgroup";
    let fail = |e| Error::sys("cannot mount the container's cgroups on", e).on(at);
    if view.unified {
        return mount::mount(Some(c"cgroup2"), at, Some(c"cgroup2"), flags, None).map_err(fail);
    }
    mount::mount(Some(c"tmpfs"), at, Some(c"tmpfs"), FLAGS & !MS_RDONLY, Some(c"mode=755,size=64k")).map_err(fail)?;
    for (name, v2) in view.hierarchies.iter() {
        let mut dir = Text::<80>::new();
        dir.push("/sys/fs/cgroup/").bytes(name.as_bytes());
        let dir = dir.as_cstr().context("path")?;
        fs::mkdirat(fs::AT_FDCWD, dir, 0o555).context_on("mkdir", dir)?;
        // A v1 hierarchy is mounted by its controllers (or its name, for named ones).
        let mut opts = Text::<64>::new();
        match name.as_bytes() {
            b"systemd" => opts.push("none,name=systemd"),
            n => opts.bytes(n),
        };
        let (kind, data) = if v2 { (c"cgroup2", None) } else { (c"cgroup", Some(opts.as_cstr().context("options")?)) };
        mount::mount(Some(kind), dir, Some(kind), flags, data).map_err(|e| Error::sys("cannot mount the container's cgroup", e).on(dir))?;
        // `cpu,cpuacct` is also reached as `cpu` and `cpuacct`.
        if name.as_bytes().contains(&b',') {
            for part in name.as_bytes().split(|&c| c == b',') {
                let mut link = Text::<80>::new();
                link.push("/sys/fs/cgroup/").bytes(part);
                let mut target = name;
                let _ = fs::symlinkat(target.as_cstr().context("path")?, fs::AT_FDCWD, link.as_cstr().context("path")?);
            }
        }
    }
    mount::mount(None, at, None, MS_REMOUNT | FLAGS, Some(c"mode=755,size=64k")).map_err(fail)
}
