//! The command line, a drop-in for tini 0.19's: `init [OPTIONS] [--] COMMAND [ARG...]`.
//! Docker runs `docker-init -- cmd args` and configures it only through the environment, so
//! the TINI_* variables mean what they mean to tini. Unlike tini (GNU getopt, which permutes
//! argv), parsing stops at the first non-option: `init sh -c 'exit 3'` works without `--`,
//! whatever POSIXLY_CORRECT says.

use linker::sys::signal;
use linker::{Args, Env};

pub const USAGE: &str = "\
Usage: init [OPTIONS] [--] COMMAND [ARG...]
       init --version

knocker's init: runs COMMAND as its child, reaps every zombie, forwards signals to COMMAND,
hands it the terminal, and exits with its status. A drop-in for tini (docker-init).

Options:
  -s          register as a child subreaper (when not PID 1)
  -g          send forwarded signals to COMMAND's whole process group
  -p SIGNAL   signal to receive when the parent dies, e.g. -p SIGKILL
  -e CODE     exit 0 when COMMAND exits with CODE, 0 to 255 (repeatable)
  -v          more output on stderr (up to -vvv)
  -w          say so for each process reaped other than COMMAND
  -l          show the licence
  -h, --help  show this help
  --version   show the version

Environment:
  TINI_SUBREAPER            set (even empty): like -s
  TINI_KILL_PROCESS_GROUP   set (even empty): like -g
  TINI_VERBOSITY=N          verbosity, 0 to 4 (default 1: warnings)
  KNOCKER_INIT_GRACE=MS     after COMMAND exits, how long the processes left get to exit
                            after SIGTERM before SIGKILL (default 2000)

Exit status: COMMAND's (128+N if killed by signal N, 0 if remapped with -e); 1 on a usage
error; 126 if COMMAND cannot be executed, 127 if it does not exist.
";

/// Docker's `docker info` parses `tini version X - git.Y`.
pub const VERSION: &str = concat!("tini version ", env!("CARGO_PKG_VERSION"), "_knocker - git.knocker");

/// `-l`, as tini has it. The licence's own texts are the project's; a 32 KiB init does not
/// carry them (the MIT text alone is a kilobyte).
pub const LICENSE: &str = "\
knocker's init is licensed under the MIT license or the Apache License 2.0, at your option
(SPDX: MIT OR Apache-2.0). The full texts come with knocker's source.
";

pub const DEFAULT_GRACE_MS: u64 = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub subreaper: bool,
    pub kill_group: bool,
    pub parent_death_signal: Option<i32>,
    /// Bit N set: exit code N becomes 0.
    pub remap: [u64; 4],
    /// 0 silent, 1 warnings (default), 2 info, 3 debug, 4 trace.
    pub verbosity: u8,
    pub warn_on_reap: bool,
    pub grace_ms: u64,
    /// Index in argv of COMMAND (None: none given — only allowed for the real PID 1 of a box).
    pub command: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            subreaper: false,
            kill_group: false,
            parent_death_signal: None,
            remap: [0; 4],
            verbosity: 1,
            warn_on_reap: false,
            grace_ms: DEFAULT_GRACE_MS,
            command: None,
        }
    }
}

impl Options {
    pub fn remaps(&self, code: i32) -> bool {
        (0..256).contains(&code) && self.remap[code as usize / 64] & (1 << (code % 64)) != 0
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    Run(Options),
    Help,
    License,
    Version,
}

/// A usage error: what was wrong (the caller prints it with the usage and exits 1).
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError {
    pub what: &'static str,
    pub value: &'static [u8],
}

fn bad(what: &'static str, value: &'static [u8]) -> UsageError {
    UsageError { what, value }
}

use linker::text::decimal_value as number;

pub fn parse(args: &Args, env: &Env) -> Result<Action, UsageError> {
    let mut o = Options::default();
    let mut verbosity: u8 = 1;
    let mut i = 1;
    while let Some(arg) = args.bytes(i) {
        if arg == b"--" {
            i += 1;
            break;
        }
        if arg == b"--version" {
            return Ok(Action::Version);
        }
        if arg == b"--help" {
            return Ok(Action::Help);
        }
        if arg.len() < 2 || arg[0] != b'-' || arg.starts_with(b"--") {
            if arg.starts_with(b"--") {
                return Err(bad("unknown option ", arg));
            }
            break;
        }
        i += 1;
        // A cluster of short options: -vvv, -sg, -p SIGTERM, -pSIGTERM, -e143.
        let mut j = 1;
        while j < arg.len() {
            let flag = arg[j];
            j += 1;
            match flag {
                b'h' => return Ok(Action::Help),
                b'l' => return Ok(Action::License),
                b's' => o.subreaper = true,
                b'g' => o.kill_group = true,
                b'w' => o.warn_on_reap = true,
                b'v' => verbosity = verbosity.saturating_add(1).min(4),
                b'p' | b'e' => {
                    let value = if j < arg.len() {
                        &arg[j..]
                    } else {
                        let v = args.bytes(i).ok_or(bad("option needs a value: -", &arg[j - 1..j]))?;
                        i += 1;
                        v
                    };
                    j = arg.len();
                    if flag == b'p' {
                        o.parent_death_signal = Some(signal::parse(value).ok_or(bad("invalid signal for -p: ", value))?);
                    } else {
                        let code = number(value).filter(|&c| c <= 255).ok_or(bad("invalid exit code for -e (0 to 255): ", value))?;
                        o.remap[code as usize / 64] |= 1 << (code % 64);
                    }
                }
                _ => return Err(bad("unknown option -", &arg[j - 1..j])),
            }
        }
    }
    // Presence means on, even when empty, as tini reads them.
    o.subreaper |= env.entry(b"TINI_SUBREAPER").is_some();
    o.kill_group |= env.entry(b"TINI_KILL_PROCESS_GROUP").is_some();
    // Read after the options, so the environment wins (as in tini).
    if let Some(v) = env.get(b"TINI_VERBOSITY") {
        verbosity = number(v).map_or(verbosity, |n| n.min(4) as u8);
    }
    o.verbosity = verbosity;
    if let Some(v) = env.get(b"KNOCKER_INIT_GRACE") {
        // At most a day: the value becomes a deadline in nanoseconds.
        o.grace_ms = number(v).filter(|&ms| ms <= 86_400_000).ok_or(bad("invalid KNOCKER_INIT_GRACE (milliseconds, at most a day): ", v))?;
    }
    o.command = (i < args.len()).then_some(i);
    Ok(Action::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn leak(words: &[&str]) -> *const *const core::ffi::c_char {
        let mut v: Vec<*const core::ffi::c_char> =
            words.iter().map(|w| CString::new(*w).unwrap().into_raw() as *const _).collect();
        v.push(core::ptr::null());
        Box::leak(v.into_boxed_slice()).as_ptr()
    }

    fn parse_with(words: &[&str], env: &[&str]) -> Result<Action, UsageError> {
        // SAFETY: `leak` returns NULL-terminated arrays of C strings that live for ever.
        let args = unsafe { Args::from_raw(words.len(), leak(words)) };
        // SAFETY: as above.
        let env = unsafe { Env::from_raw(leak(env)) };
        parse(&args, &env)
    }

    fn opts(words: &[&str], env: &[&str]) -> Options {
        match parse_with(words, env) {
            Ok(Action::Run(o)) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stops_at_the_first_non_option() {
        let o = opts(&["init", "sh", "-c", "exit 3"], &[]);
        assert_eq!(o.command, Some(1));
        let o = opts(&["init", "-s", "--", "-weird", "x"], &["POSIXLY_CORRECT=1"]);
        assert_eq!(o.command, Some(3));
        assert!(o.subreaper);
        let o = opts(&["init", "--", "--", "true"], &[]);
        assert_eq!(o.command, Some(2));
        assert_eq!(opts(&["init"], &[]).command, None);
    }

    #[test]
    fn clustered_flags_and_values() {
        let o = opts(&["init", "-vvgw", "-pSIGTERM", "-e", "143", "-e3", "cmd"], &[]);
        assert_eq!(o.verbosity, 3);
        assert_eq!(opts(&["init", "-vvvv", "x"], &[]).verbosity, 4);
        assert!(o.kill_group && o.warn_on_reap && !o.subreaper);
        assert_eq!(o.parent_death_signal, Some(15));
        assert!(o.remaps(143) && o.remaps(3) && !o.remaps(0) && !o.remaps(-1));
        assert_eq!(o.command, Some(6));
        assert_eq!(opts(&["init", "-p", "USR1", "x"], &[]).parent_death_signal, Some(10));
    }

    #[test]
    fn environment() {
        let o = opts(&["init", "-v", "x"], &["TINI_SUBREAPER=", "TINI_KILL_PROCESS_GROUP=1", "TINI_VERBOSITY=0"]);
        assert!(o.subreaper && o.kill_group);
        assert_eq!(o.verbosity, 0);
        assert_eq!(opts(&["init", "x"], &["KNOCKER_INIT_GRACE=150"]).grace_ms, 150);
        assert_eq!(opts(&["init", "x"], &[]).grace_ms, 2000);
        assert!(parse_with(&["init", "x"], &["KNOCKER_INIT_GRACE=soon"]).is_err());
        assert!(parse_with(&["init", "x"], &["KNOCKER_INIT_GRACE=99999999999999999"]).is_err());
    }

    #[test]
    fn errors_and_informational_flags() {
        assert_eq!(parse_with(&["init", "-x", "cmd"], &[]), Err(bad("unknown option -", b"x")));
        assert!(parse_with(&["init", "--bogus"], &[]).is_err());
        assert!(parse_with(&["init", "-e", "256", "x"], &[]).is_err());
        assert!(parse_with(&["init", "-p", "SIGNOPE", "x"], &[]).is_err());
        assert!(parse_with(&["init", "-p"], &[]).is_err());
        assert_eq!(parse_with(&["init", "-h"], &[]), Ok(Action::Help));
        assert_eq!(parse_with(&["init", "--help"], &[]), Ok(Action::Help));
        assert_eq!(parse_with(&["init", "-l"], &[]), Ok(Action::License));
        assert_eq!(parse_with(&["init", "--version"], &[]), Ok(Action::Version));
        assert_eq!(parse_with(&["init", "-s", "--version"], &[]), Ok(Action::Version));
    }
}
