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
