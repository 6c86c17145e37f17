//! OCI hooks: programs the engine wants run at points of the container's life, each given
//! the state JSON on stdin and killed when its `timeout` (seconds) passes: `createRuntime`
//! (and the deprecated `prestart`) on the host once PID 1 exists, before it goes on;
//! `createContainer` in PID 1's namespaces after that, before pivot_root (so its path is the
//! host's, as the runtime spec says and runc does, never a program of the image's);
//! `startContainer` there at `start`, just before the program, under its seccomp filter; `poststart` on the host after `start`, `poststop` at `delete`.
//! The first four run through the launcher's callbacks ([`arm`]).
//!
//! `start` and `delete` read the hooks from the copy of config.json kept in the container's
//! state at create — never from the bundle, which the container itself may be able to write.

use crate::arena::Arena;
use crate::json::{Kind, Value};
use launcher::error::{Context, Error, Result};
use linker::sys::fs::{self, O_CLOEXEC};
use linker::sys::process::{self, WNOHANG};
use linker::sys::{signal, time};

/// Runs every hook of `kind` (`createRuntime`, `poststart`, …) in `hooks` (the config's
/// `hooks` object), in order, with `state` on stdin. The first failure is the error.
pub fn run(hooks: Option<Value<'static>>, kind: &'static str, state: &[u8], arena: &mut Arena) -> Result<()> {
    let Some(list) = hooks.and_then(|h| h.get(kind)) else { return Ok(()) };
    for hook in list.items() {
        let path = crate::config::string(arena, hook.get("path").ok_or_else(|| Error::new("config.json: a hook has no path"))?, "hooks[].path")?;
        let strings = |field: &'static str, arena: &mut Arena| -> Result<&'static [*const core::ffi::c_char]> {
            let items = hook.get(field).filter(|v| v.kind() == Kind::Array);
            let count = items.map_or(0, |v| v.items().count());
            let ptrs = arena.pointers(count + 1).ok_or_else(|| Error::new("config.json is too large"))?;
            for (i, v) in items.into_iter().flat_map(|v| v.items()).enumerate() {
                ptrs[i] = crate::config::string(arena, v, "hooks[]")?.as_ptr();
            }
            Ok(ptrs)
        };
        let argv = strings("args", arena)?;
        let envp = strings("env", arena)?;
        let argv: &[*const core::ffi::c_char] = if argv[0].is_null() { &[path.as_ptr(), core::ptr::null()] } else { argv };
        let timeout_ms = hook.get("timeout").and_then(|t| t.as_u64()).map(|s| s.saturating_mul(1000));
        let (read, write) = fs::pipe2(O_CLOEXEC).context("pipe")?;
        let pid = process::fork().context("fork")?;
        if pid == 0 {
            drop(write);
            let _ = fs::dup3(read.raw(), 0, 0);
            let _ = signal::sigprocmask(signal::SIG_SETMASK, signal::SigSet::EMPTY);
            let e = process::execve(path, argv.as_ptr(), envp.as_ptr());
            Error::sys("cannot run the hook", e).on(path).report();
            process::exit(127);
        }
        drop(read);
        // A hook that does not read its stdin must not hold us up: EPIPE is fine.
        let _ = fs::write_all(write.raw(), state);
        drop(write);
        let start = time::monotonic_ns();
        let status = loop {
            if let Ok(Some((_, status))) = process::wait4(pid, WNOHANG) {
                break Some(status);
            }
            if timeout_ms.is_some_and(|ms| (time::monotonic_ns() - start) / 1_000_000 >= ms) {
                let _ = process::kill(pid, signal::SIGKILL);
                let _ = process::wait4(pid, 0);
                break None;
            }
            let _ = time::sleep_ms(2);
        };
        let failed = match status {
            Some(s) if s.shell_code() == 0 => continue,
            Some(_) => Error::new("a hook failed:").on(path).hint(kind),
            None => Error::new("a hook timed out:").on(path).hint(kind),
        };
        // As the runtime spec says: a failed poststart or poststop hook is a warning, and the
        // remaining hooks and the lifecycle go on (before: the rest were skipped).
        if matches!(kind, "poststart" | "poststop") {
            linker::say!(2; "knocker: warning: ", failed.line().as_bytes().strip_prefix(b"knocker: ").unwrap_or(b""), " (the remaining hooks run)");
            continue;
        }
        return Err(failed);
    }
    Ok(())
}

/// What the hooks of the container being made are given: its config's hooks and the fields
/// of its state.
#[derive(Clone, Copy)]
pub struct Pending {
    pub hooks: Option<Value<'static>>,
    pub id: &'static [u8],
    pub bundle: &'static [u8],
    pub annotations: &'static [u8],
    /// The user namespace's uid and gid maps (empty: none).
    pub id_maps: [&'static [u8]; 2],
}

static mut PENDING: Option<Pending> = None;

fn pending() -> Option<Pending> {
    // SAFETY: written once by `arm` before the container is made, only read afterwards, in
    // this single-threaded process or in PID 1's copy of its memory.
    unsafe { *core::ptr::addr_of!(PENDING) }
}

/// Hands the launcher the callbacks that run the creation-time hooks, if the config has any.
pub fn arm(spec: &mut launcher::spec::Spec, p: Pending) {
    let has = |kind| p.hooks.and_then(|h| h.get(kind)).is_some_and(|l| l.items().next().is_some());
    if !p.id_maps[0].is_empty() || ["prestart", "createRuntime", "createContainer", "startContainer"].into_iter().any(has) {
        // SAFETY: single-threaded, and nothing reads PENDING yet (see `pending`).
        unsafe { *core::ptr::addr_of_mut!(PENDING) = Some(p) };
        spec.hooks = Some(launcher::spec::Hooks { host: on_host, container: in_container, create_container: has("createContainer") });
    }
}

fn run_pending(kinds: &[&'static str], status: &str, pid: i32) -> Result<()> {
    let Some(p) = pending() else { return Ok(()) };
    let mut arena = Arena::new().ok_or_else(|| Error::new("cannot map memory"))?;
    let state = crate::state::document(p.id, status, pid, p.bundle, p.annotations, &mut arena)?;
    for &kind in kinds {
        run(p.hooks, kind, state, &mut arena)?;
    }
    Ok(())
}

fn on_host(pid: i32) -> Result<()> {
    // The user namespace's maps first: PID 1 waits for them.
    if let Some(p) = pending() {
        for (map, file) in p.id_maps.iter().zip(["uid_map", "gid_map"]) {
            if map.is_empty() {
                continue;
            }
            launcher::userns::write_proc(pid, file, map)?;
        }
    }
    run_pending(&["prestart", "createRuntime"], "creating", pid)
}

fn in_container(point: &'static str, pid: i32) -> Result<()> {
    match point {
        "createContainer" => run_pending(&[point], "creating", pid),
        "startContainer" => run_pending(&[point], "created", pid),
        _ => Ok(()),
    }
}
