//! Mounts.

use super::{Result, call};
use core::ffi::CStr;

pub use libc::{
    MNT_DETACH, MS_BIND, MS_DIRSYNC, MS_MOVE, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC,
    MS_NOSYMFOLLOW, MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE,
};

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

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
const AT_EMPTY_PATH: usize = 0x1000;
const AT_RECURSIVE: usize = 0x8000;

/// `struct mount_attr` (the first, version-0 size).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `mount_setattr(2)` on the mount whose root `fd` is, and every mount below it: adds the
/// `MOUNT_ATTR_*` flags in `set` and leaves every other flag as it was (a bind remount would
/// replace them all). ENOSYS before Linux 5.12.
pub fn add_flags_recursively(fd: i32, set: u64) -> Result<()> {
    let attr = MountAttr { attr_set: set, attr_clr: 0, propagation: 0, userns_fd: 0 };
    // SAFETY: `attr` outlives the call and its size is passed with it; the path is "".
    unsafe {
        call!(mount_setattr, fd, c"".as_ptr(), AT_EMPTY_PATH | AT_RECURSIVE, &attr as *const MountAttr, core::mem::size_of::<MountAttr>())
    }
    .map(drop)
}

const OPEN_TREE_CLONE: usize = 1;
const OPEN_TREE_CLOEXEC: usize = 0o2000000;
const MOVE_MOUNT_F_EMPTY_PATH: usize = 0x4;
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)`: a detached copy of the mount tree at `path`.
pub fn clone_tree(path: &CStr) -> Result<super::Fd> {
    // SAFETY: `path` is a valid C string.
    let fd = unsafe { call!(open_tree, libc::AT_FDCWD, path.as_ptr(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE) }?;
    // SAFETY: open_tree returned a new descriptor that only this Fd owns.
    Ok(unsafe { super::Fd::from_raw(fd as i32) })
}

/// Makes the detached tree `fd` idmapped by the user namespace `userns` (every mount in it).
pub fn idmap(fd: i32, userns: i32) -> Result<()> {
    let attr = MountAttr { attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: 0, userns_fd: userns as u64 };
    // SAFETY: `attr` outlives the call and its size is passed with it; the path is "".
    unsafe {
        call!(mount_setattr, fd, c"".as_ptr(), AT_EMPTY_PATH | AT_RECURSIVE, &attr as *const MountAttr, core::mem::size_of::<MountAttr>())
    }
    .map(drop)
}

/// `move_mount(2)`: attaches the detached tree `fd` at `target`.
pub fn attach(fd: i32, target: &CStr) -> Result<()> {
    // SAFETY: both paths are valid C strings.
    unsafe { call!(move_mount, fd, c"".as_ptr(), libc::AT_FDCWD, target.as_ptr(), MOVE_MOUNT_F_EMPTY_PATH) }.map(drop)
}
