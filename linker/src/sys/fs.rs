//! Files, directories and descriptors.

use super::{Errno, Fd, Result, call, retry};
use core::ffi::CStr;

pub const AT_FDCWD: i32 = -100;
pub use libc::{
    AT_EMPTY_PATH, AT_REMOVEDIR, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_NOCTTY,
    O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
};

/// `openat(2)`; every descriptor knocker opens is close-on-exec.
pub fn openat(dir: i32, path: &CStr, flags: i32, mode: u32) -> Result<Fd> {
    // SAFETY: `path` is a valid C string for the duration of the call.
    let fd = retry(|| unsafe { call!(openat, dir, path.as_ptr(), flags | O_CLOEXEC, mode) })?;
    // SAFETY: the kernel just handed us this descriptor.
    Ok(unsafe { Fd::from_raw(fd as i32) })
}

pub fn open(path: &CStr, flags: i32) -> Result<Fd> {
    openat(AT_FDCWD, path, flags, 0)
}

/// `RESOLVE_*` flags of `openat2(2)`.
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// `openat2(2)`: open `path` below `dir` under the `resolve` rules.
pub fn openat2(dir: i32, path: &CStr, flags: i32, mode: u32, resolve: u64) -> Result<Fd> {
    let how = OpenHow { flags: (flags | O_CLOEXEC) as u64, mode: mode as u64, resolve };
    // SAFETY: `path` and `how` outlive the call; the size is the struct's.
    let fd = retry(|| unsafe {
        call!(openat2, dir, path.as_ptr(), &how as *const OpenHow, core::mem::size_of::<OpenHow>())
    })?;
    // SAFETY: the kernel just handed us this descriptor.
    Ok(unsafe { Fd::from_raw(fd as i32) })
}

pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    retry(|| unsafe { call!(read, fd, buf.as_mut_ptr(), buf.len()) })
}

pub fn write(fd: i32, buf: &[u8]) -> Result<usize> {
    // SAFETY: the kernel reads at most buf.len() bytes from buf.
    retry(|| unsafe { call!(write, fd, buf.as_ptr(), buf.len()) })
}

pub fn write_all(fd: i32, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        match write(fd, buf)? {
            0 => return Err(Errno::EIO),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// Reads until end of file or until `buf` is full; returns how much was read.
pub fn read_all(fd: i32, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match read(fd, &mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

pub fn close(fd: i32) -> Result<()> {
    // SAFETY: plain integer argument. (close is never retried: the descriptor is gone after EINTR.)
    unsafe { call!(close, fd) }.map(drop)
}

pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

pub fn close_range(first: u32, last: u32, flags: u32) -> Result<()> {
    // SAFETY: plain integer arguments.
    unsafe { call!(close_range, first, last, flags) }.map(drop)
}

pub fn mkdirat(dir: i32, path: &CStr, mode: u32) -> Result<()> {
    // SAFETY: `path` is a valid C string.
    unsafe { call!(mkdirat, dir, path.as_ptr(), mode) }.map(drop)
}

pub fn mkdir(path: &CStr, mode: u32) -> Result<()> {
    mkdirat(AT_FDCWD, path, mode)
}

pub fn unlinkat(dir: i32, path: &CStr, flags: i32) -> Result<()> {
    // SAFETY: `path` is a valid C string.
    unsafe { call!(unlinkat, dir, path.as_ptr(), flags) }.map(drop)
}

pub fn rmdir(path: &CStr) -> Result<()> {
    unlinkat(AT_FDCWD, path, AT_REMOVEDIR)
}

pub fn symlinkat(target: &CStr, dir: i32, link: &CStr) -> Result<()> {
    // SAFETY: both are valid C strings.
    unsafe { call!(symlinkat, target.as_ptr(), dir, link.as_ptr()) }.map(drop)
}

pub fn readlinkat(dir: i32, path: &CStr, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes.
    unsafe { call!(readlinkat, dir, path.as_ptr(), buf.as_mut_ptr(), buf.len()) }
}

pub use libc::{S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};

/// What `fstatat` tells; only the fields knocker looks at.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub mode: u32,
    pub rdev: u64,
    pub dev: u64,
    pub ino: u64,
    pub size: i64,
    pub uid: u32,
    pub gid: u32,
}

impl Stat {
    pub fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.kind() == S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.kind() == S_IFREG
    }
}

/// `newfstatat(2)`; `fstat` is `fstatat(fd, c"", AT_EMPTY_PATH)`.
pub fn fstatat(dir: i32, path: &CStr, flags: i32) -> Result<Stat> {
    // SAFETY: libc::stat is the x86_64 kernel's `struct stat`; all-zero is a valid value of it.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: the kernel fills `st`, which outlives the call.
    unsafe { call!(newfstatat, dir, path.as_ptr(), &mut st as *mut libc::stat, flags) }?;
    Ok(Stat {
        mode: st.st_mode,
        rdev: st.st_rdev,
        dev: st.st_dev,
        ino: st.st_ino,
        size: st.st_size,
        uid: st.st_uid,
        gid: st.st_gid,
    })
}

pub fn stat(path: &CStr) -> Result<Stat> {
    fstatat(AT_FDCWD, path, 0)
}

pub fn fstat(fd: i32) -> Result<Stat> {
    fstatat(fd, c"", AT_EMPTY_PATH)
}

pub fn faccessat(dir: i32, path: &CStr, mode: i32) -> Result<()> {
    // SAFETY: `path` is a valid C string.
    unsafe { call!(faccessat, dir, path.as_ptr(), mode) }.map(drop)
}

pub fn chdir(path: &CStr) -> Result<()> {
    // SAFETY: `path` is a valid C string.
    unsafe { call!(chdir, path.as_ptr()) }.map(drop)
}

pub fn fchdir(fd: i32) -> Result<()> {
    // SAFETY: plain integer argument.
    unsafe { call!(fchdir, fd) }.map(drop)
}

pub fn chroot(path: &CStr) -> Result<()> {
    // SAFETY: `path` is a valid C string.
    unsafe { call!(chroot, path.as_ptr()) }.map(drop)
}

/// `getcwd(2)`: the length of the path written into `buf`, NUL included.
pub fn getcwd(buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes.
    unsafe { call!(getcwd, buf.as_mut_ptr(), buf.len()) }
}

pub const MFD_CLOEXEC: u32 = 1;
pub const MFD_ALLOW_SEALING: u32 = 2;
pub const MFD_EXEC: u32 = 0x10;

pub fn memfd_create(name: &CStr, flags: u32) -> Result<Fd> {
    // SAFETY: `name` is a valid C string.
    let fd = unsafe { call!(memfd_create, name.as_ptr(), flags) }?;
    // SAFETY: the kernel just handed us this descriptor.
    Ok(unsafe { Fd::from_raw(fd as i32) })
}

pub const F_ADD_SEALS: i32 = 1033;
pub const F_GET_SEALS: i32 = 1034;
pub const F_SEAL_SEAL: usize = 1;
pub const F_SEAL_SHRINK: usize = 2;
pub const F_SEAL_GROW: usize = 4;
pub const F_SEAL_WRITE: usize = 8;
pub const F_GETFL: i32 = 3;
pub const F_SETFL: i32 = 4;

/// `fcntl(2)` for the integer-argument commands.
pub fn fcntl(fd: i32, cmd: i32, arg: usize) -> Result<usize> {
    // SAFETY: only integer-argument commands are passed through here.
    unsafe { call!(fcntl, fd, cmd, arg) }
}

pub fn sendfile(out: i32, input: i32, count: usize) -> Result<usize> {
    // SAFETY: a NULL offset means "use and advance the file position".
    retry(|| unsafe { call!(sendfile, out, input, 0usize, count) })
}

pub fn pipe2(flags: i32) -> Result<(Fd, Fd)> {
    let mut fds = [0i32; 2];
    // SAFETY: the kernel writes two ints into `fds`.
    unsafe { call!(pipe2, fds.as_mut_ptr(), flags | O_CLOEXEC) }?;
    // SAFETY: both descriptors were just created for us.
    Ok(unsafe { (Fd::from_raw(fds[0]), Fd::from_raw(fds[1])) })
}

pub fn dup3(old: i32, new: i32, flags: i32) -> Result<()> {
    // SAFETY: plain integer arguments.
    unsafe { call!(dup3, old, new, flags) }.map(drop)
}

/// `ioctl(2)` with an integer argument.
pub fn ioctl_int(fd: i32, request: u64, arg: usize) -> Result<usize> {
    // SAFETY: the caller uses this only for requests whose argument is a plain integer.
    unsafe { call!(ioctl, fd, request, arg) }
}

/// `ioctl(2)` whose argument is a pointer to `T`, read and/or written by the kernel.
///
/// # Safety
/// `T` must be the type `request` expects.
pub unsafe fn ioctl_ptr<T>(fd: i32, request: u64, arg: *mut T) -> Result<usize> {
    // SAFETY: the caller guarantees `T` matches `request`; `arg` points at a live T.
    unsafe { call!(ioctl, fd, request, arg) }
}

pub const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;
pub const CGROUP_SUPER_MAGIC: u64 = 0x0027_e0eb;

/// The file-system type (`f_type`) of the file system holding `path`.
pub fn statfs_type(path: &CStr) -> Result<u64> {
    // SAFETY: libc::statfs is the x86_64 kernel's `struct statfs`; all-zero is valid.
    let mut st: libc::statfs = unsafe { core::mem::zeroed() };
    // SAFETY: the kernel fills `st`, which outlives the call.
    unsafe { call!(statfs, path.as_ptr(), &mut st as *mut libc::statfs) }?;
    Ok(st.f_type as u64)
}

/// The mount flags (`f_flags`: `ST_RDONLY`, `ST_NOSUID`, … — the same bits as `MS_*` for
/// these) of the mount holding the object behind `fd`.
pub fn fstatfs_flags(fd: i32) -> Result<u64> {
    Ok(fstatfs_words(fd)?[10])
}

/// The file-system type (`f_type`) of the file system holding the object behind `fd`.
pub fn fstatfs_type(fd: i32) -> Result<u64> {
    Ok(fstatfs_words(fd)?[0])
}

/// The x86_64 kernel's `struct statfs` (libc's hides f_flags): 15 words, f_type the first,
/// f_flags the 11th.
fn fstatfs_words(fd: i32) -> Result<[u64; 15]> {
    let mut words = [0u64; 15];
    // SAFETY: the kernel fills the 120 bytes of `words`, which outlive the call.
    unsafe { call!(fstatfs, fd, words.as_mut_ptr()) }?;
    Ok(words)
}

/// `lseek(fd, 0, SEEK_SET)`: back to the start of the file.
pub fn rewind(fd: i32) -> Result<()> {
    // SAFETY: integer arguments only.
    unsafe { call!(lseek, fd, 0usize, 0usize) }.map(drop)
}

/// `ftruncate(2)`.
pub fn ftruncate(fd: i32, len: u64) -> Result<()> {
    // SAFETY: integer arguments only.
    unsafe { call!(ftruncate, fd, len) }.map(drop)
}

pub const LOCK_EX: i32 = 2;
pub const LOCK_NB: i32 = 4;

/// `flock(2)`.
pub fn flock(fd: i32, op: i32) -> Result<()> {
    // SAFETY: integer arguments only.
    unsafe { call!(flock, fd, op) }.map(drop)
}

/// `mknodat(2)`.
pub fn mknodat(dir: i32, path: &CStr, mode: u32, dev: u64) -> Result<()> {
    // SAFETY: `path` is a valid C string.
    unsafe { call!(mknodat, dir, path.as_ptr(), mode, dev) }.map(drop)
}

pub const S_IFBLK: u32 = libc::S_IFBLK;
pub const S_IFIFO: u32 = libc::S_IFIFO;

/// `renameat(2)` from and to paths relative to the working directory.
pub fn rename(from: &CStr, to: &CStr) -> Result<()> {
    // SAFETY: both are valid C strings.
    unsafe { call!(renameat, AT_FDCWD, from.as_ptr(), AT_FDCWD, to.as_ptr()) }.map(drop)
}

/// Reads the whole of a small file into `buf`; returns the length.
pub fn read_file(path: &CStr, buf: &mut [u8]) -> Result<usize> {
    let fd = open(path, O_RDONLY)?;
    read_all(fd.raw(), buf)
}

/// Writes `bytes` to an existing file in one `write` (as control files want).
pub fn write_file(path: &CStr, bytes: &[u8]) -> Result<()> {
    let fd = open(path, O_WRONLY)?;
    match write(fd.raw(), bytes)? {
        n if n == bytes.len() => Ok(()),
        _ => Err(Errno::EIO),
    }
}

/// `getdents64(2)`: fills `buf` with directory records; 0 at the end.
pub fn getdents64(fd: i32, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes.
    unsafe { call!(getdents64, fd, buf.as_mut_ptr(), buf.len()) }
}

/// Walks the records of a `getdents64` buffer: `(d_type, name)`.
pub fn dirents(buf: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut at = 0;
    core::iter::from_fn(move || {
        // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
        if at + 19 > buf.len() {
            return None;
        }
        let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
        if reclen < 19 || at + reclen > buf.len() {
            return None;
        }
        let kind = buf[at + 18];
        let raw = &buf[at + 19..at + reclen];
        let name = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
        at += reclen;
        Some((kind, name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirents_are_walked_record_by_record() {
        let mut buf = Vec::new();
        for (kind, name) in [(4u8, &b"."[..]), (8, b"hello.txt")] {
            let reclen = (19 + name.len() + 1).next_multiple_of(8);
            let start = buf.len();
            buf.extend_from_slice(&[0u8; 16]);
            buf.extend_from_slice(&(reclen as u16).to_ne_bytes());
            buf.push(kind);
            buf.extend_from_slice(name);
            buf.resize(start + reclen, 0);
        }
        let got: Vec<_> = dirents(&buf).collect();
        assert_eq!(got, vec![(4, &b"."[..]), (8, &b"hello.txt"[..])]);
    }

    #[test]
    fn open_read_and_stat_on_the_host() {
        let fd = open(c"/proc/self/stat", O_RDONLY).unwrap();
        let mut buf = [0u8; 64];
        assert!(read(fd.raw(), &mut buf).unwrap() > 0);
        assert!(fstat(fd.raw()).unwrap().is_file());
        assert_eq!(open(c"/nonexistent/x", O_RDONLY).unwrap_err(), Errno::ENOENT);
    }
}

/// `fchownat(2)` (symlinks not followed).
pub fn fchownat(dir: i32, path: &CStr, uid: u32, gid: u32) -> Result<()> {
    // SAFETY: `path` is a valid C string.
    unsafe { call!(fchownat, dir, path.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) }.map(drop)
}

/// `umask(2)`: sets the file mode creation mask; returns the previous one.
pub fn umask(mask: u32) -> u32 {
    // SAFETY: plain integer argument; umask cannot fail.
    unsafe { call!(umask, mask) }.unwrap_or(0) as u32
}

/// `fchmodat(2)`.
pub fn fchmodat(dir: i32, path: &CStr, mode: u32) -> Result<()> {
    // SAFETY: `path` is a valid C string.
    unsafe { call!(fchmodat, dir, path.as_ptr(), mode) }.map(drop)
}
