//! Namespaces and the host name.

use super::{Result, call};

pub use libc::{
    CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS,
};

pub fn unshare(flags: i32) -> Result<()> {
    // SAFETY: plain integer argument.
    unsafe { call!(unshare, flags) }.map(drop)
}

pub fn sethostname(name: &[u8]) -> Result<()> {
    // SAFETY: the kernel reads exactly name.len() bytes.
    unsafe { call!(sethostname, name.as_ptr(), name.len()) }.map(drop)
}

/// The node name from `uname(2)`, copied into `buf`; returns its length.
pub fn hostname(buf: &mut [u8; 65]) -> Result<usize> {
    // SAFETY: utsname is plain bytes; all-zero is valid.
    let mut uts: libc::utsname = unsafe { core::mem::zeroed() };
    // SAFETY: the kernel fills `uts`, which outlives the call.
    unsafe { call!(uname, &mut uts as *mut libc::utsname) }?;
    let node = &uts.nodename;
    let n = node.iter().position(|&c| c == 0).unwrap_or(node.len()).min(64);
    for (d, s) in buf.iter_mut().zip(&node[..n]) {
        *d = *s as u8;
    }
    Ok(n)
}
