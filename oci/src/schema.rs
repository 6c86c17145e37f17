//! The shape of an OCI config: each object's members and each member's one JSON type, as the
//! runtime spec's Go structs declare them (runc decodes config.json into those). [`check`]
//! walks a document against it before anything is read, and refuses in one line naming the
//! member:
//!
//! - a member the spec does not have (Go ignores it; knocker never ignores a member);
//! - a member spelled in another case (`"NoNewPrivileges"`, or with U+017F for `s`): Go
//!   would take it for the field, knocker refuses it as ambiguous and names the field;
//! - a member given twice in one object, names compared decoded (Go takes the last);
//! - a value of another type (`"readonly": "true"`, a string for `syscalls[].names`, an
//!   object for `mounts`), an integer outside its Go type or knocker's range (`1.0`, `1e3`,
//!   `-1` for a uint32, `4294967296`), `null` as an element of an array (Go would read the
//!   element's zero value);
//! - a member knocker does not apply given anything but its zero value (`false`, `0`, `""`,
//!   `[]`, `{}`; some, whose zero means something to runc, not even that).
//!
//! `null` as a member's value is as good as absent, as Go leaves the field at its zero value.
//! After the check, each [`Value::get`] of the readers finds what Go would find.

use crate::json::{Kind, Value};
use launcher::error::{Error, Result};

pub enum Ty {
    Bool,
    Str,
    /// An integer (see [`Int`]).
    Int(&'static Int),
    List(&'static Ty),
    Obj(&'static [(&'static str, Ty)]),
    /// A `map[string]…`: any names, each once, at most [`MAX_MAP`].
    Map(&'static Ty),
    /// Anything (only the zero check of [`Ty::Zero`] looks at it).
    Any,
    /// A member knocker does not apply: accepted at its zero value only; the reason.
    Zero(&'static (Ty, &'static str)),
    /// A member knocker does not apply and whose every value means something: refused.
    Never(&'static str),
}

/// An integer from `.0` to `.1`, described by `.2` (Go's integer kinds, or knocker's
/// narrower range where it has one). Behind a reference, as the tables are most of the schema's
/// size.
pub struct Int(i64, u64, &'static str);

/// Members of one map (`annotations`, `sysctl`): duplicates are looked for pairwise.
pub const MAX_MAP: usize = 1024;

pub const U16: Ty = Ty::Int(&Int(0, 0xffff, "expected an integer from 0 to 65535"));
pub const U32: Ty = Ty::Int(&Int(0, u32::MAX as u64, "expected an integer from 0 to 4294967295"));
pub const U64: Ty = Ty::Int(&Int(0, u64::MAX, "expected an integer from 0 to 18446744073709551615"));
pub const I64: Ty = Ty::Int(&Int(i64::MIN, i64::MAX as u64, "expected an integer that fits 64 bits"));
/// uid and gid: uint32 in Go, without -1 (4294967295), which is no id.
const ID: Ty = Ty::Int(&Int(0, u32::MAX as u64 - 1, "expected an id from 0 to 4294967294"));
/// libseccomp keeps 16 bits of an errno (runc casts it to int16).
const ERRNO: Ty = Ty::Int(&Int(0, 0xffff, "expected an errno from 0 to 65535"));
const STRINGS: Ty = Ty::List(&Ty::Str);

const ROOT: Ty = Ty::Obj(&[("path", Ty::Str), ("readonly", Ty::Bool)]);
const USER: Ty = Ty::Obj(&[
    ("uid", ID),
    ("gid", ID),
    ("umask", Ty::Int(&Int(0, 0o777, "expected a umask from 0 to 511 (0777)"))),
    ("additionalGids", Ty::List(&ID)),
    ("username", Ty::Zero(&(Ty::Str, "a Windows field"))),
]);
const CAPABILITIES: Ty =
    Ty::Obj(&[("bounding", STRINGS), ("effective", STRINGS), ("inheritable", STRINGS), ("permitted", STRINGS), ("ambient", STRINGS)]);
const RLIMIT: Ty = Ty::Obj(&[("type", Ty::Str), ("hard", U64), ("soft", U64)]);
pub const PROCESS: Ty = Ty::Obj(&[
    ("terminal", Ty::Bool),
    ("consoleSize", Ty::Obj(&[("height", U16), ("width", U16)])),
    ("user", USER),
    ("args", STRINGS),
    ("commandLine", Ty::Zero(&(Ty::Str, "a Windows field"))),
    ("env", STRINGS),
    ("cwd", Ty::Str),
    ("capabilities", CAPABILITIES),
    ("rlimits", Ty::List(&RLIMIT)),
    ("noNewPrivileges", Ty::Bool),
    ("apparmorProfile", Ty::Str),
    ("oomScoreAdj", Ty::Int(&Int(-1000, 1000, "expected an integer from -1000 to 1000"))),
    ("scheduler", Ty::Zero(&(Ty::Any, "scheduling policies are not supported"))),
    ("selinuxLabel", Ty::Str),
    ("ioPriority", Ty::Zero(&(Ty::Any, "I/O priorities are not supported"))),
    ("execCPUAffinity", Ty::Zero(&(Ty::Any, "CPU affinity is not supported"))),
]);
const ID_MAPPING: Ty = Ty::Obj(&[("containerID", U32), ("hostID", U32), ("size", U32)]);
const MOUNT: Ty = Ty::Obj(&[
    ("destination", Ty::Str),
    ("type", Ty::Str),
    ("source", Ty::Str),
    ("options", STRINGS),
    ("uidMappings", Ty::Zero(&(Ty::Any, "idmapped mounts are not supported"))),
    ("gidMappings", Ty::Zero(&(Ty::Any, "idmapped mounts are not supported"))),
]);
const HOOK: Ty = Ty::List(&Ty::Obj(&[
    ("path", Ty::Str),
    ("args", STRINGS),
    ("env", STRINGS),
    ("timeout", Ty::Int(&Int(1, i64::MAX as u64, "expected a positive number of seconds"))),
]));
const HOOKS: Ty = Ty::Obj(&[
    ("prestart", HOOK),
    ("createRuntime", HOOK),
    ("createContainer", HOOK),
    ("startContainer", HOOK),
    ("poststart", HOOK),
    ("poststop", HOOK),
]);
const DEVICE: Ty = Ty::Obj(&[
    ("path", Ty::Str),
    ("type", Ty::Str),
    ("major", I64),
    ("minor", I64),
    ("fileMode", U32),
    ("uid", U32),
    ("gid", U32),
]);
const DEVICE_RULE: Ty = Ty::Obj(&[("allow", Ty::Bool), ("type", Ty::Str), ("major", I64), ("minor", I64), ("access", Ty::Str)]);
const MEMORY: Ty = Ty::Obj(&[
    ("limit", I64),
    ("reservation", I64),
    ("swap", I64),
    // Read to be warned about: Linux 5.16 dropped kernel memory limits, runc ignores them.
    ("kernel", I64),
    ("kernelTCP", I64),
    ("swappiness", U64),
    ("disableOOMKiller", Ty::Bool),
    ("useHierarchy", Ty::Zero(&(Ty::Bool, "memory.use_hierarchy is not supported"))),
    ("checkBeforeUpdate", Ty::Zero(&(Ty::Bool, "checkBeforeUpdate is not supported"))),
]);
const CPU: Ty = Ty::Obj(&[
    ("shares", U64),
    ("quota", I64),
    ("burst", Ty::Zero(&(U64, "CPU burst is not supported"))),
    ("period", U64),
    ("realtimeRuntime", I64),
    ("realtimePeriod", U64),
    ("cpus", Ty::Str),
    ("mems", Ty::Str),
    ("idle", Ty::Zero(&(I64, "cpu.idle is not supported"))),
]);
/// A block I/O weight: 10 to 1000 (0: unset, as runc reads it).
const WEIGHT: Ty = Ty::Int(&Int(0, 1000, "expected a weight from 10 to 1000"));
const THROTTLE: Ty = Ty::List(&Ty::Obj(&[("major", I64), ("minor", I64), ("rate", U64)]));
pub const RESOURCES: Ty = Ty::Obj(&[
    ("devices", Ty::List(&DEVICE_RULE)),
    ("memory", MEMORY),
    ("cpu", CPU),
    ("pids", Ty::Obj(&[("limit", I64)])),
    (
        "blockIO",
        Ty::Obj(&[
            ("weight", WEIGHT),
            ("leafWeight", Ty::Zero(&(WEIGHT, "leaf weights are gone from the kernel (CFQ, before 5.0)"))),
            ("weightDevice", Ty::List(&Ty::Obj(&[("major", I64), ("minor", I64), ("weight", WEIGHT), ("leafWeight", Ty::Zero(&(WEIGHT, "leaf weights are gone from the kernel (CFQ, before 5.0)")))]))),
            ("throttleReadBpsDevice", THROTTLE),
            ("throttleWriteBpsDevice", THROTTLE),
            ("throttleReadIOPSDevice", THROTTLE),
            ("throttleWriteIOPSDevice", THROTTLE),
        ]),
    ),
    ("hugepageLimits", Ty::List(&Ty::Obj(&[("pageSize", Ty::Str), ("limit", U64)]))),
    ("network", Ty::Zero(&(Ty::Any, "net_cls and net_prio are not supported"))),
    ("rdma", Ty::Zero(&(Ty::Any, "rdma limits are not supported"))),
    ("unified", Ty::Map(&Ty::Str)),
]);
pub const SECCOMP: Ty = Ty::Obj(&[
    ("defaultAction", Ty::Str),
    ("defaultErrnoRet", ERRNO),
    ("architectures", STRINGS),
    ("flags", STRINGS),
    ("listenerPath", Ty::Zero(&(Ty::Str, "seccomp agents are not supported"))),
    ("listenerMetadata", Ty::Zero(&(Ty::Str, "seccomp agents are not supported"))),
    (
        "syscalls",
        Ty::List(&Ty::Obj(&[
            ("names", STRINGS),
            ("action", Ty::Str),
            ("errnoRet", ERRNO),
            (
                "args",
                Ty::List(&Ty::Obj(&[
                    ("index", Ty::Int(&Int(0, 5, "index is 0 to 5"))),
                    ("value", U64),
                    ("valueTwo", U64),
                    ("op", Ty::Str),
                ])),
            ),
        ])),
    ),
]);
const LINUX: Ty = Ty::Obj(&[
    ("uidMappings", Ty::List(&ID_MAPPING)),
    ("gidMappings", Ty::List(&ID_MAPPING)),
    ("sysctl", Ty::Map(&Ty::Str)),
    ("resources", RESOURCES),
    ("cgroupsPath", Ty::Str),
    ("namespaces", Ty::List(&Ty::Obj(&[("type", Ty::Str), ("path", Ty::Str)]))),
    ("devices", Ty::List(&DEVICE)),
    ("netDevices", Ty::Zero(&(Ty::Any, "moving network devices in is not supported"))),
    ("seccomp", SECCOMP),
    ("rootfsPropagation", Ty::Str),
    ("maskedPaths", STRINGS),
    ("readonlyPaths", STRINGS),
    ("mountLabel", Ty::Str),
    ("intelRdt", Ty::Zero(&(Ty::Any, "Intel RDT (resctrl) is not supported"))),
    ("memoryPolicy", Ty::Zero(&(Ty::Any, "memory policies are not supported"))),
    ("personality", Ty::Obj(&[("domain", Ty::Str), ("flags", STRINGS)])),
    ("timeOffsets", Ty::Zero(&(Ty::Any, "time namespaces are not supported"))),
]);
pub const CONFIG: Ty = Ty::Obj(&[
    ("ociVersion", Ty::Str),
    ("process", PROCESS),
    ("root", ROOT),
    ("hostname", Ty::Str),
    ("domainname", Ty::Zero(&(Ty::Str, "setting the NIS domain name is not supported"))),
    ("mounts", Ty::List(&MOUNT)),
    ("hooks", HOOKS),
    ("annotations", Ty::Map(&Ty::Str)),
    ("linux", LINUX),
    ("solaris", Ty::Zero(&(Ty::Any, "not a Linux container's field"))),
    ("windows", Ty::Zero(&(Ty::Any, "not a Linux container's field"))),
    ("vm", Ty::Zero(&(Ty::Any, "virtual-machine containers are not supported"))),
    ("zos", Ty::Zero(&(Ty::Any, "not a Linux container's field"))),
    ("freebsd", Ty::Zero(&(Ty::Any, "not a Linux container's field"))),
]);

/// Where a value sits: its member name or index, and the value it is in.
#[derive(Clone, Copy)]
enum Step<'p> {
    Name(&'p [u8]),
    Index(usize),
}

struct At<'p> {
    up: Option<&'p At<'p>>,
    step: Step<'p>,
}

/// Checks `v` against `ty`; `doc` names the document in messages (`config.json:`) and
/// `path` the place of `v` in it (`process`, or "" for the whole document).
pub fn check(doc: &'static str, path: &'static str, v: Value, ty: &Ty) -> Result<()> {
    let at = At { up: None, step: Step::Name(path.as_bytes()) };
    walk(doc, v, ty, &at)
}

/// `process.user.additionalGids[2]`, from the innermost step out.
fn render(at: &At) -> linker::Text<256> {
    let mut steps = [Step::Index(0); 16];
    let (mut n, mut cur) = (0, Some(at));
    while let Some(a) = cur {
        if n < steps.len() {
            steps[n] = a.step;
            n += 1;
        }
        cur = a.up;
    }
    let mut t = linker::Text::new();
    for step in steps[..n].iter().rev() {
        match *step {
            Step::Name(b"") => {}
            Step::Name(name) => {
                if !t.is_empty() {
                    t.push(".");
                }
                t.bytes(name);
            }
            Step::Index(i) => {
                t.push("[").push(i as u64).push("]");
            }
        }
    }
    if t.is_empty() {
        t.push("(the document)");
    }
    t
}

#[cold]
#[inline(never)]
fn refuse(doc: &'static str, at: &At, why: &'static str) -> Error {
    Error::new(doc).on(&render(at)).hint(why)
}

/// Whether `v` is the zero value of its Go type, as an unset field is: an object whose
/// members are all zero too (Docker's `"blockIO": {"weight": 0}` asks nothing, as runc reads
/// it).
fn is_zero(v: Value) -> bool {
    match v.kind() {
        Kind::Object => v.members().all(|(_, m)| is_zero(m)),
        Kind::Array => v.items().next().is_none(),
        Kind::String => v.raw_str() == Some(b""),
        Kind::Number => v.as_i64() == Some(0),
        Kind::Bool => v.as_bool() == Some(false),
        Kind::Null => true,
    }
}

fn walk(doc: &'static str, v: Value, ty: &Ty, at: &At) -> Result<()> {
    let kind = v.kind();
    let want = |k: Kind, what| if kind == k { Ok(()) } else { Err(refuse(doc, at, what)) };
    match *ty {
        Ty::Bool => want(Kind::Bool, "expected true or false"),
        Ty::Str => want(Kind::String, "expected a string"),
        Ty::Int(&Int(min, max, what)) => {
            let fits = match v.src.first() {
                Some(b'-') => v.as_i64().is_some_and(|n| n >= min),
                _ => v.as_u64().is_some_and(|n| n <= max),
            };
            if kind == Kind::Number && fits { Ok(()) } else { Err(refuse(doc, at, what)) }
        }
        Ty::Any => Ok(()),
        Ty::Zero((inner, why)) => {
            walk(doc, v, inner, at)?;
            if is_zero(v) { Ok(()) } else { Err(refuse(doc, at, why)) }
        }
        Ty::Never(why) => Err(refuse(doc, at, why)),
        Ty::List(elem) => {
            want(Kind::Array, "expected an array")?;
            for (i, e) in v.items().enumerate() {
                let here = At { up: Some(at), step: Step::Index(i) };
                if e.kind() == Kind::Null {
                    return Err(refuse(doc, &here, "null in an array (Go would read a zero value)"));
                }
                walk(doc, e, elem, &here)?;
            }
            Ok(())
        }
        Ty::Map(elem) => {
            want(Kind::Object, "expected an object")?;
            for (i, (name, value)) in v.members().enumerate() {
                let raw = name.raw_str().unwrap_or(b"");
                let here = At { up: Some(at), step: Step::Name(raw) };
                if i >= MAX_MAP {
                    return Err(refuse(doc, at, "more than 1024 members"));
                }
                if v.members().take(i).any(|(earlier, _)| same_name(earlier, name)) {
                    return Err(refuse(doc, &here, "given twice (Go would take the last)"));
                }
                if value.kind() != Kind::Null {
                    walk(doc, value, elem, &here)?;
                }
            }
            Ok(())
        }
        Ty::Obj(fields) => {
            want(Kind::Object, "expected an object")?;
            let mut seen = 0u64;
            for (name, value) in v.members() {
                let raw = name.raw_str().unwrap_or(b"");
                let here = At { up: Some(at), step: Step::Name(raw) };
                let Some(i) = fields.iter().position(|(f, _)| name.is(f.as_bytes())) else {
                    let mut decoded = [0u8; 64];
                    let spelled = name.decode_str(&mut decoded).map_or(&b""[..], |n| &decoded[..n]);
                    // A member the spec does not have is ignored, as the spec says (extensions,
                    // later versions); one Go would read as a known field is not.
                    if let Some((f, _)) = fields.iter().find(|(f, _)| crate::json::folds_to(spelled, f)) {
                        return Err(refuse(doc, &here, "Go would read it as that field; knocker reads names as spelled").on(": not spelled as").on(" ").on(*f));
                    }
                    continue;
                };
                let (field, ty) = &fields[i];
                if seen & (1 << i) != 0 {
                    let here = At { up: Some(at), step: Step::Name(field.as_bytes()) };
                    return Err(refuse(doc, &here, "given twice (Go would take the last)"));
                }
                seen |= 1 << i;
                if value.kind() != Kind::Null {
                    walk(doc, value, ty, &At { up: Some(at), step: Step::Name(field.as_bytes()) })?;
                }
            }
            Ok(())
        }
    }
}

/// Two member names, compared decoded.
fn same_name(a: Value, b: Value) -> bool {
    match (a.raw_str(), b.raw_str()) {
        (Some(x), Some(y)) if !x.contains(&b'\\') && !y.contains(&b'\\') => x == y,
        _ => {
            let (la, lb) = (a.decoded_len(), b.decoded_len());
            if la != lb {
                return false;
            }
            // Names longer than this are compared raw: equal raw text decodes equal, and
            // configs have no such names with escapes.
            let (mut x, mut y) = ([0u8; 256], [0u8; 256]);
            match (a.decode_str(&mut x), b.decode_str(&mut y)) {
                (Some(n), Some(m)) => x[..n] == y[..m],
                _ => a.src == b.src,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn line(doc: &str) -> String {
        let v = parse(doc.as_bytes()).unwrap();
        match check("config.json:", "", v, &CONFIG) {
            Ok(()) => "ok".into(),
            Err(e) => String::from_utf8_lossy(e.line().as_bytes()).into_owned(),
        }
    }

    #[test]
    fn members_are_known_once_and_spelled_exactly() {
        assert_eq!(line(r#"{"process": {"user": {"uid": 1000}}}"#), "ok");
        // Escapes decode before the names are compared: this is `uid`.
        assert_eq!(line(r#"{"process": {"user": {"ui\u0064": 1000}}}"#), "ok");
        assert_eq!(
            line(r#"{"process": {"user": {"uid": 1000, "ui\u0064": 0}}}"#),
            "launcher: config.json: process.user.uid (given twice (Go would take the last))"
        );
        assert_eq!(
            line(r#"{"process": {"NoNewPrivileges": true}}"#),
            "launcher: config.json: process.NoNewPrivileges: not spelled as noNewPrivileges (Go would read it as that field; knocker reads names as spelled)"
        );
        assert!(line("{\"linux\": {\"\u{17f}eccomp\": {}}}").contains("not spelled as seccomp"));
        // A member the spec does not have is ignored, as the spec says.
        assert_eq!(line(r#"{"linux": {"resources": {"cpu_": {}}}, "unknown": "x"}"#), "ok");
        assert!(line(r#"{"annotations": {"a": "1", "\u0061": "2"}}"#).contains("annotations.\\u0061 (given twice"));
        assert_eq!(line(r#"{"annotations": {"a": "1", "A": "2"}}"#), "ok", "map keys are exact, as in Go");
    }

    #[test]
    fn every_member_has_one_type() {
        assert!(line(r#"{"root": {"readonly": "true"}}"#).contains("root.readonly (expected true or false)"));
        assert!(line(r#"{"mounts": {"destination": "/x"}}"#).contains("mounts (expected an array)"));
        assert!(line(r#"{"process": {"user": {"additionalGids": 0}}}"#).contains("additionalGids (expected an array)"));
        assert!(line(r#"{"linux": {"seccomp": {"syscalls": [{"names": "ptrace"}]}}}"#).contains("syscalls[0].names (expected an array)"));
        assert!(line(r#"{"process": {"user": {"uid": 1.0}}}"#).contains("process.user.uid (expected an id"));
        assert!(line(r#"{"process": {"user": {"uid": 1e3}}}"#).contains("expected an id"));
        assert!(line(r#"{"process": {"user": {"uid": -1}}}"#).contains("expected an id"));
        assert!(line(r#"{"process": {"user": {"uid": 4294967295}}}"#).contains("expected an id"));
        assert_eq!(line(r#"{"process": {"user": {"uid": 4294967294}}}"#), "ok");
        assert!(line(r#"{"process": {"args": ["sh", null]}}"#).contains("process.args[1] (null in an array"));
        assert_eq!(line(r#"{"process": {"user": null, "args": null}}"#), "ok", "null is absent, as in Go");
        assert!(line(r#"{"annotations": {"a": 1}}"#).contains("annotations.a (expected a string)"));
    }

    #[test]
    fn what_knocker_does_not_apply_is_refused_unless_zero() {
        assert_eq!(line(r#"{"linux": {"resources": {"blockIO": {}, "hugepageLimits": [], "cpu": {"shares": 0}}}}"#), "ok");
        assert!(line(r#"{"linux": {"resources": {"blockIO": {"leafWeight": 10}}}}"#).contains("blockIO.leafWeight (leaf weights are gone"));
        assert_eq!(line(r#"{"linux": {"resources": {"memory": {"reservation": 1, "swappiness": 0}}}}"#), "ok");
        assert_eq!(line(r#"{"linux": {"resources": {"unified": {"memory.high": "50M"}}}}"#), "ok");
        assert!(line(r#"{"linux": {"resources": {"unified": {"memory.high": 5}}}}"#).contains("expected a string"));
        assert!(line(r#"{"domainname": "corp"}"#).contains("domainname"));
    }
}
