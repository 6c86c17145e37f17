//! The container's first process, from the clone to the exec of its PID 1. It runs on the
//! launcher's hand-allocated stack, in new namespaces, on its own copy of the launcher's memory.
//! Each step is one call; any failure is reported here, on the launcher's stderr, and ends the
//! child with the launcher's exit code for it.

use crate::cgroup::Cgroup;
use crate::error::{Context, Error, Result};
use crate::security::{self, CAP_SYS_CHROOT, PR_SET_PDEATHSIG};
use crate::spec::{Init, Mount, Spec, MAX_ENV};
use crate::sync::ChildEnd;
use crate::{dev, net, procfs, rootfs, tty};
use core::convert::Infallible;
use core::ffi::{CStr, c_char};
use linker::exec::{self, DEFAULT_PATH};
use linker::sys::fs::{self, AT_EMPTY_PATH, CLOSE_RANGE_CLOEXEC};
use linker::sys::mm::Mapping;
use linker::sys::mount::{self, MS_PRIVATE, MS_REC};
use linker::sys::ns::{self, CLONE_NEWCGROUP, CLONE_NEWNET};
use linker::sys::process::{self, prctl};
use linker::sys::signal::{self, SIGKILL, SIG_SETMASK, SigSet};
use linker::sys::Errno;
use linker::{Args, Env, Text};

/// Everything the child needs, borrowed from the launcher's frame (the child has its own copy).
pub struct Plan<'a> {
    pub spec: &'a Spec,
    /// The container's cgroups, to show at /sys/fs/cgroup inside.
    pub cgroup_view: crate::cgroup::view::View,
    pub args: Args,
    pub env: Env,
    /// The sealed init to exec, when knocker's init is PID 1.
    pub init: Option<i32>,
    /// The `tasks` files of the container's v1 cgroups, open for writing.
    pub v1_tasks: linker::List<i32, { crate::cgroup::MAX_HIERARCHIES }>,
    pub sync: ChildEnd,
    /// The launcher's end of the channel, inherited by the clone: closed first thing, or the
    /// child would keep it open and never see the launcher die.
    pub parent_end: i32,
    /// The signal mask the launcher started with, restored before exec.
    pub mask: SigSet,
    pub terminal: bool,
    /// The cgroup2 directory the clone started in (`CLONE_INTO_CGROUP`), inherited open:
    /// closed first thing, so nothing in the container can walk the host's cgroup tree.
    pub cgroup_dir: Option<i32>,
    /// The capability bounding set the process keeps (for the seccomp filter's own checks).
    pub keep: u64,
    /// A joined process: its descriptors and seccomp filter were set up before the fork into
    /// the container (security::confine_joiner).
    pub confined: bool,
    /// The network namespace joined by path was entered by the launcher for the clone.
    pub net_joined: bool,
    /// The host's mount namespace, for a container that shares it (`Spec::shared_ns`): the child
    /// keeps it open before it makes the one it sets the root up in.
    pub host_mounts: Option<i32>,
}

pub const DEFAULT_COMMAND: &CStr = c"/bin/sh";

/// The clone's entry point: returns only to exit.
pub fn run(ctx: &mut Plan) -> i32 {
    let Err(e) = setup_and_exec(ctx);
    failed(ctx, e)
}

/// Says why the setup failed (an OCI front end's way: [`crate::spec::Extras::failed`]).
#[cold]
#[inline(never)]
fn failed(ctx: &Plan, e: Error) -> i32 {
    match ctx.spec.extras {
        Some(x) => (x.failed)(ctx.spec, &ctx.sync, &e),
        None => e.report(),
    }
    e.code()
}

fn setup_and_exec(ctx: &mut Plan) -> Result<Infallible> {
    let spec = ctx.spec;
    let _ = fs::close(ctx.parent_end);
    // If the launcher dies — even by SIGKILL — so does the container. Armed first; the wait
    // for the go-ahead below is the race check (a launcher that died before this shows up as
    // end-of-stream there). An OCI container outlives its `create` process by design.
    if spec.detached.is_none() {
        prctl(PR_SET_PDEATHSIG, SIGKILL as usize, 0, 0, 0).context("prctl(PR_SET_PDEATHSIG)")?;
    }
    // In a user namespace of its own nothing is allowed until the launcher has written its
    // id maps: it says go once they are there.
    if spec.user_namespace {
        ctx.sync.wait_for_release().map_err(|_| Error::new("the launcher went away before the container started"))?;
    }
    // Into the container's v1 groups (limits, device rules) before anything else happens here;
    // then none of the host's cgroup files stays open.
    Cgroup::enter_v1(ctx.v1_tasks.as_slice()).context("cannot enter the container's cgroup (tasks)")?;
    for &fd in ctx.v1_tasks.as_slice().iter().chain(ctx.cgroup_dir.as_ref()) {
        let _ = fs::close(fd);
    }
    process::setsid().context("setsid")?;
    if let Some(x) = spec.extras {
        (x.limits)(spec)?;
    }
    // Namespaces joined by path are used as their owner set them up (the host name of a
    // shared UTS too); a mount namespace joined is where the root is set up, as runc does.
    if let Some(x) = spec.extras {
        ctx.host_mounts = (x.join)(spec)?;
    }
    // Before any mount: nothing we mount may propagate back to the host.
    mount::mount(None, c"/", None, MS_REC | MS_PRIVATE, None).context("cannot make the mount tree private")?;
    if spec.shared_ns & libc::CLONE_NEWUTS as u64 == 0 {
        ns::sethostname(spec.hostname).context("cannot set the hostname")?;
    }
    match spec.net_join {
        // Its owner configured it (pasta, CNI, `ip netns`): used as it is. With host root the
        // launcher cloned this process into it already.
        Some(path) if !ctx.net_joined => {
            let fd = fs::open(path, fs::O_RDONLY).context_on("cannot open the network namespace", path)?;
            ns::setns(fd.raw(), CLONE_NEWNET).context_on("cannot join the network namespace", path)?;
        }
        Some(_) => {}
        None if !spec.host_network => net::loopback_up()?,
        None => {}
    }

    // The host's /proc is still in place: it names this process by its host pid.
    let host_pid = if spec.hooks.is_some() { host_pid() } else { 0 };
    let root = match spec.root_setup {
        Some(make) => make(spec)?,
        None => rootfs::bind_self(spec)?,
    };
    // Then become the user namespace's root (a root launcher's ids are not mapped in it): the
    // path to ROOTFS was walked with the launcher's ids, through directories only it may enter.
    if spec.user_namespace {
        crate::security::become_userns_root()?;
    }
    procfs::mount_proc(&root)?;
    dev::populate(&root)?;
    dev::add_devices(&root, spec.devices)?;
    // (A read-write sysfs of the config's own at /sys instead: the kernel will not mount one
    // superblock both read-only and read-write.)
    if !spec.mounts.iter().any(|m| matches!(m, Mount::Sys | Mount::Fs { dst: b"/sys", .. })) {
        procfs::mount_sys(&root, spec.verbose)?;
    }
    rootfs::user_mounts(&root, spec)?;
    // createContainer hooks: in the container's namespaces, but before pivot_root, so their
    // paths are the host's (the runtime spec's "runtime namespace"), as runc runs them; after
    // the host's createRuntime hooks, which the launcher runs before the go-ahead.
    let mut released = spec.user_namespace;
    if let Some(hooks) = spec.hooks.filter(|h| h.create_container) {
        ctx.sync.wait_for_release().map_err(|_| Error::new("the launcher went away before the container started"))?;
        released = true;
        (hooks.container)("createContainer", host_pid)?;
    }
    let pivoted = rootfs::pivot(&root, spec.verbose)?;
    drop(root);
    if let Some(x) = spec.extras {
        (x.after_pivot)(spec)?;
    }
    // The container's own /proc/sys, before it is made read-only.
    if let Some(x) = spec.extras {
        (x.sysctls)(spec)?;
    }
    procfs::protect(spec.masked_paths, spec.readonly_paths)?;
    if spec.read_only {
        rootfs::make_root_read_only()?;
    }
    if ctx.terminal {
        tty::attach_in_container(&ctx.sync)?;
    }

    // Nothing of the container's own runs before the go-ahead (the launcher may still be
    // moving this process into its cgroup2 group, on kernels without CLONE_INTO_CGROUP).
    if !released {
        ctx.sync.wait_for_release().map_err(|_| Error::new("the launcher went away before the container started"))?;
    }
    // Entered only now that the cgroups are final, so the container sees its own cgroup as /.
    if spec.shared_ns & CLONE_NEWCGROUP as u64 == 0 {
        ns::unshare(CLONE_NEWCGROUP).context("cannot create a cgroup namespace")?;
    }
    if spec.cgroup_view {
        crate::cgroup::view::mount_view(&ctx.cgroup_view, spec.cgroup_writable)?;
    }
    if let Some(hooks) = spec.hooks {
        (hooks.container)("pivoted", host_pid)?;
    }

    // Last of the mount steps: into the host's mount namespace, when the config shares it.
    let pivoted = match (ctx.host_mounts, spec.extras) {
        (Some(host), Some(x)) => {
            (x.host_mounts)(host)?;
            false
        }
        _ => pivoted,
    };
    // Without pivot_root, CAP_SYS_CHROOT is a way back out (see rootfs::pivot).
    let keep = if pivoted { spec.caps } else { spec.caps & !CAP_SYS_CHROOT };
    ctx.keep = keep;
    if let Some(x) = spec.extras {
        (x.label)(spec)?;
    }
    // Before the confinement: a filter installed ahead of the capability drop (a process
    // without no_new_privs needs CAP_SYS_ADMIN for it) may not allow close_range.
    descriptors_for_exec(spec.preserve_fds)?;
    security::confine_and_drop(spec, keep)?;
    // A change of credentials clears the parent-death signal: arm it again and re-check.
    if spec.detached.is_none() {
        prctl(PR_SET_PDEATHSIG, SIGKILL as usize, 0, 0, 0).context("prctl(PR_SET_PDEATHSIG)")?;
        if !ctx.sync.parent_alive() {
            return Err(Error::new("the launcher went away before the container started"));
        }
    }

    fs::chdir(spec.workdir).context_on("cannot enter --workdir", spec.workdir)?;
    check_cwd()?;
    if let (Some(fifo), Some(x)) = (spec.detached, spec.extras) {
        (x.start)(&ctx.sync, fifo)?;
    }
    exec(ctx, host_pid)
}

fn host_pid() -> i32 {
    let mut buf = [0u8; 16];
    let n = fs::readlinkat(fs::AT_FDCWD, c"/proc/self", &mut buf).unwrap_or(0);
    linker::text::decimal_value(&buf[..n]).unwrap_or(0) as i32
}

/// A process joining a running container (join.rs), already in its cgroup and namespaces:
/// its own session and terminal, the container's confinement, then exec. Returns only to exit.
pub fn run_joined(ctx: &mut Plan) -> i32 {
    let Err(e) = finish_joined(ctx);
    e.report();
    e.code()
}

fn finish_joined(ctx: &mut Plan) -> Result<Infallible> {
    let spec = ctx.spec;
    // The security tests' unprotected control only: the confinement after the fork, inside.
    if !ctx.confined {
        security::confine_joiner(spec)?;
    }
    process::setsid().context("setsid")?;
    if ctx.terminal {
        tty::attach_in_container(&ctx.sync)?;
    }
    // As runc's exec: the LSM label once the user and capabilities are the container's.
    if let Some(x) = spec.extras {
        (x.label)(spec)?;
    }
    fs::chdir(spec.workdir).context_on("cannot enter the working directory", spec.workdir)?;
    check_cwd()?;
    exec(ctx, 0)
}

/// OCI `create`: tells the creator this PID 1 is ready, then waits for `start` to write one
/// byte into the exec fifo. The fifo is open read-write, so the read blocks until that byte
/// comes (never an end-of-file), and `start` can tell a dead container by ENXIO.
pub fn wait_for_start(sync: &ChildEnd, fifo: i32) -> Result<()> {
    sync.send_ready().context("cannot tell the creator the container is ready")?;
    let mut byte = [0u8];
    loop {
        match fs::read(fifo, &mut byte) {
            Ok(1) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Ok(_) => return Err(Error::new("the exec fifo closed before the container was started")),
            Err(e) => return Err(Error::sys("cannot wait on the exec fifo", e)),
        }
    }
}

/// The working directory must be inside the new root (the class of runc CVE-2024-21626).
fn check_cwd() -> Result<()> {
    let mut buf = [0u8; 4096];
    let n = fs::getcwd(&mut buf).context("the working directory is outside the container (getcwd)")?;
    if n == 0 || buf[0] != b'/' {
        return Err(Error::new("the working directory is outside the container"));
    }
    Ok(())
}

/// COMMAND, or the default shell.
fn command(ctx: &Plan) -> (&'static CStr, &'static [*const c_char]) {
    if let Some(argv) = ctx.spec.argv {
        // SAFETY: an argv the front end built: non-empty, each entry a NUL-terminated string
        // that lives as long as the process.
        let program = argv.first().map(|&p| unsafe { CStr::from_ptr(p) });
        return (program.unwrap_or(DEFAULT_COMMAND), argv);
    }
    match ctx.spec.command {
        Some(i) => (ctx.args.get(i).unwrap_or(DEFAULT_COMMAND), ctx.args.slice(i)),
        None => (DEFAULT_COMMAND, &DEFAULT_ARGV),
    }
}

const DEFAULT_ARGV: [*const c_char; 1] = [DEFAULT_COMMAND.as_ptr()];

/// The last steps: argv and envp, COMMAND located, descriptors and signal mask as the program
/// gets them, the seccomp filter of a no_new_privs process, the startContainer hooks under
/// it (their programs are the image's: they run as confined as the program), the exec.
/// `host_pid` is PID 1's for the hooks' state (0 for an exec'd process, which has none).
fn exec(ctx: &Plan, host_pid: i32) -> Result<Infallible> {
    let spec = ctx.spec;
    let (program, cmd_argv) = command(ctx);

    // argv and envp need room for the command's own arguments, however many: one mapping.
    let slots = cmd_argv.len() + 3 + MAX_ENV + 8;
    let mut map = Mapping::new((slots * 8).next_multiple_of(4096), 0).context("mmap")?;
    let ptrs: &mut [*const c_char] = map.as_slice_mut();
    let mut n = 0;
    match spec.init {
        Init::Bundled(_) => n = put(ptrs, n, &[c"init".as_ptr(), c"--".as_ptr()]),
        Init::InRootfs(path) => n = put(ptrs, n, &[path.as_ptr(), c"--".as_ptr()]),
        Init::None => {}
    }
    n = put(ptrs, n, cmd_argv);
    ptrs[n] = core::ptr::null();
    let envp_at = n + 1;

    let mut hostname = Text::<80>::new();
    hostname.push("HOSTNAME=").bytes(spec.hostname);
    let hostname = hostname.as_cstr().context("hostname")?;
    let mut home = Text::<264>::new();
    home.push("HOME=");
    match spec.home.is_empty() {
        true => home.push(if spec.uid == 0 { "/root" } else { "/" }),
        false => home.bytes(spec.home.as_bytes()),
    };
    let home = home.as_cstr().context("HOME")?;
    let mut user = Text::<72>::new();
    user.push("USER=").bytes(spec.user_name.as_bytes());
    let user = user.as_cstr().context("USER")?;
    let mut term = Text::<88>::new();
    term.push("TERM=").bytes(spec.term.as_bytes());
    let defaults = [
        Some(c"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        Some(home),
        Some(hostname),
        term.as_cstr().ok().filter(|_| !spec.term.is_empty()),
        Some(user).filter(|_| !spec.user_name.is_empty()),
    ];
    let mut e = envp_at;
    for d in defaults.into_iter().flatten() {
        if !spec.env.iter().any(|u| same_key(u, d)) {
            ptrs[e] = d.as_ptr();
            e += 1;
        }
    }
    for u in spec.env.iter() {
        ptrs[e] = u.as_ptr();
        e += 1;
    }
    ptrs[e] = core::ptr::null();
    let path = spec.env.iter().find_map(|u| u.to_bytes().strip_prefix(b"PATH=")).unwrap_or(DEFAULT_PATH);

    // Say clearly when COMMAND is missing, rather than leaving it to the init.
    if let Err(errno) = exec::locate(program.to_bytes(), path) {
        return Err(Error::sys("cannot run", errno).on(program).exit_code(exec::failure_code(errno)));
    }

    let argv = ptrs.as_ptr();
    // SAFETY: envp_at < slots, inside the mapping.
    let envp = unsafe { argv.add(envp_at) };
    if let Some(x) = spec.extras {
        (x.umask)(spec);
    }
    signal::sigprocmask(SIG_SETMASK, ctx.mask).context("cannot restore the signal mask")?;
    if !ctx.confined {
        security::filter_last(spec, ctx.keep)?;
    }
    if let Some(hooks) = spec.hooks.filter(|_| host_pid != 0) {
        (hooks.container)("startContainer", host_pid)?;
    }
    let errno = match (spec.init, ctx.init) {
        (Init::Bundled(_), Some(memfd)) => match process::execveat(memfd, c"", argv, envp, AT_EMPTY_PATH) {
            // No execveat (kernels before 3.19, valgrind): exec the memfd by its /proc path.
            Errno::ENOSYS | Errno::ENOENT => {
                let mut path = Text::<32>::new();
                path.push("/proc/self/fd/").push(memfd);
                match path.as_cstr() {
                    Ok(p) => process::execve(p, argv, envp),
                    Err(e) => e,
                }
            }
            other => other,
        },
        (Init::InRootfs(init), _) => process::execve(init, argv, envp),
        _ => exec::execvp(program, argv, envp, path),
    };
    let what = match spec.init {
        Init::None => program,
        Init::InRootfs(path) => path,
        Init::Bundled(_) => c"knocker's init",
    };
    Err(Error::sys("cannot execute", errno).on(what).exit_code(exec::failure_code(errno)))
}

/// Nothing of the launcher's crosses into the container: every descriptor above 2 closes at
/// exec (the init's memfd too, once the kernel has it open). An OCI engine's `--preserve-fds
/// N` passes 3…3+N-1 on (socket activation and the like): the front end checked they were
/// open when it started, so none of them is one of knocker's own.
pub fn descriptors_for_exec(preserve: u32) -> Result<()> {
    let kept = 3 + preserve;
    fs::close_range(kept, u32::MAX, CLOSE_RANGE_CLOEXEC).context("close_range")?;
    for fd in 3..kept {
        let _ = fs::fcntl(fd as i32, libc::F_SETFD, 0);
    }
    Ok(())
}

fn put(ptrs: &mut [*const c_char], at: usize, items: &[*const c_char]) -> usize {
    ptrs[at..at + items.len()].copy_from_slice(items);
    at + items.len()
}

/// `KEY=…` of both entries are the same KEY.
fn same_key(a: &CStr, b: &CStr) -> bool {
    fn key(s: &CStr) -> &[u8] {
        let bytes = s.to_bytes();
        &bytes[..bytes.iter().position(|&c| c == b'=').unwrap_or(bytes.len())]
    }
    key(a) == key(b)
}
