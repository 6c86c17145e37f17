//! knocker's launcher: `launcher [OPTIONS] ROOTFS [COMMAND [ARG...]]`.
//!
//! [`main`] reads as the container's life, one call per stage: parse argv into a [`spec::Spec`],
//! prepare on the host (the init sealed in a memfd, the cgroup with its limits, the sync
//! channel), clone into new namespaces on a hand-allocated stack ([`child`] does the rest
//! inside), release the child once it is in its cgroups, forward signals and relay the
//! terminal until PID 1 exits, report, clean up.
//!
//! `no_std` except under `cfg(test)`: the pure parts (argv, values, capability and seccomp
//! tables, cgroup file parsing) are unit-tested on the host; the rest is tested end to end.
#![cfg_attr(not(test), no_std)]

pub mod cgroup;
pub mod child;
pub mod cli;
pub mod dev;
pub mod error;
pub mod helper;
pub mod init_bin;
pub mod join;
pub mod manage;
pub mod net;
pub mod preflight;
pub mod process_limits;
pub mod procfs;
pub mod rootfs;
pub mod sealed;
pub mod seccomp;
pub mod security;
pub mod spec;
pub mod supervise;
pub mod sync;
pub mod netfiles;
pub mod overlay;
pub mod pasta;
pub mod tty;
pub mod user;
pub mod userns;

use crate::cgroup::Cgroup;
use crate::cli::Action;
use crate::error::{Context, Error, Result};
use crate::spec::Spec;
use linker::clone::{self, Stack};
use linker::sys::fs::{self, O_DIRECTORY, O_PATH};
use linker::sys::ns::{CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS};
use linker::sys::process::{self, WaitStatus};
use linker::sys::{Errno, Fd};
use linker::{Args, Env, Text, say};

/// The child's stack: 1 MiB, allocated by hand (plus a guard page below it).
pub const STACK_SIZE: usize = 1 << 20;

pub fn main(args: Args, env: Env) -> i32 {
    match launch(args, env) {
        Ok(code) => code,
        Err(e) => {
            e.report();
            e.code()
        }
    }
}

fn launch(args: Args, env: Env) -> Result<i32> {
    if let Some(result) = manage::dispatch(&args, env) {
        return result;
    }
    let mut spec = match cli::parse(&args)? {
        Action::Run(spec) => spec,
        Action::Help => {
            let _ = fs::write_all(1, cli::USAGE.as_bytes());
            return Ok(0);
        }
        Action::Version => {
            say!(1; cli::VERSION);
            return Ok(0);
        }
    };
    // A PID 1 other than knocker's sealed init is exec'd by the clone, whose /proc/self/exe is
    // this program: it must be a sealed copy, or `#!/proc/self/exe` in the image would run the
    // host's launcher inside (see sealed.rs).
    if !matches!(spec.init, spec::Init::Bundled(_)) {
        sealed::reexec(c"launcher", args, env)?;
    }
    if process::geteuid() != 0 {
        rootless(&mut spec, env)?;
    } else if let Some((start, count)) = spec.daily.userns {
        let (start, count) = if count == 0 { (userns::auto_range()?, userns::AUTO_COUNT) } else { (start, count) };
        spec.user_namespace = true;
        userns::plan_range(start, count, [Some(spec.rootfs), spec.daily.overlay_dir], spec.verbose);
    }
    // `--user` names the container's users: resolved in its own files (the OCI front end
    // gets numbers from its engine).
    if let Some(words) = spec.user {
        check_rootfs(&spec)?;
        let root = fs::open(spec.rootfs, O_PATH | O_DIRECTORY).context_on("cannot open rootfs", spec.rootfs)?;
        user::apply(&mut spec, &user::resolve(&root, words)?)?;
    }
    let rootfs = spec.rootfs;
    preflight::choose_term(&mut spec, env, rootfs);
    if spec.daily.pasta {
        pasta::check(env)?;
    }
    // Before anything is created on the host: a SIGTERM from now on is held (and forwarded to
    // the container once it runs), never a death that leaves a lock or a cgroup behind.
    let mask = supervise::block_signals()?;
    // (ROOTFS first: no warning about a root that is refused.)
    check_rootfs(&spec)?;
    preflight::warn_if_reachable(&spec);
    let mut pid_name = Text::<16>::new();
    pid_name.push(process::getpid());
    let name = spec.name.unwrap_or(pid_name.as_bytes());
    let result = daily_steps(&mut spec, name).and_then(|_| run_container(&mut spec, name, args, env, mask));
    pasta::stop();
    userns::release_slot();
    result
}

/// Without root: a user namespace whose root is the caller (userns.rs); limits only in a
/// cgroup v2 subtree delegated to the caller (`Cgroup::delegated`), else refused in one line.
fn rootless(spec: &mut Spec, env: Env) -> Result<()> {
    let l = &spec.limits;
    if l.memory.is_some() || l.pids.is_some() || l.cpu_quota_us.is_some() {
        spec.cgroup_setup = Some(Cgroup::delegated);
    }
    if spec.daily.userns.is_some() {
        return Err(Error::new("--userns is for root: without root the container has a user namespace anyway"));
    }
    if spec.daily.pasta && !manage::has_own_dir() {
        return Err(Error::new("--net pasta without root keeps pasta's pid in $XDG_RUNTIME_DIR, which is not set")
            .hint("a login session sets it; or export XDG_RUNTIME_DIR=/run/user/$(id -u)"));
    }
    spec.user_namespace = true;
    spec.locked = false;
    spec.limits.pids_by_default = false;
    spec.cgroup_view = false;
    userns::plan(spec.verbose, env);
    Ok(())
}

/// The launcher's own steps, through the container's callbacks (knocker carries none of it):
/// pasta once PID 1 exists, the name resolution files in the container, the overlay root.
fn daily_steps(spec: &mut Spec, name: &[u8]) -> Result<()> {
    if spec.daily.overlay {
        spec.root_setup = Some(overlay::setup);
    }
    let files = netfiles::wanted(spec);
    if files {
        netfiles::prepare(spec);
    }
    if spec.daily.pasta {
        pasta::prepare(spec, name, spec.daily.publish)?;
    }
    if files || spec.daily.pasta || spec.user_namespace {
        fn on_host(pid: i32) -> Result<()> {
            userns::write_maps(pid)?;
            pasta::start(pid)
        }
        fn in_container(point: &'static str, _pid: i32) -> Result<()> {
            if point == "pivoted" { netfiles::mount() } else { Ok(()) }
        }
        spec.hooks = Some(spec::Hooks { host: on_host, container: in_container, create_container: false });
    }
    Ok(())
}

fn run_container(spec: &mut Spec, name: &[u8], args: Args, env: Env, mask: linker::sys::signal::SigSet) -> Result<i32> {
    let running = create(spec, name, args, env, mask)?;
    let mut command = Text::<256>::new();
    match spec.command {
        Some(i) => (i..args.len()).filter_map(|j| args.bytes(j)).enumerate().for_each(|(k, w)| {
            command.push(if k == 0 { "" } else { " " }).bytes(w);
        }),
        None => {
            command.push(child::DEFAULT_COMMAND);
        }
    }
    let _entry = manage::register(name, running.pid, spec, command.as_bytes());
    running.run_to_end(spec)
}

/// A container whose PID 1 has been started and released: it runs COMMAND, or waits on the
/// exec fifo of an OCI `create` (`Spec::detached`).
pub struct Running {
    pub pid: i32,
    pub cgroup: Cgroup,
    pub sync: sync::ParentEnd,
    init: Option<Fd>,
    guard: Container,
    terminal: bool,
}

/// Everything from the checks on the host to the release of the container's PID 1: the one
/// container life both front ends (the launcher's command line, the OCI runtime) go through.
/// `name` names the cgroup; signals must already be blocked (`mask` is what they were).
pub fn create(spec: &mut Spec, name: &[u8], args: Args, env: Env, mask: linker::sys::signal::SigSet) -> Result<Running> {
    // Without root the launcher stays dumpable: it holds nothing the caller does not own, and
    // PID 1's /proc files must stay the caller's while the launcher writes its id maps.
    if !spec.user_namespace || process::geteuid() == 0 {
        security::stay_undumpable()?;
    }
    check_rootfs(spec)?;
    preflight::check_stdio()?;
    preflight::check_net_join(spec)?;
    if spec.limits.pids_by_default {
        spec.limits.pids = Some(preflight::default_pids());
    }
    let spec: &Spec = spec;
    let init = init_bin::prepare(spec)?;
    let cgroup = match spec.cgroup_setup {
        Some(make) => make(spec, name)?,
        None => Cgroup::create(spec, name)?,
    };
    if spec.verbose {
        say!(2; "launcher: cgroup ", cgroup.describe());
    }
    let terminal = tty::wanted(spec);
    let (parent_end, child_end) = sync::channel().context("cannot create the sync channel")?;

    let mut ctx = child::Plan {
        spec,
        cgroup_view: cgroup.view(),
        args,
        env,
        init: init.as_ref().map(|fd| fd.raw()),
        v1_tasks: cgroup.v1_tasks(),
        sync: child_end,
        parent_end: parent_end.0.raw(),
        mask,
        terminal,
        cgroup_dir: cgroup.clone_into(),
        keep: 0,
        confined: false,
        net_joined: joined_by_the_launcher(spec),
        host_mounts: None,
    };
    let stack = Stack::new(STACK_SIZE).context("cannot allocate the child's stack")?;
    let into = cgroup.clone_into();
    let away = match spec.net_join {
        Some(path) if ctx.net_joined => Some(net::enter(path)?),
        _ => None,
    };
    // A PID namespace is joined for the children only (setns sets the one they are made in).
    let away_pid = match (spec.pid_join, spec.extras) {
        (Some(path), Some(x)) => Some(((x.enter_pid)(path)?, x)),
        _ => None,
    };
    let pid = match clone::spawn(namespaces(spec), into, &stack, child::run, &mut ctx) {
        // Kernels before 5.7 (no CLONE_INTO_CGROUP) or 5.3 (no clone3), or a seccomp profile that
        // hides clone3: start the child plainly and move it by pid while it waits.
        Err(Errno::ENOSYS | Errno::E2BIG | Errno::EINVAL) if into.is_some() => {
            clone::spawn(namespaces(spec), None, &stack, child::run, &mut ctx).map(|pid| (pid, false))
        }
        other => other.map(|pid| (pid, into.is_some())),
    };
    if let Some((ours, x)) = away_pid {
        (x.leave_pid)(ours)?;
    }
    if let Some(away) = away {
        away.back()?;
    }
    drop(ctx);
    drop(stack);
    let (pid, placed) = pid.context("cannot create the container (clone)")?;
    let guard = Container(pid);
    if spec.verbose {
        say!(2; "launcher: container's PID 1 is host pid ", pid);
        if placed {
            say!(2; "launcher: it started inside its cgroup: clone3(CLONE_INTO_CGROUP)");
        } else if !spec.user_namespace {
            say!(2; "launcher: moving it into its cgroup2 group by pid before releasing it");
        }
    }

    // A child that failed during its setup has already said why and exited: then the move
    // (ESRCH) and the go-ahead (EPIPE) find nobody, and its exit status is all that is left.
    match cgroup.attach_v2(pid, placed) {
        Err(e) if e.errno() != Some(Errno::ESRCH) => return Err(e),
        _ => {}
    }
    if let Some(hooks) = spec.hooks {
        (hooks.host)(pid)?;
    }
    match parent_end.release() {
        Ok(()) | Err(Errno::EPIPE) => {}
        Err(e) => return Err(Error::sys("cannot release the container", e)),
    }
    Ok(Running { pid, cgroup, sync: parent_end, init, guard, terminal })
}

impl Running {
    /// In the foreground: forwards signals and relays the terminal until PID 1 exits, then
    /// reports and takes the cgroup down. The container's status is the result.
    pub fn run_to_end(self, spec: &Spec) -> Result<i32> {
        let Running { pid, mut cgroup, sync, init, guard, terminal } = self;
        let mut relay = match terminal {
            // (None when PID 1 failed before it had one: it said why, and its status follows.)
            true => sync.receive_terminal().ok().flatten().map(tty::Relay::start),
            false => None,
        };
        let status = supervise::wait(pid, &sync, relay.as_mut())?;
        guard.exited();
        drop(relay);
        drop(init);
        let _ = spec;
        let oom = cgroup.oom_killed();
        let limit = cgroup.memory_limit();
        cgroup.destroy();
        drop(cgroup);
        Ok(report(status, oom, limit))
    }

    /// OCI `create` with a terminal: the pty's master, which the front end hands to the
    /// engine (`--console-socket`) instead of relaying it. None if PID 1 died first.
    pub fn take_terminal(&self) -> Result<Option<Fd>> {
        if !self.terminal {
            return Ok(None);
        }
        self.sync.receive_terminal().context("cannot receive the container's terminal")
    }

    /// OCI `create`, once PID 1 has said how its setup went (`ready`, read by the front end
    /// from [`Running::sync`]): set up and blocked on the exec fifo, it is left running (its
    /// parent, the caller, is about to exit) with its cgroup in place; failed, its exit status
    /// goes with the error.
    pub fn detach(self, ready: Result<()>) -> Result<i32> {
        if let Err(e) = ready {
            let status = process::wait4(self.pid, 0).ok().flatten().map(|(_, s)| s.shell_code()).unwrap_or(error::EXIT_LAUNCHER);
            self.guard.exited();
            return Err(e.exit_code(if status == 0 { error::EXIT_LAUNCHER } else { status }));
        }
        let pid = self.pid;
        self.guard.exited();
        self.cgroup.keep();
        Ok(pid)
    }
}

/// The container's exit status as the launcher's, with the reason when the kernel killed it
/// for memory.
fn report(status: WaitStatus, oom: bool, limit: Option<u64>) -> i32 {
    let code = status.shell_code();
    if code == 128 + linker::sys::signal::SIGKILL && oom {
        let mut why = Text::<64>::new();
        why.push("container killed: out of memory");
        if let Some(bytes) = limit {
            why.push(" (limit ").push(cgroup::format_size(bytes)).push(")");
        }
        say!(2; "launcher: ", why);
    }
    code
}

/// Whether a network namespace joined by path is entered by the launcher around the clone
/// (as host root, which may go back to its own afterwards) rather than by the child (without
/// host root — the user's launcher, or knocker as root of a rootless engine's user namespace —
/// only the child, in the namespaces it is made in, has the capabilities setns needs).
fn joined_by_the_launcher(spec: &Spec) -> bool {
    spec.net_join.is_some() && process::host_root()
}

fn namespaces(spec: &Spec) -> u64 {
    // One that ends in the host's mount namespace makes its own in the child (OCI_EXTRAS.join).
    let mut flags = (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) & !(spec.shared_ns as i32);
    if spec.user_namespace {
        flags |= libc::CLONE_NEWUSER;
    }
    if !spec.host_network && spec.net_join.is_none() {
        flags |= CLONE_NEWNET;
    }
    flags as u64
}

/// ROOTFS must exist and be a directory; say which it is not.
fn check_rootfs(spec: &Spec) -> Result<()> {
    match fs::open(spec.rootfs, O_PATH | O_DIRECTORY) {
        // The host's own root (`/`, or a path to it): refused by name, as systemd-nspawn
        // refuses it (before: pivot_root's EBUSY, and with a terminal a second line).
        Ok(fd) if fs::fstat(fd.raw()).ok().map(|s| (s.dev, s.ino)) == fs::stat(c"/").ok().map(|s| (s.dev, s.ino)) => {
            Err(Error::new("rootfs is the host's own root:").on(spec.rootfs).hint("give a directory holding a root file system"))
        }
        Ok(_) => Ok(()),
        Err(Errno::ENOENT) => Err(Error::new("rootfs does not exist:").on(spec.rootfs)),
        Err(Errno::ENOTDIR) => Err(Error::new("rootfs is not a directory:").on(spec.rootfs)),
        Err(e) => Err(Error::sys("cannot open rootfs", e).on(spec.rootfs)),
    }
}

/// The container's first process until it has been waited for: if the launcher bails out
/// early, it is killed and reaped rather than left behind.
struct Container(i32);

impl Container {
    fn exited(self) {
        core::mem::forget(self);
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = process::kill(self.0, linker::sys::signal::SIGKILL);
        let _ = process::wait4(self.0, 0);
    }
}
