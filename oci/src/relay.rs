//! A PID 1 whose setup fails says why to its creator, which reports the line as its own: an
//! engine reads the runtime's stderr and `--log`, never the container's (before: every such
//! failure reached Docker, podman and containerd as "the container failed during its setup").
//! One record on the sync channel (launcher::sync): `FAILED` and the line.

use launcher::error::{Error, Result};
use launcher::spec::Spec;
use launcher::sync::{ChildEnd, FAILED, ParentEnd, READY};
use linker::sys::fs;
use linker::sys::socket::{self, MSG_PEEK};

/// In PID 1 of a `create` (the creator is waiting in [`wait_ready`]): the line without the
/// program's name, else on stderr as the launcher says it.
pub fn child_failed(spec: &Spec, sync: &ChildEnd, e: &Error) {
    let line = e.line();
    let said = line.as_bytes().splitn(2, |&c| c == b' ').nth(1).unwrap_or(b"");
    let mut record = [0u8; 512];
    record[0] = FAILED;
    let n = said.len().min(record.len() - 1);
    record[1..1 + n].copy_from_slice(&said[..n]);
    if spec.detached.is_none() || fs::write(sync.0.raw(), &record[..1 + n]).is_err() {
        e.report();
    }
}

/// In the creator: Ok once PID 1 is set up and waits on the exec fifo; its line when it failed.
pub fn wait_ready(sync: &ParentEnd) -> Result<()> {
    let mut record = [0u8; 512];
    loop {
        // One record per read (SOCK_SEQPACKET).
        match fs::read(sync.0.raw(), &mut record) {
            Ok(n) if n > 0 && record[0] == READY => return Ok(()),
            Ok(n) if n > 0 && record[0] == FAILED => return Err(Error::new("the container's setup failed:").on(&record[1..n])),
            Ok(n) if n > 0 => continue,
            _ => return Err(Error::new("the container failed during its setup")),
        }
    }
}

/// Whether PID 1 failed before it had a terminal to send (its line is left for [`wait_ready`]).
pub fn failed_first(sync: &ParentEnd) -> bool {
    matches!(socket::recv(sync.0.raw(), MSG_PEEK), Ok(Some((FAILED, _))))
}
