//! Checks on the host before anything is created: what the container would inherit that it
//! must not (a directory as stdio), who else can reach ROOTFS, the `--device` nodes, and the
//! default pids limit. Each failure is one line and exit 125; nothing exists yet to clean up.

use crate::error::{Context, Error, Result};
use crate::spec::{self, Spec};
use linker::sys::fs::{self, F_GETFL, O_DIRECTORY, O_PATH, S_IFBLK, S_IFCHR};
use linker::sys::Errno;
use linker::{Text, say};

/// A directory (or an `O_PATH` descriptor) as stdin, stdout or stderr would hand the container
/// a way into the host's tree: `/proc/self/fd/0/…` walks it. Refused.
pub fn check_stdio() -> Result<()> {
    for (fd, name) in [(0, "stdin"), (1, "stdout"), (2, "stderr")] {
        let Ok(st) = fs::fstat(fd) else { continue };
        let o_path = fs::fcntl(fd, F_GETFL, 0).is_ok_and(|flags| flags as i32 & O_PATH != 0);
        if st.is_dir() || o_path {
            return Err(Error::new(if st.is_dir() { "refusing a directory as the container's" } else { "refusing an O_PATH descriptor as the container's" })
                .on(name)
                .hint("it would give the container a path into the host's files; redirect from a file, a pipe or /dev/null"));
        }
    }
    Ok(())
}

/// Whether some other host user could walk into ROOTFS: true unless an ancestor of it (ROOTFS
/// itself does not count: the container's users need to traverse its root) denies others
/// search permission. Such users could run setuid-root programs or use device nodes that the
/// container's root planted there.
pub fn reachable_by_others(rootfs: &core::ffi::CStr) -> bool {
    let Ok(mut here) = fs::open(rootfs, O_PATH | O_DIRECTORY) else { return false };
    for _ in 0..256 {
        let Ok(up) = fs::openat(here.raw(), c"..", O_PATH | O_DIRECTORY, 0) else { return false };
        let (Ok(a), Ok(b)) = (fs::fstat(here.raw()), fs::fstat(up.raw())) else { return false };
        if (a.dev, a.ino) == (b.dev, b.ino) {
            return true; // reached "/" with every ancestor searchable
        }
        if b.mode & 0o001 == 0 {
            return false;
        }
        here = up;
    }
    true
}

pub fn warn_if_reachable(spec: &Spec) {
    // Without root, what is made inside belongs to the caller's own ids. With root — under
    // `--userns` too, whose idmapped ROOTFS stores container root's files as host root's —
    // a setuid file made inside is host root's on disk; where writes go: ROOTFS, or the kept
    // layer of --overlay-dir (--overlay's layer is a tmpfs only the container sees).
    if linker::sys::process::geteuid() != 0 {
        return;
    }
    let written = match (spec.daily.overlay_dir, spec.daily.overlay) {
        (Some(dir), _) => dir,
        (None, true) => return,
        (None, false) => spec.rootfs,
    };
    if reachable_by_others(written) {
        let mut line = Text::<512>::new();
        line.push("launcher: warning: other users of this host can reach ").push(written)
            .push(" (setuid programs and device nodes made inside would be theirs to use): keep it in a directory only root can enter, e.g. chmod 700 its parent");
        say!(2; line);
    }
}

/// Fills in each `--device` from its host node: block or character, major and minor.
pub fn resolve_devices(devices: &mut [spec::Device]) -> Result<()> {
    for d in devices {
        let mut host = Text::<4096>::new();
        host.bytes(d.host);
        let st = match fs::stat(host.as_cstr().context("--device path too long")?) {
            Ok(st) => st,
            Err(Errno::ENOENT) => return Err(Error::new("--device: no such host path:").on(d.host)),
            Err(e) => return Err(Error::sys("--device: cannot stat", e).on(d.host)),
        };
        match st.kind() {
            S_IFCHR => d.block = false,
            S_IFBLK => d.block = true,
            _ => return Err(Error::new("--device: not a device node:").on(d.host).hint("give a character or block device, e.g. /dev/fuse")),
        }
        (d.major, d.minor) = (libc::major(st.rdev), libc::minor(st.rdev));
    }
    Ok(())
}

/// `--net ns:PATH`: PATH must be a namespace file (nsfs) of a network namespace. Checked
/// here, before anything exists, so a wrong path is one line and nothing to undo.
pub fn check_net_join(spec: &Spec) -> Result<()> {
    let Some(path) = spec.net_join else { return Ok(()) };
    let fd = fs::open(path, fs::O_RDONLY).map_err(|e| Error::sys("cannot open the network namespace", e).on(path))?;
    if fs::fstatfs_type(fd.raw()) != Ok(linker::sys::ns::NSFS_MAGIC) {
        return Err(Error::new("not a namespace file:").on(path).hint("give a file from `ip netns add NAME` (/run/netns/NAME) or /proc/PID/ns/net"));
    }
    Ok(())
}

/// Knocker's pids limit when the user gave no `--pids` (see [`spec::default_pids`]).
pub fn default_pids() -> u64 {
    let read = |path: &core::ffi::CStr| {
        let mut buf = [0u8; 32];
        fs::read_file(path, &mut buf).ok().and_then(|n| linker::text::decimal_value(buf[..n].trim_ascii()))
    };
    let threads = read(c"/proc/sys/kernel/threads-max").unwrap_or(u32::MAX as u64);
    let pids = read(c"/proc/sys/kernel/pid_max").unwrap_or(u32::MAX as u64);
    spec::default_pids(threads, pids)
}

/// Where a terminfo database may be, inside the container.
const TERMINFO_DIRS: [&str; 3] = ["/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo"];

/// TERM for the program: the launcher's own when the rootfs knows that terminal, else
/// `xterm-256color` or `xterm` if it knows those (an `xterm-kitty` host in a Debian rootfs
/// would leave every full-screen program saying "unknown terminal type"). A rootfs without a
/// terminfo database (busybox) gets TERM unchanged. Looked up inside the rootfs.
pub fn choose_term(spec: &mut Spec, env: linker::Env, rootfs: &core::ffi::CStr) {
    let Some(given) = env.entry(b"TERM").and_then(|e| e.to_bytes().strip_prefix(b"TERM=")) else { return };
    let Ok(root) = fs::open(rootfs, fs::O_PATH | fs::O_DIRECTORY) else { return };
    let exists = |path: &[u8]| {
        let mut p = Text::<160>::new();
        p.bytes(path);
        p.as_cstr().is_ok_and(|c| crate::rootfs::open_in_root(&root, c).is_ok())
    };
    let known = |term: &[u8]| {
        TERMINFO_DIRS.iter().any(|dir| {
            let mut p = Text::<160>::new();
            p.push(*dir).push("/").bytes(&term[..1.min(term.len())]).push("/").bytes(term);
            exists(p.as_bytes())
        })
    };
    let has_database = TERMINFO_DIRS.iter().any(|d| exists(d.as_bytes()));
    let chosen: &[u8] = match () {
        _ if !has_database || given.is_empty() || given.contains(&b'/') || known(given) => given,
        _ if known(b"xterm-256color") => b"xterm-256color",
        _ if known(b"xterm") => b"xterm",
        _ => given,
    };
    spec.term.bytes(chosen);
}
