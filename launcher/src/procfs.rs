//! /proc and /sys inside the container, and what a root process there must not reach through
//! them: the host's kernel memory, keys and timers are masked; the kernel's tunables are
//! read-only (the OCI default lists, as runc and Docker apply them).

use crate::error::{Context, Error, Result};
use crate::rootfs::{mount_on, system_mount_point};
use core::ffi::CStr;
use linker::sys::fs::{self, O_NOFOLLOW, O_PATH};
use linker::sys::mount::{self, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT};
use linker::sys::Errno;
use linker::{Fd, say};

pub const MASKED: [&CStr; 11] = [
    c"/proc/acpi",
    c"/proc/asound",
    c"/proc/interrupts",
    c"/proc/kcore",
    c"/proc/keys",
    c"/proc/latency_stats",
    c"/proc/timer_list",
    c"/proc/sched_debug",
    c"/proc/scsi",
    c"/sys/firmware",
    c"/sys/devices/virtual/powercap",
];

pub const READ_ONLY: [&CStr; 5] = [c"/proc/sys", c"/proc/sysrq-trigger", c"/proc/irq", c"/proc/bus", c"/proc/fs"];

const SAFE: u64 = MS_NOSUID | MS_NODEV | MS_NOEXEC;

/// A fresh proc for the container's PID namespace on ROOTFS/proc.
pub fn mount_proc(root: &Fd) -> Result<()> {
    let point = system_mount_point(root, c"/proc")?
        .ok_or_else(|| Error::new("the rootfs has no /proc directory").hint("create an empty one: mkdir ROOTFS/proc"))?;
    mount_on(Some(c"proc"), &point, Some(c"proc"), SAFE, None).context("cannot mount proc on /proc")
}

/// sysfs, read-only, on ROOTFS/sys when the rootfs has that directory.
pub fn mount_sys(root: &Fd, verbose: bool) -> Result<()> {
    match system_mount_point(root, c"/sys")? {
        Some(point) => match mount_on(Some(c"sysfs"), &point, Some(c"sysfs"), SAFE | MS_RDONLY, None) {
            // A user namespace may mount sysfs only with a network namespace of its own: with
            // the host's network, the host's /sys is bound instead (read-only).
            Err(Errno::EPERM) => {
                mount_on(Some(c"/sys"), &point, None, MS_BIND | MS_REC, None).context("cannot bind the host's /sys")?;
                crate::rootfs::add_flags(&open_sys(root)?, linker::sys::mount::MOUNT_ATTR_RDONLY | linker::sys::mount::MOUNT_ATTR_NOSUID | linker::sys::mount::MOUNT_ATTR_NODEV).context("cannot make /sys read-only")
            }
            other => other.context("cannot mount sysfs on /sys"),
        },
        None => {
            if verbose {
                say!(2; "launcher: the rootfs has no /sys: not mounting sysfs");
            }
            Ok(())
        }
    }
}

fn open_sys(root: &Fd) -> Result<Fd> {
    crate::rootfs::open_in_root(root, c"/sys").context("cannot open /sys")
}

/// After pivot_root: masks and read-only paths. Runs before the init, which finds /proc
/// mounted and leaves it alone, so the masks hold for the container's whole life.
/// `masked`/`read_only`: an OCI config's own lists, which replace knocker's (as runc applies
/// the config's); None: knocker's.
pub fn protect(masked: Option<&[&CStr]>, read_only: Option<&[&CStr]>) -> Result<()> {
    let null = fs::open(c"/dev/null", O_PATH | O_NOFOLLOW).context("cannot open /dev/null")?;
    let st = fs::fstat(null.raw()).context("cannot stat /dev/null")?;
    // Only the real null device (char 1:3) may be bound over a secret: check after opening.
    if st.kind() != fs::S_IFCHR || st.rdev != libc::makedev(1, 3) {
        return Err(Error::new("/dev/null in the container is not the null device"));
    }
    for &path in masked.unwrap_or(&MASKED) {
        let target = match fs::open(path, O_PATH | O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Error::sys("cannot open", e).on(path)),
        };
        let is_dir = fs::fstat(target.raw()).context_on("cannot stat", path)?.is_dir();
        let done = if is_dir {
            mount_on(Some(c"tmpfs"), &target, Some(c"tmpfs"), SAFE | MS_RDONLY, Some(c"mode=555,nr_inodes=1"))
        } else {
            let mut from = crate::rootfs::fd_path(&null);
            mount_on(Some(from.as_cstr().map_err(|e| Error::sys("path", e))?), &target, None, MS_BIND, None)
        };
        done.context_on("cannot mask", path)?;
    }
    for &path in read_only.unwrap_or(&READ_ONLY) {
        match mount::mount(Some(path), path, None, MS_BIND | MS_REC, None) {
            Ok(()) => {}
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Error::sys("cannot bind", e).on(path)),
        }
        mount::mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | SAFE, None)
            .context_on("cannot make read-only:", path)?;
    }
    Ok(())
}
