//! Running containers, by name: `launcher exec NAME COMMAND…`, `launcher ps`, `launcher stop
//! NAME`, `launcher kill NAME [SIGNAL]`.
//!
//! While its container lives, a launcher keeps an entry beside its lock,
//! `/run/knocker/@launcher/<name>.entry`: `key value` lines (PID 1's host pid and start time,
//! the confinement an `exec` must get, what `ps` shows). An entry is believed only while its
//! lock is held and its pid still has that start time; a stale one is removed with the stale
//! cgroup (cgroup/stale.rs).

use crate::cgroup;
use crate::error::{Context, Error, Result};
use crate::seccomp::Seccomp;
use crate::spec::{self, Spec, Tty};
use crate::{join, supervise, tty};
use linker::sys::fs::{self, O_CREAT, O_DIRECTORY, O_RDONLY, O_TRUNC, O_WRONLY};
use linker::sys::signal::{self, SIGKILL, SIGTERM};
use linker::sys::{process, time};
use linker::{Args, Env, Text, say};

pub const DIR: &str = "/run/knocker/@launcher";

/// Where entries live: [`DIR`] for root; a user's own `$XDG_RUNTIME_DIR/knocker` without root
/// (set by [`use_dir_of`] first thing).
static mut ENTRIES: Text<160> = Text::new();

fn dir() -> &'static [u8] {
    // SAFETY: written once by `use_dir_of` before any entry is read or written; single-threaded.
    let d = unsafe { &*core::ptr::addr_of!(ENTRIES) };
    if d.is_empty() { DIR.as_bytes() } else { d.as_bytes() }
}

/// Whether entries go to the user's own directory (a user with `$XDG_RUNTIME_DIR` set).
pub fn has_own_dir() -> bool {
    // SAFETY: see `dir`.
    !unsafe { &*core::ptr::addr_of!(ENTRIES) }.is_empty()
}

/// Without root: entries go to `$XDG_RUNTIME_DIR/knocker` (made when missing, 0700).
pub fn use_dir_of(env: Env) {
    if process::geteuid() == 0 {
        return;
    }
    let Some(run) = env.entry(b"XDG_RUNTIME_DIR").and_then(|e| e.to_bytes().strip_prefix(b"XDG_RUNTIME_DIR=")).filter(|d| !d.is_empty()) else { return };
    // SAFETY: see `dir`.
    let d = unsafe { &mut *core::ptr::addr_of_mut!(ENTRIES) };
    d.bytes(run).push("/knocker");
    if let Ok(c) = d.as_cstr() {
        let _ = fs::mkdirat(fs::AT_FDCWD, c, 0o700);
    }
}

/// Where a container's file `NAME.ext` of the launcher's own goes (root's /run/knocker, or
/// the user's runtime directory).
pub fn entry_path(name: &[u8], ext: &str) -> Text<192> {
    path(name, ext)
}

fn path(name: &[u8], ext: &str) -> Text<192> {
    let mut p = Text::new();
    p.bytes(dir()).push("/").bytes(name).push(ext);
    p
}

/// The start time (clock ticks since boot, /proc/PID/stat field 22) of `pid`.
pub fn start_time(pid: i32) -> Option<u64> {
    let mut p = Text::<32>::new();
    p.push("/proc/").push(pid).push("/stat");
    let mut buf = [0u8; 1024];
    let n = fs::read_file(p.as_cstr().ok()?, &mut buf).ok()?;
    let after = &buf[buf[..n].iter().rposition(|&c| c == b')')? + 2..n];
    linker::text::decimal_value(after.split(|&c| c == b' ').nth(19)?)
}

/// Writes the entry of a container that has just started (the launcher calls it once PID 1
/// is released); removed by the returned guard.
pub fn register(name: &[u8], pid: i32, spec: &Spec, command: &[u8]) -> Registered {
    let mut t = Text::<4096>::new();
    t.push("pid ").push(pid).push("\nstart ").push(start_time(pid).unwrap_or(0));
    t.push("\ncaps ").push(spec.caps).push("\nseccomp ").push(matches!(spec.seccomp, Seccomp::Default) as u64).push("\nnnp ").push(!spec.allow_new_privs as u64);
    t.push("\nuid ").push(spec.uid).push("\ngid ").push(spec.gid).push("\nhostname ").bytes(spec.hostname);
    if let Some(words) = spec.user.filter(|w| !w.contains(&b'\n')) {
        t.push("\nuser ").bytes(words);
    }
    t.push("\nsince ").push(time::realtime().sec as u64).push("\nrootfs ").push(spec.rootfs).push("\ncommand ").bytes(command);
    t.push("\nlimits ");
    if let Some(m) = spec.limits.memory {
        t.push("memory=").push(cgroup::format_size(m)).push(" ");
    }
    if let Some(p) = spec.limits.pids {
        t.push("pids=").push(p).push(" ");
    }
    t.push("\n");
    let mut p = path(name, ".entry");
    if let Ok(c) = p.as_cstr() {
        if let Ok(fd) = fs::openat(fs::AT_FDCWD, c, O_WRONLY | O_CREAT | O_TRUNC, 0o600) {
            let _ = fs::write_all(fd.raw(), t.as_bytes());
        }
    }
    Registered(p)
}

pub struct Registered(Text<192>);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(c) = self.0.as_cstr() {
            let _ = fs::unlinkat(fs::AT_FDCWD, c, 0);
        }
    }
}

/// Removes a stale container's entry (with its stale cgroup).
pub fn forget(name: &[u8]) {
    let _ = Registered(path(name, ".entry"));
    // A `--net pasta` container's namespace files: gone, its pasta quits by itself.
    crate::pasta::forget(name);
    let _ = Registered(path(name, ".pasta"));
}

/// One container's entry, read back.
struct Entry {
    buf: [u8; 4096],
    len: usize,
}

impl Entry {
    fn read(name: &[u8]) -> Option<Entry> {
        let mut p = path(name, ".entry");
        let mut e = Entry { buf: [0; 4096], len: 0 };
        e.len = fs::read_file(p.as_cstr().ok()?, &mut e.buf).ok()?;
        Some(e)
    }

    fn get(&self, key: &str) -> &[u8] {
        self.buf[..self.len]
            .split(|&c| c == b'\n')
            .find_map(|l| l.strip_prefix(key.as_bytes())?.strip_prefix(b" "))
            .unwrap_or(b"")
    }

    fn number(&self, key: &str) -> u64 {
        linker::text::decimal_value(self.get(key)).unwrap_or(0)
    }

    /// PID 1's host pid, while it is the same process that registered.
    fn alive(&self) -> Option<i32> {
        let pid = self.number("pid") as i32;
        (pid > 0 && start_time(pid) == Some(self.number("start"))).then_some(pid)
    }
}

/// A running container's entry, or one line saying there is none.
fn running(name: &[u8]) -> Result<(Entry, i32)> {
    // NAME becomes a path: only a name `--name` would have taken.
    if !spec::valid_name(name) {
        return Err(usage("bad NAME (letters, digits, - _ ., at most 64):", name));
    }
    let entry = Entry::read(name).ok_or_else(|| Error::new("no running container named").on(name).hint("see launcher ps"))?;
    let pid = entry.alive().ok_or_else(|| Error::new("the container is not running any more:").on(name))?;
    Ok((entry, pid))
}

/// `launcher exec|ps|list|stop|kill …` (`verb` at argv[1]); None when argv[1] is no verb.
pub fn dispatch(args: &Args, env: Env) -> Option<Result<i32>> {
    use_dir_of(env);
    let verb = args.bytes(1)?;
    Some(match verb {
        b"exec" => exec(args, env),
        b"ps" | b"list" => ps(),
        b"stop" => stop(args),
        b"kill" => kill(args),
        _ => return None,
    })
}

fn usage(what: &'static str, subject: &[u8]) -> Error {
    Error::new(what).on(subject).hint("see launcher --help")
}

/// `exec [-t|-T] [--user U[:G]] [--env K=V]... [--workdir D] NAME COMMAND...`
fn exec(args: &Args, env: Env) -> Result<i32> {
    // What joins the container runs from a sealed copy of this program and cannot be
    // inspected or written to from inside until it execs COMMAND (see sealed.rs).
    crate::sealed::reexec(c"launcher", *args, env)?;
    crate::security::joiner_undumpable()?;
    let mut spec = Spec::new(c"/");
    spec.init = spec::Init::None;
    spec.locked = false;
    let mut user = None;
    let mut vars = linker::List::<&'static core::ffi::CStr, { spec::MAX_CLI_ENV }>::new();
    let mut i = 2;
    let name = loop {
        let a = args.bytes(i).ok_or_else(|| usage("missing NAME", b""))?;
        i += 1;
        let value = |i: &mut usize| -> Result<&'static core::ffi::CStr> {
            *i += 1;
            args.get(*i - 1).ok_or_else(|| usage("option needs a value:", a))
        };
        match a {
            b"-t" | b"--tty" => spec.tty = Tty::Always,
            b"-T" | b"--no-tty" => spec.tty = Tty::Never,
            b"--user" | b"-u" => user = Some(value(&mut i)?.to_bytes()).filter(|u| !u.is_empty()),
            b"--env" | b"-e" => {
                let v = value(&mut i)?;
                if !spec::valid_env(v.to_bytes()) {
                    return Err(usage("bad --env (KEY=VALUE):", v.to_bytes()));
                }
                vars.push(v).map_err(|_| usage("too many --env (at most 256)", b""))?;
            }
            b"--workdir" | b"-w" => spec.workdir = value(&mut i)?,
            _ if a.starts_with(b"-") => return Err(usage("unknown option", a)),
            _ => break a,
        }
    };
    if args.len() <= i {
        return Err(usage("missing COMMAND to run in", name));
    }
    spec.env = spec::keep(vars.as_slice())?;
    let (entry, pid) = running(name)?;
    // The container's host name, for HOSTNAME: kept for the rest of the process (a Spec
    // holds only 'static text), in a page never unmapped.
    let mut page = linker::sys::mm::Mapping::new(4096, 0).context("mmap")?;
    let hostname = entry.get("hostname");
    let n = hostname.len().min(64);
    page.as_slice_mut::<u8>()[..n].copy_from_slice(&hostname[..n]);
    let (ptr, _) = (page.as_ptr(), core::mem::forget(page));
    // SAFETY: `n` bytes of a mapping that is never unmapped nor written again.
    let hostname: &'static [u8] = unsafe { core::slice::from_raw_parts(ptr, n) };
    if spec::valid_hostname(hostname) {
        spec.hostname = hostname;
    }
    // The container's own confinement, as its PID 1 got it.
    spec.caps = entry.number("caps");
    spec.seccomp = if entry.number("seccomp") != 0 { Seccomp::Default } else { Seccomp::Unconfined };
    spec.allow_new_privs = entry.number("nnp") == 0;
    // The user (given, or the container's own) as the container's files name it, and a TERM
    // it knows.
    let mut root_path = Text::<32>::new();
    root_path.push("/proc/").push(pid).push("/root");
    let root_path = root_path.as_cstr().context("path")?;
    crate::preflight::choose_term(&mut spec, env, root_path);
    let mut words = Text::<256>::new();
    words.bytes(user.unwrap_or(entry.get("user")));
    if words.is_empty() {
        (spec.uid, spec.gid) = (entry.number("uid") as u32, entry.number("gid") as u32);
    } else {
        let root = fs::open(root_path, O_DIRECTORY | fs::O_PATH).context_on("cannot open the container's root", root_path)?;
        crate::user::apply(&mut spec, &crate::user::resolve(&root, words.as_bytes())?)?;
    }
    spec.argv = Some(args.slice(i));
    let terminal = tty::wanted(&spec);
    spec.tty = if terminal { Tty::Always } else { Tty::Never };
    let mask = supervise::block_signals()?;
    let joined = join::exec(&spec, pid, entry.number("start"), cgroup::launcher_group(name).as_bytes(), *args, env, mask, false)?;
    let mut relay = match terminal {
        true => joined.sync.receive_terminal().context("cannot receive the terminal")?.map(tty::Relay::start),
        false => None,
    };
    let status = supervise::wait(joined.helper, &joined.sync, relay.as_mut())?;
    drop(relay);
    Ok(status.shell_code())
}

/// `ps`: the running containers.
fn ps() -> Result<i32> {
    let mut out = Text::<16384>::new();
    out.push("NAME\tPID\tUPTIME\tLIMITS\tROOTFS\tCOMMAND\n");
    let now = time::realtime().sec as u64;
    let mut d = Text::<192>::new();
    d.bytes(dir());
    if let Ok(dir) = d.as_cstr().and_then(|c| fs::open(c, O_RDONLY | O_DIRECTORY)) {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = fs::getdents64(dir.raw(), &mut buf) {
            for (_, file) in fs::dirents(&buf[..n]) {
                let Some(name) = file.strip_suffix(b".entry") else { continue };
                let Some(entry) = Entry::read(name) else { continue };
                let Some(pid) = entry.alive() else { continue };
                out.bytes(name).push("\t").push(pid).push("\t").push(now.saturating_sub(entry.number("since"))).push("s\t");
                out.bytes(entry.get("limits").trim_ascii()).push("\t").bytes(entry.get("rootfs")).push("\t").bytes(entry.get("command")).push("\n");
            }
        }
    }
    let _ = fs::write_all(1, out.as_bytes());
    Ok(0)
}

/// `kill NAME [SIGNAL]`: to the container's PID 1 (default SIGTERM).
fn kill(args: &Args) -> Result<i32> {
    let name = args.bytes(2).ok_or_else(|| usage("missing NAME", b""))?;
    let sig = match args.bytes(3) {
        None => SIGTERM,
        Some(s) => linker::text::decimal_value(s).map(|n| n as i32).or_else(|| signal::parse(s)).ok_or_else(|| usage("unknown signal", s))?,
    };
    let (_, pid) = running(name)?;
    process::kill(pid, sig).context("cannot signal the container")?;
    Ok(0)
}

/// `stop NAME [--time S]`: SIGTERM to PID 1, then SIGKILL after S seconds (default 10).
fn stop(args: &Args) -> Result<i32> {
    let name = args.bytes(2).ok_or_else(|| usage("missing NAME", b""))?;
    let secs = match (args.bytes(3), args.bytes(4)) {
        (Some(b"--time" | b"-t"), Some(s)) => linker::text::decimal_value(s).ok_or_else(|| usage("bad --time (seconds):", s))?,
        (None, _) => 10,
        (Some(other), _) => return Err(usage("unexpected argument:", other)),
    };
    let (entry, pid) = running(name)?;
    let _ = process::kill(pid, SIGTERM);
    let deadline = time::monotonic_ns() + secs * 1_000_000_000;
    while entry.alive().is_some() {
        if time::monotonic_ns() >= deadline {
            say!(2; "launcher: ", name, " did not stop in time: SIGKILL");
            let _ = process::kill(pid, SIGKILL);
            break;
        }
        let _ = time::sleep_ms(10);
    }
    Ok(0)
}
