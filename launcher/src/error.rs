//! The launcher's one error type, printed in one place (`main`) as one line:
//! `launcher: mount proc on /proc: EPERM (Operation not permitted)`.
//!
//! Exit codes (documented in the README and `--help`):
//! 125 the launcher itself failed (usage, environment, container setup);
//! 126 COMMAND exists in the rootfs but cannot be executed; 127 COMMAND does not exist;
//! otherwise the command's own status, 128+N when it was killed by signal N.

use linker::{Errno, Show, Text};

pub const EXIT_LAUNCHER: i32 = 125;

/// The program that speaks: `launcher`, or `knocker` (the OCI runtime front end), which calls
/// [`speak_as_knocker`] first thing. One flag, no lock: the programs are single-threaded.
static KNOCKER: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

pub fn speak_as_knocker() {
    KNOCKER.store(true, core::sync::atomic::Ordering::Relaxed);
}
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
pub const EXIT_NOT_FOUND: i32 = 127;

pub struct Error {
    what: &'static str,
    subject: Text<256>,
    errno: Option<Errno>,
    hint: &'static str,
    pub code: i32,
}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// A failure of the launcher itself (exit 125) described by `what`.
    #[cold]
    #[inline(never)]
    pub fn new(what: &'static str) -> Error {
        Error { what, subject: Text::new(), errno: None, hint: "", code: EXIT_LAUNCHER }
    }

    /// A failed syscall during `what`.
    #[cold]
    #[inline(never)]
    pub fn sys(what: &'static str, errno: Errno) -> Error {
        Error { errno: Some(errno), ..Error::new(what) }
    }

    /// Names the path or value the failure is about.
    #[cold]
    #[inline(never)]
    pub fn on(mut self, subject: impl Show) -> Error {
        self.subject.push(subject);
        self
    }

    /// Adds what the user can do about it.
    #[cold]
    #[inline(never)]
    pub fn hint(mut self, hint: &'static str) -> Error {
        self.hint = hint;
        self
    }

    #[cold]
    #[inline(never)]
    pub fn exit_code(mut self, code: i32) -> Error {
        self.code = code;
        self
    }

    pub fn errno(&self) -> Option<Errno> {
        self.errno
    }

    /// The single line, without the trailing newline (for tests and for `report`).
    pub fn line(&self) -> Text<512> {
        let mut t = Text::new();
        t.push(if KNOCKER.load(core::sync::atomic::Ordering::Relaxed) { "knocker: " } else { "launcher: " }).push(self.what);
        if !self.subject.is_empty() {
            t.push(" ").push(&self.subject);
        }
        if let Some(e) = self.errno {
            t.push(": ").push(e);
        }
        if !self.hint.is_empty() {
            t.push(" (").push(self.hint).push(")");
        }
        t
    }

    pub fn report(&self) {
        self.line().write_line(2);
    }
}

/// `.context("mount /proc")?` on a syscall result.
pub trait Context<T> {
    fn context(self, what: &'static str) -> Result<T>;
    fn context_on(self, what: &'static str, subject: impl Show) -> Result<T>;
}

impl<T> Context<T> for core::result::Result<T, Errno> {
    #[inline(always)]
    fn context(self, what: &'static str) -> Result<T> {
        match self {
            Ok(v) => Ok(v),
            Err(e) => Err(Error::sys(what, e)),
        }
    }
    #[inline(always)]
    fn context_on(self, what: &'static str, subject: impl Show) -> Result<T> {
        match self {
            Ok(v) => Ok(v),
            Err(e) => Err(sys_on(what, e, &subject)),
        }
    }
}

#[cold]
#[inline(never)]
fn sys_on(what: &'static str, errno: Errno, subject: &dyn ShowDyn) -> Error {
    let mut e = Error::sys(what, errno);
    subject.show_dyn(&mut e.subject);
    e
}

trait ShowDyn {
    fn show_dyn(&self, t: &mut linker::TextBuf);
}

impl<T: Show> ShowDyn for T {
    fn show_dyn(&self, t: &mut linker::TextBuf) {
        self.show(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_errno_and_hint() {
        let e = Error::sys("mount proc on", Errno::EPERM).on("/proc").hint("are you root?");
        assert_eq!(
            e.line().as_bytes(),
            b"launcher: mount proc on /proc: EPERM (Operation not permitted) (are you root?)"
        );
        assert_eq!(e.code, 125);
        assert_eq!(Error::new("unknown option").on("--x").line().as_bytes(), b"launcher: unknown option --x");
    }
}
