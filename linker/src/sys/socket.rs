//! Sockets: the parent–child channel (a `SOCK_SEQPACKET` pair that can carry a descriptor) and
//! the datagram socket used for interface ioctls.

use super::{Errno, Fd, Result, call, retry};

pub use libc::{AF_INET, AF_UNIX, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM};

/// `struct sockaddr_un`.
#[repr(C)]
struct UnixAddr {
    family: u16,
    path: [u8; 108],
}

/// A stream socket connected to the unix socket at `path` (at most 107 bytes).
#[inline]
pub fn connect_unix(path: &[u8]) -> Result<Fd> {
    connect_unix_as(SOCK_STREAM, path)
}

/// A socket of `kind` (`SOCK_STREAM`, `SOCK_DGRAM`…) connected to the unix socket at `path`.
pub fn connect_unix_as(kind: i32, path: &[u8]) -> Result<Fd> {
    if path.len() >= 108 {
        return Err(Errno::ENAMETOOLONG);
    }
    let sock = socket(AF_UNIX, kind, 0)?;
    let mut addr = UnixAddr { family: AF_UNIX as u16, path: [0; 108] };
    addr.path[..path.len()].copy_from_slice(path);
    // SAFETY: `addr` is a sockaddr_un of the length passed, alive for the call.
    retry(|| unsafe { call!(connect, sock.raw(), &addr as *const UnixAddr, core::mem::size_of::<UnixAddr>()) })?;
    Ok(sock)
}

pub fn socket(domain: i32, kind: i32, protocol: i32) -> Result<Fd> {
    // SAFETY: plain integer arguments.
    let fd = unsafe { call!(socket, domain, kind | libc::SOCK_CLOEXEC, protocol) }?;
    // SAFETY: the kernel just handed us this descriptor.
    Ok(unsafe { Fd::from_raw(fd as i32) })
}

pub fn socketpair(domain: i32, kind: i32) -> Result<(Fd, Fd)> {
    let mut fds = [0i32; 2];
    // SAFETY: the kernel writes two ints into `fds`.
    unsafe { call!(socketpair, domain, kind | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) }?;
    // SAFETY: both descriptors were just created for us.
    Ok(unsafe { (Fd::from_raw(fds[0]), Fd::from_raw(fds[1])) })
}

#[repr(C)]
struct IoVec {
    base: *mut u8,
    len: usize,
}

#[repr(C)]
struct MsgHdr {
    name: *mut u8,
    namelen: u32,
    iov: *mut IoVec,
    iovlen: usize,
    control: *mut u8,
    controllen: usize,
    flags: i32,
}

/// `struct cmsghdr` followed by one descriptor, padded as CMSG_SPACE(sizeof(int)) wants.
#[repr(C)]
struct FdControl {
    len: usize,
    level: i32,
    kind: i32,
    fd: i32,
    _pad: i32,
}

const SCM_RIGHTS: i32 = 1;
const SOL_SOCKET: i32 = 1;
const MSG_CMSG_CLOEXEC: i32 = 0x4000_0000;
pub const MSG_DONTWAIT: i32 = 0x40;
pub const MSG_PEEK: i32 = 2;

/// Sends one byte, with `fd` attached when given (SCM_RIGHTS).
pub fn send(sock: i32, byte: u8, fd: Option<i32>) -> Result<()> {
    let mut data = [byte];
    let mut iov = IoVec { base: data.as_mut_ptr(), len: 1 };
    let mut control = FdControl { len: 16 + 4, level: SOL_SOCKET, kind: SCM_RIGHTS, fd: fd.unwrap_or(-1), _pad: 0 };
    let msg = MsgHdr {
        name: core::ptr::null_mut(),
        namelen: 0,
        iov: &mut iov,
        iovlen: 1,
        control: if fd.is_some() { &mut control as *mut FdControl as *mut u8 } else { core::ptr::null_mut() },
        controllen: if fd.is_some() { core::mem::size_of::<FdControl>() } else { 0 },
        flags: 0,
    };
    // SAFETY: every pointer in `msg` refers to a live local for the duration of the call.
    retry(|| unsafe { call!(sendmsg, sock, &msg as *const MsgHdr, libc::MSG_NOSIGNAL) }).map(drop)
}

/// Receives one byte and the descriptor attached to it, if any. `Ok(None)` at end of stream
/// (the other side closed: it exited, or it exec'd and the close-on-exec end went away).
pub fn recv(sock: i32, flags: i32) -> Result<Option<(u8, Option<Fd>)>> {
    let mut data = [0u8];
    let mut iov = IoVec { base: data.as_mut_ptr(), len: 1 };
    let mut control = FdControl { len: 0, level: 0, kind: 0, fd: -1, _pad: 0 };
    let mut msg = MsgHdr {
        name: core::ptr::null_mut(),
        namelen: 0,
        iov: &mut iov,
        iovlen: 1,
        control: &mut control as *mut FdControl as *mut u8,
        controllen: core::mem::size_of::<FdControl>(),
        flags: 0,
    };
    // SAFETY: every pointer in `msg` refers to a live local for the duration of the call.
    let n = retry(|| unsafe { call!(recvmsg, sock, &mut msg as *mut MsgHdr, flags | MSG_CMSG_CLOEXEC) })?;
    if n == 0 {
        return Ok(None);
    }
    let fd = if msg.controllen >= 20 && control.level == SOL_SOCKET && control.kind == SCM_RIGHTS {
        // SAFETY: the kernel installed this descriptor in our table for us.
        Some(unsafe { Fd::from_raw(control.fd) })
    } else {
        None
    };
    if msg.flags & libc::MSG_CTRUNC != 0 {
        return Err(Errno::EMSGSIZE);
    }
    Ok(Some((data[0], fd)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fs;

    #[test]
    fn a_descriptor_crosses_a_socketpair() {
        let (a, b) = socketpair(AF_UNIX, SOCK_SEQPACKET).unwrap();
        let (r, w) = fs::pipe2(0).unwrap();
        send(a.raw(), b'x', Some(w.raw())).unwrap();
        drop(w);
        let (byte, got) = recv(b.raw(), 0).unwrap().unwrap();
        assert_eq!(byte, b'x');
        let got = got.expect("a descriptor");
        fs::write_all(got.raw(), b"hi").unwrap();
        let mut buf = [0u8; 2];
        fs::read(r.raw(), &mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        send(a.raw(), b'y', None).unwrap();
        assert!(matches!(recv(b.raw(), 0), Ok(Some((b'y', None)))));
        drop(a);
        assert!(matches!(recv(b.raw(), 0), Ok(None)));
    }
}
