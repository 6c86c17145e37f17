//! Containers without root: when the launcher is not root, the container gets a user
//! namespace of its own (in the same `clone` as the others) whose root is the caller:
//! - with `newuidmap`/`newgidmap` (Debian's `uidmap`) and a range for the caller in
//!   `/etc/subuid` and `/etc/subgid`: the caller's uid and gid are 0 inside and the range is
//!   1…N, as podman maps them, so a distribution's system users work;
//! - otherwise only the caller is mapped (to 0), `setgroups` is denied, and files of other
//!   owners show as `nobody` (as `unshare -r`).
//! The maps are written once PID 1 exists and before it goes on (it waits for them).

use crate::error::{Context, Error, Result};
use linker::sys::fs::{self, O_WRONLY};
use linker::sys::process;
use linker::{Text, say};

/// How the container's ids map to the host's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    /// The caller to 0, nothing else.
    Single { uid: u32, gid: u32 },
    /// The caller to 0, and subordinate ranges (start, count) to 1…count.
    Subordinate { uid: u32, gid: u32, uids: (u32, u32), gids: (u32, u32) },
    /// Root's `--userns`: 0…count-1 inside are host ids start…, uids and gids alike, and
    /// ROOTFS (and `--overlay-dir`) are seen through idmapped mounts.
    Range { start: u32, count: u32, idmapped: [Option<&'static core::ffi::CStr>; 2] },
}

/// `--userns` without a range takes 65536 ids from knocker's own range, which starts at 2^31
/// (far above any distribution's users and subordinate ranges): slot N is 2^31 + N·65536,
/// held by a lock while its container lives.
pub const AUTO_BASE: u32 = 1 << 31;
pub const AUTO_COUNT: u32 = 65536;
const AUTO_SLOTS: u32 = 4096;
const SLOTS: &str = "/run/knocker/@userns";

/// The slot this launcher holds (its lock file's path), removed again by [`release_slot`].
static mut SLOT: Text<64> = Text::new();

/// A free slot of knocker's range: its lock is taken and kept for the rest of the process.
pub fn auto_range() -> Result<u32> {
    let _ = fs::mkdirat(fs::AT_FDCWD, c"/run/knocker", 0o700);
    let _ = fs::mkdirat(fs::AT_FDCWD, c"/run/knocker/@userns", 0o700);
    for slot in 0..AUTO_SLOTS {
        let mut p = Text::<64>::new();
        p.push(SLOTS).push("/").push(slot).push(".lock");
        let path = p.as_cstr().context("path")?;
        let fd = fs::openat(fs::AT_FDCWD, path, fs::O_RDWR | fs::O_CREAT | fs::O_CLOEXEC, 0o600).context_on("cannot open", path)?;
        // Ours if locked and still the file at that path (a finishing launcher unlinks its own).
        let same = |fd: &linker::Fd| matches!((fs::fstat(fd.raw()), fs::stat(path)), (Ok(a), Ok(b)) if (a.dev, a.ino) == (b.dev, b.ino));
        if fs::flock(fd.raw(), fs::LOCK_EX | fs::LOCK_NB).is_ok() && same(&fd) {
            // Held until the launcher exits (the kernel releases it however it ends).
            let _ = fd.into_raw();
            // SAFETY: single-threaded; read by `release_slot` at the end.
            unsafe { (*core::ptr::addr_of_mut!(SLOT)).bytes(p.as_bytes()) };
            return Ok(AUTO_BASE + slot * AUTO_COUNT);
        }
    }
    Err(Error::new("--userns: every range of knocker's is in use"))
}

/// At the end: the slot's lock file goes (still locked, so nobody takes it in between).
pub fn release_slot() {
    // SAFETY: see `auto_range`.
    let slot = unsafe { &mut *core::ptr::addr_of_mut!(SLOT) };
    if slot.is_empty() {
        return;
    }
    if let Ok(p) = slot.as_cstr() {
        let _ = fs::unlinkat(fs::AT_FDCWD, p, 0);
    }
}

/// Root's `--userns` (see [`Mapping::Range`]).
pub fn plan_range(start: u32, count: u32, idmapped: [Option<&'static core::ffi::CStr>; 2], verbose: bool) {
    if verbose {
        say!(2; "launcher: user namespace: 0-", (count - 1) as u64, " inside are host ids ", start as u64, "-", start as u64 + count as u64 - 1, "; ROOTFS through an idmapped mount");
    }
    // SAFETY: single-threaded; set before the container exists, read by `write_maps`.
    unsafe { *core::ptr::addr_of_mut!(MAPPING) = Some(Mapping::Range { start, count, idmapped }) };
}

static mut MAPPING: Option<Mapping> = None;

/// The first range of `/etc/subuid`-style `file` for the user `name` (or their `uid`).
pub fn range_in(file: &[u8], name: &[u8], uid: u32) -> Option<(u32, u32)> {
    let mut id = Text::<16>::new();
    id.push(uid);
    file.split(|&c| c == b'\n').find_map(|line| {
        let mut f = line.split(|&c| c == b':');
        let (who, start, count) = (f.next()?, f.next()?, f.next()?);
        if who != name && who != id.as_bytes() {
            return None;
        }
        let n = |s: &[u8]| linker::text::decimal_value(s.trim_ascii()).filter(|&n| n > 0 && n < u32::MAX as u64).map(|n| n as u32);
        Some((n(start)?, n(count)?))
    })
}

/// The caller's name, from the host's /etc/passwd.
fn user_name(uid: u32) -> Text<64> {
    let mut buf = [0u8; 16384];
    let n = fs::read_file(c"/etc/passwd", &mut buf).unwrap_or(0);
    let mut id = Text::<16>::new();
    id.push(uid);
    let mut name = Text::new();
    for line in buf[..n].split(|&c| c == b'\n') {
        let mut f = line.split(|&c| c == b':');
        let (Some(who), _, Some(u)) = (f.next(), f.next(), f.next()) else { continue };
        if u == id.as_bytes() {
            name.bytes(who);
            break;
        }
    }
    name
}

/// Chooses the mapping for the calling user (see the module's text); `verbose` says which.
pub fn plan(verbose: bool, env: linker::Env) -> Mapping {
    let (uid, gid) = (process::getuid(), process::getgid());
    let name = user_name(uid);
    let read = |path: &core::ffi::CStr| {
        let mut buf = [0u8; 8192];
        let n = fs::read_file(path, &mut buf).unwrap_or(0);
        range_in(&buf[..n], name.as_bytes(), uid)
    };
    let (uids, gids) = (read(c"/etc/subuid"), read(c"/etc/subgid"));
    let path = env.entry(b"PATH").and_then(|p| p.to_bytes().strip_prefix(b"PATH=")).unwrap_or(linker::exec::DEFAULT_PATH);
    let helpers = linker::exec::locate(b"newuidmap", path).is_ok() && linker::exec::locate(b"newgidmap", path).is_ok();
    let m = match (uids, gids, helpers) {
        (Some(uids), Some(gids), true) => Mapping::Subordinate { uid, gid, uids, gids },
        _ => Mapping::Single { uid, gid },
    };
    if verbose {
        match m {
            Mapping::Subordinate { uids, .. } => {
                say!(2; "launcher: rootless: a user namespace with your ids as root and your ", uids.1 as u64, " subordinate ids (newuidmap)")
            }
            _ => say!(2; "launcher: rootless: a user namespace mapping only your own ids to root (no subordinate ids or no newuidmap: apt-get install uidmap, and see /etc/subuid)"),
        }
    }
    // SAFETY: single-threaded; set before the container exists, read by `write_maps`.
    unsafe { *core::ptr::addr_of_mut!(MAPPING) = Some(m) };
    m
}

/// Writes `text` to `/proc/PID/FILE` (an id map, `setgroups`); the OCI front end writes a
/// config's maps with it too.
pub fn write_proc(pid: i32, file: &str, text: &[u8]) -> Result<()> {
    let mut p = Text::<48>::new();
    p.push("/proc/").push(pid).push("/").push(file);
    let path = p.as_cstr().context("path")?;
    let fd = fs::open(path, O_WRONLY).context_on("cannot open", path)?;
    fs::write_all(fd.raw(), text).context_on("cannot write", path)
}

/// Starts `newuidmap`/`newgidmap` PID 0 ID 1 1 START COUNT: its pid.
fn start_helper(program: &core::ffi::CStr, pid: i32, id: u32, range: (u32, u32)) -> Result<i32> {
    let mut words: [Text<16>; 7] = [Text::new(); 7];
    words[0].push(pid);
    words[1].push("0");
    words[2].push(id);
    words[3].push("1");
    words[4].push("1");
    words[5].push(range.0);
    words[6].push(range.1);
    let mut argv = [core::ptr::null::<core::ffi::c_char>(); 9];
    argv[0] = program.as_ptr();
    for (i, w) in words.iter_mut().enumerate() {
        argv[i + 1] = w.as_cstr().context("argument")?.as_ptr();
    }
    crate::helper::start(program, &argv)
}

/// Once PID 1 exists: writes its id maps (it waits for them before anything else).
pub fn write_maps(pid: i32) -> Result<()> {
    // SAFETY: see `plan`.
    let Some(m) = (unsafe { *core::ptr::addr_of!(MAPPING) }) else { return Ok(()) };
    match m {
        Mapping::Single { uid, gid } => {
            let line = |id: u32| {
                let mut t = Text::<32>::new();
                t.push("0 ").push(id).push(" 1\n");
                t
            };
            write_proc(pid, "uid_map", line(uid).as_bytes())?;
            // Without a helper, a process may only map its own gid once setgroups is denied.
            write_proc(pid, "setgroups", b"deny")?;
            write_proc(pid, "gid_map", line(gid).as_bytes())
        }
        Mapping::Subordinate { uid, gid, uids, gids } => {
            // Both setuid helpers at once: each is an exec of its own (about a millisecond).
            // Each one started is waited for, whatever became of the other.
            let maps = [(c"newuidmap", start_helper(c"newuidmap", pid, uid, uids)), (c"newgidmap", start_helper(c"newgidmap", pid, gid, gids))];
            let mut result = Ok(());
            for (program, child) in maps {
                let status = child.and_then(crate::helper::finish);
                if result.is_ok() {
                    result = match status {
                        Ok(0) => Ok(()),
                        Ok(_) => Err(Error::new("cannot map the container's ids:").on(program).hint("see its message above; check /etc/subuid and /etc/subgid")),
                        Err(e) => Err(e),
                    };
                }
            }
            result
        }
        Mapping::Range { start, count, idmapped } => {
            let mut line = Text::<48>::new();
            line.push("0 ").push(start).push(" ").push(count).push("\n");
            write_proc(pid, "uid_map", line.as_bytes())?;
            write_proc(pid, "gid_map", line.as_bytes())?;
            idmap(pid, idmapped)
        }
    }
}

/// In PID 1's mount namespace (a helper process enters it; PID 1 is still waiting): ROOTFS
/// (and `--overlay-dir`) replaced by an idmapped copy of itself, so the files owned by host
/// root are container root's inside, and nothing is chowned. Only host root may make one.
fn idmap(pid: i32, paths: [Option<&'static core::ffi::CStr>; 2]) -> Result<()> {
    let ns = |kind: &str| -> Result<linker::Fd> {
        let mut p = Text::<40>::new();
        p.push("/proc/").push(pid).push("/ns/").push(kind);
        let path = p.as_cstr().context("path")?;
        fs::open(path, fs::O_RDONLY | fs::O_CLOEXEC).context_on("cannot open", path)
    };
    let (mnt, user) = (ns("mnt")?, ns("user")?);
    // Entering a mount namespace moves to its root: back to the same directory there, so a
    // relative ROOTFS means what it meant.
    let mut cwd = [0u8; 4096];
    let n = fs::getcwd(&mut cwd).context("getcwd")?;
    let cwd = core::ffi::CStr::from_bytes_with_nul(&cwd[..n]).map_err(|_| Error::new("getcwd"))?;
    let child = process::fork().context("fork")?;
    if child == 0 {
        // One line says what failed, for which path; the launcher then says nothing more.
        let step = |path| -> Result<()> {
            let tree = linker::sys::mount::clone_tree(path).context_on("cannot copy the mount (open_tree) of", path)?;
            linker::sys::mount::idmap(tree.raw(), user.raw())
                .map_err(|e| Error::sys("--userns: cannot idmap", e).on(path).hint("its file system does not support idmapped mounts here"))?;
            linker::sys::mount::attach(tree.raw(), path).context_on("cannot mount the idmapped copy of", path)
        };
        let steps = || -> Result<()> {
            linker::sys::ns::setns(mnt.raw(), libc::CLONE_NEWNS).context("cannot enter the container's mount namespace")?;
            fs::chdir(cwd).context_on("cannot enter", cwd)?;
            for path in paths.into_iter().flatten() {
                step(path)?;
            }
            Ok(())
        };
        let code = match steps() {
            Ok(()) => 0,
            Err(e) => {
                e.report();
                1
            }
        };
        process::exit(code);
    }
    match process::wait4(child, 0).context("wait")?.map(|(_, s)| s.shell_code()) {
        Some(0) => Ok(()),
        _ => Err(Error::said()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges_by_name_or_uid() {
        let file = b"alice:100000:65536\nbob:165536:65536\n1003:231072:1000\n";
        assert_eq!(range_in(file, b"bob", 1001), Some((165536, 65536)));
        assert_eq!(range_in(file, b"carol", 1003), Some((231072, 1000)));
        assert_eq!(range_in(file, b"dave", 1004), None);
        assert_eq!(range_in(b"eve:x:1\n", b"eve", 1), None);
    }
}
