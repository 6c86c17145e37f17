//! Signals, as the kernel sees them: 64-bit masks (not libc's 1024-bit `sigset_t`), no handlers.
//! knocker never installs a handler: it blocks what it wants and takes it synchronously
//! (`sigtimedwait`, `signalfd`), so children inherit dispositions untouched.

use super::{Fd, Result, call, time::Timespec};

pub use libc::{
    SIGABRT, SIGBUS, SIGCHLD, SIGFPE, SIGHUP, SIGILL, SIGINT, SIGKILL, SIGPIPE, SIGQUIT, SIGSEGV, SIGSYS, SIGTERM,
    SIGTRAP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGWINCH,
};

/// A kernel signal mask: bit N-1 stands for signal N.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SigSet(pub u64);

impl SigSet {
    pub const EMPTY: SigSet = SigSet(0);
    pub const ALL: SigSet = SigSet(!0);

    pub const fn of(signals: &[i32]) -> SigSet {
        let mut set = 0u64;
        let mut i = 0;
        while i < signals.len() {
            set |= 1 << (signals[i] - 1);
            i += 1;
        }
        SigSet(set)
    }
    pub const fn with(self, sig: i32) -> SigSet {
        SigSet(self.0 | 1 << (sig - 1))
    }
    pub const fn without(self, other: SigSet) -> SigSet {
        SigSet(self.0 & !other.0)
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub const fn contains(self, sig: i32) -> bool {
        sig >= 1 && sig <= 64 && self.0 & (1 << (sig - 1)) != 0
    }
}

/// The signals a fault raises synchronously; blocking them would hide a crash.
pub const FAULTS: SigSet = SigSet::of(&[SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS]);

pub const SIG_BLOCK: i32 = 0;
pub const SIG_SETMASK: i32 = 2;

/// `rt_sigprocmask(2)`; returns the previous mask.
pub fn sigprocmask(how: i32, set: SigSet) -> Result<SigSet> {
    let mut old = SigSet::EMPTY;
    // SAFETY: both pointers are to live u64s; the kernel's sigset size is 8 bytes.
    unsafe { call!(rt_sigprocmask, how, &set.0 as *const u64, &mut old.0 as *mut u64, 8usize) }?;
    Ok(old)
}

/// The fields of `siginfo_t` knocker reads.
#[repr(C)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    _pad: i32,
    pub pid: i32,
    pub uid: u32,
    pub status: i32,
    _rest: [u8; 100],
}

impl SigInfo {
    pub const fn zeroed() -> SigInfo {
        SigInfo { signo: 0, errno: 0, code: 0, _pad: 0, pid: 0, uid: 0, status: 0, _rest: [0; 100] }
    }
}

/// `rt_sigtimedwait(2)`: sleeps in the kernel until a signal of `set` is pending, or the
/// timeout passes (`EAGAIN`). `None` waits for ever.
pub fn sigtimedwait(set: SigSet, timeout: Option<Timespec>) -> Result<SigInfo> {
    let mut info = SigInfo::zeroed();
    let ts = timeout.unwrap_or_default();
    let tp = if timeout.is_some() { &ts as *const Timespec } else { core::ptr::null() };
    // SAFETY: `info` is 128 bytes like the kernel's siginfo; set and timeout outlive the call.
    unsafe { call!(rt_sigtimedwait, &set.0 as *const u64, &mut info as *mut SigInfo, tp, 8usize) }?;
    Ok(info)
}

pub const SFD_NONBLOCK: i32 = libc::O_NONBLOCK;

/// `signalfd4(2)`: the signals of `set` (which must be blocked) become readable records.
pub fn signalfd(set: SigSet, flags: i32) -> Result<Fd> {
    // SAFETY: the mask outlives the call; the kernel's sigset size is 8 bytes.
    let fd = unsafe { call!(signalfd4, -1i32, &set.0 as *const u64, 8usize, flags | libc::O_CLOEXEC) }?;
    // SAFETY: the kernel just handed us this descriptor.
    Ok(unsafe { Fd::from_raw(fd as i32) })
}

/// Reads one record from a signalfd: the signal number, 0 when none is pending (non-blocking fd).
pub fn read_signalfd(fd: i32) -> Result<i32> {
    let mut rec = [0u8; 128];
    match super::fs::read(fd, &mut rec) {
        Ok(128) => Ok(i32::from_ne_bytes([rec[0], rec[1], rec[2], rec[3]])),
        Ok(_) => Ok(0),
        Err(super::Errno::EAGAIN) => Ok(0),
        Err(e) => Err(e),
    }
}

const NAMES: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM",
    "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF",
    "WINCH", "IO", "PWR", "SYS",
];

/// `TERM` for 15; `None` outside 1..=31.
pub fn name(sig: i32) -> Option<&'static str> {
    NAMES.get((sig as usize).wrapping_sub(1)).copied()
}

/// A signal from `SIGTERM`, `TERM` or `15` (1..=64).
pub fn parse(s: &[u8]) -> Option<i32> {
    if let Some(n) = crate::text::decimal_value(s) {
        return (1..=64).contains(&n).then_some(n as i32);
    }
    let bare = s.strip_prefix(b"SIG").unwrap_or(s);
    NAMES.iter().position(|n| n.as_bytes() == bare).map(|i| i as i32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse(b"SIGUSR1"), Some(10));
        assert_eq!(parse(b"TERM"), Some(15));
        assert_eq!(parse(b"9"), Some(9));
        assert_eq!(parse(b"64"), Some(64));
        assert_eq!(parse(b"65"), None);
        assert_eq!(parse(b"0"), None);
        assert_eq!(parse(b"SIGFOO"), None);
        assert_eq!(parse(b""), None);
        assert_eq!(name(28), Some("WINCH"));
        assert_eq!(name(0), None);
        assert_eq!(name(32), None);
    }

    #[test]
    fn masks() {
        let s = SigSet::of(&[SIGINT, SIGTERM]);
        assert!(s.contains(SIGINT) && s.contains(SIGTERM) && !s.contains(SIGHUP));
        assert!(!SigSet::ALL.without(FAULTS).contains(SIGSEGV));
        assert!(SigSet::ALL.contains(64));
        assert_eq!(core::mem::size_of::<SigInfo>(), 128);
    }
}
