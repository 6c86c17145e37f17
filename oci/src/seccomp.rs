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
const ACTIONS: [(&str, u32); 8] = [
    ("KILL", seccomp::RET_KILL_THREAD),
    ("KILL_THREAD", seccomp::RET_KILL_THREAD),
    ("KILL_PROCESS", seccomp::RET_KILL_PROCESS),
    ("TRAP", seccomp::RET_TRAP),
    ("ERRNO", seccomp::RET_ERRNO),
    ("TRACE", seccomp::RET_TRACE),
    ("LOG", seccomp::RET_LOG),
    ("ALLOW", seccomp::RET_ALLOW),
];
const COMPARISONS: [(&str, Cmp); 7] =
    [("NE", Cmp::Ne), ("LT", Cmp::Lt), ("LE", Cmp::Le), ("EQ", Cmp::Eq), ("GE", Cmp::Ge), ("GT", Cmp::Gt), ("MASKED_EQ", Cmp::MaskedEq)];
const FLAGS: [(&str, u32); 3] =
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
    let data = if ret == seccomp::RET_ERRNO || ret == seccomp::RET_TRACE { errno.unwrap_or(EPERM).min(0xffff) as u32 } else { 0 };
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
        if !arch.raw_str().is_some_and(|a| a.starts_with(b"SCMP_ARCH_")) {
            return Err(bad("linux.seccomp.architectures", "names such as SCMP_ARCH_X86_64"));
        }
    }
    let mut flags = 0;
    for f in v.get("flags").map(|a| a.items()).into_iter().flatten() {
        flags |= f.raw_str().and_then(|f| lookup(&FLAGS, b"SECCOMP_FILTER_FLAG_", f)).ok_or_else(|| bad("linux.seccomp.flags", "an unknown flag"))?;
    }

    // Room for every rule: a name per entry, times its arguments when they split.
    let entries = v.get("syscalls");
    let mut room = 0usize;
    for e in entries.iter().flat_map(|s| s.items()) {
        let names = e.get("names").map_or(0, |n| n.items().count());
        let args = e.get("args").map_or(0, |a| a.items().count());
        room = room.saturating_add(names.saturating_mul(args.max(1)));
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
            let op = a.get("op").and_then(|o| o.raw_str()).and_then(|o| lookup(&COMPARISONS, b"SCMP_CMP_", o)).ok_or_else(|| bad(field, "op is SCMP_CMP_EQ, _NE, _LT, _LE, _GE, _GT or _MASKED_EQ"))?;
            let value = number(a.get("value"), field)?.unwrap_or(0);
            let value_two = number(a.get("valueTwo"), field)?.unwrap_or(0);
            args[i] = ArgCheck { index: index as u8, op, value, value_two };
        }
        let args: &'static [ArgCheck] = args;
        let split = args.iter().enumerate().any(|(i, a)| args[..i].iter().any(|b| b.index == a.index));
        let names = e.get("names").ok_or_else(|| bad("linux.seccomp.syscalls[].names", "missing"))?;
        for name in names.items() {
            let name = name.raw_str().ok_or_else(|| bad("linux.seccomp.syscalls[].names", "expected strings"))?;
            let Some(nr) = seccomp::names::number(name) else { continue };
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
    let rules = &mut rules[..count];
    // By number, keeping the config's order within one syscall (its first rule that holds wins).
    for i in 1..rules.len() {
        let mut j = i;
        while j > 0 && rules[j - 1].nr > rules[j].nr {
            rules.swap(j - 1, j);
            j -= 1;
        }
    }
    let out = arena.slice::<Option<Profile<'static>>>(1).ok_or_else(too_large)?;
    out[0] = Some(Profile { default, beyond: None, flags, rules });
    out[0].as_ref().ok_or_else(too_large)
}
