//! Reading cgroup control files, and taking a cgroup down: killing what is in it, removing it.

use super::{Dirs, FREEZER, Kind, Path};
use linker::sys::fs;
use linker::sys::{process, signal, time, Errno};
use linker::Text;
use linker::text::decimal_value;

/// The number after `key` in a `key value` per line file (`memory.events`, `memory.oom_control`).
pub fn field(contents: &[u8], key: &[u8]) -> Option<u64> {
    contents.split(|&c| c == b'\n').find_map(|line| {
        decimal_value(line.strip_prefix(key)?.strip_prefix(b" ")?)
    })
}

pub fn read_field(dir: &Path, file: &str, key: &[u8]) -> Option<u64> {
    let mut p = dir.clone();
    p.push(file);
    let mut buf = [0u8; 1024];
    let n = fs::read_file(p.as_cstr().ok()?, &mut buf).ok()?;
    field(&buf[..n], key)
}

/// `64 MiB`, `1 GiB`, `512 KiB`, or plain bytes.
pub fn format_size(bytes: u64) -> Text<32> {
    let mut t = Text::new();
    let (n, unit) = [(30, " GiB"), (20, " MiB"), (10, " KiB")]
        .into_iter()
        .find(|&(shift, _)| bytes >= 1 << shift && bytes % (1 << shift) == 0)
        .map_or((bytes, " bytes"), |(shift, unit)| (bytes >> shift, unit));
    t.push(n).push(unit);
    t
}

fn pid_of(name: &[u8]) -> Option<i32> {
    decimal_value(name).filter(|&n| n <= i32::MAX as u64).map(|n| n as i32)
}

/// Calls `f` with each pid listed in `dir/cgroup.procs` (the first 4 KiB of it).
pub fn for_each_listed(dir: &Path, mut f: impl FnMut(i32)) {
    let mut p = dir.clone();
    p.push("/cgroup.procs");
    let mut buf = [0u8; 4096];
    let Ok(c) = p.as_cstr() else { return };
    let Ok(n) = fs::read_file(c, &mut buf) else { return };
    buf[..n].split(|&c| c == b'\n').filter_map(pid_of).for_each(&mut f);
}

/// Whether any process is in the group at `dir`: cgroup2 says so for its whole subtree
/// (`populated`); a v1 group lists its own.
pub fn occupied(dir: &Path) -> bool {
    match read_field(dir, "/cgroup.events", b"populated") {
        Some(populated) => populated > 0,
        None => count_listed(dir) > 0,
    }
}

fn count_listed(dir: &Path) -> usize {
    let mut n = 0;
    for_each_listed(dir, |_| n += 1);
    n
}

/// SIGKILLs every process listed in `cgroup.procs`.
fn kill_listed(dir: &Path) {
    for_each_listed(dir, |pid| {
        let _ = process::kill(pid, signal::SIGKILL);
    });
}

/// Kills every process in the group without its cooperation: `cgroup.kill` on cgroup2 (5.14+);
/// on v1 the freezer first, if the group has one, so nothing can fork while the list is
/// read and killed, then SIGKILL to each listed process, then thaw (a frozen process dies
/// only once thawed). Returns how many processes were in the group.
pub fn kill_all(dirs: &Dirs) -> usize {
    let found = dirs.get(0).map_or(0, |d| count_listed(&d.path));
    kill_v2(dirs);
    let freezer = dirs.iter().find(|d| d.has(FREEZER));
    if let Some(f) = freezer {
        set_freezer(&f.path, b"FROZEN");
    }
    for d in dirs.iter().filter(|d| d.kind != Kind::V2) {
        kill_listed(&d.path);
    }
    if let Some(f) = freezer {
        set_freezer(&f.path, b"THAWED");
    }
    found
}

/// `cgroup.kill` in every cgroup2 directory: the kernel kills everything inside, forks included.
fn kill_v2(dirs: &Dirs) {
    for d in dirs.iter().filter(|d| d.kind == Kind::V2) {
        let mut kill = d.path.clone();
        kill.push("/cgroup.kill");
        if let Ok(k) = kill.as_cstr() {
            let _ = fs::write_file(k, b"1");
        }
    }
}

/// As [`set_freezer`], failing when the state cannot be written or is not reached.
pub fn set_freezer_checked(dir: &Path, state: &[u8]) -> crate::error::Result<()> {
    set_freezer(dir, state);
    let mut p = dir.clone();
    p.push("/freezer.state");
    let mut buf = [0u8; 32];
    let c = p.as_cstr().map_err(|e| crate::error::Error::sys("path", e))?;
    match fs::read_file(c, &mut buf) {
        Ok(n) if buf[..n].trim_ascii() == state => Ok(()),
        _ => Err(crate::error::Error::new("the freezer did not reach its state:").on(&p)),
    }
}

/// Writes `freezer.state` and waits (up to a second) until the kernel reports it reached.
fn set_freezer(dir: &Path, state: &[u8]) {
    let mut p = dir.clone();
    p.push("/freezer.state");
    let Ok(c) = p.as_cstr() else { return };
    if fs::write_file(c, state).is_err() {
        return;
    }
    let mut buf = [0u8; 32];
    for _ in 0..1000 {
        match fs::read_file(c, &mut buf) {
            Ok(n) if buf[..n].trim_ascii() == state => return,
            Ok(_) => {
                let _ = time::sleep_ms(1);
            }
            Err(_) => return,
        }
    }
}

/// Kills what is left in the group and removes its directories. A cgroup stays busy for a
/// moment while its last processes finish dying: retry for up to 2 s.
pub fn kill_and_remove(dirs: &Dirs) {
    // Normally nothing is left (PID 1's exit took its whole PID namespace): cgroup.kill is one
    // write, and v1 groups are only searched when rmdir finds them busy.
    kill_v2(dirs);
    let mut killed_all = false;
    for dir in dirs.iter() {
        let mut path = dir.path.clone();
        let Ok(p) = path.as_cstr() else { continue };
        let mut last = Errno::EBUSY;
        let mut removed = false;
        for _ in 0..2000 {
            match fs::rmdir(p) {
                Ok(()) | Err(Errno::ENOENT) => {
                    removed = true;
                    break;
                }
                Err(Errno::EBUSY) => {
                    if !killed_all {
                        kill_all(dirs);
                        killed_all = true;
                    } else {
                        kill_listed(&dir.path);
                    }
                    let _ = time::sleep_ms(1);
                }
                Err(e) => {
                    last = e;
                    break;
                }
            }
        }
        if !removed {
            // Something is left on the host after all: say so (the next run's sweep removes it).
            crate::error::Error::sys("cannot remove cgroup", last).on(&dir.path).report();
        }
    }
}

/// Kills what runs in each group below `dir` and removes it, deepest first (`depth` levels):
/// the groups a container made below its own (a privileged one's, its cgroups mounted
/// read-write). For an OCI front end only ([`crate::spec::Extras::remove_nested`]).
pub fn remove_below(dir: &Path, depth: u32) {
    let mut at = dir.clone();
    let Ok(fd) = at.as_cstr().and_then(|p| fs::open(p, fs::O_RDONLY | fs::O_DIRECTORY | fs::O_CLOEXEC)) else { return };
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = fs::getdents64(fd.raw(), &mut buf) {
        for (kind, name) in fs::dirents(&buf[..n]) {
            if kind != libc::DT_DIR || name == b"." || name == b".." {
                continue;
            }
            let mut below = dir.clone();
            below.push("/").bytes(name);
            if depth > 0 {
                remove_below(&below, depth - 1);
            }
            kill_listed(&below);
            let _ = below.as_cstr().map(|p| fs::rmdir(p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let events = b"low 0\nhigh 0\nmax 12\noom 1\noom_kill 3\noom_group_kill 0\n";
        assert_eq!(field(events, b"oom_kill"), Some(3));
        assert_eq!(field(events, b"oom"), Some(1));
        assert_eq!(field(events, b"missing"), None);
        assert_eq!(field(b"oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", b"oom_kill"), Some(0));
    }

    #[test]
    fn sizes() {
        assert_eq!(format_size(64 << 20).as_bytes(), b"64 MiB");
        assert_eq!(format_size(2 << 30).as_bytes(), b"2 GiB");
        assert_eq!(format_size(1536 << 10).as_bytes(), b"1536 KiB");
        assert_eq!(format_size(1000).as_bytes(), b"1000 bytes");
    }

    #[test]
    fn pids_in_names() {
        assert_eq!(pid_of(b"12345"), Some(12345));
        assert_eq!(pid_of(b"web"), None);
        assert_eq!(pid_of(b""), None);
    }
}
