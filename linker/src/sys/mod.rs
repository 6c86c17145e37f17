//! A thin typed layer over raw syscalls, one module per subsystem. Every call returns
//! `Result<T, Errno>`; nothing here keeps state, so any of it is safe to call in a cloned child.
//! Raw pointers stop here: callers pass references, `&CStr` paths and owned [`Fd`]s.

pub mod bpf;
pub mod caps;
pub mod fs;
pub mod mm;
pub mod mount;
pub mod ns;
pub mod poll;
pub mod process;
pub mod seccomp;
pub mod signal;
pub mod socket;
pub mod time;
pub mod tty;

pub use syscalls::{Errno, Sysno};

pub type Result<T> = core::result::Result<T, Errno>;

/// `call!(name, a, b, …)`: the raw syscall `name`, its result as `Result<usize, Errno>`.
/// Must be used inside `unsafe`: the arguments are passed to the kernel as plain words.
macro_rules! call {
    ($name:ident $(, $arg:expr)* $(,)?) => {
        syscalls::syscall!(syscalls::Sysno::$name $(, $arg)*)
    };
}
pub(crate) use call;

/// A raw syscall with up to six integer arguments, for the rare call with no wrapper here.
///
/// # Safety
/// The arguments must be what the kernel expects for `nr` (no pointer the call could misuse).
pub unsafe fn raw_syscall(nr: Sysno, args: &[usize]) -> Result<usize> {
    let a = |i: usize| args.get(i).copied().unwrap_or(0);
    // SAFETY: the caller vouches for the arguments.
    unsafe { syscalls::syscall6(nr, a(0), a(1), a(2), a(3), a(4), a(5)) }
}

/// An open file descriptor, closed when dropped.
#[derive(Debug)]
pub struct Fd(i32);

impl Fd {
    /// # Safety
    /// `raw` must be an open descriptor that nothing else will close.
    pub const unsafe fn from_raw(raw: i32) -> Fd {
        Fd(raw)
    }

    pub fn raw(&self) -> i32 {
        self.0
    }

    /// Gives up ownership without closing.
    pub fn into_raw(self) -> i32 {
        let raw = self.0;
        core::mem::forget(self);
        raw
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // A failed close of a descriptor we own has nothing left to tell us.
        let _ = fs::close(self.0);
    }
}

/// Retries a call interrupted by a signal.
pub fn retry<T>(mut f: impl FnMut() -> Result<T>) -> Result<T> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}
