//! A bundle's `config.json` → the launcher's [`Spec`]: the same plan the launcher's command line
//! makes, so the container is built by the same code. What the container code cannot do yet
//! is refused with one line naming the field — never silently dropped.

use crate::arena::Arena;
use crate::json::{self, Kind, Value};
use launcher::error::{Error, Result};
use launcher::process_limits::{Rlimit, namespaced_sysctl, rlimit_number};
use launcher::seccomp::Seccomp;
use launcher::spec::{self, CapSets, Init, Mount, Spec, Tty};
use core::ffi::CStr;
use linker::sys::mount::{
    MS_BIND, MS_DIRSYNC, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME,
    MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE,
};

/// What the front end needs besides the Spec.
pub struct Config {
    pub spec: Spec,
    pub terminal: bool,
    /// `process.consoleSize`: rows, columns.
    pub console_size: Option<(u16, u16)>,
    /// The raw `annotations` object (or `{}`), for the state.
    pub annotations: &'static [u8],
    /// The `hooks` object, if any.
    pub hooks: Option<Value<'static>>,
    /// The `linux.seccomp` object as written, kept with the state for `exec`.
    pub seccomp: Option<&'static [u8]>,
    /// `linux.uidMappings`/`gidMappings` as /proc/PID/uid_map text ("inside host count" lines).
    pub id_maps: [&'static [u8]; 2],
}

pub(crate) fn bad(field: &'static str, what: &'static str) -> Error {
    Error::new("config.json:").on(field).hint(what)
}

/// A decoded string, NUL-terminated, in the arena.
pub(crate) fn string(arena: &mut Arena, v: Value<'static>, field: &'static str) -> Result<&'static CStr> {
    let raw = v.raw_str().ok_or_else(|| bad(field, "expected a string"))?;
    let buf = arena.bytes(raw.len() + 1, 1).ok_or_else(|| Error::new("config.json is too large"))?;
    let n = v.decode_str(buf).ok_or_else(|| bad(field, "a string with a NUL or a bad escape"))?;
    CStr::from_bytes_with_nul(&buf[..n + 1]).map_err(|_| bad(field, "a string with a NUL"))
}

pub(crate) fn bytes(arena: &mut Arena, v: Value<'static>, field: &'static str) -> Result<&'static [u8]> {
    string(arena, v, field).map(CStr::to_bytes)
}

fn expect(v: Option<Value<'static>>, kind: Kind, field: &'static str, what: &'static str) -> Result<Option<Value<'static>>> {
    match v {
        Some(v) if v.kind() == kind => Ok(Some(v)),
        Some(v) if v.kind() == Kind::Null => Ok(None),
        Some(_) => Err(bad(field, what)),
        None => Ok(None),
    }
}

/// Reads `doc` (config.json of the bundle at `bundle`, an absolute path) into a Spec for the
/// container `id`.
pub fn read(doc: &'static [u8], bundle: &'static [u8], id: &'static [u8], arena: &mut Arena) -> Result<Config> {
    let top = json::parse(doc).map_err(|e| {
        let mut line = linker::Text::<16>::new();
        line.push(json::line_of(doc, e.at));
        Error::new("config.json is not valid JSON: line").on(&line).hint(e.what)
    })?;
    if top.kind() != Kind::Object {
        return Err(bad("(the document)", "expected an object"));
    }

    // root: a path relative to the bundle, or absolute.
    let root = expect(top.get("root"), Kind::Object, "root", "expected an object")?.ok_or_else(|| bad("root", "missing"))?;
    let path = bytes(arena, root.get("path").ok_or_else(|| bad("root.path", "missing"))?, "root.path")?;
    let rootfs = if path.first() == Some(&b'/') {
        arena.cstr(path)
    } else {
        let mut joined = linker::Text::<4096>::new();
        joined.bytes(bundle).push("/").bytes(path);
        arena.cstr(joined.as_bytes())
    }
    .ok_or_else(|| Error::new("config.json is too large"))?;
    let mut s = Spec::new(rootfs);
    s.read_only = root.get("readonly").and_then(|v| v.as_bool()).unwrap_or(false);
    s.init = Init::None;
    s.name = Some(id);
    s.locked = false;
    s.limits.pids_by_default = false;
    s.seccomp = Seccomp::Unconfined;
    s.cgroup_view = false;
    let mut seccomp_src = None;
    let mut id_maps = [&b""[..]; 2];
    s.allow_new_privs = true;
    s.caps = 0;

    if let Some(h) = top.get("hostname") {
        let name = bytes(arena, h, "hostname")?;
        if !name.is_empty() {
            if !spec::valid_hostname(name) {
                return Err(bad("hostname", "letters, digits, '-' and '.', at most 64"));
            }
            s.hostname = name;
        }
    }

    let process = expect(top.get("process"), Kind::Object, "process", "expected an object")?.ok_or_else(|| bad("process", "missing"))?;
    let (terminal, console_size) = process_into(&mut s, process, arena)?;

    for m in top.get("mounts").map(|m| m.items()).into_iter().flatten() {
        mount(&mut s, m, arena)?;
    }

    if let Some(linux) = expect(top.get("linux"), Kind::Object, "linux", "expected an object")? {
        namespaces(&mut s, linux, arena)?;
        devices(&mut s, linux, arena)?;
        for (i, field) in ["uidMappings", "gidMappings"].into_iter().enumerate() {
            id_maps[i] = id_map(linux.get(field), arena)?;
        }
        if s.user_namespace && (id_maps[0].is_empty() || id_maps[1].is_empty()) {
            return Err(bad("linux.uidMappings", "a user namespace needs uidMappings and gidMappings"));
        }
        unsupported(&mut s, linux, arena)?;
        if let Some(r) = expect(linux.get("resources"), Kind::Object, "linux.resources", "expected an object")? {
            resources(&mut s, r)?;
        }
        for (name, value) in linux.get("sysctl").map(|v| v.members()).into_iter().flatten() {
            let name = arena.cstr(name).ok_or_else(|| Error::new("config.json is too large"))?.to_bytes();
            if !namespaced_sysctl(name, !s.host_network) {
                return Err(Error::new("config.json: linux.sysctl: not a sysctl of the container's own namespaces:").on(name));
            }
            let value = bytes(arena, value, "linux.sysctl")?;
            s.sysctls.push((name, value)).map_err(|_| bad("linux.sysctl", "more than 32 entries"))?;
        }
        s.masked_paths = paths(linux.get("maskedPaths"), "linux.maskedPaths", arena)?;
        s.readonly_paths = paths(linux.get("readonlyPaths"), "linux.readonlyPaths", arena)?;
        if let Some(path) = linux.get("cgroupsPath") {
            s.cgroup_path = Some(cgroup_path(bytes(arena, path, "linux.cgroupsPath")?, arena)?);
        }
        if let Some(profile) = expect(linux.get("seccomp"), Kind::Object, "linux.seccomp", "expected an object")? {
            s.seccomp = Seccomp::Profile(crate::seccomp::profile(profile, arena)?);
            seccomp_src = Some(profile.src);
        }
    }

    let annotations = top.get("annotations").filter(|a| a.kind() == Kind::Object).map_or(&b"{}"[..], |a| a.src);
    let hooks = top.get("hooks").filter(|h| h.kind() == Kind::Object);
    Ok(Config { spec: s, terminal, console_size, annotations, hooks, seccomp: seccomp_src, id_maps })
}

/// An OCI `process` object into `s` (config.json's, or `exec --process`'s): returns whether it
/// wants a terminal, and its size.
pub fn process_into(s: &mut Spec, process: Value<'static>, arena: &mut Arena) -> Result<(bool, Option<(u16, u16)>)> {
    let terminal = process.get("terminal").and_then(|v| v.as_bool()).unwrap_or(false);
    let console_size = process.get("consoleSize").and_then(|c| {
        let n = |k| c.get(k).and_then(|v| v.as_u64()).filter(|&n| n <= u16::MAX as u64).map(|n| n as u16);
        Some((n("height")?, n("width")?))
    });
    s.tty = if terminal { Tty::Always } else { Tty::Never };
    let args = expect(process.get("args"), Kind::Array, "process.args", "expected an array of strings")?
        .ok_or_else(|| bad("process.args", "missing"))?;
    let count = args.items().count();
    if count == 0 {
        return Err(bad("process.args", "empty: nothing to run"));
    }
    let argv = arena.pointers(count + 1).ok_or_else(|| Error::new("config.json is too large"))?;
    for (i, a) in args.items().enumerate() {
        argv[i] = string(arena, a, "process.args")?.as_ptr();
    }
    s.argv = Some(&argv[..count]);
    if let Some(env) = expect(process.get("env"), Kind::Array, "process.env", "expected an array of strings")? {
        for e in env.items() {
            let entry = string(arena, e, "process.env")?;
            if !spec::valid_env(entry.to_bytes()) {
                return Err(bad("process.env", "entries are KEY=VALUE"));
            }
            s.env.push(entry).map_err(|_| bad("process.env", "more than 64 entries"))?;
        }
    }
    if let Some(cwd) = process.get("cwd") {
        let dir = string(arena, cwd, "process.cwd")?;
        if dir.to_bytes().first() != Some(&b'/') {
            return Err(bad("process.cwd", "must be an absolute path"));
        }
        s.workdir = dir;
    }
    if let Some(user) = expect(process.get("user"), Kind::Object, "process.user", "expected an object")? {
        let id = |name: &'static str| -> Result<u32> {
            match user.get(name) {
                None => Ok(0),
                Some(v) => v.as_u64().filter(|&n| n < u32::MAX as u64).map(|n| n as u32).ok_or_else(|| bad("process.user", "uid and gid are numbers")),
            }
        };
        s.uid = id("uid")?;
        s.gid = id("gid")?;
        for g in user.get("additionalGids").map(|v| v.items()).into_iter().flatten() {
            let gid = g.as_u64().filter(|&n| n < u32::MAX as u64).ok_or_else(|| bad("process.user.additionalGids", "numbers"))?;
            s.groups.push(gid as u32).map_err(|_| bad("process.user.additionalGids", "more than 32 groups"))?;
        }
    }
    labels(s, process, arena)?;
    s.allow_new_privs = !process.get("noNewPrivileges").and_then(|v| v.as_bool()).unwrap_or(false);
    for r in process.get("rlimits").map(|r| r.items()).into_iter().flatten() {
        let kind = bytes(arena, r.get("type").ok_or_else(|| bad("process.rlimits[].type", "missing"))?, "process.rlimits[].type")?;
        let resource = rlimit_number(kind).ok_or_else(|| bad("process.rlimits[].type", "an unknown limit (RLIMIT_NOFILE, …)"))?;
        let n = |name| r.get(name).and_then(|v| v.as_u64()).ok_or_else(|| bad("process.rlimits[]", "soft and hard are numbers"));
        let limit = Rlimit { resource, soft: n("soft")?, hard: n("hard")? };
        s.rlimits.push(limit).map_err(|_| bad("process.rlimits", "more than 16 limits"))?;
    }
    if let Some(adj) = process.get("oomScoreAdj") {
        s.oom_score_adj = Some(adj.as_i64().filter(|n| (-1000..=1000).contains(n)).ok_or_else(|| bad("process.oomScoreAdj", "a number from -1000 to 1000"))? as i32);
    }
    if let Some(caps) = expect(process.get("capabilities"), Kind::Object, "process.capabilities", "expected an object")? {
        let mut set = |name: &'static str, field: &'static str| -> Result<u64> {
            let mut bits = 0;
            for c in caps.get(name).map(|v| v.items()).into_iter().flatten() {
                let name = bytes(arena, c, field)?;
                // As runc: a capability this build does not know (a newer kernel's) is skipped.
                bits |= spec::parse_cap(name).unwrap_or(0);
            }
            Ok(bits)
        };
        s.caps = set("bounding", "process.capabilities.bounding")?;
        s.cap_sets = Some(CapSets {
            effective: set("effective", "process.capabilities.effective")?,
            permitted: set("permitted", "process.capabilities.permitted")?,
            inheritable: set("inheritable", "process.capabilities.inheritable")?,
            ambient: set("ambient", "process.capabilities.ambient")?,
        });
    }

    Ok((terminal, console_size))
}

/// `maskedPaths`/`readonlyPaths`: absolute container paths; None when the config has no list.
fn paths(v: Option<Value<'static>>, field: &'static str, arena: &mut Arena) -> Result<Option<linker::List<&'static CStr, { spec::MAX_PROC_PATHS }>>> {
    let Some(list) = expect(v, Kind::Array, field, "expected an array of paths")? else { return Ok(None) };
    let mut out = linker::List::new();
    for p in list.items() {
        let path = string(arena, p, field)?;
        if path.to_bytes().first() != Some(&b'/') {
            return Err(bad(field, "paths must be absolute"));
        }
        out.push(path).map_err(|_| bad(field, "more than 32 paths"))?;
    }
    Ok(Some(out))
}

/// `linux.cgroupsPath` as a path under each hierarchy's root: `/libpod_parent/libpod-ID`
/// (cgroupfs style) as it is; systemd's `slice:prefix:name` as the directory systemd would
/// make, `slice/prefix-name.scope` (knocker writes cgroupfs paths itself). `..` is refused.
pub fn cgroup_path(path: &'static [u8], arena: &mut Arena) -> Result<&'static [u8]> {
    let mut t = linker::Text::<256>::new();
    let mut fields = path.splitn(3, |&c| c == b':');
    match (fields.next(), fields.next(), fields.next()) {
        (Some(slice), Some(prefix), Some(name)) if !path.starts_with(b"/") => {
            t.bytes(slice).push("/").bytes(prefix).push("-").bytes(name).push(".scope");
        }
        _ => {
            t.bytes(path.strip_prefix(b"/").unwrap_or(path));
        }
    }
    let g = t.as_bytes();
    if t.overflowed() || g.is_empty() || g.split(|&c| c == b'/').any(|p| p == b".." || p == b".") {
        return Err(bad("linux.cgroupsPath", "a path under the cgroup root, without . or .."));
    }
    arena.cstr(g).map(|c| c.to_bytes()).ok_or_else(|| Error::new("config.json is too large"))
}

/// Mount options as runc reads them: flags to set, flags to clear, or propagation. What is
/// not here is the file system's own (`size=64m`, `mode=755`, …) and goes to it as data.
const FLAGS: [(&str, u64); 22] = [
    ("ro", MS_RDONLY),
    ("nosuid", MS_NOSUID),
    ("nodev", MS_NODEV),
    ("noexec", MS_NOEXEC),
    ("sync", MS_SYNCHRONOUS),
    ("dirsync", MS_DIRSYNC),
    ("noatime", MS_NOATIME),
    ("nodiratime", MS_NODIRATIME),
    ("relatime", MS_RELATIME),
    ("strictatime", MS_STRICTATIME),
    ("rbind", MS_BIND | MS_REC),
    ("bind", MS_BIND),
    ("private", MS_PRIVATE),
    ("rprivate", MS_PRIVATE | MS_REC),
    ("shared", MS_SHARED),
    ("rshared", MS_SHARED | MS_REC),
    ("slave", MS_SLAVE),
    ("rslave", MS_SLAVE | MS_REC),
    ("unbindable", MS_UNBINDABLE),
    ("runbindable", MS_UNBINDABLE | MS_REC),
    // Their opposites clear nothing knocker sets, and a few are runc's or crun's own words.
    ("rw", 0),
    ("suid", 0),
];
const IGNORED: [&str; 10] = ["dev", "exec", "async", "atime", "diratime", "norelatime", "nostrictatime", "remount", "tmpcopyup", "nomand"];
const PROPAGATION: u64 = MS_PRIVATE | MS_SHARED | MS_SLAVE | MS_UNBINDABLE;

/// One entry of `mounts`. The system mounts (/proc, /dev and what is below it, /sys) are the
/// launcher's own, hardened ones; the rest become the launcher's mounts.
fn mount(s: &mut Spec, m: Value<'static>, arena: &mut Arena) -> Result<()> {
    let dst = bytes(arena, m.get("destination").ok_or_else(|| bad("mounts[].destination", "missing"))?, "mounts[].destination")?;
    let kind = match m.get("type") {
        Some(t) => bytes(arena, t, "mounts[].type")?,
        None => b"",
    };
    let cgroup = matches!(kind, b"cgroup" | b"cgroup2");
    if cgroup || dst == b"/sys/fs/cgroup" {
        // The container's own groups, read-only, in its cgroup namespace (as the launcher's).
        if dst != b"/sys/fs/cgroup" {
            return Err(bad("mounts[].destination", "cgroup file systems are mounted at /sys/fs/cgroup only"));
        }
        s.cgroup_view = true;
        return Ok(());
    }
    let system = matches!(dst, b"/proc" | b"/dev" | b"/dev/pts" | b"/dev/shm" | b"/sys");
    if system {
        return Ok(());
    }
    if dst.first() != Some(&b'/') {
        return Err(bad("mounts[].destination", "must be an absolute path"));
    }
    let (mut flags, mut data) = (0u64, linker::Text::<1024>::new());
    for o in m.get("options").map(|o| o.items()).into_iter().flatten() {
        let o = bytes(arena, o, "mounts[].options")?;
        if let Some(&(_, f)) = FLAGS.iter().find(|(n, _)| n.as_bytes() == o) {
            flags |= f;
        } else if !IGNORED.iter().any(|n| n.as_bytes() == o) {
            if !data.is_empty() {
                data.push(",");
            }
            data.bytes(o);
        }
    }
    if data.overflowed() {
        return Err(bad("mounts[].options", "too long"));
    }
    let source = match m.get("source") {
        Some(v) => string(arena, v, "mounts[].source")?,
        None => c"none",
    };
    let entry = if kind == b"bind" || flags & MS_BIND != 0 {
        let propagation = flags & (PROPAGATION | if flags & PROPAGATION != 0 { MS_REC } else { 0 });
        // A plain "bind" is not recursive; the propagation's own MS_REC says nothing about that.
        let recursive = if m.get("options").is_some_and(|o| o.items().any(|v| v.raw_str() == Some(b"rbind"))) { MS_REC } else { 0 };
        Mount::Bind { src: source.to_bytes(), dst, flags: recursive | (flags & (MS_RDONLY | MS_NOSUID | MS_NOEXEC)), propagation }
    } else if matches!(kind, b"proc" | b"devpts") {
        return Err(bad("mounts[].type", "proc and devpts are knocker's own, at /proc and /dev/pts only"));
    } else if kind.is_empty() {
        return Err(bad("mounts[].type", "missing (a file system type, or bind)"));
    } else {
        let fstype = arena.cstr(kind).ok_or_else(|| Error::new("config.json is too large"))?;
        let data = if data.is_empty() { None } else { Some(arena.cstr(data.as_bytes()).ok_or_else(|| Error::new("config.json is too large"))?) };
        // sysfs elsewhere is read-only, as knocker's own /sys.
        let forced = if kind == b"sysfs" { MS_RDONLY } else { 0 };
        Mount::Fs { fstype, source, dst, flags: (flags & !(PROPAGATION | MS_REC)) | forced, data }
    };
    s.mounts.push(entry).map_err(|_| bad("mounts", "more than 32 mounts"))
}

/// `linux.namespaces`: the launcher makes new UTS, PID, mount, IPC and cgroup namespaces, and
/// a network namespace unless the config has none (then the host's is shared).
fn namespaces(s: &mut Spec, linux: Value<'static>, arena: &mut Arena) -> Result<()> {
    let Some(list) = expect(linux.get("namespaces"), Kind::Array, "linux.namespaces", "expected an array")? else {
        s.host_network = true;
        return Ok(());
    };
    let mut network = false;
    let mut required = 0u8;
    for ns in list.items() {
        let kind = bytes(arena, ns.get("type").ok_or_else(|| bad("linux.namespaces[].type", "missing"))?, "linux.namespaces[].type")?;
        let path = match ns.get("path") {
            Some(p) if p.raw_str().is_some_and(|p| !p.is_empty()) => Some(string(arena, p, "linux.namespaces[].path")?),
            _ => None,
        };
        if path.is_some() && !matches!(kind, b"network" | b"ipc" | b"uts") {
            // (a user namespace by path too: podman and containerd make theirs by mappings)
            return Err(bad("linux.namespaces[].path", "only network, ipc and uts are joined by path"));
        }
        match kind {
            b"network" => {
                network = true;
                s.net_join = path;
            }
            // A pod's containers share its sandbox's (Kubernetes through containerd, podman pods).
            b"ipc" | b"uts" if path.is_some() => {
                required |= if kind == b"ipc" { 4 } else { 8 };
                s.ns_join[(kind == b"uts") as usize] = path;
            }
            b"pid" => required |= 1,
            b"mount" => required |= 2,
            b"ipc" => required |= 4,
            b"uts" => required |= 8,
            b"cgroup" => {}
            b"user" => s.user_namespace = true,
            b"time" => return Err(bad("linux.namespaces", "time namespaces are not supported")),
            _ => return Err(bad("linux.namespaces[].type", "an unknown namespace type")),
        }
    }
    if required != 15 {
        return Err(bad("linux.namespaces", "sharing the host's pid, mount, ipc or uts namespace is not supported"));
    }
    s.host_network = !network;
    Ok(())
}

/// `linux.uidMappings` (or gid) as the text /proc/PID/uid_map takes: one "containerID hostID
/// size" line each, at most 340 (the kernel's limit).
fn id_map(v: Option<Value<'static>>, arena: &mut Arena) -> Result<&'static [u8]> {
    let mut t = linker::Text::<8192>::new();
    for m in v.map(|v| v.items()).into_iter().flatten() {
        for field in ["containerID", "hostID", "size"] {
            let n = m.get(field).and_then(|n| n.as_u64()).filter(|&n| n <= u32::MAX as u64).ok_or_else(|| bad("linux.uidMappings", "containerID, hostID and size are numbers"))?;
            t.push(n).push(if field == "size" { "\n" } else { " " });
        }
    }
    if t.overflowed() {
        return Err(bad("linux.uidMappings", "too many mappings"));
    }
    arena.cstr(t.as_bytes()).map(|c| c.to_bytes()).ok_or_else(|| Error::new("config.json is too large"))
}

/// What some hosts or runtimes have and knocker does not: refused when asked for, accepted
/// when empty. `personality` is applied.
fn unsupported(s: &mut Spec, linux: Value<'static>, arena: &mut Arena) -> Result<()> {
    let given = |name| linux.get(name).filter(|v| !matches!(v.kind(), Kind::Null) && v.src != b"{}" && v.src != b"\"\"");
    if given("intelRdt").is_some() {
        return Err(bad("linux.intelRdt", "Intel RDT (resctrl) is not supported"));
    }
    if given("timeOffsets").is_some() {
        return Err(bad("linux.timeOffsets", "time namespaces are not supported"));
    }
    if given("mountLabel").is_some() && !selinux() {
        return Err(bad("linux.mountLabel", "the host has no SELinux: leave it empty"));
    }
    if let Some(p) = given("personality") {
        if p.get("flags").is_some_and(|f| f.items().next().is_some()) {
            return Err(bad("linux.personality.flags", "personality flags are not supported"));
        }
        s.personality = Some(match p.get("domain").and_then(|d| d.raw_str()) {
            Some(b"LINUX") => 0,
            Some(b"LINUX32") => 8,
            _ => return Err(bad("linux.personality.domain", "LINUX or LINUX32")),
        });
    }
    if let Some(p) = given("rootfsPropagation") {
        match bytes(arena, p, "linux.rootfsPropagation")? {
            // The container's mounts are private to it; a slave would only receive the host's.
            b"private" | b"rprivate" | b"slave" | b"rslave" => {}
            _ => return Err(bad("linux.rootfsPropagation", "only private, rprivate, slave and rslave are supported")),
        }
    }
    Ok(())
}

fn selinux() -> bool {
    linker::sys::fs::stat(c"/sys/fs/selinux/enforce").is_ok()
}

fn apparmor() -> bool {
    let mut buf = [0u8; 4];
    linker::sys::fs::read_file(c"/sys/module/apparmor/parameters/enabled", &mut buf).is_ok_and(|n| buf[..n].starts_with(b"Y"))
}

/// `process.apparmorProfile` and `process.selinuxLabel`: the label the program is executed
/// with, when the host has that LSM; asking for one the host lacks is refused.
fn labels(s: &mut Spec, process: Value<'static>, arena: &mut Arena) -> Result<()> {
    let text = |arena: &mut Arena, name, field| -> Result<Option<&'static [u8]>> {
        match process.get(name) {
            Some(v) if v.kind() != Kind::Null => bytes(arena, v, field).map(|b| Some(b).filter(|b| !b.is_empty())),
            _ => Ok(None),
        }
    };
    if let Some(profile) = text(arena, "apparmorProfile", "process.apparmorProfile")? {
        exec_label(s, "process.apparmorProfile", profile, arena)?;
    }
    if let Some(label) = text(arena, "selinuxLabel", "process.selinuxLabel")? {
        exec_label(s, "process.selinuxLabel", label, arena)?;
    }
    Ok(())
}

/// The label `field` (`process.apparmorProfile` or `process.selinuxLabel`; `exec --apparmor`
/// and `--process-label` give the same) for the program's exec; refused where the host lacks
/// that LSM.
pub fn exec_label(s: &mut Spec, field: &'static str, value: &'static [u8], arena: &mut Arena) -> Result<()> {
    if field == "process.apparmorProfile" {
        if !apparmor() {
            return Err(bad(field, "the host has no AppArmor: leave it empty"));
        }
        let mut t = linker::Text::<256>::new();
        t.push("exec ").bytes(value);
        if t.overflowed() {
            return Err(bad(field, "longer than 250 bytes"));
        }
        let label = arena.cstr(t.as_bytes()).ok_or_else(|| Error::new("config.json is too large"))?.to_bytes();
        s.exec_label = Some((c"/proc/thread-self/attr/apparmor/exec", label));
    } else {
        if !selinux() {
            return Err(bad(field, "the host has no SELinux: leave it empty"));
        }
        s.exec_label = Some((c"/proc/thread-self/attr/exec", value));
    }
    Ok(())
}

/// `linux.devices`: nodes made inside the container, each at its path with its type, numbers,
/// mode and owner. The container's standard nodes (null, zero, …) are knocker's already.
fn devices(s: &mut Spec, linux: Value<'static>, arena: &mut Arena) -> Result<()> {
    for d in linux.get("devices").map(|d| d.items()).into_iter().flatten() {
        let path = bytes(arena, d.get("path").ok_or_else(|| bad("linux.devices[].path", "missing"))?, "linux.devices[].path")?;
        if path.first() != Some(&b'/') || path.len() < 2 {
            return Err(bad("linux.devices[].path", "must be an absolute path"));
        }
        if path.strip_prefix(b"/dev/").is_some_and(|n| launcher::dev::DEVICES.iter().any(|d| d.to_bytes() == n)) {
            continue;
        }
        let kind = match d.get("type").and_then(|t| t.raw_str()) {
            Some(b"c" | b"u") => libc::S_IFCHR,
            Some(b"b") => libc::S_IFBLK,
            Some(b"p") => libc::S_IFIFO,
            _ => return Err(bad("linux.devices[].type", "c, b, u or p")),
        };
        let number = |name, field| {
            d.get(name).and_then(|v| v.as_u64()).filter(|&n| n <= u32::MAX as u64).map(|n| n as u32).ok_or_else(|| bad(field, "expected a number"))
        };
        let (major, minor) = if kind == libc::S_IFIFO {
            (0, 0)
        } else {
            (number("major", "linux.devices[].major")?, number("minor", "linux.devices[].minor")?)
        };
        let optional = |name, field, default| if d.get(name).is_some() { number(name, field) } else { Ok(default) };
        let node = spec::Node {
            kind,
            mode: optional("fileMode", "linux.devices[].fileMode", 0o666)?,
            uid: optional("uid", "linux.devices[].uid", 0)?,
            gid: optional("gid", "linux.devices[].gid", 0)?,
        };
        let device = spec::Device { host: b"", path, access: 0, block: kind == libc::S_IFBLK, major, minor, node };
        s.devices.push(device).map_err(|_| bad("linux.devices", "more than 32 devices"))?;
    }
    if let Some(rules) = linux.get("resources").and_then(|r| r.get("devices")) {
        device_rules(s, rules)?;
    }
    Ok(())
}

/// `linux.resources.devices`: allow rules on top of knocker's list (which starts from "deny
/// everything", as Docker's configs do). A deny of everything drops the allows before it; a
/// deny of particular devices after an allow cannot be kept apart from it and is refused.
fn device_rules(s: &mut Spec, rules: Value<'static>) -> Result<()> {
    use launcher::cgroup::devices::{self, Rule};
    let field = "linux.resources.devices";
    for r in rules.items() {
        let kind = match r.get("type").and_then(|t| t.raw_str()) {
            None | Some(b"a") => devices::ANY,
            Some(b"c") => devices::CHAR,
            Some(b"b") => devices::BLOCK,
            _ => return Err(bad(field, "type is a, c or b")),
        };
        // A missing number, or -1, stands for any.
        let number = |name| r.get(name).and_then(|v| v.as_i64()).filter(|&n| (0..=u32::MAX as i64).contains(&n)).map(|n| n as u32);
        let access = match r.get("access").and_then(|a| a.raw_str()) {
            None | Some(b"") => devices::RWM,
            Some(a) => devices::parse_access(a).ok_or_else(|| bad(field, "access is made of r, w and m"))?,
        };
        let rule = Rule { kind, major: number("major"), minor: number("minor"), access };
        if r.get("allow").and_then(|a| a.as_bool()).unwrap_or(false) {
            s.device_rules.push(rule).map_err(|_| bad(field, "more than 32 rules"))?;
        } else if kind == devices::ANY && rule.major.is_none() && rule.minor.is_none() {
            s.device_rules = linker::List::new();
        } else if !s.device_rules.is_empty() {
            return Err(bad(field, "a deny rule after an allow rule is not supported"));
        }
    }
    Ok(())
}

/// `linux.resources`: memory, pids and CPU quota, as the launcher's limits.
pub fn resources(s: &mut Spec, r: Value<'static>) -> Result<()> {
    if let Some(limit) = r.get("memory").and_then(|m| m.get("limit")) {
        match limit.as_i64() {
            Some(n) if n > 0 => s.limits.memory = Some(n as u64),
            Some(_) => {}
            None => return Err(bad("linux.resources.memory.limit", "expected a number")),
        }
    }
    if let Some(limit) = r.get("pids").and_then(|p| p.get("limit")) {
        match limit.as_i64() {
            Some(n) if n > 0 => s.limits.pids = Some(n as u64),
            Some(_) => {}
            None => return Err(bad("linux.resources.pids.limit", "expected a number")),
        }
    }
    if let Some(cpu) = r.get("cpu") {
        let quota = cpu.get("quota").and_then(|q| q.as_i64()).unwrap_or(0);
        let period = cpu.get("period").and_then(|p| p.as_u64()).unwrap_or(spec::CPU_PERIOD_US);
        if quota > 0 && period > 0 {
            // The launcher keeps quotas per its own period.
            s.limits.cpu_quota_us = Some((quota as u64).saturating_mul(spec::CPU_PERIOD_US) / period).filter(|&q| q >= 1000);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_paths_of_both_styles() {
        let mut arena = Arena::new().unwrap();
        assert_eq!(cgroup_path(b"/libpod_parent/libpod-abc", &mut arena).ok(), Some(&b"libpod_parent/libpod-abc"[..]));
        assert_eq!(cgroup_path(b"machine.slice:libpod:abc", &mut arena).ok(), Some(&b"machine.slice/libpod-abc.scope"[..]));
        assert!(cgroup_path(b"/a/../b", &mut arena).is_err());
        assert!(cgroup_path(b"/", &mut arena).is_err());
    }
}
