//! Clocks and sleeping.

use super::{Result, call};

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

impl Timespec {
    pub const fn from_ms(ms: u64) -> Timespec {
        Timespec { sec: (ms / 1000) as i64, nsec: ((ms % 1000) * 1_000_000) as i64 }
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = Timespec::default();
    // SAFETY: the kernel fills `ts`; CLOCK_MONOTONIC cannot fail with a valid pointer.
    let _ = unsafe { call!(clock_gettime, libc::CLOCK_MONOTONIC, &mut ts as *mut Timespec) };
    ts.sec as u64 * 1_000_000_000 + ts.nsec as u64
}

/// Sleeps for `ms` milliseconds (a signal may cut it short).
pub fn sleep_ms(ms: u64) -> Result<()> {
    let ts = Timespec::from_ms(ms);
    // SAFETY: `ts` outlives the call; no remainder is asked for.
    unsafe { call!(nanosleep, &ts as *const Timespec, 0usize) }.map(drop)
}
