//! Terminals: the kernel's `struct termios` (not libc's larger one), window sizes, controlling
//! terminals and foreground groups, and the pseudo-terminal master/peer pair.

use super::fs::{ioctl_int, ioctl_ptr};
use super::{Fd, Result};

const TCGETS: u64 = 0x5401;
const TCSETSW: u64 = 0x5403;
const TIOCSCTTY: u64 = 0x540e;
const TIOCSPGRP: u64 = 0x5410;
const TIOCGWINSZ: u64 = 0x5413;
const TIOCSWINSZ: u64 = 0x5414;
const TIOCGPTN: u64 = 0x8004_5430;
const TIOCSPTLCK: u64 = 0x4004_5431;
const TIOCGPTPEER: u64 = 0x5441;
pub const TIOCSTI: u64 = 0x5412;

/// The kernel's `struct termios` (36 bytes), as TCGETS and TCSETS* use it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; 19],
}

impl Termios {
    /// What `cfmakeraw(3)` does: no line editing, no echo, no signals from keys, 8-bit bytes.
    pub fn raw(mut self) -> Termios {
        const IGNBRK: u32 = 0o1;
        const BRKINT: u32 = 0o2;
        const PARMRK: u32 = 0o10;
        const ISTRIP: u32 = 0o40;
        const INLCR: u32 = 0o100;
        const IGNCR: u32 = 0o200;
        const ICRNL: u32 = 0o400;
        const IXON: u32 = 0o2000;
        const OPOST: u32 = 0o1;
        const ISIG: u32 = 0o1;
        const ICANON: u32 = 0o2;
        const ECHO: u32 = 0o10;
        const ECHONL: u32 = 0o100;
        const IEXTEN: u32 = 0o100000;
        const CSIZE: u32 = 0o60;
        const PARENB: u32 = 0o400;
        const CS8: u32 = 0o60;
        const VTIME: usize = 5;
        const VMIN: usize = 6;
        self.iflag &= !(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        self.oflag &= !OPOST;
        self.lflag &= !(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        self.cflag &= !(CSIZE | PARENB);
        self.cflag |= CS8;
        self.cc[VMIN] = 1;
        self.cc[VTIME] = 0;
        self
    }
}

pub fn get_attr(fd: i32) -> Result<Termios> {
    let mut t = Termios::default();
    // SAFETY: TCGETS writes one kernel termios into `t`.
    unsafe { ioctl_ptr(fd, TCGETS, &mut t) }?;
    Ok(t)
}

/// Sets attributes after pending output has drained (TCSADRAIN).
pub fn set_attr(fd: i32, t: &Termios) -> Result<()> {
    let mut copy = *t;
    // SAFETY: TCSETSW reads one kernel termios.
    unsafe { ioctl_ptr(fd, TCSETSW, &mut copy) }.map(drop)
}

pub fn is_terminal(fd: i32) -> bool {
    get_attr(fd).is_ok()
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WinSize {
    pub rows: u16,
    pub cols: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}

pub fn get_size(fd: i32) -> Result<WinSize> {
    let mut w = WinSize::default();
    // SAFETY: TIOCGWINSZ writes one winsize.
    unsafe { ioctl_ptr(fd, TIOCGWINSZ, &mut w) }?;
    Ok(w)
}

pub fn set_size(fd: i32, w: WinSize) -> Result<()> {
    let mut copy = w;
    // SAFETY: TIOCSWINSZ reads one winsize.
    unsafe { ioctl_ptr(fd, TIOCSWINSZ, &mut copy) }.map(drop)
}

/// Makes `fd` the caller's controlling terminal (the caller must be a session leader).
pub fn set_controlling(fd: i32) -> Result<()> {
    ioctl_int(fd, TIOCSCTTY, 0).map(drop)
}

/// Makes process group `pgrp` the terminal's foreground group (`tcsetpgrp`).
pub fn set_foreground(fd: i32, pgrp: i32) -> Result<()> {
    let mut p = pgrp;
    // SAFETY: TIOCSPGRP reads one pid_t.
    unsafe { ioctl_ptr(fd, TIOCSPGRP, &mut p) }.map(drop)
}

/// Unlocks a pty master and opens its peer (the slave) without a path lookup; returns the
/// peer and its number (N of /dev/pts/N).
pub fn open_peer(master: i32) -> Result<(Fd, u32)> {
    let mut unlock = 0i32;
    // SAFETY: TIOCSPTLCK reads one int.
    unsafe { ioctl_ptr(master, TIOCSPTLCK, &mut unlock) }?;
    let mut n = 0u32;
    // SAFETY: TIOCGPTN writes one unsigned int.
    unsafe { ioctl_ptr(master, TIOCGPTN, &mut n) }?;
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    let peer = ioctl_int(master, TIOCGPTPEER, flags as usize)?;
    // SAFETY: TIOCGPTPEER returned a new descriptor that we own.
    Ok((unsafe { Fd::from_raw(peer as i32) }, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termios_is_the_kernel_layout() {
        assert_eq!(core::mem::size_of::<Termios>(), 36);
        let raw = Termios { lflag: 0o100073, iflag: 0o2400, oflag: 1, ..Default::default() }.raw();
        assert_eq!(raw.lflag & 0o100013, 0);
        assert_eq!(raw.oflag, 0);
        assert_eq!(raw.cc[6], 1);
    }
}
