//! `cargo xtask image [OUT]`: the embedded image — a gzip'd cpio initramfs whose /init is
//! knocker's init, with the launcher, busybox and a default container rootfs inside it,
//! /etc/hostname and an /etc/rc. Boot it with any kernel that has what a container needs built in.

use crate::build::{self, Built};
use crate::cpio::Cpio;
use crate::util::{output, target_dir};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const HOSTNAME: &str = "knocker-box";
/// Where the image keeps the container rootfs.
pub const ROOTFS: &str = "/var/lib/knocker/rootfs";

/// What the box runs: /etc/rc starts here, after knocker's init mounted the API file systems.
const RC: &str = r#"#!/bin/sh
# knocker-box: run by knocker's init (PID 1 of the box). When this ends, the box powers off.
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
echo "knocker-box: up after $(cut -d' ' -f1 /proc/uptime)s"
if [ -x /etc/job ]; then
    /etc/job
    exit $?
fi
echo "knocker-box: try 'launcher /var/lib/knocker/rootfs'; 'exit' powers off"
exec /bin/sh
"#;

pub fn run(args: &[String]) -> Result<(), String> {
    let out = match args {
        [] => default_path(),
        [p] if !p.starts_with('-') => PathBuf::from(p),
        _ => return Err("usage: cargo xtask image [OUT]".into()),
    };
    let built = build::build()?;
    let bytes = image(&built, &[])?;
    write(&out, &bytes)?;
    println!("image: {} ({} bytes, gzip'd cpio; /init is knocker's init)", out.display(), build::group(bytes.len()));
    Ok(())
}

pub fn default_path() -> PathBuf {
    target_dir().join("knocker/image.cpio.gz")
}

pub fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The gzip'd image; `extra` are (path, mode, contents) files added on top (a job, tests).
pub fn image(built: &Built, extra: &[(String, u32, Vec<u8>)]) -> Result<Vec<u8>, String> {
    crate::rootfs::make_busybox(&crate::rootfs::default_dir()?)?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let init = read(&built.init())?;
    let launcher = read(&built.launcher())?;
    let busybox = read(Path::new("/bin/busybox"))?;
    let applets = output(Command::new("/bin/busybox").arg("--list-full"))?;

    let mut c = Cpio::new();
    for d in ["dev", "proc", "sys", "run", "tmp", "root", "etc", "bin", "sbin", "usr", "usr/bin", "usr/sbin", "usr/libexec",
        "usr/libexec/knocker", "var", "var/lib", "var/lib/knocker"]
    {
        // Only root may enter the folder of the container rootfs (see xtask/src/rootfs.rs).
        c.dir(d, match d {
            "tmp" => 0o1777,
            "var/lib/knocker" => 0o700,
            _ => 0o755,
        });
    }
    // With a console node the kernel opens it as init's stdin, stdout and stderr.
    c.char_device("dev/console", 0o600, 5, 1);
    c.hardlinked(&["init", "usr/libexec/knocker/init"], 0o755, &init);
    c.file("usr/bin/launcher", 0o755, &launcher);
    c.file("usr/bin/knocker", 0o755, &read(&built.knocker())?);
    c.file("etc/hostname", 0o644, format!("{HOSTNAME}\n").as_bytes());
    c.file("etc/rc", 0o755, RC.as_bytes());
    c.file("etc/passwd", 0o644, b"root:x:0:0:root:/root:/bin/sh\n");
    c.file("etc/group", 0o644, b"root:x:0:\ntty:x:5:\n");
    // The box and its containers share one busybox, hard-linked.
    let inner = ROOTFS.trim_start_matches('/');
    let inner_dirs = ["", "/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/proc", "/sys", "/dev", "/tmp", "/etc", "/root", "/mnt"];
    for d in inner_dirs {
        c.dir(&format!("{inner}{d}"), if d == "/tmp" { 0o1777 } else { 0o755 });
    }
    c.file(&format!("{inner}/etc/passwd"), 0o644, b"root:x:0:0:root:/root:/bin/sh\n");
    c.file(&format!("{inner}/etc/group"), 0o644, b"root:x:0:\ntty:x:5:\n");
    c.hardlinked(&["bin/busybox", &format!("{inner}/bin/busybox")], 0o755, &busybox);
    for applet in applets.lines().map(str::trim).filter(|a| !a.is_empty() && *a != "bin/busybox") {
        if applet != "linuxrc" {
            c.symlink(applet, "/bin/busybox");
        }
        c.symlink(&format!("{inner}/{applet}"), "/bin/busybox");
    }
    // Entries whose mode says directory (0o040000) are directories.
    for (path, mode, data) in extra {
        if mode & 0o170000 == 0o040000 {
            c.dir(path, mode & 0o7777);
        } else {
            c.file(path, *mode, data);
        }
    }
    gzip(&c.finish())
}

/// A dynamic program for the image at `to`, with the shared libraries `ldd` names (at their own
/// paths) and the directories they need: entries for [`image`]'s `extra`.
pub fn with_libraries(program: &Path, to: &str) -> Result<Vec<(String, u32, Vec<u8>)>, String> {
    let mut files = vec![(program.to_path_buf(), to.to_string())];
    for line in output(Command::new("ldd").arg(program))?.lines() {
        let lib = line.split("=>").nth(1).unwrap_or(line).split_whitespace().next().unwrap_or("");
        if lib.starts_with('/') {
            files.push((PathBuf::from(lib), lib.trim_start_matches('/').to_string()));
        }
    }
    let mut dirs = std::collections::BTreeSet::new();
    for (_, at) in &files {
        let mut d = Path::new(at).parent();
        while let Some(dir) = d.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(dir.to_string_lossy().to_string());
            d = dir.parent();
        }
    }
    let mut out: Vec<(String, u32, Vec<u8>)> = dirs.into_iter().map(|d| (d, 0o040755, Vec::new())).collect();
    for (from, at) in files {
        let real = std::fs::canonicalize(&from).map_err(|e| format!("{}: {e}", from.display()))?;
        out.push((at, 0o755, std::fs::read(&real).map_err(|e| format!("cannot read {}: {e}", real.display()))?));
    }
    Ok(out)
}

fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("gzip")
        .args(["-9", "-n"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().map_err(|e| format!("gzip: {e}"))?;
    writer.join().unwrap().map_err(|e| format!("gzip: {e}"))?;
    if !out.status.success() {
        return Err("gzip failed".into());
    }
    Ok(out.stdout)
}
