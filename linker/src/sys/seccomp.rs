//! `seccomp(2)`: install a classic-BPF syscall filter on this thread.

use super::{Result, call};

/// One classic-BPF instruction, as `struct sock_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct Program {
    len: u16,
    filter: *const SockFilter,
}

const SECCOMP_SET_MODE_FILTER: usize = 1;

const PR_SET_SECCOMP: usize = 22;
const SECCOMP_MODE_FILTER: usize = 2;

/// Installs `filter` with `flags` (`SECCOMP_FILTER_FLAG_*`). The caller must hold
/// CAP_SYS_ADMIN or have set no_new_privs. Without flags it goes through `prctl`, which
/// kernels before 3.17 and valgrind know too.
pub fn set_filter(filter: &[SockFilter], flags: u32) -> Result<()> {
    let prog = Program { len: filter.len().min(u16::MAX as usize) as u16, filter: filter.as_ptr() };
    let prog = &prog as *const Program;
    // SAFETY: `prog` describes `filter`'s instructions, both alive across the call; the
    // kernel copies the program and keeps no pointer into our memory.
    unsafe {
        match flags {
            0 => call!(prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog),
            _ => call!(seccomp, SECCOMP_SET_MODE_FILTER, flags as usize, prog),
        }
    }
    .map(drop)
}
