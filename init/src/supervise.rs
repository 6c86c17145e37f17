//! The supervision loop: start COMMAND, then sleep in the kernel until a signal arrives —
//! SIGCHLD means reap everything that has exited, anything else is forwarded to COMMAND (or
//! its process group). No handler is ever installed: every signal but the fault signals is
//! blocked and taken with `sigtimedwait`, so COMMAND inherits init's dispositions untouched
//! (SIG_IGN stays ignored, nothing else changes) and gets init's original mask back.

use crate::cli::Options;
use crate::log::Log;
use core::ffi::{CStr, c_char};
use linker::exec;
use linker::sys::fs::{self, O_DIRECTORY, O_RDONLY};
use linker::sys::process::{self, WNOHANG, WaitStatus};
use linker::sys::signal::{self, FAULTS, SIG_BLOCK, SIG_SETMASK, SIGCHLD, SIGKILL, SIGTERM, SigSet};
use linker::sys::time::{self, Timespec};
use linker::sys::{Errno, tty};
use linker::text::decimal_value;
use linker::{Text, say};

/// Everything init takes synchronously: all signals but those a fault raises.
pub const HANDLED: SigSet = SigSet::ALL.without(FAULTS);

/// Blocks the handled signals before anything else happens, so none is lost; returns the
/// mask init started with, which COMMAND gets back.
pub fn block_signals() -> SigSet {
    signal::sigprocmask(SIG_BLOCK, HANDLED).unwrap_or(SigSet::EMPTY)
}

/// How COMMAND's process is set up between fork and exec.
#[derive(Clone, Copy)]
pub enum Session<'a> {
    /// Its own process group, made the terminal's foreground group when stdin is a terminal.
    Group,
    /// Its own session whose controlling terminal is this device (else stdin, if it is a
    /// terminal): the real PID 1's job and services. `ask_first`: print busybox's "Please
    /// press Enter to activate this console." there and wait for Enter before the exec.
    Terminal { device: Option<&'a linker::TextBuf>, ask_first: bool },
}

/// Forks and execs COMMAND; the child reports its own exec failure and exits 127 or 126.
pub fn spawn(
    program: &CStr,
    argv: *const *const c_char,
    envp: *const *const c_char,
    path: &[u8],
    mask: SigSet,
    session: Session,
) -> Result<i32, Errno> {
    match process::fork()? {
        0 => {
            match session {
                Session::Group => {
                    let _ = process::setpgid(0, 0);
                    if tty::is_terminal(0) {
                        // SIGTTOU is still blocked here, so this works even from the background.
                        let _ = tty::set_foreground(0, process::getpid());
                    }
                }
                Session::Terminal { device, ask_first } => {
                    let _ = process::setsid();
                    let mut path = Text::<64>::new();
                    if let Some(d) = device {
                        path.push(d);
                    }
                    // A session leader opening a terminal without O_NOCTTY acquires it.
                    if let Ok(console) = path.as_cstr().and_then(|p| fs::open(p, fs::O_RDWR)) {
                        for fd in 0..3 {
                            let _ = fs::dup3(console.raw(), fd, 0);
                        }
                    }
                    let _ = tty::set_controlling(0);
                    if ask_first {
                        let _ = fs::write_all(1, b"\nPlease press Enter to activate this console. ");
                        let mut c = [0u8];
                        while fs::read(0, &mut c) == Ok(1) && c[0] != b'\n' {}
                    }
                }
            }
            let _ = signal::sigprocmask(SIG_SETMASK, mask);
            let e = exec::execvp(program, argv, envp, path);
            say!(2; "init: cannot run ", program, ": ", e);
            process::exit(exec::failure_code(e))
        }
        pid => {
            // Both sides set the group: whichever runs first, the group exists before any
            // signal is forwarded to it.
            if matches!(session, Session::Group) {
                let _ = process::setpgid(pid, pid);
            }
            Ok(pid)
        }
    }
}

/// What ended the wait.
pub enum Event {
    /// COMMAND exited with this status.
    Exited(WaitStatus),
    /// A signal the caller treats itself (system mode's power-off and reboot requests).
    Request(i32),
}

pub struct Supervisor<'a> {
    pub opts: &'a Options,
    pub log: Log,
    pub child: i32,
    /// Whether we are PID 1 of our PID namespace: then `kill(-1, …)` reaches every other
    /// process in it, and nothing else.
    pub pid1: bool,
}

impl Supervisor<'_> {
    /// Sleeps until COMMAND exits, reaping and forwarding on the way. Signals in `requests`
    /// are returned to the caller instead of forwarded.
    pub fn run(&self, requests: SigSet) -> Event {
        loop {
            let sig = match signal::sigtimedwait(HANDLED, None) {
                Ok(info) => info.signo,
                Err(_) => continue,
            };
            if sig == SIGCHLD {
                // Standard signals coalesce: one SIGCHLD may stand for many exits, COMMAND's
                // among them. Reap until nothing is left, and look at every pid reaped.
                if let Some(status) = self.reap() {
                    return Event::Exited(status);
                }
            } else if requests.contains(sig) {
                return Event::Request(sig);
            } else {
                self.forward(sig);
            }
        }
    }

    fn forward(&self, sig: i32) {
        let target = if self.opts.kill_group { -self.child } else { self.child };
        if self.log.level >= 3 {
            say!(2; "init: forwarding SIG", signal::name(sig).unwrap_or("?"), " to ", target);
        }
        let _ = process::kill(target, sig);
    }

    /// Reaps every exited child; returns COMMAND's status if it was among them.
    pub fn reap(&self) -> Option<WaitStatus> {
        let mut main = None;
        while let Ok(Some((pid, status))) = process::wait4(-1, WNOHANG) {
            if pid == self.child {
                main = Some(status);
            } else if self.opts.warn_on_reap {
                say!(2; "Reaped zombie process with pid=", pid);
            } else if self.log.level >= 4 {
                say!(2; "init: reaped pid ", pid);
            }
        }
        main
    }

    /// After COMMAND exited: every process left gets SIGTERM, then up to the grace period to
    /// exit (reaped as it goes), then SIGKILL. Returns once no child is left to reap.
    pub fn stop_the_rest(&self) {
        if !self.any_left() {
            return;
        }
        if self.log.level >= 2 {
            say!(2; "init: COMMAND exited; sending SIGTERM to the processes left");
        }
        self.signal_rest(SIGTERM);
        let deadline = time::monotonic_ns().saturating_add(self.opts.grace_ms.saturating_mul(1_000_000));
        loop {
            let now = time::monotonic_ns();
            if now >= deadline {
                break;
            }
            let left = (deadline - now) / 1_000_000 + 1;
            match signal::sigtimedwait(HANDLED, Some(Timespec::from_ms(left))) {
                Ok(info) if info.signo == SIGCHLD => {
                    self.reap();
                    if !self.any_left() {
                        return;
                    }
                }
                Err(Errno::EAGAIN) => break,
                _ => {}
            }
        }
        if self.log.level >= 1 {
            say!(2; "init: processes still running after the grace period: sending SIGKILL");
        }
        // Orphans keep arriving while their parents die: kill and reap until none is left.
        loop {
            self.signal_rest(SIGKILL);
            match process::wait4(-1, 0) {
                Ok(_) => {}
                Err(Errno::ECHILD) => return,
                Err(_) => {}
            }
        }
    }

    /// Whether any child is still running (exited ones are reaped on the way).
    fn any_left(&self) -> bool {
        loop {
            match process::wait4(-1, WNOHANG) {
                Ok(Some(_)) => continue,
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }

    fn signal_rest(&self, sig: i32) {
        if self.pid1 {
            let _ = process::kill(-1, sig);
        } else {
            let _ = process::kill(-self.child, sig);
            for_each_child(|pid| {
                let _ = process::kill(pid, sig);
            });
        }
    }
}

/// Calls `f` with the pid of each of our children (scanning /proc/N/stat for our pid as the
/// parent). Used only when init is not PID 1, where `kill(-1)` would reach the whole system.
fn for_each_child(mut f: impl FnMut(i32)) {
    let me = process::getpid();
    let Ok(proc) = fs::open(c"/proc", O_RDONLY | O_DIRECTORY) else { return };
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = fs::getdents64(proc.raw(), &mut buf) {
        for (_, name) in fs::dirents(&buf[..n]) {
            let Some(pid) = decimal_value(name) else { continue };
            let mut path = Text::<40>::new();
            path.push("/proc/").bytes(name).push("/stat");
            let mut stat = [0u8; 512];
            let Ok(p) = path.as_cstr() else { continue };
            let Ok(len) = fs::read_file(p, &mut stat) else { continue };
            if parent_of(&stat[..len]) == Some(me) {
                f(pid as i32);
            }
        }
    }
}

/// The ppid field of /proc/N/stat: `pid (comm) state ppid …`; comm may hold spaces and ')'.
pub fn parent_of(stat: &[u8]) -> Option<i32> {
    let after = &stat[stat.iter().rposition(|&c| c == b')')? + 1..];
    let mut fields = after.split(|&c| c == b' ').filter(|f| !f.is_empty());
    fields.next()?;
    decimal_value(fields.next()?).map(|p| p as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_from_stat() {
        assert_eq!(parent_of(b"123 (sleep) S 45 123 45 0 -1"), Some(45));
        assert_eq!(parent_of(b"7 (we) ird) name) R 1 7 7"), Some(1));
        assert_eq!(parent_of(b"garbage"), None);
    }

    #[test]
    fn handled_signals() {
        assert!(HANDLED.contains(SIGTERM) && HANDLED.contains(SIGCHLD) && HANDLED.contains(64));
        assert!(!HANDLED.contains(signal::SIGSEGV));
        let _ = SIGKILL;
    }
}
