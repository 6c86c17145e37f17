//! A new process in a running container (OCI `exec`; the launcher's own `exec` later): it
//! joins the container's cgroup and namespaces and gets the same confinement as its PID 1
//! (capabilities, no_new_privs, the seccomp filter, user), then execs.
//!
//! Two forks, because joining a PID namespace only places the caller's *children* in it: the
//! first child enters the cgroup and every namespace, the second (now inside) is the process.
//! The first reports the second's host pid on a pipe, then waits for it and exits as it did —
//! or, detached, exits at once and leaves it to the caller's subreaper, as runc does.

use crate::child::{self, Plan};
use crate::error::{Context, Error, Result};
use crate::spec::Spec;
use crate::{security, sync};
use linker::sys::fs::{self, O_CLOEXEC, O_RDONLY, O_WRONLY};
use linker::sys::process::{self, WaitStatus};
use linker::sys::signal::SigSet;
use linker::sys::{Errno, ns};
use linker::{Args, Env, List, Text};

/// The namespaces joined, in the order they are joined (mount late: after it, host paths are
/// gone; the user namespace last: before it, the host's root may still enter the others, a
/// network namespace the host owns included).
const KINDS: [&str; 7] = ["ipc", "uts", "net", "cgroup", "pid", "mnt", "user"];

pub struct Joined {
    /// The new process, as the host sees it.
    pub pid: i32,
    /// The first child, which mirrors the process's exit status (reaped by `wait`).
    pub helper: i32,
    pub sync: sync::ParentEnd,
}

/// Starts `spec`'s command in the container whose PID 1 is `target` (started at `start`, in
/// clock ticks since boot), in its cgroup at `group`.
pub fn exec(spec: &Spec, target: i32, start: u64, group: &[u8], args: Args, env: Env, mask: SigSet, detached: bool) -> Result<Joined> {
    // PID 1 is named by a pidfd while its namespaces are opened by path: if it is still alive
    // afterwards, no other process can have taken its pid in between (a host process there
    // would share our namespaces, and the command would run on the host).
    let gone = || Error::new("the container is not running any more");
    let pidfd = process::pidfd_open(target).map_err(|_| gone())?;
    if crate::manage::start_time(target) != Some(start) {
        return Err(gone());
    }
    // Raw descriptors, close-on-exec: they live until the process execs or this one exits.
    let mut namespaces = List::<i32, 7>::new();
    let mut user = false;
    let mut joins_mount = false;
    // Without host root, the user namespace first: only inside it are the others ours to enter.
    let rootless = !process::host_root();
    let order = KINDS.iter().rev().take(if rootless { 1 } else { 0 }).chain(KINDS.iter().take(if rootless { 6 } else { 7 }));
    for &kind in order {
        let mut theirs = Text::<48>::new();
        theirs.push("/proc/").push(target).push("/ns/").push(kind);
        let mut ours = Text::<48>::new();
        ours.push("/proc/self/ns/").push(kind);
        let (a, b) = (fs::stat(theirs.as_cstr().context("path")?), fs::stat(ours.as_cstr().context("path")?));
        // A namespace the container shares with us (the host's network, say) is not joined.
        if let (Ok(a), Ok(b)) = (a, b) {
            if (a.dev, a.ino) == (b.dev, b.ino) {
                continue;
            }
        }
        let fd = fs::open(theirs.as_cstr().context("path")?, O_RDONLY | O_CLOEXEC).context_on("cannot open the container's namespace", &theirs)?;
        let _ = namespaces.push(fd.into_raw());
        user |= kind == "user";
        joins_mount |= kind == "mnt";
    }
    let mut exited = [linker::sys::poll::PollFd::new(pidfd.raw(), linker::sys::poll::POLLIN)];
    let ended = linker::sys::poll::poll(&mut exited, Some(linker::sys::time::Timespec::from_ms(0))).map_or(true, |n| n > 0);
    // A container always has a mount namespace of its own: the same as ours is not one.
    if ended || !joins_mount {
        return Err(gone());
    }
    let tasks = entry_files(group);
    let (parent_end, child_end) = sync::channel().context("cannot create the sync channel")?;
    let (pid_read, pid_write) = fs::pipe2(O_CLOEXEC).context("pipe")?;
    let helper = process::fork().context("fork")?;
    if helper == 0 {
        drop(pid_read);
        let code = match enter(spec, &namespaces, user, tasks.as_slice(), args, env, mask, child_end, pid_write.raw(), detached) {
            Ok(code) => code,
            Err(e) => {
                e.report();
                e.code()
            }
        };
        process::exit(code);
    }
    drop(pid_write);
    drop(child_end);
    let mut buf = [0u8; 16];
    let n = fs::read_all(pid_read.raw(), &mut buf).context("cannot read the new process's pid")?;
    let pid = linker::text::decimal_value(buf[..n].trim_ascii()).filter(|&p| p > 0).map(|p| p as i32);
    match pid {
        Some(pid) => Ok(Joined { pid, helper, sync: parent_end }),
        None => {
            // The helper failed before the process existed: it said why; its status is the error.
            let code = process::wait4(helper, 0).ok().flatten().map(|(_, s)| s.shell_code()).unwrap_or(crate::error::EXIT_LAUNCHER);
            Err(Error::new("cannot enter the container").exit_code(if code == 0 { crate::error::EXIT_LAUNCHER } else { code }))
        }
    }
}

impl Joined {
    /// Waits for the process (through its helper) and returns its status as a shell would.
    pub fn wait(self) -> i32 {
        match process::wait4(self.helper, 0) {
            Ok(Some((_, status))) => status.shell_code(),
            _ => crate::error::EXIT_LAUNCHER,
        }
    }
}

/// The first child: cgroup, namespaces, the fork into the PID namespace.
#[allow(clippy::too_many_arguments)]
fn enter(
    spec: &Spec,
    namespaces: &List<i32, 7>,
    user: bool,
    tasks: &[i32],
    args: Args,
    env: Env,
    mask: SigSet,
    sync: sync::ChildEnd,
    report: i32,
    detached: bool,
) -> Result<i32> {
    // Its rlimits and OOM score while the host's /proc is still this process's.
    if let Some(x) = spec.extras {
        (x.limits)(spec)?;
    }
    // Writing 0 moves the writer (v1 `tasks`: the calling thread; v2 `cgroup.procs`: the process).
    for &fd in tasks {
        fs::write(fd, b"0").context("cannot enter the container's cgroup")?;
    }
    for &fd in namespaces.as_slice() {
        ns::setns(fd, 0).context("cannot join the container's namespaces (setns)")?;
    }
    // Nothing of the host's stays open in what enters the container's PID namespace: its
    // cgroup files and namespace descriptors are closed before the fork.
    for &fd in tasks.iter().chain(namespaces.as_slice()) {
        let _ = fs::close(fd);
    }
    // In the container's user namespace, become its root: the host's root is not mapped there,
    // and as an unmapped uid 0 it would still own the host's files.
    if user {
        crate::security::become_userns_root()?;
    }
    // The container's confinement before the fork into its PID namespace: what appears there
    // has the container's user, capabilities and seccomp filter from its first instruction,
    // so even a container allowed to ptrace (CAP_SYS_PTRACE) finds nothing more privileged
    // than itself. (This process is in no namespace of the container's the container can see
    // it from.)
    // Closed by the process's exec; a byte on it first says it failed before (detached, the
    // helper waits for that much, as runc's `exec -d` does).
    let (execed, failed) = fs::pipe2(O_CLOEXEC).context("pipe")?;
    let confined = !cfg!(feature = "unprotected-control");
    if confined {
        security::confine_joiner(spec)?;
    }
    let pid = process::fork().context("fork")?;
    if pid == 0 {
        let _ = fs::close(report);
        drop(execed);
        let terminal = spec.tty == crate::spec::Tty::Always;
        let mut plan = Plan { spec, cgroup_view: Default::default(), args, env, init: None, v1_tasks: List::new(), sync, parent_end: -1, mask, terminal, cgroup_dir: None, keep: spec.caps, confined, net_joined: false, host_mounts: None };
        let code = child::run_joined(&mut plan);
        let _ = fs::write(failed.raw(), b"x");
        process::exit(code);
    }
    drop(failed);
    let mut line = Text::<16>::new();
    line.push(pid).push("\n");
    fs::write_all(report, line.as_bytes()).context("cannot report the new process's pid")?;
    let _ = fs::close(report);
    if detached {
        let mut byte = [0u8];
        if fs::read(execed.raw(), &mut byte) != Ok(1) {
            return Ok(0);
        }
    }
    loop {
        match process::wait4(pid, 0) {
            Ok(Some((_, status))) => return Ok(mirror(status)),
            Err(Errno::EINTR) => continue,
            _ => return Ok(crate::error::EXIT_LAUNCHER),
        }
    }
}

/// The process's status as the helper's own exit.
fn mirror(status: WaitStatus) -> i32 {
    status.shell_code()
}

/// The `O_WRONLY` control files by which a process enters the group at `group` (v1 `tasks`,
/// v2 `cgroup.procs`), in every hierarchy where it exists.
pub fn entry_files(group: &[u8]) -> List<i32, { crate::cgroup::MAX_HIERARCHIES }> {
    let mut fds = List::new();
    for h in crate::cgroup::hierarchies().iter() {
        let mut path = h.path.clone();
        path.push("/").bytes(group).push(if h.kind == crate::cgroup::Kind::V2 { "/cgroup.procs" } else { "/tasks" });
        if let Ok(fd) = path.as_cstr().and_then(|p| fs::open(p, O_WRONLY | O_CLOEXEC)) {
            let _ = fds.push(fd.into_raw());
        }
    }
    fds
}
