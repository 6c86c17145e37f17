//! The virtual box: `cargo xtask vm [-- COMMAND...]` boots the embedded image under qemu (TCG;
//! /dev/kvm exists here but hangs) with Debian's cloud kernel, and `cargo xtask vm-test` boots
//! it with the guest tests as the box's job and reports pass/fail per test.
//!
//! The kernel is the one package `apt-cache depends linux-image-cloud-amd64` names, fetched with
//! `apt-get download` and unpacked into target/vm once; qemu comes from Debian's qemu-system-x86.

use crate::build::{self, Built};
use crate::image;
use crate::util::{checked, ensure_packages, output, target_dir};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const APPEND: &str = "console=ttyS0 panic=-1 quiet";

/// What the guest tests need of the kernel beyond its core, by module name: the virtio disk
/// (its driver and the PCI transport it sits on) and the disk's file system. Each is built in
/// or loaded as a module, with every module it depends on first (see [`crate::kmod`]).
pub const FEATURES: [&str; 3] = ["virtio_blk", "virtio_pci", "ext4"];

/// target/vm/modules: the modules [`FEATURES`] need, from the same kernel package as the
/// kernel, named `NN-NAME.ko` in load order.
pub fn modules_dir() -> PathBuf {
    target_dir().join("vm/modules")
}

/// The module files of [`modules_dir`], in load order.
pub fn modules() -> Result<Vec<PathBuf>, String> {
    let dir = modules_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ko"))
        .collect();
    files.sort();
    Ok(files)
}

/// The kernel package `linux-image-cloud-amd64` names now (after an `apt-get update` if the
/// package lists name none).
fn kernel_package() -> Result<String, String> {
    let named = || -> Result<Option<String>, String> {
        let depends = output(Command::new("apt-cache").args(["depends", "linux-image-cloud-amd64"]))?;
        Ok(depends.lines().find_map(|l| l.trim().strip_prefix("Depends: ")).map(|p| p.trim().to_string()))
    };
    if let Some(p) = named().ok().flatten() {
        return Ok(p);
    }
    checked(Command::new("apt-get").args(["update", "-q"]))?;
    named()?.ok_or_else(|| "apt-cache names no kernel package for linux-image-cloud-amd64, even after apt-get update".to_string())
}

/// target/vm/vmlinuz and the modules beside it, fetched and unpacked when target/vm has none
/// or has them from another package than the one the archive names now (a kernel the archive
/// has moved past must fail here as it would on a fresh machine, not stay green from a cache).
pub fn kernel() -> Result<PathBuf, String> {
    let dir = target_dir().join("vm");
    let vmlinuz = dir.join("vmlinuz");
    let stamp = dir.join("kernel-package");
    let package = kernel_package()?;
    let cached = std::fs::read_to_string(&stamp).unwrap_or_default();
    if vmlinuz.exists() && modules_dir().is_dir() && cached.trim() == package {
        return Ok(vmlinuz);
    }
    if !cached.is_empty() {
        eprintln!("xtask: linux-image-cloud-amd64 now names {package} (target/vm has {}): fetching it", cached.trim());
    }
    let _ = std::fs::remove_file(&stamp);
    let dl = dir.join("download");
    let _ = std::fs::remove_dir_all(&dl);
    std::fs::create_dir_all(&dl).map_err(|e| format!("cannot create {}: {e}", dl.display()))?;
    eprintln!("xtask: fetching the kernel: apt-get download {package}");
    let download = || checked(Command::new("apt-get").args(["download", &package]).current_dir(&dl));
    // Package lists older than the archive name files it no longer serves.
    download().or_else(|_| checked(Command::new("apt-get").args(["update", "-q"])).and_then(|_| download()))?;
    let deb = std::fs::read_dir(&dl)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or("apt-get download left no .deb")?;
    let unpacked = dir.join("unpacked");
    let _ = std::fs::remove_dir_all(&unpacked);
    checked(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
    let boot = std::fs::read_dir(unpacked.join("boot")).map_err(|e| format!("{package}: no /boot: {e}"))?;
    let image = boot
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .ok_or_else(|| format!("{package} holds no /boot/vmlinuz-*"))?;
    let lib = std::fs::read_dir(unpacked.join("lib/modules"))
        .map_err(|e| format!("{package}: no /lib/modules: {e}"))?
        .flatten()
        .next()
        .ok_or_else(|| format!("{package} holds no /lib/modules/*"))?
        .path();
    let wanted = crate::kmod::Package::read(&lib)?.for_features(&FEATURES).map_err(|e| format!("{package}: {e}"))?;
    let modules = modules_dir();
    let _ = std::fs::remove_dir_all(&modules);
    std::fs::create_dir_all(&modules).map_err(|e| e.to_string())?;
    for (i, (name, data)) in wanted.iter().enumerate() {
        let to = modules.join(format!("{i:02}-{name}.ko"));
        std::fs::write(&to, data).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    }
    std::fs::copy(&image, &vmlinuz).map_err(|e| e.to_string())?;
    std::fs::write(&stamp, format!("{package}\n")).map_err(|e| e.to_string())?;
    let names: Vec<&str> = wanted.iter().map(|(n, _)| n.as_str()).collect();
    eprintln!("xtask: {package}: modules for the box, in load order: {}", if names.is_empty() { "none (all built in)".to_string() } else { names.join(" ") });
    let _ = std::fs::remove_dir_all(&dl);
    let _ = std::fs::remove_dir_all(&unpacked);
    Ok(vmlinuz)
}

/// The kernel package target/vm was made from.
pub fn kernel_package_in_use() -> String {
    std::fs::read_to_string(target_dir().join("vm/kernel-package")).map(|s| s.trim().to_string()).unwrap_or_else(|_| "an unknown kernel".into())
}

/// qemu's own first line about itself.
pub fn qemu_version() -> String {
    output(Command::new("qemu-system-x86_64").arg("--version")).ok().and_then(|o| o.lines().next().map(String::from)).unwrap_or_else(|| "qemu".into())
}

/// target/vm/disk.img: a small ext4 file system (the box idmaps it for `--userns`: its
/// initramfs cannot be on this kernel) whose first bytes are [`DISK_MARK`] — in ext4's boot
/// block, the first 1024 bytes, which the file system leaves alone.
pub fn disk() -> Result<PathBuf, String> {
    ensure_packages(&["e2fsprogs"], "the virtual box's disk")?;
    let path = target_dir().join("vm/disk.img");
    let _ = std::fs::remove_file(&path);
    checked(Command::new("mkfs.ext4").args(["-q", "-F", "-E", "root_owner=0:0"]).arg(&path).arg("32M").stdout(Stdio::null()))?;
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    f.write_all(DISK_MARK.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

pub const DISK_MARK: &str = "KNOCKER-DISK";

pub fn qemu(initrd: &PathBuf, may_reboot: bool, disk: Option<&Path>) -> Result<Command, String> {
    ensure_packages(&["qemu-system-x86"], "the virtual box")?;
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-accel", "tcg", "-m", "512", "-nographic"])
        .arg("-kernel")
        .arg(kernel()?)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", APPEND]);
    if !may_reboot {
        cmd.arg("-no-reboot");
    }
    if let Some(d) = disk {
        cmd.arg("-drive").arg(format!("file={},format=raw,if=virtio", d.display()));
    }
    Ok(cmd)
}

/// A job for /etc/job: COMMAND's words, quoted for sh.
fn job(words: &[String]) -> Vec<u8> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{}'", w.replace('\'', "'\\''"))).collect();
    format!("#!/bin/sh\nexec {}\n", quoted.join(" ")).into_bytes()
}

pub fn run(args: &[String]) -> Result<(), String> {
    let command: Vec<String> = match args.split_first() {
        Some((dd, rest)) if dd == "--" => rest.to_vec(),
        Some((other, _)) => return Err(format!("vm: expected -- before the command, got '{other}'")),
        None => Vec::new(),
    };
    let built = build::build()?;
    let extra = if command.is_empty() { vec![] } else { vec![("etc/job".to_string(), 0o755, job(&command))] };
    let path = target_dir().join("vm/run.cpio.gz");
    image::write(&path, &image::image(&built, &extra)?)?;
    eprintln!("xtask: booting the box (qemu TCG; Ctrl-A X quits qemu)");
    let status = qemu(&path, false, None)?.status().map_err(|e| format!("cannot run qemu: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("qemu ended with {status}")) }
}

/// One boot: the console lines, whether qemu exited on its own (and how), and the time taken.
pub struct Boot {
    pub log: Vec<String>,
    pub exit: Option<std::process::ExitStatus>,
    pub took: Duration,
}

impl Boot {
    pub fn has(&self, text: &str) -> bool {
        self.log.iter().any(|l| l.contains(text))
    }
    pub fn count(&self, text: &str) -> usize {
        self.log.iter().filter(|l| l.contains(text)).count()
    }
    pub fn show(&self) -> String {
        self.log.join("\n")
    }
}

/// Boots `initrd`; stops the guest after `limit`, or as soon as `enough` says the log has
/// what the caller waits for.
pub fn boot(initrd: &PathBuf, may_reboot: bool, disk: Option<&Path>, limit: Duration, enough: impl Fn(&[String]) -> bool) -> Result<Boot, String> {
    boot_answering(initrd, may_reboot, disk, limit, enough, &[])
}

/// As [`boot`], typing `answer` on the serial console each time the console shows `prompt`
/// (a prompt need not end its line: "Please press Enter to activate this console. ").
pub fn boot_answering(
    initrd: &PathBuf,
    may_reboot: bool,
    disk: Option<&Path>,
    limit: Duration,
    enough: impl Fn(&[String]) -> bool,
    answers: &[(&str, &str)],
) -> Result<Boot, String> {
    let start = Instant::now();
    let mut child = qemu(initrd, may_reboot, disk)?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run qemu: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let prompts: Vec<String> = answers.iter().map(|(p, _)| p.to_string()).collect();
    std::thread::spawn(move || {
        // Whole lines as they complete; a partial line as soon as it holds a prompt.
        let mut pending = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut chunk) {
            pending.extend_from_slice(&chunk[..n]);
            while let Some(at) = pending.iter().position(|&c| c == b'\n') {
                let line: Vec<u8> = pending.drain(..=at).collect();
                let text = String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string();
                if tx.send(text).is_err() {
                    return;
                }
            }
            let partial = String::from_utf8_lossy(&pending).to_string();
            if prompts.iter().any(|p| partial.contains(p.as_str())) {
                pending.clear();
                if tx.send(partial).is_err() {
                    return;
                }
            }
        }
    });
    let mut log = Vec::new();
    let exit = loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                for (prompt, answer) in answers {
                    if line.contains(prompt) {
                        let _ = stdin.write_all(answer.as_bytes());
                        let _ = stdin.flush();
                    }
                }
                log.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break child.wait().ok(),
        }
        if let Ok(Some(status)) = child.try_wait() {
            while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                log.push(line);
            }
            break Some(status);
        }
        if enough(&log) || start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
    };
    Ok(Boot { log, exit, took: start.elapsed() })
}

pub fn built_for_tests() -> Result<Built, String> {
    let built = build::build()?;
    build::probe(&built)?;
    Ok(built)
}
