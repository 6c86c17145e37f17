//! Which containers are alive, and what to do with the groups of those that are not.
//!
//! A launcher holds an exclusive `flock` on `/run/knocker/@launcher/<name>.lock` for as long as its
//! container lives; the kernel drops it when the launcher dies, however it dies (the
//! container never has the descriptor: it closes at exec). A `knocker/<name>` group whose lock
//! anybody can take is stale: its launcher was killed, and whatever still runs in it — an init
//! that cleared its parent-death signal, say — runs unsupervised. The next launcher kills
//! everything in it and removes it, and says so.

use super::{Dir, Dirs, Path, files};
use crate::error::{Context, Error, Result};
use linker::sys::fs::{self, LOCK_EX, LOCK_NB, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_RDONLY, O_RDWR};
use linker::sys::Errno;
use linker::{Fd, Text, say};

/// Beside the OCI runtime's state (`/run/knocker/<id>`): `@` is in no OCI container id.
const STATE: &core::ffi::CStr = c"/run/knocker";
const LOCKS: &core::ffi::CStr = c"/run/knocker/@launcher";

pub struct Lock {
    fd: Fd,
    path: Text<128>,
    /// Taken over from a launcher that died: where its group was, as its lock file says.
    pub left: Option<Mark>,
}

/// What a launcher's lock file holds once its group exists: the group's directory in the
/// first hierarchy, with its device and inode. A sweep removes a group only while that very
/// directory is still there — never a group of the same path made since by someone else (an
/// OCI container with that id, say).
pub struct Mark {
    dev: u64,
    ino: u64,
    path: Path,
}

impl Mark {
    /// The directory `dir` as it is now.
    pub fn of(dir: &Path) -> Option<Mark> {
        let mut d = dir.clone();
        let st = d.as_cstr().ok().and_then(|p| fs::stat(p).ok())?;
        Some(Mark { dev: st.dev, ino: st.ino, path: d })
    }

    /// `DEV INO PATH`, as [`Mark::parse`] reads it.
    pub fn text(&self) -> Text<320> {
        let mut t = Text::new();
        t.push(self.dev).push(" ").push(self.ino).push(" ").push(&self.path);
        t
    }

    pub fn parse(text: &[u8]) -> Option<Mark> {
        let mut words = text.trim_ascii_end().splitn(3, |&c| c == b' ');
        let dev = linker::text::decimal_value(words.next()?)?;
        let ino = linker::text::decimal_value(words.next()?)?;
        let mut path = Path::new();
        path.bytes(words.next()?);
        Some(Mark { dev, ino, path })
    }

    /// Whether the directory it names is still the one that was made.
    pub fn still_there(&mut self) -> bool {
        self.path.as_cstr().ok().and_then(|p| fs::stat(p).ok()).is_some_and(|st| (st.dev, st.ino) == (self.dev, self.ino))
    }
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
                // A lock file with a mark in it was left by a launcher that died.
                let mut text = [0u8; 512];
                let n = fs::read_all(fd.raw(), &mut text).unwrap_or(0);
                let left = Mark::parse(&text[..n]);
                fs::ftruncate(fd.raw(), 0).and_then(|_| fs::rewind(fd.raw())).context_on("cannot reset", &path)?;
                return Ok(Some(Lock { fd, path, left }));
            }
        }
        Err(Error::new("cannot take the lock (it keeps changing):").on(&path))
    }
}

impl Lock {
    /// Records where this launcher's group is (its directory `dir` in the first hierarchy).
    pub fn mark(&self, dir: &Path) {
        let Some(mark) = Mark::of(dir) else { return };
        let _ = fs::write_all(self.fd.raw(), mark.text().as_bytes());
    }

    /// The group of the launcher this lock was taken over from, if it is still there: that
    /// launcher died, and whatever runs in it now runs unsupervised.
    pub fn sweep_left(&mut self, all: &Dirs, name: &[u8]) {
        if self.left.as_mut().is_some_and(Mark::still_there) {
            remove(all, super::launcher_group(name).as_bytes());
        }
        self.left = None;
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
/// group, marks it with the group's directory, and drops it after the last is gone, so every
/// stale group has a marked lock file; a group the mark does not name is nobody's to sweep.)
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
            if let Ok(Some(mut lock)) = Lock::try_take(name) {
                lock.sweep_left(all, name);
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

/// A group of this container's own path that already exists in the hierarchy `root` with
/// nothing in it (a failed OCI create's): removed, to be made afresh.
pub fn remove_empty(root: &Dir, group: &[u8]) {
    let mut one = Dirs::new();
    let _ = one.push(*root);
    let _ = remove_quietly(&one, group);
}
