//! Name resolution for a container with a network beyond `lo` (`--net host`, `pasta`,
//! `ns:PATH`), as Docker gives it: its own `/etc/resolv.conf` (the host's name servers, or
//! `--dns`; a loopback resolver of the host becomes pasta's forwarder), `/etc/hosts`
//! (localhost, the container's host name, `--add-host`) and `/etc/hostname`. The files are
//! written to a small tmpfs of their own and bound read-only over the rootfs's — whose
//! contents stay untouched. Where the rootfs has no such file, an empty one is made as the
//! mount point (as `--bind` makes its mount points); where it cannot be (`--ro`, a dangling
//! symlink), the container goes without it.

use crate::error::{Context, Error, Result};
use crate::spec::Spec;
use linker::sys::fs::{self, O_CREAT, O_EXCL, O_WRONLY};
use linker::sys::mount::{self, MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT};
use linker::{Text, say};

/// pasta answers DNS queries sent here (`--dns-forward`) with the host's resolver.
pub const PASTA_DNS: &str = "169.254.1.1";

struct Files {
    ready: bool,
    resolv: Text<2048>,
    hosts: Text<2048>,
    hostname: Text<80>,
    verbose: bool,
}

/// All zeros (not an `Option`, whose `None` would put 4 KB of it in the file's data).
static mut FILES: Files = Files { ready: false, resolv: Text::new(), hosts: Text::new(), hostname: Text::new(), verbose: false };

/// Whether the container gets these files: when it has a network beyond `lo`.
pub fn wanted(spec: &Spec) -> bool {
    spec.host_network || spec.net_join.is_some() || spec.daily.pasta
}

/// In the launcher, before the container exists: the files' contents.
pub fn prepare(spec: &Spec) {
    let mut f = Files { ready: true, resolv: Text::new(), hosts: Text::new(), hostname: Text::new(), verbose: spec.verbose };
    if spec.daily.dns.is_empty() {
        let mut host = [0u8; 2048];
        let n = fs::read_file(c"/etc/resolv.conf", &mut host).unwrap_or(0);
        // With pasta every query goes to its forwarder, which asks the host's resolver (as
        // rootless podman does: a host's resolver may answer pasta's TCP and not its UDP, a
        // loopback one is out of reach); otherwise the host's, but a loopback stub, which is
        // not reachable from another namespace.
        if spec.daily.pasta {
            f.resolv.push("nameserver ").push(PASTA_DNS).push("\n");
        }
        for line in host[..n].split(|&c| c == b'\n') {
            let server = line.strip_prefix(b"nameserver").map(|s| s.trim_ascii());
            match server {
                Some(_) if spec.daily.pasta => {}
                Some(s) if s.starts_with(b"127.") || s == b"::1" => {}
                Some(_) => {
                    f.resolv.bytes(line).push("\n");
                }
                None if line.starts_with(b"search") || line.starts_with(b"options") || line.starts_with(b"domain") => {
                    f.resolv.bytes(line).push("\n");
                }
                None => {}
            }
        }
    }
    for server in spec.daily.dns.iter() {
        f.resolv.push("nameserver ").bytes(server).push("\n");
    }
    f.hosts.push("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t").bytes(spec.hostname).push("\n");
    for (name, ip) in spec.daily.add_hosts.iter() {
        f.hosts.bytes(ip).push("\t").bytes(name).push("\n");
    }
    f.hostname.bytes(spec.hostname).push("\n");
    // SAFETY: single-threaded, written before the container is cloned and read only after.
    unsafe { *core::ptr::addr_of_mut!(FILES) = f };
}

const STAGING: &core::ffi::CStr = c"/dev/.etc";

/// In the container, after pivot_root: binds the files over the rootfs's, read-only.
pub fn mount() -> Result<()> {
    // SAFETY: written once by `prepare` before the clone; this process has its own copy.
    let f = unsafe { &*core::ptr::addr_of!(FILES) };
    if !f.ready {
        return Ok(());
    }
    fs::mkdirat(fs::AT_FDCWD, STAGING, 0o700).context("mkdir /dev/.etc")?;
    let result = mount_files(f);
    let _ = mount::umount2(STAGING, MNT_DETACH);
    let _ = fs::unlinkat(fs::AT_FDCWD, STAGING, libc::AT_REMOVEDIR);
    result
}

fn mount_files(f: &Files) -> Result<()> {
    mount::mount(Some(c"tmpfs"), STAGING, Some(c"tmpfs"), MS_NOSUID | MS_NODEV | MS_NOEXEC, Some(c"mode=755,size=16k"))
        .context("cannot mount a tmpfs for /etc/resolv.conf, /etc/hosts and /etc/hostname")?;
    for (name, text) in [("resolv.conf", f.resolv.as_bytes()), ("hosts", f.hosts.as_bytes()), ("hostname", f.hostname.as_bytes())] {
        if name == "resolv.conf" && text.is_empty() {
            continue;
        }
        let mut source = Text::<32>::new();
        source.push("/dev/.etc/").push(name);
        let mut target = Text::<32>::new();
        target.push("/etc/").push(name);
        let (source, target) = (source.as_cstr().context("path")?, &mut target);
        let fd = fs::openat(fs::AT_FDCWD, source, O_WRONLY | O_CREAT | O_EXCL, 0o644).context_on("cannot write", source)?;
        fs::write_all(fd.raw(), text).context_on("cannot write", source)?;
        drop(fd);
        let target = target.as_cstr().context("path")?;
        if let Ok(point) = fs::openat(fs::AT_FDCWD, target, O_WRONLY | O_CREAT | O_EXCL | fs::O_NOFOLLOW, 0o644) {
            drop(point);
        }
        match mount::mount(Some(source), target, None, MS_BIND, None) {
            Ok(()) => {}
            Err(linker::Errno::ENOENT) => {
                if f.verbose {
                    say!(2; "launcher: the rootfs has no ", target, ": the container goes without it");
                }
                continue;
            }
            Err(e) => return Err(Error::sys("cannot bind", e).on(target)),
        }
        mount::mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
            .context_on("cannot make read-only", target)?;
    }
    Ok(())
}
