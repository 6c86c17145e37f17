//! knocker's init, copied from the host into a sealed memfd before the container exists and
//! executed from there. Nothing is added to the rootfs, and nothing inside can write to the
//! host's binary through /proc/1/exe (the class of runc CVE-2019-5736): the copy is sealed
//! against writes, and it is not the host file.

use crate::error::{Context, Error, Result};
use crate::spec::{Init, Spec};
use core::ffi::CStr;
use linker::sys::fs;
use linker::sys::Errno;
use linker::{Fd, Text};

/// The sealed copy of the init to run, or `None` when the container's PID 1 comes from the
/// rootfs (`--init PATH`) or is COMMAND itself (`--no-init`).
pub fn prepare(spec: &Spec) -> Result<Option<Fd>> {
    match spec.init {
        Init::Bundled(Some(path)) => seal(path).map(Some),
        Init::Bundled(None) => {
            let (mut next_to, mut libexec) = candidates()?;
            for place in [&mut next_to, &mut libexec] {
                let Ok(path) = place.as_cstr() else { continue };
                match seal(path) {
                    Ok(fd) => return Ok(Some(fd)),
                    Err(e) if e.errno() == Some(Errno::ENOENT) => continue,
                    Err(e) => return Err(e),
                }
            }
            let mut both = Text::<512>::new();
            both.push(&next_to).push(" and ").push(&libexec);
            Err(Error::new("cannot find knocker's init; looked for")
                .on(&both)
                .hint("name one with --init-bin PATH, or run without an init: --no-init"))
        }
        Init::InRootfs(_) | Init::None => Ok(None),
    }
}

/// `<dir of the launcher>/init` and `<dir>/../libexec/knocker/init`.
fn candidates() -> Result<(Text<4096>, Text<4096>)> {
    let mut exe = [0u8; 4096];
    let n = fs::readlinkat(fs::AT_FDCWD, c"/proc/self/exe", &mut exe).context("cannot read /proc/self/exe")?;
    let dir = match exe[..n].iter().rposition(|&c| c == b'/') {
        Some(slash) => &exe[..slash],
        None => b".",
    };
    let mut next_to = Text::new();
    next_to.bytes(dir).push("/init");
    let mut libexec = Text::new();
    libexec.bytes(dir).push("/../libexec/knocker/init");
    Ok((next_to, libexec))
}

fn seal(path: &CStr) -> Result<Fd> {
    crate::sealed::copy(path, c"knocker-init")
}
