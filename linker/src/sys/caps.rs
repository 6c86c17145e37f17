//! Capabilities: the three per-process sets (`capget`/`capset`, 64 bits each), the bounding set
//! and the ambient set (both through `prctl`).

use super::process::prctl;
use super::{Errno, Result, call};

const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The effective, permitted and inheritable sets; bit N is capability N.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

pub fn get() -> Result<Sets> {
    let mut header = Header { version: VERSION_3, pid: 0 };
    let mut data = [Data::default(); 2];
    // SAFETY: version 3 takes two Data records; both structs outlive the call.
    unsafe { call!(capget, &mut header as *mut Header, data.as_mut_ptr()) }?;
    let join = |lo: u32, hi: u32| lo as u64 | (hi as u64) << 32;
    Ok(Sets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

pub fn set(sets: Sets) -> Result<()> {
    let mut header = Header { version: VERSION_3, pid: 0 };
    let split = |s: u64, i: usize| (s >> (32 * i)) as u32;
    let data: [Data; 2] = core::array::from_fn(|i| Data {
        effective: split(sets.effective, i),
        permitted: split(sets.permitted, i),
        inheritable: split(sets.inheritable, i),
    });
    // SAFETY: version 3 reads two Data records; both structs outlive the call.
    unsafe { call!(capset, &mut header as *mut Header, data.as_ptr()) }.map(drop)
}

const PR_CAPBSET_READ: i32 = 23;
const PR_CAPBSET_DROP: i32 = 24;
const PR_CAP_AMBIENT: i32 = 47;
const PR_CAP_AMBIENT_CLEAR_ALL: usize = 4;

/// Whether capability `cap` exists on this kernel (the bounding set answers EINVAL past the last).
pub fn exists(cap: u32) -> bool {
    prctl(PR_CAPBSET_READ, cap as usize, 0, 0, 0).is_ok()
}

/// The highest capability this kernel knows: /proc/sys/kernel/cap_last_cap, or found by asking
/// the bounding set about each in turn when /proc cannot tell.
pub fn last() -> u32 {
    let mut buf = [0u8; 8];
    if let Ok(n) = super::fs::read_file(c"/proc/sys/kernel/cap_last_cap", &mut buf) {
        if let Some(last) = crate::text::decimal_value(buf[..n].trim_ascii()).filter(|&c| c < 64) {
            return last as u32;
        }
    }
    (0..64).take_while(|&c| exists(c)).last().unwrap_or(0)
}

/// Removes every capability not in `keep` from the bounding set. Returns the set of
/// capabilities this kernel knows.
pub fn limit_bounding(keep: u64) -> Result<u64> {
    let last = last().min(63);
    let known = if last == 63 { !0 } else { (1u64 << (last + 1)) - 1 };
    for cap in 0..=last {
        if keep & (1 << cap) == 0 {
            match prctl(PR_CAPBSET_DROP, cap as usize, 0, 0, 0) {
                Ok(_) | Err(Errno::EINVAL) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(known)
}

pub fn clear_ambient() -> Result<()> {
    match prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) {
        // Kernels before 4.3 have no ambient set, so there is nothing to clear.
        Err(Errno::EINVAL) => Ok(()),
        other => other.map(drop),
    }
}

const PR_CAP_AMBIENT_RAISE: usize = 2;

/// Adds each capability of `set` to the ambient set. One that is not both permitted and
/// inheritable cannot be, and is left out (as runc leaves it, with a warning); the others
/// still go in. Returns how many were left out.
pub fn raise_ambient(set: u64) -> usize {
    (0..64).filter(|c| set & (1 << c) != 0).filter(|&cap| prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0).is_err()).count()
}
