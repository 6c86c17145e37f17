//! `linux.seccomp` → a seccomp [`Profile`] for the launcher's filter compiler, as runc reads it
//! (libseccomp's names): `defaultAction`/`defaultErrnoRet`, `architectures`, `flags`, and
//! `syscalls` with `names`, `action`, `errnoRet` and `args`. Names x86_64 does not have (the
//! 32-bit `*64` calls, `socketcall`…) are skipped, as libseccomp skips them. The arguments of
//! one entry must all hold, except where two name the same argument: then each is a rule of
//! its own (runc's reading, which Docker's profile relies on).

use crate::arena::Arena;
use crate::config::{bad, bytes};
use crate::json::{Kind, Value};
use launcher::error::{Error, Result};
use launcher::seccomp::{self, ArgCheck, Cmp, Profile, Rule};

const EPERM: u64 = 1;

fn too_large() -> Error {
    Error::new("config.json is too large")
}

/// libseccomp's names, each with what it stands for: a table, as a `match` on byte strings
/// compiles to far more code.
pub(crate) const ACTIONS: [(&str, u32); 8] = [
    ("KILL", seccomp::RET_KILL_THREAD),
    ("KILL_THREAD", seccomp::RET_KILL_THREAD),
    ("KILL_PROCESS", seccomp::RET_KILL_PROCESS),
    ("TRAP", seccomp::RET_TRAP),
    ("ERRNO", seccomp::RET_ERRNO),
    ("TRACE", seccomp::RET_TRACE),
    ("LOG", seccomp::RET_LOG),
    ("ALLOW", seccomp::RET_ALLOW),
];
pub(crate) const COMPARISONS: [(&str, Cmp); 7] =
    [("NE", Cmp::Ne), ("LT", Cmp::Lt), ("LE", Cmp::Le), ("EQ", Cmp::Eq), ("GE", Cmp::Ge), ("GT", Cmp::Gt), ("MASKED_EQ", Cmp::MaskedEq)];
pub(crate) const FLAGS: [(&str, u32); 3] =
    [("TSYNC", seccomp::FLAG_TSYNC), ("LOG", seccomp::FLAG_LOG), ("SPEC_ALLOW", seccomp::FLAG_SPEC_ALLOW)];

fn lookup<T: Copy>(table: &[(&str, T)], prefix: &[u8], name: &[u8]) -> Option<T> {
    let bare = name.strip_prefix(prefix)?;
    table.iter().find(|(n, _)| n.as_bytes() == bare).map(|&(_, v)| v)
}

/// An action name with its errno (or trace) value.
fn action(name: &[u8], errno: Option<u64>, field: &'static str) -> Result<u32> {
    if name == b"SCMP_ACT_NOTIFY" {
        return Err(bad(field, "SCMP_ACT_NOTIFY: seccomp agents are not supported"));
    }
    let ret = lookup(&ACTIONS, b"SCMP_ACT_", name).ok_or_else(|| bad(field, "an unknown action"))?;
    let takes_errno = ret == seccomp::RET_ERRNO || ret == seccomp::RET_TRACE;
    if errno.is_some() && !takes_errno {
        linker::say!(2; "knocker: warning: config.json: ", field, " ", name, " takes no errno: its errnoRet is ignored, as runc does");
    }
    let data = if takes_errno { errno.unwrap_or(EPERM).min(0xffff) as u32 } else { 0 };
    Ok(ret | data)
}

/// The profile of a `linux.seccomp` object, in the arena.
pub fn profile(v: Value<'static>, arena: &mut Arena) -> Result<&'static Profile<'static>> {
    let number = |v: Option<Value>, field| match v {
        None => Ok(None),
        Some(v) if v.kind() == Kind::Null => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| bad(field, "expected a number")),
    };
    let default_name = bytes(arena, v.get("defaultAction").ok_or_else(|| bad("linux.seccomp.defaultAction", "missing"))?, "linux.seccomp.defaultAction")?;
    let default = action(default_name, number(v.get("defaultErrnoRet"), "linux.seccomp.defaultErrnoRet")?, "linux.seccomp.defaultAction")?;
    if v.get("listenerPath").and_then(|p| p.raw_str()).is_some_and(|p| !p.is_empty()) {
        return Err(bad("linux.seccomp.listenerPath", "seccomp agents are not supported"));
    }
    for arch in v.get("architectures").map(|a| a.items()).into_iter().flatten() {
        // Only x86_64 numbers are filtered here; 32-bit and x32 calls are refused outright.
        if !arch.decoded(&mut [0; 32]).is_some_and(|a| a.starts_with(b"SCMP_ARCH_")) {
            return Err(bad("linux.seccomp.architectures", "names such as SCMP_ARCH_X86_64"));
        }
    }
    let mut flags = 0;
    for f in v.get("flags").map(|a| a.items()).into_iter().flatten() {
        flags |= f.decoded(&mut [0; 48]).and_then(|f| lookup(&FLAGS, b"SECCOMP_FILTER_FLAG_", f)).ok_or_else(|| bad("linux.seccomp.flags", "an unknown flag"))?;
    }

    // Every rule, counted first (a known name per entry, times its arguments when they
    // split) so that no profile costs more than MAX_RULES of memory or work.
    let entries = v.get("syscalls");
    // The rules an entry makes per name: one, or one per argument when two name the same
    // argument (a bit per index, 0 to 5 as the schema took them).
    let splits = |e: Value| {
        let (mut seen, mut n, mut split) = (0u8, 0usize, false);
        for a in e.get("args").iter().flat_map(|a| a.items()) {
            let bit = 1u8 << a.get("index").and_then(|i| i.as_u64()).unwrap_or(0).min(7);
            split |= seen & bit != 0;
            seen |= bit;
            n += 1;
        }
        if split { n } else { 1 }
    };
    let mut room = 0usize;
    for e in entries.iter().flat_map(|s| s.items()) {
        let known = e.get("names").iter().flat_map(|n| n.items()).filter(|n| syscall(*n).is_some()).count();
        room = room.saturating_add(known.saturating_mul(splits(e)));
        if room > MAX_RULES {
            return Err(bad("linux.seccomp.syscalls", "more than 4096 rules (syscalls times split arguments): more than a filter holds"));
        }
    }
    let rules = arena.slice::<Rule>(room).ok_or_else(too_large)?;
    let mut count = 0;
    for e in entries.iter().flat_map(|s| s.items()) {
        let what = bytes(arena, e.get("action").ok_or_else(|| bad("linux.seccomp.syscalls[].action", "missing"))?, "linux.seccomp.syscalls[].action")?;
        let act = action(what, number(e.get("errnoRet"), "linux.seccomp.syscalls[].errnoRet")?, "linux.seccomp.syscalls[].action")?;
        let list = e.get("args");
        let n = list.map_or(0, |a| a.items().count());
        let args = arena.slice::<ArgCheck>(n).ok_or_else(too_large)?;
        for (i, a) in list.iter().flat_map(|a| a.items()).enumerate() {
            let field = "linux.seccomp.syscalls[].args";
            let index = number(a.get("index"), field)?.filter(|&i| i < 6).ok_or_else(|| bad(field, "index is 0 to 5"))?;
            let op = a.get("op").and_then(|o| o.decoded(&mut [0; 32]).and_then(|o| lookup(&COMPARISONS, b"SCMP_CMP_", o))).ok_or_else(|| bad(field, "op is SCMP_CMP_EQ, _NE, _LT, _LE, _GE, _GT or _MASKED_EQ"))?;
            let value = number(a.get("value"), field)?.unwrap_or(0);
            let value_two = number(a.get("valueTwo"), field)?.unwrap_or(0);
            args[i] = ArgCheck { index: index as u8, op, value, value_two };
        }
        let args: &'static [ArgCheck] = args;
        let split = splits(e) > 1;
        let names = e.get("names").ok_or_else(|| bad("linux.seccomp.syscalls[].names", "missing"))?;
        for name in names.items() {
            // As runc (libseccomp): a name this architecture does not have is skipped.
            let Some(nr) = syscall(name) else { continue };
            if split {
                for a in args.chunks(1) {
                    rules[count] = Rule { nr: nr as u16, action: act, args: a };
                    count += 1;
                }
            } else {
                rules[count] = Rule { nr: nr as u16, action: act, args };
                count += 1;
            }
        }
    }
    let rules = by_number(&rules[..count], arena)?;
    let out = arena.slice::<Option<Profile<'static>>>(1).ok_or_else(too_large)?;
    out[0] = Some(Profile { default, beyond: None, flags, rules });
    out[0].as_ref().ok_or_else(too_large)
}

/// The number of the syscall a profile names (decoded: `"p\u0074race"` is ptrace).
fn syscall(name: Value) -> Option<u32> {
    seccomp::names::number(name.decoded(&mut [0; 64])?)
}

/// At most this many rules: the kernel's filter holds 4096 instructions, and each rule that
/// decides anything is at least one.
pub const MAX_RULES: usize = 4096;

/// The rules by syscall number, keeping the config's order within one syscall (its first
/// rule that holds wins): a counting sort, linear in the rules.
fn by_number(rules: &[Rule], arena: &mut Arena) -> Result<&'static [Rule]> {
    const NUMBERS: usize = 1024;
    let mut next = [0u16; NUMBERS + 1];
    for r in rules {
        let slot = next.get_mut(r.nr as usize + 1).ok_or_else(|| bad("linux.seccomp.syscalls", "a syscall number past 1023"))?;
        *slot += 1;
    }
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    let out = arena.slice::<Rule>(rules.len()).ok_or_else(too_large)?;
    for r in rules {
        let at = &mut next[r.nr as usize];
        out[*at as usize] = *r;
        *at += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn read(profile: &str) -> core::result::Result<&'static Profile<'static>, String> {
        let mut arena = Arena::new().unwrap();
        let doc = crate::config::tests::leak(profile.as_bytes());
        let v = parse(doc).unwrap();
        profile_checked(v, &mut arena)
    }

    fn profile_checked(v: Value<'static>, arena: &mut Arena) -> core::result::Result<&'static Profile<'static>, String> {
        profile(v, arena).map_err(|e| String::from_utf8_lossy(e.line().as_bytes()).into_owned())
    }

    fn numbers(p: &Profile) -> Vec<u16> {
        p.rules.iter().map(|r| r.nr).collect()
    }

    #[test]
    fn names_are_matched_exactly_and_decoded() {
        // Before: these two, which no kernel has, were read as perf_event_open and finit_module.
        let p = read(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "lsm_future_anojwul", "lsm_future_aleuuln", "socketcall"], "action": "SCMP_ACT_ALLOW"}]}"#).unwrap();
        assert_eq!(numbers(p), [0]);
        // Escaped as Go decodes it: ptrace (101).
        let p = read(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["p\u0074race"], "action": "SCMP_ACT_ERRNO"}]}"#).unwrap();
        assert_eq!(numbers(p), [101]);
    }

    #[test]
    fn rules_sort_by_number_keeping_their_order() {
        let p = read(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["write", "read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
                {"names": ["read"], "action": "SCMP_ACT_LOG"}]}"#,
        )
        .unwrap();
        assert_eq!(numbers(p), [0, 0, 0, 1, 1]);
        let actions: Vec<(u16, u32, u64)> = p.rules.iter().map(|r| (r.nr, r.action, r.args.first().map_or(0, |a| a.value))).collect();
        assert_eq!(actions[..3], [(0, seccomp::RET_ALLOW, 1), (0, seccomp::RET_ALLOW, 2), (0, seccomp::RET_LOG, 0)]);
    }

    #[test]
    fn work_is_bounded_for_any_profile() {
        // 383 names times 400 split arguments: 153,200 rules (before: 35 s of sorting).
        let names: Vec<String> = (0..383).map(|nr| format!("\"{}\"", linker::sys::Sysno::new(nr).map_or("read", |s| s.name()))).collect();
        let args: Vec<String> = (0..400).map(|v| format!(r#"{{"index": 0, "value": {v}, "op": "SCMP_CMP_EQ"}}"#)).collect();
        let doc = format!(r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{{"names": [{}], "action": "SCMP_ACT_ERRNO", "args": [{}]}}]}}"#, names.join(","), args.join(","));
        let start = std::time::Instant::now();
        let e = read(&doc).unwrap_err();
        assert!(e.contains("linux.seccomp.syscalls (more than 4096 rules"), "{e}");
        assert!(start.elapsed() < std::time::Duration::from_millis(500), "{:?}", start.elapsed());
        // At the limit, it is read (and sorted) in well under that.
        let doc = format!(r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{{"names": [{}], "action": "SCMP_ACT_ERRNO", "args": [{}]}}]}}"#, names[..10].join(","), args.join(","));
        let start = std::time::Instant::now();
        assert_eq!(read(&doc).unwrap().rules.len(), 4000);
        assert!(start.elapsed() < std::time::Duration::from_millis(500), "{:?}", start.elapsed());
    }
}
