//! Namespaces and the host name.

use super::{Result, call};

pub use libc::{CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS};

pub fn unshare(flags: i32) -> Result<()> {
    // SAFETY: plain integer argument.
    unsafe { call!(unshare, flags) }.map(drop)
}

pub fn sethostname(name: &[u8]) -> Result<()> {
    // SAFETY: the kernel reads exactly name.len() bytes.
    unsafe { call!(sethostname, name.as_ptr(), name.len()) }.map(drop)
}

/// `setns(2)`: joins the namespace behind `fd` (`nstype` 0 accepts any kind).
pub fn setns(fd: i32, nstype: i32) -> Result<()> {
    // SAFETY: integer arguments only.
    unsafe { call!(setns, fd, nstype) }.map(drop)
}

/// `f_type` of the nsfs file system that /proc/PID/ns/* and bind-mounted namespace files are on.
pub const NSFS_MAGIC: u64 = 0x6e73_6673;
