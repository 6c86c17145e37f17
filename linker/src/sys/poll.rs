//! Waiting on several descriptors at once.

use super::{Result, call, time::Timespec};

pub const POLLIN: i16 = 1;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PollFd {
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}

impl PollFd {
    pub const fn new(fd: i32, events: i16) -> PollFd {
        PollFd { fd, events, revents: 0 }
    }
}

/// `ppoll(2)`: how many descriptors are ready; `None` waits for ever. A negative `fd` is skipped.
pub fn poll(fds: &mut [PollFd], timeout: Option<Timespec>) -> Result<usize> {
    let ts = timeout.unwrap_or_default();
    let tp = if timeout.is_some() { &ts as *const Timespec } else { core::ptr::null() };
    // SAFETY: `fds` is a live array of pollfd; no signal mask is passed.
    unsafe { call!(ppoll, fds.as_mut_ptr(), fds.len(), tp, 0usize, 8usize) }
}
