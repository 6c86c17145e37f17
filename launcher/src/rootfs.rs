//! Entering the rootfs: make it a mount point, mount what the user asked for inside it, then
//! `pivot_root` so no path inside reaches the host's tree any more.
//!
//! Every mount target inside ROOTFS is treated as hostile: it is resolved below the rootfs by
//! the kernel (`openat2` with `RESOLVE_IN_ROOT`; symlinks refused outright for the system
//! mount points) and mounted through the verified descriptor (`/proc/self/fd/N`), so a symlink
//! planted in the image — or swapped in during setup — cannot steer a mount onto the host
//! (the class of runc CVE-2021-30465).

use crate::error::{Context, Error, Result};
use crate::spec::{Mount, Spec};
use core::ffi::CStr;
use linker::sys::fs::{self, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_WRONLY};
use linker::sys::fs::{RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS};
use linker::sys::mount::{self, MNT_DETACH, MS_BIND, MS_MOVE, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_STRICTATIME};
use linker::sys::mount::MOUNT_ATTR_NODEV;
use linker::sys::{Errno, Fd};
use linker::{Text, say};

/// `/proc/self/fd/N`: a path the kernel resolves to exactly the object behind descriptor N.
pub fn fd_path(fd: &Fd) -> Text<32> {
    let mut t = Text::new();
    t.push("/proc/self/fd/").push(fd.raw());
    t
}

/// Mounts onto the object behind `target` (never re-resolving a path).
pub fn mount_on(source: Option<&CStr>, target: &Fd, fstype: Option<&CStr>, flags: u64, data: Option<&CStr>) -> core::result::Result<(), Errno> {
    let mut t = fd_path(target);
    mount::mount(source, t.as_cstr()?, fstype, flags, data)
}

/// Opens a container path (`/proc`) below `root` with no symlink anywhere on the way: for the
/// mount points knocker itself uses.
pub fn open_strict(root: &Fd, path: &CStr) -> core::result::Result<Fd, Errno> {
    match fs::openat2(root.raw(), path, O_PATH, 0, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) {
        Err(Errno::ENOSYS) => walk(root, path.to_bytes()),
        other => other,
    }
}

/// Opens a container path below `root`, resolving symlinks as if `root` were `/` (they cannot
/// lead out): for the user's mount points, which may sit behind /bin → usr/bin and the like.
/// Without openat2 (kernels before 5.6) symlinks are refused instead.
pub fn open_in_root(root: &Fd, path: &CStr) -> core::result::Result<Fd, Errno> {
    match fs::openat2(root.raw(), path, O_PATH, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) {
        Err(Errno::ENOSYS) => walk(root, path.to_bytes()),
        other => other,
    }
}

/// Reads the file at `path` inside `root` (resolved there, as [`open_in_root`]) into `buf`.
pub fn read_in_root(root: &Fd, path: &CStr, buf: &mut [u8]) -> core::result::Result<usize, Errno> {
    let at = open_in_root(root, path)?;
    // Only a regular file: a FIFO or a device the container planted there would block or
    // be read forever.
    let st = fs::fstat(at.raw())?;
    if !st.is_file() {
        return Err(Errno::EINVAL);
    }
    if st.size as usize > buf.len() {
        return Err(Errno::EFBIG);
    }
    // An O_PATH descriptor is opened for reading through its /proc/self/fd link.
    let fd = fs::open(fd_path(&at).as_cstr()?, fs::O_RDONLY | fs::O_NONBLOCK | fs::O_CLOEXEC)?;
    let n = fs::read_all(fd.raw(), buf)?;
    // Grown since the fstat: still not the whole file.
    if n == buf.len() { Err(Errno::EFBIG) } else { Ok(n) }
}

/// The `O_NOFOLLOW` walk for kernels without openat2: one component at a time, each opened
/// without following it and refused if it is a symlink; `..` is refused outright.
fn walk(root: &Fd, path: &[u8]) -> core::result::Result<Fd, Errno> {
    let mut here = fs::openat(root.raw(), c".", O_PATH, 0)?;
    for part in path.split(|&c| c == b'/').filter(|p| !p.is_empty() && *p != b".") {
        if part == b".." {
            return Err(Errno::EXDEV);
        }
        let mut name = Text::<256>::new();
        name.bytes(part);
        let next = fs::openat(here.raw(), name.as_cstr()?, O_PATH | O_NOFOLLOW, 0)?;
        if fs::fstat(next.raw())?.kind() == fs::S_IFLNK {
            return Err(Errno::ELOOP);
        }
        here = next;
    }
    Ok(here)
}

/// A directory knocker mounts on (`/proc`, `/dev`, `/sys`): must be a real directory.
pub fn system_mount_point(root: &Fd, path: &'static CStr) -> Result<Option<Fd>> {
    // An OCI runtime makes the mount points a bundle's root lacks (as runc: an engine's image
    // layer is the container's to change); the launcher leaves ROOTFS as it is.
    if MAKE_MOUNT_POINTS.load(core::sync::atomic::Ordering::Relaxed) {
        let _ = fs::mkdirat(root.raw(), CStr::from_bytes_with_nul(&path.to_bytes_with_nul()[1..]).unwrap_or(path), 0o755);
    }
    match open_strict(root, path) {
        Ok(fd) if fs::fstat(fd.raw()).is_ok_and(|s| s.is_dir()) => Ok(Some(fd)),
        Ok(_) => Err(Error::new("refusing to mount on rootfs path that is not a directory:").on(path)),
        Err(Errno::ENOENT) => Ok(None),
        Err(Errno::ELOOP | Errno::EXDEV) => Err(Error::new("refusing rootfs path that is a symlink:")
            .on(path)
            .hint("a mount through it could land outside the rootfs")),
        Err(e) => Err(Error::sys("cannot open rootfs path", e).on(path)),
    }
}

/// Set by the OCI front end: see [`system_mount_point`].
pub static MAKE_MOUNT_POINTS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Binds ROOTFS onto itself so it is a mount point of its own (pivot_root wants one), and
/// returns a descriptor of that new mount's root. The bind is `nodev`: a node made in the
/// rootfs (or one a hostile image ships) opens nothing.
pub fn bind_self(spec: &Spec) -> Result<Fd> {
    mount::mount(Some(spec.rootfs), spec.rootfs, None, MS_BIND | MS_REC, None)
        .context_on("cannot bind-mount rootfs", spec.rootfs)?;
    // Opened after the bind, the path leads to the top of the stack: the new mount.
    let root = fs::open(spec.rootfs, O_PATH | O_DIRECTORY).context_on("cannot open rootfs", spec.rootfs)?;
    add_flags(&root, MOUNT_ATTR_NODEV).context_on("cannot make the rootfs nodev:", spec.rootfs)?;
    Ok(root)
}

/// Adds `MOUNT_ATTR_*` flags to the mount whose root `top` is and to every mount below it,
/// keeping their other flags. Before Linux 5.12 (no mount_setattr) only the top mount
/// changes: a bind remount with its current flags plus the new ones.
pub fn add_flags(top: &Fd, attrs: u64) -> core::result::Result<(), Errno> {
    match mount::add_flags_recursively(top.raw(), attrs) {
        Err(Errno::ENOSYS) => {
            let kept = fs::fstatfs_flags(top.raw())? & (MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME);
            // MOUNT_ATTR_RDONLY/NOSUID/NODEV/NOEXEC have the values of their MS_ flags.
            mount_on(None, top, None, MS_REMOUNT | MS_BIND | kept | attrs, None)
        }
        other => other,
    }
}

/// The user's `--bind` and `--tmpfs` mounts, in command-line order.
pub fn user_mounts(root: &Fd, spec: &Spec) -> Result<()> {
    for m in spec.mounts.iter() {
        match m {
            Mount::Bind { src, dst, flags, propagation } => bind(root, src, dst, *flags, *propagation, spec)?,
            Mount::Tmpfs { dst } => {
                let target = target(root, dst, true)?;
                mount_on(Some(c"tmpfs"), &target, Some(c"tmpfs"), MS_NOSUID | MS_NODEV, Some(c"mode=755"))
                    .context_on("cannot mount tmpfs on", dst)?;
            }
            // Only an OCI config has these (Extras: the launcher does not carry them).
            Mount::Fs { .. } | Mount::Sys => {
                if let Some(x) = spec.extras {
                    (x.mount)(root, m, spec)?;
                }
            }
        }
    }
    Ok(())
}

/// An OCI config's file system mount, or knocker's /sys at its place in the order.
pub fn oci_mount(root: &Fd, m: &Mount, spec: &Spec) -> Result<()> {
    let &Mount::Fs { fstype, source, dst, flags, data, propagation } = m else {
        return crate::procfs::mount_sys(root, spec.verbose);
    };
    let target = target(root, dst, true)?;
    // nodev always: no device node reaches the container but through its /dev.
    mount_on(Some(source), &target, Some(fstype), flags | MS_NODEV, data)
        .map_err(|e| Error::sys("cannot mount", e).on(fstype.to_bytes()).on(" on ").on(dst))?;
    if propagation != 0 {
        let mut d = Text::<4096>::new();
        d.bytes(dst);
        let top = open_in_root(root, d.as_cstr().context("path")?).context_on("cannot reopen", dst)?;
        mount_on(None, &top, None, propagation, None).context_on("cannot set the propagation of", dst)?;
    }
    Ok(())
}

/// An OCI bind's own options (access time, `ro`, `nosuid`, `noexec`, `nosymfollow`), on its
/// top mount only, as runc's remount: a bind remount replaces the flags, so with the ones it
/// has.
pub fn bind_top(top: &Fd, dst: &[u8], flags: u64) -> Result<()> {
    let kept = fs::fstatfs_flags(top.raw()).context_on("cannot read the flags of", dst)? & (MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV);
    mount_on(None, top, None, MS_REMOUNT | MS_BIND | kept | flags, None).context_on("cannot set the options of the bind mount at", dst)
}

fn bind(root: &Fd, src: &[u8], dst: &[u8], flags: u64, propagation: u64, spec: &Spec) -> Result<()> {
    let mut s = Text::<4096>::new();
    s.bytes(src);
    let source = fs::open(s.as_cstr().context("--bind source too long")?, O_PATH)
        .context_on("cannot open --bind source", src)?;
    let is_dir = fs::fstat(source.raw()).context_on("cannot stat --bind source", src)?.is_dir();
    let target = target(root, dst, is_dir)?;
    let mut from = fd_path(&source);
    mount_on(Some(from.as_cstr().context("path")?), &target, None, MS_BIND | (flags & MS_REC), None)
        .context_on("cannot bind-mount onto", dst)?;
    // The descriptor still names the covered directory; look the path up again to reach the
    // new mount, then make it (and every mount below it) nodev, and read-only if asked.
    let mut d = Text::<4096>::new();
    d.bytes(dst);
    let top = open_in_root(root, d.as_cstr().context("path")?).context_on("cannot reopen", dst)?;
    // MOUNT_ATTR_RDONLY, _NOSUID and _NOEXEC have the values of their MS_ flags.
    let attrs = MOUNT_ATTR_NODEV | (flags & (MS_RDONLY | MS_NOSUID | MS_NOEXEC));
    add_flags(&top, attrs).context_on("cannot set nodev/ro on", dst)?;
    // The top mount's own options (an OCI config's access time, `ro`, `nosuid`…).
    let own = flags & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME) | flags >> crate::spec::TOP_ONLY;
    if let (true, Some(x)) = (own != 0, spec.extras) {
        (x.bind_top)(&top, dst, own)?;
    }
    if propagation != 0 {
        mount_on(None, &top, None, propagation, None).context_on("cannot set the propagation of", dst)?;
    }
    Ok(())
}

/// The mount point for a user mount at container path `dst`, created when missing (a
/// directory, or an empty file when binding a file). Creation walks one component at a time
/// and refuses symlinks on that walk.
pub fn target(root: &Fd, dst: &[u8], dir: bool) -> Result<Fd> {
    let mut d = Text::<4096>::new();
    d.bytes(dst);
    let path = d.as_cstr().context("mount destination too long")?;
    match open_in_root(root, path) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys("cannot open mount point", e).on(dst)),
    }
    let parts = || dst.split(|&c| c == b'/').filter(|p| !p.is_empty());
    if parts().any(|p| p == b".." || p == b".") {
        return Err(Error::new("mount destination must not contain . or .. :").on(dst));
    }
    let count = parts().count();
    let mut here: Option<Fd> = None;
    for (i, part) in parts().enumerate() {
        let last = i + 1 == count;
        let mut name = Text::<256>::new();
        name.bytes(part);
        let name = name.as_cstr().context("path component too long")?;
        let at = here.as_ref().unwrap_or(root).raw();
        let step = |flags| match fs::openat2(at, name, O_PATH | flags, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) {
            Err(Errno::ENOSYS) => fs::openat(at, name, O_PATH | O_NOFOLLOW | flags, 0).and_then(|fd| {
                if fs::fstat(fd.raw())?.kind() == fs::S_IFLNK { Err(Errno::ELOOP) } else { Ok(fd) }
            }),
            other => other,
        };
        let want_dir = !last || dir;
        let next = match step(if want_dir { O_DIRECTORY } else { 0 }) {
            Err(Errno::ENOENT) if want_dir => {
                fs::mkdirat(at, name, 0o755).context_on("cannot create mount point", dst)?;
                step(O_DIRECTORY)
            }
            Err(Errno::ENOENT) => {
                fs::openat(at, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o644)
                    .context_on("cannot create mount point", dst)?;
                step(0)
            }
            other => other,
        };
        here = Some(next.context_on("cannot create mount point (symlink in the way?)", dst)?);
    }
    here.ok_or_else(|| Error::new("refusing to mount over the container's root:").on(dst))
}

/// Makes `root` the process's root and detaches the host's tree.
///
/// `pivot_root(".", ".")` stacks the old root on top of the new one at the same place, so the
/// following `umount2(".", MNT_DETACH)` takes the old root away without a put-old directory
/// (the rootfs stays unmodified, and this works on a read-only rootfs). When the current root
/// is the initramfs (`rootfs`), pivot_root is impossible (EINVAL): then move the new root over
/// `/` and chroot into it. That fallback is escapable with CAP_SYS_CHROOT, which the caller
/// drops from the container's set when this returns `false`.
pub fn pivot(root: &Fd, verbose: bool) -> Result<bool> {
    fs::fchdir(root.raw()).context("cannot enter rootfs")?;
    match mount::pivot_root(c".", c".") {
        Ok(()) => {
            mount::umount2(c".", MNT_DETACH).context("cannot detach the host's root")?;
            fs::chdir(c"/").context("chdir /")?;
            Ok(true)
        }
        Err(Errno::EINVAL) => {
            if verbose {
                say!(2; "launcher: pivot_root impossible here (root on initramfs?): using MS_MOVE + chroot");
            }
            mount::mount(Some(c"."), c"/", None, MS_MOVE, None).context("cannot move rootfs onto /")?;
            fs::chroot(c".").context("chroot")?;
            fs::chdir(c"/").context("chdir /")?;
            Ok(false)
        }
        Err(e) => Err(Error::sys("pivot_root", e)),
    }
}

/// `--ro`: the root mount becomes read-only (the mounts on top of it keep their own flags).
pub fn make_root_read_only() -> Result<()> {
    mount::mount(None, c"/", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None).context("cannot make the rootfs read-only")
}

/// The host's mount namespace, rooted in the container's tree (an OCI config without a mount
/// namespace; runc chroots there). The tree is a detached copy: none of it enters the host's
/// mount table, and it goes with the container. `host`: the launcher's mount namespace.
/// The caller drops CAP_SYS_CHROOT, which would lead out of a chroot.
pub fn enter_host_mounts(host: i32) -> Result<()> {
    let tree = mount::clone_tree(c"/").context("cannot copy the container's mount tree (open_tree)")?;
    linker::sys::ns::setns(host, libc::CLONE_NEWNS).context("cannot enter the host's mount namespace")?;
    fs::fchdir(tree.raw()).context("cannot enter the container's tree")?;
    fs::chroot(c".").context("chroot")?;
    fs::chdir(c"/").context("chdir /")
}

/// The OCI front end's working directory, made when the image lacks it (as runc does): after
/// pivot_root, so every component resolves inside the container, and before the root may
/// become read-only.
pub fn make_workdir(dir: &CStr) -> Result<()> {
    let path = dir.to_bytes();
    let mut prefix = Text::<4096>::new();
    let ends = path.iter().enumerate().filter(|&(i, &c)| c == b'/' && i > 0).map(|(i, _)| i).chain([path.len()]);
    for end in ends.filter(|&e| e > 1) {
        prefix.clear();
        prefix.bytes(&path[..end]);
        match fs::mkdir(prefix.as_cstr().context("the working directory is too long")?, 0o755) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Error::sys("cannot create the working directory", e).on(path)),
        }
    }
    Ok(())
}
