//! The channel between the launcher and the container's first process: a SOCK_SEQPACKET pair.
//!
//! - parent → child: one byte once the child is in its cgroups: "go on". The child prepares the
//!   container meanwhile but blocks before dropping privileges and exec, so limits hold before
//!   COMMAND's first instruction even where the child must be moved by pid (cgroup v1).
//! - child → parent: the container terminal's master side (SCM_RIGHTS), when there is one;
//!   for an OCI `create`, one byte once PID 1 is set up and waits on the exec fifo — or the
//!   line that says why its setup failed, which the creator reports as its own.
//!
//! End of stream tells each side the other is gone: the child's end is close-on-exec, so the
//! parent sees it close when the init starts (or the child dies); the child checks the parent
//! is still there after arming its parent-death signal.

use linker::sys::socket::{self, AF_UNIX, MSG_DONTWAIT, MSG_PEEK, SOCK_SEQPACKET};
use linker::sys::{Errno, Fd, Result};

pub struct ParentEnd(pub Fd);
pub struct ChildEnd(pub Fd);

pub fn channel() -> Result<(ParentEnd, ChildEnd)> {
    let (a, b) = socket::socketpair(AF_UNIX, SOCK_SEQPACKET)?;
    Ok((ParentEnd(a), ChildEnd(b)))
}

const GO: u8 = b'G';
const TERMINAL: u8 = b'T';
/// PID 1 of an OCI `create` is set up, or failed (followed by the line that says why): read
/// by the OCI front end.
pub const READY: u8 = b'R';
pub const FAILED: u8 = b'F';

impl ParentEnd {
    pub fn release(&self) -> Result<()> {
        socket::send(self.0.raw(), GO, None)
    }

    /// Waits for the child's terminal, or for the child to exec or die (`None`).
    pub fn receive_terminal(&self) -> Result<Option<Fd>> {
        match socket::recv(self.0.raw(), 0)? {
            Some((TERMINAL, Some(fd))) => Ok(Some(fd)),
            _ => Ok(None),
        }
    }
}

impl ChildEnd {
    /// Blocks until the parent says go; `Err(EPIPE)` if it died first.
    pub fn wait_for_release(&self) -> Result<()> {
        match socket::recv(self.0.raw(), 0)? {
            Some((GO, _)) => Ok(()),
            _ => Err(Errno::EPIPE),
        }
    }

    /// Whether the parent still holds its end (it has not exited).
    pub fn parent_alive(&self) -> bool {
        !matches!(socket::recv(self.0.raw(), MSG_DONTWAIT | MSG_PEEK), Ok(None))
    }

    pub fn send_ready(&self) -> Result<()> {
        socket::send(self.0.raw(), READY, None)
    }

    pub fn send_terminal(&self, master: &Fd) -> Result<()> {
        socket::send(self.0.raw(), TERMINAL, Some(master.raw()))
    }
}
