//! Mounts.

use super::{Result, call};
use core::ffi::CStr;

pub use libc::{MNT_DETACH, MS_BIND, MS_MOVE, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT};

fn opt(s: Option<&CStr>) -> *const core::ffi::c_char {
    s.map_or(core::ptr::null(), CStr::as_ptr)
}

/// `mount(2)`.
pub fn mount(source: Option<&CStr>, target: &CStr, fstype: Option<&CStr>, flags: u64, data: Option<&CStr>) -> Result<()> {
    // SAFETY: every pointer is a valid C string or NULL, as mount(2) accepts.
    unsafe { call!(mount, opt(source), target.as_ptr(), opt(fstype), flags, opt(data)) }.map(drop)
}

pub fn umount2(target: &CStr, flags: i32) -> Result<()> {
    // SAFETY: `target` is a valid C string.
    unsafe { call!(umount2, target.as_ptr(), flags) }.map(drop)
}

pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> Result<()> {
    // SAFETY: both are valid C strings.
    unsafe { call!(pivot_root, new_root.as_ptr(), put_old.as_ptr()) }.map(drop)
}
