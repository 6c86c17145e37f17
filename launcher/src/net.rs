//! The container's own network namespace starts with a loopback device that is down; bring it
//! up so 127.0.0.1 works, as every runtime does.

use crate::error::{Context, Result};
use linker::sys::fs::ioctl_ptr;
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
