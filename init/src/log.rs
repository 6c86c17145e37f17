//! Verbosity-gated diagnostics on stderr (tini's levels: 0 silent, 1 warnings, 2 info,
//! 3 debug, 4 trace).

#[derive(Clone, Copy)]
pub struct Log {
    pub level: u8,
}
