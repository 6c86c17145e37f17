//! The one writer of limits: what `create` writes into a new group and what OCI `update`
//! writes into a running one go through the same functions, so the two cannot differ. Each
//! writes only the limits set in [`Limits`]; the others stay as they are. [`write_more`] has
//! those only an OCI config gives (reached through `Extras`, so the launcher does not carry
//! them).

use super::{CPU, CPUSET, Dir, Kind, MEMORY, PIDS, Path, write};
use crate::error::{Context, Error, Result};
use crate::spec::Limits;
use linker::Text;
use linker::sys::fs;

/// A v1 directory `dir` in hierarchy `h`: the limits of the controllers `h` carries.
pub fn write_v1(dir: &Path, h: &Dir, limits: &Limits) -> Result<()> {
    let mut value = Text::<48>::new();
    if h.has(MEMORY) {
        if let Some(bytes) = limits.memory {
            memory_v1(dir, bytes, limits.swap)?;
        }
    }
    if let (true, Some(n)) = (h.has(PIDS), limits.pids) {
        write(dir, "/pids.max", value.clear_then(n))?;
    }
    if h.has(CPU) {
        if let Some(shares) = limits.cpu_shares {
            write(dir, "/cpu.shares", value.clear_then(shares))?;
        }
        if let Some(quota) = limits.cpu_quota_us {
            write(dir, "/cpu.cfs_period_us", value.clear_then(limits.period_us()))?;
            write(dir, "/cpu.cfs_quota_us", value.clear_then(quota))?;
        }
    }
    Ok(())
}

/// The limits only an OCI config sets, in each of a new container's groups (`hybrid`: the
/// unified tree of a hybrid host carries no limits).
pub fn write_more_all(dirs: &[Dir], limits: &Limits, hybrid: bool) -> Result<()> {
    if limits.cpuset() && !dirs.iter().any(|d| d.has(CPUSET) || (d.kind == Kind::V2 && !hybrid)) {
        return Err(Error::new("cannot apply linux.resources.cpu.cpus/mems: the host has no cpuset cgroup controller"));
    }
    for d in dirs.iter().filter(|d| !(hybrid && d.kind == Kind::V2)) {
        write_more(&d.path, d, limits)?;
    }
    Ok(())
}

/// The limits only an OCI config sets, in a v1 or cgroup2 directory.
pub fn write_more(dir: &Path, h: &Dir, limits: &Limits) -> Result<()> {
    if h.kind == Kind::V2 {
        return write_v2_more(dir, limits);
    }
    if limits.unified.is_some() {
        return Err(Error::new("cannot apply linux.resources.unified: its files are cgroup v2's, and this host's groups are cgroup v1 (runc refuses them too)"));
    }
    let mut value = Text::<48>::new();
    if h.has(MEMORY) {
        if let Some(soft) = limits.memory_reservation {
            write(dir, "/memory.soft_limit_in_bytes", value.clear_then(soft))?;
        }
        if let Some(n) = limits.swappiness {
            write(dir, "/memory.swappiness", value.clear_then(n))?;
        }
        if limits.disable_oom_killer {
            write(dir, "/memory.oom_control", b"1")?;
        }
    }
    if h.has(CPU) {
        // The period first: the runtime must fit in it.
        if let Some(period) = limits.rt_period_us {
            write(dir, "/cpu.rt_period_us", value.clear_then(period))?;
        }
        if let Some(runtime) = limits.rt_runtime_us {
            value.clear();
            value.push(runtime);
            write(dir, "/cpu.rt_runtime_us", value.as_bytes())
                .map_err(|e| e.hint("the parent group must have that much real-time runtime itself"))?;
        }
    }
    if h.has(CPUSET) {
        if let Some(cpus) = limits.cpus {
            write(dir, "/cpuset.cpus", cpus)?;
        }
        if let Some(mems) = limits.mems {
            write(dir, "/cpuset.mems", mems)?;
        }
    }
    Ok(())
}

/// memory, then memory+swap (`memsw`): equal to memory when no swap limit is given (no swap).
/// A new group's limits are the maximum, so lowering memory first always fits.
fn memory_v1(dir: &Path, bytes: u64, swap: Option<u64>) -> Result<()> {
    let mut value = Text::<24>::new();
    value.push(bytes);
    write(dir, "/memory.limit_in_bytes", value.as_bytes())?;
    memsw_v1(dir, bytes, swap)
}

fn memsw_v1(dir: &Path, bytes: u64, swap: Option<u64>) -> Result<()> {
    let mut total = Text::<24>::new();
    match swap {
        Some(u64::MAX) => total.push("-1"),
        Some(t) => total.push(t),
        None => total.push(bytes),
    };
    match write(dir, "/memory.memsw.limit_in_bytes", total.as_bytes()) {
        // Absent without swap accounting, which only a limit on swap itself needs.
        Err(e) if e.errno() == Some(linker::Errno::ENOENT) && swap.is_none() => Ok(()),
        other => other,
    }
}

/// `update` raising a v1 memory limit: memsw may never be below memory, so it goes up first
/// (before, the raise failed: memsw stayed at the old limit).
pub fn before_v1_update(dir: &Path, h: &Dir, limits: &Limits) -> Result<()> {
    let Some(bytes) = limits.memory.filter(|_| h.has(MEMORY)) else { return Ok(()) };
    let mut current = [0u8; 24];
    let mut p = dir.clone();
    p.push("/memory.limit_in_bytes");
    let n = fs::read_file(p.as_cstr().context("cgroup path too long:")?, &mut current).unwrap_or(0);
    if linker::text::decimal_value(current[..n].trim_ascii()).is_some_and(|c| bytes > c) {
        memsw_v1(dir, bytes, limits.swap)?;
    }
    Ok(())
}

/// A cgroup2 directory: every limit in its own file.
pub fn write_v2(dir: &Path, limits: &Limits) -> Result<()> {
    let mut value = Text::<48>::new();
    if let Some(bytes) = limits.memory {
        write(dir, "/memory.max", value.clear_then(bytes))?;
        // v2 limits swap on its own: what the total leaves beyond memory. Without swap
        // accounting (CONFIG_MEMCG_SWAP off) the file is absent: nothing to turn off.
        value.clear();
        match limits.swap {
            Some(u64::MAX) => value.push("max"),
            Some(total) => value.push(total.saturating_sub(bytes)),
            None => value.push("0"),
        };
        match write(dir, "/memory.swap.max", value.as_bytes()) {
            Err(e) if e.errno() == Some(linker::Errno::ENOENT) && limits.swap.is_none() => {}
            other => other?,
        }
    }
    if let Some(n) = limits.pids {
        write(dir, "/pids.max", value.clear_then(n))?;
    }
    if let Some(quota) = limits.cpu_quota_us {
        value.clear();
        value.push(quota).push(" ").push(limits.period_us());
        write(dir, "/cpu.max", value.as_bytes())?;
    }
    if let Some(shares) = limits.cpu_shares {
        write(dir, "/cpu.weight", value.clear_then(crate::spec::cpu_weight(shares)))?;
    }
    Ok(())
}

fn write_v2_more(dir: &Path, limits: &Limits) -> Result<()> {
    let mut value = Text::<48>::new();
    if let Some(soft) = limits.memory_reservation {
        write(dir, "/memory.low", value.clear_then(soft))?;
    }
    for (given, what) in [
        (limits.swappiness.is_some(), "linux.resources.memory.swappiness: cgroup v2 has no swappiness"),
        (limits.disable_oom_killer, "linux.resources.memory.disableOOMKiller: cgroup v2 cannot turn the OOM killer off"),
        (limits.rt_period_us.is_some() || limits.rt_runtime_us.is_some(), "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no real-time bandwidth"),
    ] {
        if given {
            return Err(Error::new(what).hint("leave it out of the config on this host"));
        }
    }
    if let Some(cpus) = limits.cpus {
        write(dir, "/cpuset.cpus", cpus)?;
    }
    if let Some(mems) = limits.mems {
        write(dir, "/cpuset.mems", mems)?;
    }
    for (name, value) in limits.unified.iter().flat_map(|u| u.iter()) {
        let mut file = dir.clone();
        file.push("/").bytes(name);
        let path = file.as_cstr().context("cgroup path too long:")?;
        fs::write_file(path, value).map_err(|e| Error::sys("cannot apply linux.resources.unified: cannot write", e).on(&file).hint("is its controller enabled for the group?"))?;
    }
    Ok(())
}

/// `Text::clear` then a number, as bytes.
trait ClearThen {
    fn clear_then(&mut self, n: u64) -> &[u8];
}

impl ClearThen for Text<48> {
    fn clear_then(&mut self, n: u64) -> &[u8] {
        self.clear();
        self.push(n);
        self.as_bytes()
    }
}
