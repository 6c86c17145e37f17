//! knocker's init: a container's PID 1, a drop-in for tini (docker-init), and the real PID 1
//! of a small box. It stands alone: it never links launcher code, and the launcher only ever
//! runs it as a program.
//!
//! - [`cli`]: tini's command line and environment.
//! - [`supervise`]: start COMMAND, reap, forward signals, stop what is left at the end.
//! - [`system`]: the extra duties of the real PID 1 (mounts, console, power-off).
//!
//! `no_std` except under `cfg(test)`.
#![cfg_attr(not(test), no_std)]

pub mod cli;
pub mod inittab;
pub mod log;
pub mod services;
pub mod supervise;
pub mod system;

use crate::cli::{Action, Options};
use crate::log::Log;
use crate::supervise::{Event, Session, Supervisor};
use linker::exec::DEFAULT_PATH;
use linker::sys::fs;
use linker::sys::mount::{self, MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID};
use linker::sys::process::{self, prctl};
use linker::sys::signal::SigSet;
use linker::{Args, Env, say};

pub const EXIT_USAGE: i32 = 1;
const PR_SET_PDEATHSIG: i32 = 1;
const PR_SET_DUMPABLE: i32 = 4;
const PR_SET_CHILD_SUBREAPER: i32 = 36;
const PR_GET_CHILD_SUBREAPER: i32 = 37;

pub fn main(args: Args, env: Env) -> i32 {
    // Before anything else: a non-dumpable process's /proc/PID/mem, environ, fd/… need
    // CAP_SYS_PTRACE, so the container's root cannot rewrite PID 1 (and, say, clear the
    // parent-death signal that ties the container to its launcher). The command gets a
    // dumpable process back: exec resets the flag.
    let _ = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    let opts = match cli::parse(&args, &env) {
        Ok(Action::Run(o)) => o,
        Ok(Action::Help) => return print(1, cli::USAGE),
        Ok(Action::License) => return print(1, cli::LICENSE),
        Ok(Action::Version) => {
            say!(1; cli::VERSION);
            return 0;
        }
        Err(e) => {
            say!(2; "init: ", e.what, e.value);
            let _ = fs::write_all(2, cli::USAGE.as_bytes());
            return EXIT_USAGE;
        }
    };
    // First, so that no signal sent from here on is lost.
    let mask = supervise::block_signals();
    let log = Log { level: opts.verbosity };
    if system::take_over() {
        system::run(&opts, log, &args, &env, mask);
    }
    match opts.command {
        Some(_) => container(&opts, log, &args, &env, mask),
        None => {
            say!(2; "init: missing COMMAND");
            let _ = fs::write_all(2, cli::USAGE.as_bytes());
            EXIT_USAGE
        }
    }
}

fn print(fd: i32, text: &str) -> i32 {
    let _ = fs::write_all(fd, text.as_bytes());
    0
}

/// PID 1 of a container, or a subreaper (or neither, with a warning) anywhere else.
fn container(opts: &Options, log: Log, args: &Args, env: &Env, mask: SigSet) -> i32 {
    if let Some(sig) = opts.parent_death_signal {
        if let Err(e) = prctl(PR_SET_PDEATHSIG, sig as usize, 0, 0, 0) {
            say!(2; "init: cannot set the parent-death signal: ", e);
            return EXIT_USAGE;
        }
    }
    let pid1 = process::getpid() == 1;
    if opts.subreaper {
        if let Err(e) = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) {
            say!(2; "init: cannot register as a child subreaper: ", e);
            return EXIT_USAGE;
        }
    } else if !pid1 && !already_subreaper() && log.level >= 1 {
        say!(2; "init: warning: not running as PID 1 and not registered as a child subreaper: \
                 zombie reaping won't work properly; use -s or set TINI_SUBREAPER");
    }
    let mounted_proc = ensure_proc(log);

    let index = opts.command.unwrap_or(args.len());
    let program = args.get(index).unwrap_or(c"");
    let path = env.get(b"PATH").unwrap_or(DEFAULT_PATH);
    let child = match supervise::spawn(program, args.tail_ptr(index), env.as_ptr(), path, mask, Session::Group) {
        Ok(pid) => pid,
        Err(e) => {
            say!(2; "init: cannot fork: ", e);
            return EXIT_USAGE;
        }
    };
    if log.level >= 2 {
        say!(2; "init: started ", program, " as pid ", child);
    }
    // Hold on to nothing: no working directory that pins a mount, no inherited descriptors.
    let _ = fs::chdir(c"/");
    let _ = fs::close_range(3, u32::MAX, 0);

    let sup = Supervisor { opts, log, child, pid1 };
    let status = match sup.run(SigSet::EMPTY) {
        Event::Exited(status) => status,
        Event::Request(_) => unreachable!(),
    };
    sup.stop_the_rest();
    if mounted_proc {
        let _ = mount::umount2(c"/proc", MNT_DETACH);
    }
    let code = status.shell_code();
    if log.level >= 2 {
        say!(2; "init: ", program, " exited with ", code);
    }
    if opts.remaps(code) { 0 } else { code }
}

/// Whether a supervisor that exec'd us had made itself a child subreaper: the flag survives
/// exec, so orphans come to us after all and there is nothing to warn about (as tini checks).
fn already_subreaper() -> bool {
    let mut flag: i32 = 0;
    prctl(PR_GET_CHILD_SUBREAPER, &mut flag as *mut i32 as usize, 0, 0, 0).is_ok() && flag != 0
}

/// Mounts proc on /proc when nothing answers at /proc/self; returns whether it did.
fn ensure_proc(log: Log) -> bool {
    if fs::stat(c"/proc/self").is_ok() {
        return false;
    }
    match mount::mount(Some(c"proc"), c"/proc", Some(c"proc"), MS_NOSUID | MS_NODEV | MS_NOEXEC, None) {
        Ok(()) => {
            if log.level >= 2 {
                say!(2; "init: /proc was not mounted: mounted proc there");
            }
            true
        }
        Err(e) => {
            if log.level >= 2 {
                say!(2; "init: /proc is not mounted and mounting it failed: ", e);
            }
            false
        }
    }
}
