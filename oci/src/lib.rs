//! `knocker`: knocker as an OCI runtime, with runc's command line — the front end engines
//! (podman, containerd) call. A bundle's config.json becomes the launcher's plan
//! ([`config`]), and the container is made by the launcher's own code (`launcher::create`):
//! one container life, two front ends.
//!
//! `create` leaves PID 1 set up and waiting on `<root>/<id>/exec.fifo`; `start` writes the byte
//! it waits for. The state survives the `create` process in `<root>/<id>/state.json`.
//!
//! `no_std` except under `cfg(test)`: the JSON reader and the config mapping are unit-tested.
#![cfg_attr(not(test), no_std)]

pub mod arena;
mod notify;
mod copyup;
mod extras;
mod relay;
pub mod config;
pub mod hooks;
pub mod json;
pub mod schema;
pub mod seccomp;
pub mod state;
#[cfg(test)]
mod differential;
#[cfg(test)]
mod findings;

use crate::state::{Saved, Status};
use launcher::error::{self, Context, Error, Result};
use launcher::seccomp::Seccomp;
use launcher::supervise;
use linker::sys::fs::{self, LOCK_EX, O_APPEND, O_CLOEXEC, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY};
use linker::sys::process;
use linker::sys::signal::{self, SIGKILL};
use linker::sys::time;
use linker::sys::{Errno, Fd};
use linker::{Args, Env, Text, say};

pub const USAGE: &str = "\
Usage: knocker [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]   (an OCI runtime, as runc)

Commands:
  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] [--preserve-fds N] ID
      create a container from the bundle (default: .); a terminal goes to SOCK
  start ID: run the created container's process
  run [create's options] [--detach] ID: create and start; without --detach, wait for it
  state ID: the container's state as JSON
  kill [--all] ID [SIGNAL]: send SIGNAL (default SIGTERM) to the container
  delete [--force] ID: remove a stopped (with --force: any) container
  exec [OPTIONS] ID [COMMAND...]: run a new process in the running container
  pause ID, resume ID: freeze and thaw the container
  ps [--format table|json] ID: the container's processes
  update [--resources FILE|-] [--memory N] [--pids-limit N] [--cpu-quota N] ID
  list [--format table|json] [--quiet]: the containers
  spec [--bundle DIR]: write a default config.json
  features: what this runtime supports, as JSON

Global options: --root DIR (state; default /run/knocker), --log FILE, --log-format text|json
(json lines as runc's), --debug, --systemd-cgroup (accepted; cgroupfs paths are used),
-v/--version, -h/--help.

Exit status: 0, or 1 if knocker failed; run without --detach: the container's.
";

pub const VERSION: &str = concat!("knocker version ", env!("CARGO_PKG_VERSION"), "\nspec: 1.2.0");

/// Global options.
struct Global {
    root: &'static [u8],
    log: Option<&'static core::ffi::CStr>,
    json_log: bool,
    debug: bool,
}

/// `/run/knocker`, or `$XDG_RUNTIME_DIR/knocker` for a rootless engine (as runc's default).
fn default_root(env: Env) -> &'static [u8] {
    static mut ROOT: Text<256> = Text::new();
    match env.entry(b"XDG_RUNTIME_DIR").and_then(|e| e.to_bytes().strip_prefix(b"XDG_RUNTIME_DIR=")) {
        Some(dir) if !process::host_root() && !dir.is_empty() => {
            // SAFETY: written once, first thing, in this single-threaded process.
            let root = unsafe { &mut *core::ptr::addr_of_mut!(ROOT) };
            root.bytes(dir).push("/knocker");
            root.as_bytes()
        }
        _ => b"/run/knocker",
    }
}

pub fn main(args: Args, env: Env) -> i32 {
    error::speak_as_knocker();
    launcher::rootfs::MAKE_MOUNT_POINTS.store(true, core::sync::atomic::Ordering::Relaxed);
    let mut g = Global { root: default_root(env), log: None, json_log: false, debug: false };
    match dispatch(&args, env, &mut g) {
        Ok(code) => code,
        Err(e) => {
            e.report();
            log_error(&g, &e);
            // runc's errors exit 1; a failed container setup keeps the launcher's code.
            if e.code() == error::EXIT_LAUNCHER { 1 } else { e.code() }
        }
    }
}

/// The error in `--log`, as text or as runc's json line.
fn log_error(g: &Global, e: &Error) {
    let Some(path) = g.log else { return };
    // Not through a symlink someone else may have planted at the path.
    let Ok(fd) = fs::openat(fs::AT_FDCWD, path, O_WRONLY | O_CREAT | O_APPEND | fs::O_NOFOLLOW | O_CLOEXEC, 0o600) else { return };
    let line = e.line();
    let mut t = Text::<1024>::new();
    if g.json_log {
        t.push("{\"level\":\"error\",\"msg\":");
        state::json_string(&mut t, line.as_bytes().strip_prefix(b"knocker: ").unwrap_or(line.as_bytes()));
        t.push(",\"time\":\"").push(&time::rfc3339(time::realtime())).push("\"}\n");
    } else {
        t.bytes(line.as_bytes()).push("\n");
    }
    let _ = fs::write_all(fd.raw(), t.as_bytes());
}

fn usage(what: &'static str, subject: &[u8]) -> Error {
    Error::new(what).on(subject).hint("see knocker --help")
}

fn dispatch(args: &Args, env: Env, g: &mut Global) -> Result<i32> {
    let mut i = 1;
    // Global options come before the command.
    while let Some(a) = args.bytes(i) {
        let (name, inline) = split_option(a);
        let value = |i: &mut usize| -> Result<&'static [u8]> {
            if let Some(v) = inline {
                return Ok(v);
            }
            *i += 1;
            args.bytes(*i).ok_or_else(|| usage("option needs a value:", name))
        };
        match name {
            b"--root" => g.root = value(&mut i)?,
            b"--log" => {
                g.log = match inline {
                    Some(_) => args.get(i).map(|c| after_name(c, name.len())),
                    None => {
                        value(&mut i)?;
                        args.get(i)
                    }
                };
            }
            b"--log-format" => g.json_log = match value(&mut i)? {
                b"json" => true,
                b"text" => false,
                other => return Err(usage("bad --log-format (text or json):", other)),
            },
            b"--debug" => g.debug = true,
            b"--systemd-cgroup" => {
                if g.debug {
                    say!(2; "knocker: --systemd-cgroup: no systemd here, cgroupfs paths are used");
                }
            }
            b"-v" | b"--version" => {
                say!(1; VERSION);
                return Ok(0);
            }
            b"-h" | b"--help" => {
                let _ = fs::write_all(1, USAGE.as_bytes());
                return Ok(0);
            }
            _ if a.starts_with(b"-") => return Err(usage("unknown global option", a)),
            _ => break,
        }
        i += 1;
    }
    let Some(verb) = args.bytes(i) else {
        return Err(usage("missing COMMAND", b""));
    };
    let rest = Rest { args, at: i + 1 };
    // What these start in the container (its PID 1, an exec'd process) is exec'd by a process
    // of ours, whose /proc/self/exe the container's `#!/proc/self/exe` would run: a sealed
    // copy of knocker, never the host's file (launcher/src/sealed.rs).
    if matches!(verb, b"create" | b"run" | b"exec") && process::geteuid() == 0 {
        launcher::sealed::reexec(c"knocker", *args, env)?;
    }
    match verb {
        b"spec" => spec(rest),
        b"features" => {
            features();
            Ok(0)
        }
        b"list" => list(rest, g),
        _ if process::geteuid() != 0 => Err(Error::new("must run as root").hint("knocker runs rootful containers")),
        b"create" => create(rest, env, g, false),
        b"run" => create(rest, env, g, true),
        b"start" => start(rest, g),
        b"state" => state_verb(rest, g),
        b"kill" => kill(rest, g),
        b"delete" => delete(rest, g),
        b"exec" => exec(rest, env, g),
        b"pause" => pause(rest, g, true),
        b"resume" => pause(rest, g, false),
        b"ps" => ps(rest, g),
        b"update" => update(rest, g),
        _ => Err(usage("unknown command", verb)),
    }
}

/// `--name=value` → (`--name`, Some(value)).
fn split_option(a: &'static [u8]) -> (&'static [u8], Option<&'static [u8]>) {
    match a.iter().position(|&c| c == b'=') {
        Some(eq) if a.starts_with(b"--") => (&a[..eq], Some(&a[eq + 1..])),
        _ => (a, None),
    }
}

/// The value part of `--name=value`, still NUL-terminated.
fn after_name(arg: &'static core::ffi::CStr, name_len: usize) -> &'static core::ffi::CStr {
    core::ffi::CStr::from_bytes_with_nul(&arg.to_bytes_with_nul()[name_len + 1..]).unwrap_or(c"")
}

/// An option's value: after `=`, or the next word (then `next` moves past it).
fn option_value(args: &Args, next: &mut usize, name: &'static [u8], inline: Option<&'static [u8]>) -> Result<&'static [u8]> {
    if let Some(v) = inline {
        return Ok(v);
    }
    *next += 1;
    args.bytes(*next - 1).ok_or_else(|| usage("option needs a value:", name))
}

/// A command's own options and operands.
struct Rest<'a> {
    args: &'a Args,
    at: usize,
}

/// The options a command takes, parsed: flags by name, values by name, operands in order.
#[derive(Default)]
struct Parsed {
    bundle: Option<&'static [u8]>,
    pid_file: Option<&'static core::ffi::CStr>,
    detach: bool,
    force: bool,
    all: bool,
    quiet: bool,
    json: bool,
    console_socket: Option<&'static [u8]>,
    /// `--preserve-fds N`: descriptors 3…3+N-1 go to the container's process.
    preserve_fds: u32,
    operands: linker::List<&'static [u8], 4>,
}

impl Rest<'_> {
    fn parse(&self) -> Result<Parsed> {
        let mut p = Parsed::default();
        let mut i = self.at;
        let mut options_done = false;
        while let Some(a) = self.args.bytes(i) {
            i += 1;
            if options_done || !a.starts_with(b"-") || a == b"-" {
                p.operands.push(a).map_err(|_| usage("too many arguments:", a))?;
                continue;
            }
            let (name, inline) = split_option(a);
            let mut value = || option_value(self.args, &mut i, name, inline);
            match name {
                b"--" => options_done = true,
                b"-b" | b"--bundle" => p.bundle = Some(value()?),
                b"--pid-file" => {
                    p.pid_file = match inline {
                        Some(_) => self.args.get(i - 1).map(|c| after_name(c, name.len())),
                        None => {
                            value()?;
                            self.args.get(i - 1)
                        }
                    };
                }
                b"-d" | b"--detach" => p.detach = true,
                b"-f" | b"--force" if inline.is_none() => p.force = true,
                b"-a" | b"--all" => p.all = true,
                b"-q" | b"--quiet" => p.quiet = true,
                b"--format" | b"-f" => p.json = match value()? {
                    b"json" => true,
                    b"table" => false,
                    other => return Err(usage("bad --format (table or json):", other)),
                },
                // Accepted as runc accepts them; nothing for knocker to do.
                b"--no-pivot" | b"--no-new-keyring" | b"--no-subreaper" => {}
                b"--preserve-fds" => {
                    let v = value()?;
                    p.preserve_fds = linker::text::decimal_value(v).filter(|&n| n < 1 << 20).ok_or_else(|| usage("bad --preserve-fds (a number):", v))? as u32;
                }
                b"--console-socket" => p.console_socket = Some(value()?),
                _ => return Err(usage("unknown option", a)),
            }
        }
        Ok(p)
    }
}

fn one_id(p: &Parsed) -> Result<&'static [u8]> {
    match p.operands.as_slice() {
        [id] if state::valid_id(id) => Ok(id),
        [id] => Err(Error::new("bad container id (letters, digits, _ + - .):").on(*id)),
        [] => Err(usage("missing container ID", b"")),
        [_, extra, ..] => Err(usage("unexpected argument:", extra)),
    }
}

/// The state root, created with its parents when missing (engines pass paths such as
/// /run/containerd/runc/default).
fn ensure_root(root: &[u8]) -> Result<()> {
    for (i, _) in root.iter().enumerate().filter(|&(i, &c)| i > 0 && c == b'/').chain([(root.len(), &b'/')]) {
        let mut r = state::Path::new();
        r.bytes(&root[..i]);
        match fs::mkdir(r.as_cstr().context("--root too long")?, 0o700) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Error::sys("cannot create the state directory", e).on(&r)),
        }
    }
    Ok(())
}

/// An exclusive lock on one container's state (`<root>/<id>.lock`), so that concurrent verbs on
/// one id do not interleave; other ids are not held up.
fn lock(root: &[u8], id: &[u8]) -> Result<Fd> {
    ensure_root(root)?;
    let mut p = state::Path::new();
    p.bytes(root).push("/").bytes(id).push(".lock");
    let fd = fs::openat(fs::AT_FDCWD, p.as_cstr().context("path too long")?, O_RDWR | O_CREAT | O_CLOEXEC, 0o600).context_on("cannot open", &p)?;
    fs::flock(fd.raw(), LOCK_EX).context_on("cannot lock", &p)?;
    Ok(fd)
}

fn unlock_and_forget(root: &[u8], id: &[u8], _lock: Fd) {
    let mut p = state::Path::new();
    p.bytes(root).push("/").bytes(id).push(".lock");
    if let Ok(c) = p.as_cstr() {
        let _ = fs::unlinkat(fs::AT_FDCWD, c, 0);
    }
}

/// Reads the bundle's config.json into the arena (for the rest of the process).
fn read_config(bundle: &'static [u8], arena: &mut arena::Arena) -> Result<&'static [u8]> {
    let mut path = state::Path::new();
    path.bytes(bundle).push("/config.json");
    let fd = match fs::open(path.as_cstr().context("bundle path too long")?, O_RDONLY) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Err(Error::new("no config.json in the bundle:").on(bundle).hint("knocker spec writes a default one")),
        Err(e) => return Err(Error::sys("cannot open", e).on(&path)),
    };
    read_open(fd, &path, arena)
}

/// The whole of the file at `path`, in the arena.
fn read_whole(path: &mut state::Path, arena: &mut arena::Arena) -> Result<&'static [u8]> {
    let fd = fs::open(path.as_cstr().context("path too long")?, O_RDONLY).context_on("cannot open", &*path)?;
    read_open(fd, path, arena)
}

fn read_open(fd: Fd, path: &state::Path, arena: &mut arena::Arena) -> Result<&'static [u8]> {
    let size = fs::fstat(fd.raw()).context_on("cannot stat", path)?.size as usize;
    let buf = arena.bytes(size, 1).ok_or_else(|| Error::new("too large:").on(path))?;
    let n = fs::read_all(fd.raw(), buf).context_on("cannot read", path)?;
    Ok(&buf[..n])
}

/// The bundle as an absolute path (state.json records it; a relative root.path hangs off it).
fn absolute(bundle: &[u8], arena: &mut arena::Arena) -> Result<&'static [u8]> {
    if bundle.first() == Some(&b'/') {
        if bundle.len() > 4095 {
            return Err(Error::new("the bundle's path is longer than 4095 bytes").hint("give --bundle a shorter path"));
        }
        return arena.cstr(bundle).map(|c| c.to_bytes()).ok_or_else(|| Error::new("bundle path too long"));
    }
    let mut cwd = [0u8; 4096];
    let n = fs::getcwd(&mut cwd).context("getcwd")?;
    let mut t = Text::<4096>::new();
    let here = &cwd[..n.saturating_sub(1)];
    t.bytes(here);
    if bundle != b"." {
        t.push("/").bytes(bundle.strip_prefix(b"./").unwrap_or(bundle));
    }
    if t.overflowed() {
        return Err(Error::new("the bundle's path is longer than 4095 bytes").hint("give --bundle a shorter path"));
    }
    arena.cstr(t.as_bytes()).map(|c| c.to_bytes()).ok_or_else(|| Error::new("bundle path too long"))
}

/// `--preserve-fds N`: descriptors 3…3+N-1 must be the engine's, open before knocker opens
/// anything (else one of knocker's own would land there and be passed on). runc fails on a
/// descriptor that is not open too.
fn check_preserved(n: u32) -> Result<()> {
    for fd in 3..3 + n {
        if fs::fcntl(fd as i32, libc::F_GETFD, 0).is_err() {
            let mut t = Text::<16>::new();
            t.push(fd);
            return Err(Error::new("--preserve-fds: descriptor").on(&t).hint("it is not open: give only as many as the engine passes"));
        }
    }
    Ok(())
}

/// `create` and `run`.
fn create(rest: Rest, env: Env, g: &Global, run: bool) -> Result<i32> {
    let p = rest.parse()?;
    check_preserved(p.preserve_fds)?;
    let id = one_id(&p)?;
    let mut arena = arena::Arena::new().ok_or_else(|| Error::new("cannot map memory"))?;
    let bundle = absolute(p.bundle.unwrap_or(b"."), &mut arena)?;
    let doc = read_config(bundle, &mut arena)?;
    let mut cfg = config::read(doc, bundle, id, &mut arena)?;
    if let Some(socket) = env.get(b"NOTIFY_SOCKET") {
        notify::pass_through(&mut cfg.spec, socket, &mut arena)?;
    }
    if !process::host_root() && limited(&cfg.spec.limits) {
        // A rootless engine's knocker (root of a user namespace): limits in the cgroup v2
        // subtree delegated to its user, as the launcher's, else refused (before: dropped).
        cfg.spec.cgroup_path = Some(delegated_group(id, cfg.spec.cgroup_path, &mut arena)?);
        cfg.spec.cgroup_setup = Some(launcher::cgroup::Cgroup::delegated);
    }
    if let Some(group) = cfg.spec.cgroup_path.filter(|_| cfg.systemd_cgroup) {
        // Said once, at create: the group is made on cgroupfs at systemd's path for the unit.
        let why = if fs::stat(c"/run/systemd/system").is_ok() { " (knocker makes it itself, not through systemd)" } else { " (systemd does not run here)" };
        linker::say!(2; "knocker: warning: linux.cgroupsPath in systemd's form: the group is /sys/fs/cgroup/.../", group, why);
    }
    let foreground = run && !p.detach;
    // As runc: a terminal outside a foreground `run` goes to the engine over the console
    // socket; a socket without a terminal is a mistake.
    match (cfg.terminal, p.console_socket.is_some()) {
        (true, false) if !foreground => return Err(Error::new("config.json: process.terminal is true: give --console-socket")),
        (false, true) => return Err(Error::new("--console-socket given, but config.json's process.terminal is false")),
        _ => {}
    }
    // Connected before anything is made: a wrong path is one line and nothing to undo.
    let console = match p.console_socket {
        Some(path) => Some(linker::sys::socket::connect_unix(path).map_err(|e| Error::sys("cannot connect to the console socket", e).on(path))?),
        None => None,
    };
    ensure_root(g.root)?;
    let held = lock(g.root, id)?;
    let mut dir = state::dir(g.root, id);
    match fs::mkdir(dir.as_cstr().context("--root too long")?, 0o700) {
        Ok(()) => {}
        Err(Errno::EEXIST) => return Err(Error::new("a container with this id exists already:").on(id)),
        Err(e) => return Err(Error::sys("cannot create", e).on(&dir)),
    }
    // The directory is the container's now (mkdir is atomic); the lock is not held across
    // the clone, which would hand it to PID 1 until its exec.
    drop(held);
    // From here on a failure removes what was made.
    let cleanup = Cleanup { root: g.root, id, armed: true };
    let mask = supervise::block_signals()?;
    // Every later verb reads the container's config from here, never the bundle again.
    state::save_config(g.root, id, doc)?;
    let fifo = if foreground { None } else { Some(make_fifo(g.root, id)?) };
    cfg.spec.detached = fifo.as_ref().map(Fd::raw);
    cfg.spec.preserve_fds = p.preserve_fds;
    hooks::arm(&mut cfg.spec, hooks::Pending { hooks: cfg.hooks, id, bundle, annotations: cfg.annotations, id_maps: cfg.id_maps });
    let running = launcher::create(&mut cfg.spec, id, *rest.args, env, mask)?;
    let pid = running.pid;
    let saved = Saved {
        pid,
        start_time: state::start_time(pid).unwrap_or(0),
        bundle: { let mut t = Text::new(); t.bytes(bundle); t },
        created: time::rfc3339(time::realtime()),
        caps: cfg.spec.caps,
        seccomp: match cfg.spec.seccomp {
            Seccomp::Unconfined => state::Filter::Unconfined,
            Seccomp::Default => state::Filter::Default,
            Seccomp::Profile(_) => state::Filter::Profile,
        },
        cgroup: match cfg.spec.cgroup_path {
            Some(path) => { let mut g = launcher::cgroup::Group::new(); g.bytes(path); g }
            None => launcher::cgroup::launcher_group(id),
        },
        cgroup_mark: running.cgroup.mark().map(|m| m.text()).unwrap_or_default(),
    };
    if foreground {
        state::save(g.root, id, &saved)?;
        if let Some(f) = p.pid_file {
            write_pid_file(f, pid)?;
        }
        let rendered = state::document(id, "running", pid, bundle, cfg.annotations, &mut arena)?;
        hooks::run(cfg.hooks, "poststart", rendered, &mut arena)?;
        let code = running.run_to_end(&cfg.spec);
        let stopped = state::document(id, "stopped", 0, bundle, cfg.annotations, &mut arena)?;
        if let Err(e) = hooks::run(cfg.hooks, "poststop", stopped, &mut arena) {
            e.report();
        }
        let held = lock(g.root, id)?;
        drop(cleanup);
        unlock_and_forget(g.root, id, held);
        return code;
    }
    if let Some(sock) = &console {
        if let Some(master) = if relay::failed_first(&running.sync) { None } else { running.take_terminal()? } {
            if let Some((rows, cols)) = cfg.console_size {
                let size = linker::sys::tty::WinSize { rows, cols, ..Default::default() };
                let _ = linker::sys::tty::set_size(master.raw(), size);
            }
            // runc sends the master with SCM_RIGHTS; engines read the descriptor, not the bytes.
            linker::sys::socket::send(sock.raw(), b'm', Some(master.raw())).context("cannot send the terminal to the console socket")?;
        }
    }
    let ready = relay::wait_ready(&running.sync);
    running.detach(ready)?;
    drop(fifo);
    state::save(g.root, id, &saved)?;
    if let Some(f) = p.pid_file {
        write_pid_file(f, pid)?;
    }
    let mut c = cleanup;
    c.armed = false;
    if run {
        return start_id(g.root, id);
    }
    Ok(0)
}

/// Removes a half-made container's state when `create` fails (its cgroup goes with the
/// launcher's own clean-up).
struct Cleanup<'a> {
    root: &'a [u8],
    id: &'a [u8],
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if self.armed {
            state::remove(self.root, self.id);
        }
    }
}

/// The seccomp profile of the kept config, compiled again for a process `exec`'d into it.
fn saved_profile(config: json::Value<'static>, arena: &mut arena::Arena) -> Result<&'static launcher::seccomp::Profile<'static>> {
    let profile = config.get("linux").and_then(|l| l.get("seccomp")).ok_or_else(|| Error::new("a damaged state: the kept config has no linux.seccomp"))?;
    seccomp::profile(profile, arena)
}

/// `<root>/<id>/exec.fifo`, open read-write for PID 1 to wait on.
fn make_fifo(root: &[u8], id: &[u8]) -> Result<Fd> {
    let mut path = state::file(root, id, "exec.fifo");
    let c = path.as_cstr().context("path too long")?;
    fs::mknodat(fs::AT_FDCWD, c, fs::S_IFIFO | 0o600, 0).context_on("cannot create", &path)?;
    let c = path.as_cstr().context("path too long")?;
    fs::openat(fs::AT_FDCWD, c, O_RDWR | O_CLOEXEC, 0).context_on("cannot open", &path)
}

/// The pid file, as runc writes it: a new file beside it, renamed over the path, so a symlink
/// planted there is replaced, never followed into a file of the link's choosing.
fn write_pid_file(path: &core::ffi::CStr, pid: i32) -> Result<()> {
    let mut t = Text::<16>::new();
    t.push(pid);
    let name = path.to_bytes();
    let (dir, file) = match name.iter().rposition(|&c| c == b'/') {
        Some(at) => (&name[..at + 1], &name[at + 1..]),
        None => (&b""[..], name),
    };
    let mut tmp = state::Path::new();
    tmp.bytes(dir).push(".").bytes(file).push(".knocker-new");
    let tmp = tmp.as_cstr().context("--pid-file too long")?;
    // One left by a knocker that died (or planted): unlinked, whatever it is, never opened.
    let _ = fs::unlinkat(fs::AT_FDCWD, tmp, 0);
    let fd = fs::openat(fs::AT_FDCWD, tmp, O_WRONLY | O_CREAT | fs::O_EXCL | fs::O_NOFOLLOW | O_CLOEXEC, 0o644).context_on("cannot write the pid file", tmp)?;
    fs::write_all(fd.raw(), t.as_bytes()).context_on("cannot write the pid file", tmp)?;
    drop(fd);
    fs::rename(tmp, path).context_on("cannot write the pid file", path)
}

fn start(rest: Rest, g: &Global) -> Result<i32> {
    let p = rest.parse()?;
    let id = one_id(&p)?;
    start_id(g.root, id)
}

/// Writes the byte PID 1 waits for; the fifo goes away with it.
fn start_id(root: &'static [u8], id: &'static [u8]) -> Result<i32> {
    let held = lock(root, id)?;
    let saved = state::load(root, id)?;
    match state::status(root, id, &saved) {
        Status::Created => {}
        other => return Err(Error::new("cannot start a container that is").on(other.name()).hint("only a created container starts")),
    }
    let mut path = state::file(root, id, "exec.fifo");
    let fd = match fs::openat(fs::AT_FDCWD, path.as_cstr().context("path too long")?, O_WRONLY | fs::O_NONBLOCK | O_CLOEXEC, 0) {
        Ok(fd) => fd,
        // Nobody holds the other end: PID 1 is gone.
        Err(Errno::ENXIO) => return Err(Error::new("the container's process is gone:").on(id)),
        Err(e) => return Err(Error::sys("cannot open", e).on(&path)),
    };
    fs::write_all(fd.raw(), b"0").context_on("cannot write", &path)?;
    let _ = fs::unlinkat(fs::AT_FDCWD, path.as_cstr().context("path too long")?, 0);
    // Until the program runs (PID 1's end of the fifo closes at its exec, after the
    // startContainer hooks): poststart comes after it, and `start` returns after poststart.
    // With no events asked, poll wakes only when no reader is left.
    let _ = linker::sys::poll::poll(&mut [linker::sys::poll::PollFd::new(fd.raw(), 0)], None);
    drop(held);
    // runtime-spec: a failing poststart hook is a warning; the container runs on.
    if let Err(e) = saved_hooks(root, id, &saved, "poststart", Status::Running) {
        e.report();
    }
    Ok(0)
}

fn state_verb(rest: Rest, g: &Global) -> Result<i32> {
    let p = rest.parse()?;
    let id = one_id(&p)?;
    let saved = state::load(g.root, id)?;
    let status = state::status(g.root, id, &saved);
    let mut arena = arena::Arena::new().ok_or_else(|| Error::new("cannot map memory"))?;
    let out = state::render(g.root, id, status, &saved, &mut arena)?;
    let _ = fs::write_all(1, out);
    let _ = fs::write_all(1, b"\n");
    Ok(0)
}

fn kill(rest: Rest, g: &Global) -> Result<i32> {
    let p = rest.parse()?;
    let (id, sig) = match p.operands.as_slice() {
        [id] => (*id, signal::SIGTERM),
        [id, sig] => (*id, parse_signal(sig).ok_or_else(|| usage("unknown signal", sig))?),
        [] => return Err(usage("missing container ID", b"")),
        [_, _, extra, ..] => return Err(usage("unexpected argument:", extra)),
    };
    if !state::valid_id(id) {
        return Err(Error::new("bad container id:").on(id));
    }
    let saved = state::load(g.root, id)?;
    // As runc: `--all` signals whatever is left in the container's group, also once its
    // PID 1 has exited (containerd sends `kill --all ID 9` after every exit: processes of a
    // host or shared PID namespace outlive PID 1); PID 1 alone is refused then. The words
    // are runc's, which engines match ("container not running", "does not exist").
    if !p.all && state::status(g.root, id, &saved) == Status::Stopped {
        return Err(Error::new("container not running:").on(id));
    }
    if p.all {
        let mut pids = [0i32; 1024];
        let n = saved.group().map_or(0, |g| launcher::cgroup::Cgroup::pids_of(g, &mut pids));
        for &pid in &pids[..n] {
            let _ = process::kill(pid, sig);
        }
    } else {
        process::kill(saved.pid, sig).context("cannot signal the container")?;
    }
    Ok(0)
}

/// `exec [--process FILE] [--detach] [--pid-file F] [--console-socket S] [--tty] [--cwd D]
/// [--env K=V]... [--user UID[:GID]] [--additional-gids G]... [--cap CAP]... [--no-new-privs]
/// [--apparmor P] [--process-label L] [--preserve-fds N] ID [COMMAND ARG...]`: a new process
/// in the running container (launcher::join). As runc: with `--process` the file says it
/// all; without, the container's own `process` (kept at create) is the start — its user,
/// capabilities, no_new_privs, rlimits and labels — and the options change it.
fn exec(rest: Rest, env: Env, g: &Global) -> Result<i32> {
    launcher::security::joiner_undumpable()?;
    let args = rest.args;
    let mut arena = arena::Arena::new().ok_or_else(|| Error::new("cannot map memory"))?;
    let mut o = ExecOptions::default();
    let mut i = rest.at;
    let id = loop {
        let a = args.bytes(i).ok_or_else(|| usage("missing container ID", b""))?;
        i += 1;
        if !a.starts_with(b"-") {
            break a;
        }
        let (name, inline) = split_option(a);
        let mut value = || option_value(args, &mut i, name, inline);
        match name {
            b"--" => break args.bytes(i).map(|id| { i += 1; id }).ok_or_else(|| usage("missing container ID", b""))?,
            b"-p" | b"--process" => o.process = Some(value()?),
            b"-d" | b"--detach" => o.detach = true,
            b"--pid-file" => o.pid_file = Some(value()?),
            b"--console-socket" => o.socket = Some(value()?),
            b"-t" | b"--tty" => o.tty = true,
            b"--cwd" => o.cwd = Some(arena.cstr(value()?).ok_or_else(|| Error::new("--cwd too long"))?),
            b"-e" | b"--env" => {
                let v = arena.cstr(value()?).ok_or_else(|| Error::new("--env too long"))?;
                if !launcher::spec::valid_env(v.to_bytes()) {
                    return Err(usage("bad --env (KEY=VALUE):", v.to_bytes()));
                }
                o.env.push(v).map_err(|_| usage("too many --env", b""))?;
            }
            b"-u" | b"--user" => {
                let v = value()?;
                o.user = Some(launcher::spec::parse_user(v).ok_or_else(|| usage("bad --user (UID[:GID]):", v))?);
                o.user_has_group = v.contains(&b':');
            }
            b"-g" | b"--additional-gids" => {
                let v = value()?;
                let gid = linker::text::decimal_value(v).filter(|&n| n < u32::MAX as u64).ok_or_else(|| usage("bad --additional-gids (a number):", v))?;
                o.groups.push(gid as u32).map_err(|_| usage("too many --additional-gids", b""))?;
            }
            b"-c" | b"--cap" => {
                let v = value()?;
                o.caps |= exec_cap(v).ok_or_else(|| usage("unknown capability (CAP_NAME, as capabilities(7) names it):", v))?;
            }
            b"--no-new-privs" => o.no_new_privs = true,
            b"--apparmor" => o.apparmor = Some(value()?),
            b"--process-label" => o.label = Some(value()?),
            b"--preserve-fds" => {
                let v = value()?;
                o.preserve_fds = linker::text::decimal_value(v).filter(|&n| n < 1 << 20).ok_or_else(|| usage("bad --preserve-fds (a number):", v))? as u32;
            }
            _ => return Err(usage("unknown option", a)),
        }
    };
    check_preserved(o.preserve_fds)?;
    if !state::valid_id(id) {
        return Err(Error::new("bad container id:").on(id));
    }
    let saved = state::load(g.root, id)?;
    if state::status(g.root, id, &saved) != Status::Running {
        return Err(Error::new("container not running:").on(id));
    }
    let kept = state::config(g.root, id, &mut arena)?;
    let mut spec = launcher::spec::Spec::new(c"/");
    spec.init = launcher::spec::Init::None;
    spec.extras = Some(&extras::EXTRAS);
    spec.locked = false;
    spec.caps = 0;
    if let Some(name) = kept.get("hostname").and_then(|h| config::bytes(&mut arena, h, "hostname").ok()).filter(|h| launcher::spec::valid_hostname(h)) {
        spec.hostname = name;
    }
    spec.seccomp = match saved.seccomp {
        state::Filter::Unconfined => Seccomp::Unconfined,
        state::Filter::Default => Seccomp::Default,
        state::Filter::Profile => Seccomp::Profile(saved_profile(kept, &mut arena)?),
    };
    let console_size = match o.process {
        Some(path) => {
            if args.len() > i {
                return Err(usage("--process and a COMMAND both given: one or the other", args.bytes(i).unwrap_or(b"")));
            }
            let mut p = state::Path::new();
            p.bytes(path);
            let doc = read_whole(&mut p, &mut arena)?;
            let top = json::parse(doc).map_err(|e| Error::new("--process is not valid JSON:").hint(e.what))?;
            let (terminal, size) = config::process_into(&mut spec, top, &mut arena)?;
            // As runc: the file says whether there is a terminal; -t still asks for one.
            o.tty |= terminal;
            size
        }
        None => {
            if args.len() <= i {
                return Err(usage("missing COMMAND to run in", id));
            }
            let process = kept.get("process").ok_or_else(|| Error::new("a damaged state: the kept config has no process"))?;
            let (_, size) = config::process_into(&mut spec, process, &mut arena)?;
            o.apply(&mut spec, &mut arena)?;
            spec.argv = Some(args.slice(i));
            size
        }
    };
    spec.tty = if o.tty { launcher::spec::Tty::Always } else { launcher::spec::Tty::Never };
    spec.preserve_fds = o.preserve_fds;
    if o.tty && o.socket.is_none() {
        return Err(Error::new("a terminal for exec needs --console-socket"));
    }
    let console = match o.socket {
        Some(path) => Some(linker::sys::socket::connect_unix(path).map_err(|e| Error::sys("cannot connect to the console socket", e).on(path))?),
        None => None,
    };
    let mask = supervise::block_signals()?;
    if spec.shared_ns & libc::CLONE_NEWNS as u64 != 0 {
        // Its root is a detached tree only its own processes hold (rootfs::enter_host_mounts).
        return Err(Error::new("exec into a container that shares the host's mount namespace is not supported"));
    }
    let joined = launcher::join::exec(&spec, saved.pid, saved.start_time, saved.cgroup.as_bytes(), *args, env, mask, o.detach)?;
    if let (Some(sock), true) = (&console, o.tty) {
        if let Some(master) = joined.sync.receive_terminal().context("cannot receive the terminal")? {
            if let Some((rows, cols)) = console_size {
                let _ = linker::sys::tty::set_size(master.raw(), linker::sys::tty::WinSize { rows, cols, ..Default::default() });
            }
            linker::sys::socket::send(sock.raw(), b'm', Some(master.raw())).context("cannot send the terminal to the console socket")?;
        }
    }
    if let Some(f) = o.pid_file {
        let path = arena.cstr(f).ok_or_else(|| Error::new("--pid-file too long"))?;
        write_pid_file(path, joined.pid)?;
    }
    // Detached, the helper returns once the program runs (0) or failed to start (its status).
    Ok(joined.wait())
}

/// `exec`'s options, as given.
#[derive(Default)]
struct ExecOptions {
    process: Option<&'static [u8]>,
    detach: bool,
    pid_file: Option<&'static [u8]>,
    socket: Option<&'static [u8]>,
    tty: bool,
    cwd: Option<&'static core::ffi::CStr>,
    env: linker::List<&'static core::ffi::CStr, { launcher::spec::MAX_CLI_ENV }>,
    user: Option<(u32, u32)>,
    user_has_group: bool,
    groups: linker::List<u32, 32>,
    caps: u64,
    no_new_privs: bool,
    apparmor: Option<&'static [u8]>,
    label: Option<&'static [u8]>,
    preserve_fds: u32,
}

impl ExecOptions {
    /// The options over the container's own process, as runc applies them.
    fn apply(&self, spec: &mut launcher::spec::Spec, arena: &mut arena::Arena) -> Result<()> {
        if !self.env.is_empty() {
            fn key(c: &core::ffi::CStr) -> &[u8] {
                c.to_bytes().split(|&b| b == b'=').next().unwrap_or(b"")
            }
            let env = arena.slice::<&'static core::ffi::CStr>(spec.env.len() + self.env.len()).ok_or_else(|| Error::new("cannot map memory"))?;
            env[..spec.env.len()].copy_from_slice(spec.env);
            let mut n = spec.env.len();
            for &e in self.env.as_slice() {
                // The later of two entries for one name wins (runc keeps the last).
                match env[..n].iter_mut().find(|old| key(old) == key(e)) {
                    Some(old) => *old = e,
                    None => {
                        env[n] = e;
                        n += 1;
                    }
                }
            }
            spec.env = &env[..n];
        }
        if let Some(cwd) = self.cwd {
            if cwd.to_bytes().first() != Some(&b'/') {
                return Err(usage("bad --cwd (an absolute path):", cwd.to_bytes()));
            }
            spec.workdir = cwd;
        }
        if let Some((uid, gid)) = self.user {
            spec.uid = uid;
            if self.user_has_group {
                spec.gid = gid;
            }
        }
        if !self.groups.is_empty() {
            // Added to the process's own, as runc does.
            let mut all = arena.list(spec.groups.len() + self.groups.len()).ok_or_else(|| Error::new("cannot map memory"))?;
            for &g in spec.groups.iter().chain(self.groups.as_slice()) {
                all.push(g);
            }
            spec.groups = all.done();
        }
        // Into the bounding set and (where the process has its own sets) the effective and
        // permitted ones; ambient ones need inheritable ones, which runc does not add.
        spec.caps |= self.caps;
        if let Some(sets) = spec.cap_sets.as_mut() {
            sets.effective |= self.caps;
            sets.permitted |= self.caps;
            if sets.inheritable != 0 {
                sets.ambient |= self.caps;
            }
        }
        if self.no_new_privs {
            spec.allow_new_privs = false;
        }
        if let Some(profile) = self.apparmor {
            config::exec_label(spec, "process.apparmorProfile", profile, arena)?;
        }
        if let Some(label) = self.label {
            config::exec_label(spec, "process.selinuxLabel", label, arena)?;
        }
        Ok(())
    }
}

/// A capability name as runc takes it on exec's command line: `CAP_` and the kernel's name.
fn exec_cap(name: &[u8]) -> Option<u64> {
    let bare = name.strip_prefix(b"CAP_")?;
    if bare == b"ALL" || bare.iter().any(u8::is_ascii_lowercase) {
        return None;
    }
    launcher::spec::parse_cap(bare)
}

/// `update [--resources FILE|-] [--memory N] [--pids-limit N] [--cpu-quota N] [--cpu-period N] ID`:
/// new limits for a running container's cgroup (the resources JSON is a config's
/// `linux.resources`, as containerd's CRI sends it).
fn update(rest: Rest, g: &Global) -> Result<i32> {
    let args = rest.args;
    let mut arena = arena::Arena::new().ok_or_else(|| Error::new("cannot map memory"))?;
    let mut spec = launcher::spec::Spec::new(c"/");
    let (mut quota, mut period) = (None, None);
    let mut i = rest.at;
    let mut id = None;
    let number = |v: &'static [u8], what: &'static str| linker::text::decimal_value(v).ok_or_else(|| usage(what, v));
    while let Some(a) = args.bytes(i) {
        i += 1;
        if !a.starts_with(b"-") {
            id = Some(a);
            continue;
        }
        let (name, inline) = split_option(a);
        let value = option_value(args, &mut i, name, inline)?;
        match name {
            b"-r" | b"--resources" => {
                let doc: &'static [u8] = if value == b"-" {
                    let buf = arena.bytes(1 << 20, 1).ok_or_else(|| Error::new("cannot map memory"))?;
                    let n = fs::read_all(0, buf).context("cannot read the resources from stdin")?;
                    if n == buf.len() {
                        return Err(Error::new("--resources: 1 MiB or more on stdin: not read"));
                    }
                    &buf[..n]
                } else {
                    let mut p = state::Path::new();
                    p.bytes(value);
                    let fd = fs::open(p.as_cstr().context("path too long")?, O_RDONLY).context_on("cannot open", &p)?;
                    let buf = arena.bytes(1 << 20, 1).ok_or_else(|| Error::new("cannot map memory"))?;
                    let n = fs::read_all(fd.raw(), buf).context_on("cannot read", &p)?;
                    if n == buf.len() {
                        return Err(Error::new("--resources: 1 MiB or more: not read:").on(&p));
                    }
                    &buf[..n]
                };
                let top = json::parse(doc).map_err(|e| Error::new("--resources is not valid JSON:").hint(e.what))?;
                config::resources(&mut spec, top, &mut arena)?;
            }
            b"--memory" => spec.limits.memory = Some(number(value, "bad --memory (bytes):")?),
            b"--pids-limit" => spec.limits.pids = Some(number(value, "bad --pids-limit:")?),
            b"--cpu-quota" => quota = Some(number(value, "bad --cpu-quota (µs):")?),
            b"--cpu-period" => period = Some(number(value, "bad --cpu-period (µs):")?),
            _ => return Err(usage("unknown option", a)),
        }
    }
    if let Some(q) = quota {
        let p = period.unwrap_or(launcher::spec::CPU_PERIOD_US).max(1);
        spec.limits.cpu_quota_us = Some(q.saturating_mul(launcher::spec::CPU_PERIOD_US) / p);
    }
    let id = id.filter(|id| state::valid_id(id)).ok_or_else(|| usage("missing container ID", b""))?;
    let held = lock(g.root, id)?;
    let saved = state::load(g.root, id)?;
    if state::status(g.root, id, &saved) == Status::Stopped {
        return Err(Error::new("container not running:").on(id));
    }
    launcher::cgroup::Cgroup::update(saved.group().ok_or_else(|| Error::new("the container's cgroup is gone:").on(id))?, &spec.limits)?;
    drop(held);
    Ok(0)
}

/// Runs the hooks of `kind` from the config kept at create (never the bundle's, which the
/// container may have written to), with the state as `status`.
fn saved_hooks(root: &[u8], id: &[u8], saved: &Saved, kind: &'static str, status: Status) -> Result<()> {
    let mut arena = arena::Arena::new().ok_or_else(|| Error::new("cannot map memory"))?;
    let top = state::config(root, id, &mut arena)?;
    let rendered = state::render(root, id, status, saved, &mut arena)?;
    hooks::run(top.get("hooks"), kind, rendered, &mut arena)
}

/// `pause ID` / `resume ID`: the container's cgroup freezer.
fn pause(rest: Rest, g: &Global, freeze: bool) -> Result<i32> {
    let p = rest.parse()?;
    let id = one_id(&p)?;
    let held = lock(g.root, id)?;
    let saved = state::load(g.root, id)?;
    let (want, verb) = if freeze { (Status::Running, "pause") } else { (Status::Paused, "resume") };
    let now = state::status(g.root, id, &saved);
    if now != want {
        let _ = verb;
        return Err(Error::new("the container is not in the right state for this:").on(now.name()).hint(if freeze { "only a running container pauses" } else { "only a paused container resumes" }));
    }
    launcher::cgroup::Cgroup::freeze(saved.group().ok_or_else(|| Error::new("the container's cgroup is gone:").on(id))?, freeze)?;
    drop(held);
    Ok(0)
}

/// `ps [--format table|json] ID`: the container's processes as the host sees them.
fn ps(rest: Rest, g: &Global) -> Result<i32> {
    let p = rest.parse()?;
    let id = match p.operands.as_slice() {
        [id, ..] if state::valid_id(id) => *id,
        _ => return Err(usage("missing container ID", b"")),
    };
    let saved = state::load(g.root, id)?;
    let mut pids = [0i32; 1024];
    let n = saved.group().map_or(0, |g| launcher::cgroup::Cgroup::pids_of(g, &mut pids));
    let mut out = Text::<16384>::new();
    if p.json {
        out.push("[");
        for (i, pid) in pids[..n].iter().enumerate() {
            out.push(if i == 0 { "" } else { "," }).push(*pid);
        }
        out.push("]\n");
    } else {
        out.push("PID\tCMD\n");
        for pid in &pids[..n] {
            let mut path = Text::<32>::new();
            path.push("/proc/").push(*pid).push("/cmdline");
            let mut cmd = [0u8; 256];
            let len = path.as_cstr().ok().and_then(|c| fs::read_file(c, &mut cmd).ok()).unwrap_or(0);
            for c in &mut cmd[..len] {
                if *c == 0 {
                    *c = b' ';
                }
            }
            out.push(*pid).push("\t").bytes(cmd[..len].trim_ascii()).push("\n");
        }
    }
    let _ = fs::write_all(1, out.as_bytes());
    Ok(0)
}

/// SIGTERM, TERM, term, 15.
fn parse_signal(s: &[u8]) -> Option<i32> {
    if let Some(n) = linker::text::decimal_value(s) {
        return (1..=64).contains(&n).then_some(n as i32);
    }
    let mut upper = [0u8; 16];
    let s = &s[..s.len().min(16)];
    for (u, c) in upper.iter_mut().zip(s) {
        *u = c.to_ascii_uppercase();
    }
    let name = &upper[..s.len()];
    signal::parse(name).or_else(|| {
        let mut with = Text::<20>::new();
        with.push("SIG").bytes(name);
        signal::parse(with.as_bytes())
    })
}

fn delete(rest: Rest, g: &Global) -> Result<i32> {
    let p = rest.parse()?;
    let id = one_id(&p)?;
    let held = lock(g.root, id)?;
    let saved = match state::load(g.root, id) {
        Ok(s) => s,
        // runc: deleting a container that does not exist succeeds with --force; one whose
        // state cannot be read is ended by its cgroup and removed whole.
        Err(_) if p.force => {
            remove_damaged(g.root, id);
            unlock_and_forget(g.root, id, held);
            return Ok(0);
        }
        Err(e) => {
            unlock_and_forget(g.root, id, held);
            return Err(e);
        }
    };
    match state::status(g.root, id, &saved) {
        Status::Running if !p.force => {
            return Err(Error::new("cannot delete a running container:").on(id).hint("stop it, or use delete --force"));
        }
        Status::Stopped => {}
        // A created container, or --force: kill it and wait for PID 1 to go.
        status => {
            let _ = process::kill(saved.pid, SIGKILL);
            if status == Status::Paused {
                if let Some(g) = saved.group() {
                    let _ = launcher::cgroup::Cgroup::freeze(g, false);
                }
            }
            for _ in 0..500 {
                if !state::alive(saved.pid) {
                    break;
                }
                let _ = time::sleep_ms(10);
            }
        }
    }
    // Only the group made at create: one of the same path made since is someone else's.
    if let Some(g) = saved.group() {
        launcher::cgroup::Cgroup::remove_group(g);
    }
    if let Err(e) = saved_hooks(g.root, id, &saved, "poststop", Status::Stopped) {
        e.report();
    }
    state::remove(g.root, id);
    unlock_and_forget(g.root, id, held);
    Ok(0)
}

/// `list`: one container at a time straight to stdout, so any number of them fits.
/// `delete --force` of a container whose state.json is missing or damaged: whatever runs in
/// its cgroup (the kept config's `linux.cgroupsPath`, or knocker's default group for the id)
/// is killed, the group removed, and the state directory with it.
fn remove_damaged(root: &'static [u8], id: &'static [u8]) {
    let mut dir = state::dir(root, id);
    if !dir.as_cstr().is_ok_and(|d| fs::stat(d).is_ok()) {
        return;
    }
    let Some(mut arena) = arena::Arena::new() else { return };
    let group = match state::config(root, id, &mut arena).ok().and_then(|top| top.get("linux")?.get("cgroupsPath")) {
        Some(path) => config::bytes(&mut arena, path, "linux.cgroupsPath").and_then(|p| config::cgroup_path(p, &mut arena)).ok().map(|g| {
            let mut t = launcher::cgroup::Group::new();
            t.bytes(g);
            t
        }),
        None => Some(launcher::cgroup::launcher_group(id)),
    };
    if let Some(group) = group {
        launcher::cgroup::Cgroup::remove_group(group.as_bytes());
    }
    state::remove(root, id);
}

fn list(rest: Rest, g: &Global) -> Result<i32> {
    let p = rest.parse()?;
    let mut arena = arena::Arena::new().ok_or_else(|| Error::new("cannot map memory"))?;
    let out = |bytes: &[u8]| {
        let _ = fs::write_all(1, bytes);
    };
    if p.json {
        out(b"[");
    } else if !p.quiet {
        out(b"ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
    }
    let mut first = true;
    state::ids(g.root, |id| {
        let Ok(saved) = state::load(g.root, id) else { return };
        let status = state::status(g.root, id, &saved);
        let mut line = Text::<8192>::new();
        if p.quiet {
            line.bytes(id).push("\n");
        } else if p.json {
            // runc's list adds `created` and `owner` to the state's fields.
            let Ok(one) = state::render(g.root, id, status, &saved, &mut arena) else { return };
            out(if first { b"" } else { b"," });
            out(&one[..one.len() - 1]);
            line.push(",\"created\":");
            state::json_string(&mut line, saved.created.as_bytes());
            line.push(",\"owner\":\"root\"}");
        } else {
            line.bytes(id).push("\t").push(if status == Status::Stopped { 0 } else { saved.pid }).push("\t").push(status.name()).push("\t");
            line.bytes(saved.bundle.as_bytes()).push("\t").bytes(saved.created.as_bytes()).push("\troot\n");
        }
        out(line.as_bytes());
        first = false;
    });
    if p.json {
        out(b"]\n");
    }
    Ok(0)
}

/// `spec`: a default config.json in the bundle (or the working directory), as `runc spec`.
fn spec(rest: Rest) -> Result<i32> {
    let p = rest.parse()?;
    let mut path = state::Path::new();
    if let Some(b) = p.bundle {
        path.bytes(b).push("/");
    }
    path.push("config.json");
    let c = path.as_cstr().context("path too long")?;
    let fd = match fs::openat(fs::AT_FDCWD, c, O_WRONLY | O_CREAT | fs::O_EXCL, 0o644) {
        Ok(fd) => fd,
        Err(Errno::EEXIST) => return Err(Error::new("config.json exists already:").on(&path)),
        Err(e) => return Err(Error::sys("cannot create", e).on(&path)),
    };
    fs::write_all(fd.raw(), DEFAULT_SPEC.as_bytes()).context_on("cannot write", &path)?;
    Ok(0)
}

/// What `knocker spec` writes: runc's default, with knocker's defaults where they differ.
pub const DEFAULT_SPEC: &str = include_str!("default-config.json");

/// The runtime-spec features document (features.md), with what the reader and this host
/// decide filled in by [`features`].
pub const FEATURES: &str = include_str!("features.json");

/// Whether a config sets any limit the container's cgroup would hold.
fn limited(l: &launcher::spec::Limits) -> bool {
    l.memory_any() || l.pids.is_some() || l.cpu() || l.cpuset() || l.swap.is_some() || l.more.is_some()
}

/// Without host root: the group `knocker-ID` in the cgroup v2 directory above knocker's own,
/// where launcher::cgroup::Cgroup::delegated makes it (its path from the hierarchy's root,
/// kept with the state for `delete`), when knocker's user owns that directory.
fn delegated_group(id: &[u8], asked: Option<&'static [u8]>, arena: &mut arena::Arena) -> Result<&'static [u8]> {
    let refuse = |why| Error::new("config.json: linux.resources: limits without host root need a cgroup v2 subtree delegated to knocker's user:").on(why).hint("run the engine as root, or in a delegated cgroup: systemd-run --user --scope -p Delegate=yes");
    if fs::statfs_type(c"/sys/fs/cgroup") != Ok(fs::CGROUP2_SUPER_MAGIC) {
        return Err(refuse("this host has cgroup v1"));
    }
    let mut dir = launcher::cgroup::Path::new();
    if !launcher::cgroup::delegated_parent(&mut dir) {
        return Err(refuse("the cgroup above knocker's own is not its user's"));
    }
    let parent = dir.as_bytes().strip_prefix(b"/sys/fs/cgroup/").unwrap_or(b"");
    let mut group = Text::<512>::new();
    group.bytes(parent).push("/knocker-").bytes(id);
    if let Some(path) = asked {
        linker::say!(2; "knocker: warning: linux.cgroupsPath ", path, ": without host root the group is the delegated ", group.as_bytes());
    }
    arena.cstr(group.as_bytes()).filter(|_| !group.overflowed()).map(|c| c.to_bytes()).ok_or_else(|| Error::new("cgroup path too long"))
}

/// `features`: [`FEATURES`] with its lists filled from the readers' own tables, so the two
/// cannot disagree — the mount options the config reader takes (every word it does not
/// refuse), the namespace types, the capabilities, the seccomp actions, comparisons and flags
/// — and the LSMs this host has.
fn features() {
    let out = |s: &[u8]| {
        let _ = fs::write_all(1, s);
    };
    // (Bytes, searched by hand: str's search and slicing would bring a string searcher and
    // the formatting of their panics into the program, 8 KB of it.)
    fn split<'a>(s: &'a [u8], at: &[u8]) -> (&'a [u8], &'a [u8]) {
        match s.windows(at.len()).position(|w| w == at) {
            Some(i) => s.split_at(i + at.len()),
            None => (s, b""),
        }
    }
    let list = |prefix: &str, names: &mut dyn Iterator<Item = &str>| {
        for (i, name) in names.enumerate() {
            out(if i == 0 { b"\"" } else { b",\"" });
            out(prefix.as_bytes());
            out(name.as_bytes());
            out(b"\"");
        }
    };
    let taken = |what: &config::Opt| !matches!(what, config::Opt::Refused(_));
    let mut lists: [(&str, &mut dyn Iterator<Item = &str>); 7] = [
        ("", &mut config::OPTIONS.iter().filter(|(_, w)| taken(w)).map(|(n, _)| *n)),
        ("", &mut config::NAMESPACES.iter().map(|(n, _)| *n)),
        ("CAP_", &mut launcher::spec::CAP_NAMES.iter().copied()),
        ("SCMP_ACT_", &mut seccomp::ACTIONS.iter().map(|(n, _)| *n)),
        ("SCMP_CMP_", &mut seccomp::COMPARISONS.iter().map(|(n, _)| *n)),
        ("SECCOMP_FILTER_FLAG_", &mut seccomp::FLAGS.iter().map(|(n, _)| *n)),
        ("SECCOMP_FILTER_FLAG_", &mut seccomp::FLAGS.iter().map(|(n, _)| *n)),
    ];
    // Each `[]` of the document, in order: mountOptions, namespaces, capabilities, actions,
    // operators, knownFlags, supportedFlags.
    let mut rest = FEATURES.as_bytes();
    for (prefix, names) in lists.iter_mut() {
        let (head, tail) = split(rest, b"[]");
        out(&head[..head.len().saturating_sub(1)]);
        list(prefix, *names);
        out(b"]");
        rest = tail;
    }
    let (middle, tail) = split(rest, br#""apparmor":{"enabled":"#);
    out(middle);
    out(if config::apparmor() { b"true" } else { b"false" });
    let (middle, tail) = split(tail.strip_prefix(b"false").unwrap_or(tail), br#""selinux":{"enabled":"#);
    out(middle);
    out(if config::selinux() { b"true" } else { b"false" });
    out(tail.strip_prefix(b"false").unwrap_or(tail));
}
