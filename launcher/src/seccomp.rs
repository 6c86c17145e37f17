//! The default seccomp filter: the syscalls Docker's default profile refuses, refused with
//! EPERM — except where the container was given the capability that guards them (as Docker
//! does), so `--cap-add SYS_ADMIN` really allows `mount`. `--seccomp=unconfined` drops it.
//!
//! The filter is a short classic-BPF program: check the architecture (a 32-bit or x32 syscall
//! has other numbers: refuse it), then a search tree over the sorted denied numbers, so an
//! allowed syscall costs a handful of comparisons.

use crate::error::{Context, Result};
use linker::sys::Sysno;
use linker::sys::process::prctl;

const SYS_ADMIN: u8 = 21;
const NONE: u8 = 255;

/// Each refused syscall and the capability that makes it allowed after all, in syscall-number
/// order (the filter is a search tree over them; a unit test checks the order).
const DENIED: [(Sysno, u8); 50] = [
    (Sysno::ptrace, 19),
    (Sysno::syslog, 34),
    (Sysno::uselib, NONE),
    (Sysno::ustat, NONE),
    (Sysno::sysfs, NONE),
    (Sysno::vhangup, 26),
    (Sysno::pivot_root, SYS_ADMIN),
    (Sysno::_sysctl, NONE),
    (Sysno::acct, 20),
    (Sysno::settimeofday, 25),
    (Sysno::mount, SYS_ADMIN),
    (Sysno::umount2, SYS_ADMIN),
    (Sysno::swapon, SYS_ADMIN),
    (Sysno::swapoff, SYS_ADMIN),
    (Sysno::reboot, 22),
    (Sysno::iopl, 17),
    (Sysno::ioperm, 17),
    (Sysno::create_module, NONE),
    (Sysno::init_module, 16),
    (Sysno::delete_module, 16),
    (Sysno::get_kernel_syms, NONE),
    (Sysno::quotactl, SYS_ADMIN),
    (Sysno::nfsservctl, NONE),
    (Sysno::lookup_dcookie, NONE),
    (Sysno::clock_settime, 25),
    (Sysno::mbind, 23),
    (Sysno::set_mempolicy, 23),
    (Sysno::get_mempolicy, 23),
    (Sysno::kexec_load, NONE),
    (Sysno::add_key, NONE),
    (Sysno::request_key, NONE),
    (Sysno::keyctl, NONE),
    (Sysno::unshare, SYS_ADMIN),
    (Sysno::move_pages, 23),
    (Sysno::perf_event_open, SYS_ADMIN),
    (Sysno::name_to_handle_at, SYS_ADMIN),
    (Sysno::open_by_handle_at, NONE),
    (Sysno::clock_adjtime, 25),
    (Sysno::setns, SYS_ADMIN),
    (Sysno::process_vm_readv, 19),
    (Sysno::process_vm_writev, 19),
    (Sysno::kcmp, 19),
    (Sysno::finit_module, 16),
    (Sysno::kexec_file_load, NONE),
    (Sysno::bpf, SYS_ADMIN),
    (Sysno::userfaultfd, NONE),
    (Sysno::open_tree, SYS_ADMIN),
    (Sysno::move_mount, SYS_ADMIN),
    (Sysno::fsopen, SYS_ADMIN),
    (Sysno::pidfd_getfd, 19),
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
const JA: u16 = 0x05;
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

/// Where a jump goes, resolved once the whole program is laid out.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum To {
    #[default]
    Next,
    At(usize),
    Allow,
    Eperm,
    Enosys,
    CloneCheck,
}

#[derive(Clone, Copy)]
struct Op {
    code: u16,
    k: u32,
    jt: To,
    jf: To,
}

const MAX: usize = 128;

struct Builder {
    ops: [Op; MAX],
    len: usize,
    /// Where `To::CloneCheck` and `To::Allow` (followed by EPERM and ENOSYS) start.
    clone_check: usize,
    returns: usize,
}

impl Builder {
    fn op(&mut self, code: u16, k: u32, jt: To, jf: To) -> usize {
        self.ops[self.len] = Op { code, k, jt, jf };
        self.len += 1;
        self.len - 1
    }

    /// A search tree over the sorted `(nr, target)` pairs: a few comparisons per syscall
    /// instead of one per denied syscall; anything not listed is allowed.
    fn tree(&mut self, rules: &[(u32, To)]) {
        if rules.len() <= 3 {
            for &(nr, to) in rules {
                self.op(JEQ_K, nr, to, To::Next);
            }
            self.op(JA, 0, To::Allow, To::Allow);
            return;
        }
        let mid = rules.len() / 2;
        let split = self.op(JGE_K, rules[mid].0, To::Next, To::Next);
        self.tree(&rules[..mid]);
        self.ops[split].jt = To::At(self.len);
        self.tree(&rules[mid..]);
    }

    /// The final instructions, with every jump turned into an offset.
    fn assemble(&self) -> [Insn; MAX] {
        // Classic BPF only jumps forward: every target lies after its jump.
        let place = |to: To, i: usize| -> usize {
            match to {
                To::Next => i + 1,
                To::At(n) => n,
                To::CloneCheck => self.clone_check,
                To::Allow => self.returns,
                To::Eperm => self.returns + 1,
                To::Enosys => self.returns + 2,
            }
        };
        let mut out = [Insn::default(); MAX];
        for (i, op) in self.ops[..self.len].iter().enumerate() {
            out[i] = if op.code == JA {
                Insn { code: JA, jt: 0, jf: 0, k: (place(op.jt, i) - i - 1) as u32 }
            } else {
                let rel = |to| (place(to, i) - i - 1) as u8;
                Insn { code: op.code, jt: rel(op.jt), jf: rel(op.jf), k: op.k }
            };
        }
        out
    }
}

/// The program and its length.
fn build(caps: u64) -> ([Insn; MAX], usize) {
    let mut b = Builder { ops: [Op { code: 0, k: 0, jt: To::Next, jf: To::Next }; MAX], len: 0, clone_check: 0, returns: 0 };
    b.op(LD_W_ABS, OFFSET_ARCH, To::Next, To::Next);
    b.op(JEQ_K, AUDIT_ARCH_X86_64, To::At(3), To::Next);
    b.op(RET_K, RET_KILL_PROCESS, To::Next, To::Next);
    b.op(LD_W_ABS, OFFSET_NR, To::Next, To::Next);
    // x32 syscalls (bit 30) come through the same entry with other semantics.
    b.op(JGE_K, 0x4000_0000, To::Enosys, To::Next);
    // Without CAP_SYS_ADMIN, clone and clone3 get rules of their own: clone3 passes its flags in
    // memory a filter cannot read, so it gets ENOSYS (libcs then fall back to clone), and
    // clone's flags are checked for namespaces (CloneCheck, below).
    let admin = caps & (1 << SYS_ADMIN) != 0;
    let mut rules = linker::List::<(u32, To), { DENIED.len() + 2 }>::new();
    if !admin {
        let _ = rules.push((Sysno::clone as u32, To::CloneCheck));
    }
    let mut clone3_placed = admin;
    for (sysno, cap) in DENIED {
        if !clone3_placed && sysno as u32 > Sysno::clone3 as u32 {
            let _ = rules.push((Sysno::clone3 as u32, To::Enosys));
            clone3_placed = true;
        }
        if cap == NONE || caps & (1 << cap) == 0 {
            let _ = rules.push((sysno as u32, To::Eperm));
        }
    }
    b.tree(rules.as_slice());
    b.clone_check = b.len;
    b.op(LD_W_ABS, OFFSET_ARG0, To::Next, To::Next);
    b.op(JSET_K, CLONE_NAMESPACES, To::Eperm, To::Allow);
    b.returns = b.len;
    b.op(RET_K, RET_ALLOW, To::Next, To::Next);
    b.op(RET_K, RET_ERRNO | EPERM, To::Next, To::Next);
    b.op(RET_K, RET_ERRNO | ENOSYS, To::Next, To::Next);
    (b.assemble(), b.len)
}

const PR_SET_SECCOMP: i32 = 22;
const SECCOMP_MODE_FILTER: usize = 2;

/// Installs the filter for a container that keeps the capabilities `caps`.
pub fn install(caps: u64) -> Result<()> {
    let (insns, len) = build(caps);
    let prog = Program { len: len as u16, filter: insns.as_ptr() };
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog as *const Program as usize, 0, 0)
        .map(drop)
        .context("cannot install the seccomp filter")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic-BPF interpreter for the few opcodes the filter uses.
    fn run(b: &([Insn; MAX], usize), nr: u32, arch: u32, arg0: u32) -> u32 {
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            assert!(pc < b.1, "ran off the end");
            let i = b.0[pc];
            pc += 1;
            match i.code {
                JA => pc += i.k as usize,
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
    fn the_table_is_in_syscall_number_order_around_clone_and_clone3() {
        assert!(DENIED.windows(2).all(|w| (w[0].0 as u32) < (w[1].0 as u32)));
        assert!((Sysno::clone as u32) < DENIED[0].0 as u32);
        assert!(DENIED.iter().any(|d| d.0 as u32 > Sysno::clone3 as u32));
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
        assert!(default.1 < MAX);
        // Every syscall number below the table's end gets an answer without running off.
        for nr in 0..460 {
            let expected = match DENIED.iter().find(|d| d.0 as u32 == nr) {
                Some((_, cap)) if *cap == NONE || crate::spec::DEFAULT_CAPS & (1 << cap) == 0 => RET_ERRNO | EPERM,
                _ if nr == Sysno::clone3 as u32 => RET_ERRNO | ENOSYS,
                _ => RET_ALLOW,
            };
            assert_eq!(run(&default, nr, x86, 0), expected, "syscall {nr}");
        }
    }
}
