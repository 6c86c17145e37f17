//! `--net pasta`: the container's own network namespace gets a way out through `pasta`
//! (Debian's `passt` package) — user-mode networking as podman uses it: a tap interface
//! inside with the host's addresses and routes, TCP/UDP carried by pasta's sockets on the
//! host, no bridge and no change to the host's firewall. `--publish` forwards host ports in.
//! The host itself is the container's gateway: pasta maps connections to the gateway address
//! to the host's loopback, so services the host binds to 127.0.0.1 only are reachable from
//! the container too (as with rootless podman).
//!
//! pasta parses the container's packets, so it never runs as host root. With root, the
//! launcher makes the container's network namespace inside a user namespace that `nobody`
//! owns (a short-lived holder process creates both, as nobody, and brings `lo` up); the two
//! are bound to files in `/run/knocker-pasta/NAME/`, the container is cloned into that
//! network namespace, and pasta runs as `nobody`, joining them — it holds no capability
//! outside them. It gets a tun node of its own (mode 0666, in a mount namespace only it
//! sees), since the host's may be root's only. pasta starts while the container is being
//! made and the launcher waits for it before PID 1 is released; when the container ends
//! the launcher stops it (SIGTERM) and removes the files; a pasta whose launcher died quits
//! by itself once the next launcher removes them.
//!
//! Without root, pasta runs as the user and joins the container's own user and network
//! namespaces by PID 1's pid, as rootless podman runs it.

use crate::error::{Context, Error, Result};
use crate::netfiles::PASTA_DNS;
use linker::sys::fs::{self, O_CLOEXEC, O_CREAT, O_WRONLY};
use linker::sys::mount::{self, MNT_DETACH, MS_BIND, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_REC};
use linker::sys::ns::{self, CLONE_NEWNET, CLONE_NEWNS};
use linker::sys::{process, signal};
use linker::Text;

/// The unprivileged user pasta and its namespaces belong to.
const NOBODY: u32 = 65534;
const DIR: &core::ffi::CStr = c"/run/knocker-pasta";

struct Started {
    active: bool,
    /// `/run/knocker-pasta/NAME` (root's launches), with `netns`, `userns` and `pid` in it.
    dir: Text<160>,
    pid_file: Text<160>,
    /// The pasta run the launcher waits for (it puts itself in the background when ready).
    starter: i32,
    pid: i32,
}

/// All zeros, so it takes no room in the file (an `Option` here would).
static mut STARTED: Started = Started { active: false, dir: Text::new(), pid_file: Text::new(), starter: 0, pid: 0 };
/// `DIR/NAME/netns`, which the Spec names as the namespace to clone the container into:
/// written once, by `prepare`, and only read after that.
static mut NETNS: Text<160> = Text::new();
type Publish = linker::List<(u16, u16, bool), 16>;
static mut PLAN: Option<(Text<96>, Publish)> = None;

/// Whether `pasta` can be run (from PATH); one line saying how to get it when not.
pub fn check(env: linker::Env) -> Result<()> {
    let path = env.entry(b"PATH").and_then(|p| p.to_bytes().strip_prefix(b"PATH=")).unwrap_or(linker::exec::DEFAULT_PATH);
    linker::exec::locate(b"pasta", path)
        .map_err(|_| Error::new("--net pasta needs pasta, which is not installed").hint("apt-get install passt"))?;
    // Without root, pasta opens the tap device as the user: udev makes it 0666 on most
    // systems, but where it is root's only pasta would fail with a vaguer line.
    if process::geteuid() != 0 && fs::faccessat(fs::AT_FDCWD, c"/dev/net/tun", libc::R_OK | libc::W_OK).is_err() {
        return Err(Error::new("--net pasta without root needs read and write access to /dev/net/tun").hint("as root: chmod 666 /dev/net/tun, udev's usual mode"));
    }
    Ok(())
}

/// Remembers what [`start`] needs (it runs as a callback with PID 1's pid only). With root,
/// also makes the container's network namespace (owned by `nobody`'s user namespace), sets
/// it as the one the container is cloned into, and starts pasta on it.
pub fn prepare(spec: &mut crate::spec::Spec, name: &[u8], publish: Publish) -> Result<()> {
    let mut n = Text::new();
    n.bytes(name);
    // SAFETY: single-threaded; set before the container is created, read by `start` after.
    unsafe { *core::ptr::addr_of_mut!(PLAN) = Some((n, publish)) };
    if process::geteuid() != 0 {
        return Ok(());
    }
    // SAFETY: single-threaded; `stop` reads it after the container ended.
    let started = unsafe { &mut *core::ptr::addr_of_mut!(STARTED) };
    started.dir = dir_of(name);
    started.pid_file = file_in(name, "pid");
    started.active = true;
    make_namespaces(name, spec.user_namespace)?;
    // SAFETY: written here once, before anything borrows it; only read from now on.
    let netns = unsafe { &mut *core::ptr::addr_of_mut!(NETNS) };
    *netns = file_in(name, "netns");
    spec.net_join = Some(netns.as_cstr().context("path")?);
    started.starter = run_pasta(None)?;
    Ok(())
}

fn dir_of(name: &[u8]) -> Text<160> {
    let mut d = Text::new();
    d.push(DIR).push("/").bytes(name);
    d
}

fn file_in(name: &[u8], file: &str) -> Text<160> {
    let mut d = dir_of(name);
    d.push("/").push(file);
    d
}

/// The holder: a process that becomes `nobody`, makes a user namespace and a network
/// namespace in it (so nobody owns them, not the host's root), and waits while the launcher
/// maps nobody to root inside and binds both to files; then, as that root, it brings `lo` up
/// and exits. A container with a user namespace of its own is not root of this network
/// namespace, so ports below 1024 are opened to it there (`ip_unprivileged_port_start`), as
/// its own namespace would have let it.
fn make_namespaces(name: &[u8], low_ports: bool) -> Result<()> {
    for (dir, mode) in [(DIR, 0o711), (dir_of(name).as_cstr().context("path")?, 0o755)] {
        match fs::mkdir(dir, mode) {
            Ok(()) | Err(linker::Errno::EEXIST) => {}
            Err(e) => return Err(Error::sys("cannot create", e).on(dir)),
        }
    }
    let (ready_r, ready_w) = fs::pipe2(O_CLOEXEC).context("pipe")?;
    let (go_r, go_w) = fs::pipe2(O_CLOEXEC).context("pipe")?;
    let holder = process::fork().context("fork")?;
    if holder == 0 {
        drop((ready_r, go_w));
        let made = process::setgroups(&[])
            .and_then(|_| process::setresgid(NOBODY))
            .and_then(|_| process::setresuid(NOBODY))
            .and_then(|_| ns::unshare(libc::CLONE_NEWUSER | CLONE_NEWNET))
            .map_err(|e| Error::sys("--net pasta: cannot make the network namespace as nobody (unshare)", e).hint("unprivileged user namespaces must be allowed (sysctl user.max_user_namespaces)"));
        let configured = made.and_then(|_| {
            let _ = fs::write_all(ready_w.raw(), b"r");
            let mut byte = [0u8];
            match fs::read(go_r.raw(), &mut byte) {
                Ok(1) => {}
                _ => return Err(Error::said()),
            }
            crate::net::loopback_up()?;
            if low_ports {
                fs::write_file(c"/proc/sys/net/ipv4/ip_unprivileged_port_start", b"0").context("cannot open the low ports of the container's network namespace")?;
            }
            Ok(())
        });
        process::exit(match configured {
            Ok(()) => 0,
            Err(e) => {
                e.report();
                1
            }
        });
    }
    drop((ready_w, go_r));
    let mut byte = [0u8];
    let ready = fs::read(ready_r.raw(), &mut byte).is_ok_and(|n| n == 1);
    let bound = if ready { bind_namespaces(holder, name) } else { Err(Error::said()) };
    if bound.is_ok() {
        let _ = fs::write_all(go_w.raw(), b"g");
    }
    drop(go_w);
    let status = process::wait4(holder, 0).ok().flatten().map_or(-1, |(_, s)| s.shell_code());
    bound?;
    if status != 0 {
        return Err(Error::said());
    }
    Ok(())
}

/// The holder's namespaces to `DIR/NAME/{userns,netns}`, with nobody as root inside.
fn bind_namespaces(holder: i32, name: &[u8]) -> Result<()> {
    let map = b"0 65534 1\n";
    crate::userns::write_proc(holder, "uid_map", map)?;
    crate::userns::write_proc(holder, "gid_map", map)?;
    for kind in ["user", "net"] {
        let mut source = Text::<48>::new();
        source.push("/proc/").push(holder).push("/ns/").push(kind);
        let mut target = file_in(name, if kind == "user" { "userns" } else { "netns" });
        let t = target.as_cstr().context("path")?;
        drop(fs::openat(fs::AT_FDCWD, t, O_WRONLY | O_CREAT | O_CLOEXEC, 0o444).context_on("cannot create", t)?);
        mount::mount(Some(source.as_cstr().context("path")?), t, None, MS_BIND, None).context_on("cannot bind the container's namespace to", t)?;
    }
    // pasta writes its pid here as nobody: the file is nobody's, in root's directory.
    let mut pid_file = file_in(name, "pid");
    let p = pid_file.as_cstr().context("path")?;
    drop(fs::openat(fs::AT_FDCWD, p, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644).context_on("cannot create", p)?);
    fs::fchownat(fs::AT_FDCWD, p, NOBODY, NOBODY).context_on("cannot hand over", p)
}

/// Waits for the pasta [`prepare`] started (root), or starts pasta on PID 1's namespaces and
/// waits for it (without root); returns when the interface is up.
pub fn start(pid: i32) -> Result<()> {
    // SAFETY: see `prepare`.
    if unsafe { (*core::ptr::addr_of!(PLAN)).is_none() } {
        return Ok(());
    }
    // SAFETY: single-threaded; `stop` reads it after the container ended.
    let started = unsafe { &mut *core::ptr::addr_of_mut!(STARTED) };
    let starter = if process::geteuid() == 0 {
        core::mem::take(&mut started.starter)
    } else {
        started.pid_file = Text::new();
        // SAFETY: see `prepare`.
        let Some((name, _)) = (unsafe { *core::ptr::addr_of!(PLAN) }) else { return Ok(()) };
        started.pid_file.bytes(crate::manage::entry_path(name.as_bytes(), ".pasta").as_bytes());
        started.active = true;
        run_pasta(Some(pid))?
    };
    if crate::helper::finish(starter)? != 0 {
        return Err(Error::new("pasta could not set up the container's network").hint("run with -v, and see pasta's message above"));
    }
    let mut buf = [0u8; 16];
    if let Ok(p) = started.pid_file.as_cstr() {
        let n = fs::read_file(p, &mut buf).unwrap_or(0);
        started.pid = linker::text::decimal_value(buf[..n].trim_ascii()).unwrap_or(0) as i32;
    }
    Ok(())
}

/// Starts pasta: as root's launcher, as nobody on the bound namespaces; without root, as the
/// user on PID 1's (`target`). Its pid, for `helper::finish`.
fn run_pasta(target: Option<i32>) -> Result<i32> {
    // SAFETY: see `prepare`.
    let Some((_, publish)) = (unsafe { *core::ptr::addr_of!(PLAN) }) else { return Ok(0) };
    // SAFETY: single-threaded; read only.
    let started = unsafe { &*core::ptr::addr_of!(STARTED) };
    let mut words: linker::List<Text<168>, 48> = linker::List::new();
    let mut word = |s: &[u8]| {
        let mut t = Text::<168>::new();
        t.bytes(s);
        let _ = words.push(t);
    };
    for w in ["pasta", "--quiet", "--config-net", "--dns-forward", PASTA_DNS, "-u", "none", "-T", "none", "-U", "none"] {
        word(w.as_bytes());
    }
    if !publish.iter().any(|p| !p.2) {
        word(b"-t");
        word(b"none");
    }
    for (host, inside, udp) in publish.iter() {
        word(if udp { b"-u" } else { b"-t" });
        let mut t = Text::<32>::new();
        t.push(host as u64).push(":").push(inside as u64);
        word(t.as_bytes());
    }
    word(b"--pid");
    word(started.pid_file.as_bytes());
    match target {
        Some(pid) => {
            let mut t = Text::<16>::new();
            t.push(pid);
            word(t.as_bytes());
        }
        None => {
            word(b"--userns");
            word(dir_file(started, "userns").as_bytes());
            word(b"--netns");
            word(dir_file(started, "netns").as_bytes());
        }
    }
    let mut argv = [core::ptr::null::<core::ffi::c_char>(); 49];
    for (i, w) in words.as_mut_slice().iter_mut().enumerate() {
        argv[i] = w.as_cstr().context("argument")?.as_ptr();
    }
    match target {
        Some(_) => crate::helper::start(c"pasta", &argv),
        None => crate::helper::start_as(c"pasta", &argv, as_nobody_with_tun),
    }
}

fn dir_file(started: &Started, file: &str) -> Text<168> {
    let mut t = Text::new();
    t.bytes(started.dir.as_bytes()).push("/").push(file);
    t
}

/// In pasta's process before its exec (root's launches): a mount namespace of its own with a
/// tun node it may open (the host's may be root's only: 0600), then nobody, with no
/// capability left (they go with the change from uid 0).
fn as_nobody_with_tun() -> Result<()> {
    ns::unshare(CLONE_NEWNS).context("pasta: unshare(CLONE_NEWNS)")?;
    mount::mount(None, c"/", None, MS_REC | MS_PRIVATE, None).context("pasta: cannot make its mounts private")?;
    mount::mount(Some(c"tmpfs"), c"/dev/net", Some(c"tmpfs"), MS_NOSUID | MS_NOEXEC, Some(c"mode=755,size=4k"))
        .context("pasta: cannot mount a tmpfs on /dev/net")?;
    // The tun device, 10:200, as udev usually makes it.
    fs::mknodat(fs::AT_FDCWD, c"/dev/net/tun", libc::S_IFCHR | 0o666, libc::makedev(10, 200)).context("pasta: cannot make /dev/net/tun")?;
    fs::fchmodat(fs::AT_FDCWD, c"/dev/net/tun", 0o666).context("pasta: cannot chmod /dev/net/tun")?;
    process::setgroups(&[]).context("pasta: setgroups")?;
    process::setresgid(NOBODY).context("pasta: setresgid")?;
    process::setresuid(NOBODY).context("pasta: setresuid")
}

/// After the container: pasta stopped, the namespace files unmounted and removed.
pub fn stop() {
    // SAFETY: single-threaded; the callback that set it ran in this process.
    let s = unsafe { &mut *core::ptr::addr_of_mut!(STARTED) };
    if !core::mem::take(&mut s.active) {
        return;
    }
    if s.starter > 0 {
        // Started, never waited for (the container failed first).
        let _ = process::kill(s.starter, signal::SIGKILL);
        let _ = process::wait4(s.starter, 0);
    }
    if s.pid > 0 && is_pasta(s.pid) {
        let _ = process::kill(s.pid, signal::SIGTERM);
    }
    let mut pid_file = s.pid_file;
    if let Ok(p) = pid_file.as_cstr() {
        let _ = fs::unlinkat(fs::AT_FDCWD, p, 0);
    }
    if !s.dir.is_empty() {
        remove_dir(s.dir);
    }
}

/// A stale container's pasta files (cgroup/stale.rs): pasta quits once its netns file goes.
pub fn forget(name: &[u8]) {
    remove_dir(dir_of(name));
}

/// `DIR/NAME` and the namespace files in it (root's pasta quits once they are gone).
fn remove_dir(mut dir: Text<160>) {
    for file in ["netns", "userns", "pid"] {
        let mut p = dir;
        p.push("/").push(file);
        if let Ok(c) = p.as_cstr() {
            let _ = mount::umount2(c, MNT_DETACH);
            let _ = fs::unlinkat(fs::AT_FDCWD, c, 0);
        }
    }
    if let Ok(c) = dir.as_cstr() {
        let _ = fs::rmdir(c);
    }
}

/// Whether `pid` is still a pasta (not a pid reused since): `pasta`, or the `passt.avx2` it
/// re-executes itself as on CPUs that have AVX2.
fn is_pasta(pid: i32) -> bool {
    let mut p = Text::<32>::new();
    p.push("/proc/").push(pid).push("/comm");
    let mut buf = [0u8; 16];
    p.as_cstr().is_ok_and(|c| fs::read_file(c, &mut buf).is_ok_and(|n| buf[..n].starts_with(b"pasta") || buf[..n].starts_with(b"passt")))
}
