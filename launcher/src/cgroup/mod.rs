//! The container's own cgroup: every container gets one, in every hierarchy the host has,
//! limits or not. It carries the device allow list ([`devices`]) and the default pids limit,
//! makes the container's cgroup namespace start below the host's roots (so a `cgroup` mount
//! inside shows no `release_agent`), and is how a container is found and killed as a whole.
//!
//! Created and limited before the child exists, entered before the container's first
//! instruction — cgroup v2: the child starts in it (`clone3(CLONE_INTO_CGROUP)`); v1: the child
//! writes `0` into each hierarchy's `tasks` first thing (see [`Cgroup::enter_v1`]) — emptied and
//! removed afterwards.
//!
//! Layouts (`statfs` tells them apart):
//! - unified (cgroup2 at /sys/fs/cgroup): one directory `knocker/<name>` holds the limits,
//!   and a BPF program attached to it the device rules;
//! - v1 or hybrid (a tmpfs of per-controller cgroup mounts, maybe with a cgroup2 at
//!   /sys/fs/cgroup/unified): `knocker/<name>` in the hierarchies knocker uses — limits where
//!   the controller is, device rules in `devices` — or in every mounted hierarchy when the
//!   container keeps CAP_SYS_ADMIN ([`needed`]); plus one in the unified tree when present
//!   (placement and `cgroup.kill`).
//!
//! Which groups are alive is kept by a lock ([`stale`]): a group whose launcher died is
//! swept — its processes killed, its directories removed — by the next launcher.

pub mod devices;
pub(crate) mod files;
pub(crate) mod limits;
pub mod stale;
mod v1;
mod v2;
pub mod view;

pub use files::format_size;

use crate::error::{Context, Error, Result};
use crate::spec::{Limits, Spec};
use linker::sys::fs::{self, CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC, O_DIRECTORY, O_RDONLY};
use linker::{Fd, List, Text, say};

pub type Path = Text<256>;

/// Controllers of a v1 hierarchy, from its directory name (`cpu,cpuacct`, `memory`, …).
pub const MEMORY: u8 = 1;
pub const PIDS: u8 = 2;
pub const CPU: u8 = 4;
pub const DEVICES: u8 = 8;
pub const FREEZER: u8 = 16;
pub const CPUSET: u8 = 32;
pub const BLKIO: u8 = 64;
pub const HUGETLB: u8 = 128;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Kind {
    /// A cgroup2 directory: limits and devices (on a unified host), placement, `cgroup.kill`.
    #[default]
    V2,
    /// A directory in a v1 hierarchy with these controllers.
    V1(u8),
}

/// A hierarchy (its mount point) or one directory of ours in it.
#[derive(Clone, Copy, Default)]
pub struct Dir {
    pub path: Path,
    pub kind: Kind,
}

impl Dir {
    fn has(&self, controller: u8) -> bool {
        matches!(self.kind, Kind::V1(c) if c & controller != 0)
    }
}

pub const MAX_HIERARCHIES: usize = 20;
pub type Dirs = List<Dir, MAX_HIERARCHIES>;

/// Every cgroup hierarchy mounted under /sys/fs/cgroup: the one cgroup2 root on a unified
/// host; on a v1 host each directory that is a v1 mount (symlinks such as `cpu` →
/// `cpu,cpuacct` are skipped) and the hybrid's `unified` cgroup2, when there.
pub fn hierarchies() -> Dirs {
    let mut found = Dirs::new();
    match fs::statfs_type(c"/sys/fs/cgroup") {
        Ok(CGROUP2_SUPER_MAGIC) => {
            let mut path = Path::new();
            path.push("/sys/fs/cgroup");
            let _ = found.push(Dir { path, kind: Kind::V2 });
        }
        Ok(_) => {
            let Ok(dir) = fs::open(c"/sys/fs/cgroup", O_RDONLY | O_DIRECTORY) else { return found };
            let mut buf = [0u8; 2048];
            while let Ok(n @ 1..) = fs::getdents64(dir.raw(), &mut buf) {
                for (kind, name) in fs::dirents(&buf[..n]) {
                    if kind != DT_DIR || name.first() == Some(&b'.') {
                        continue;
                    }
                    let mut path = Path::new();
                    path.push("/sys/fs/cgroup/").bytes(name);
                    let Ok(p) = path.as_cstr() else { continue };
                    let kind = match fs::statfs_type(p) {
                        Ok(CGROUP_SUPER_MAGIC) => Kind::V1(controllers(name)),
                        Ok(CGROUP2_SUPER_MAGIC) => Kind::V2,
                        _ => continue,
                    };
                    let _ = found.push(Dir { path, kind });
                }
            }
        }
        Err(_) => {}
    }
    found
}

const DT_DIR: u8 = 4;

/// `cpu,cpuacct` → CPU; `memory` → MEMORY; `name=systemd` → none of ours.
pub fn controllers(name: &[u8]) -> u8 {
    name.split(|&c| c == b',')
        .map(|c| match c {
            b"memory" => MEMORY,
            b"pids" => PIDS,
            b"cpu" => CPU,
            b"devices" => DEVICES,
            b"freezer" => FREEZER,
            b"cpuset" => CPUSET,
            b"blkio" => BLKIO,
            b"hugetlb" => HUGETLB,
            _ => 0,
        })
        .fold(0, |a, b| a | b)
}

pub struct Cgroup {
    dirs: Dirs,
    /// Open cgroup2 directory for `CLONE_INTO_CGROUP`.
    v2_fd: Option<Fd>,
    /// The `tasks` file of each v1 directory, open for writing: the child moves itself.
    v1_tasks: [Option<Fd>; MAX_HIERARCHIES],
    memory_limit: Option<u64>,
    /// Held while the container lives: tells other launchers this group is not stale. None
    /// for an OCI container, whose group lives as long as its state.
    _alive: Option<stale::Lock>,
    /// Removes the groups a container made below its own, before its own go (an OCI
    /// front end's: a privileged container's cgroups are mounted read-write).
    nested: Option<fn(&Path)>,
}

/// The cgroup v2 directory above this process's own, when its user owns it (a delegated
/// subtree: systemd's `user@UID.service`, or one an administrator gave); None on cgroup v1 or
/// when the user does not own it. (Written into `path`: a Path is not moved around.)
pub fn delegated_parent(path: &mut Path) -> bool {
    if fs::statfs_type(c"/sys/fs/cgroup") != Ok(CGROUP2_SUPER_MAGIC) {
        return false;
    }
    let mut buf = [0u8; 512];
    let n = fs::read_file(c"/proc/self/cgroup", &mut buf).unwrap_or(0);
    let own = buf[..n].split(|&c| c == b'\n').find_map(|l| l.strip_prefix(b"0::")).unwrap_or(b"/");
    let parent = &own[..own.iter().rposition(|&c| c == b'/').unwrap_or(0)];
    path.push("/sys/fs/cgroup").bytes(parent);
    let owned = path.as_cstr().ok().and_then(|p| fs::stat(p).ok()).is_some_and(|st| st.uid == linker::sys::process::getuid());
    !parent.is_empty() && owned
}

impl Cgroup {
    /// Creates the container's cgroup in every hierarchy, with its limits and device rules.
    /// Without root, for limits: a group `knocker-NAME` in the cgroup v2 directory above the
    /// launcher's own, when the user owns it — a delegated subtree, as systemd hands one to
    /// each user (`user@UID.service`), or any the administrator gave. No device program (that
    /// needs root; the user namespace confines devices).
    pub fn delegated(spec: &Spec, name: &[u8]) -> Result<Cgroup> {
        let none = || Error::new("limits without root need a delegated cgroup v2 subtree (the cgroup above the launcher's own, yours): there is none")
            .hint("run as root, or in a delegated cgroup (systemd-run --user --scope -p Delegate=yes)");
        let mut path = Path::new();
        if !delegated_parent(&mut path) {
            return Err(none());
        }
        let mut cg = Cgroup { dirs: Dirs::new(), v2_fd: None, v1_tasks: [const { None }; MAX_HIERARCHIES], memory_limit: spec.limits.memory, _alive: None, nested: None };
        let mut group = Text::<96>::new();
        group.push("knocker-").bytes(name);
        v2::create(&mut cg, &Dir { path, kind: Kind::V2 }, group.as_bytes(), &spec.limits, None)?;
        Ok(cg)
    }

    pub fn create(spec: &Spec, name: &[u8]) -> Result<Cgroup> {
        let alive = if spec.locked { Some(stale::Lock::take(name)?) } else { None };
        // Without host root there is no cgroup to make (the user namespace the container is in
        // confines its devices): the rootless launcher, a rootless engine's knocker.
        if !linker::sys::process::host_root() {
            return Ok(Cgroup { dirs: Dirs::new(), v2_fd: None, v1_tasks: [const { None }; MAX_HIERARCHIES], memory_limit: None, _alive: alive, nested: None });
        }
        let all = hierarchies();
        if all.is_empty() {
            return Err(Error::new("no cgroup file system at /sys/fs/cgroup: cannot confine the container's devices")
                .hint("mount cgroup2 there: mount -t cgroup2 none /sys/fs/cgroup"));
        }
        let mut alive = alive;
        if let Some(lock) = alive.as_mut() {
            stale::sweep(&all, name);
            // This name's own group, if the launcher we took the name over from left it.
            lock.sweep_left(&all, name);
        }
        let mut cg = Cgroup {
            dirs: Dirs::new(),
            v2_fd: None,
            v1_tasks: [const { None }; MAX_HIERARCHIES],
            memory_limit: spec.limits.memory,
            _alive: alive,
            nested: spec.extras.map(|x| x.remove_nested),
        };
        let limits = usable_limits(&all, &spec.limits, spec.verbose)?;
        let devices = devices::Allowed { devices: spec.devices, extra: spec.device_rules };
        let v1_devices = all.iter().any(|h| h.has(DEVICES));
        let may_mount = spec.caps & (1 << CAP_SYS_ADMIN) != 0;
        let group = match spec.cgroup_path {
            Some(path) => {
                let mut g = Group::new();
                g.bytes(path);
                g
            }
            None => launcher_group(name),
        };
        let group = group.as_bytes();
        for h in all.as_slice().iter().filter(|h| needed(h, &limits, may_mount)) {
            match h.kind {
                Kind::V1(_) => v1::create(&mut cg, h, group, &limits, devices)?,
                // The unified tree of a hybrid host carries no limits; it holds device rules
                // only when there is no v1 devices controller to do it.
                Kind::V2 if all.len() > 1 => v2::create(&mut cg, h, group, &Limits::default(), (!v1_devices).then_some(devices))?,
                Kind::V2 => v2::create(&mut cg, h, group, &limits, Some(devices))?,
            }
        }
        if !v1_devices && !all.iter().any(|h| h.kind == Kind::V2) {
            return Err(Error::new("no devices cgroup controller and no cgroup2: cannot confine the container's devices"));
        }
        // What only an OCI config limits (through Extras: the launcher does not carry it).
        if let Some(x) = spec.extras {
            (x.cgroup_limits)(cg.dirs.as_slice(), &limits, all.len() > 1)?;
        }
        if let (Some(lock), Some(first)) = (cg._alive.as_ref(), cg.dirs.get(0)) {
            lock.mark(&first.path);
        }
        Ok(cg)
    }

    fn add(&mut self, path: Path, kind: Kind) {
        let _ = self.dirs.push(Dir { path, kind });
    }

    /// What identifies the group's directory (in the first hierarchy) as the one made here, for
    /// the OCI state: a later verb acts on the group only while it is that very directory.
    pub fn mark(&self) -> Option<stale::Mark> {
        stale::Mark::of(&self.dirs.get(0)?.path)
    }

    /// The cgroup2 directory to start the child in, if there is one.
    pub fn clone_into(&self) -> Option<i32> {
        self.v2_fd.as_ref().map(Fd::raw)
    }

    /// The open `tasks` files of the v1 directories, for [`Cgroup::enter_v1`] in the child.
    pub fn v1_tasks(&self) -> List<i32, MAX_HIERARCHIES> {
        let mut fds = List::new();
        for fd in self.v1_tasks.iter().flatten() {
            let _ = fds.push(fd.raw());
        }
        fds
    }

    /// In the child, first thing: moves the calling process into its v1 groups. Writing `0`
    /// to `tasks` moves the calling thread — for the single-threaded child, the process — and
    /// the kernel does it without the global lock that a move by pid takes, whose RCU grace
    /// period costs milliseconds on every launch (37 µs against 6 ms, measured here).
    pub fn enter_v1(tasks: &[i32]) -> core::result::Result<(), linker::Errno> {
        for &fd in tasks {
            fs::write(fd, b"0")?;
        }
        Ok(())
    }

    /// Moves `pid` into the cgroup2 directory when `clone_into` could not be used (kernels
    /// before 5.7). Called while the child still waits for the go-ahead.
    pub fn attach_v2(&self, pid: i32, placed: bool) -> Result<()> {
        let mut line = Text::<16>::new();
        line.push(pid);
        for dir in self.dirs.iter() {
            if dir.kind != Kind::V2 || placed {
                continue;
            }
            let mut procs = dir.path.clone();
            procs.push("/cgroup.procs");
            let p = procs.as_cstr().context("cgroup path too long:")?;
            fs::write_file(p, line.as_bytes()).context_on("cannot move the container into", &procs)?;
        }
        Ok(())
    }

    /// Whether the kernel's OOM killer struck inside the container.
    pub fn oom_killed(&self) -> bool {
        self.dirs.iter().any(|d| match d.kind {
            Kind::V2 => files::read_field(&d.path, "/memory.events", b"oom_kill") > Some(0),
            Kind::V1(_) if d.has(MEMORY) => files::read_field(&d.path, "/memory.oom_control", b"oom_kill") > Some(0),
            _ => false,
        })
    }

    pub fn memory_limit(&self) -> Option<u64> {
        self.memory_limit
    }

    /// Kills whatever is left inside and removes the directories.
    pub fn destroy(&mut self) {
        self.v2_fd = None;
        self.v1_tasks = [const { None }; MAX_HIERARCHIES];
        if let Some(remove) = self.nested {
            self.dirs.iter().for_each(|d| remove(&d.path));
        }
        files::kill_and_remove(&self.dirs);
        self.dirs = Dirs::new();
    }

    /// Leaves the group in place (an OCI container that outlives its `create`): only the
    /// descriptors close.
    pub fn keep(mut self) {
        self.v2_fd = None;
        self.v1_tasks = [const { None }; MAX_HIERARCHIES];
        self.dirs = Dirs::new();
    }

    /// Kills everything in the group at `group` (relative to each hierarchy's root) and
    /// removes it in every hierarchy (OCI `delete`). Returns how many processes were in it.
    pub fn remove_group(group: &[u8]) -> usize {
        let all = hierarchies();
        for h in all.iter() {
            let mut dir = h.path.clone();
            dir.push("/").bytes(group);
            files::remove_below(&dir, 8);
        }
        stale::remove_quietly(&all, group).unwrap_or(0)
    }

    /// Freezes (or thaws) every process of the group at `group`: the v1 freezer, or
    /// `cgroup.freeze` on cgroup v2; returns once the kernel reports it done.
    pub fn freeze(group: &[u8], frozen: bool) -> Result<()> {
        for h in hierarchies().iter() {
            let mut dir = h.path.clone();
            dir.push("/").bytes(group);
            if !dir.as_cstr().is_ok_and(|p| fs::stat(p).is_ok()) {
                continue;
            }
            if h.has(FREEZER) {
                return files::set_freezer_checked(&dir, if frozen { b"FROZEN" } else { b"THAWED" });
            }
            if h.kind == Kind::V2 && all_v2(&hierarchies()) {
                write(&dir, "/cgroup.freeze", if frozen { b"1" } else { b"0" })?;
                for _ in 0..1000 {
                    if files::read_field(&dir, "/cgroup.events", b"frozen") == Some(frozen as u64) {
                        return Ok(());
                    }
                    let _ = linker::sys::time::sleep_ms(1);
                }
                return Err(Error::new("the container did not freeze in time:").on(&dir));
            }
        }
        Err(Error::new("no freezer for this container's cgroup (v1 freezer or cgroup v2)"))
    }

    /// Whether the group at `group` is frozen.
    pub fn is_frozen(group: &[u8]) -> bool {
        hierarchies().iter().any(|h| {
            let mut dir = h.path.clone();
            dir.push("/").bytes(group);
            if h.has(FREEZER) {
                let mut state = dir.clone();
                state.push("/freezer.state");
                let mut buf = [0u8; 16];
                state.as_cstr().ok().and_then(|p| fs::read_file(p, &mut buf).ok()).is_some_and(|n| buf[..n].trim_ascii() == b"FROZEN")
            } else {
                h.kind == Kind::V2 && files::read_field(&dir, "/cgroup.events", b"frozen") == Some(1)
            }
        })
    }

    /// Changes the limits of the running group at `group` (OCI `update`): each limit set in
    /// `limits` is written where its controller is; the others stay as they are.
    pub fn update(group: &[u8], limits: &Limits) -> Result<()> {
        let all = hierarchies();
        let unified_only = all_v2(&all);
        for h in all.iter() {
            let mut dir = h.path.clone();
            dir.push("/").bytes(group);
            if !dir.as_cstr().is_ok_and(|p| fs::stat(p).is_ok()) {
                continue;
            }
            match h.kind {
                Kind::V2 if unified_only => limits::write_v2(&dir, limits)?,
                // The unified tree of a hybrid host carries no limits.
                Kind::V2 => continue,
                Kind::V1(_) => {
                    limits::before_v1_update(&dir, &h, limits)?;
                    limits::write_v1(&dir, &h, limits)?
                }
            }
            limits::write_more(&dir, &h, limits)?;
        }
        Ok(())
    }

    /// The pids in the group at `group` (first hierarchy that has it), up to `out`'s size.
    pub fn pids_of(group: &[u8], out: &mut [i32]) -> usize {
        let mut n = 0;
        for h in hierarchies().iter() {
            let mut path = h.path.clone();
            path.push("/").bytes(group);
            if path.as_cstr().is_ok_and(|p| fs::stat(p).is_ok()) {
                files::for_each_listed(&path, |pid| {
                    if n < out.len() {
                        out[n] = pid;
                        n += 1;
                    }
                });
                break;
            }
        }
        n
    }

    pub fn describe(&self) -> Text<1024> {
        let mut t = Text::new();
        if self.dirs.is_empty() {
            t.push("none");
        }
        for (i, d) in self.dirs.iter().enumerate() {
            if i > 0 {
                t.push(", ");
            }
            t.push(&d.path);
        }
        t
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.destroy();
    }
}

const CAP_SYS_ADMIN: u32 = 21;

/// Whether the container gets a group in hierarchy `h`: in the cgroup2 tree always; in a v1
/// hierarchy when knocker uses its controller (devices, pids, freezer; memory and cpu when
/// limited) — and in every one when the container keeps CAP_SYS_ADMIN, the only way to mount
/// a cgroup file system inside: a hierarchy mounted there is then rooted at the container's
/// own group, so it shows no `release_agent` (which exists only in a hierarchy's root).
/// Fewer groups are cheaper: each v1 group is a directory made and removed per launch.
fn needed(h: &Dir, limits: &Limits, may_mount: bool) -> bool {
    match h.kind {
        Kind::V2 => true,
        Kind::V1(c) => {
            may_mount
                || c & (DEVICES | PIDS | FREEZER) != 0
                || (c & MEMORY != 0 && limits.memory_any())
                || (c & CPU != 0 && limits.cpu())
                || (c & CPUSET != 0 && limits.cpuset())
                // (Both when an OCI config limits either: an extra empty group at most.)
                || (c & (BLKIO | HUGETLB) != 0 && limits.more.is_some())
        }
    }
}

/// Whether the host is cgroup v2 only (its one cgroup2 tree has the freezer).
fn all_v2(all: &Dirs) -> bool {
    all.iter().all(|h| h.kind == Kind::V2)
}

/// The limits to write: those the user asked for must be possible (else an error naming the
/// missing controller); knocker's default pids limit is dropped, said under -v, where the host
/// has no pids controller.
fn usable_limits(all: &Dirs, limits: &Limits, verbose: bool) -> Result<Limits> {
    let v2 = all.iter().find(|h| h.kind == Kind::V2);
    let has = |controller: u8, name: &str| match (all.len(), v2) {
        (1, Some(root)) => v2::offers(&root.path, name),
        _ => all.iter().any(|h| h.has(controller)),
    };
    let mut out = *limits;
    for (wanted, controller, name, what) in [
        (limits.memory.is_some(), MEMORY, "memory", "cannot apply --memory: the host has no memory cgroup controller"),
        (limits.pids.is_some() && !limits.pids_by_default, PIDS, "pids", "cannot apply --pids: the host has no pids cgroup controller"),
        (limits.cpu(), CPU, "cpu", "cannot apply --cpus or CPU shares: the host has no cpu cgroup controller"),
    ] {
        if wanted && !has(controller, name) {
            return Err(Error::new(what).hint("is it bound to another cgroup hierarchy, or not built into the kernel?"));
        }
    }
    if limits.pids_by_default && !has(PIDS, "pids") {
        if verbose {
            say!(2; "launcher: no pids cgroup controller: the container runs without a pids limit");
        }
        out.pids = None;
    }
    Ok(out)
}

/// The group (`knocker/<name>`, or an OCI config's cgroupsPath) under the hierarchy `root`,
/// creating the directories on the way.
fn make_dir(root: &Dir, group: &[u8]) -> Result<Path> {
    let parts = group.split(|&c| c == b'/').filter(|p| !p.is_empty());
    let count = parts.clone().count();
    let mut dir = root.path.clone();
    for (i, part) in parts.enumerate() {
        let parent = dir.clone();
        dir.push("/").bytes(part);
        let d = dir.as_cstr().context("cgroup path too long:")?;
        match fs::mkdir(d, 0o755) {
            Ok(()) if i + 1 < count => v1::prepare_parent(root, &parent, &dir)?,
            Ok(()) => {}
            Err(linker::Errno::EEXIST) if i + 1 < count => {}
            // A group of this path exists. With processes in it, it is another container's
            // (an OCI container's, or one an engine made): refused, never swept. Empty, it is
            // a leftover (a failed create): made afresh.
            Err(linker::Errno::EEXIST) => {
                if files::occupied(&dir) {
                    return Err(Error::new("a cgroup of this path exists and has processes in it:")
                        .on(&dir)
                        .hint("another container's: give this one another name (--name, the OCI id, linux.cgroupsPath)"));
                }
                stale::remove_empty(root, group);
                let d = dir.as_cstr().context("cgroup path too long:")?;
                fs::mkdir(d, 0o755).context_on("cannot create cgroup", &dir)?;
            }
            Err(e) => return Err(Error::sys("cannot create cgroup", e).on(&dir)),
        }
    }
    Ok(dir)
}

/// The parent of a cgroup directory's path.
fn parent_of(dir: &Path) -> Path {
    let bytes = dir.as_bytes();
    let mut p = Path::new();
    p.bytes(&bytes[..bytes.iter().rposition(|&c| c == b'/').unwrap_or(0)]);
    p
}

/// Where a container's group sits in every hierarchy, relative to its root.
pub type Group = Text<256>;

/// The launcher's groups: `knocker/<name>`.
pub fn launcher_group(name: &[u8]) -> Group {
    let mut g = Group::new();
    g.push("knocker/").bytes(name);
    g
}

/// Writes `value` to `dir/file`, naming the file in the error.
fn write(dir: &Path, file: &str, value: &[u8]) -> Result<()> {
    let mut p = dir.clone();
    p.push(file);
    let c = p.as_cstr().context("cgroup path too long:")?;
    fs::write_file(c, value).context_on("cannot write", &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fit() {
        let mut p = Path::new();
        p.push("/sys/fs/cgroup/memory/knocker/").push("a".repeat(64).as_str()).push("/memory.memsw.limit_in_bytes");
        assert!(p.as_cstr().is_ok());
    }

    #[test]
    fn controllers_from_hierarchy_names() {
        assert_eq!(controllers(b"cpu,cpuacct"), CPU);
        assert_eq!(controllers(b"memory"), MEMORY);
        assert_eq!(controllers(b"net_cls,net_prio"), 0);
        assert_eq!(controllers(b"systemd"), 0);
        assert_eq!(controllers(b"freezer"), FREEZER);
    }
}
