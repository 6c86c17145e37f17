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
use linker::sys::{process, signal};
use linker::{Text, say};

/// How the container's ids map to the host's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    /// The caller to 0, nothing else.
    Single { uid: u32, gid: u32 },
    /// The caller to 0, and subordinate ranges (start, count) to 1…count.
    Subordinate { uid: u32, gid: u32, uids: (u32, u32), gids: (u32, u32) },
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
            Mapping::Single { .. } => say!(2; "launcher: rootless: a user namespace mapping only your own ids to root (no subordinate ids or no newuidmap: apt-get install uidmap, and see /etc/subuid)"),
        }
    }
    // SAFETY: single-threaded; set before the container exists, read by `write_maps`.
    unsafe { *core::ptr::addr_of_mut!(MAPPING) = Some(m) };
    m
}

fn write(pid: i32, file: &str, text: &[u8]) -> Result<()> {
    let mut p = Text::<48>::new();
    p.push("/proc/").push(pid).push("/").push(file);
    let path = p.as_cstr().context("path")?;
    let fd = fs::open(path, O_WRONLY).context_on("cannot open", path)?;
    fs::write_all(fd.raw(), text).context_on("cannot write", path)
}

/// Runs `newuidmap`/`newgidmap` PID 0 ID 1 1 START COUNT.
fn helper(program: &core::ffi::CStr, pid: i32, id: u32, range: (u32, u32)) -> Result<()> {
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
    let child = process::fork().context("fork")?;
    if child == 0 {
        let _ = signal::sigprocmask(signal::SIG_SETMASK, signal::SigSet::EMPTY);
        let e = linker::exec::execvp(program, argv.as_ptr(), [core::ptr::null()].as_ptr(), linker::exec::DEFAULT_PATH);
        say!(2; "launcher: cannot run ", program, ": ", e);
        process::exit(127);
    }
    match process::wait4(child, 0).context("wait")?.map(|(_, s)| s.shell_code()) {
        Some(0) => Ok(()),
        _ => Err(Error::new("cannot map the container's ids:").on(program).hint("see its message above; check /etc/subuid and /etc/subgid")),
    }
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
            write(pid, "uid_map", line(uid).as_bytes())?;
            // Without a helper, a process may only map its own gid once setgroups is denied.
            write(pid, "setgroups", b"deny")?;
            write(pid, "gid_map", line(gid).as_bytes())
        }
        Mapping::Subordinate { uid, gid, uids, gids } => {
            helper(c"newuidmap", pid, uid, uids)?;
            helper(c"newgidmap", pid, gid, gids)
        }
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
