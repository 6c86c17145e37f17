//! The default seccomp filter: an allow list with the content and argument rules of Docker's
//! default profile (x86_64), so a container reaches exactly the kernel surface a Docker
//! container reaches. A syscall outside the list gets EPERM; one newer than every syscall the
//! list knows (above [`NEWEST_KNOWN`]) gets ENOSYS, so programs fall back as on an older
//! kernel. Where the container keeps the capability that guards a syscall, it is allowed as
//! in Docker (`--cap-add SYS_ADMIN` really allows `mount`). `--seccomp=unconfined` drops it.
//!
//! The filter is a short classic-BPF program: check the architecture (a 32-bit or x32 syscall
//! has other numbers: refuse it), then a search tree over the ranges of syscall numbers that
//! share an outcome, so any syscall costs a handful of comparisons; the few with argument
//! rules (`clone`, `socket`, `personality`) jump to a block of their own.

use crate::error::{Context, Result};
use linker::sys::Sysno;
use linker::sys::process::prctl;

/// Syscall names → their x86_64 numbers as `u16`, at compile time (a quarter of the size of a
/// table of `Sysno`s in the binary).
macro_rules! sysnos {
    ($($name:ident),* $(,)?) => { [$(Sysno::$name as u16),*] };
}

/// Allowed whatever the capabilities: Docker's list, less the names x86_64 does not have
/// (the 32-bit `*64`/`*32` variants, `socketcall`, …) and the `io_uring_*` calls (refused by
/// Docker since 25.0). `ptrace` and `process_vm_*` are in it (Docker allows them on kernels
/// 4.8+, where seccomp runs after the ptrace checks).
const ALLOWED: [u16; 291] = sysnos![
    read, write, open, close, stat, fstat, lstat, poll, lseek, mmap, mprotect, munmap, brk,
    rt_sigaction, rt_sigprocmask, rt_sigreturn, ioctl, pread64, pwrite64, readv, writev, access,
    pipe, select, sched_yield, mremap, msync, mincore, madvise, shmget, shmat, shmctl, dup, dup2,
    pause, nanosleep, getitimer, alarm, setitimer, getpid, sendfile, connect, accept, sendto,
    recvfrom, sendmsg, recvmsg, shutdown, bind, listen, getsockname, getpeername, socketpair,
    setsockopt, getsockopt, fork, vfork, execve, exit, wait4, kill, uname, semget, semop, semctl,
    shmdt, msgget, msgsnd, msgrcv, msgctl, fcntl, flock, fsync, fdatasync, truncate, ftruncate,
    getdents, getcwd, chdir, fchdir, rename, mkdir, rmdir, creat, link, unlink, symlink, readlink,
    chmod, fchmod, chown, fchown, lchown, umask, gettimeofday, getrlimit, getrusage, sysinfo, times,
    ptrace, getuid, getgid, setuid, setgid, geteuid, getegid, setpgid, getppid, getpgrp, setsid,
    setreuid, setregid, getgroups, setgroups, setresuid, getresuid, setresgid, getresgid, getpgid,
    setfsuid, setfsgid, getsid, capget, capset, rt_sigpending, rt_sigtimedwait, rt_sigqueueinfo,
    rt_sigsuspend, sigaltstack, utime, mknod, statfs, fstatfs, getpriority, setpriority,
    sched_setparam, sched_getparam, sched_setscheduler, sched_getscheduler, sched_get_priority_max,
    sched_get_priority_min, sched_rr_get_interval, mlock, munlock, mlockall, munlockall, modify_ldt,
    prctl, arch_prctl, adjtimex, setrlimit, sync, gettid, readahead, setxattr, lsetxattr, fsetxattr,
    getxattr, lgetxattr, fgetxattr, listxattr, llistxattr, flistxattr, removexattr, lremovexattr,
    fremovexattr, tkill, time, futex, sched_setaffinity, sched_getaffinity, set_thread_area,
    io_setup, io_destroy, io_getevents, io_submit, io_cancel, get_thread_area, epoll_create,
    epoll_ctl_old, epoll_wait_old, remap_file_pages, getdents64, set_tid_address, restart_syscall,
    semtimedop, fadvise64, timer_create, timer_settime, timer_gettime, timer_getoverrun,
    timer_delete, clock_gettime, clock_getres, clock_nanosleep, exit_group, epoll_wait, epoll_ctl,
    tgkill, utimes, mq_open, mq_unlink, mq_timedsend, mq_timedreceive, mq_notify, mq_getsetattr,
    waitid, ioprio_set, ioprio_get, inotify_init, inotify_add_watch, inotify_rm_watch, openat,
    mkdirat, mknodat, fchownat, futimesat, newfstatat, unlinkat, renameat, linkat, symlinkat,
    readlinkat, fchmodat, faccessat, pselect6, ppoll, set_robust_list, get_robust_list, splice, tee,
    sync_file_range, vmsplice, utimensat, epoll_pwait, signalfd, timerfd_create, eventfd, fallocate,
    timerfd_settime, timerfd_gettime, accept4, signalfd4, eventfd2, epoll_create1, dup3, pipe2,
    inotify_init1, preadv, pwritev, rt_tgsigqueueinfo, recvmmsg, fanotify_mark, prlimit64,
    name_to_handle_at, clock_adjtime, syncfs, sendmmsg, getcpu, process_vm_readv, process_vm_writev,
    sched_setattr, sched_getattr, renameat2, seccomp, getrandom, memfd_create, execveat, membarrier,
    mlock2, copy_file_range, preadv2, pwritev2, pkey_mprotect, pkey_alloc, pkey_free, statx,
    io_pgetevents, rseq, pidfd_send_signal, pidfd_open, close_range, openat2, faccessat2,
    epoll_pwait2, landlock_create_ruleset, landlock_add_rule, landlock_restrict_self, memfd_secret,
    process_mrelease, futex_waitv,
];

/// [`ALLOWED`] as a bitmap, made at compile time: the filter is built on every launch, and a
/// lookup per syscall number must not scan the list.
const ALLOWED_BITS: [u64; 8] = {
    let mut bits = [0u64; 8];
    let mut i = 0;
    while i < ALLOWED.len() {
        let nr = ALLOWED[i] as usize;
        bits[nr / 64] |= 1 << (nr % 64);
        i += 1;
    }
    bits
};

fn allowed(nr: u32) -> bool {
    ALLOWED_BITS.get(nr as usize / 64).is_some_and(|w| w & (1 << (nr % 64)) != 0)
}

/// Docker's capability-gated groups: a syscall here is allowed when the container keeps any
/// of the capabilities in its mask, else refused (EPERM).
const GATED: [(Sysno, u64); 39] = [
    (Sysno::open_by_handle_at, cap(DAC_READ_SEARCH)),
    (Sysno::bpf, cap(SYS_ADMIN) | cap(BPF)),
    (Sysno::fanotify_init, cap(SYS_ADMIN)),
    (Sysno::fsconfig, cap(SYS_ADMIN)),
    (Sysno::fsmount, cap(SYS_ADMIN)),
    (Sysno::fsopen, cap(SYS_ADMIN)),
    (Sysno::fspick, cap(SYS_ADMIN)),
    (Sysno::lookup_dcookie, cap(SYS_ADMIN)),
    (Sysno::mount, cap(SYS_ADMIN)),
    (Sysno::mount_setattr, cap(SYS_ADMIN)),
    (Sysno::move_mount, cap(SYS_ADMIN)),
    (Sysno::open_tree, cap(SYS_ADMIN)),
    (Sysno::perf_event_open, cap(SYS_ADMIN) | cap(PERFMON)),
    (Sysno::quotactl, cap(SYS_ADMIN)),
    (Sysno::quotactl_fd, cap(SYS_ADMIN)),
    (Sysno::setdomainname, cap(SYS_ADMIN)),
    (Sysno::sethostname, cap(SYS_ADMIN)),
    (Sysno::setns, cap(SYS_ADMIN)),
    (Sysno::syslog, cap(SYS_ADMIN) | cap(SYSLOG)),
    (Sysno::umount2, cap(SYS_ADMIN)),
    (Sysno::unshare, cap(SYS_ADMIN)),
    (Sysno::reboot, cap(SYS_BOOT)),
    (Sysno::chroot, cap(SYS_CHROOT)),
    (Sysno::init_module, cap(SYS_MODULE)),
    (Sysno::delete_module, cap(SYS_MODULE)),
    (Sysno::finit_module, cap(SYS_MODULE)),
    (Sysno::acct, cap(SYS_PACCT)),
    (Sysno::kcmp, cap(SYS_PTRACE)),
    (Sysno::pidfd_getfd, cap(SYS_PTRACE)),
    (Sysno::process_madvise, cap(SYS_PTRACE)),
    (Sysno::iopl, cap(SYS_RAWIO)),
    (Sysno::ioperm, cap(SYS_RAWIO)),
    (Sysno::vhangup, cap(SYS_TTY_CONFIG)),
    (Sysno::settimeofday, cap(SYS_TIME)),
    (Sysno::clock_settime, cap(SYS_TIME)),
    (Sysno::get_mempolicy, cap(SYS_NICE)),
    (Sysno::mbind, cap(SYS_NICE)),
    (Sysno::set_mempolicy, cap(SYS_NICE)),
    (Sysno::set_mempolicy_home_node, cap(SYS_NICE)),
];

/// The newest syscall the lists name (`set_mempolicy_home_node`, 450): anything above it is
/// unknown to the profile and answered ENOSYS.
pub const NEWEST_KNOWN: u32 = 450;

const DAC_READ_SEARCH: u32 = 2;
const SYS_MODULE: u32 = 16;
const SYS_RAWIO: u32 = 17;
const SYS_CHROOT: u32 = 18;
const SYS_PTRACE: u32 = 19;
const SYS_PACCT: u32 = 20;
const SYS_ADMIN: u32 = 21;
const SYS_BOOT: u32 = 22;
const SYS_NICE: u32 = 23;
const SYS_TIME: u32 = 25;
const SYS_TTY_CONFIG: u32 = 26;
const SYSLOG: u32 = 34;
const PERFMON: u32 = 38;
const BPF: u32 = 39;

const fn cap(n: u32) -> u64 {
    1 << n
}

/// `socket(AF_VSOCK, …)` is refused: host–guest sockets reach past the network namespace.
const AF_VSOCK: u32 = 40;
/// The `personality` values Docker allows: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|LINUX32,
/// and the query 0xffffffff. Anything else (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, …) is refused.
const PERSONALITIES: [u32; 5] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

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

/// What the filter answers for one syscall number, given the container's capabilities.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Outcome {
    Allow,
    #[default]
    Eperm,
    Enosys,
    /// `clone` without CAP_SYS_ADMIN: allowed unless its flags ask for a new namespace.
    CloneCheck,
    /// `socket`: allowed unless the family is AF_VSOCK.
    SocketCheck,
    /// `personality`: allowed for the values in [`PERSONALITIES`].
    PersonalityCheck,
}

fn outcome(nr: u32, caps: u64) -> Outcome {
    let admin = caps & cap(SYS_ADMIN) != 0;
    let is = |s: Sysno| s as u32 == nr;
    if allowed(nr) {
        Outcome::Allow
    } else if let Some((_, needs)) = GATED.iter().find(|(s, _)| is(*s)) {
        if caps & needs != 0 { Outcome::Allow } else { Outcome::Eperm }
    } else if is(Sysno::clone) {
        if admin { Outcome::Allow } else { Outcome::CloneCheck }
    } else if is(Sysno::clone3) {
        // clone3 passes its flags in memory a filter cannot read: without CAP_SYS_ADMIN it
        // gets ENOSYS, and libcs fall back to clone, whose flags are checked.
        if admin { Outcome::Allow } else { Outcome::Enosys }
    } else if is(Sysno::socket) {
        Outcome::SocketCheck
    } else if is(Sysno::personality) {
        Outcome::PersonalityCheck
    } else if nr > NEWEST_KNOWN {
        Outcome::Enosys
    } else {
        Outcome::Eperm
    }
}

/// Where a jump goes, resolved once the whole program is laid out.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum To {
    #[default]
    Next,
    At(usize),
    /// The block that checks the arguments of one syscall.
    Check(Outcome),
    Allow,
    Eperm,
    Enosys,
}

#[derive(Clone, Copy)]
struct Op {
    code: u16,
    k: u32,
    jt: To,
    jf: To,
}

pub const MAX: usize = 256;
/// Runs of syscall numbers with one outcome: at most this many.
const MAX_RANGES: usize = 128;

struct Builder {
    ops: [Op; MAX],
    len: usize,
    /// Where each argument check and the three returns start.
    clone_check: usize,
    socket_check: usize,
    personality_check: usize,
    returns: usize,
}

impl Builder {
    fn op(&mut self, code: u16, k: u32, jt: To, jf: To) -> usize {
        self.ops[self.len] = Op { code, k, jt, jf };
        self.len += 1;
        self.len - 1
    }

    /// A search tree over the ranges `(first number, outcome)`, sorted: `JGE` splits, and a
    /// leaf is the outcome itself (a return, or a jump to an argument check).
    fn tree(&mut self, ranges: &[(u32, Outcome)]) {
        if let [(_, leaf)] = ranges {
            match leaf {
                Outcome::Allow => self.op(RET_K, RET_ALLOW, To::Next, To::Next),
                Outcome::Eperm => self.op(RET_K, RET_ERRNO | EPERM, To::Next, To::Next),
                Outcome::Enosys => self.op(RET_K, RET_ERRNO | ENOSYS, To::Next, To::Next),
                check => self.op(JA, 0, To::Check(*check), To::Check(*check)),
            };
            return;
        }
        let mid = ranges.len() / 2;
        let split = self.op(JGE_K, ranges[mid].0, To::Next, To::Next);
        self.tree(&ranges[..mid]);
        self.ops[split].jt = To::At(self.len);
        self.tree(&ranges[mid..]);
    }

    /// The final instructions, with every jump turned into an offset.
    fn assemble(&self) -> [Insn; MAX] {
        // Classic BPF only jumps forward: every target lies after its jump.
        let place = |to: To, i: usize| -> usize {
            match to {
                To::Next => i + 1,
                To::At(n) => n,
                To::Check(Outcome::CloneCheck) => self.clone_check,
                To::Check(Outcome::SocketCheck) => self.socket_check,
                To::Check(_) => self.personality_check,
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
                // Conditional jumps reach 255 instructions at most: the tree keeps them short
                // (a unit test checks every jump of the programs this builds).
                let rel = |to| (place(to, i) - i - 1) as u8;
                Insn { code: op.code, jt: rel(op.jt), jf: rel(op.jf), k: op.k }
            };
        }
        out
    }
}

/// The runs of syscall numbers 0..=NEWEST_KNOWN with one outcome, then "everything newer".
fn ranges(caps: u64) -> linker::List<(u32, Outcome), MAX_RANGES> {
    let mut out = linker::List::new();
    let mut last = None;
    for nr in 0..=NEWEST_KNOWN + 1 {
        let o = outcome(nr, caps);
        if last != Some(o) {
            // MAX_RANGES is ample (a unit test checks the count).
            let _ = out.push((nr, o));
            last = Some(o);
        }
    }
    out
}

/// The program and its length.
fn build(caps: u64) -> ([Insn; MAX], usize) {
    let mut b = Builder {
        ops: [Op { code: 0, k: 0, jt: To::Next, jf: To::Next }; MAX],
        len: 0,
        clone_check: 0,
        socket_check: 0,
        personality_check: 0,
        returns: 0,
    };
    b.op(LD_W_ABS, OFFSET_ARCH, To::Next, To::Next);
    b.op(JEQ_K, AUDIT_ARCH_X86_64, To::At(3), To::Next);
    b.op(RET_K, RET_KILL_PROCESS, To::Next, To::Next);
    b.op(LD_W_ABS, OFFSET_NR, To::Next, To::Next);
    // x32 syscalls (bit 30) come through the same entry with other semantics.
    b.op(JGE_K, 0x4000_0000, To::Enosys, To::Next);
    b.tree(ranges(caps).as_slice());
    // The argument checks read the low 32 bits of the first argument: the kernel reads these
    // arguments as 32-bit ints too.
    b.clone_check = b.len;
    b.op(LD_W_ABS, OFFSET_ARG0, To::Next, To::Next);
    b.op(JSET_K, CLONE_NAMESPACES, To::Eperm, To::Allow);
    b.socket_check = b.len;
    b.op(LD_W_ABS, OFFSET_ARG0, To::Next, To::Next);
    b.op(JEQ_K, AF_VSOCK, To::Eperm, To::Allow);
    b.personality_check = b.len;
    b.op(LD_W_ABS, OFFSET_ARG0, To::Next, To::Next);
    for value in PERSONALITIES {
        b.op(JEQ_K, value, To::Allow, To::Next);
    }
    b.op(JA, 0, To::Eperm, To::Eperm);
    b.returns = b.len;
    b.op(RET_K, RET_ALLOW, To::Next, To::Next);
    b.op(RET_K, RET_ERRNO | EPERM, To::Next, To::Next);
    b.op(RET_K, RET_ERRNO | ENOSYS, To::Next, To::Next);
    (b.assemble(), b.len)
}

const PR_SET_SECCOMP: i32 = 22;
const SECCOMP_MODE_FILTER: usize = 2;

/// Installs the filter for a container that keeps the capabilities `caps`; returns its length
/// in instructions.
pub fn install(caps: u64) -> Result<usize> {
    let (insns, len) = build(caps);
    let prog = Program { len: len as u16, filter: insns.as_ptr() };
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog as *const Program as usize, 0, 0)
        .map(|_| len)
        .context("cannot install the seccomp filter")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic-BPF interpreter for the few opcodes the filter uses; returns the action and
    /// how many instructions ran.
    fn run(b: &([Insn; MAX], usize), nr: u32, arch: u32, arg0: u32) -> (u32, usize) {
        let (mut pc, mut acc, mut steps) = (0usize, 0u32, 0);
        loop {
            assert!(pc < b.1, "ran off the end");
            let i = b.0[pc];
            pc += 1;
            steps += 1;
            match i.code {
                JA => pc += i.k as usize,
                LD_W_ABS => acc = match i.k { OFFSET_NR => nr, OFFSET_ARCH => arch, OFFSET_ARG0 => arg0, _ => panic!() },
                JEQ_K => pc += if acc == i.k { i.jt } else { i.jf } as usize,
                JGE_K => pc += if acc >= i.k { i.jt } else { i.jf } as usize,
                JSET_K => pc += if acc & i.k != 0 { i.jt } else { i.jf } as usize,
                RET_K => return (i.k, steps),
                _ => panic!("opcode"),
            }
        }
    }

    fn action(b: &([Insn; MAX], usize), nr: Sysno, arg0: u32) -> u32 {
        run(b, nr as u32, AUDIT_ARCH_X86_64, arg0).0
    }

    const DENY: u32 = RET_ERRNO | EPERM;
    const NOSYS: u32 = RET_ERRNO | ENOSYS;

    #[test]
    fn the_lists_have_no_duplicates_and_stop_at_the_newest_known() {
        let all: Vec<u32> = ALLOWED.iter().map(|&n| n as u32).chain(GATED.iter().map(|&(s, _)| s as u32)).collect();
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
        assert_eq!(*sorted.last().unwrap(), NEWEST_KNOWN);
    }

    #[test]
    fn an_allow_list_as_dockers() {
        let p = build(crate::spec::DEFAULT_CAPS);
        for s in [Sysno::read, Sysno::openat, Sysno::execve, Sysno::ptrace, Sysno::futex_waitv, Sysno::landlock_create_ruleset] {
            assert_eq!(action(&p, s, 0), RET_ALLOW, "{s:?}");
        }
        for s in [Sysno::io_uring_setup, Sysno::io_uring_enter, Sysno::io_uring_register, Sysno::keyctl, Sysno::add_key,
                  Sysno::mount, Sysno::kexec_load, Sysno::userfaultfd, Sysno::pivot_root, Sysno::swapon, Sysno::mount_setattr,
                  Sysno::fsconfig, Sysno::open_tree, Sysno::unshare, Sysno::setns, Sysno::bpf, Sysno::uselib] {
            assert_eq!(action(&p, s, 0), DENY, "{s:?}");
        }
        // Newer than the profile: unknown, so ENOSYS (programs fall back).
        for s in [Sysno::cachestat, Sysno::fchmodat2, Sysno::statmount, Sysno::listmount, Sysno::mseal] {
            assert_eq!(action(&p, s, 0), NOSYS, "{s:?}");
        }
        assert_eq!(run(&p, 1000, AUDIT_ARCH_X86_64, 0).0, NOSYS);
        assert_eq!(run(&p, 0x4000_0000, AUDIT_ARCH_X86_64, 0).0, NOSYS, "x32");
        assert_eq!(run(&p, 0, 0x4000_0003, 0).0, RET_KILL_PROCESS, "i386");
    }

    #[test]
    fn argument_rules() {
        let p = build(crate::spec::DEFAULT_CAPS);
        assert_eq!(action(&p, Sysno::socket, 2), RET_ALLOW);
        assert_eq!(action(&p, Sysno::socket, AF_VSOCK), DENY);
        for v in PERSONALITIES {
            assert_eq!(action(&p, Sysno::personality, v), RET_ALLOW);
        }
        assert_eq!(action(&p, Sysno::personality, 0x0040000), DENY, "ADDR_NO_RANDOMIZE");
        assert_eq!(action(&p, Sysno::clone, 0x0001_1200), RET_ALLOW);
        assert_eq!(action(&p, Sysno::clone, 0x1000_0000), DENY);
        assert_eq!(action(&p, Sysno::clone3, 0), NOSYS);
    }

    #[test]
    fn capabilities_open_their_groups() {
        let admin = build(crate::spec::DEFAULT_CAPS | cap(SYS_ADMIN));
        assert_eq!(action(&admin, Sysno::mount, 0), RET_ALLOW);
        assert_eq!(action(&admin, Sysno::clone, 0x1000_0000), RET_ALLOW);
        assert_eq!(action(&admin, Sysno::clone3, 0), RET_ALLOW);
        assert_eq!(action(&admin, Sysno::kexec_load, 0), DENY);
        let ptrace = build(crate::spec::DEFAULT_CAPS | cap(SYS_PTRACE));
        assert_eq!(action(&ptrace, Sysno::kcmp, 0), RET_ALLOW);
        let syslog = build(crate::spec::DEFAULT_CAPS | cap(SYSLOG));
        assert_eq!(action(&syslog, Sysno::syslog, 0), RET_ALLOW);
        assert_eq!(action(&syslog, Sysno::mount, 0), DENY);
    }

    #[test]
    fn every_jump_fits_and_every_range_is_kept() {
        for caps in [crate::spec::DEFAULT_CAPS, !0, 0] {
            assert!(ranges(caps).len() < MAX_RANGES);
            let mut b = Builder { ops: [Op { code: 0, k: 0, jt: To::Next, jf: To::Next }; MAX], len: 0, clone_check: 0, socket_check: 0, personality_check: 0, returns: 0 };
            b.tree(ranges(caps).as_slice());
            assert!(b.len < 200, "the tree alone is {} instructions", b.len);
        }
    }

    #[test]
    fn every_number_gets_its_outcome_in_a_few_steps() {
        for caps in [crate::spec::DEFAULT_CAPS, !0, 0] {
            let p = build(caps);
            assert!(p.1 < MAX);
            for nr in 0..520 {
                let (got, steps) = run(&p, nr, AUDIT_ARCH_X86_64, 0);
                let want = match outcome(nr, caps) {
                    Outcome::Allow | Outcome::SocketCheck | Outcome::PersonalityCheck | Outcome::CloneCheck => RET_ALLOW,
                    Outcome::Eperm => DENY,
                    Outcome::Enosys => NOSYS,
                };
                assert_eq!(got, want, "syscall {nr}");
                assert!(steps <= 20, "syscall {nr}: {steps} steps");
            }
        }
    }
}
