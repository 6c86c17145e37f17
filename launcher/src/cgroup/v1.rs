//! cgroup v1: every hierarchy is a tree of its own, so the container gets `knocker/<name>` in
//! each — the limit of a controller goes where that controller is, the device rules into the
//! `devices` hierarchy. The child moves itself in (`0` into each `tasks`) before anything else.

use super::{CPUSET, Cgroup, DEVICES, Dir, Path, devices, make_dir, write};
use crate::error::{Context, Result};
use crate::spec::Limits;
use linker::sys::fs;

pub fn create(cg: &mut Cgroup, h: &Dir, group: &[u8], limits: &Limits, devs: devices::Allowed) -> Result<()> {
    let dir = make_dir(h, group)?;
    cg.add(dir.clone(), h.kind);
    let mut tasks = dir.clone();
    tasks.push("/tasks");
    let fd = fs::open(tasks.as_cstr().context("cgroup path too long:")?, fs::O_WRONLY).context_on("cannot open", &tasks)?;
    if let Some(slot) = cg.v1_tasks.iter_mut().find(|s| s.is_none()) {
        *slot = Some(fd);
    }
    // A cpuset group takes no process until it has CPUs and memory nodes: its parent's,
    // unless the limits name their own.
    if h.has(CPUSET) {
        inherit_cpuset(&super::parent_of(&dir), &dir)?;
    }
    super::limits::write_v1(&dir, h, limits)?;
    if h.has(DEVICES) {
        // Deny everything, then allow the list: a child group can never allow more. One rule
        // per write(2), all through one descriptor.
        write(&dir, "/devices.deny", b"a")?;
        let mut allow = dir.clone();
        allow.push("/devices.allow");
        let fd = fs::open(allow.as_cstr().context("cgroup path too long:")?, fs::O_WRONLY).context_on("cannot open", &allow)?;
        for rule in devs.rules() {
            fs::write(fd.raw(), devices::v1_line(&rule).as_bytes()).context_on("cannot write", &allow)?;
        }
    }
    Ok(())
}

/// Called when a directory on the way to a group (`knocker/`) is first made: a cpuset group
/// takes no process until it has CPUs and memory nodes, so give it its parent's.
pub fn prepare_parent(root: &Dir, parent: &Path, dir: &Path) -> Result<()> {
    if !root.has(CPUSET) {
        return Ok(());
    }
    inherit_cpuset(parent, dir)
}

/// Copies `cpuset.cpus` and `cpuset.mems` from `from` into `to` where `to`'s are empty.
fn inherit_cpuset(from: &Path, to: &Path) -> Result<()> {
    for file in ["/cpuset.cpus", "/cpuset.mems"] {
        let mut mine = [0u8; 256];
        let mut p = to.clone();
        p.push(file);
        let n = fs::read_file(p.as_cstr().context("cgroup path too long:")?, &mut mine).context_on("cannot read", &p)?;
        if mine[..n].iter().any(|c| !c.is_ascii_whitespace()) {
            continue;
        }
        let mut theirs = [0u8; 256];
        let mut q = from.clone();
        q.push(file);
        let n = fs::read_file(q.as_cstr().context("cgroup path too long:")?, &mut theirs).context_on("cannot read", &q)?;
        write(to, file, &theirs[..n])?;
    }
    Ok(())
}
