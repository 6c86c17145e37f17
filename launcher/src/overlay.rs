//! `--overlay`: a throwaway root. The container's root is an overlayfs whose lower layer is
//! ROOTFS (never written) and whose upper layer is a tmpfs of its own (`--overlay-size`) or a
//! directory the user keeps (`--overlay-dir DIR`: DIR/upper and DIR/work). Made in the
//! container's mount namespace, so it vanishes with the container; several containers can
//! share one ROOTFS.

use crate::error::{Context, Error, Result};
use crate::rootfs::fd_path;
use crate::spec::Spec;
use linker::sys::fs::{self, O_DIRECTORY, O_PATH};
use linker::sys::mount::{self, MS_NODEV, MS_NOSUID};
use linker::{Fd, Text};

/// In the container's mount namespace, in place of the bind of ROOTFS: returns the new root.
pub fn setup(spec: &Spec) -> Result<Fd> {
    let lower = fs::open(spec.rootfs, O_PATH | O_DIRECTORY).context_on("cannot open rootfs", spec.rootfs)?;
    // A scratch tmpfs over ROOTFS's path (here only) holds the mount point of the new root,
    // and the writable layer unless it is kept elsewhere.
    let mut size = Text::<64>::new();
    size.push("mode=755,uid=0,gid=0,size=");
    match spec.daily.overlay_size {
        0 => size.push("25%"),
        n => size.push(n),
    };
    mount::mount(Some(c"tmpfs"), spec.rootfs, Some(c"tmpfs"), MS_NOSUID | MS_NODEV, Some(size.as_cstr().context("size")?))
        .context("cannot mount the tmpfs of --overlay")?;
    let scratch = fs::open(spec.rootfs, O_PATH | O_DIRECTORY).context("cannot open the tmpfs of --overlay")?;
    // The layer's directory: the tmpfs, or the one kept (under `--userns` the launcher has
    // replaced it by an idmapped copy of itself, as ROOTFS).
    let kept = match spec.daily.overlay_dir {
        Some(dir) => Some(fs::open(dir, O_PATH | O_DIRECTORY).context_on("cannot open --overlay-dir", dir)?),
        None => None,
    };
    let layer = kept.as_ref().unwrap_or(&scratch);
    // In a user namespace (`--userns`), what is made in the layer must be made by its root:
    // become it now that no host path is left to walk (PID 1 would a moment later anyway).
    if spec.user_namespace {
        crate::security::become_userns_root()?;
    }
    for sub in [c"upper", c"work"] {
        match fs::mkdirat(layer.raw(), sub, 0o755) {
            Ok(()) | Err(linker::Errno::EEXIST) => {}
            Err(e) => return Err(Error::sys("cannot make upper/ and work/ in", e).on(spec.daily.overlay_dir.unwrap_or(c"the tmpfs of --overlay"))),
        }
    }
    let here = fd_path(&scratch);
    let layer = fd_path(layer);
    fs::mkdirat(scratch.raw(), c"root", 0o755).context("mkdir root")?;
    let mut options = Text::<4096>::new();
    options.push("lowerdir=").bytes(fd_path(&lower).as_bytes());
    options.push(",upperdir=").bytes(layer.as_bytes()).push("/upper,workdir=").bytes(layer.as_bytes()).push("/work");
    let mut target = Text::<64>::new();
    target.bytes(here.as_bytes()).push("/root");
    let target = target.as_cstr().context("path")?;
    mount::mount(Some(c"overlay"), target, Some(c"overlay"), MS_NODEV, Some(options.as_cstr().context("options")?)).map_err(|e| match e {
        linker::Errno::ENODEV => Error::new("overlayfs is not available in this kernel").hint("modprobe overlay"),
        e => Error::sys("cannot mount the overlay over", e).on(spec.rootfs),
    })?;
    fs::open(target, O_PATH | O_DIRECTORY).context("cannot open the overlay")
}
