//! Host programs the launcher runs and waits for (pasta, newuidmap, newgidmap): found in the
//! standard directories, with no environment, stdin and stdout on /dev/null (their messages go
//! to stderr), signals unblocked.

use crate::error::{Context, Result};
use core::ffi::{CStr, c_char};
use linker::sys::{fs, process, signal};
use linker::say;

/// Runs `program` with `argv` (NULL-terminated, argv[0] first) to its end: its exit status as
/// a shell gives it (127 when it cannot be run, which it says).
pub fn run(program: &CStr, argv: &[*const c_char]) -> Result<i32> {
    finish(start(program, argv)?)
}

/// Starts `program` (see [`run`]) without waiting for it: its pid, for [`finish`].
pub fn start(program: &CStr, argv: &[*const c_char]) -> Result<i32> {
    start_as(program, argv, || Ok(()))
}

/// As [`start`], with `setup` run in the child first (a namespace, a user of its own); a
/// failed setup is said and the child exits 127 without running `program`.
pub fn start_as(program: &CStr, argv: &[*const c_char], setup: fn() -> Result<()>) -> Result<i32> {
    let child = process::fork().context("fork")?;
    if child == 0 {
        if let Err(e) = setup() {
            e.report();
            process::exit(127);
        }
        if let Ok(null) = fs::open(c"/dev/null", fs::O_RDWR) {
            let _ = fs::dup3(null.raw(), 0, 0);
            let _ = fs::dup3(null.raw(), 1, 0);
        }
        let _ = signal::sigprocmask(signal::SIG_SETMASK, signal::SigSet::EMPTY);
        let e = linker::exec::execvp(program, argv.as_ptr(), [core::ptr::null()].as_ptr(), linker::exec::DEFAULT_PATH);
        say!(2; "launcher: cannot run ", program, ": ", e);
        process::exit(127);
    }
    Ok(child)
}

/// Waits for a program [`start`] started: its exit status as a shell gives it.
pub fn finish(child: i32) -> Result<i32> {
    Ok(process::wait4(child, 0).context("wait")?.map_or(-1, |(_, s)| s.shell_code()))
}
