//! `bpf(2)`, only as far as cgroup device programs need it: load a program, attach it to a
//! cgroup2 directory.

use super::{Fd, Result, call};
use core::ffi::CStr;

const BPF_PROG_LOAD: usize = 5;
const BPF_PROG_ATTACH: usize = 8;
pub const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
pub const BPF_CGROUP_DEVICE: u32 = 6;
/// Programs of the ancestors keep running too; every one of them must allow an access.
pub const BPF_F_ALLOW_MULTI: u32 = 2;

/// One eBPF instruction, as `struct bpf_insn`: opcode, dst/src registers (4 bits each),
/// a signed offset and a signed immediate.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

/// The prefix of `union bpf_attr` that `BPF_PROG_LOAD` reads; the kernel wants the rest zero.
#[repr(C)]
#[derive(Default)]
struct LoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// Loads a program of `prog_type` for `attach_type`; `name` shows in `bpftool prog`.
pub fn prog_load(prog_type: u32, attach_type: u32, insns: &[Insn], license: &CStr, name: &[u8]) -> Result<Fd> {
    let mut attr = LoadAttr {
        prog_type,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        expected_attach_type: attach_type,
        ..Default::default()
    };
    let n = name.len().min(15);
    attr.prog_name[..n].copy_from_slice(&name[..n]);
    // SAFETY: `attr` and everything it points to outlive the call; its size is passed with it.
    let fd = unsafe { call!(bpf, BPF_PROG_LOAD, &attr as *const LoadAttr, core::mem::size_of::<LoadAttr>()) }?;
    // SAFETY: a successful BPF_PROG_LOAD returns a new descriptor that only we hold.
    Ok(unsafe { Fd::from_raw(fd as i32) })
}

/// Attaches the loaded program `prog` to the cgroup directory `cgroup`.
pub fn prog_attach(cgroup: i32, prog: i32, attach_type: u32, flags: u32) -> Result<()> {
    let attr = AttachAttr { target_fd: cgroup as u32, attach_bpf_fd: prog as u32, attach_type, attach_flags: flags, replace_bpf_fd: 0 };
    // SAFETY: `attr` outlives the call; its size is passed with it.
    unsafe { call!(bpf, BPF_PROG_ATTACH, &attr as *const AttachAttr, core::mem::size_of::<AttachAttr>()) }.map(drop)
}
