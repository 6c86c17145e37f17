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

/// Which seccomp filter the container has; a config's profile is kept as `seccomp.json` in
/// the container's state directory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Unconfined = 0,
    Default = 1,
    Profile = 2,
}

/// What state.json holds, read back.
pub struct Saved {
    pub pid: i32,
    pub start_time: u64,
    pub bundle: Text<1024>,
    pub created: Text<40>,
    pub annotations: Text<4096>,
    /// What a process `exec`'d into the container gets unless its own process.json says:
    /// the container's capability set and its seccomp filter.
    pub caps: u64,
    pub seccomp: Filter,
    /// The container's group, relative to each hierarchy's root.
    pub cgroup: launcher::cgroup::Group,
}

/// The start time of `pid` (clock ticks since boot): the launcher's own reading of it.
pub use launcher::manage::start_time;

/// Appends `s` as a JSON string.
pub fn json_string(t: &mut TextBuf, s: &[u8]) {
    t.push("\"");
    for &c in s {
        match c {
            b'"' => t.push("\\\""),
            b'\\' => t.push("\\\\"),
            0..=0x1f => t.push("\\u00").push(linker::text::Hex(c as u64)),
            _ => t.bytes(&[c]),
        };
    }
    t.push("\"");
}

/// The state as runtime-spec's `state` prints it (plus knocker's own fields when `full`).
pub fn render(id: &[u8], status: Status, saved: &Saved, full: bool) -> Text<8192> {
    let pid = if status == Status::Stopped { 0 } else { saved.pid };
    let mut t = render_open(id, status.name(), pid, saved.bundle.as_bytes(), saved.annotations.as_bytes());
    if full {
        t.push(",\"knocker\":{\"pid\":").push(saved.pid).push(",\"startTime\":").push(saved.start_time);
        t.push(",\"caps\":").push(saved.caps).push(",\"seccomp\":").push(saved.seccomp as u64).push(",\"cgroup\":");
        json_string(&mut t, saved.cgroup.as_bytes());
        t.push(",\"created\":");
        json_string(&mut t, saved.created.as_bytes());
        t.push("}");
    }
    t.push("}");
    t
}

/// The state's fields, without the closing brace.
fn render_open(id: &[u8], status: &str, pid: i32, bundle: &[u8], annotations: &[u8]) -> Text<8192> {
    let mut t = Text::new();
    t.push("{\"ociVersion\":\"").push(OCI_VERSION).push("\",\"id\":");
    json_string(&mut t, id);
    t.push(",\"status\":\"").push(status).push("\",\"pid\":").push(pid);
    t.push(",\"bundle\":");
    json_string(&mut t, bundle);
    t.push(",\"annotations\":").bytes(annotations);
    t
}

/// The state a hook gets while the container is being made (`creating`, `created`).
pub fn render_early(id: &[u8], status: &str, pid: i32, bundle: &[u8], annotations: &[u8]) -> Text<8192> {
    let mut t = render_open(id, status, pid, bundle, annotations);
    t.push("}");
    t
}

/// Writes state.json (temporary name, then rename: readers never see half a file).
pub fn save(root: &[u8], id: &[u8], saved: &Saved) -> Result<()> {
    let text = render(id, Status::Created, saved, true);
    if text.overflowed() {
        return Err(Error::new("the state is too large (annotations?)"));
    }
    let mut tmp = file(root, id, "state.json.new");
    let mut done = file(root, id, "state.json");
    let fd = fs::openat(fs::AT_FDCWD, tmp.as_cstr().context("path too long")?, O_WRONLY | O_CREAT | O_TRUNC, 0o600).context_on("cannot write", &tmp)?;
    fs::write_all(fd.raw(), text.as_bytes()).context_on("cannot write", &tmp)?;
    drop(fd);
    fs::rename(tmp.as_cstr().context("path too long")?, done.as_cstr().context("path too long")?).context_on("cannot write", &done)
}

/// Keeps a config's seccomp section for `exec` (`<root>/<id>/seccomp.json`).
pub fn save_profile(root: &[u8], id: &[u8], src: &[u8]) -> Result<()> {
    let mut path = file(root, id, "seccomp.json");
    let fd = fs::openat(fs::AT_FDCWD, path.as_cstr().context("path too long")?, O_WRONLY | O_CREAT | O_TRUNC, 0o600).context_on("cannot write", &path)?;
    fs::write_all(fd.raw(), src).context_on("cannot write", &path)
}

/// Reads `<root>/<id>/state.json`; an unknown id is an error naming it.
pub fn load(root: &[u8], id: &[u8]) -> Result<Saved> {
    let mut path = file(root, id, "state.json");
    let mut buf = [0u8; 8192];
    let n = match fs::read_file(path.as_cstr().context("path too long")?, &mut buf) {
        Ok(n) => n,
        Err(Errno::ENOENT) => return Err(Error::new("no such container:").on(id)),
        Err(e) => return Err(Error::sys("cannot read", e).on(&path)),
    };
    let top = json::parse(&buf[..n]).map_err(|_| Error::new("a damaged state file:").on(&path))?;
    let ours = top.get("knocker").ok_or_else(|| Error::new("a damaged state file:").on(&path))?;
    let mut saved = Saved {
        pid: ours.get("pid").and_then(|v| v.as_i64()).unwrap_or(0) as i32,
        start_time: ours.get("startTime").and_then(|v| v.as_u64()).unwrap_or(0),
        bundle: Text::new(),
        created: Text::new(),
        annotations: Text::new(),
        caps: ours.get("caps").and_then(|v| v.as_u64()).unwrap_or(0),
        seccomp: match ours.get("seccomp").and_then(|v| v.as_u64()) {
            Some(0) => Filter::Unconfined,
            Some(2) => Filter::Profile,
            _ => Filter::Default,
        },
        cgroup: launcher::cgroup::launcher_group(id),
    };
    let mut tmp = [0u8; 1024];
    let mut text = |v: Option<Value>, t: &mut TextBuf| {
        if let Some(n) = v.and_then(|v| v.decode_str(&mut tmp)) {
            t.bytes(&tmp[..n]);
        }
    };
    text(top.get("bundle"), &mut saved.bundle);
    text(ours.get("created"), &mut saved.created);
    if let Some(n) = ours.get("cgroup").and_then(|v| v.decode_str(&mut tmp)) {
        saved.cgroup.clear();
        saved.cgroup.bytes(&tmp[..n]);
    }
    saved.annotations.bytes(top.get("annotations").map_or(&b"{}"[..], |a| a.src));
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
    for name in ["exec.fifo", "state.json", "state.json.new", "seccomp.json"] {
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
