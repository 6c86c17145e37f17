//! The container's own network namespace starts with a loopback device that is down; bring it
//! up so 127.0.0.1 works, as every runtime does.

use crate::error::{Context, Result};
use core::ffi::CStr;
use linker::Fd;
use linker::sys::fs::{self, O_CLOEXEC, O_RDONLY, ioctl_ptr};
use linker::sys::ns::{self, CLONE_NEWNET};
use linker::sys::socket::{self, AF_INET, SOCK_DGRAM};

const SIOCGIFFLAGS: u64 = 0x8913;
const SIOCSIFFLAGS: u64 = 0x8914;
const IFF_UP: i16 = 0x1;

/// `struct ifreq` with the flags member of its union.
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: i16,
    _pad: [u8; 22],
}

pub fn loopback_up() -> Result<()> {
    let sock = socket::socket(AF_INET, SOCK_DGRAM, 0).context("cannot open a socket to configure lo")?;
    let mut req = IfReq { name: [0; 16], flags: 0, _pad: [0; 22] };
    req.name[..2].copy_from_slice(b"lo");
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS take a struct ifreq, which IfReq lays out (40 bytes).
    unsafe { ioctl_ptr(sock.raw(), SIOCGIFFLAGS, &mut req) }.context("cannot read lo's flags")?;
    req.flags |= IFF_UP;
    // SAFETY: as above.
    unsafe { ioctl_ptr(sock.raw(), SIOCSIFFLAGS, &mut req) }.context("cannot bring lo up")?;
    Ok(())
}

/// The launcher's own network namespace while it is in the container's for the clone.
pub struct Away(Fd);

/// Enters the network namespace at `path` (a namespace joined by path: `--net ns:PATH`,
/// pasta's, an engine's) so that the container is cloned into it. With root the launcher
/// enters it; the child could not once it has a user namespace of its own, which has no
/// say over a namespace the host's root, or nobody's, owns.
pub fn enter(path: &'static CStr) -> Result<Away> {
    let ours = fs::open(c"/proc/self/ns/net", O_RDONLY | O_CLOEXEC).context("cannot open /proc/self/ns/net")?;
    let theirs = fs::open(path, O_RDONLY | O_CLOEXEC).context_on("cannot open the network namespace", path)?;
    ns::setns(theirs.raw(), CLONE_NEWNET).context_on("cannot join the network namespace", path)?;
    Ok(Away(ours))
}

impl Away {
    /// Back to the launcher's own network namespace.
    pub fn back(self) -> Result<()> {
        ns::setns(self.0.raw(), CLONE_NEWNET).context("cannot return to the launcher's network namespace")
    }
}
