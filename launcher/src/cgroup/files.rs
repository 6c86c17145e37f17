//! Reading and writing cgroup control files, and taking a cgroup down.

use super::{Dir, Kind, Path};
use linker::sys::fs::{self, O_DIRECTORY, O_RDONLY};
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

/// Removes leftovers of launchers that died without cleaning up (SIGKILL): directories named
/// after a pid that no longer exists. `rmdir` refuses a cgroup that still has processes or
/// children, so a live container is never touched; a named (`--name`) group is left alone.
pub fn sweep_stale(parent: &Path) {
    let mut p = parent.clone();
    let Ok(c) = p.as_cstr() else { return };
    let Ok(dir) = fs::open(c, O_RDONLY | O_DIRECTORY) else { return };
    let mut buf = [0u8; 2048];
    while let Ok(n @ 1..) = fs::getdents64(dir.raw(), &mut buf) {
        for (_, name) in fs::dirents(&buf[..n]) {
            let Some(pid) = pid_of(name) else { continue };
            if process::kill(pid, 0) != Err(Errno::ESRCH) {
                continue;
            }
            let mut stale = parent.clone();
            stale.push("/").bytes(name);
            if let Ok(s) = stale.as_cstr() {
                let _ = fs::unlinkat(dir.raw(), s, fs::AT_REMOVEDIR);
            }
        }
    }
}

/// SIGKILLs every process listed in `cgroup.procs`; returns how many it found.
fn kill_listed(dir: &Path) -> usize {
    let mut p = dir.clone();
    p.push("/cgroup.procs");
    let mut buf = [0u8; 4096];
    let Ok(c) = p.as_cstr() else { return 0 };
    let Ok(n) = fs::read_file(c, &mut buf) else { return 0 };
    let mut found = 0;
    for line in buf[..n].split(|&c| c == b'\n') {
        if let Some(pid) = pid_of(line) {
            let _ = process::kill(pid, signal::SIGKILL);
            found += 1;
        }
    }
    found
}

/// Kills what is left in `dir` (cgroup.kill on cgroup2, else one by one) and removes it.
/// A cgroup stays busy for a moment while its last processes finish dying: retry for up to 2 s.
pub fn empty_and_remove(dir: &Dir) {
    if dir.kind == Kind::V2 {
        let mut kill = dir.path.clone();
        kill.push("/cgroup.kill");
        if let Ok(k) = kill.as_cstr() {
            let _ = fs::write_file(k, b"1");
        }
    }
    let mut path = dir.path.clone();
    let Ok(p) = path.as_cstr() else { return };
    let mut last = Errno::EBUSY;
    for _ in 0..2000 {
        match fs::rmdir(p) {
            Ok(()) | Err(Errno::ENOENT) => return,
            Err(Errno::EBUSY) => {
                kill_listed(&dir.path);
                let _ = time::sleep_ms(1);
            }
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    // Something is left on the host after all: say so (the next run's sweep may remove it).
    crate::error::Error::sys("cannot remove cgroup", last).on(&dir.path).report();
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
