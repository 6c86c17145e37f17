//! Which containers are alive, and what to do with the groups of those that are not.
//!
//! A launcher holds an exclusive `flock` on `/run/knocker/@launcher/<name>.lock` for as long as its
//! container lives; the kernel drops it when the launcher dies, however it dies (the
//! container never has the descriptor: it closes at exec). A `knocker/<name>` group whose lock
//! anybody can take is stale: its launcher was killed, and whatever still runs in it — an init
//! that cleared its parent-death signal, say — runs unsupervised. The next launcher kills
//! everything in it and removes it, and says so.

use super::{Dir, Dirs, files};
use crate::error::{Context, Error, Result};
use linker::sys::fs::{self, LOCK_EX, LOCK_NB, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_RDONLY, O_RDWR};
use linker::sys::Errno;
use linker::{Fd, Text, say};

/// Beside the OCI runtime's state (`/run/knocker/<id>`): `@` is in no OCI container id.
const STATE: &core::ffi::CStr = c"/run/knocker";
const LOCKS: &core::ffi::CStr = c"/run/knocker/@launcher";

pub struct Lock {
    _fd: Fd,
    path: Text<128>,
}

impl Lock {
    /// This container's lock; an error if a live launcher holds it (a name in use). Another
    /// launcher's sweep may hold it for a moment while it checks the name (a lock file it
    /// found before we locked it): that is waited out, for up to half a second.
    pub fn take(name: &[u8]) -> Result<Lock> {
        for _ in 0..250 {
            if let Some(lock) = Lock::try_take(name)? {
                return Ok(lock);
            }
            let _ = linker::sys::time::sleep_ms(2);
        }
        Err(Error::new("a container with this name is running:").on(name).hint("choose another --name"))
    }

    /// The lock of `name`, or None when a live launcher holds it.
    fn try_take(name: &[u8]) -> Result<Option<Lock>> {
        for dir in [STATE, LOCKS] {
            match fs::mkdir(dir, 0o700) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(Error::sys("cannot create", e).on(dir).hint("knocker keeps its locks there")),
            }
        }
        let mut path = Text::<128>::new();
        path.push(LOCKS).push("/").bytes(name).push(".lock");
        // A lock file unlinked between our open and our flock belongs to nobody: try again.
        for _ in 0..8 {
            let p = path.as_cstr().context("lock path too long")?;
            let fd = fs::openat(fs::AT_FDCWD, p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
                .context_on("cannot open", &path)?;
            match fs::flock(fd.raw(), LOCK_EX | LOCK_NB) {
                Ok(()) => {}
                Err(Errno::EAGAIN) => return Ok(None),
                Err(e) => return Err(Error::sys("cannot lock", e).on(&path)),
            }
            let held = fs::fstat(fd.raw()).context_on("cannot stat", &path)?;
            let p = path.as_cstr().context("lock path too long")?;
            if fs::stat(p).is_ok_and(|now| now.ino == held.ino && now.dev == held.dev) {
                return Ok(Some(Lock { _fd: fd, path }));
            }
        }
        Err(Error::new("cannot take the lock (it keeps changing):").on(&path))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Unlinked while still held, so nobody who opens the name afterwards shares it.
        if let Ok(p) = self.path.as_cstr() {
            let _ = fs::unlinkat(fs::AT_FDCWD, p, 0);
        }
    }
}

/// Finds the containers whose launcher is gone — their lock file is there, but nobody holds
/// it — kills what runs in their groups and removes the groups in every hierarchy, and the
/// lock file. `own` is this launcher's name. (A launcher takes its lock before it makes any
/// group and drops it after the last is gone, so every stale group has a lock file.)
pub fn sweep(all: &Dirs, own: &[u8]) {
    let Ok(dir) = fs::open(LOCKS, O_RDONLY | O_DIRECTORY) else { return };
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = fs::getdents64(dir.raw(), &mut buf) {
        for (_, file) in fs::dirents(&buf[..n]) {
            let Some(name) = file.strip_suffix(b".lock") else { continue };
            if name == own || name.is_empty() {
                continue;
            }
            // Taking the lock proves its launcher is gone; holding it keeps a new launcher
            // of the same name out until the groups are removed. Dropping it unlinks it.
            if let Ok(Some(_lock)) = Lock::try_take(name) {
                remove(all, super::launcher_group(name).as_bytes());
                crate::manage::forget(name);
            }
        }
    }
}

/// Kills and removes the group at `group` in every hierarchy of `all` where it exists,
/// without a word: how many processes were in it, or None when there was no such group.
pub fn remove_quietly(all: &Dirs, group: &[u8]) -> Option<usize> {
    let mut found = Dirs::new();
    for h in all.iter() {
        let mut path = h.path.clone();
        path.push("/").bytes(group);
        if path.as_cstr().is_ok_and(|p| fs::stat(p).is_ok()) {
            let _ = found.push(Dir { path, kind: h.kind });
        }
    }
    if found.is_empty() {
        return None;
    }
    let killed = files::kill_all(&found);
    files::kill_and_remove(&found);
    Some(killed)
}

/// Kills and removes the group at `group` in every hierarchy of `all` where it exists, and says so.
fn remove(all: &Dirs, group: &[u8]) {
    let Some(killed) = remove_quietly(all, group) else { return };
    let mut line = Text::<512>::new();
    line.push("launcher: removed the cgroup ").bytes(group).push(" of a container whose launcher died");
    if killed > 0 {
        line.push(" (killed ").push(killed).push(if killed == 1 { " process)" } else { " processes)" });
    }
    say!(2; line);
}

/// A group of this container's own path that already exists in the hierarchy `root`: left by
/// a launcher of the same name (or pid) that died, or a failed OCI create. Swept like any
/// stale group.
pub fn remove_leftover(root: &Dir, group: &[u8]) {
    let mut one = Dirs::new();
    let _ = one.push(*root);
    remove(&one, group);
}
