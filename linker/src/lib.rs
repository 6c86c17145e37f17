//! The floor both knocker programs stand on. It knows nothing of containers.
//!
//! - [`entry`]: `_start`, argv and envp from the initial stack, the [`entry!`] macro.
//! - [`sys`]: a thin typed layer over raw syscalls, one module per subsystem; every call returns
//!   `Result<T, Errno>` and nothing keeps global state (there is no errno, no TLS).
//! - [`clone`]: a hand-allocated child stack and the `clone`/`clone3` trampolines.
//! - [`text`]: fixed-capacity text building without `core::fmt`, and the [`say!`] macro.
//! - [`mem`]: the `memcpy` family LLVM calls even in `no_std` code.
//! - [`list`]: a fixed-capacity list; [`exec`]: `execvp` and the shell's exit codes.
//! - [`panic`]: one line on stderr and exit 70.
//!
//! The crate is `no_std` except under `cfg(test)`, so its pure parts are unit-tested on the host.
#![cfg_attr(not(test), no_std)]

pub mod clone;
pub mod entry;
pub mod errno;
pub mod exec;
pub mod list;
pub mod mem;
pub mod panic;
pub mod sys;
pub mod text;

pub use entry::{Args, Env};
pub use list::List;
pub use sys::{Errno, Fd, Result};
pub use text::{Show, Text, TextBuf};
