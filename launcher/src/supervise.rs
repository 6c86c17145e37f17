//! The launcher while the container runs: forward signals to the container's PID 1, relay the
//! terminal, and wait for PID 1 to exit. Signals are blocked and read from a signalfd, so none
//! is lost and no handler ever runs.

use crate::error::{Context, Result};
use crate::sync::ParentEnd;
use crate::tty::Relay;
use linker::Text;
use linker::sys::fs;
use linker::sys::socket::{self, MSG_DONTWAIT};
use linker::sys::time::{self, Timespec};
use linker::sys::poll::{self, POLLIN, PollFd};
use linker::sys::process::{self, WNOHANG, WaitStatus};
use linker::sys::signal::{self, SIG_BLOCK, SigSet};
use linker::sys::signal::{SIGCHLD, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGWINCH};
use linker::sys::{Errno, Fd};

/// What reaches the container's PID 1 when the launcher receives it.
pub const FORWARDED: SigSet = SigSet::of(&[SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH]);

/// Blocked from before the clone (the child restores the caller's mask before exec). SIGPIPE:
/// a closed stdout turns into EPIPE instead of killing the launcher with the container alive;
/// SIGTTOU/SIGTTIN: restoring terminal settings from the background must not stop us.
pub const BLOCKED: SigSet = FORWARDED.with(SIGCHLD).with(SIGPIPE).with(SIGTTOU).with(SIGTTIN);

pub fn block_signals() -> Result<SigSet> {
    signal::sigprocmask(SIG_BLOCK, BLOCKED).context("cannot block signals")
}

/// Runs until the container's PID 1 (`pid`) has exited; returns its status.
pub fn wait(pid: i32, sync: &ParentEnd, mut relay: Option<&mut Relay>) -> Result<WaitStatus> {
    let signals = signal::signalfd(BLOCKED, signal::SFD_NONBLOCK).context("cannot create a signalfd")?;
    let mut stdin_open = relay.is_some();
    let mut master_open = relay.is_some();
    let master = relay.as_ref().map_or(-1, |r| r.master.raw());
    let mut pid1 = Pid1::new(pid);
    loop {
        let mut fds = [
            PollFd::new(signals.raw(), POLLIN),
            PollFd::new(if stdin_open { 0 } else { -1 }, POLLIN),
            PollFd::new(if master_open { master } else { -1 }, POLLIN),
            PollFd::new(if pid1.started.is_none() { sync.0.raw() } else { -1 }, POLLIN),
        ];
        let timeout = (!pid1.held.is_empty()).then(|| Timespec::from_ms(1));
        match poll::poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(crate::error::Error::sys("poll", e)),
        }
        if fds[1].revents != 0 {
            stdin_open = pump(0, master);
        }
        if fds[2].revents != 0 {
            master_open = pump(master, 1);
        }
        if fds[3].revents != 0 && matches!(socket::recv(sync.0.raw(), MSG_DONTWAIT), Ok(None) | Err(_)) {
            // End of stream: the child's close-on-exec end went away, so PID 1 has been exec'd.
            pid1.started = Some(time::monotonic_ns());
        }
        if fds[0].revents != 0 {
            if let Some(status) = take_signals(&signals, &mut pid1, relay.as_deref_mut())? {
                if let Some(r) = relay {
                    drain(&r.master);
                }
                return Ok(status);
            }
        }
        pid1.deliver_held();
    }
}

/// The container's PID 1, and the signals held back from it while it cannot take them yet.
///
/// Why hold anything: until the init has exec'd and blocked its signals, a signal sent to it
/// either waits, blocked, in the launcher's child — which restores the caller's mask just
/// before exec — or reaches the init before it blocked it. Either way the kernel then discards
/// it: the first process of a PID namespace only receives the signals it has a handler for.
/// A SIGTERM sent to the launcher during start-up would be lost and the container never stop.
struct Pid1 {
    pid: i32,
    /// When the exec was seen.
    started: Option<u64>,
    held: SigSet,
}

/// How long to wait for an init to show it blocks a signal before sending it anyway (an init
/// that never blocks signals, from `--init` or `--init-bin`, or COMMAND itself with `--no-init`).
const READY_WAIT_NS: u64 = 100_000_000;

impl Pid1 {
    fn new(pid: i32) -> Pid1 {
        Pid1 { pid, started: None, held: SigSet::EMPTY }
    }

    fn forward(&mut self, sig: i32) {
        self.held = self.held.with(sig);
        self.deliver_held();
    }

    fn deliver_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let Some(started) = self.started else { return };
        if !blocks(self.pid, self.held) && time::monotonic_ns() - started < READY_WAIT_NS {
            return;
        }
        for sig in 1..=64 {
            if self.held.contains(sig) {
                let _ = process::kill(self.pid, sig);
            }
        }
        self.held = SigSet::EMPTY;
    }
}

/// Whether `pid` has every signal of `set` blocked (its SigBlk line in /proc/<pid>/status).
fn blocks(pid: i32, set: SigSet) -> bool {
    let mut path = Text::<32>::new();
    path.push("/proc/").push(pid).push("/status");
    let mut buf = [0u8; 2048];
    let Ok(p) = path.as_cstr() else { return false };
    let Ok(n) = fs::read_file(p, &mut buf) else { return false };
    let Some(at) = buf[..n].windows(8).position(|w| w == b"SigBlk:\t") else { return false };
    let blocked = buf[at + 8..n]
        .iter()
        .take_while(|c| c.is_ascii_hexdigit())
        .fold(0u64, |m, &c| m << 4 | (c as char).to_digit(16).unwrap_or(0) as u64);
    set.0 & !blocked == 0
}

/// Handles every pending signal; `Some(status)` once PID 1 has exited.
fn take_signals(signals: &Fd, pid1: &mut Pid1, relay: Option<&mut Relay>) -> Result<Option<WaitStatus>> {
    let mut exited = None;
    loop {
        match signal::read_signalfd(signals.raw()).context("cannot read the signalfd")? {
            0 => return Ok(exited),
            SIGCHLD => {
                if let Some((_, status)) = process::wait4(pid1.pid, WNOHANG).context("wait4")? {
                    exited = Some(status);
                }
            }
            // The kernel signals the pty's foreground group itself when its size changes.
            SIGWINCH if relay.is_some() => relay.as_ref().map_or((), |r| r.resize()),
            sig if FORWARDED.contains(sig) => pid1.forward(sig),
            _ => {}
        }
    }
}

/// Copies what is ready on `from` to `to`; false when `from` is finished (EOF or EIO: a pty
/// master reads EIO once no process holds the terminal open any more).
fn pump(from: i32, to: i32) -> bool {
    let mut buf = [0u8; 4096];
    match fs::read(from, &mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => fs::write_all(to, &buf[..n]).is_ok(),
    }
}

/// After PID 1 exited: the last output still buffered in the terminal.
fn drain(master: &Fd) {
    if let Ok(flags) = fs::fcntl(master.raw(), fs::F_GETFL, 0) {
        let _ = fs::fcntl(master.raw(), fs::F_SETFL, flags | fs::O_NONBLOCK as usize);
    }
    while pump(master.raw(), 1) {}
}
