//! Processes: exit, wait, exec, process groups, credentials, prctl, reboot.

use super::{Errno, Result, call};
use core::ffi::{CStr, c_char};

/// Ends the process (every thread of it) with `code`.
pub fn exit(code: i32) -> ! {
    // SAFETY: exit_group does not return.
    unsafe {
        let _ = call!(exit_group, code);
    }
    unreachable!()
}

pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { call!(getpid) }.unwrap_or(0) as i32
}

pub fn geteuid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { call!(geteuid) }.unwrap_or(u32::MAX as usize) as u32
}

pub fn getuid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { call!(getuid) }.unwrap_or(u32::MAX as usize) as u32
}

pub fn getgid() -> u32 {
    // SAFETY: getgid cannot fail.
    unsafe { call!(getgid) }.unwrap_or(u32::MAX as usize) as u32
}

/// Whether this process is root of the host: uid 0 in the initial user namespace (whose
/// uid_map maps every id to itself). Root inside a user namespace (a rootless engine's) is not.
pub fn host_root() -> bool {
    if geteuid() != 0 {
        return false;
    }
    let mut buf = [0u8; 64];
    let n = super::fs::read_file(c"/proc/self/uid_map", &mut buf).unwrap_or(0);
    n == 0 || buf[..n].split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty()).eq([&b"0"[..], b"0", b"4294967295"])
}

pub fn kill(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: plain integer arguments.
    unsafe { call!(kill, pid, sig) }.map(drop)
}

/// A status word from `wait4(2)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitStatus(pub i32);

impl WaitStatus {
    pub fn exited(self) -> bool {
        self.0 & 0x7f == 0
    }
    pub fn exit_code(self) -> i32 {
        (self.0 >> 8) & 0xff
    }
    pub fn signaled(self) -> bool {
        let low = self.0 & 0x7f;
        low != 0 && low != 0x7f
    }
    pub fn signal(self) -> i32 {
        self.0 & 0x7f
    }
    /// The status as a shell reports it: the exit code, or 128+N when killed by signal N.
    pub fn shell_code(self) -> i32 {
        if self.signaled() { 128 + self.signal() } else { self.exit_code() }
    }
}

pub const WNOHANG: i32 = 1;

/// `wait4(2)`: `Ok(None)` when WNOHANG found nothing to reap.
pub fn wait4(pid: i32, options: i32) -> Result<Option<(i32, WaitStatus)>> {
    let mut status = 0i32;
    // SAFETY: the kernel writes one int into `status`; no rusage is asked for.
    let got = super::retry(|| unsafe { call!(wait4, pid, &mut status as *mut i32, options, 0usize) })?;
    Ok(if got == 0 { None } else { Some((got as i32, WaitStatus(status))) })
}

/// `execve(2)`; returns only on failure.
pub fn execve(path: &CStr, argv: *const *const c_char, envp: *const *const c_char) -> Errno {
    // SAFETY: the caller built argv and envp as NULL-terminated arrays of C strings.
    match unsafe { call!(execve, path.as_ptr(), argv, envp) } {
        Err(e) => e,
        Ok(_) => Errno::EINVAL,
    }
}

/// `execveat(2)`; returns only on failure.
pub fn execveat(dir: i32, path: &CStr, argv: *const *const c_char, envp: *const *const c_char, flags: i32) -> Errno {
    // SAFETY: the caller built argv and envp as NULL-terminated arrays of C strings.
    match unsafe { call!(execveat, dir, path.as_ptr(), argv, envp, flags) } {
        Err(e) => e,
        Ok(_) => Errno::EINVAL,
    }
}

/// `pidfd_open(2)`: a descriptor that names `pid` for as long as it is held, whatever number
/// the kernel hands out after that process is gone.
pub fn pidfd_open(pid: i32) -> Result<crate::sys::Fd> {
    // SAFETY: integer arguments only.
    let fd = unsafe { call!(pidfd_open, pid, 0usize) }?;
    // SAFETY: the kernel just handed us this descriptor.
    Ok(unsafe { crate::sys::Fd::from_raw(fd as i32) })
}

/// `fork()` as a raw `clone(SIGCHLD)`: the child runs on a copy of this stack and gets 0.
pub fn fork() -> Result<i32> {
    // SAFETY: without CLONE_VM the child gets its own copy of memory, so both sides may go on
    // running ordinary Rust code from here.
    unsafe { call!(clone, libc::SIGCHLD, 0usize, 0usize, 0usize, 0usize) }.map(|p| p as i32)
}

pub fn setpgid(pid: i32, pgid: i32) -> Result<()> {
    // SAFETY: plain integer arguments.
    unsafe { call!(setpgid, pid, pgid) }.map(drop)
}

pub fn getpgrp() -> i32 {
    // SAFETY: getpgid(0) of ourselves cannot fail.
    unsafe { call!(getpgid, 0) }.unwrap_or(0) as i32
}

pub fn setsid() -> Result<i32> {
    // SAFETY: no arguments.
    unsafe { call!(setsid) }.map(|s| s as i32)
}

/// `prctl(2)` with integer arguments.
pub fn prctl(option: i32, a2: usize, a3: usize, a4: usize, a5: usize) -> Result<usize> {
    // SAFETY: only integer-argument options are passed through here.
    unsafe { call!(prctl, option, a2, a3, a4, a5) }
}

pub fn setresuid(uid: u32) -> Result<()> {
    // SAFETY: plain integer arguments.
    unsafe { call!(setresuid, uid, uid, uid) }.map(drop)
}

pub fn setresgid(gid: u32) -> Result<()> {
    // SAFETY: plain integer arguments.
    unsafe { call!(setresgid, gid, gid, gid) }.map(drop)
}

pub fn setgroups(groups: &[u32]) -> Result<()> {
    // SAFETY: the kernel reads groups.len() gids.
    unsafe { call!(setgroups, groups.len(), groups.as_ptr()) }.map(drop)
}

pub const RB_POWER_OFF: u32 = 0x4321_fedc;
pub const RB_AUTOBOOT: u32 = 0x0123_4567;
pub const RB_HALT_SYSTEM: u32 = 0xcdef_0123;
pub const RB_DISABLE_CAD: u32 = 0;

/// `reboot(2)`.
pub fn reboot(cmd: u32) -> Result<()> {
    // SAFETY: integer arguments; the two magic numbers are the kernel's.
    unsafe { call!(reboot, 0xfee1_deadu32, 0x2812_1969u32, cmd, 0usize) }.map(drop)
}

pub fn sync() {
    // SAFETY: sync cannot fail.
    let _ = unsafe { call!(sync) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_status_decoding() {
        let exited3 = WaitStatus(3 << 8);
        assert!(exited3.exited() && !exited3.signaled());
        assert_eq!(exited3.shell_code(), 3);
        let killed = WaitStatus(9);
        assert!(killed.signaled() && !killed.exited());
        assert_eq!(killed.shell_code(), 137);
        let core_dumped = WaitStatus(11 | 0x80);
        assert_eq!(core_dumped.shell_code(), 139);
        let stopped = WaitStatus(0x137f);
        assert!(!stopped.signaled() && !stopped.exited());
    }

    #[test]
    fn fork_and_wait_round_trip() {
        match fork().unwrap() {
            0 => exit(7),
            pid => {
                let (got, status) = wait4(pid, 0).unwrap().unwrap();
                assert_eq!(got, pid);
                assert_eq!(status.shell_code(), 7);
            }
        }
    }
}

/// `personality(2)`: sets the execution domain.
pub fn personality(persona: u32) -> Result<()> {
    // SAFETY: an integer argument.
    unsafe { call!(personality, persona as usize) }.map(drop)
}
