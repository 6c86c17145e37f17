//! What survives the `create` process: `<root>/<id>/state.json` (written to a temporary name
//! and renamed), and `<root>/<id>/exec.fifo` until the container is started. The status is not
//! stored but seen: `stopped` when PID 1 is gone (or its pid now names another process — the
//! start time is kept to tell), `created` while the fifo exists, else `running`.

use crate::json::{self, Value};
use launcher::error::{Context, Error, Result};
use linker::sys::fs::{self, O_CREAT, O_DIRECTORY, O_RDONLY, O_TRUNC, O_WRONLY};
use linker::sys::{Errno, process};
use linker::{Text, TextBuf};

pub const OCI_VERSION: &str = "1.2.0";

pub type Path = Text<512>;

/// A container's directory under the state root.
pub fn dir(root: &[u8], id: &[u8]) -> Path {
    let mut p = Path::new();
    p.bytes(root).push("/").bytes(id);
    p
}

pub fn file(root: &[u8], id: &[u8], name: &str) -> Path {
    let mut p = dir(root, id);
    p.push("/").push(name);
    p
}

/// runc's rule for ids: letters, digits, `_ + - .`, not `.` or `..`, at most 1024 bytes.
pub fn valid_id(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= 1024 && id != b"." && id != b".." && id.iter().all(|&c| c.is_ascii_alphanumeric() || b"_+-.".contains(&c))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// Which seccomp filter the container has (a config's profile is read again from the kept
/// config for `exec`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Unconfined = 0,
    Default = 1,
    Profile = 2,
}

/// What state.json holds, read back. The config the container was made from is kept beside
/// it as `config.json` ([`save_config`]): its annotations, hooks, process and seccomp profile
/// are read from there by the later verbs, never from the bundle again (a container may
/// write to its own bundle).
pub struct Saved {
    pub pid: i32,
    pub start_time: u64,
    pub bundle: Text<4096>,
    pub created: Text<40>,
    /// What a process `exec`'d into the container gets unless its own process.json says:
    /// the container's capability set and its seccomp filter.
    pub caps: u64,
    pub seccomp: Filter,
    /// The container's group, relative to each hierarchy's root.
    pub cgroup: launcher::cgroup::Group,
    /// Its directory in the first hierarchy as made at create (`DEV INO PATH`; empty: no
    /// group): later verbs touch the group only while it is still that directory — a group of
    /// the same path made since belongs to someone else.
    pub cgroup_mark: Text<320>,
}

impl Saved {
    /// The container's group, while it is still the one made at create; None when it is gone
    /// or another has taken its path since.
    pub fn group(&self) -> Option<&[u8]> {
        if self.cgroup_mark.is_empty() {
            return Some(self.cgroup.as_bytes());
        }
        let mut mark = launcher::cgroup::stale::Mark::parse(self.cgroup_mark.as_bytes())?;
        mark.still_there().then_some(self.cgroup.as_bytes())
    }
}

/// The start time of `pid` (clock ticks since boot): the launcher's own reading of it.
pub use launcher::manage::start_time;

/// `s` as the inside of a JSON string, piece by piece.
fn escaped(s: &[u8], mut put: impl FnMut(&[u8])) {
    for c in s.chunk_by(|a, b| !needs_escape(*a) && !needs_escape(*b)) {
        match c {
            [b'"'] => put(b"\\\""),
            [b'\\'] => put(b"\\\\"),
            [c @ 0..=0x1f] => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                put(&[b'\\', b'u', b'0', b'0', HEX[(*c >> 4) as usize], HEX[(*c & 15) as usize]]);
            }
            plain => put(plain),
        }
    }
}

fn needs_escape(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

/// Appends `s` as a JSON string.
pub fn json_string(t: &mut TextBuf, s: &[u8]) {
    t.push("\"");
    escaped(s, |piece| {
        t.bytes(piece);
    });
    t.push("\"");
}

/// A document of any size in the arena: room for it is reserved up front, from the sizes of
/// what goes in, so nothing is ever cut short.
pub struct Doc {
    buf: &'static mut [u8],
    len: usize,
}

impl Doc {
    pub fn new(arena: &mut crate::arena::Arena, capacity: usize) -> Result<Doc> {
        let buf = arena.bytes(capacity, 1).ok_or_else(|| Error::new("out of memory for the state document"))?;
        Ok(Doc { buf, len: 0 })
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Doc {
        // The capacity was computed from the inputs; running past it is a bug, not a cut.
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        self
    }

    pub fn string(&mut self, s: &[u8]) -> &mut Doc {
        self.bytes(b"\"");
        escaped(s, |piece| {
            self.bytes(piece);
        });
        self.bytes(b"\"")
    }

    pub fn number(&mut self, n: i64) -> &mut Doc {
        let mut t = Text::<24>::new();
        t.push(n);
        self.bytes(t.as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Room for `s` as a JSON string, at the worst (every byte a `\u00XX`).
    pub fn room(s: &[u8]) -> usize {
        s.len() * 6 + 2
    }
}

/// The state as runtime-spec's `state` gives it (and hooks get it on stdin), with the
/// config's `annotations` object as written.
pub fn document(id: &[u8], status: &str, pid: i32, bundle: &[u8], annotations: &[u8], arena: &mut crate::arena::Arena) -> Result<&'static [u8]> {
    let mut d = Doc::new(arena, 160 + Doc::room(id) + Doc::room(bundle) + annotations.len())?;
    d.bytes(b"{\"ociVersion\":\"").bytes(OCI_VERSION.as_bytes()).bytes(b"\",\"id\":").string(id);
    d.bytes(b",\"status\":\"").bytes(status.as_bytes()).bytes(b"\",\"pid\":").number(pid as i64);
    d.bytes(b",\"bundle\":").string(bundle).bytes(b",\"annotations\":").bytes(annotations).bytes(b"}");
    let Doc { buf, len } = d;
    Ok(&buf[..len])
}

/// [`document`] for a saved container: its annotations from the kept config.
pub fn render(root: &[u8], id: &[u8], status: Status, saved: &Saved, arena: &mut crate::arena::Arena) -> Result<&'static [u8]> {
    let pid = if status == Status::Stopped { 0 } else { saved.pid };
    let annotations = match config(root, id, arena) {
        Ok(top) => top.get("annotations").filter(|a| a.kind() == json::Kind::Object).map_or(&b"{}"[..], |a| a.src),
        Err(_) => b"{}",
    };
    document(id, status.name(), pid, saved.bundle.as_bytes(), annotations, arena)
}

/// state.json: knocker's own fields.
fn own_fields(saved: &Saved) -> Text<16384> {
    let mut t = Text::new();
    t.push("{\"bundle\":");
    json_string(&mut t, saved.bundle.as_bytes());
    t.push(",\"knocker\":{\"pid\":").push(saved.pid).push(",\"startTime\":").push(saved.start_time);
    t.push(",\"caps\":").push(saved.caps).push(",\"seccomp\":").push(saved.seccomp as u64).push(",\"cgroup\":");
    json_string(&mut t, saved.cgroup.as_bytes());
    t.push(",\"cgroupMark\":");
    json_string(&mut t, saved.cgroup_mark.as_bytes());
    t.push(",\"created\":");
    json_string(&mut t, saved.created.as_bytes());
    t.push("}}");
    t
}

/// Keeps the config the container was made from (`<root>/<id>/config.json`), byte for byte.
pub fn save_config(root: &[u8], id: &[u8], doc: &[u8]) -> Result<()> {
    let mut path = file(root, id, "config.json");
    let fd = fs::openat(fs::AT_FDCWD, path.as_cstr().context("path too long")?, O_WRONLY | O_CREAT | fs::O_EXCL | fs::O_CLOEXEC, 0o600).context_on("cannot write", &path)?;
    fs::write_all(fd.raw(), doc).context_on("cannot write", &path)
}

/// The kept config, parsed (it was checked when the container was made).
pub fn config(root: &[u8], id: &[u8], arena: &mut crate::arena::Arena) -> Result<Value<'static>> {
    let mut path = file(root, id, "config.json");
    let fd = fs::open(path.as_cstr().context("path too long")?, O_RDONLY | fs::O_CLOEXEC).context_on("cannot open", &path)?;
    let size = fs::fstat(fd.raw()).context_on("cannot stat", &path)?.size as usize;
    let buf = arena.bytes(size, 1).ok_or_else(|| Error::new("too large:").on(&path))?;
    let n = fs::read_all(fd.raw(), buf).context_on("cannot read", &path)?;
    let doc: &'static [u8] = &buf[..n];
    json::parse(doc).map_err(|_| Error::new("a damaged state file:").on(&path))
}

/// Writes state.json (temporary name, then rename: readers never see half a file).
pub fn save(root: &[u8], id: &[u8], saved: &Saved) -> Result<()> {
    let text = own_fields(saved);
    if text.overflowed() {
        return Err(Error::new("the state does not fit its file (a bundle path of escapes?)"));
    }
    let mut tmp = file(root, id, "state.json.new");
    let mut done = file(root, id, "state.json");
    let fd = fs::openat(fs::AT_FDCWD, tmp.as_cstr().context("path too long")?, O_WRONLY | O_CREAT | O_TRUNC | fs::O_CLOEXEC, 0o600).context_on("cannot write", &tmp)?;
    fs::write_all(fd.raw(), text.as_bytes()).context_on("cannot write", &tmp)?;
    drop(fd);
    fs::rename(tmp.as_cstr().context("path too long")?, done.as_cstr().context("path too long")?).context_on("cannot write", &done)
}

/// Reads `<root>/<id>/state.json`; an unknown id is an error naming it.
pub fn load(root: &[u8], id: &[u8]) -> Result<Saved> {
    let mut path = file(root, id, "state.json");
    let mut buf = [0u8; 16384];
    let n = match fs::read_file(path.as_cstr().context("path too long")?, &mut buf) {
        Ok(n) => n,
        Err(Errno::ENOENT) => return Err(Error::new("container does not exist:").on(id)),
        Err(e) => return Err(Error::sys("cannot read", e).on(&path)),
    };
    let damaged = || Error::new("a damaged state file:").on(&path);
    let top = json::parse(&buf[..n]).map_err(|_| damaged())?;
    let ours = top.get("knocker").ok_or_else(damaged)?;
    let number = |name| ours.get(name).and_then(|v| v.as_u64()).ok_or_else(damaged);
    let mut saved = Saved {
        pid: i32::try_from(number("pid")?).map_err(|_| damaged())?,
        start_time: number("startTime")?,
        bundle: Text::new(),
        created: Text::new(),
        caps: number("caps")?,
        seccomp: match number("seccomp")? {
            0 => Filter::Unconfined,
            1 => Filter::Default,
            2 => Filter::Profile,
            _ => return Err(damaged()),
        },
        cgroup: launcher::cgroup::Group::new(),
        cgroup_mark: Text::new(),
    };
    let mut tmp = [0u8; 4096];
    let mut text = |v: Option<Value>, t: &mut TextBuf| -> Result<()> {
        let n = v.and_then(|v| v.decode_str(&mut tmp)).ok_or_else(damaged)?;
        t.bytes(&tmp[..n]);
        if t.overflowed() { Err(damaged()) } else { Ok(()) }
    };
    text(top.get("bundle"), &mut saved.bundle)?;
    text(ours.get("created"), &mut saved.created)?;
    text(ours.get("cgroup"), &mut saved.cgroup)?;
    text(ours.get("cgroupMark"), &mut saved.cgroup_mark)?;
    Ok(saved)
}

/// What the container is doing now.
pub fn status(root: &[u8], id: &[u8], saved: &Saved) -> Status {
    let alive = saved.pid > 0 && start_time(saved.pid) == Some(saved.start_time) && !is_zombie(saved.pid);
    if !alive {
        return Status::Stopped;
    }
    let mut fifo = file(root, id, "exec.fifo");
    match fifo.as_cstr().map(fs::stat) {
        Ok(Ok(_)) => Status::Created,
        _ if launcher::cgroup::Cgroup::is_frozen(saved.cgroup.as_bytes()) => Status::Paused,
        _ => Status::Running,
    }
}

fn is_zombie(pid: i32) -> bool {
    let mut path = Text::<32>::new();
    path.push("/proc/").push(pid).push("/stat");
    let mut buf = [0u8; 512];
    let Ok(p) = path.as_cstr() else { return true };
    let Ok(n) = fs::read_file(p, &mut buf) else { return true };
    buf[..n].iter().rposition(|&c| c == b')').and_then(|at| buf.get(at + 2)).is_some_and(|&s| s == b'Z' || s == b'X')
}

/// Removes the container's directory and what is in it.
pub fn remove(root: &[u8], id: &[u8]) {
    for name in ["exec.fifo", "state.json", "state.json.new", "config.json"] {
        let mut p = file(root, id, name);
        if let Ok(c) = p.as_cstr() {
            let _ = fs::unlinkat(fs::AT_FDCWD, c, 0);
        }
    }
    let mut d = dir(root, id);
    if let Ok(c) = d.as_cstr() {
        let _ = fs::rmdir(c);
    }
}

/// The ids under the state root, for `list`.
pub fn ids(root: &[u8], mut f: impl FnMut(&[u8])) {
    let mut r = Path::new();
    r.bytes(root);
    let Ok(c) = r.as_cstr() else { return };
    let Ok(dir) = fs::open(c, O_RDONLY | O_DIRECTORY) else { return };
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = fs::getdents64(dir.raw(), &mut buf) {
        for (kind, name) in fs::dirents(&buf[..n]) {
            if kind == 4 && valid_id(name) {
                f(name);
            }
        }
    }
}

/// Whether `pid` exists (for waits).
pub fn alive(pid: i32) -> bool {
    process::kill(pid, 0).is_ok() && !is_zombie(pid)
}
