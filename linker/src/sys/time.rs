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

/// CLOCK_REALTIME: seconds and nanoseconds since the Unix epoch.
pub fn realtime() -> Timespec {
    let mut ts = Timespec::default();
    // SAFETY: the kernel fills `ts`; CLOCK_REALTIME cannot fail with a valid pointer.
    let _ = unsafe { call!(clock_gettime, libc::CLOCK_REALTIME, &mut ts as *mut Timespec) };
    ts
}

/// `2026-11-29T12:34:56.123456789Z` (RFC 3339, UTC) for a time since the epoch.
pub fn rfc3339(ts: Timespec) -> crate::Text<40> {
    let days = ts.sec.div_euclid(86_400);
    let secs = ts.sec.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    let mut t = crate::Text::new();
    let two = |t: &mut crate::Text<40>, n: i64| {
        if n < 10 {
            t.push("0");
        }
        t.push(n as u64);
    };
    t.push(year as u64).push("-");
    two(&mut t, month);
    t.push("-");
    two(&mut t, day);
    t.push("T");
    two(&mut t, secs / 3600);
    t.push(":");
    two(&mut t, secs / 60 % 60);
    t.push(":");
    two(&mut t, secs % 60);
    let mut frac = crate::Text::<16>::new();
    frac.push(ts.nsec as u64);
    t.push(".");
    for _ in frac.len()..9 {
        t.push("0");
    }
    t.bytes(frac.as_bytes()).push("Z");
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(Timespec { sec: 0, nsec: 0 }).as_bytes(), b"1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(Timespec { sec: 1_796_214_896, nsec: 5 }).as_bytes(), b"2026-12-02T12:34:56.000000005Z");
        assert_eq!(rfc3339(Timespec { sec: 951_782_400, nsec: 0 }).as_bytes(), b"2000-02-29T00:00:00.000000000Z");
    }
}
