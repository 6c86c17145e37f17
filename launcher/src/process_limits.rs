//! Per-process settings a container's PID 1 starts with: resource limits (`setrlimit`), the
//! OOM score adjustment, and the namespaced sysctls — applied in the child while it still
//! holds its privileges (raising a hard limit or lowering the OOM score needs
//! CAP_SYS_RESOURCE), before anything of the container runs.

use crate::error::{Context, Error, Result};
use linker::Text;
use linker::sys::fs::{self, O_WRONLY};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

pub const MAX_RLIMITS: usize = 16;
pub const MAX_SYSCTLS: usize = 1024;

/// `RLIMIT_NOFILE` → 7, as setrlimit(2) numbers them.
pub fn rlimit_number(name: &[u8]) -> Option<u32> {
    const NAMES: [&[u8]; 16] = [
        b"CPU", b"FSIZE", b"DATA", b"STACK", b"CORE", b"RSS", b"NPROC", b"NOFILE", b"MEMLOCK", b"AS", b"LOCKS", b"SIGPENDING",
        b"MSGQUEUE", b"NICE", b"RTPRIO", b"RTTIME",
    ];
    let bare = name.strip_prefix(b"RLIMIT_")?;
    NAMES.iter().position(|n| *n == bare).map(|i| i as u32)
}

/// Whether a sysctl belongs to one of the container's own namespaces (as runc allows them):
/// IPC (`kernel.msg*`, `kernel.sem`, `kernel.shm*`, `fs.mqueue.*`), network (`net.*`, only with
/// a network namespace of its own), UTS (`kernel.hostname`, `kernel.domainname`).
pub fn namespaced_sysctl(name: &[u8], own_network: bool) -> bool {
    name.starts_with(b"kernel.msg")
        || name == b"kernel.sem"
        || name.starts_with(b"kernel.shm")
        || name.starts_with(b"fs.mqueue.")
        || (own_network && name.starts_with(b"net."))
        || name == b"kernel.hostname"
        || name == b"kernel.domainname"
}

#[repr(C)]
struct Limit {
    cur: u64,
    max: u64,
}

pub fn apply_rlimits(limits: &[Rlimit]) -> Result<()> {
    for l in limits {
        let new = Limit { cur: l.soft, max: l.hard };
        // SAFETY: prlimit64 on ourselves (pid 0) reads a struct rlimit64, which `new` is.
        unsafe { linker::sys::raw_syscall(linker::sys::Sysno::prlimit64, &[0, l.resource as usize, &new as *const Limit as usize, 0]) }
            .map_err(|e| Error::sys("cannot set a resource limit", e).on(l.resource).hint("raising a hard limit needs CAP_SYS_RESOURCE on the host"))?;
    }
    Ok(())
}

pub fn apply_oom_score_adj(adj: Option<i32>) -> Result<()> {
    let Some(adj) = adj else { return Ok(()) };
    let mut value = Text::<16>::new();
    if adj < 0 {
        value.push("-");
    }
    value.push(adj.unsigned_abs());
    let fd = fs::open(c"/proc/self/oom_score_adj", O_WRONLY).context("cannot open /proc/self/oom_score_adj")?;
    fs::write_all(fd.raw(), value.as_bytes()).context("cannot set oomScoreAdj")
}

/// Writes each `name=value` under the container's /proc/sys (dots become slashes).
pub fn apply_sysctls(sysctls: &[(&[u8], &[u8])]) -> Result<()> {
    for (name, value) in sysctls {
        let mut path = Text::<256>::new();
        path.push("/proc/sys/");
        for &c in *name {
            path.bytes(&[if c == b'.' { b'/' } else { c }]);
        }
        let fd = fs::open(path.as_cstr().context("sysctl name too long")?, O_WRONLY).context_on("cannot set sysctl", *name)?;
        fs::write_all(fd.raw(), value).context_on("cannot set sysctl", *name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(rlimit_number(b"RLIMIT_NOFILE"), Some(7));
        assert_eq!(rlimit_number(b"RLIMIT_RTTIME"), Some(15));
        assert_eq!(rlimit_number(b"NOFILE"), None);
        assert!(namespaced_sysctl(b"net.ipv4.ip_forward", true));
        assert!(!namespaced_sysctl(b"net.ipv4.ip_forward", false));
        assert!(namespaced_sysctl(b"kernel.shmmax", false));
        assert!(!namespaced_sysctl(b"kernel.panic", true));
        assert!(!namespaced_sysctl(b"vm.overcommit_memory", true));
    }
}
