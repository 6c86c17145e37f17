//! Helpers for knocker's end-to-end tests: where the built binaries and the rootfs are, running
//! a command with a timeout, copies of the rootfs to spoil, the host's state to compare.
//!
//! Every test runs the real static binaries as root. A test that needs root and lacks it fails
//! with a message — it never passes by skipping.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// target/knocker/<name>, or $KNOCKER_BIN/<name> (set by `cargo xtask test`).
pub fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("KNOCKER_BIN").map(PathBuf::from).unwrap_or_else(|| workspace().join("target/knocker"));
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing: run the tests with `cargo xtask test` (it builds it)", path.display());
    path
}

/// The default busybox rootfs, as `cargo xtask rootfs` makes it.
pub fn rootfs() -> PathBuf {
    let dir = std::env::var_os("KNOCKER_ROOTFS").map(PathBuf::from).unwrap_or_else(|| workspace().join("target/containers/busybox"));
    assert!(dir.join("bin/busybox").exists(), "{} is missing: run the tests with `cargo xtask test`", dir.display());
    dir
}

/// A Debian bookworm rootfs (debootstrap's minbase), as `cargo xtask rootfs --debian` makes it.
pub fn debian_rootfs() -> PathBuf {
    let dir = std::env::var_os("KNOCKER_DEBIAN_ROOTFS").map(PathBuf::from).unwrap_or_else(|| workspace().join("target/containers/debian"));
    assert!(dir.join("etc/debian_version").exists(), "{} is missing: run the tests with `cargo xtask test` (it builds it)", dir.display());
    dir
}

pub fn require_root() {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX);
    assert_eq!(uid, 0, "these tests start containers and must run as root (cargo xtask test, as root)");
}

/// Tests that look at host-wide state (the mount table, the process list, the cgroup tree)
/// take this lock exclusively; every other test takes it shared.
static HOST: RwLock<()> = RwLock::new(());

pub fn shared() -> RwLockReadGuard<'static, ()> {
    require_root();
    HOST.read().unwrap_or_else(|e| e.into_inner())
}

pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    require_root();
    HOST.write().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// The exit code, or 128+N for a signal, as a shell would report it.
    fn from(status: std::process::ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> Out {
        use std::os::unix::process::ExitStatusExt;
        let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        Out { code, stdout: String::from_utf8_lossy(&stdout).into_owned(), stderr: String::from_utf8_lossy(&stderr).into_owned() }
    }
}

/// Runs `cmd` to completion with stdin from /dev/null; kills it and fails after `limit`.
pub fn run_for(cmd: &mut Command, limit: Duration) -> Out {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let (out, err) = (reader(Box::new(out)), reader(Box::new(err)));
    let status = wait_for(&mut child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} did not finish within {limit:?}");
    });
    Out::from(status, out.join().unwrap(), err.join().unwrap())
}

pub fn run(cmd: &mut Command) -> Out {
    run_for(cmd, Duration::from_secs(30))
}

/// Waits for `child` up to `limit`.
pub fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `launcher [options…] ROOTFS` ready for the command's words.
pub fn launcher(options: &[&str], rootfs: &Path) -> Command {
    let mut cmd = Command::new(bin("launcher"));
    cmd.args(options).arg(rootfs);
    cmd
}

/// Runs `sh -c script` in a container of the default rootfs.
pub fn container(options: &[&str], script: &str) -> Out {
    run(launcher(options, &rootfs()).args(["/bin/sh", "-c", script]))
}

/// A scratch directory under target/, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Only root may enter the parent: other users cannot reach what containers make.
        let parent = workspace().join("target/test-scratch");
        std::fs::create_dir_all(&parent).unwrap();
        std::fs::set_permissions(&parent, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let dir = parent.join(format!("{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// A private copy of the default rootfs, free to modify.
    pub fn rootfs_copy(tag: &str) -> Scratch {
        let s = Scratch::new(tag);
        let status = Command::new("cp").arg("-a").arg(rootfs().join(".")).arg(&s.0).status().unwrap();
        assert!(status.success(), "cp -a rootfs");
        s
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// A copy of the default rootfs with the probe (tests/probe) at /probe.
pub fn rootfs_with_probe(tag: &str) -> Scratch {
    let copy = Scratch::rootfs_copy(tag);
    std::fs::copy(bin("probe"), copy.path().join("probe")).unwrap();
    copy
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn mountinfo() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().map(String::from).collect()
}

/// Every cgroup directory under a `knocker` parent in any hierarchy (a container has one in each).
pub fn knocker_cgroups() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut roots = vec![PathBuf::from("/sys/fs/cgroup")];
    for e in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            roots.push(e.path());
        }
    }
    for r in roots {
        if let Ok(entries) = std::fs::read_dir(r.join("knocker")) {
            for e in entries.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    found.push(e.path());
                }
            }
        }
    }
    found
}

/// A server on the host's loopback answering every connection with `reply`.
pub fn loopback_server(reply: &'static str) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            use std::io::Write;
            let _ = s.write_all(reply.as_bytes());
        }
    });
    port
}

/// Pids of processes whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        if pid == std::process::id() as i32 {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmdline).replace('\0', " ").contains(needle) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// Pids of processes whose argv is exactly `argv` (unlike [`processes_with`], a launcher whose
/// command line merely contains these words does not count).
pub fn pids_running(argv: &[&str]) -> Vec<i32> {
    let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        if std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == want) {
            pids.push(pid);
        }
    }
    pids
}

/// A started process that is killed (SIGKILL) and reaped if the test ends before it does.
pub struct Running(pub Child);

impl Running {
    pub fn spawn(cmd: &mut Command) -> Running {
        Running(cmd.stdin(Stdio::null()).spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}")))
    }
    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) of a process this test started and has not reaped yet.
        unsafe { libc::kill(self.pid(), sig) };
    }
    pub fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        wait_for(&mut self.0, limit)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Kills (SIGKILL) a process of the test's when dropped, on every way out of the test.
pub struct KillOnDrop(pub i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: kill(2) of a process the test started.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

/// Polls `f` until it is true or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// A static, non-PIE, stripped x86-64 executable: ET_EXEC, no PT_INTERP, no symbol table.
pub fn elf_problems(path: &Path) -> Option<String> {
    let elf = std::fs::read(path).unwrap();
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    if !elf.starts_with(b"\x7fELF") || u16_at(18) != 62 {
        return Some("not an x86-64 ELF".into());
    }
    if u16_at(16) != 2 {
        return Some("not ET_EXEC".into());
    }
    if (0..u16_at(56)).any(|i| u32_at(u64_at(32) + i * u16_at(54)) == 3) {
        return Some("has PT_INTERP".into());
    }
    if (0..u16_at(60)).any(|i| u32_at(u64_at(40) + i * u16_at(58) + 4) == 2) {
        return Some("has a symbol table".into());
    }
    None
}

/// A bundle: `rootfs/` (a copy of the default rootfs) and the config from `knocker spec`,
/// changed by `edit`; state under its own `--root`.
pub struct Bundle {
    pub dir: Scratch,
    pub root: PathBuf,
    /// The runtime binary the verbs run (knocker, a copy of it, or runc).
    pub runtime: PathBuf,
}

impl Bundle {
    pub fn new(tag: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Bundle {
        let dir = Scratch::new(tag);
        let status = Command::new("cp").arg("-a").arg(rootfs()).arg(dir.path().join("rootfs")).status().unwrap();
        assert!(status.success());
        let out = run(Command::new(bin("knocker")).arg("spec").current_dir(dir.path()));
        assert_eq!(out.code, 0, "{out:?}");
        let path = dir.path().join("config.json");
        let mut config: serde_json::Value = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config["process"]["terminal"] = serde_json::json!(false);
        edit(&mut config);
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        let root = dir.path().join("state");
        Bundle { dir, root, runtime: bin("knocker") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `knocker --root STATE VERB ARGS` in the bundle directory. Its output goes through
    /// files, not pipes: the container of a `create` keeps the creator's stdio for good, and
    /// a pipe would never reach its end.
    pub fn knocker(&self, words: &[&str]) -> Out {
        self.with(&self.runtime, words)
    }

    /// The verb through another runtime binary, on the same state.
    pub fn with(&self, runtime: &Path, words: &[&str]) -> Out {
        let (o, e) = (self.path().join("knocker.out"), self.path().join("knocker.err"));
        let mut cmd = Command::new(runtime);
        cmd.arg("--root").arg(&self.root).args(words).current_dir(self.path());
        cmd.stdin(std::process::Stdio::null());
        cmd.stdout(std::fs::File::create(&o).unwrap()).stderr(std::fs::File::create(&e).unwrap());
        let mut child = cmd.spawn().unwrap();
        let status = wait_for(&mut child, Duration::from_secs(30)).unwrap_or_else(|| panic!("knocker {words:?} did not finish"));
        use std::os::unix::process::ExitStatusExt;
        let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        Out { code, stdout: std::fs::read_to_string(&o).unwrap(), stderr: std::fs::read_to_string(&e).unwrap() }
    }

    pub fn state(&self, id: &str) -> serde_json::Value {
        let out = self.knocker(&["state", id]);
        assert_eq!(out.code, 0, "{out:?}");
        serde_json::from_str::<serde_json::Value>(&out.stdout).unwrap_or_else(|e| panic!("state is not JSON ({e}): {out:?}"))
    }
}


/// Deletes (`delete --force`) a container of a bundle when dropped, however the test ends.
pub struct Deleting<'a> {
    bundle: &'a Bundle,
    runtime: PathBuf,
    id: String,
}

impl Bundle {
    /// A guard that force-deletes `id` through `runtime` when the test ends.
    pub fn deleting(&self, runtime: &Path, id: &str) -> Deleting<'_> {
        Deleting { bundle: self, runtime: runtime.to_path_buf(), id: id.to_string() }
    }
}

impl Drop for Deleting<'_> {
    fn drop(&mut self) {
        let _ = self.bundle.with(&self.runtime, &["delete", "--force", &self.id]);
    }
}
