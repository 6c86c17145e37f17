//! A PID 1 whose setup fails says why to its creator, which reports the line as its own: an
//! engine reads the runtime's stderr and `--log`, never the container's (before: every such
//! failure reached Docker, podman and containerd as "the container failed during its setup").
//! One record on the sync channel (launcher::sync): `FAILED` and the line.

use launcher::error::{Error, Result};
use launcher::spec::{Extras, Spec};
use launcher::sync::{ChildEnd, FAILED, ParentEnd, READY};
use linker::sys::fs;
use linker::sys::socket::{self, MSG_PEEK};

/// The launcher's OCI steps, with a failed setup's line sent to the creator and a config's
/// own /dev/shm in place of knocker's.
pub static EXTRAS: Extras = Extras { failed: child_failed, mount: mount_in_place, ..launcher::spec::OCI_EXTRAS };

/// A config's file system mount, with what only knocker's OCI front end does around it: at
/// /dev/shm (Docker's --shm-size) it replaces knocker's own, as runc's is the only one; with
/// `tmpcopyup` the tmpfs starts with the contents of the directory it covers (copyup.rs).
fn mount_in_place(root: &linker::Fd, m: &launcher::spec::Mount, spec: &Spec) -> Result<()> {
    use launcher::rootfs::{fd_path, oci_mount, target};
    use launcher::spec::Mount;
    let &Mount::Fs { dst, flags, .. } = m else { return oci_mount(root, m, spec) };
    if dst == b"/dev/shm" {
        let mut at = fd_path(root);
        at.push("/dev/shm");
        if let Ok(p) = at.as_cstr() {
            let _ = linker::sys::mount::umount2(p, linker::sys::mount::MNT_DETACH as i32);
        }
    }
    if flags & crate::config::COPY_UP == 0 {
        return oci_mount(root, m, spec);
    }
    let open_dir = |fd: &linker::Fd| {
        let mut p = fd_path(fd);
        let p = p.as_cstr().map_err(|_| Error::new("path"))?;
        fs::open(p, fs::O_RDONLY | fs::O_DIRECTORY).map_err(|e| Error::sys("tmpcopyup: cannot open", e).on(dst))
    };
    // The covered directory, held open: it stays readable under the new mount.
    let covered = open_dir(&target(root, dst, true)?)?;
    let read_only = flags & linker::sys::mount::MS_RDONLY;
    let writable = match *m {
        Mount::Fs { fstype, source, dst, data, propagation, .. } => Mount::Fs { fstype, source, dst, flags: flags & !(crate::config::COPY_UP | read_only), data, propagation },
        _ => *m,
    };
    oci_mount(root, &writable, spec)?;
    let made = target(root, dst, true)?;
    crate::copyup::copy_tree(&covered, &open_dir(&made)?, dst)?;
    if read_only != 0 {
        // Read-only once it holds its contents, as runc remounts it.
        let mut p = fd_path(&made);
        let p = p.as_cstr().map_err(|_| Error::new("path"))?;
        let Mount::Fs { data, .. } = writable else { return Ok(()) };
        linker::sys::mount::mount(None, p, None, linker::sys::mount::MS_REMOUNT | (flags & !crate::config::COPY_UP) | linker::sys::mount::MS_NODEV, data)
            .map_err(|e| Error::sys("tmpcopyup: cannot make read-only", e).on(dst))?;
    }
    Ok(())
}

/// In PID 1 of a `create` (the creator is waiting in [`wait_ready`]): the line without the
/// program's name, else on stderr as the launcher says it.
fn child_failed(spec: &Spec, sync: &ChildEnd, e: &Error) {
    let line = e.line();
    let said = line.as_bytes().splitn(2, |&c| c == b' ').nth(1).unwrap_or(b"");
    let mut record = [0u8; 512];
    record[0] = FAILED;
    let n = said.len().min(record.len() - 1);
    record[1..1 + n].copy_from_slice(&said[..n]);
    if spec.detached.is_none() || fs::write(sync.0.raw(), &record[..1 + n]).is_err() {
        e.report();
    }
}

/// In the creator: Ok once PID 1 is set up and waits on the exec fifo; its line when it failed.
pub fn wait_ready(sync: &ParentEnd) -> Result<()> {
    let mut record = [0u8; 512];
    loop {
        // One record per read (SOCK_SEQPACKET).
        match fs::read(sync.0.raw(), &mut record) {
            Ok(n) if n > 0 && record[0] == READY => return Ok(()),
            Ok(n) if n > 0 && record[0] == FAILED => return Err(Error::new("the container's setup failed:").on(&record[1..n])),
            Ok(n) if n > 0 => continue,
            _ => return Err(Error::new("the container failed during its setup")),
        }
    }
}

/// Whether PID 1 failed before it had a terminal to send (its line is left for [`wait_ready`]).
pub fn failed_first(sync: &ParentEnd) -> bool {
    matches!(socket::recv(sync.0.raw(), MSG_PEEK), Ok(Some((FAILED, _))))
}
