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

/// A failure: a handle on its details, which live in a small pool ([`Detail`]). A
/// `Result<T>` then fits in registers and every `?` is a move of a few bytes — the details
/// inline (a 256-byte subject) made each `?` a copy of 300 bytes: 9 KB of code in knocker.
/// The pool holds the last [`POOL`] failures; a failure is reported or dropped long before
/// that many newer ones exist (the programs are single-threaded and a failure ends their
/// step).
pub struct Error(u8);

struct Detail {
    what: &'static str,
    subject: Text<256>,
    errno: Option<Errno>,
    hint: &'static str,
    code: i32,
}

const POOL: usize = 8;

type Pool = [core::mem::MaybeUninit<Detail>; POOL];
/// Uninitialised, so the pool costs no bytes of the file (.bss).
const EMPTY: Pool = [const { core::mem::MaybeUninit::uninit() }; POOL];

/// Runs `f` on the pool. Slots are written by [`Error::new`] before any [`Error`] names them.
#[cfg(not(test))]
fn pool<R>(f: impl FnOnce(&mut Pool) -> R) -> R {
    static mut DETAILS: Pool = EMPTY;
    // SAFETY: the programs are single-threaded and `f` cannot reach the pool again (this
    // module's closures do not create errors), so this is the only reference.
    f(unsafe { &mut *core::ptr::addr_of_mut!(DETAILS) })
}

// Unit tests run on several threads: each gets its own pool.
#[cfg(test)]
fn pool<R>(f: impl FnOnce(&mut Pool) -> R) -> R {
    std::thread_local!(static DETAILS: core::cell::RefCell<Pool> = const { core::cell::RefCell::new(EMPTY) });
    DETAILS.with(|d| f(&mut d.borrow_mut()))
}

/// The details of the error in `slot`.
fn detail<R>(slot: u8, f: impl FnOnce(&mut Detail) -> R) -> R {
    // SAFETY: an Error's slot was written by Error::new (the only maker of Errors), and a
    // slot is only ever overwritten with a whole Detail.
    pool(|p| f(unsafe { p[slot as usize % POOL].assume_init_mut() }))
}

static NEXT: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

pub type Result<T> = core::result::Result<T, Error>;

// For unit tests' unwrap: the line says it all.
#[cfg(test)]
impl core::fmt::Debug for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.line().as_bytes()))
    }
}

impl Error {
    /// A failure of the launcher itself (exit 125) described by `what`.
    #[cold]
    #[inline(never)]
    pub fn new(what: &'static str) -> Error {
        let slot = NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed) % POOL as u8;
        let fresh = Detail { what, subject: Text::new(), errno: None, hint: "", code: EXIT_LAUNCHER };
        pool(|p| {
            p[slot as usize].write(fresh);
        });
        Error(slot)
    }

    /// A failed syscall during `what`.
    #[cold]
    #[inline(never)]
    pub fn sys(what: &'static str, errno: Errno) -> Error {
        let e = Error::new(what);
        detail(e.0, |d| d.errno = Some(errno));
        e
    }

    /// Names the path or value the failure is about.
    #[cold]
    #[inline(never)]
    pub fn on(self, subject: impl Show) -> Error {
        detail(self.0, |d| {
            d.subject.push(subject);
        });
        self
    }

    /// Adds what the user can do about it.
    #[cold]
    #[inline(never)]
    pub fn hint(self, hint: &'static str) -> Error {
        detail(self.0, |d| d.hint = hint);
        self
    }

    #[cold]
    #[inline(never)]
    pub fn exit_code(self, code: i32) -> Error {
        detail(self.0, |d| d.code = code);
        self
    }

    /// The exit status this failure ends the program with.
    pub fn code(&self) -> i32 {
        detail(self.0, |d| d.code)
    }

    pub fn errno(&self) -> Option<Errno> {
        detail(self.0, |d| d.errno)
    }

    /// The single line, without the trailing newline (for tests and for `report`).
    pub fn line(&self) -> Text<512> {
        let mut t = Text::new();
        t.push(if KNOCKER.load(core::sync::atomic::Ordering::Relaxed) { "knocker: " } else { "launcher: " });
        detail(self.0, |d| {
            t.push(d.what);
            if !d.subject.is_empty() {
                t.push(" ");
                // A subject is often the user's own text: a control character in it (a
                // newline) must not break the one line.
                for &c in d.subject.as_bytes() {
                    t.bytes(&[if c < 0x20 || c == 0x7f { b'?' } else { c }]);
                }
            }
            if let Some(e) = d.errno {
                t.push(": ").push(e);
            }
            if !d.hint.is_empty() {
                t.push(" (").push(d.hint).push(")");
            }
        });
        t
    }

    /// A failure a helper process has already reported in its own line: nothing more to say.
    pub fn said() -> Error {
        Error::new("")
    }

    pub fn report(&self) {
        if !detail(self.0, |d| d.what.is_empty()) {
            self.line().write_line(2);
        }
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
    let e = Error::sys(what, errno);
    detail(e.0, |d| subject.show_dyn(&mut d.subject));
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
        assert_eq!(e.code(), 125);
        assert_eq!(Error::new("unknown option").on("--x").line().as_bytes(), b"launcher: unknown option --x");
        // Found by the cli fuzz target: the user's newline split the line in two.
        assert_eq!(Error::new("bad --memory:").on(&b"1
2"[..]).line().as_bytes(), b"launcher: bad --memory: 1?2?");
    }
}
