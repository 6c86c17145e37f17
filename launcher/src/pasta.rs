//! `--net pasta`: the container's own network namespace gets a way out through `pasta`
//! (Debian's `passt` package) — user-mode networking as podman uses it: a tap interface
//! inside with the host's addresses and routes, TCP/UDP carried by pasta's sockets on the
//! host, no bridge and no change to the host's firewall. `--publish` forwards host ports in.
//!
//! pasta is started once PID 1 exists and before it is released, on the namespace bound to
//! `/run/knocker/@launcher/NAME.netns`; it puts itself in the background when the interface
//! is set up. When the container ends the launcher stops it (SIGTERM) and removes the file;
//! a pasta whose launcher died quits by itself once the next launcher removes that file.

use crate::error::{Context, Error, Result};
use crate::netfiles::PASTA_DNS;
use linker::sys::fs::{self, O_CREAT, O_WRONLY};
use linker::sys::mount::{self, MNT_DETACH, MS_BIND};
use linker::sys::{process, signal};
use linker::Text;

const DIR: &str = "/run/knocker/@launcher";

struct Started {
    active: bool,
    netns: Text<160>,
    pid_file: Text<160>,
    pid: i32,
}

/// All zeros, so it takes no room in the file (an `Option` here would).
static mut STARTED: Started = Started { active: false, netns: Text::new(), pid_file: Text::new(), pid: 0 };
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

/// Remembers what [`start`] needs (it runs as a callback with PID 1's pid only).
pub fn prepare(name: &[u8], publish: Publish) {
    let mut n = Text::new();
    n.bytes(name);
    // SAFETY: single-threaded; set before the container is created, read by `start` after.
    unsafe { *core::ptr::addr_of_mut!(PLAN) = Some((n, publish)) };
}

/// Starts pasta on PID 1's network namespace; returns when the interface is up.
pub fn start(pid: i32) -> Result<()> {
    // SAFETY: see `prepare`.
    let Some((name, publish)) = (unsafe { *core::ptr::addr_of!(PLAN) }) else { return Ok(()) };
    let root = process::geteuid() == 0;
    let mut netns = Text::<160>::new();
    let mut pid_file = Text::<160>::new();
    pid_file.bytes(crate::manage::entry_path(name.as_bytes(), ".pasta").as_bytes());
    if root {
        netns.push(DIR).push("/").bytes(name.as_bytes()).push(".netns");
        let mut source = Text::<32>::new();
        source.push("/proc/").push(pid).push("/ns/net");
        let ns_path = netns.as_cstr().context("path")?;
        drop(fs::openat(fs::AT_FDCWD, ns_path, O_WRONLY | O_CREAT, 0o600).context_on("cannot create", ns_path)?);
        mount::mount(Some(source.as_cstr().context("path")?), ns_path, None, MS_BIND, None)
            .context_on("cannot bind the container's network namespace to", ns_path)?;
    }
    // SAFETY: single-threaded; `stop` reads it after the container ended.
    unsafe { *core::ptr::addr_of_mut!(STARTED) = Started { active: true, netns, pid_file, pid: 0 } };

    // pasta as root: it must enter a namespace the host's root owns (it drops to nobody
    // otherwise, which may not). It confines itself (namespaces, seccomp) once set up.
    let mut words: linker::List<Text<32>, 48> = linker::List::new();
    let mut word = |s: &[u8]| {
        let mut t = Text::<32>::new();
        t.bytes(s);
        let _ = words.push(t);
    };
    // Without root, pasta runs as the user and joins the container's own user and network
    // namespaces by PID 1's pid, as rootless podman runs it.
    let runas: &[&str] = if root { &["--runas", "0:0"] } else { &[] };
    for w in ["pasta", "--quiet"].iter().chain(runas).chain(&["--config-net", "--dns-forward", PASTA_DNS, "-u", "none", "-T", "none", "-U", "none"]) {
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
    let mut argv = [core::ptr::null::<core::ffi::c_char>(); 52];
    for (i, w) in words.as_mut_slice().iter_mut().enumerate() {
        argv[i] = w.as_cstr().context("argument")?.as_ptr();
    }
    let n = words.len();
    // SAFETY: see above (`STARTED` was just set).
    let started = unsafe { &mut *core::ptr::addr_of_mut!(STARTED) };
    argv[n] = c"--pid".as_ptr();
    argv[n + 1] = started.pid_file.as_cstr().context("path")?.as_ptr();
    let mut target = Text::<16>::new();
    target.push(pid);
    if started.netns.is_empty() {
        argv[n + 2] = target.as_cstr().context("pid")?.as_ptr();
    } else {
        argv[n + 2] = c"--netns".as_ptr();
        argv[n + 3] = started.netns.as_cstr().context("path")?.as_ptr();
    }
    if crate::helper::run(c"pasta", &argv)? != 0 {
        return Err(Error::new("pasta could not set up the container's network").hint("run with -v, and see pasta's message above"));
    }
    let mut buf = [0u8; 16];
    if let Ok(p) = started.pid_file.as_cstr() {
        let n = fs::read_file(p, &mut buf).unwrap_or(0);
        started.pid = linker::text::decimal_value(buf[..n].trim_ascii()).unwrap_or(0) as i32;
    }
    Ok(())
}

/// After the container: pasta stopped, the namespace file unmounted and removed.
pub fn stop() {
    // SAFETY: single-threaded; the callback that set it ran in this process.
    let s = unsafe { &mut *core::ptr::addr_of_mut!(STARTED) };
    if !core::mem::take(&mut s.active) {
        return;
    }
    let (mut netns, mut pid_file) = (s.netns, s.pid_file);
    if s.pid > 0 && is_pasta(s.pid) {
        let _ = process::kill(s.pid, signal::SIGTERM);
    }
    // Root's pasta works on the bound namespace file (pasta quits once it goes too).
    if let Some(p) = netns.as_cstr().ok().filter(|p| !p.is_empty()) {
        let _ = mount::umount2(p, MNT_DETACH);
        let _ = fs::unlinkat(fs::AT_FDCWD, p, 0);
    }
    if let Ok(p) = pid_file.as_cstr() {
        let _ = fs::unlinkat(fs::AT_FDCWD, p, 0);
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
