//! `tmpcopyup` (podman gives it to every `--tmpfs`): a tmpfs mounted over a directory of the
//! image starts with that directory's contents, as runc copies them up — files, directories,
//! symlinks, fifos and device nodes, with their modes and owners. The walk goes by descriptor
//! (`openat` with `O_NOFOLLOW`), so nothing the image links to outside its own tree is read.

use launcher::error::{Context, Error, Result};
use linker::sys::fs::{self, O_CLOEXEC, O_DIRECTORY, O_RDONLY};
use linker::{Fd, Text};

/// How deep a tree is copied; deeper is refused rather than cut short.
const DEPTH: u32 = 64;

/// Copies everything in the directory `from` into the directory `to` (the new tmpfs's root),
/// which takes `from`'s owner and mode too, as under runc.
pub fn copy_tree(from: &Fd, to: &Fd, dst: &[u8]) -> Result<()> {
    copy_dir(from, to, dst, DEPTH)?;
    let st = fs::fstat(from.raw()).context_on("tmpcopyup: cannot stat", dst)?;
    fs::fchownat(to.raw(), c".", st.uid, st.gid).context_on("tmpcopyup: cannot set the owner of", dst)?;
    fs::fchmodat(to.raw(), c".", st.mode & 0o7777).context_on("tmpcopyup: cannot set the mode of", dst)
}

fn copy_dir(from: &Fd, to: &Fd, dst: &[u8], depth: u32) -> Result<()> {
    if depth == 0 {
        return Err(Error::new("mounts[].options tmpcopyup: the directory tree is deeper than 64 levels:").on(dst));
    }
    let mut buf = [0u8; 4096];
    loop {
        let n = fs::getdents64(from.raw(), &mut buf).context_on("tmpcopyup: cannot read the directory", dst)?;
        if n == 0 {
            return Ok(());
        }
        for (_, name) in fs::dirents(&buf[..n]) {
            if name == b"." || name == b".." {
                continue;
            }
            let mut c = Text::<256>::new();
            c.bytes(name);
            let name = c.as_cstr().context("tmpcopyup: name too long")?;
            copy_entry(from, to, name, dst, depth)?;
        }
    }
}

fn copy_entry(from: &Fd, to: &Fd, name: &core::ffi::CStr, dst: &[u8], depth: u32) -> Result<()> {
    let fail = |what: &'static str, e| Error::sys(what, e).on(dst).on("/").on(name.to_bytes());
    let st = fs::fstatat(from.raw(), name, libc::AT_SYMLINK_NOFOLLOW).map_err(|e| fail("tmpcopyup: cannot stat", e))?;
    let mode = st.mode & 0o7777;
    match st.kind() {
        fs::S_IFDIR => {
            fs::mkdirat(to.raw(), name, 0o700).map_err(|e| fail("tmpcopyup: cannot make", e))?;
            let inner = fs::openat(from.raw(), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | libc::O_NOFOLLOW, 0).map_err(|e| fail("tmpcopyup: cannot open", e))?;
            let made = fs::openat(to.raw(), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | libc::O_NOFOLLOW, 0).map_err(|e| fail("tmpcopyup: cannot open", e))?;
            copy_dir(&inner, &made, dst, depth - 1)?;
        }
        fs::S_IFREG => {
            let src = fs::openat(from.raw(), name, O_RDONLY | O_CLOEXEC | libc::O_NOFOLLOW, 0).map_err(|e| fail("tmpcopyup: cannot open", e))?;
            let out = fs::openat(to.raw(), name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | O_CLOEXEC, 0o600).map_err(|e| fail("tmpcopyup: cannot make", e))?;
            let mut left = st.size.max(0) as usize;
            while left > 0 {
                match fs::sendfile(out.raw(), src.raw(), left.min(1 << 30)) {
                    Ok(0) => break,
                    Ok(n) => left -= n.min(left),
                    Err(e) => return Err(fail("tmpcopyup: cannot copy", e)),
                }
            }
        }
        fs::S_IFLNK => {
            let mut target = [0u8; 4096];
            let n = fs::readlinkat(from.raw(), name, &mut target).map_err(|e| fail("tmpcopyup: cannot read the link", e))?;
            let mut t = Text::<4100>::new();
            t.bytes(&target[..n]);
            fs::symlinkat(t.as_cstr().context("tmpcopyup: link too long")?, to.raw(), name).map_err(|e| fail("tmpcopyup: cannot make", e))?;
        }
        libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK => {
            fs::mknodat(to.raw(), name, st.kind() | 0o600, st.rdev).map_err(|e| fail("tmpcopyup: cannot make", e))?;
        }
        // A socket is a listener's, not content: as runc, not copied.
        _ => return Ok(()),
    }
    fs::fchownat(to.raw(), name, st.uid, st.gid).map_err(|e| fail("tmpcopyup: cannot set the owner of", e))?;
    // After the owner (chown clears the set-id bits); a symlink has no mode of its own.
    if st.kind() != fs::S_IFLNK {
        fs::fchmodat(to.raw(), name, mode).map_err(|e| fail("tmpcopyup: cannot set the mode of", e))?;
    }
    Ok(())
}
