//! The container's own cgroup: created and limited before the child exists, entered by the
//! child before its first instruction (cgroup v2: `clone3(CLONE_INTO_CGROUP)`) or before it is
//! released (v1: the parent writes its pid while it waits on the sync channel), emptied and
//! removed afterwards.
//!
//! Layouts this handles (`statfs` of /sys/fs/cgroup tells them apart):
//! - unified (cgroup2 at /sys/fs/cgroup): one directory `knocker/<name>` holds the limits;
//! - v1 or hybrid (a tmpfs of per-controller cgroup mounts, maybe with an empty cgroup2 at
//!   /sys/fs/cgroup/unified): one `knocker/<name>` per limited controller, plus one in the
//!   unified tree, when present, for placement and `cgroup.kill`.

mod files;
mod v1;
mod v2;

pub use files::format_size;

use crate::error::{Context, Error, Result};
use crate::spec::Spec;
use linker::sys::fs::{self, CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC};
use linker::{Fd, Text};

pub type Path = Text<160>;

/// One directory of ours in one hierarchy.
pub struct Dir {
    pub path: Path,
    pub kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A cgroup2 directory: limits (on a unified host), placement and `cgroup.kill`.
    V2,
    V1Memory,
    V1Pids,
    V1Cpu,
}

pub struct Cgroup {
    list: [Option<Dir>; 4],
    /// Open cgroup2 directory for `CLONE_INTO_CGROUP`.
    v2_fd: Option<Fd>,
    memory_limit: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layout {
    Unified,
    Legacy { unified_too: bool },
    Missing,
}

pub fn detect() -> Layout {
    match fs::statfs_type(c"/sys/fs/cgroup") {
        Ok(CGROUP2_SUPER_MAGIC) => Layout::Unified,
        Ok(_) => Layout::Legacy { unified_too: fs::statfs_type(c"/sys/fs/cgroup/unified") == Ok(CGROUP2_SUPER_MAGIC) },
        Err(_) => Layout::Missing,
    }
}

/// Whether a v1 controller hierarchy is mounted at /sys/fs/cgroup/<controller>.
fn v1_mounted(path: &core::ffi::CStr) -> bool {
    fs::statfs_type(path) == Ok(CGROUP_SUPER_MAGIC)
}

impl Cgroup {
    /// Creates the cgroup and writes the limits. `Ok(None)`: no limits were asked and the host
    /// offers no cgroup to use (the caller says so under -v).
    pub fn create(spec: &Spec, name: &[u8]) -> Result<Option<Cgroup>> {
        let limits = spec.limits;
        let mut cg = Cgroup { list: [None, None, None, None], v2_fd: None, memory_limit: limits.memory };
        let result = match detect() {
            Layout::Unified => v2::create(&mut cg, c"/sys/fs/cgroup", name, &limits),
            Layout::Legacy { unified_too } => {
                if unified_too {
                    let placed = v2::create(&mut cg, c"/sys/fs/cgroup/unified", name, &Default::default());
                    if let Err(e) = placed {
                        // Placement alone is a convenience on a v1 host; limits come from v1.
                        if spec.verbose {
                            e.report();
                        }
                    }
                }
                v1::create(&mut cg, name, &limits)
            }
            Layout::Missing if limits.any() => {
                Err(Error::new("cannot apply limits: no cgroup file system at").on("/sys/fs/cgroup"))
            }
            Layout::Missing => Ok(()),
        };
        result?;
        if cg.list.iter().all(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(cg))
    }

    fn add(&mut self, path: Path, kind: Kind) {
        if let Some(slot) = self.list.iter_mut().find(|d| d.is_none()) {
            *slot = Some(Dir { path, kind });
        }
    }

    fn dirs(&self) -> impl Iterator<Item = &Dir> {
        self.list.iter().flatten()
    }

    /// The cgroup2 directory to start the child in, if there is one.
    pub fn clone_into(&self) -> Option<i32> {
        self.v2_fd.as_ref().map(Fd::raw)
    }

    /// Moves `pid` into every directory it is not in yet (all of them when `clone_into` was
    /// not used). Called while the child still waits for the go-ahead.
    pub fn attach(&self, pid: i32, v2_done: bool) -> Result<()> {
        let mut line = Text::<16>::new();
        line.push(pid);
        for dir in self.dirs() {
            if dir.kind == Kind::V2 && v2_done {
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
        self.dirs().any(|d| match d.kind {
            Kind::V2 => files::read_field(&d.path, "/memory.events", b"oom_kill") > Some(0),
            Kind::V1Memory => files::read_field(&d.path, "/memory.oom_control", b"oom_kill") > Some(0),
            _ => false,
        })
    }

    pub fn memory_limit(&self) -> Option<u64> {
        self.memory_limit
    }

    /// Kills whatever is left inside and removes the directories.
    pub fn destroy(&mut self) {
        self.v2_fd = None;
        for slot in self.list.iter_mut() {
            if let Some(dir) = slot.take() {
                files::empty_and_remove(&dir);
            }
        }
    }

    pub fn describe(&self) -> Text<512> {
        let mut t = Text::new();
        for (i, d) in self.dirs().enumerate() {
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

/// `knocker/<name>` under `root`, creating `knocker` and sweeping stale siblings on the way.
fn make_dir(root: &core::ffi::CStr, name: &[u8]) -> Result<Path> {
    let mut parent = Path::new();
    parent.push(root).push("/knocker");
    let p = parent.as_cstr().context("cgroup path too long:")?;
    match fs::mkdir(p, 0o755) {
        Ok(()) | Err(linker::Errno::EEXIST) => {}
        Err(e) => return Err(Error::sys("cannot create cgroup", e).on(&parent)),
    }
    files::sweep_stale(&parent);
    let mut dir = parent.clone();
    dir.push("/").bytes(name);
    let d = dir.as_cstr().context("cgroup path too long:")?;
    match fs::mkdir(d, 0o755) {
        Ok(()) => Ok(dir),
        Err(linker::Errno::EEXIST) => Err(Error::new("cgroup already exists:")
            .on(&dir)
            .hint("another container with this --name is running, or remove the directory")),
        Err(e) => Err(Error::sys("cannot create cgroup", e).on(&dir)),
    }
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
}
