//! The real PID 1 of a small box (PID 1 of the initial PID namespace). The kernel mounts
//! nothing for it and treats its exit as fatal ("Attempted to kill init!"), so on top of the
//! container duties init here mounts the API file systems, finds a console, sets the hostname,
//! and never exits: when the job ends, or on a power-off or reboot request, it stops every
//! process, syncs, remounts / read-only and calls reboot(2).
//!
//! What it runs: COMMAND when the kernel was given one; else `/etc/inittab` when there is one
//! (busybox's format and behaviour, see [`crate::services`]); else `/etc/rc`; else a shell on
//! the console. Without an inittab, the end of that job is a power-off.
//!
//! Requests follow busybox init, whose `halt`, `poweroff` and `reboot` applets (without `-f`)
//! signal PID 1: SIGUSR1 halt, SIGUSR2 power off, SIGTERM reboot; SIGINT is Ctrl-Alt-Del (the
//! `ctrlaltdel` entries, else a reboot); SIGQUIT execs the `restart` entry.

use crate::cli::Options;
use crate::log::Log;
use crate::services::{self, Services};
use crate::supervise::{self, Event, Session, Supervisor};
use core::ffi::{CStr, c_char};
use linker::exec::DEFAULT_PATH;
use linker::sys::fs::{self, O_NOCTTY, O_RDWR};
use linker::sys::mm::Mapping;
use linker::sys::mount::{self, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT};
use linker::sys::process::{self, RB_AUTOBOOT, RB_DISABLE_CAD, RB_HALT_SYSTEM, RB_POWER_OFF};
use linker::sys::signal::{self, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SigSet};
use linker::sys::{Errno, ns};
use linker::{Args, Env, Text, say};

/// How PID 1 ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Halt,
    PowerOff,
    Reboot,
    /// SIGQUIT with a `restart` entry: stop everything, then exec it as the new PID 1.
    Restart(crate::inittab::Entry<'static>),
}

/// Whether this is the real PID 1 — and if so, Ctrl-Alt-Del now arrives as SIGINT instead of
/// an immediate hard reboot. Inside a PID namespace the same call fails (EINVAL, or EPERM
/// without CAP_SYS_BOOT), which is how a container init tells it is one.
pub fn take_over() -> bool {
    process::getpid() == 1 && process::reboot(RB_DISABLE_CAD).is_ok()
}

/// busybox's halt, poweroff and reboot requests.
pub fn request(sig: i32) -> Option<Stop> {
    match sig {
        SIGUSR1 => Some(Stop::Halt),
        SIGUSR2 => Some(Stop::PowerOff),
        SIGTERM => Some(Stop::Reboot),
        _ => None,
    }
}

const REQUESTS: SigSet = SigSet::of(&[SIGUSR1, SIGUSR2, SIGTERM, SIGINT]);

pub fn run(opts: &Options, log: Log, args: &Args, env: &Env, mask: SigSet) -> ! {
    mount_api_filesystems(log);
    open_console();
    set_hostname(log);
    let sup = Supervisor { opts, log, child: 0, pid1: true };

    // The job: COMMAND, else the inittab's services, else /etc/rc, else a shell.
    let inittab = opts.command.is_none() && fs::faccessat(fs::AT_FDCWD, services::PATH, 0).is_ok();
    let (program, tail): (&CStr, &[*const c_char]) = match opts.command {
        Some(i) => (args.get(i).unwrap_or(c"/bin/sh"), args.slice(i)),
        None if fs::faccessat(fs::AT_FDCWD, c"/etc/rc", libc::X_OK).is_ok() => (c"/etc/rc", &[]),
        None => (c"/bin/sh", &[]),
    };
    let job = match Job::build(program, tail, env) {
        Ok(job) => job,
        Err(e) => {
            say!(2; "init: cannot prepare ", program, ": ", e);
            shutdown(&sup, None, Stop::PowerOff)
        }
    };
    if inittab {
        if let Some(mut tab) = services::load(mask, job.envp(), job.path) {
            let stop = tab.run(&sup);
            shutdown(&sup, Some(&mut tab), stop)
        }
    }
    let console = console_device();
    let session = Session::Terminal { device: console.as_deref(), ask_first: false };
    let mut stop = Stop::PowerOff;
    match supervise::spawn(program, job.argv(), job.envp(), job.path, mask, session) {
        Ok(child) => {
            if log.level >= 2 {
                say!(2; "init: started ", program, " as pid ", child);
            }
            let sup = Supervisor { opts, log, child, pid1: true };
            match sup.run(REQUESTS) {
                Event::Exited(status) => {
                    if log.level >= 2 {
                        say!(2; "init: ", program, " exited with ", status.shell_code());
                    }
                }
                // Without an inittab there are no ctrlaltdel entries: SIGINT reboots.
                Event::Request(sig) => stop = request(sig).unwrap_or(Stop::Reboot),
            }
        }
        Err(e) => say!(2; "init: cannot start ", program, ": ", e),
    }
    shutdown(&sup, None, stop)
}

/// COMMAND's argv and an environment with PATH (the kernel hands init none).
struct Job {
    map: Mapping,
    envp_at: usize,
    path: &'static [u8],
}

impl Job {
    fn build(program: &'static CStr, tail: &[*const c_char], env: &Env) -> Result<Job, Errno> {
        let env_count = env.iter().count();
        let slots = tail.len() + env_count + 4;
        let mut map = Mapping::new((slots * 8).next_multiple_of(4096), 0)?;
        let ptrs: &mut [*const c_char] = map.as_slice_mut();
        let mut n = 0;
        if tail.is_empty() {
            ptrs[0] = program.as_ptr();
            n = 1;
        } else {
            ptrs[..tail.len()].copy_from_slice(tail);
            n += tail.len();
        }
        ptrs[n] = core::ptr::null();
        let envp_at = n + 1;
        let mut e = envp_at;
        for entry in env.iter() {
            ptrs[e] = entry.as_ptr();
            e += 1;
        }
        let path = env.get(b"PATH");
        if path.is_none() {
            ptrs[e] = c"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".as_ptr();
            e += 1;
        }
        ptrs[e] = core::ptr::null();
        Ok(Job { map, envp_at, path: path.unwrap_or(DEFAULT_PATH) })
    }

    fn argv(&self) -> *const *const c_char {
        self.map.as_ptr() as *const *const c_char
    }

    fn envp(&self) -> *const *const c_char {
        // SAFETY: envp_at is inside the mapping (see build).
        unsafe { self.argv().add(self.envp_at) }
    }
}

/// /proc, /sys, /dev, /dev/pts, /dev/shm and /run, each unless something is mounted there.
fn mount_api_filesystems(log: Log) {
    let safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    let table: [(&CStr, &CStr, u64, Option<&CStr>); 6] = [
        (c"/proc", c"proc", safe, None),
        (c"/sys", c"sysfs", safe, None),
        (c"/dev", c"devtmpfs", MS_NOSUID, Some(c"mode=0755")),
        (c"/dev/pts", c"devpts", MS_NOSUID | MS_NOEXEC, Some(c"mode=0620,gid=5,ptmxmode=0666")),
        (c"/dev/shm", c"tmpfs", MS_NOSUID | MS_NODEV, Some(c"mode=1777")),
        (c"/run", c"tmpfs", MS_NOSUID | MS_NODEV, Some(c"mode=0755")),
    ];
    for (path, fstype, flags, data) in table {
        let _ = fs::mkdir(path, 0o755);
        if is_mount_point(path) {
            continue;
        }
        match mount::mount(Some(fstype), path, Some(fstype), flags, data) {
            Ok(()) if log.level >= 3 => say!(2; "init: mounted ", fstype, " on ", path),
            Ok(()) => {}
            Err(e) => say!(2; "init: cannot mount ", fstype, " on ", path, ": ", e),
        }
    }
}

/// A directory on another device than its parent is something mounted.
fn is_mount_point(path: &CStr) -> bool {
    let mut parent = Text::<64>::new();
    parent.push(path).push("/..");
    let Ok(p) = parent.as_cstr() else { return false };
    match (fs::stat(path), fs::stat(p)) {
        (Ok(a), Ok(b)) => a.dev != b.dev,
        _ => false,
    }
}

/// Without a /dev/console node in the initramfs the kernel starts init with no stdio at all.
fn open_console() {
    if fs::fcntl(0, fs::F_GETFL, 0) != Err(Errno::EBADF) {
        return;
    }
    if let Ok(console) = fs::open(c"/dev/console", O_RDWR | O_NOCTTY) {
        for fd in 0..3 {
            let _ = fs::dup3(console.raw(), fd, 0);
        }
        if console.raw() <= 2 {
            console.into_raw();
        }
    }
}

/// The terminal behind /dev/console (e.g. /dev/ttyS0): /dev/console itself cannot be a
/// controlling terminal, so the job gets the real device and with it job control.
pub fn console_device() -> Option<Text<64>> {
    let mut buf = [0u8; 128];
    let n = fs::read_file(c"/sys/class/tty/console/active", &mut buf).ok()?;
    let last = buf[..n].split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty()).last()?;
    let mut dev = Text::<64>::new();
    dev.push("/dev/").bytes(last);
    Some(dev)
}

fn set_hostname(log: Log) {
    let mut buf = [0u8; 128];
    let Ok(n) = fs::read_file(c"/etc/hostname", &mut buf) else { return };
    let name = buf[..n].split(|&c| c == b'\n').next().unwrap_or(b"").trim_ascii();
    if name.is_empty() {
        return;
    }
    if let Err(e) = ns::sethostname(name) {
        if log.level >= 1 {
            say!(2; "init: cannot set the hostname: ", e);
        }
    }
}

/// Stops everything and halts, powers off or reboots — or, for a restart, execs the `restart`
/// entry. Never returns: PID 1 exiting panics the kernel. The inittab's `shutdown` entries
/// run first, in order; then every process gets SIGTERM, the grace period, and SIGKILL.
fn shutdown(sup: &Supervisor, tab: Option<&mut Services>, stop: Stop) -> ! {
    say!(2; "init: ", match stop {
        Stop::Halt => "halting",
        Stop::PowerOff => "powering off",
        Stop::Reboot => "rebooting",
        Stop::Restart(_) => "restarting",
    });
    let mut tab = tab;
    if let Some(tab) = tab.as_deref_mut() {
        tab.run_in_order(crate::inittab::Action::Shutdown, sup);
    }
    let _ = process::kill(-1, SIGTERM);
    sup.stop_the_rest();
    process::sync();
    if let (Stop::Restart(entry), Some(tab)) = (stop, tab) {
        tab.exec(&entry);
        say!(2; "init: cannot exec the restart entry; rebooting");
    }
    for path in [c"/dev/shm", c"/dev/pts", c"/run", c"/sys"] {
        let _ = mount::umount2(path, 0);
    }
    let _ = mount::mount(None, c"/", None, MS_REMOUNT | MS_RDONLY, None);
    process::sync();
    let e = process::reboot(match stop {
        Stop::Halt => RB_HALT_SYSTEM,
        Stop::PowerOff => RB_POWER_OFF,
        Stop::Reboot | Stop::Restart(_) => RB_AUTOBOOT,
    });
    say!(2; "init: reboot(2) failed: ", e.err().unwrap_or(Errno::EINVAL), "; halting here");
    loop {
        let _ = signal::sigtimedwait(supervise::HANDLED, None);
        sup.reap();
    }
}
