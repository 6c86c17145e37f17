//! The launcher while the container runs: forward signals to the container's PID 1, relay the
//! terminal, and wait for PID 1 to exit. Signals are blocked and read from a signalfd, so none
//! is lost and no handler ever runs.

use crate::error::{Context, Result};
use crate::tty::Relay;
use linker::sys::fs;
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
pub fn wait(pid: i32, mut relay: Option<&mut Relay>) -> Result<WaitStatus> {
    let signals = signal::signalfd(BLOCKED, signal::SFD_NONBLOCK).context("cannot create a signalfd")?;
    let mut stdin_open = relay.is_some();
    let mut master_open = relay.is_some();
    let master = relay.as_ref().map_or(-1, |r| r.master.raw());
    loop {
        let mut fds = [
            PollFd::new(signals.raw(), POLLIN),
            PollFd::new(if stdin_open { 0 } else { -1 }, POLLIN),
            PollFd::new(if master_open { master } else { -1 }, POLLIN),
        ];
        match poll::poll(&mut fds, None) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(crate::error::Error::sys("poll", e)),
        }
        if fds[1].revents != 0 {
            stdin_open = pump(0, master);
        }
        if fds[2].revents != 0 {
            master_open = pump(master, 1);
        }
        if fds[0].revents != 0 {
            if let Some(status) = take_signals(&signals, pid, relay.as_deref_mut())? {
                if let Some(r) = relay {
                    drain(&r.master);
                }
                return Ok(status);
            }
        }
    }
}

/// Handles every pending signal; `Some(status)` once PID 1 has exited.
fn take_signals(signals: &Fd, pid: i32, relay: Option<&mut Relay>) -> Result<Option<WaitStatus>> {
    let mut exited = None;
    loop {
        match signal::read_signalfd(signals.raw()).context("cannot read the signalfd")? {
            0 => return Ok(exited),
            SIGCHLD => {
                if let Some((_, status)) = process::wait4(pid, WNOHANG).context("wait4")? {
                    exited = Some(status);
                }
            }
            // The kernel signals the pty's foreground group itself when its size changes.
            SIGWINCH if relay.is_some() => relay.as_ref().map_or((), |r| r.resize()),
            sig if FORWARDED.contains(sig) => {
                let _ = process::kill(pid, sig);
            }
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
