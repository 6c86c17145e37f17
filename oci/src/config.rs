//! A bundle's `config.json` → the launcher's [`Spec`]: the same plan the launcher's command line
//! makes, so the container is built by the same code. The document is first checked against
//! the runtime spec's shape ([`crate::schema`]: every member known, once, exactly spelled and
//! of its one type), so each lookup here finds what runc's Go reader finds. What the
//! container code cannot do is refused with one line naming the field — never silently
//! dropped, defaulted, widened or cut short.

use crate::arena::{Arena, Filling};
use crate::json::{self, Value};
use crate::schema;
use launcher::error::{Error, Result};
use launcher::process_limits::{Rlimit, namespaced_sysctl, rlimit_number};
use launcher::seccomp::Seccomp;
use launcher::spec::{self, CapSets, Init, Mount, Spec, Tty};
use core::ffi::CStr;
use linker::sys::mount::{
    MS_BIND, MS_DIRSYNC, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME,
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
    /// Whether `linux.cgroupsPath` was in systemd's `slice:prefix:name` form.
    pub systemd_cgroup: bool,
}

pub(crate) fn bad(field: &'static str, what: &'static str) -> Error {
    Error::new("config.json:").on(field).hint(what)
}

fn too_large() -> Error {
    Error::new("config.json is too large")
}

/// Room in the arena for the items of the array `v` (none when it is absent), refused in one
/// line past `max` (`over` says the limit).
fn list<T: Copy + Default>(arena: &mut Arena, v: Option<Value<'static>>, max: usize, field: &'static str, over: &'static str) -> Result<Filling<T>> {
    let n = v.iter().flat_map(|v| v.items()).count();
    if n > max {
        return Err(bad(field, over));
    }
    arena.list(n).ok_or_else(too_large)
}

/// A decoded string, NUL-terminated, in the arena.
pub(crate) fn string(arena: &mut Arena, v: Value<'static>, field: &'static str) -> Result<&'static CStr> {
    let len = v.decoded_len().ok_or_else(|| bad(field, "expected a string"))?;
    let buf = arena.bytes(len + 1, 1).ok_or_else(too_large)?;
    let n = v.decode_str(buf).ok_or_else(|| bad(field, "a string with a NUL"))?;
    CStr::from_bytes_with_nul(&buf[..n + 1]).map_err(|_| bad(field, "a string with a NUL"))
}

pub(crate) fn bytes(arena: &mut Arena, v: Value<'static>, field: &'static str) -> Result<&'static [u8]> {
    string(arena, v, field).map(CStr::to_bytes)
}

/// `parts` one after the other, NUL-terminated, in the arena: any length that fits.
fn joined(arena: &mut Arena, parts: &[&[u8]]) -> Result<&'static CStr> {
    let len = parts.iter().map(|p| p.len()).sum::<usize>();
    let buf = arena.bytes(len + 1, 1).ok_or_else(too_large)?;
    let mut at = 0;
    for p in parts {
        buf[at..at + p.len()].copy_from_slice(p);
        at += p.len();
    }
    CStr::from_bytes_with_nul(buf).map_err(|_| too_large())
}

/// An absolute container path with `//`, `.` and a trailing `/` taken out, so that
/// `"/sys/fs/cgroup/"` and `"/dev/"` compare as the system mount points they are. `..` is
/// refused (the launcher never resolves it).
fn normalise(arena: &mut Arena, path: &[u8], field: &'static str) -> Result<&'static [u8]> {
    if path.first() != Some(&b'/') {
        return Err(bad(field, "must be an absolute path"));
    }
    let buf = arena.bytes(path.len() + 1, 1).ok_or_else(too_large)?;
    let mut n = 0;
    for part in path.split(|&c| c == b'/').filter(|p| !p.is_empty() && *p != b".") {
        if part == b".." {
            return Err(bad(field, "must not contain .."));
        }
        buf[n] = b'/';
        buf[n + 1..n + 1 + part.len()].copy_from_slice(part);
        n += 1 + part.len();
    }
    if n == 0 {
        buf[0] = b'/';
        n = 1;
    }
    Ok(&buf[..n])
}

/// Reads `doc` (config.json of the bundle at `bundle`, an absolute path) into a Spec for the
/// container `id`.
pub fn read(doc: &'static [u8], bundle: &'static [u8], id: &'static [u8], arena: &mut Arena) -> Result<Config> {
    let top = json::parse(doc).map_err(|e| {
        let mut line = linker::Text::<16>::new();
        line.push(json::line_of(doc, e.at));
        Error::new("config.json is not valid JSON: line").on(&line).hint(e.what)
    })?;
    schema::check("config.json:", "", top, &schema::CONFIG)?;

    // root: a path relative to the bundle, or absolute.
    let root = top.get("root").ok_or_else(|| bad("root", "missing"))?;
    let path = bytes(arena, root.get("path").ok_or_else(|| bad("root.path", "missing"))?, "root.path")?;
    let rootfs = if path.first() == Some(&b'/') { joined(arena, &[path])? } else { joined(arena, &[bundle, b"/", path])? };
    let mut s = Spec::new(rootfs);
    s.read_only = root.get("readonly").and_then(|v| v.as_bool()).unwrap_or(false);
    s.init = Init::None;
    s.extras = Some(&crate::extras::EXTRAS);
    s.name = Some(id);
    s.locked = false;
    s.limits.pids_by_default = false;
    s.seccomp = Seccomp::Unconfined;
    s.cgroup_view = false;
    let mut seccomp_src = None;
    let mut systemd_cgroup = false;
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

    let process = top.get("process").ok_or_else(|| bad("process", "missing"))?;
    let (terminal, console_size) = process_into(&mut s, process, arena)?;

    let given = top.get("mounts");
    let mut mounts = list(arena, given, spec::MAX_MOUNTS, "mounts", "more than 1024 mounts")?;
    for m in given.iter().flat_map(|m| m.items()) {
        mount(&mut s, &mut mounts, m, arena)?;
    }
    s.mounts = mounts.done();

    if let Some(linux) = top.get("linux") {
        namespaces(&mut s, linux, arena)?;
        let named = top.get("hostname").and_then(|h| h.raw_str()).is_some_and(|h| !h.is_empty());
        if s.shared_ns & libc::CLONE_NEWUTS as u64 != 0 && named {
            // runc refuses it too: the host's name is not the container's to set.
            return Err(bad("hostname", "a host name needs a UTS namespace of the container's own"));
        }
        // Namespaces joined by path are not made new by the clone either.
        for (joined, flag) in [(s.pid_join.is_some(), libc::CLONE_NEWPID), (s.ns_join[0].is_some(), libc::CLONE_NEWIPC), (s.ns_join[1].is_some(), libc::CLONE_NEWUTS)] {
            if joined {
                s.shared_ns |= flag as u64;
            }
        }
        devices(&mut s, linux, arena)?;
        for (i, field) in ["uidMappings", "gidMappings"].into_iter().enumerate() {
            id_maps[i] = id_map(linux.get(field), arena)?;
        }
        if s.user_namespace && (id_maps[0].is_empty() || id_maps[1].is_empty()) {
            return Err(bad("linux.uidMappings", "a user namespace needs uidMappings and gidMappings"));
        }
        // As runc: mappings are for a user namespace of the container's own (without one,
        // ignoring them ran the container as host root).
        let mapped = !id_maps[0].is_empty() || !id_maps[1].is_empty();
        if mapped && !s.user_namespace {
            return Err(bad("linux.uidMappings", "id mappings without a user namespace in linux.namespaces"));
        }
        unsupported(&mut s, linux, arena)?;
        if let Some(r) = linux.get("resources") {
            resources_into(&mut s, r, true, arena)?;
        }
        sysctls(&mut s, linux, arena)?;
        s.masked_paths = paths(linux.get("maskedPaths"), "linux.maskedPaths", arena)?;
        s.readonly_paths = paths(linux.get("readonlyPaths"), "linux.readonlyPaths", arena)?;
        if let Some(path) = linux.get("cgroupsPath") {
            let path = bytes(arena, path, "linux.cgroupsPath")?;
            systemd_cgroup = systemd_form(path);
            s.cgroup_path = Some(cgroup_path(path, arena)?);
        }
        if let Some(profile) = linux.get("seccomp") {
            s.seccomp = Seccomp::Profile(crate::seccomp::profile(profile, arena)?);
            seccomp_src = Some(profile.src);
        }
    }

    let annotations = top.get("annotations").map_or(&b"{}"[..], |a| a.src);
    let hooks = top.get("hooks");
    Ok(Config { spec: s, terminal, console_size, annotations, hooks, seccomp: seccomp_src, id_maps, systemd_cgroup })
}

/// An OCI `process` object into `s` (config.json's, or `exec --process`'s): returns whether it
/// wants a terminal, and its size.
pub fn process_into(s: &mut Spec, process: Value<'static>, arena: &mut Arena) -> Result<(bool, Option<(u16, u16)>)> {
    schema::check("config.json:", "process", process, &schema::PROCESS)?;
    let terminal = process.get("terminal").and_then(|v| v.as_bool()).unwrap_or(false);
    // Go reads a missing height or width as 0.
    let console_size = process.get("consoleSize").map(|c| {
        let n = |k| c.get(k).and_then(|v| v.as_u64()).unwrap_or(0) as u16;
        (n("height"), n("width"))
    });
    s.tty = if terminal { Tty::Always } else { Tty::Never };
    let args = process.get("args").ok_or_else(|| bad("process.args", "missing"))?;
    let count = args.items().count();
    if count == 0 {
        return Err(bad("process.args", "empty: nothing to run"));
    }
    let argv = arena.pointers(count + 1).ok_or_else(too_large)?;
    for (i, a) in args.items().enumerate() {
        argv[i] = string(arena, a, "process.args")?.as_ptr();
    }
    s.argv = Some(&argv[..count]);
    let count = process.get("env").map_or(0, |e| e.items().count());
    if count > spec::MAX_ENV {
        return Err(bad("process.env", "more than 4096 entries"));
    }
    let env = arena.slice::<&'static CStr>(count).ok_or_else(too_large)?;
    for (slot, e) in env.iter_mut().zip(process.get("env").iter().flat_map(|e| e.items())) {
        let entry = string(arena, e, "process.env")?;
        if !spec::valid_env(entry.to_bytes()) {
            return Err(bad("process.env", "entries are KEY=VALUE"));
        }
        *slot = entry;
    }
    s.env = env;
    if let Some(cwd) = process.get("cwd") {
        let dir = string(arena, cwd, "process.cwd")?;
        if dir.to_bytes().first() != Some(&b'/') {
            return Err(bad("process.cwd", "must be an absolute path"));
        }
        s.workdir = dir;
    }
    if let Some(user) = process.get("user") {
        // The schema took uid, gid and the groups as ids (0 to 4294967294) and umask to 0777.
        let id = |name| user.get(name).and_then(|v| v.as_u64()).unwrap_or(0) as u32;
        s.uid = id("uid");
        s.gid = id("gid");
        s.umask = user.get("umask").and_then(|v| v.as_u64()).map(|m| m as u32);
        let given = user.get("additionalGids");
        let mut groups = list(arena, given, spec::MAX_GROUPS, "process.user.additionalGids", "more than 65536 groups (the kernel's NGROUPS_MAX)")?;
        for g in given.iter().flat_map(|v| v.items()) {
            groups.push(g.as_u64().unwrap_or(0) as u32);
        }
        s.groups = groups.done();
    }
    labels(s, process, arena)?;
    s.allow_new_privs = !process.get("noNewPrivileges").and_then(|v| v.as_bool()).unwrap_or(false);
    for r in process.get("rlimits").iter().flat_map(|r| r.items()) {
        let kind = bytes(arena, r.get("type").ok_or_else(|| bad("process.rlimits[].type", "missing"))?, "process.rlimits[].type")?;
        let resource = rlimit_number(kind).ok_or_else(|| bad("process.rlimits[].type", "an unknown limit (RLIMIT_NOFILE, …)"))?;
        let n = |name| r.get(name).and_then(|v| v.as_u64()).ok_or_else(|| bad("process.rlimits[]", "soft and hard are numbers"));
        let limit = Rlimit { resource, soft: n("soft")?, hard: n("hard")? };
        // As the runtime spec says: a type given twice is an error (before: both applied,
        // the last one winning).
        if s.rlimits.iter().any(|r| r.resource == resource) {
            return Err(Error::new("config.json: process.rlimits: a type given twice:").on(kind));
        }
        s.rlimits.push(limit).map_err(|_| bad("process.rlimits", "more than 16 limits"))?;
    }
    if let Some(adj) = process.get("oomScoreAdj") {
        s.oom_score_adj = adj.as_i64().map(|n| n as i32);
    }
    if let Some(caps) = process.get("capabilities") {
        let mut set = |name: &'static str, field: &'static str| -> Result<u64> {
            let mut bits = 0;
            for c in caps.get(name).iter().flat_map(|v| v.items()) {
                let name = bytes(arena, c, field)?;
                // As the spec says and runc does: a name it does not know (`CAP_ALL`, lowercase or
                // bare names too) gives nothing, with a warning, and does not fail.
                match spec::oci_cap(name) {
                    Some(bit) => bits |= bit,
                    None => linker::say!(2; "knocker: warning: config.json: ", field, ": ", name, " is not a capability knocker knows (CAP_ and the kernel's name): ignored, as runc does"),
                }
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

/// `linux.sysctl`, as runc validates it: only those of the container's own namespaces, and
/// `net.*` only in a network namespace that is not the one knocker runs in.
fn sysctls(s: &mut Spec, linux: Value<'static>, arena: &mut Arena) -> Result<()> {
    let mut network_checked = false;
    let given = linux.get("sysctl");
    let count = given.iter().flat_map(|v| v.members()).count();
    if count > launcher::process_limits::MAX_SYSCTLS {
        return Err(bad("linux.sysctl", "more than 1024 entries"));
    }
    let mut out = arena.list(count).ok_or_else(too_large)?;
    for (name, value) in given.iter().flat_map(|v| v.members()) {
        let name = bytes(arena, name, "linux.sysctl")?;
        if !namespaced_sysctl(name, !s.host_network) {
            return Err(Error::new("config.json: linux.sysctl: not a sysctl of the container's own namespaces:").on(name));
        }
        if name == b"kernel.hostname" {
            return Err(bad("linux.sysctl", "kernel.hostname: give the hostname field instead (as runc says)"));
        }
        if name.starts_with(b"net.") && !network_checked {
            network_checked = true;
            if let Some(path) = s.net_join.filter(|p| joins_own_network(p).unwrap_or(true)) {
                // (also when either namespace file cannot be looked at, as runc refuses then)
                return Err(Error::new("config.json: linux.sysctl: net.* in the network namespace knocker runs in (joined by path):").on(path));
            }
        }
        let value = bytes(arena, value, "linux.sysctl")?;
        out.push((name, value));
    }
    s.sysctls = out.done();
    Ok(())
}

/// Whether the namespace file at `path` is knocker's own network namespace (runc's
/// `isHostNetNS`: same device and inode as /proc/self/ns/net).
fn joins_own_network(path: &CStr) -> core::result::Result<bool, linker::Errno> {
    let (own, joined) = (linker::sys::fs::stat(c"/proc/self/ns/net")?, linker::sys::fs::stat(path)?);
    Ok((own.dev, own.ino) == (joined.dev, joined.ino))
}

/// `maskedPaths`/`readonlyPaths`: absolute container paths; None when the config has no list.
fn paths(v: Option<Value<'static>>, field: &'static str, arena: &mut Arena) -> Result<Option<&'static [&'static CStr]>> {
    let Some(list) = v else { return Ok(None) };
    let mut out = self::list(arena, v, spec::MAX_PROC_PATHS, field, "more than 1024 paths")?;
    for p in list.items() {
        let path = string(arena, p, field)?;
        if path.to_bytes().first() != Some(&b'/') {
            return Err(bad(field, "paths must be absolute"));
        }
        out.push(path);
    }
    Ok(Some(out.done()))
}

/// `linux.cgroupsPath` as a path under each hierarchy's root: `/libpod_parent/libpod-ID`
/// (cgroupfs style) as it is; systemd's `slice:prefix:name` as the directory systemd would
/// make for the unit: each slice nested in its parents (`kubepods-burstable-pod1.slice` is
/// `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice`), then the scope
/// `prefix-name.scope` (or `name` itself when it is a slice). An empty slice is systemd's
/// `system.slice`, `-.slice` the root. knocker writes cgroupfs paths itself. `..` is refused.
pub fn cgroup_path(path: &'static [u8], arena: &mut Arena) -> Result<&'static [u8]> {
    let mut t = linker::Text::<256>::new();
    let mut fields = path.splitn(3, |&c| c == b':');
    match (fields.next(), fields.next(), fields.next()) {
        (Some(slice), Some(prefix), Some(name)) if !path.starts_with(b"/") => {
            let slice = if slice.is_empty() { &b"system.slice"[..] } else { slice };
            let bad_slice = || bad("linux.cgroupsPath", "a systemd slice is NAME.slice, its parts joined by single dashes, without /");
            let stem = slice.strip_suffix(b".slice").ok_or_else(bad_slice)?;
            if stem != b"-" {
                if stem.is_empty() || stem.contains(&b'/') || stem.split(|&c| c == b'-').any(|p| p.is_empty()) {
                    return Err(bad_slice());
                }
                // Each dash ends one parent: a, a-b, a-b-c.
                for (i, _) in stem.iter().enumerate().filter(|(_, c)| **c == b'-').chain([(stem.len(), &b'-')]) {
                    t.bytes(&stem[..i]).push(".slice/");
                }
            }
            if name.is_empty() || name.contains(&b'/') {
                return Err(bad("linux.cgroupsPath", "a systemd unit name, without /"));
            }
            if name.ends_with(b".slice") {
                t.bytes(name);
            } else {
                t.bytes(prefix).push("-").bytes(name).push(".scope");
            }
        }
        _ => {
            t.bytes(path.strip_prefix(b"/").unwrap_or(path));
        }
    }
    let g = t.as_bytes();
    if t.overflowed() {
        return Err(bad("linux.cgroupsPath", "over 255 bytes"));
    }
    if g.is_empty() || g.split(|&c| c == b'/').any(|p| p == b".." || p == b".") {
        return Err(bad("linux.cgroupsPath", "a path under the cgroup root, without . or .."));
    }
    arena.cstr(g).map(|c| c.to_bytes()).ok_or_else(too_large)
}

/// Whether `path` is in systemd's `slice:prefix:name` form.
pub fn systemd_form(path: &[u8]) -> bool {
    !path.starts_with(b"/") && path.iter().filter(|&&c| c == b':').count() >= 2
}

/// What a mount option does, as runc reads the words.
#[derive(Clone, Copy)]
pub(crate) enum Opt {
    Set(u64),
    Clear(u64),
    Propagation(u64),
    /// Accepted: it asks nothing (`defaults`, `nomand`).
    Ignored,
    /// Accepted, not applied, and said so (a warning line).
    Said(&'static str),
    Refused(&'static str),
}

const NODEV: &str = "knocker mounts everything nodev (device nodes open only through the container's /dev): dev ignored";

const ATIME: &str = "recursive atime options are not supported";
const NOT_HERE: &str = "not supported";

/// runc's words. On a bind, `ro`, `nosuid`, `noexec` and `nosymfollow` are its top mount's
/// only (shifted by [`TOP`]: runc remounts that one) and the `r…` forms every mount's below
/// it too (runc's mount_setattr); on any other file system both are its mount flags. A word
/// not here is the file system's own (`size=64m`, `mode=755`) and goes to it as data — a
/// bind mount has none.
pub(crate) const OPTIONS: [(&str, Opt); 52] = [
    ("ro", Opt::Set(MS_RDONLY << TOP)),
    ("rw", Opt::Clear(MS_RDONLY << TOP)),
    ("rro", Opt::Set(MS_RDONLY)),
    ("rrw", Opt::Clear(MS_RDONLY)),
    ("nosuid", Opt::Set(MS_NOSUID << TOP)),
    ("suid", Opt::Clear(MS_NOSUID << TOP)),
    ("rnosuid", Opt::Set(MS_NOSUID)),
    ("rsuid", Opt::Clear(MS_NOSUID)),
    ("noexec", Opt::Set(MS_NOEXEC << TOP)),
    ("exec", Opt::Clear(MS_NOEXEC << TOP)),
    ("rnoexec", Opt::Set(MS_NOEXEC)),
    ("rexec", Opt::Clear(MS_NOEXEC)),
    ("nodev", Opt::Set(MS_NODEV)),
    ("rnodev", Opt::Set(MS_NODEV)),
    ("dev", Opt::Said(NODEV)),
    ("rdev", Opt::Said(NODEV)),
    ("sync", Opt::Set(MS_SYNCHRONOUS)),
    ("async", Opt::Clear(MS_SYNCHRONOUS)),
    ("dirsync", Opt::Set(MS_DIRSYNC)),
    ("noatime", Opt::Set(MS_NOATIME)),
    ("atime", Opt::Clear(MS_NOATIME)),
    ("nodiratime", Opt::Set(MS_NODIRATIME)),
    ("diratime", Opt::Clear(MS_NODIRATIME)),
    ("relatime", Opt::Set(MS_RELATIME)),
    ("norelatime", Opt::Clear(MS_RELATIME)),
    ("strictatime", Opt::Set(MS_STRICTATIME)),
    ("nostrictatime", Opt::Clear(MS_STRICTATIME)),
    ("rbind", Opt::Set(MS_BIND | MS_REC)),
    ("bind", Opt::Set(MS_BIND)),
    ("private", Opt::Propagation(MS_PRIVATE)),
    ("rprivate", Opt::Propagation(MS_PRIVATE | MS_REC)),
    ("shared", Opt::Propagation(MS_SHARED)),
    ("rshared", Opt::Propagation(MS_SHARED | MS_REC)),
    ("slave", Opt::Propagation(MS_SLAVE)),
    ("rslave", Opt::Propagation(MS_SLAVE | MS_REC)),
    ("unbindable", Opt::Propagation(MS_UNBINDABLE)),
    ("runbindable", Opt::Propagation(MS_UNBINDABLE | MS_REC)),
    ("defaults", Opt::Ignored),
    ("remount", Opt::Said("a mount the container gets is always a new one: remount ignored")),
    ("tmpcopyup", Opt::Set(COPY_UP)),
    ("nomand", Opt::Ignored),
    ("rnoatime", Opt::Refused(ATIME)),
    ("ratime", Opt::Refused(ATIME)),
    ("rnodiratime", Opt::Refused(ATIME)),
    ("rdiratime", Opt::Refused(ATIME)),
    ("rrelatime", Opt::Refused(ATIME)),
    ("rstrictatime", Opt::Refused(ATIME)),
    ("nosymfollow", Opt::Set(MS_NOSYMFOLLOW << TOP)),
    ("rnosymfollow", Opt::Refused("rnosymfollow is not supported (nosymfollow is, on the top mount)")),
    ("idmap", Opt::Refused("idmapped mounts are not supported")),
    ("ridmap", Opt::Refused("idmapped mounts are not supported")),
    ("mand", Opt::Refused(NOT_HERE)),
];
const TOP: u32 = spec::TOP_ONLY;
/// `tmpcopyup`: a tmpfs starts with the contents of the directory it covers (copyup.rs). Not
/// a kernel flag: taken off before the mount.
pub const COPY_UP: u64 = 1 << 60;
/// The options of a top mount only (see [`OPTIONS`]).
const TOP_FLAGS: u64 = (MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NOSYMFOLLOW) << TOP;
/// What a bind mount carries besides MS_BIND/MS_REC: knocker binds nodev always.
const BIND_FLAGS: u64 = MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV | TOP_FLAGS;
/// The access-time options a bind mount takes (on its top mount, as runc's remount).
const BIND_ATIME: u64 = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

/// One entry of `mounts`. The system mounts (/proc, /dev and what is below it, /sys) are the
/// launcher's own, hardened ones; the rest become the launcher's mounts.
/// The files of /proc a config may mount over (lxcfs's), the same that runc allows.
const PROC_FILES: [&[u8]; 10] = [
    b"/proc/cpuinfo",
    b"/proc/diskstats",
    b"/proc/meminfo",
    b"/proc/stat",
    b"/proc/swaps",
    b"/proc/uptime",
    b"/proc/loadavg",
    b"/proc/slabinfo",
    b"/proc/net/dev",
    b"/proc/sys/kernel/ns_last_pid",
];

fn mount(s: &mut Spec, mounts: &mut Filling<Mount>, m: Value<'static>, arena: &mut Arena) -> Result<()> {
    let given = bytes(arena, m.get("destination").ok_or_else(|| bad("mounts[].destination", "missing"))?, "mounts[].destination")?;
    let dst = normalise(arena, given, "mounts[].destination")?;
    let kind = match m.get("type") {
        Some(t) => bytes(arena, t, "mounts[].type")?,
        None => b"",
    };
    // Whether the options leave it writable: the last of ro/rw (and rro/rrw) wins, none is rw.
    let writable = m.get("options").iter().flat_map(|o| o.items()).fold(true, |rw, o| match o.decoded(&mut [0; 4]) {
        Some(b"ro" | b"rro") => false,
        Some(b"rw" | b"rrw") => true,
        _ => rw,
    });
    let cgroup = matches!(kind, b"cgroup" | b"cgroup2");
    if cgroup || dst == b"/sys/fs/cgroup" {
        // The container's own groups in its cgroup namespace (as the launcher's), read-only
        // unless the config says rw (a privileged container's).
        if dst != b"/sys/fs/cgroup" {
            return Err(bad("mounts[].destination", "cgroup file systems are mounted at /sys/fs/cgroup only"));
        }
        s.cgroup_view = true;
        s.cgroup_writable = writable;
        return Ok(());
    }
    if dst == b"/sys" && !writable {
        // knocker's own read-only sysfs, in the config's order (runc mounts them in order).
        mounts.push(Mount::Sys);
        return Ok(());
    }
    let system = matches!(dst, b"/proc" | b"/dev" | b"/dev/pts");
    if system {
        return Ok(());
    }
    // Below /proc only what lxcfs provides, as runc allows: a mount over /proc/self/attr (or
    // /proc/1/...) would swallow the LSM label written there (runc CVE-2019-16884).
    if dst.starts_with(b"/proc/") && !PROC_FILES.contains(&dst) {
        return Err(Error::new("config.json: mounts[].destination: under /proc, only lxcfs's files may be mounted:").on(dst));
    }
    // In order, as runc applies them: a later `rw` undoes an earlier `ro`.
    let (mut flags, mut propagation, mut data) = (0u64, 0u64, linker::Text::<1024>::new());
    let mut recursive = 0;
    for o in m.get("options").iter().flat_map(|o| o.items()) {
        let o = bytes(arena, o, "mounts[].options")?;
        match OPTIONS.iter().find(|(n, _)| n.as_bytes() == o).map(|&(_, what)| what) {
            Some(Opt::Set(f)) => {
                flags |= f;
                recursive |= f & MS_REC;
            }
            Some(Opt::Clear(f)) => flags &= !f,
            Some(Opt::Propagation(p)) => propagation = p,
            Some(Opt::Ignored) => {}
            Some(Opt::Said(why)) => linker::say!(2; "knocker: warning: config.json: mounts[].options ", o, " at ", dst, ": ", why),
            Some(Opt::Refused(why)) => return Err(Error::new("config.json: mounts[].options:").on(o).hint(why)),
            None => {
                if !data.is_empty() {
                    data.push(",");
                }
                data.bytes(o);
            }
        }
    }
    if data.overflowed() {
        return Err(bad("mounts[].options", "the file system's options are over 1023 bytes"));
    }
    let source = match m.get("source") {
        Some(v) => string(arena, v, "mounts[].source")?,
        None => c"none",
    };
    if flags & COPY_UP != 0 && kind != b"tmpfs" {
        return Err(bad("mounts[].options", "tmpcopyup is for tmpfs mounts only"));
    }
    let entry = if kind == b"bind" || flags & MS_BIND != 0 {
        if !data.is_empty() {
            // The kernel takes no file system options with MS_BIND (runc passes them, and they
            // go nowhere): said, not silently dropped.
            linker::say!(2; "knocker: warning: config.json: mounts[].options ", data.as_bytes(), " on the bind mount at ", dst, ": a bind takes no file system options, ignored");
        }
        if flags & !(BIND_FLAGS | BIND_ATIME | MS_BIND | MS_REC) != 0 {
            return Err(bad("mounts[].options", "sync and dirsync are not supported on bind mounts"));
        }
        Mount::Bind { src: source.to_bytes(), dst, flags: recursive | (flags & (MS_RDONLY | MS_NOSUID | MS_NOEXEC | BIND_ATIME | TOP_FLAGS)), propagation }
    } else if matches!(kind, b"proc" | b"devpts") {
        return Err(bad("mounts[].type", "proc and devpts are knocker's own, at /proc and /dev/pts only"));
    } else if kind.is_empty() {
        return Err(bad("mounts[].type", "missing (a file system type, or bind)"));
    } else {
        let fstype = arena.cstr(kind).ok_or_else(too_large)?;
        let data = if data.is_empty() { None } else { Some(arena.cstr(data.as_bytes()).ok_or_else(too_large)?) };
        // sysfs elsewhere is read-only, as knocker's own /sys; a read-write /sys is what a
        // privileged container's config asks for.
        let forced = if kind == b"sysfs" && dst != b"/sys" { MS_RDONLY } else { 0 };
        // /dev/shm as knocker makes it already (`knocker spec`'s): nothing to add. Any other
        // (Docker's --shm-size, a pod's shared one bound in) is mounted over knocker's.
        if dst == b"/dev/shm" && kind == b"tmpfs" && data.is_some_and(|d| d.to_bytes() == b"mode=1777,size=65536k") && flags & !MS_REC == (MS_NOSUID | MS_NOEXEC) << TOP | MS_NODEV {
            return Ok(());
        }
        // A new mount has nothing below it: `ro` and `rro` are both its flag.
        let flags = (flags & !(MS_REC | TOP_FLAGS)) | (flags & TOP_FLAGS) >> TOP;
        Mount::Fs { fstype, source, dst, flags: flags | forced, data, propagation }
    };
    mounts.push(entry);
    Ok(())
}

/// `linux.namespaces`: each type listed is made new, or joined at its `path`; a type left out
/// is the host's (the runtime's own, as the spec says and runc does), and so is every type
/// when there is no `namespaces` at all. The cgroup namespace is the container's own whenever
/// it has a cgroup mount (its view of /sys/fs/cgroup is rooted there, as runc's bind of its
/// groups).
/// The namespace types knocker makes or joins (`knocker features` lists them).
pub(crate) const NAMESPACES: [(&str, i32); 7] = [
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("ipc", libc::CLONE_NEWIPC),
    ("mount", libc::CLONE_NEWNS),
    ("network", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("user", libc::CLONE_NEWUSER),
    ("uts", libc::CLONE_NEWUTS),
];

fn namespaces(s: &mut Spec, linux: Value<'static>, arena: &mut Arena) -> Result<()> {
    use libc::{CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS};
    let mut network = false;
    let mut listed = 0i32;
    for ns in linux.get("namespaces").iter().flat_map(|l| l.items()) {
        let kind = bytes(arena, ns.get("type").ok_or_else(|| bad("linux.namespaces[].type", "missing"))?, "linux.namespaces[].type")?;
        let path = match ns.get("path") {
            Some(p) if p.raw_str().is_some_and(|p| !p.is_empty()) => Some(string(arena, p, "linux.namespaces[].path")?),
            _ => None,
        };
        let flag = match NAMESPACES.iter().find(|(name, _)| name.as_bytes() == kind) {
            Some(&(_, flag)) => flag,
            None if kind == b"time" => return Err(bad("linux.namespaces", "time namespaces are not supported")),
            None => return Err(bad("linux.namespaces[].type", "an unknown namespace type")),
        };
        if listed & flag != 0 {
            return Err(Error::new("config.json: linux.namespaces: a type given twice:").on(kind));
        }
        listed |= flag;
        match (kind, path) {
            (b"network", p) => {
                network = true;
                s.net_join = p;
            }
            // A pod's containers share its sandbox's (Kubernetes through containerd, podman pods).
            (b"ipc", Some(p)) => s.ns_join[0] = Some(p),
            (b"uts", Some(p)) => s.ns_join[1] = Some(p),
            (b"pid", Some(p)) if s.user_namespace => return Err(bad("linux.namespaces[].path", "a PID namespace is joined by path only without a user namespace").on(p)),
            (b"pid", Some(p)) => s.pid_join = Some(p),
            (b"mount", Some(p)) => s.mnt_join = Some(p),
            // (a user namespace by path too: podman and containerd make theirs by mappings)
            (b"user" | b"cgroup", Some(_)) => return Err(bad("linux.namespaces[].path", "user and cgroup namespaces are not joined by path")),
            (b"user", None) => s.user_namespace = true,
            _ => {}
        }
    }
    let mut host = (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP) & !listed;
    if s.cgroup_view {
        host &= !CLONE_NEWCGROUP;
    }
    if host & CLONE_NEWNS != 0 && s.user_namespace {
        return Err(bad("linux.namespaces", "the host's mount namespace with a user namespace is not supported"));
    }
    s.shared_ns = host as u64;
    s.host_network = !network;
    Ok(())
}

/// `linux.uidMappings` (or gid) as the text /proc/PID/uid_map takes: one "containerID hostID
/// size" line each, at most 340 (the kernel's limit). Each range must end inside 32 bits.
fn id_map(v: Option<Value<'static>>, arena: &mut Arena) -> Result<&'static [u8]> {
    let mut t = linker::Text::<8192>::new();
    for m in v.iter().flat_map(|v| v.items()) {
        let n = |field| m.get(field).and_then(|n| n.as_u64()).ok_or_else(|| bad("linux.uidMappings", "containerID, hostID and size are numbers"));
        let (inside, host, size) = (n("containerID")?, n("hostID")?, n("size")?);
        // The kernel takes first + count up to 2^32 - 1 (4294967295 itself is no id).
        if inside.max(host) + size > u32::MAX as u64 {
            return Err(bad("linux.uidMappings", "a range past 4294967295"));
        }
        t.push(inside).push(" ").push(host).push(" ").push(size).push("\n");
    }
    if t.overflowed() {
        return Err(bad("linux.uidMappings", "too many mappings"));
    }
    arena.cstr(t.as_bytes()).map(|c| c.to_bytes()).ok_or_else(too_large)
}

/// What some hosts or runtimes have and knocker does not: refused when asked for, accepted
/// when empty (the schema refuses the rest). `personality` is applied.
fn unsupported(s: &mut Spec, linux: Value<'static>, arena: &mut Arena) -> Result<()> {
    if linux.get("mountLabel").is_some_and(|v| v.raw_str() != Some(b"")) {
        // (Before: accepted and not applied where SELinux runs.)
        return Err(bad("linux.mountLabel", if selinux() { "SELinux mount labels are not applied by knocker" } else { "the host has no SELinux: leave it empty" }));
    }
    if let Some(p) = linux.get("personality") {
        if p.get("flags").is_some_and(|f| f.items().next().is_some()) {
            return Err(bad("linux.personality.flags", "personality flags are not supported"));
        }
        let mut buf = [0; 16];
        s.personality = Some(match p.get("domain").and_then(|d| d.decoded(&mut buf)) {
            Some(b"LINUX") => 0,
            Some(b"LINUX32") => 8,
            _ => return Err(bad("linux.personality.domain", "LINUX or LINUX32")),
        });
    }
    if let Some(p) = linux.get("rootfsPropagation") {
        // The container's tree is made private before anything is mounted (nothing it mounts
        // reaches the host), then its / gets this: a shared root's peers are the container's
        // own mount namespaces; a slave has no master, so it stays private.
        s.root_propagation = match bytes(arena, p, "linux.rootfsPropagation")? {
            b"" | b"private" | b"rprivate" | b"slave" | b"rslave" => 0,
            b"shared" => MS_SHARED,
            b"rshared" => MS_SHARED | MS_REC,
            b"unbindable" => MS_UNBINDABLE,
            b"runbindable" => MS_UNBINDABLE | MS_REC,
            _ => return Err(bad("linux.rootfsPropagation", "private, rprivate, slave, rslave, shared, rshared, unbindable or runbindable")),
        };
    }
    Ok(())
}

pub(crate) fn selinux() -> bool {
    linker::sys::fs::stat(c"/sys/fs/selinux/enforce").is_ok()
}

pub(crate) fn apparmor() -> bool {
    let mut buf = [0u8; 4];
    linker::sys::fs::read_file(c"/sys/module/apparmor/parameters/enabled", &mut buf).is_ok_and(|n| buf[..n].starts_with(b"Y"))
}

/// `process.apparmorProfile` and `process.selinuxLabel`: the label the program is executed
/// with, when the host has that LSM; asking for one the host lacks is refused.
fn labels(s: &mut Spec, process: Value<'static>, arena: &mut Arena) -> Result<()> {
    let text = |arena: &mut Arena, name, field| -> Result<Option<&'static [u8]>> {
        match process.get(name) {
            Some(v) => bytes(arena, v, field).map(|b| Some(b).filter(|b| !b.is_empty())),
            None => Ok(None),
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
        let label = joined(arena, &[b"exec ", value])?.to_bytes();
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
    let given = linux.get("devices");
    let mut made = list(arena, given, spec::MAX_DEVICES, "linux.devices", "more than 4096 devices")?;
    for d in given.iter().flat_map(|d| d.items()) {
        let given = bytes(arena, d.get("path").ok_or_else(|| bad("linux.devices[].path", "missing"))?, "linux.devices[].path")?;
        let path = normalise(arena, given, "linux.devices[].path")?;
        if path.len() < 2 {
            return Err(bad("linux.devices[].path", "must be an absolute path"));
        }
        if path.strip_prefix(b"/dev/").is_some_and(|n| launcher::dev::DEVICES.iter().any(|d| d.to_bytes() == n)) {
            continue;
        }
        let mut buf = [0; 4];
        let kind = match d.get("type").and_then(|t| t.decoded(&mut buf)) {
            Some(b"c" | b"u") => libc::S_IFCHR,
            Some(b"b") => libc::S_IFBLK,
            Some(b"p") => libc::S_IFIFO,
            _ => return Err(bad("linux.devices[].type", "c, b, u or p")),
        };
        let number = |name, field| {
            d.get(name).and_then(|v| v.as_u64()).filter(|&n| n <= u32::MAX as u64).map(|n| n as u32).ok_or_else(|| bad(field, "expected a number from 0 to 4294967295"))
        };
        let (major, minor) = if kind == libc::S_IFIFO {
            (0, 0)
        } else {
            (number("major", "linux.devices[].major")?, number("minor", "linux.devices[].minor")?)
        };
        let optional = |name, default| d.get(name).and_then(|v| v.as_u64()).map_or(default, |n| n as u32);
        let node = spec::Node {
            kind,
            // As runc: the type is the `type` field's, whatever type bits the mode has.
            mode: optional("fileMode", 0o666) & !libc::S_IFMT,
            uid: optional("uid", 0),
            gid: optional("gid", 0),
        };
        let device = spec::Device { host: b"", path, access: 0, block: kind == libc::S_IFBLK, major, minor, node };
        made.push(device);
    }
    s.devices = made.done();
    if let Some(rules) = linux.get("resources").and_then(|r| r.get("devices")) {
        device_rules(s, rules, arena)?;
    }
    Ok(())
}

/// `linux.resources.devices`, in order, as the v1 devices controller reads a list that
/// starts from "deny everything" (Docker's and containerd's configs do): an allow adds a rule
/// on top of knocker's list; a deny of everything drops the allows before it; any other deny
/// takes its accesses away from the earlier allows of exactly its type and numbers (Docker's
/// default list denies `c 10:229` after its allows). A deny inside an earlier wildcard allow
/// cannot be kept apart from it and is refused, as runc refuses it. As runc reads a rule:
/// `type` a, b or c (absent: a), `major`/`minor` a number or -1 for any (absent: any),
/// `access` letters of rwm and never empty — anything else is refused, never widened.
fn device_rules(s: &mut Spec, rules: Value<'static>, arena: &mut Arena) -> Result<()> {
    use launcher::cgroup::devices::{self, Rule};
    let field = "linux.resources.devices";
    let count = rules.items().count();
    if count > spec::MAX_DEVICE_RULES {
        return Err(bad(field, "more than 256 rules"));
    }
    // The rules kept so far at the front, in the arena for the rest of the process.
    let kept = arena.slice::<Rule>(count).ok_or_else(too_large)?;
    let mut n = 0;
    for r in rules.items() {
        let mut buf = [0; 4];
        let kind = match r.get("type").map(|t| t.decoded(&mut buf)) {
            None | Some(Some(b"a")) => devices::ANY,
            Some(Some(b"c")) => devices::CHAR,
            Some(Some(b"b")) => devices::BLOCK,
            _ => return Err(bad("linux.resources.devices[].type", "a, c or b")),
        };
        let number = |name, what| match r.get(name).map(|v| v.as_i64()) {
            None | Some(Some(-1)) => Ok(None),
            Some(Some(n)) if (0..=u32::MAX as i64).contains(&n) => Ok(Some(n as u32)),
            _ => Err(bad(what, "a number from 0 to 4294967295, or -1 for any")),
        };
        let (major, minor) = (number("major", "linux.resources.devices[].major")?, number("minor", "linux.resources.devices[].minor")?);
        let access = r
            .get("access")
            .and_then(|a| a.decoded(&mut [0; 8]).and_then(devices::parse_access))
            .ok_or_else(|| bad("linux.resources.devices[].access", "made of r, w and m, at least one"))?;
        let rule = Rule { kind, major, minor, access };
        if r.get("allow").and_then(|a| a.as_bool()).unwrap_or(false) {
            kept[n] = rule;
            n += 1;
        } else if kind == devices::ANY && major.is_none() && minor.is_none() && access == devices::RWM {
            n = 0;
        } else {
            n = deny(&mut kept[..n], rule).ok_or_else(|| bad(field, "a deny rule inside an earlier allow of a wildcard (major or minor -1) cannot be kept apart from it (as runc refuses it)"))?;
        }
    }
    s.device_rules = &kept[..n];
    Ok(())
}

/// Takes `d`'s accesses from the allows in `rules` of exactly its type and numbers, dropping
/// those left with none; returns how many remain (at the front), or None when a wider allow
/// shares an access with `d` (the devices controller would not keep the two apart).
fn deny(rules: &mut [launcher::cgroup::devices::Rule], d: launcher::cgroup::devices::Rule) -> Option<usize> {
    use launcher::cgroup::devices::ANY;
    let covers = |wide: Option<u32>, narrow: Option<u32>| wide.is_none() || wide == narrow;
    let mut n = 0;
    for i in 0..rules.len() {
        let mut r = rules[i];
        let exact = (r.kind, r.major, r.minor) == (d.kind, d.major, d.minor);
        if exact {
            r.access &= !d.access;
        } else if (r.kind == ANY || r.kind == d.kind) && covers(r.major, d.major) && covers(r.minor, d.minor) && r.access & d.access != 0 {
            return None;
        }
        if r.access != 0 {
            rules[n] = r;
            n += 1;
        }
    }
    Some(n)
}

/// `linux.resources`: memory (and swap), pids and CPU quota, as the launcher's limits (for
/// `update`; a config's own are read at create).
pub fn resources(s: &mut Spec, r: Value<'static>, arena: &mut Arena) -> Result<()> {
    resources_into(s, r, false, arena)
}

/// `linux.resources.blockIO` (None when it asks nothing): a weight, per-device weights and the
/// four throttles, each device by major and minor as the kernel numbers it.
fn block_io(b: Value<'static>, arena: &mut Arena) -> Result<Option<spec::BlockIo>> {
    let device = |d: Value, what: &'static str| -> Result<(u32, u32)> {
        let n = |name| d.get(name).and_then(|v| v.as_i64()).filter(|&n| (0..=u32::MAX as i64).contains(&n)).map(|n| n as u32);
        Ok((n("major").ok_or_else(|| bad(what, "major from 0 to 4294967295"))?, n("minor").ok_or_else(|| bad(what, "minor from 0 to 4294967295"))?))
    };
    let weight = |v: Option<Value>, what| match v.and_then(|v| v.as_u64()) {
        None | Some(0) => Ok(None),
        Some(w @ 10..=1000) => Ok(Some(w)),
        Some(_) => Err(bad(what, "a weight from 10 to 1000")),
    };
    let mut io = spec::BlockIo { weight: weight(b.get("weight"), "linux.resources.blockIO.weight")?, ..Default::default() };
    let given = b.get("weightDevice");
    let mut weights = arena.list(given.iter().flat_map(|v| v.items()).count()).ok_or_else(too_large)?;
    for d in given.iter().flat_map(|v| v.items()) {
        let (major, minor) = device(d, "linux.resources.blockIO.weightDevice[]")?;
        if let Some(w) = weight(d.get("weight"), "linux.resources.blockIO.weightDevice[].weight")? {
            weights.push((major, minor, w));
        }
    }
    io.weight_devices = weights.done();
    let kinds = ["throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"];
    let count: usize = kinds.iter().map(|k| b.get(k).map_or(0, |v| v.items().count())).sum();
    let mut throttles = arena.list(count).ok_or_else(too_large)?;
    for (which, kind) in kinds.iter().enumerate() {
        for d in b.get(kind).iter().flat_map(|v| v.items()) {
            let (major, minor) = device(d, "linux.resources.blockIO.throttle…Device[]")?;
            throttles.push((which as u8, major, minor, d.get("rate").and_then(|r| r.as_u64()).unwrap_or(0)));
        }
    }
    io.throttles = throttles.done();
    Ok(Some(io).filter(|io| *io != spec::BlockIo::default()))
}

/// `linux.resources.unified`: cgroup2 files of the container's own group by name
/// (`controller.file`), each with what to write. A path, or one of the `cgroup.*` files that
/// knocker manages itself (its processes, its subtree, freezing, killing), is refused.
fn unified(files: Value<'static>, arena: &mut Arena) -> Result<&'static [(&'static [u8], &'static [u8])]> {
    let field = "linux.resources.unified";
    let mut out = arena.list(files.members().count()).ok_or_else(too_large)?;
    for (name, value) in files.members() {
        let name = bytes(arena, name, field)?;
        let dot = name.iter().position(|&c| c == b'.');
        if name.contains(&b'/') || name.contains(&0) || dot.is_none_or(|d| d == 0 || d + 1 == name.len()) {
            return Err(bad(field, "a cgroup v2 file of the group, named controller.file (memory.high)"));
        }
        if name.starts_with(b"cgroup.") {
            return Err(bad(field, "cgroup.* files are knocker's to manage"));
        }
        out.push((name, bytes(arena, value, field)?));
    }
    Ok(out.done())
}

/// The kernel's range for a CFS period, and its smallest quota (µs).
const PERIOD_US: core::ops::RangeInclusive<u64> = 1000..=1_000_000;

fn resources_into(s: &mut Spec, r: Value<'static>, creating: bool, arena: &mut Arena) -> Result<()> {
    schema::check("config.json:", "linux.resources", r, &schema::RESOURCES)?;
    let memory = r.get("memory");
    // 0 and -1 are no limit (runc writes neither); below that is no number of bytes.
    let limit = |field: &'static str, v: Option<Value>| match v.map(|v| v.as_i64()) {
        None | Some(Some(0)) => Ok(None),
        Some(Some(-1)) if creating => Ok(None),
        // (Before: kept the old limit, as if nothing were asked.)
        Some(Some(-1)) => Err(bad(field, "-1 (no limit) is not applied by update: give a number")),
        Some(Some(n)) if n > 0 => Ok(Some(n as u64)),
        _ => Err(bad(field, "a positive number, or -1 for none")),
    };
    if !creating && r.get("devices").is_some_and(|d| d.items().next().is_some()) {
        linker::say!(2; "knocker: warning: config.json: linux.resources.devices are not changed by update (as runc): ignored");
    }
    if let Some(bytes) = limit("linux.resources.memory.limit", memory.and_then(|m| m.get("limit")))? {
        s.limits.memory = Some(bytes);
    }
    if let Some(swap) = memory.and_then(|m| m.get("swap")) {
        // runc's reading: memory and swap together, -1 for no swap limit.
        let total = match swap.as_i64() {
            Some(-1) => u64::MAX,
            Some(n) if n > 0 => n as u64,
            Some(0) => 0,
            _ => return Err(bad("linux.resources.memory.swap", "a positive number, or -1 for none")),
        };
        if total != 0 {
            if !creating {
                return Err(bad("linux.resources.memory.swap", "not changed by update"));
            }
            match s.limits.memory {
                Some(m) if total >= m => s.limits.swap = Some(total),
                Some(_) => return Err(bad("linux.resources.memory.swap", "less than the memory limit (it is memory and swap together)")),
                None => return Err(bad("linux.resources.memory.swap", "a swap limit needs a memory limit")),
            }
        }
    }
    if let Some(soft) = limit("linux.resources.memory.reservation", memory.and_then(|m| m.get("reservation")))? {
        s.limits.memory_reservation = Some(soft);
    }
    for field in ["kernel", "kernelTCP"] {
        if memory.and_then(|m| m.get(field)).and_then(|v| v.as_i64()).is_some_and(|n| n != 0) {
            linker::say!(2; "knocker: warning: config.json: linux.resources.memory.", field, " ignored (kernel memory limits are gone since Linux 5.16; runc ignores them too)");
        }
    }
    match memory.and_then(|m| m.get("swappiness")).map(|v| v.as_u64()) {
        None => {}
        Some(Some(n @ 0..=100)) => s.limits.swappiness = Some(n),
        // runc's "unset" (Go's -1 through a uint64, as Docker writes it).
        Some(Some(u64::MAX)) => {}
        Some(_) => return Err(bad("linux.resources.memory.swappiness", "from 0 to 100")),
    }
    if memory.and_then(|m| m.get("disableOOMKiller")).and_then(|v| v.as_bool()) == Some(true) {
        s.limits.disable_oom_killer = true;
    }
    if let Some(n) = limit("linux.resources.pids.limit", r.get("pids").and_then(|p| p.get("limit")))? {
        s.limits.pids = Some(n);
    }
    let mut more = spec::MoreLimits::default();
    if let Some(b) = r.get("blockIO") {
        more.block_io = block_io(b, arena)?;
    }
    if let Some(pages) = r.get("hugepageLimits").filter(|p| p.items().next().is_some()) {
        let mut list = arena.list(pages.items().count()).ok_or_else(too_large)?;
        for p in pages.items() {
            let field = "linux.resources.hugepageLimits[].pageSize";
            let size = bytes(arena, p.get("pageSize").ok_or_else(|| bad(field, "missing"))?, field)?;
            // The kernel's names: 64KB, 2MB, 1GB …
            let digits = size.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || !matches!(&size[digits..], b"KB" | b"MB" | b"GB") {
                return Err(bad(field, "a page size as the kernel names it (2MB, 1GB)"));
            }
            list.push((size, p.get("limit").and_then(|l| l.as_u64()).unwrap_or(0)));
        }
        more.hugepages = list.done();
    }
    if let Some(files) = r.get("unified") {
        more.unified = unified(files, arena)?;
    }
    if more != spec::MoreLimits::default() {
        let mut at = arena.list(1).ok_or_else(too_large)?;
        at.push(more);
        s.limits.more = at.done().first();
    }
    if let Some(cpu) = r.get("cpu") {
        // 0 is unset, as runc reads it; the kernel's range otherwise.
        match cpu.get("shares").and_then(|v| v.as_u64()) {
            None | Some(0) => {}
            Some(n @ 2..=262_144) => s.limits.cpu_shares = Some(n),
            Some(_) => return Err(bad("linux.resources.cpu.shares", "from 2 to 262144")),
        }
        let period = cpu.get("period").and_then(|p| p.as_u64());
        if period.is_some_and(|p| !PERIOD_US.contains(&p)) {
            return Err(bad("linux.resources.cpu.period", "from 1000 to 1000000 µs"));
        }
        match cpu.get("quota").map(|q| q.as_i64()) {
            // 0 is unset and -1 no limit, as runc reads them.
            None | Some(Some(0 | -1)) => {
                if period.is_some_and(|p| p != spec::CPU_PERIOD_US) {
                    return Err(bad("linux.resources.cpu.period", "a period without a quota is not supported"));
                }
            }
            Some(Some(q)) if q >= 1000 => {
                // Kept as given, period and all (5000 per 1000000 stays that).
                s.limits.cpu_quota_us = Some(q as u64);
                s.limits.cpu_period_us = period.unwrap_or(spec::CPU_PERIOD_US);
            }
            _ => return Err(bad("linux.resources.cpu.quota", "at least 1000 µs, or -1 for none")),
        }
        match cpu.get("realtimePeriod").and_then(|v| v.as_u64()) {
            None | Some(0) => {}
            Some(p) if PERIOD_US.contains(&p) => s.limits.rt_period_us = Some(p),
            Some(_) => return Err(bad("linux.resources.cpu.realtimePeriod", "from 1000 to 1000000 µs")),
        }
        match cpu.get("realtimeRuntime").and_then(|v| v.as_i64()) {
            None | Some(0) => {}
            Some(n) if n == -1 || n > 0 => s.limits.rt_runtime_us = Some(n),
            Some(_) => return Err(bad("linux.resources.cpu.realtimeRuntime", "a positive number of µs, or -1 for none")),
        }
        for (field, name, slot) in [("cpus", "linux.resources.cpu.cpus", &mut s.limits.cpus), ("mems", "linux.resources.cpu.mems", &mut s.limits.mems)] {
            let Some(v) = cpu.get(field) else { continue };
            let list = v.raw_str().ok_or_else(|| bad(name, "a string"))?;
            if list.is_empty() {
                continue;
            }
            if !cpu_list(list) {
                return Err(bad(name, "a list such as 0-3,6 (numbers, ranges, commas)"));
            }
            *slot = Some(list);
        }
    }
    Ok(())
}

/// The kernel's list syntax for CPUs and memory nodes: `N` or `N-M`, comma-separated.
fn cpu_list(list: &[u8]) -> bool {
    list.split(|&c| c == b',').all(|part| {
        let mut ends = part.splitn(2, |&c| c == b'-');
        let first = ends.next().and_then(linker::text::decimal_value);
        match (first, ends.next().map(linker::text::decimal_value)) {
            (Some(_), None) => true,
            (Some(a), Some(Some(b))) => a <= b,
            _ => false,
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use launcher::cgroup::devices::{self, Rule};

    pub fn leak(b: &[u8]) -> &'static [u8] {
        Box::leak(b.to_vec().into_boxed_slice())
    }

    /// `config.json` read for a bundle at /bundle, or its one line of refusal.
    pub fn read_doc(doc: &[u8]) -> core::result::Result<Config, String> {
        let mut arena = Arena::new().unwrap();
        read(leak(doc), b"/bundle", b"id", &mut arena).map_err(|e| String::from_utf8_lossy(e.line().as_bytes()).into_owned())
    }

    /// JSON text without the blanks between its tokens.
    fn compact(text: &str) -> String {
        let (mut out, mut quoted, mut escaped) = (String::new(), false, false);
        for c in text.chars() {
            if quoted || !c.is_whitespace() {
                out.push(c);
            }
            if quoted && !escaped && c == '"' {
                quoted = false;
            } else if !quoted && c == '"' {
                quoted = true;
            }
            escaped = quoted && !escaped && c == '\\';
        }
        out
    }

    /// knocker's default config with `edits` made to its text (compared without blanks).
    fn with(edits: &[(&str, &str)]) -> Vec<u8> {
        let mut doc = compact(crate::DEFAULT_SPEC);
        for (from, to) in edits {
            let from = compact(from);
            assert!(doc.contains(&from), "{from}");
            doc = doc.replacen(&from, to, 1);
        }
        doc.into_bytes()
    }

    fn ok(edits: &[(&str, &str)]) -> Config {
        read_doc(&with(edits)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn refused(edits: &[(&str, &str)]) -> String {
        match read_doc(&with(edits)) {
            Ok(_) => panic!("read: {edits:?}"),
            Err(e) => e,
        }
    }

    const USER: &str = r#""uid": 0,"#;
    const NNP: &str = r#""noNewPrivileges": true"#;
    const RESOURCES: &str = r#""devices": [
        {
          "allow": false,
          "access": "rwm"
        }
      ]"#;

    #[test]
    fn the_default_config_reads() {
        let c = ok(&[]);
        assert_eq!(c.spec.rootfs, c"/bundle/rootfs");
        assert!(c.spec.read_only && !c.spec.allow_new_privs && c.terminal);
        assert_eq!(c.spec.uid, 0);
        // Its /dev/shm is knocker's own: no second mount over it; /dev/mqueue and /sys remain.
        assert!(matches!(c.spec.mounts, [Mount::Fs { dst: b"/dev/mqueue", .. }, Mount::Sys]), "{:?}", c.spec.mounts);
        // Any other /dev/shm is mounted over knocker's (before: dropped, with Docker's
        // --shm-size and a pod's shared one).
        let shm = |entry: &str| ok(&[(r#""mounts": ["#, &format!(r#""mounts": [{entry},"#)), (r#""destination": "/dev/shm""#, r#""destination": "/dev/shm-default""#)]).spec.mounts[0];
        let sized = shm(r#"{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=1g"]}"#);
        assert!(matches!(sized, Mount::Fs { dst: b"/dev/shm", data: Some(d), .. } if d.to_bytes() == b"mode=1777,size=1g"), "{sized:?}");
        let pods = shm(r#"{"destination": "/dev/shm", "type": "bind", "source": "/run/pod/shm", "options": ["rbind", "rw"]}"#);
        assert!(matches!(pods, Mount::Bind { dst: b"/dev/shm", src: b"/run/pod/shm", .. }), "{pods:?}");
    }

    #[test]
    fn cgroups_paths_of_both_styles() {
        let mut arena = Arena::new().unwrap();
        assert_eq!(cgroup_path(b"/libpod_parent/libpod-abc", &mut arena).ok(), Some(&b"libpod_parent/libpod-abc"[..]));
        assert_eq!(cgroup_path(b"machine.slice:libpod:abc", &mut arena).ok(), Some(&b"machine.slice/libpod-abc.scope"[..]));
        // Before: a pod's slice landed at the root, outside its QoS class's and pod's groups.
        assert_eq!(
            cgroup_path(b"kubepods-burstable-pod12ab.slice:cri-containerd:c0ffee", &mut arena).ok(),
            Some(&b"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12ab.slice/cri-containerd-c0ffee.scope"[..])
        );
        assert_eq!(cgroup_path(b"kubepods.slice:cri-containerd:x", &mut arena).ok(), Some(&b"kubepods.slice/cri-containerd-x.scope"[..]));
        assert_eq!(cgroup_path(b":docker:x", &mut arena).ok(), Some(&b"system.slice/docker-x.scope"[..]));
        assert_eq!(cgroup_path(b"-.slice:p:x", &mut arena).ok(), Some(&b"p-x.scope"[..]));
        assert_eq!(cgroup_path(b"user.slice:p:inner.slice", &mut arena).ok(), Some(&b"user.slice/inner.slice"[..]));
        for bad in [&b"kubepods--a.slice:p:x"[..], b"-kubepods.slice:p:x", b"kubepods-.slice:p:x", b"kube/pods.slice:p:x", b"kubepods:p:x", b"a.slice:p:", b"a.slice:p:x/y"] {
            let e = String::from_utf8_lossy(cgroup_path(bad, &mut arena).unwrap_err().line().as_bytes()).into_owned();
            assert!(e.contains("linux.cgroupsPath"), "{}: {e}", String::from_utf8_lossy(bad));
        }
        assert!(systemd_form(b"a.slice:p:x") && !systemd_form(b"/a:b:c") && !systemd_form(b"a/b"));
        assert!(cgroup_path(b"/a/../b", &mut arena).is_err());
        assert!(cgroup_path(b"/", &mut arena).is_err());
    }

    #[test]
    fn escaped_names_are_the_fields_they_spell() {
        // Control and case: the plain name and the escaped one are the same field, as in Go
        // (before, the escaped ones were never matched: uid 1000 ran as 0, nnp and seccomp dropped).
        assert_eq!(ok(&[(USER, r#""uid": 1000,"#)]).spec.uid, 1000);
        assert_eq!(ok(&[(USER, r#""ui\u0064": 1000,"#)]).spec.uid, 1000);
        assert!(!ok(&[(NNP, r#""noNewPrivilege\u0073": true"#)]).spec.allow_new_privs);
        assert!(ok(&[(NNP, r#""noNewPrivilege\u0073": false"#)]).spec.allow_new_privs);
        let profile = r#""s\u0065ccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}, "maskedPaths""#;
        assert!(matches!(ok(&[(r#""maskedPaths""#, profile)]).spec.seccomp, Seccomp::Profile(_)));
    }

    #[test]
    fn twice_given_or_other_case_names_are_refused() {
        // Go takes the last of two, and NoNewPrivileges for noNewPrivileges: knocker says so.
        let e = refused(&[(USER, r#""uid": 1000, "uid": 0,"#)]);
        assert!(e.contains("process.user.uid (given twice"), "{e}");
        let e = refused(&[(NNP, r#""NoNewPrivileges": true"#)]);
        assert!(e.contains("process.NoNewPrivileges: not spelled as noNewPrivileges"), "{e}");
        // A name no object of the spec has: ignored, as the spec says and Go does.
        assert!(!ok(&[(NNP, r#""noNewPrivileges": true, "noNewPrivilege": false"#)]).spec.allow_new_privs);
    }

    #[test]
    fn a_wrong_type_is_refused_not_defaulted() {
        // Before: "true" read as false, a string of names and an object of mounts dropped.
        assert!(ok(&[(r#""readonly": true"#, r#""readonly": true"#)]).spec.read_only);
        assert!(refused(&[(r#""readonly": true"#, r#""readonly": "true""#)]).contains("root.readonly (expected true or false)"));
        assert!(refused(&[(NNP, r#""noNewPrivileges": "true""#)]).contains("process.noNewPrivileges"));
        assert!(refused(&[(USER, r#""uid": 0, "additionalGids": 0,"#)]).contains("process.user.additionalGids (expected an array)"));
        assert!(refused(&[(USER, r#""uid": 01000,"#)]).contains("not valid JSON"));
        assert!(refused(&[(USER, r#""uid": 1000.0,"#)]).contains("process.user.uid (expected an id"));
        assert!(refused(&[(USER, r#""uid": -1,"#)]).contains("process.user.uid"));
        assert_eq!(ok(&[(USER, r#""uid": 4294967294,"#)]).spec.uid, 4294967294);
    }

    fn rules(list: &str) -> core::result::Result<Vec<Rule>, String> {
        read_doc(&with(&[(RESOURCES, &format!(r#""devices": [{{"allow": false, "access": "rwm"}}, {list}]"#))]))
            .map(|c| c.spec.device_rules.to_vec())
    }

    #[test]
    fn device_rules_are_read_as_runc_reads_them_or_refused() {
        let rule = |kind, major, minor, access| Rule { kind, major, minor, access };
        // Controls: what runc reads, read the same.
        assert_eq!(rules(r#"{"allow": true, "type": "b", "major": 8, "minor": 0, "access": "rwm"}"#), Ok(vec![rule(devices::BLOCK, Some(8), Some(0), devices::RWM)]));
        assert_eq!(rules(r#"{"allow": true, "type": "c", "major": 1, "access": "r"}"#), Ok(vec![rule(devices::CHAR, Some(1), None, devices::READ)]));
        assert_eq!(rules(r#"{"allow": true, "type": "c", "major": 136, "minor": -1, "access": "rw"}"#), Ok(vec![rule(devices::CHAR, Some(136), None, devices::READ | devices::WRITE)]));
        assert_eq!(rules(r#"{"allow": true, "major": 1, "minor": 3, "access": "m"}"#), Ok(vec![rule(devices::ANY, Some(1), Some(3), devices::MKNOD)]));
        // Before, each of these widened to a wildcard (`"major": "8"` allowed every whole disk).
        for (bad, field) in [
            (r#"{"allow": true, "type": "b", "major": "8", "minor": 0, "access": "rwm"}"#, "devices[1].major"),
            (r#"{"allow": true, "type": "c", "major": 4294967296, "minor": 1, "access": "r"}"#, "devices[].major"),
            (r#"{"allow": true, "type": "c", "major": -2, "minor": 1, "access": "r"}"#, "devices[].major"),
            (r#"{"allow": true, "type": ["c"], "major": 1, "minor": 3, "access": "r"}"#, "devices[1].type"),
            (r#"{"allow": true, "type": "x", "major": 1, "minor": 3, "access": "r"}"#, "devices[].type"),
            (r#"{"allow": true, "type": "c", "major": 1, "minor": 3, "access": 5}"#, "devices[1].access"),
            (r#"{"allow": true, "type": "c", "major": 1, "minor": 3, "access": ""}"#, "devices[].access"),
            (r#"{"allow": true, "type": "c", "major": 1, "minor": 3}"#, "devices[].access"),
            (r#"{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwx"}"#, "devices[].access"),
        ] {
            let e = rules(bad).unwrap_err();
            assert!(e.contains(field), "{bad}: {e}");
        }
    }

    fn caps(list: &str) -> core::result::Result<u64, String> {
        let set = r#""bounding": [
        "CAP_AUDIT_WRITE",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE"
      ],"#;
        read_doc(&with(&[(set, &format!(r#""bounding": [{list}],"#))])).map(|c| c.spec.caps)
    }

    #[test]
    fn capabilities_are_runcs_names_exactly() {
        assert_eq!(caps(r#""CAP_SYS_ADMIN", "CAP_KILL""#), Ok((1 << 21) | (1 << 5)));
        // Before: CAP_ALL gave every bit, lowercase and bare names were read. Now, as runc and
        // the spec: an unknown name gives nothing (with a warning), and the rest still count.
        for bad in ["CAP_ALL", "ALL", "cap_sys_admin", "SYS_PTRACE", "CAP_sys_admin", "CAP_NOT_YET"] {
            assert_eq!(caps(&format!("\"{bad}\", \"CAP_KILL\"")), Ok(1 << 5), "{bad}");
        }
    }

    #[test]
    fn id_mappings_need_a_user_namespace() {
        let maps = r#""uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}], "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}], "maskedPaths""#;
        let userns = r#""namespaces": [
      {
        "type": "user"
      },"#;
        // Control: with one the maps are read (and written once PID 1 exists).
        let c = ok(&[(r#""maskedPaths""#, maps), (r#""namespaces": ["#, userns)]);
        assert_eq!(c.id_maps[0], b"0 100000 65536\n");
        // Before: without one the mappings were ignored and the container ran as host root.
        assert!(refused(&[(r#""maskedPaths""#, maps)]).contains("linux.uidMappings (id mappings without a user namespace"));
        let past = r#""uidMappings": [{"containerID": 1, "hostID": 0, "size": 4294967295}], "gidMappings": [{"containerID": 0, "hostID": 0, "size": 1}], "maskedPaths""#;
        assert!(refused(&[(r#""maskedPaths""#, past), (r#""namespaces": ["#, userns)]).contains("a range past 4294967295"));
    }

    #[test]
    fn a_type_left_out_is_the_hosts() {
        use libc::{CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS};
        assert_eq!(ok(&[]).spec.shared_ns, 0);
        // Before: refused ("sharing the host's pid, mount, ipc or uts namespace is not supported").
        let c = ok(&[(r#"{ "type": "pid" },"#, ""), (r#"{ "type": "ipc" },"#, "")]);
        assert_eq!(c.spec.shared_ns, (CLONE_NEWPID | CLONE_NEWIPC) as u64);
        let c = ok(&[(r#""hostname": "knocker","#, ""), (r#"{ "type": "uts" },"#, ""), (r#"{ "type": "mount" },"#, ""), (r#"{ "type": "cgroup" }"#, r#"{ "type": "pid", "path": "/proc/1/ns/pid" }"#), (r#"{ "type": "pid" },"#, "")]);
        // The config mounts /sys/fs/cgroup: that view keeps a cgroup namespace of its own.
        assert_eq!(c.spec.shared_ns, (CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWPID) as u64, "the joined PID namespace is not made new");
        assert_eq!(c.spec.pid_join.map(|p| p.to_bytes()), Some(&b"/proc/1/ns/pid"[..]));
        assert!(refused(&[(r#"{ "type": "uts" },"#, "")]).contains("hostname (a host name needs"));
        assert!(refused(&[(r#"{ "type": "uts" },"#, r#"{ "type": "ipc" },"#)]).contains("a type given twice: ipc"));
    }

    #[test]
    fn net_sysctls_are_refused_in_knockers_own_network_namespace() {
        let sysctl = r#""sysctl": {"net.ipv4.ip_forward": "1"}, "maskedPaths""#;
        // Control: a network namespace of its own takes them.
        assert_eq!(ok(&[(r#""maskedPaths""#, sysctl)]).spec.sysctls.len(), 1);
        let joined = r#""type": "network", "path": "/proc/self/ns/net""#;
        let e = refused(&[(r#""maskedPaths""#, sysctl), (r#""type": "network""#, joined)]);
        assert!(e.contains("linux.sysctl: net.* in the network namespace knocker runs in"), "{e}");
        // Without a network namespace: the host's, refused as before.
        let e = refused(&[(r#""maskedPaths""#, sysctl), (r#"{ "type": "network" },"#, "")]);
        assert!(e.contains("not a sysctl of the container's own namespaces"), "{e}");
        assert!(refused(&[(r#""maskedPaths""#, r#""sysctl": {"kernel.hostname": "x"}, "maskedPaths""#)]).contains("kernel.hostname"));
    }

    #[test]
    fn system_mount_points_compare_normalised() {
        let extra = |dst: &str| format!(r#""mounts": [{{"destination": "{dst}", "type": "tmpfs", "source": "tmpfs"}},"#);
        // Control: an ordinary destination is a mount, at its normal form.
        let c = ok(&[(r#""mounts": ["#, &extra("/data//x/./"))]);
        assert!(matches!(c.spec.mounts, [Mount::Fs { dst: b"/data/x", .. }, ..]), "{:?}", c.spec.mounts);
        // Before: with a trailing slash these escaped knocker's own /dev and cgroup view.
        for dst in ["/dev/", "//dev", "/./dev/.", "/sys/fs/cgroup/", "/sys//fs/cgroup"] {
            let c = ok(&[(r#""mounts": ["#, &extra(dst))]);
            assert!(!c.spec.mounts.iter().any(|m| matches!(m, Mount::Fs { dst: b"/dev" | b"/sys/fs/cgroup", .. })), "{dst}");
        }
        assert!(ok(&[(r#""mounts": ["#, &extra("/sys/fs/cgroup/"))]).spec.cgroup_view);
        assert!(refused(&[(r#""mounts": ["#, &extra("/a/../dev"))]).contains("mounts[].destination (must not contain ..)"));
    }

    #[test]
    fn mount_options_in_order_and_nothing_dropped() {
        let bind = |opts: &str| format!(r#""mounts": [{{"destination": "/data", "type": "bind", "source": "/etc", "options": [{opts}]}},"#);
        let flags = |opts: &str| match ok(&[(r#""mounts": ["#, &bind(opts))]).spec.mounts[0] {
            Mount::Bind { flags, .. } => flags,
            _ => panic!("not a bind"),
        };
        // As runc: `ro`, `nosuid`, `noexec`, `nosymfollow` are the top mount's (before: `ro`
        // made every mount below a bind read-only too), the `r…` forms every mount's.
        let top = |f: u64| f << spec::TOP_ONLY;
        assert_eq!(flags(r#""rbind", "ro""#), MS_REC | top(MS_RDONLY));
        assert_eq!(flags(r#""rbind", "nosuid", "noexec", "nosymfollow""#), MS_REC | top(MS_NOSUID | MS_NOEXEC | MS_NOSYMFOLLOW));
        // Before: `rw` after `ro` stayed read-only (runc: read-write), `rro` and the rest were dropped.
        assert_eq!(flags(r#""rbind", "ro", "rw""#), MS_REC);
        assert_eq!(flags(r#""rbind", "rro", "rnosuid", "rnodev", "rnoexec""#), MS_REC | MS_RDONLY | MS_NOSUID | MS_NOEXEC);
        assert_eq!(flags(r#""rbind", "rro", "rw""#), MS_REC | MS_RDONLY, "rw is the top mount's, rro stays");
        // On a file system of its own both forms are its flags.
        let fs = |opts: &str| match ok(&[(r#""mounts": ["#, &format!(r#""mounts": [{{"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": [{opts}]}},"#))]).spec.mounts[0] {
            Mount::Fs { flags, .. } => flags,
            _ => panic!("not a file system"),
        };
        assert_eq!(fs(r#""ro", "nosuid", "rnoexec", "nosymfollow""#), MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NOSYMFOLLOW);
        // The access-time options apply to the top mount; file system options go nowhere
        // with a bind (warned, as the kernel ignores them under runc).
        assert_eq!(flags(r#""rbind", "noatime", "strictatime""#), MS_REC | MS_NOATIME | MS_STRICTATIME);
        assert_eq!(flags(r#""rbind", "mode=755""#), MS_REC);
        // Said, not applied: knocker mounts everything nodev; each mount is a new one.
        assert_eq!(flags(r#""rbind", "dev", "remount""#), MS_REC);
        for (bad, what) in [("\"rnosymfollow\"", "rnosymfollow"), ("\"idmap\"", "idmap"), ("\"sync\"", "sync")] {
            let e = refused(&[(r#""mounts": ["#, &bind(&format!("\"rbind\", {bad}")))]);
            assert!(e.contains(what), "{e}");
        }
    }

    #[test]
    fn nothing_is_cut_short() {
        // root.path of any length (before: cut at 4095 bytes).
        let long = "r".repeat(10_000);
        let c = ok(&[(r#""path": "rootfs""#, &format!(r#""path": "{long}""#))]);
        assert_eq!(c.spec.rootfs.to_bytes().len(), "/bundle/".len() + 10_000);
        // Annotations of any size are read whole (the state keeps the config itself; before:
        // saved cut at 4 KiB, unreadable). Kubernetes passes up to 256 KiB.
        let big = format!(r#""annotations": {{"a": "{}"}}, "linux""#, "x".repeat(256 << 10));
        assert!(ok(&[(r#""linux""#, &big)]).annotations.len() > 256 << 10);
    }

    #[test]
    fn deny_rules_after_allows_are_read_in_order_as_the_devices_controller_reads_them() {
        let rule = |kind, major, minor, access| Rule { kind, major, minor, access };
        let allow = |t: &str, major: i64, minor: i64, access: &str| format!(r#"{{"allow": true, "type": "{t}", "major": {major}, "minor": {minor}, "access": "{access}"}}"#);
        let deny = |t: &str, major: i64, minor: i64, access: &str| format!(r#"{{"allow": false, "type": "{t}", "major": {major}, "minor": {minor}, "access": "{access}"}}"#);
        // Docker's default list: deny all, allows, then a deny of fuse (c 10:229). Before:
        // refused ("a deny rule after an allow rule"), so `docker run --runtime knocker` failed.
        let docker = [allow("c", 1, 5, "rwm"), allow("c", 1, 3, "rwm"), allow("c", 136, -1, "rwm"), deny("c", 10, 229, "rwm")].join(",");
        assert_eq!(
            rules(&docker),
            Ok(vec![rule(devices::CHAR, Some(1), Some(5), devices::RWM), rule(devices::CHAR, Some(1), Some(3), devices::RWM), rule(devices::CHAR, Some(136), None, devices::RWM)])
        );
        // A deny of exactly an allowed device takes its accesses away, all of them drops it.
        let partly = [allow("c", 1, 5, "rwm"), allow("b", 8, 0, "rw"), deny("c", 1, 5, "w"), deny("b", 8, 0, "rw")].join(",");
        assert_eq!(rules(&partly), Ok(vec![rule(devices::CHAR, Some(1), Some(5), devices::READ | devices::MKNOD)]));
        // A type or numbers that differ are another device: no change.
        let other = [allow("c", 1, 5, "rwm"), deny("b", 1, 5, "rwm"), deny("c", 1, 6, "rwm")].join(",");
        assert_eq!(rules(&other), Ok(vec![rule(devices::CHAR, Some(1), Some(5), devices::RWM)]));
        // A deny inside a wildcard allow cannot be kept apart from it: refused, never dropped.
        for wide in [allow("c", 136, -1, "rw"), allow("c", -1, 3, "r"), allow("a", -1, -1, "r")] {
            let e = rules(&[wide.clone(), deny("c", 136, 3, "r")].join(",")).unwrap_err();
            assert!(e.contains("linux.resources.devices (a deny rule inside an earlier allow of a wildcard"), "{wide}: {e}");
        }
        // ...unless they share no access (mknod of anything, then no reading of one node).
        assert!(rules(&[allow("c", -1, -1, "m"), deny("c", 136, 3, "r")].join(",")).is_ok());
        // A later deny of everything drops what came before it.
        assert_eq!(rules(&[allow("c", 1, 5, "rwm"), r#"{"allow": false, "access": "rwm"}"#.into(), allow("c", 1, 3, "r")].join(",")), Ok(vec![rule(devices::CHAR, Some(1), Some(3), devices::READ)]));
    }

    #[test]
    fn what_was_dropped_is_refused_or_said() {
        // A type given twice (before: both applied, the last winning).
        let twice = r#""rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}, {"type": "RLIMIT_NOFILE", "hard": 10, "soft": 10}],"#;
        let e = refused(&[(r#""rlimits": ["#, &format!("{twice} \"x\": [")), ]);
        assert!(e.contains("process.rlimits: a type given twice: RLIMIT_NOFILE"), "{e}");
        // A mount label knocker does not apply (before: accepted where SELinux runs).
        let e = refused(&[(r#""linux": {"#, r#""linux": {"mountLabel": "system_u:object_r:container_file_t:s0","#)]);
        assert!(e.contains("linux.mountLabel"), "{e}");
        // update: -1 (no limit) was read as "keep the old limit".
        let update = |doc: &str| {
            let mut s = Spec::new(c"/");
            let top = json::parse(leak(doc.as_bytes())).unwrap();
            resources(&mut s, top, &mut Arena::new().unwrap()).map(|_| s.limits).map_err(|e| String::from_utf8_lossy(e.line().as_bytes()).into_owned())
        };
        assert_eq!(update(r#"{"memory": {"limit": 1000000}}"#).unwrap().memory, Some(1000000));
        for (doc, field) in [(r#"{"memory": {"limit": -1}}"#, "linux.resources.memory.limit"), (r#"{"pids": {"limit": -1}}"#, "linux.resources.pids.limit")] {
            let e = update(doc).unwrap_err();
            assert!(e.contains(field) && e.contains("-1 (no limit) is not applied by update"), "{e}");
        }
        // ...while at create -1 is no limit, as runc reads it.
        assert_eq!(ok(&[(RESOURCES, &format!(r#""memory": {{"limit": -1}}, {RESOURCES}"#))]).spec.limits.memory, None);
    }

    #[test]
    fn lists_of_the_sizes_engines_send() {
        let array = |n: usize, item: &dyn Fn(usize) -> String| (0..n).map(item).collect::<Vec<_>>().join(",");
        let linux = r#""linux": {"#;
        // Before: more than 32 devices were refused (a privileged container gets every host node).
        let node = |i: usize| format!(r#"{{"path": "/dev/n{i}", "type": "c", "major": 240, "minor": {i}}}"#);
        let devices = |n| format!(r#""linux": {{"devices": [{}],"#, array(n, &node));
        assert_eq!(ok(&[(linux, &devices(1000))]).spec.devices.len(), 1000);
        assert_eq!(ok(&[(linux, &devices(spec::MAX_DEVICES))]).spec.devices.len(), spec::MAX_DEVICES);
        assert!(refused(&[(linux, &devices(spec::MAX_DEVICES + 1))]).contains("linux.devices (more than 4096 devices)"));
        let sysctl = |n| format!(r#""linux": {{"sysctl": {{{}}},"#, array(n, &|i| format!(r#""kernel.shm_rmid_forced{i}": "1""#)));
        assert_eq!(ok(&[(linux, &sysctl(300))]).spec.sysctls.len(), 300);
        let e = refused(&[(linux, &sysctl(launcher::process_limits::MAX_SYSCTLS + 1))]);
        assert!(e.contains("linux.sysctl (more than 1024 "), "{e}");
        let masked = |n| format!(r#""linux": {{"maskedPaths": [{}],"#, array(n, &|i| format!(r#""/proc/m{i}""#)));
        let c = ok(&[(r#""maskedPaths": ["#, r#""maskedPaths_": ["#), (linux, &masked(300))]);
        assert_eq!(c.spec.masked_paths.map(|m| m.len()), Some(300));
        assert!(refused(&[(r#""maskedPaths": ["#, r#""maskedPaths_": ["#), (linux, &masked(spec::MAX_PROC_PATHS + 1))]).contains("linux.maskedPaths (more than 1024 paths)"));
        let gids = |n| format!(r#""uid": 0, "additionalGids": [{}],"#, array(n, &|i| i.to_string()));
        assert_eq!(ok(&[(USER, &gids(300))]).spec.groups.len(), 300);
        assert!(refused(&[(USER, &gids(spec::MAX_GROUPS + 1))]).contains("process.user.additionalGids (more than 65536 groups"));
        let tmpfs = |n| format!(r#""mounts": [{}, "#, array(n, &|i| format!(r#"{{"destination": "/t{i}", "type": "tmpfs", "source": "tmpfs"}}"#)));
        assert_eq!(ok(&[(r#""mounts": ["#, &tmpfs(300))]).spec.mounts.len(), 300 + 2, "the default config's /dev/mqueue and /sys are the other two");
        assert!(refused(&[(r#""mounts": ["#, &tmpfs(spec::MAX_MOUNTS))]).contains("mounts (more than 1024 mounts)"));
    }

    #[test]
    fn environments_of_any_size_engines_send() {
        let env = |n: usize| {
            let list: Vec<String> = (0..n).map(|i| format!("\"V{i}=x\"")).collect();
            format!(r#""env": [{}],"#, list.join(","))
        };
        let from = r#""env": [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "TERM=xterm"
    ],"#;
        // Before: more than 64 were refused (Kubernetes sends that many).
        assert_eq!(ok(&[(from, &env(70))]).spec.env.len(), 70);
        assert_eq!(ok(&[(from, &env(spec::MAX_ENV))]).spec.env.len(), spec::MAX_ENV);
        assert!(refused(&[(from, &env(spec::MAX_ENV + 1))]).contains("process.env (more than 4096 entries)"));
    }

    #[test]
    fn resources_are_applied_as_given_or_refused() {
        let r = |json: &str| format!(r#"{RESOURCES}, {json}"#);
        // Before: 5000 per 1000000 became 500 per 100000, under the kernel's 1 ms, and was dropped.
        let c = ok(&[(RESOURCES, &r(r#""cpu": {"quota": 5000, "period": 1000000}"#))]);
        assert_eq!((c.spec.limits.cpu_quota_us, c.spec.limits.period_us()), (Some(5000), 1_000_000));
        let c = ok(&[(RESOURCES, &r(r#""cpu": {"quota": 50000}, "memory": {"limit": 1000000, "swap": 2000000}, "pids": {"limit": 50}"#))]);
        assert_eq!((c.spec.limits.cpu_quota_us, c.spec.limits.period_us()), (Some(50000), 100_000));
        assert_eq!((c.spec.limits.memory, c.spec.limits.swap, c.spec.limits.pids), (Some(1000000), Some(2000000), Some(50)));
        assert_eq!(ok(&[(RESOURCES, &r(r#""memory": {"limit": 1000000, "swap": -1}"#))]).spec.limits.swap, Some(u64::MAX));
        // Before: every one of these was refused as not supported.
        let l = ok(&[(RESOURCES, &r(r#""memory": {"reservation": 4096, "swappiness": 10, "disableOOMKiller": true, "kernel": 1}, "cpu": {"cpus": "0,2-3", "mems": "0", "realtimePeriod": 1000000, "realtimeRuntime": 950000}"#))]).spec.limits;
        assert_eq!((l.memory_reservation, l.swappiness, l.disable_oom_killer), (Some(4096), Some(10), true));
        assert_eq!((l.cpus, l.mems, l.rt_period_us, l.rt_runtime_us), (Some(&b"0,2-3"[..]), Some(&b"0"[..]), Some(1_000_000), Some(950_000)));
        // The kubelet's cgroup2 files by name (before: refused, every pod on a cgroup v2 node).
        let u = ok(&[(RESOURCES, &r(r#""unified": {"memory.oom.group": "1", "memory.high": "max"}"#))]).spec.limits.more.map(|m| m.unified);
        assert_eq!(u, Some(&[(&b"memory.oom.group"[..], &b"1"[..]), (b"memory.high", b"max")][..]));
        // Block I/O and hugepages (before: refused as not supported).
        let l = ok(&[(RESOURCES, &r(r#""blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 500}, {"major": 8, "minor": 16}], "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}], "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 100}]}, "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]"#))]).spec.limits;
        let b = l.more.unwrap().block_io.unwrap();
        assert_eq!((b.weight, b.weight_devices, b.throttles), (Some(300), &[(8, 0, 500)][..], &[(0, 8, 0, 1048576), (3, 254, 0, 100)][..]));
        assert_eq!(l.more.unwrap().hugepages, &[(&b"2MB"[..], 4194304)][..]);
        assert!(ok(&[(RESOURCES, &r(r#""blockIO": {"weight": 0, "weightDevice": []}"#))]).spec.limits.more.is_none(), "asks nothing");
        // Docker's zero values ask nothing (as runc reads them): accepted.
        ok(&[(RESOURCES, &r(r#""blockIO": {"weight": 0}, "cpu": {"shares": 0}, "memory": {"disableOOMKiller": false}"#))]);
        for (bad, what) in [
            (r#""cpu": {"quota": "50000"}"#, "cpu.quota (expected an integer"),
            (r#""cpu": {"quota": 500}"#, "cpu.quota (at least 1000"),
            (r#""cpu": {"quota": 5000, "period": 10}"#, "cpu.period"),
            (r#""memory": {"limit": 100, "swap": 50}"#, "memory.swap (less than"),
            (r#""memory": {"swap": 50}"#, "memory.swap (a swap limit needs"),
            (r#""memory": {"reservation": -2}"#, "memory.reservation"),
            (r#""memory": {"swappiness": 101}"#, "memory.swappiness (from 0 to 100"),
            (r#""cpu": {"cpus": "0-"}"#, "cpu.cpus (a list"),
            (r#""cpu": {"mems": "1-0"}"#, "cpu.mems (a list"),
            (r#""cpu": {"realtimePeriod": 10}"#, "cpu.realtimePeriod"),
            (r#""unified": {"../memory.high": "50M"}"#, "resources.unified (a cgroup v2 file"),
            (r#""unified": {"cgroup.procs": "1"}"#, "resources.unified (cgroup.* files are knocker's"),
            (r#""blockIO": {"weight": 5}"#, "resources.blockIO.weight (a weight from 10 to 1000"),
            (r#""blockIO": {"throttleReadBpsDevice": [{"major": -1, "minor": 0, "rate": 1}]}"#, "blockIO.throttle"),
            (r#""hugepageLimits": [{"pageSize": "2M", "limit": 0}]"#, "resources.hugepageLimits[].pageSize"),
            (r#""cpu": {"shares": 1}"#, "cpu.shares (from 2 to 262144"),
        ] {
            let e = refused(&[(RESOURCES, &r(bad))]);
            assert!(e.contains(what), "{bad}: {e}");
        }
    }
}
