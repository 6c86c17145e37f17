//! cgroup v2: one directory holds every limit, and a BPF program attached to it the device
//! rules. Controllers must first be enabled in each ancestor's `cgroup.subtree_control` ("no
//! internal processes": `knocker/` itself never holds a process, so enabling them there is
//! always allowed).

use super::{Cgroup, Dir, Kind, Path, devices, make_dir, write};
use crate::error::{Context, Error, Result};
use crate::spec::Limits;
use linker::Text;
use linker::sys::bpf::{self, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_PROG_TYPE_CGROUP_DEVICE};
use linker::sys::fs::{self, O_DIRECTORY, O_RDONLY};
use linker::Fd;

/// `devs`: the container's device rules go on this directory (None: another hierarchy has them).
pub fn create(cg: &mut Cgroup, h: &Dir, group: &[u8], limits: &Limits, devs: Option<devices::Allowed>) -> Result<()> {
    let wanted = [
        (limits.memory_any(), "memory"),
        (limits.pids.is_some(), "pids"),
        (limits.cpu(), "cpu"),
        (limits.cpuset(), "cpuset"),
    ];
    // Each controller is enabled in the root and in every directory on the way to the group.
    let mut at = h.path.clone();
    let parts = group.split(|&c| c == b'/').filter(|p| !p.is_empty());
    let ancestors = parts.clone().count().saturating_sub(1);
    for (i, part) in core::iter::once(&b""[..]).chain(parts.take(ancestors)).enumerate() {
        if i > 0 {
            at.push("/").bytes(part);
            if let Ok(p) = at.as_cstr() {
                let _ = fs::mkdir(p, 0o755);
            }
        }
        for (needed, controller) in wanted {
            if needed {
                enable(&at, controller)?;
            }
        }
    }
    let dir = make_dir(h, group)?;
    cg.add(dir.clone(), Kind::V2);
    super::limits::write_v2(&dir, limits)?;
    let mut d = dir.clone();
    let fd = fs::open(d.as_cstr().context("cgroup path too long:")?, O_RDONLY | O_DIRECTORY)
        .context_on("cannot open cgroup", &dir)?;
    if let Some(devs) = devs {
        attach_device_program(&fd, devs).map_err(|e| e.hint("cgroup v2 needs a BPF device program (CONFIG_CGROUP_BPF)"))?;
    }
    cg.v2_fd = Some(fd);
    Ok(())
}

/// Loads the device program for `devs` and attaches it to the cgroup `dir`. The attachment
/// keeps the program alive; it goes away with the cgroup.
fn attach_device_program(dir: &Fd, devs: devices::Allowed) -> Result<()> {
    let (insns, n) = devices::program(devs.rules());
    let prog = bpf::prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, 0, &insns[..n], c"MIT", b"knocker_devices")
        .context("cannot load the container's device program (bpf)")?;
    bpf::prog_attach(dir.raw(), prog.raw(), BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)
        .context("cannot attach the container's device program to its cgroup (bpf)")
}

/// Whether `controller` is listed in `dir/cgroup.controllers`.
pub fn offers(dir: &Path, controller: &str) -> bool {
    let mut offered = dir.clone();
    offered.push("/cgroup.controllers");
    let mut buf = [0u8; 256];
    let Ok(p) = offered.as_cstr() else { return false };
    let Ok(n) = fs::read_file(p, &mut buf) else { return false };
    buf[..n].split(|c| c.is_ascii_whitespace()).any(|w| w == controller.as_bytes())
}

/// `+controller` into `dir/cgroup.subtree_control`, after checking the controller is offered.
pub(super) fn enable(dir: &Path, controller: &'static str) -> Result<()> {
    if !offers(dir, controller) {
        return Err(Error::new("cgroup controller not available:")
            .on(controller)
            .hint("it is missing from cgroup.controllers; is it bound to a cgroup v1 hierarchy?"));
    }
    let mut change = Text::<16>::new();
    change.push("+").push(controller);
    write(dir, "/cgroup.subtree_control", change.as_bytes())
}
