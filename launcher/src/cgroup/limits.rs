//! The one writer of limits: what `create` writes into a new group and what OCI `update`
//! writes into a running one go through the same functions, so the two cannot differ. Each
//! writes only the limits set in [`Limits`]; the others stay as they are. [`write_more`] has
//! those only an OCI config gives (reached through `Extras`, so the launcher does not carry
//! them).

use super::{BLKIO, CPU, CPUSET, Dir, HUGETLB, Kind, MEMORY, PIDS, Path, write};
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
    let more = limits.more.copied().unwrap_or_default();
    for (given, controller, what) in [
        (limits.cpuset(), CPUSET, "cannot apply linux.resources.cpu.cpus/mems: the host has no cpuset cgroup controller"),
        (more.block_io.is_some(), BLKIO, "cannot apply linux.resources.blockIO: the host has no blkio (io) cgroup controller"),
        (!more.hugepages.is_empty(), HUGETLB, "cannot apply linux.resources.hugepageLimits: the host has no hugetlb cgroup controller"),
    ] {
        if given && !dirs.iter().any(|d| d.has(controller) || (d.kind == Kind::V2 && !hybrid)) {
            return Err(Error::new(what));
        }
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
    let more = limits.more.copied().unwrap_or_default();
    if !more.unified.is_empty() {
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
    if let (true, Some(b)) = (h.has(BLKIO), &more.block_io) {
        write_block_io(dir, b, false)?;
    }
    if h.has(HUGETLB) {
        write_hugepages(dir, more.hugepages, ".limit_in_bytes")?;
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
    let more = limits.more.copied().unwrap_or_default();
    // io and hugetlb are enabled on the way down only when asked for (the launcher enables the
    // controllers of its own limits as it makes the group).
    for (given, controller) in [(more.block_io.is_some(), "io"), (!more.hugepages.is_empty(), "hugetlb")] {
        if given {
            enable_above(dir, controller)?;
        }
    }
    if let Some(b) = &more.block_io {
        write_block_io(dir, b, true)?;
    }
    write_hugepages(dir, more.hugepages, ".max")?;
    for (name, value) in more.unified {
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

/// `controller` (`io`) enabled in each directory above the cgroup2 group `dir`, from the
/// hierarchy's root (/sys/fs/cgroup) down.
fn enable_above(dir: &Path, controller: &'static str) -> Result<()> {
    let path = dir.as_bytes();
    let Some(below) = path.strip_prefix(b"/sys/fs/cgroup") else { return Ok(()) };
    let ends = below.iter().enumerate().filter(|(_, c)| **c == b'/').map(|(i, _)| i);
    for end in ends {
        let mut at = Path::new();
        at.push("/sys/fs/cgroup").bytes(&below[..end]);
        super::v2::enable(&at, controller)?;
    }
    Ok(())
}

/// Whether the group at `dir` has the file `name` (a controller's optional file: BFQ's weights).
fn has_file(dir: &Path, name: &str) -> bool {
    let mut p = dir.clone();
    p.push(name);
    p.as_cstr().is_ok_and(|c| fs::stat(c).is_ok())
}

/// An OCI config's block I/O: weights (BFQ's files where the scheduler is BFQ, else the
/// controller's own: v1 `blkio.weight`, cgroup2 `io.weight` by runc's conversion) and the
/// throttles (v1's four files, cgroup2's `io.max`).
fn write_block_io(dir: &Path, b: &crate::spec::BlockIo, v2: bool) -> Result<()> {
    let weighted = b.weight.is_some() || !b.weight_devices.is_empty();
    let bfq = weighted && has_file(dir, if v2 { "/io.bfq.weight" } else { "/blkio.bfq.weight" });
    // cgroup2's io.weight is 1 to 10000; blkio's 10 to 1000.
    let scaled = |w: u64| if v2 && !bfq { 1 + (w.clamp(10, 1000) - 10) * 9999 / 990 } else { w };
    let (file, device_file) = match (v2, bfq) {
        (true, true) => ("/io.bfq.weight", "/io.bfq.weight"),
        (true, false) => ("/io.weight", "/io.weight"),
        (false, true) => ("/blkio.bfq.weight", "/blkio.bfq.weight_device"),
        (false, false) => ("/blkio.weight", "/blkio.weight_device"),
    };
    let weights = || Error::new("cannot apply linux.resources.blockIO weights: the host's block I/O scheduler has none (BFQ has them)");
    let mut line = Text::<96>::new();
    if let Some(w) = b.weight {
        line.clear();
        if v2 {
            line.push("default ");
        }
        line.push(scaled(w));
        if !has_file(dir, file) {
            return Err(weights());
        }
        write(dir, file, line.as_bytes())?;
    }
    for &(major, minor, w) in b.weight_devices {
        line.clear();
        line.push(major).push(":").push(minor).push(" ").push(scaled(w));
        if !has_file(dir, device_file) {
            return Err(weights());
        }
        write(dir, device_file, line.as_bytes())?;
    }
    for &(which, major, minor, rate) in b.throttles {
        let (v1_file, key) = crate::spec::THROTTLES[which as usize % 4];
        line.clear();
        line.push(major).push(":").push(minor).push(" ");
        if v2 {
            line.push(key).push("=");
        }
        line.push(rate);
        write(dir, if v2 { "/io.max" } else { v1_file }, line.as_bytes())?;
    }
    Ok(())
}

/// Hugepage limits: `hugetlb.<size><suffix>` (`.limit_in_bytes` on v1, `.max` on cgroup2).
fn write_hugepages(dir: &Path, pages: &[(&[u8], u64)], suffix: &str) -> Result<()> {
    for &(size, limit) in pages {
        let mut file = dir.clone();
        file.push("/hugetlb.").bytes(size).push(suffix);
        let mut value = Text::<24>::new();
        value.push(limit);
        let path = file.as_cstr().context("cgroup path too long:")?;
        fs::write_file(path, value.as_bytes())
            .map_err(|e| Error::sys("cannot apply linux.resources.hugepageLimits: cannot write", e).on(&file).hint("is that page size one this host has?"))?;
    }
    Ok(())
}
