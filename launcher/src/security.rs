//! What a root process inside may still do: the capability sets, the user it runs as,
//! no_new_privs, and the seccomp filter.

use crate::error::{Context, Error, Result};
use crate::seccomp;
use crate::spec::Spec;
use linker::sys::caps::{self, Sets};
use linker::sys::process::{self, prctl};
use linker::say;

const PR_SET_NO_NEW_PRIVS: i32 = 38;
const PR_SET_KEEPCAPS: i32 = 8;
pub const PR_SET_DUMPABLE: i32 = 4;
pub const PR_SET_PDEATHSIG: i32 = 1;
pub const CAP_SYS_CHROOT: u64 = 1 << 18;
const PROC_SUPER_MAGIC: u64 = 0x9fa0;

/// The launcher must not be ptrace-able or leave /proc/<pid>/ open to the container while it
/// holds host descriptors; execve of the init resets this.
pub fn stay_undumpable() -> Result<()> {
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0).map(drop).context("prctl(PR_SET_DUMPABLE)")
}

/// The same for a process about to join a running container: not dumpable from the start
/// until it execs the command, so nothing inside can open its /proc files (its memory, its
/// executable, its descriptors) while it still runs knocker's code with the container's
/// credentials (see sealed.rs for what it runs from).
pub fn joiner_undumpable() -> Result<()> {
    if cfg!(feature = "unprotected-control") {
        return Ok(());
    }
    stay_undumpable()
}

/// Drops to the container's capabilities and user. `keep` is the capability (bounding) set;
/// capabilities leave the bounding set first (that needs CAP_SETPCAP, which we still hold),
/// then the ids change, then the remaining sets are written. An OCI config's own sets are
/// kept across the change of user, as runc keeps them.
/// Become root of the user namespace this process is in (uid and gid 0): a root launcher's
/// host ids are not mapped there, and an unmapped uid 0 would still own the host's files.
pub fn become_userns_root() -> Result<()> {
    process::setresgid(0).context("cannot become root in the user namespace (setresgid)")?;
    process::setresuid(0).context("cannot become root in the user namespace (setresuid)")
}

pub fn drop_privileges(spec: &Spec, keep: u64) -> Result<()> {
    let known = caps::limit_bounding(keep).context("cannot limit the capability bounding set")?;
    caps::clear_ambient().context("cannot clear the ambient capabilities")?;
    match process::setgroups(spec.groups) {
        // A user namespace mapping only one id denies setgroups (ours without root, or a
        // rootless engine's): then there are none to clear.
        Err(linker::Errno::EPERM) if spec.groups.is_empty() => {}
        other => other.context("cannot set the supplementary groups")?,
    }
    if spec.cap_sets.is_some() && spec.uid != 0 {
        prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0).context("prctl(PR_SET_KEEPCAPS)")?;
    }
    if spec.gid != 0 {
        process::setresgid(spec.gid).context("cannot switch group (setresgid)")?;
    }
    if spec.uid != 0 {
        // Leaving uid 0 clears the permitted and effective sets (no SECBIT_KEEP_CAPS), as a
        // non-root user in Docker gets no capabilities either.
        process::setresuid(spec.uid).context("cannot switch user (setresuid)")?;
    }
    match (spec.cap_sets, spec.extras) {
        (Some(sets), Some(x)) => (x.cap_sets)(&sets, known & !(spec.caps & !keep))?,
        (None, _) if spec.uid == 0 => {
            let set = keep & known;
            caps::set(Sets { effective: set, permitted: set, inheritable: set }).context("cannot set capabilities")?;
        }
        _ => {}
    }
    if !spec.allow_new_privs {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0).context("cannot set no_new_privs")?;
    }
    Ok(())
}

/// An OCI config's own capability sets, within `allowed`: the ones the kernel knows, less
/// what knocker itself took from the bounding set (CAP_SYS_CHROOT in a chroot) — an
/// inheritable one would come back at exec, and capset refuses an inheritable capability
/// outside the bounding set.
pub fn oci_cap_sets(sets: &crate::spec::CapSets, allowed: u64) -> Result<()> {
    let sets_now = Sets { effective: sets.effective & allowed, permitted: sets.permitted & allowed, inheritable: sets.inheritable & allowed };
    caps::set(sets_now).context("cannot set the capabilities of process.capabilities")?;
    // As runc: an ambient capability that is not also inheritable is left out.
    caps::raise_ambient(sets.ambient & allowed);
    Ok(())
}

/// The execution domain and the LSM label the program starts with (an OCI config's).
pub fn label_and_personality(spec: &Spec) -> Result<()> {
    if let Some(persona) = spec.personality {
        process::personality(persona).context("cannot set the personality (linux.personality)")?;
    }
    if let Some((attr, label)) = spec.exec_label {
        let fd = linker::sys::fs::open(attr, linker::sys::fs::O_WRONLY).context_on("cannot open", attr)?;
        // It must be procfs's own file, not one a mount put there (runc CVE-2019-16884).
        if linker::sys::fs::fstatfs_type(fd.raw()) != Ok(PROC_SUPER_MAGIC) {
            return Err(Error::new("not procfs's own file (something is mounted over it):").on(attr));
        }
        linker::sys::fs::write_all(fd.raw(), label).context_on("cannot set the security label of the process through", attr)?;
    }
    Ok(())
}

/// The container's confinement up to the seccomp filter, in runc's order: without
/// no_new_privs a filter can only go in while CAP_SYS_ADMIN is held, so before the
/// capabilities are dropped; with it, the filter waits for [`filter_last`], just before the
/// exec, so that none of knocker's own steps run under a filter made for the container's
/// program (a profile without `close_range`, say). Until that exec the process is not
/// dumpable, so nothing in the container can reach into it in between.
pub fn confine_and_drop(spec: &Spec, keep: u64) -> Result<()> {
    if spec.allow_new_privs {
        install_filter(spec, keep)?;
    }
    drop_privileges(spec, keep)
}

/// A process joining a running container (join.rs), in the first child, before the fork into
/// the container's PID namespace: its descriptors as the program
/// gets them (every one above 2 closes at exec but an engine's `--preserve-fds`), then the
/// container's user, capabilities and seccomp filter — the filter too, so no step of the
/// joined process runs unfiltered with the container's credentials.
pub fn confine_joiner(spec: &Spec) -> Result<()> {
    crate::child::descriptors_for_exec(spec.preserve_fds)?;
    if spec.allow_new_privs {
        install_filter(spec, spec.caps)?;
        drop_privileges(spec, spec.caps)
    } else {
        drop_privileges(spec, spec.caps)?;
        install_filter(spec, spec.caps)
    }
}

/// The filter of a no_new_privs process: the last step before `execve`.
pub fn filter_last(spec: &Spec, keep: u64) -> Result<()> {
    if spec.allow_new_privs { Ok(()) } else { install_filter(spec, keep) }
}

fn install_filter(spec: &Spec, keep: u64) -> Result<()> {
    let len = seccomp::install(spec.seccomp, keep)?;
    if spec.verbose && len > 0 {
        say!(2; "launcher: seccomp filter installed: ", len, " instructions");
    }
    Ok(())
}
