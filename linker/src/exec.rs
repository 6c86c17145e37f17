//! Running a program by name the way `execvp(3)` does, and the shell's exit codes for failure.

use crate::sys::fs::{faccessat, stat, AT_FDCWD};
use crate::sys::process::execve;
use crate::sys::Errno;
use crate::text::Text;
use core::ffi::{CStr, c_char};

pub const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The exit code a shell gives a command that could not be run: 127 when it does not exist,
/// 126 when it exists but cannot be executed.
pub fn failure_code(e: Errno) -> i32 {
    match e {
        Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG | Errno::ELOOP => 127,
        _ => 126,
    }
}

/// Each candidate path for `name`: itself when it holds a `/`, else `dir/name` for each entry
/// of `path` (an empty entry means the current directory, as POSIX says).
pub fn candidates<'a>(name: &'a [u8], path: &'a [u8]) -> impl Iterator<Item = Text<4096>> + 'a {
    let direct = name.contains(&b'/');
    let dirs = if direct || name.is_empty() { None } else { Some(path.split(|&c| c == b':')) };
    let mut first = Some(direct);
    let mut dirs = dirs;
    core::iter::from_fn(move || {
        let mut t = Text::new();
        if first.take() == Some(true) {
            t.bytes(name);
            return Some(t);
        }
        let dir = dirs.as_mut()?.next()?;
        t.bytes(if dir.is_empty() { b"." } else { dir }).bytes(b"/").bytes(name);
        Some(t)
    })
}

/// `execvp`: tries each candidate; returns the most telling error when none could be run
/// (EACCES if some candidate exists but is not executable, else ENOENT).
pub fn execvp(name: &CStr, argv: *const *const c_char, envp: *const *const c_char, path: &[u8]) -> Errno {
    let mut seen = Errno::ENOENT;
    for mut candidate in candidates(name.to_bytes(), path) {
        let Ok(p) = candidate.as_cstr() else { continue };
        match execve(p, argv, envp) {
            Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG => {}
            e if name.to_bytes().contains(&b'/') => return e,
            e => seen = e,
        }
    }
    seen
}

/// Finds what `execvp` would run without running it: `Ok(())` when some candidate is an
/// executable regular file, else the error `execvp` would report.
pub fn locate(name: &[u8], path: &[u8]) -> Result<(), Errno> {
    let mut seen = Errno::ENOENT;
    for mut candidate in candidates(name, path) {
        let Ok(p) = candidate.as_cstr() else { continue };
        match stat(p) {
            Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG) => continue,
            Err(e) => seen = e,
            Ok(st) if st.is_dir() => seen = Errno::EACCES,
            Ok(_) => match faccessat(AT_FDCWD, p, libc::X_OK) {
                Ok(()) => return Ok(()),
                Err(e) => seen = e,
            },
        }
        if name.contains(&b'/') {
            break;
        }
    }
    Err(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(name: &[u8], path: &[u8]) -> Vec<String> {
        candidates(name, path).map(|t| String::from_utf8(t.as_bytes().to_vec()).unwrap()).collect()
    }

    #[test]
    fn candidates_follow_posix() {
        assert_eq!(all(b"/bin/sh", b"/usr/bin"), vec!["/bin/sh"]);
        assert_eq!(all(b"./run", b"/usr/bin"), vec!["./run"]);
        assert_eq!(all(b"sh", b"/usr/bin:/bin"), vec!["/usr/bin/sh", "/bin/sh"]);
        assert_eq!(all(b"sh", b"/bin::"), vec!["/bin/sh", "./sh", "./sh"]);
        assert!(all(b"", b"/bin").is_empty());
    }

    #[test]
    fn locate_on_the_host() {
        assert_eq!(locate(b"sh", b"/nonexistent:/bin"), Ok(()));
        assert_eq!(locate(b"no-such-program-here", b"/bin"), Err(Errno::ENOENT));
        assert_eq!(locate(b"/etc/passwd", b""), Err(Errno::EACCES));
        assert_eq!(locate(b"/etc", b""), Err(Errno::EACCES));
        assert_eq!(failure_code(Errno::ENOENT), 127);
        assert_eq!(failure_code(Errno::EACCES), 126);
    }
}
