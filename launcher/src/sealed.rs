//! Sealed in-memory copies of programs (the class of runc CVE-2019-5736). A process whose
//! executable is a host file hands that file to the container through `/proc/PID/exe` — and
//! `#!/proc/self/exe` in an image makes the container's own program run it again — so what
//! runs where the container can see it runs from a copy in a memfd sealed against every
//! change: writing to it through /proc fails, and it is not the host's file anyway.

use crate::error::{Context, Error, Result};
use core::ffi::CStr;
use linker::sys::fs::{self, AT_EMPTY_PATH, F_ADD_SEALS, F_GET_SEALS, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, O_CLOEXEC, O_RDONLY};
use linker::sys::fs::{MFD_ALLOW_SEALING, MFD_CLOEXEC, MFD_EXEC};
use linker::sys::{Errno, process};
use linker::{Args, Env, Fd, Text};

const SEALS: usize = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

/// A sealed copy of the regular file at `path`, named `name` in /proc (`memfd:NAME`).
pub fn copy(path: &CStr, name: &CStr) -> Result<Fd> {
    let file = fs::open(path, O_RDONLY | O_CLOEXEC).context_on("cannot open", path)?;
    let st = fs::fstat(file.raw()).context_on("cannot stat", path)?;
    if !st.is_file() {
        return Err(Error::new("not a regular file:").on(path));
    }
    // MFD_EXEC states that this memfd is meant to be executed (kernels with vm.memfd_noexec
    // would refuse otherwise); kernels before 6.3 do not know the flag.
    let memfd = match fs::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC) {
        Err(Errno::EINVAL) => fs::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING),
        other => other,
    }
    .context("cannot create a memfd")?;
    let mut left = st.size as usize;
    while left > 0 {
        match fs::sendfile(memfd.raw(), file.raw(), left).context_on("cannot copy", path)? {
            0 => return Err(Error::new("the file changed size while being copied:").on(path)),
            n => left -= n,
        }
    }
    fs::fcntl(memfd.raw(), F_ADD_SEALS, SEALS).context("cannot seal the memfd")?;
    Ok(memfd)
}

/// Whether this process already runs from a sealed copy.
fn running_sealed() -> bool {
    let Ok(exe) = fs::open(c"/proc/self/exe", O_RDONLY | O_CLOEXEC) else { return false };
    // A regular file has no seals (EINVAL); a memfd made by `copy` has all four.
    fs::fcntl(exe.raw(), F_GET_SEALS, 0).is_ok_and(|seals| seals & SEALS == SEALS)
}

/// Runs this program again, with the same arguments and environment, from a sealed copy of
/// itself, unless it already runs from one; returns only when it already does. The callers
/// are the verbs that put a process of ours where the container can see it (`exec`, and a
/// PID 1 that is not knocker's own sealed init).
pub fn reexec(name: &CStr, args: Args, env: Env) -> Result<()> {
    if running_sealed() || cfg!(feature = "unprotected-control") {
        return Ok(());
    }
    let memfd = copy(c"/proc/self/exe", name)?;
    let (argv, envp) = (args.tail_ptr(0), env.as_ptr());
    let errno = match process::execveat(memfd.raw(), c"", argv, envp, AT_EMPTY_PATH) {
        // No execveat (valgrind, kernels before 3.19): the memfd by its /proc path.
        Errno::ENOSYS | Errno::ENOENT => {
            let mut path = Text::<32>::new();
            path.push("/proc/self/fd/").push(memfd.raw());
            // The path is opened before the close-on-exec descriptors are closed.
            match path.as_cstr() {
                Ok(p) => process::execve(p, argv, envp),
                Err(e) => e,
            }
        }
        other => other,
    };
    Err(Error::sys("cannot run from a sealed copy of this program", errno))
}
