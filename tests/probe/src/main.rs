//! `probe ACTION [ARG]`: what an attacker inside a container would try, reported in one word.
//!
//! - `escape MARKER`: the classic chroot escape (chroot into a subdirectory while the working
//!   directory stays outside it, climb `..`, chroot there); prints `escaped` if MARKER — a path
//!   only the host has — is then visible, else `confined`.
//! - `tiocsti TEXT`: pushes TEXT into the input of the terminal on stdin; `injected` or
//!   `refused ERRNO`.
//! - `euid`: the effective uid (for setuid tests).
//! - `keyctl`: a syscall no capability guards but the default seccomp filter refuses.
#![no_std]
#![no_main]

use linker::sys::{fs, process, tty, Errno};
use linker::{Args, Env, say};

fn main(args: Args, _env: Env) -> i32 {
    match (args.bytes(1), args.get(2)) {
        (Some(b"escape"), Some(marker)) => {
            let _ = fs::mkdir(c"probe-jail", 0o755);
            if let Err(e) = fs::chroot(c"probe-jail") {
                say!(1; "refused ", e);
                return 0;
            }
            for _ in 0..64 {
                let _ = fs::chdir(c"..");
            }
            let _ = fs::chroot(c".");
            say!(1; if fs::stat(marker).is_ok() { "escaped" } else { "confined" });
            0
        }
        (Some(b"tiocsti"), Some(text)) => {
            for &b in text.to_bytes() {
                let mut c = b;
                // SAFETY: TIOCSTI reads one byte.
                if let Err(e) = unsafe { fs::ioctl_ptr(0, tty::TIOCSTI, &mut c) } {
                    say!(1; "refused ", e);
                    return 0;
                }
            }
            say!(1; "injected");
            0
        }
        (Some(b"euid"), _) => {
            say!(1; process::geteuid());
            0
        }
        (Some(b"keyctl"), _) => {
            // KEYCTL_GET_KEYRING_ID (0) of the session keyring (-3), creating it if needed.
            // SAFETY: integer arguments only.
            let r = unsafe { syscall_keyctl() };
            match r {
                Ok(_) => say!(1; "ok"),
                Err(e) => say!(1; "refused ", e),
            }
            0
        }
        _ => {
            say!(2; "usage: probe escape MARKER | tiocsti TEXT | euid | keyctl");
            2
        }
    }
}

unsafe fn syscall_keyctl() -> Result<usize, Errno> {
    // SAFETY: keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1) takes integers only.
    unsafe { linker::sys::raw_syscall(linker::sys::Sysno::keyctl, &[0, -3i64 as usize, 1]) }
}

linker::entry!("probe", main);
