//! cgroup v1: every controller is its own hierarchy, so each limit gets its own
//! `knocker/<name>` directory. The child is moved in by pid while it waits to be released.

use super::{Cgroup, Kind, make_dir, v1_mounted, write};
use crate::error::{Error, Result};
use crate::spec::{CPU_PERIOD_US, Limits};
use linker::Text;

pub fn create(cg: &mut Cgroup, name: &[u8], limits: &Limits) -> Result<()> {
    let mut value = Text::<32>::new();
    if let Some(bytes) = limits.memory {
        let dir = controller_dir(c"/sys/fs/cgroup/memory", "memory", name)?;
        cg.add(dir.clone(), Kind::V1Memory);
        value.push(bytes);
        write(&dir, "/memory.limit_in_bytes", value.as_bytes())?;
        // memory+swap at the same limit means no swap. Absent without swap accounting.
        match write(&dir, "/memory.memsw.limit_in_bytes", value.as_bytes()) {
            Err(e) if e.errno() == Some(linker::Errno::ENOENT) => {}
            other => other?,
        }
    }
    if let Some(n) = limits.pids {
        let dir = controller_dir(c"/sys/fs/cgroup/pids", "pids", name)?;
        cg.add(dir.clone(), Kind::V1Pids);
        value.clear();
        value.push(n);
        write(&dir, "/pids.max", value.as_bytes())?;
    }
    if let Some(quota) = limits.cpu_quota_us {
        let dir = controller_dir(c"/sys/fs/cgroup/cpu", "cpu", name)?;
        cg.add(dir.clone(), Kind::V1Cpu);
        value.clear();
        value.push(CPU_PERIOD_US);
        write(&dir, "/cpu.cfs_period_us", value.as_bytes())?;
        value.clear();
        value.push(quota);
        write(&dir, "/cpu.cfs_quota_us", value.as_bytes())?;
    }
    Ok(())
}

fn controller_dir(root: &'static core::ffi::CStr, controller: &'static str, name: &[u8]) -> Result<super::Path> {
    if !v1_mounted(root) {
        return Err(Error::new(match controller {
            "memory" => "cannot apply --memory: no memory controller mounted at",
            "pids" => "cannot apply --pids: no pids controller mounted at",
            _ => "cannot apply --cpus: no cpu controller mounted at",
        })
        .on(root));
    }
    make_dir(root, name)
}
