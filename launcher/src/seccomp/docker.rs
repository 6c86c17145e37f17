//! Docker's default seccomp profile (x86_64), as a [`Profile`]: an allow list, so a container
//! reaches exactly the kernel surface a Docker container reaches. A syscall outside the list
//! gets EPERM; one newer than every syscall the list knows (above [`NEWEST_KNOWN`]) gets
//! ENOSYS, so programs fall back as on an older kernel. Where the container keeps the
//! capability that guards a syscall, it is allowed as in Docker (`--cap-add SYS_ADMIN` really
//! allows `mount`). `--seccomp=unconfined` drops it. `clone`, `socket` and `personality` have
//! argument rules.

use super::{ArgCheck, Cmp, Profile, RET_ALLOW, RET_ERRNO, Rule};
use linker::sys::Sysno;

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
/// The kernel reads the family as an int: the check looks at the low 32 bits only.
const NOT_VSOCK: [ArgCheck; 1] = [ArgCheck { index: 0, op: Cmp::MaskedEq, value: 0xffff_ffff, value_two: 40 }];

/// The `personality` values Docker allows: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|LINUX32,
/// and the query 0xffffffff. Anything else (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, …) is refused.
const PERSONALITIES: [[ArgCheck; 1]; 5] = {
    const fn eq(value: u64) -> [ArgCheck; 1] {
        [ArgCheck { index: 0, op: Cmp::Eq, value, value_two: 0 }]
    }
    [eq(0x0), eq(0x8), eq(0x2_0000), eq(0x2_0008), eq(0xffff_ffff)]
};

/// A plain `clone` without CAP_SYS_ADMIN may not carry namespace flags.
const NO_NAMESPACE_FLAGS: [ArgCheck; 1] = [ArgCheck { index: 0, op: Cmp::MaskedEq, value: 0x7e02_0000, value_two: 0 }];


const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// Rules of the profile: one per allowed syscall, plus the argument rules.
pub const MAX_RULES: usize = 512;

fn gated(nr: u32, caps: u64) -> Option<bool> {
    GATED.iter().find(|(s, _)| *s as u32 == nr).map(|&(_, needs)| caps & needs != 0)
}

/// The profile for a container that keeps `caps`, its rules in `rules`.
pub fn profile(caps: u64, rules: &mut linker::List<Rule, MAX_RULES>) -> Profile<'_> {
    let admin = caps & cap(SYS_ADMIN) != 0;
    let mut add = |nr: u32, action: u32, args: &'static [ArgCheck]| {
        // MAX_RULES is ample (a unit test builds the largest profile).
        let _ = rules.push(Rule { nr: nr as u16, action, args });
    };
    for nr in 0..=NEWEST_KNOWN {
        let is = |s: Sysno| s as u32 == nr;
        if allowed(nr) || gated(nr, caps) == Some(true) || (admin && (is(Sysno::clone) || is(Sysno::clone3))) {
            add(nr, RET_ALLOW, &[]);
        } else if is(Sysno::clone) {
            add(nr, RET_ALLOW, &NO_NAMESPACE_FLAGS);
        } else if is(Sysno::clone3) {
            // clone3 passes its flags in memory a filter cannot read: without CAP_SYS_ADMIN it
            // gets ENOSYS, and libcs fall back to clone, whose flags are checked.
            add(nr, RET_ERRNO | ENOSYS, &[]);
        } else if is(Sysno::socket) {
            add(nr, RET_ERRNO | EPERM, &NOT_VSOCK);
            add(nr, RET_ALLOW, &[]);
        } else if is(Sysno::personality) {
            for value in &PERSONALITIES {
                add(nr, RET_ALLOW, value);
            }
        }
    }
    Profile { default: RET_ERRNO | EPERM, beyond: Some((NEWEST_KNOWN + 1, RET_ERRNO | ENOSYS)), flags: 0, rules: rules.as_slice() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::bpf::tests::{action, run};
    use crate::seccomp::bpf::compile;
    use crate::seccomp::RET_KILL_PROCESS;

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const DENY: u32 = RET_ERRNO | EPERM;
    const NOSYS: u32 = RET_ERRNO | ENOSYS;

    fn build(caps: u64) -> linker::List<linker::sys::seccomp::SockFilter, 4096> {
        let mut rules = linker::List::new();
        compile(&profile(caps, &mut rules)).unwrap()
    }

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
        assert_eq!(run(&p, 1000, AUDIT_ARCH_X86_64, [0; 6]).0, NOSYS);
        assert_eq!(run(&p, 0x4000_0000, AUDIT_ARCH_X86_64, [0; 6]).0, NOSYS, "x32");
        assert_eq!(run(&p, 0, 0x4000_0003, [0; 6]).0, RET_KILL_PROCESS, "i386");
    }

    #[test]
    fn argument_rules() {
        let p = build(crate::spec::DEFAULT_CAPS);
        assert_eq!(action(&p, Sysno::socket, 2), RET_ALLOW);
        assert_eq!(action(&p, Sysno::socket, 40), DENY);
        // The kernel reads the family as an int: high bits do not hide AF_VSOCK.
        assert_eq!(action(&p, Sysno::socket, 40 | 1 << 32), DENY);
        for v in [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff] {
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
    fn every_number_gets_its_outcome_in_a_few_steps() {
        for caps in [crate::spec::DEFAULT_CAPS, !0, 0] {
            let p = build(caps);
            assert!(p.len() < 300, "{} instructions", p.len());
            for nr in 0..520u32 {
                let (got, steps) = run(&p, nr, AUDIT_ARCH_X86_64, [0; 6]);
                let want = if allowed(nr) || gated(nr, caps) == Some(true) || nr == Sysno::socket as u32 || nr == Sysno::personality as u32 || nr == Sysno::clone as u32 {
                    RET_ALLOW
                } else if nr > NEWEST_KNOWN || (nr == Sysno::clone3 as u32 && caps & cap(SYS_ADMIN) == 0) {
                    NOSYS
                } else if nr == Sysno::clone3 as u32 {
                    RET_ALLOW
                } else {
                    DENY
                };
                assert_eq!(got, want, "syscall {nr}");
                let most = if nr == Sysno::personality as u32 { 30 } else { 20 };
                assert!(steps <= most, "syscall {nr}: {steps} steps");
            }
        }
    }
}
