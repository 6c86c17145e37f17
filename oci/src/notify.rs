//! `NOTIFY_SOCKET`, passed through as runc does for `podman --sdnotify=container` and
//! systemd units (`Type=notify`): the engine's socket is bound into the container at the same
//! path, and the process gets `NOTIFY_SOCKET` naming it, so its `READY=1` reaches the engine.

use crate::arena::Arena;
use launcher::error::{Error, Result};
use launcher::spec::{Mount, Spec};

/// Adds the bind of the socket at `path` and `NOTIFY_SOCKET=path` to `spec` (after the
/// config's own mounts and in place of any `NOTIFY_SOCKET` of its environment).
pub fn pass_through(spec: &mut Spec, path: &'static [u8], arena: &mut Arena) -> Result<()> {
    if path.first() != Some(&b'/') {
        // An abstract socket (`@…`) belongs to the engine's network namespace, not the
        // container's; a relative path names nothing inside.
        linker::say!(2; "knocker: warning: NOTIFY_SOCKET ", path, " is not an absolute path to a socket: not passed on to the container");
        return Ok(());
    }
    let cpath = arena.cstr(path).ok_or_else(|| Error::new("NOTIFY_SOCKET is too long"))?;
    match linker::sys::fs::stat(cpath) {
        Ok(st) if st.kind() == libc::S_IFSOCK => {}
        Ok(_) => return Err(Error::new("NOTIFY_SOCKET is not a socket:").on(path)),
        Err(e) => return Err(Error::sys("NOTIFY_SOCKET: cannot stat", e).on(path)),
    }
    let mut mounts = arena.list(spec.mounts.len() + 1).ok_or_else(|| Error::new("cannot map memory"))?;
    for &m in spec.mounts {
        mounts.push(m);
    }
    mounts.push(Mount::Bind { src: path, dst: path, flags: 0, propagation: 0 });
    spec.mounts = mounts.done();
    let mut var = linker::Text::<256>::new();
    var.push("NOTIFY_SOCKET=").bytes(path);
    let var = arena.cstr(var.as_bytes()).filter(|_| !var.overflowed()).ok_or_else(|| Error::new("NOTIFY_SOCKET is too long"))?;
    let mut env = arena.list(spec.env.len() + 1).ok_or_else(|| Error::new("cannot map memory"))?;
    for &e in spec.env.iter().filter(|e| !e.to_bytes().starts_with(b"NOTIFY_SOCKET=")) {
        env.push(e);
    }
    env.push(var);
    spec.env = env.done();
    Ok(())
}
