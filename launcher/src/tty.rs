//! The container's own terminal. When the user's stdin is a terminal (or `-t`), the container
//! gets a pseudo-terminal from its own devpts instance: its processes never hold the user's
//! terminal, so nothing inside can push keystrokes into the user's shell with TIOCSTI (the
//! class of bubblewrap CVE-2017-5226). The launcher relays bytes both ways with the user's
//! terminal in raw mode, follows window-size changes, and restores the terminal on every way
//! out that runs code (normal exit, error, forwarded signal).

use crate::error::{Context, Result};
use crate::spec::{Spec, Tty};
use crate::sync::ChildEnd;
use linker::sys::fs::{self, O_NOCTTY, O_RDWR};
use linker::sys::tty::{self, Termios};
use linker::Fd;

/// `-t`, `-T`, or by default: when both stdin and stdout are terminals. (With stdout captured
/// — `out=$(launcher …)`, a pipe — a terminal would turn every newline of the output into CRLF.)
pub fn wanted(spec: &Spec) -> bool {
    match spec.tty {
        Tty::Always => true,
        Tty::Never => false,
        Tty::Auto => tty::is_terminal(0) && tty::is_terminal(1),
    }
}

/// In the container, after pivot_root: a new pty from the container's own /dev/pts; the master
/// goes to the launcher, the peer becomes stdin, stdout, stderr and the controlling terminal of
/// this session (the init then hands it to COMMAND's process group).
pub fn attach_in_container(sync: &ChildEnd) -> Result<()> {
    let master = fs::open(c"/dev/pts/ptmx", O_RDWR | O_NOCTTY).context("cannot open /dev/pts/ptmx")?;
    let (peer, _) = tty::open_peer(master.raw()).context("cannot open the terminal's peer")?;
    sync.send_terminal(&master).context("cannot hand the terminal to the launcher")?;
    drop(master);
    for fd in 0..3 {
        fs::dup3(peer.raw(), fd, 0).context("cannot make the terminal stdio")?;
    }
    drop(peer);
    tty::set_controlling(0).context("cannot make the terminal the controlling terminal")
}

/// The launcher's side: the master, and the user's terminal settings to restore.
pub struct Relay {
    pub master: Fd,
    saved: Option<Termios>,
}

impl Relay {
    pub fn start(master: Fd) -> Relay {
        let saved = tty::get_attr(0).ok();
        let relay = Relay { master, saved };
        relay.resize();
        if let Some(t) = saved {
            // Every key, Ctrl-C included, now goes to the container's terminal.
            let _ = tty::set_attr(0, &t.raw());
        }
        relay
    }

    /// Copies the user's window size to the container's terminal (which signals SIGWINCH to
    /// its foreground group itself).
    pub fn resize(&self) {
        if let Ok(size) = tty::get_size(0).or_else(|_| tty::get_size(1)) {
            let _ = tty::set_size(self.master.raw(), size);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(t) = self.saved {
            let _ = tty::set_attr(0, &t);
        }
    }
}
