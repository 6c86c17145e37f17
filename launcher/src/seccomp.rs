//! The default seccomp filter: the syscalls Docker's default profile refuses, refused with
//! EPERM — except where the container was given the capability that guards them (as Docker
//! does), so `--cap-add SYS_ADMIN` really allows `mount`. `--seccomp=unconfined` drops it.
//!
//! The filter is a short classic-BPF program: check the architecture (a 32-bit or x32 syscall
//! has other numbers: refuse it), then one compare-and-return per denied syscall.

use crate::error::{Context, Result};
use linker::sys::Sysno;
use linker::sys::process::prctl;

const SYS_ADMIN: u8 = 21;
const NONE: u8 = 255;

/// Each refused syscall and the capability that makes it allowed after all.
const DENIED: [(Sysno, u8); 50] = [
    (Sysno::acct, 20),
    (Sysno::add_key, NONE),
    (Sysno::bpf, SYS_ADMIN),
    (Sysno::clock_adjtime, 25),
    (Sysno::clock_settime, 25),
    (Sysno::settimeofday, 25),
    (Sysno::create_module, NONE),
    (Sysno::delete_module, 16),
    (Sysno::finit_module, 16),
    (Sysno::init_module, 16),
    (Sysno::get_kernel_syms, NONE),
    (Sysno::get_mempolicy, 23),
    (Sysno::mbind, 23),
    (Sysno::set_mempolicy, 23),
    (Sysno::move_pages, 23),
    (Sysno::ioperm, 17),
    (Sysno::iopl, 17),
    (Sysno::kcmp, 19),
    (Sysno::process_vm_readv, 19),
    (Sysno::process_vm_writev, 19),
    (Sysno::ptrace, 19),
    (Sysno::pidfd_getfd, 19),
    (Sysno::kexec_file_load, NONE),
    (Sysno::kexec_load, NONE),
    (Sysno::keyctl, NONE),
    (Sysno::request_key, NONE),
    (Sysno::lookup_dcookie, NONE),
    (Sysno::nfsservctl, NONE),
    (Sysno::open_by_handle_at, NONE),
    (Sysno::name_to_handle_at, SYS_ADMIN),
    (Sysno::perf_event_open, SYS_ADMIN),
    (Sysno::quotactl, SYS_ADMIN),
    (Sysno::reboot, 22),
    (Sysno::swapon, SYS_ADMIN),
    (Sysno::swapoff, SYS_ADMIN),
    (Sysno::sysfs, NONE),
    (Sysno::_sysctl, NONE),
    (Sysno::uselib, NONE),
    (Sysno::userfaultfd, NONE),
    (Sysno::ustat, NONE),
    (Sysno::vhangup, 26),
    (Sysno::syslog, 34),
    (Sysno::mount, SYS_ADMIN),
    (Sysno::umount2, SYS_ADMIN),
    (Sysno::pivot_root, SYS_ADMIN),
    (Sysno::setns, SYS_ADMIN),
    (Sysno::unshare, SYS_ADMIN),
    (Sysno::fsopen, SYS_ADMIN),
    (Sysno::open_tree, SYS_ADMIN),
    (Sysno::move_mount, SYS_ADMIN),
];

/// Namespace flags a plain `clone` may not carry without CAP_SYS_ADMIN.
const CLONE_NAMESPACES: u32 = 0x7e02_0000;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

#[repr(C)]
struct Program {
    len: u16,
    filter: *const Insn,
}

const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const EPERM: u32 = 1;
const ENOSYS: u32 = 38;
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const OFFSET_ARG0: u32 = 16;

struct Builder {
    insns: [Insn; 128],
    len: usize,
}

impl Builder {
    fn op(&mut self, code: u16, k: u32, jt: u8, jf: u8) {
        self.insns[self.len] = Insn { code, jt, jf, k };
        self.len += 1;
    }
    fn deny(&mut self, nr: u32, errno: u32) {
        self.op(JEQ_K, nr, 0, 1);
        self.op(RET_K, RET_ERRNO | errno, 0, 0);
    }
}

fn build(caps: u64) -> Builder {
    let mut b = Builder { insns: [Insn::default(); 128], len: 0 };
    b.op(LD_W_ABS, OFFSET_ARCH, 0, 0);
    b.op(JEQ_K, AUDIT_ARCH_X86_64, 1, 0);
    b.op(RET_K, RET_KILL_PROCESS, 0, 0);
    b.op(LD_W_ABS, OFFSET_NR, 0, 0);
    // x32 syscalls (bit 30) come through the same entry with other semantics.
    b.op(JGE_K, 0x4000_0000, 0, 1);
    b.op(RET_K, RET_ERRNO | ENOSYS, 0, 0);
    let admin = caps & (1 << SYS_ADMIN) != 0;
    for (sysno, cap) in DENIED {
        if cap == NONE || caps & (1 << cap) == 0 {
            b.deny(sysno as u32, EPERM);
        }
    }
    if !admin {
        // clone3 passes its flags in memory a filter cannot read: ENOSYS makes libcs fall back
        // to clone, whose flags are checked below.
        b.deny(Sysno::clone3 as u32, ENOSYS);
        b.op(JEQ_K, Sysno::clone as u32, 0, 3);
        b.op(LD_W_ABS, OFFSET_ARG0, 0, 0);
        b.op(JSET_K, CLONE_NAMESPACES, 0, 1);
        b.op(RET_K, RET_ERRNO | EPERM, 0, 0);
    }
    b.op(RET_K, RET_ALLOW, 0, 0);
    b
}

const PR_SET_SECCOMP: i32 = 22;
const SECCOMP_MODE_FILTER: usize = 2;

/// Installs the filter for a container that keeps the capabilities `caps`.
pub fn install(caps: u64) -> Result<()> {
    let b = build(caps);
    let prog = Program { len: b.len as u16, filter: b.insns.as_ptr() };
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog as *const Program as usize, 0, 0)
        .map(drop)
        .context("cannot install the seccomp filter")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic-BPF interpreter for the few opcodes the filter uses.
    fn run(b: &Builder, nr: u32, arch: u32, arg0: u32) -> u32 {
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = b.insns[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => acc = match i.k { OFFSET_NR => nr, OFFSET_ARCH => arch, OFFSET_ARG0 => arg0, _ => panic!() },
                JEQ_K => pc += if acc == i.k { i.jt } else { i.jf } as usize,
                JGE_K => pc += if acc >= i.k { i.jt } else { i.jf } as usize,
                JSET_K => pc += if acc & i.k != 0 { i.jt } else { i.jf } as usize,
                RET_K => return i.k,
                _ => panic!("opcode"),
            }
        }
    }

    #[test]
    fn denies_what_docker_denies_unless_the_capability_is_kept() {
        let default = build(crate::spec::DEFAULT_CAPS);
        let x86 = AUDIT_ARCH_X86_64;
        assert_eq!(run(&default, Sysno::read as u32, x86, 0), RET_ALLOW);
        assert_eq!(run(&default, Sysno::mount as u32, x86, 0), RET_ERRNO | EPERM);
        assert_eq!(run(&default, Sysno::kexec_load as u32, x86, 0), RET_ERRNO | EPERM);
        assert_eq!(run(&default, Sysno::clone as u32, x86, 0x0001_1200), RET_ALLOW);
        assert_eq!(run(&default, Sysno::clone as u32, x86, 0x1000_0000), RET_ERRNO | EPERM);
        assert_eq!(run(&default, Sysno::clone3 as u32, x86, 0), RET_ERRNO | ENOSYS);
        assert_eq!(run(&default, 0x4000_0000, x86, 0), RET_ERRNO | ENOSYS);
        assert_eq!(run(&default, 0, 0x4000_0003, 0), RET_KILL_PROCESS);
        let admin = build(crate::spec::DEFAULT_CAPS | 1 << SYS_ADMIN);
        assert_eq!(run(&admin, Sysno::mount as u32, x86, 0), RET_ALLOW);
        assert_eq!(run(&admin, Sysno::clone as u32, x86, 0x1000_0000), RET_ALLOW);
        assert_eq!(run(&admin, Sysno::kexec_load as u32, x86, 0), RET_ERRNO | EPERM);
        assert!(default.len < 128);
    }
}
