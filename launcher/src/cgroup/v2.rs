//! cgroup v2: one directory holds every limit. Controllers must first be enabled in each
//! ancestor's `cgroup.subtree_control` ("no internal processes": `knocker/` itself never holds
//! a process, so enabling them there is always allowed).

use super::{Cgroup, Kind, Path, make_dir, write};
use crate::error::{Context, Error, Result};
use crate::spec::{CPU_PERIOD_US, Limits};
use core::ffi::CStr;
use linker::Text;
use linker::sys::fs::{self, O_DIRECTORY, O_RDONLY};

pub fn create(cg: &mut Cgroup, root: &CStr, name: &[u8], limits: &Limits) -> Result<()> {
    let wanted = [
        (limits.memory.is_some(), "memory"),
        (limits.pids.is_some(), "pids"),
        (limits.cpu_quota_us.is_some(), "cpu"),
    ];
    let mut top = Path::new();
    top.push(root);
    let mut parent = top.clone();
    parent.push("/knocker");
    for (needed, controller) in wanted {
        if needed {
            enable(&top, controller)?;
            if let Ok(p) = parent.as_cstr() {
                let _ = fs::mkdir(p, 0o755);
            }
            enable(&parent, controller)?;
        }
    }
    let dir = make_dir(root, name)?;
    cg.add(dir.clone(), Kind::V2);
    let mut value = Text::<48>::new();
    if let Some(bytes) = limits.memory {
        value.push(bytes);
        write(&dir, "/memory.max", value.as_bytes())?;
        // Without swap accounting (CONFIG_MEMCG_SWAP off) the file is absent: nothing to turn off.
        match write(&dir, "/memory.swap.max", b"0") {
            Err(e) if e.errno() == Some(linker::Errno::ENOENT) => {}
            other => other?,
        }
    }
    if let Some(n) = limits.pids {
        value.clear();
        value.push(n);
        write(&dir, "/pids.max", value.as_bytes())?;
    }
    if let Some(quota) = limits.cpu_quota_us {
        value.clear();
        value.push(quota).push(" ").push(CPU_PERIOD_US);
        write(&dir, "/cpu.max", value.as_bytes())?;
    }
    let mut d = dir.clone();
    let fd = fs::open(d.as_cstr().context("cgroup path too long:")?, O_RDONLY | O_DIRECTORY)
        .context_on("cannot open cgroup", &dir)?;
    cg.v2_fd = Some(fd);
    Ok(())
}

/// `+controller` into `dir/cgroup.subtree_control`, after checking the controller is offered.
fn enable(dir: &Path, controller: &'static str) -> Result<()> {
    let mut offered = dir.clone();
    offered.push("/cgroup.controllers");
    let mut buf = [0u8; 256];
    let n = fs::read_file(offered.as_cstr().context("cgroup path too long:")?, &mut buf)
        .context_on("cannot read", &offered)?;
    if !buf[..n].split(|c| c.is_ascii_whitespace()).any(|w| w == controller.as_bytes()) {
        return Err(Error::new("cgroup controller not available:")
            .on(controller)
            .hint("it is missing from cgroup.controllers; is it bound to a cgroup v1 hierarchy?"));
    }
    let mut change = Text::<16>::new();
    change.push("+").push(controller);
    write(dir, "/cgroup.subtree_control", change.as_bytes())
}
