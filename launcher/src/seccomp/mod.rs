//! Seccomp: a [`Profile`] — what each syscall gets, with argument rules — compiled to a
//! classic-BPF filter ([`bpf`]) and installed just before the container's program runs. The
//! launcher's filter is Docker's default profile ([`docker`]); an OCI config brings its own
//! (knocker's front end reads it, with syscall names resolved by [`names`]). Both go through
//! the same compiler.
//!
//! Only x86_64 syscalls are filtered by a profile's rules: a 32-bit (`int 0x80`) syscall kills
//! the process, an x32 one gets ENOSYS.

pub mod bpf;
pub mod docker;
pub mod names;

use crate::error::{Context, Result};

/// The filter's verdicts (`SECCOMP_RET_*`), in the encoding the kernel reads; ERRNO and
/// TRACE carry their 16-bit data in the low bits.
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// `SECCOMP_FILTER_FLAG_*` a profile may ask for.
pub const FLAG_TSYNC: u32 = 1;
pub const FLAG_LOG: u32 = 2;
pub const FLAG_SPEC_ALLOW: u32 = 4;

/// How a syscall argument is compared (libseccomp's `SCMP_CMP_*`), on all 64 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cmp {
    #[default]
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & value) == value_two`.
    MaskedEq,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArgCheck {
    /// Which argument, 0 to 5.
    pub index: u8,
    pub op: Cmp,
    pub value: u64,
    pub value_two: u64,
}

/// One rule: syscall `nr` gets `action` when every check holds. The rules of one syscall are
/// tried in order; the first that holds decides, and when none does the profile's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    pub nr: u16,
    pub action: u32,
    pub args: &'static [ArgCheck],
}

/// What every syscall gets. `rules` are sorted by syscall number (config order kept within one).
#[derive(Clone, Copy, Debug)]
pub struct Profile<'a> {
    /// For syscalls no rule decides.
    pub default: u32,
    /// `(first, action)`: syscalls numbered `first` and above get `action` (newer than every
    /// name the profile knows), unless a rule says otherwise.
    pub beyond: Option<(u32, u32)>,
    pub flags: u32,
    pub rules: &'a [Rule],
}

/// The container's filter.
#[derive(Clone, Copy, Debug)]
pub enum Seccomp {
    /// `--seccomp=unconfined`, or an OCI config without a seccomp section.
    Unconfined,
    /// Docker's default profile, with the capability-gated groups opened by the container's
    /// capabilities.
    Default,
    /// An OCI config's profile.
    Profile(&'static Profile<'static>),
}

/// Installs the filter for a container that keeps the capabilities `caps`; returns its length
/// in instructions.
pub fn install(seccomp: Seccomp, caps: u64) -> Result<usize> {
    let mut rules = linker::List::<Rule, { docker::MAX_RULES }>::new();
    let profile = match seccomp {
        Seccomp::Unconfined => return Ok(0),
        Seccomp::Default => docker::profile(caps, &mut rules),
        Seccomp::Profile(p) => *p,
    };
    let filter = bpf::compile(&profile)
        .ok_or_else(|| crate::error::Error::new("the seccomp profile compiles to more than 4096 instructions"))?;
    linker::sys::seccomp::set_filter(filter.as_slice(), profile.flags).context("cannot install the seccomp filter")?;
    Ok(filter.len())
}
