//! /dev inside the container: a small tmpfs of our own, never the rootfs's directory contents,
//! so a hostile image cannot plant a `dev/null` that points at a host file (the class of runc
//! CVE-2025-31133 and the /dev-symlink advisory of 2026). It holds exactly the OCI default
//! devices, bind-mounted from the host's nodes, a fresh devpts instance, /dev/shm and the
//! usual links into /proc/self/fd. The tmpfs itself is `nodev`: the bound nodes are mounts of
//! their own and keep working, a node made there by `mknod` opens nothing. `--device` nodes
//! are bound the same way, wherever the user wants them.

use crate::error::{Context, Error, Result};
use crate::rootfs::{mount_on, open_strict, system_mount_point, target};
use crate::spec::Device;
use core::ffi::CStr;
use linker::sys::fs::{self, O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY};
use linker::sys::mount::{MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID};
use linker::{Fd, Text};

pub const DEVICES: [&CStr; 6] = [c"null", c"zero", c"full", c"random", c"urandom", c"tty"];

const LINKS: [(&CStr, &CStr); 5] = [
    (c"pts/ptmx", c"ptmx"),
    (c"/proc/self/fd", c"fd"),
    (c"/proc/self/fd/0", c"stdin"),
    (c"/proc/self/fd/1", c"stdout"),
    (c"/proc/self/fd/2", c"stderr"),
];

pub fn populate(root: &Fd) -> Result<()> {
    let covered = system_mount_point(root, c"/dev")?
        .ok_or_else(|| Error::new("the rootfs has no /dev directory").hint("create an empty one: mkdir ROOTFS/dev"))?;
    mount_on(Some(c"tmpfs"), &covered, Some(c"tmpfs"), MS_NOSUID | MS_NOEXEC | MS_NODEV, Some(c"mode=755,size=64k"))
        .context("cannot mount tmpfs on /dev")?;
    // Looked up again, the path now leads into the fresh tmpfs.
    let dev = open_strict(root, c"/dev").context("cannot open the new /dev")?;
    for name in DEVICES {
        // An empty file as the mount point, then the host's node bound over it.
        let point = fs::openat(dev.raw(), name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o666)
            .context_on("cannot create /dev/", name)?;
        let mut host = Text::<32>::new();
        host.push("/dev/").push(name);
        mount_on(Some(host.as_cstr().context("path")?), &point, None, MS_BIND, None)
            .context_on("cannot bind the host's device", &host)?;
    }
    fs::mkdirat(dev.raw(), c"pts", 0o755).context("mkdir /dev/pts")?;
    let pts = open_strict(&dev, c"pts").context("open /dev/pts")?;
    // A private instance: the container sees only its own terminals, and ptmx hands out
    // terminals from this instance alone.
    let devpts = |options| mount_on(Some(c"devpts"), &pts, Some(c"devpts"), MS_NOSUID | MS_NOEXEC, Some(options));
    // In a user namespace that maps no group 5 (tty), the terminals keep the caller's group.
    match devpts(c"newinstance,ptmxmode=0666,mode=0620,gid=5") {
        Err(linker::Errno::EINVAL) => devpts(c"newinstance,ptmxmode=0666,mode=0620"),
        other => other,
    }
    .context("cannot mount devpts on /dev/pts")?;
    fs::mkdirat(dev.raw(), c"shm", 0o1777).context("mkdir /dev/shm")?;
    let shm = open_strict(&dev, c"shm").context("open /dev/shm")?;
    mount_on(Some(c"shm"), &shm, Some(c"tmpfs"), MS_NOSUID | MS_NODEV | MS_NOEXEC, Some(c"mode=1777,size=65536k"))
        .context("cannot mount tmpfs on /dev/shm")?;
    for (target, link) in LINKS {
        fs::symlinkat(target, dev.raw(), link).context_on("cannot create /dev/", link)?;
    }
    Ok(())
}

/// `--device`: each host node bound at its container path (created, parents included, when
/// missing). Opening it is allowed by the container's device rules, and by nothing else.
/// An OCI config's nodes are made first, then bound the same way (see [`Staging`]).
pub fn add_devices(root: &Fd, devices: &[Device]) -> Result<()> {
    let mut staging = None;
    for (i, d) in devices.iter().enumerate() {
        let point = target(root, d.path, false)?;
        let mut source = Text::<4096>::new();
        if d.host.is_empty() {
            if staging.is_none() {
                staging = Some(Staging::new(root)?);
            }
            if let Some(s) = &staging {
                source = s.make(i, d)?;
            }
        } else {
            source.bytes(d.host);
        }
        mount_on(Some(source.as_cstr().context("--device path too long")?), &point, None, MS_BIND, None)
            .context_on("cannot bind the device", d.path)?;
    }
    Ok(())
}

/// Where an OCI config's nodes are made: /dev is `nodev`, so they are made in a small tmpfs of
/// their own mounted without it (at `/dev/.nodes`, mode 700), bound to where they belong, and
/// the tmpfs is detached and its directory removed again — the bound nodes keep it alive.
struct Staging {
    dev: Fd,
    dir: Fd,
}

impl Staging {
    fn new(root: &Fd) -> Result<Staging> {
        let dev = open_strict(root, c"/dev").context("cannot open /dev")?;
        fs::mkdirat(dev.raw(), c".nodes", 0o700).context("mkdir /dev/.nodes")?;
        let point = open_strict(&dev, c".nodes").context("open /dev/.nodes")?;
        mount_on(Some(c"tmpfs"), &point, Some(c"tmpfs"), MS_NOSUID | MS_NOEXEC, Some(c"mode=700,size=4k"))
            .context("cannot mount the tmpfs for the config's device nodes")?;
        // Looked up again, the path now leads into the fresh tmpfs.
        let dir = open_strict(&dev, c".nodes").context("open /dev/.nodes")?;
        Ok(Staging { dev, dir })
    }

    /// Makes node `i` as `d` describes it (the umask trims mknod's mode: it is set again);
    /// returns its path, to bind from.
    fn make(&self, i: usize, d: &Device) -> Result<Text<4096>> {
        let mut name = Text::<16>::new();
        name.push(i);
        let name = name.as_cstr().context("node name")?;
        let mode = d.node.mode & 0o777;
        let dir = self.dir.raw();
        fs::mknodat(dir, name, d.node.kind | mode, libc::makedev(d.major, d.minor)).context_on("cannot make the device node", d.path)?;
        fs::fchmodat(dir, name, mode).context_on("cannot set the mode of", d.path)?;
        fs::fchownat(dir, name, d.node.uid, d.node.gid).context_on("cannot set the owner of", d.path)?;
        let mut path = Text::new();
        path.bytes(crate::rootfs::fd_path(&self.dir).as_bytes()).push("/").push(i);
        Ok(path)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Ok(p) = crate::rootfs::fd_path(&self.dir).as_cstr() {
            let _ = linker::sys::mount::umount2(p, linker::sys::mount::MNT_DETACH);
        }
        let _ = fs::unlinkat(self.dev.raw(), c".nodes", libc::AT_REMOVEDIR);
    }
}
