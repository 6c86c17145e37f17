//! The launcher's OCI steps ([`launcher::spec::OCI_EXTRAS`]) with what only this front end
//! adds: a failed setup's line sent to the creator (relay.rs), and a config's file systems
//! mounted with knocker's own /dev/shm replaced and `tmpcopyup` applied (copyup.rs).

use launcher::error::{Error, Result};
use launcher::rootfs::{fd_path, oci_mount, target};
use launcher::spec::{Extras, Mount, Spec};
use linker::Fd;
use linker::sys::{fs, mount};

pub static EXTRAS: Extras = Extras { failed: crate::relay::child_failed, mount: mount_fs, ..launcher::spec::OCI_EXTRAS };

/// A config's file system mount. At /dev/shm (Docker's --shm-size) it replaces knocker's own,
/// as runc's is the only one; with `tmpcopyup` the tmpfs starts with the contents of the
/// directory it covers, and is made read-only only once it holds them (as runc remounts it).
fn mount_fs(root: &Fd, m: &Mount, spec: &Spec) -> Result<()> {
    let &Mount::Fs { dst, flags, data, .. } = m else { return oci_mount(root, m, spec) };
    if dst == b"/dev/shm" {
        let mut at = fd_path(root);
        at.push("/dev/shm");
        // (Not there, or already gone: nothing to replace; a stack would be harmless too.)
        let _ = at.as_cstr().map(|p| mount::umount2(p, mount::MNT_DETACH as i32));
    }
    if flags & crate::config::COPY_UP == 0 {
        return oci_mount(root, m, spec);
    }
    let open_dir = |fd: &Fd| {
        let mut p = fd_path(fd);
        fs::open(p.as_cstr().map_err(|_| Error::new("path too long"))?, fs::O_RDONLY | fs::O_DIRECTORY).map_err(|e| Error::sys("tmpcopyup: cannot open", e).on(dst))
    };
    // The covered directory, held open: it stays readable under the new mount.
    let covered = open_dir(&target(root, dst, true)?)?;
    let flags = flags & !crate::config::COPY_UP;
    let mut writable = *m;
    if let Mount::Fs { flags: f, .. } = &mut writable {
        *f = flags & !mount::MS_RDONLY;
    }
    oci_mount(root, &writable, spec)?;
    let made = target(root, dst, true)?;
    crate::copyup::copy_tree(&covered, &open_dir(&made)?, dst)?;
    if flags & mount::MS_RDONLY != 0 {
        let mut p = fd_path(&made);
        mount::mount(None, p.as_cstr().map_err(|_| Error::new("path too long"))?, None, mount::MS_REMOUNT | flags | mount::MS_NODEV, data)
            .map_err(|e| Error::sys("tmpcopyup: cannot make read-only", e).on(dst))?;
    }
    Ok(())
}
