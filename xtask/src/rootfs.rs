//! `cargo xtask rootfs [DIR] [--debian]`: a small default rootfs made from Debian's
//! busybox-static (a static /bin/busybox plus its applet links, empty /proc /sys /dev /tmp,
//! /etc/passwd and /etc/group with root), or with --debian a real Debian bookworm from
//! debootstrap (minbase), reused when it already exists.
//!
//! Both live in `target/containers/`, a directory only root may enter (0700): a container's
//! root can plant setuid-root programs and device nodes in its rootfs, and no other user of
//! the host must be able to reach them (the launcher warns when a rootfs is reachable).

use crate::util::{checked, ensure_packages, is_root, output, root, target_dir};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/containers`, created 0700 (and made 0700 if it is not).
pub fn private_dir() -> Result<PathBuf, String> {
    let dir = target_dir().join("containers");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| format!("cannot chmod {}: {e}", dir.display()))?;
    Ok(dir)
}

pub fn default_dir() -> Result<PathBuf, String> {
    Ok(private_dir()?.join("busybox"))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut dir = None;
    let mut debian = false;
    for a in args {
        match a.as_str() {
            "--debian" => debian = true,
            s if s.starts_with('-') => return Err(format!("rootfs: unknown option {s}")),
            s => dir = Some(PathBuf::from(s)),
        }
    }
    if debian {
        let dir = match dir {
            Some(d) => d,
            None => private_dir()?.join("debian"),
        };
        warn_if_reachable(&dir);
        return make_debian(&dir);
    }
    let dir = match dir {
        Some(d) => d,
        None => default_dir()?,
    };
    warn_if_reachable(&dir);
    make_busybox(&dir)?;
    println!("rootfs ready: {}", dir.display());
    Ok(())
}

/// The busybox rootfs at `dir`; rebuilt only when missing or when busybox changed.
pub fn ensure_default() -> Result<PathBuf, String> {
    let dir = default_dir()?;
    make_busybox(&dir)?;
    Ok(dir)
}

/// A rootfs at a place of the user's choosing: say so when other users could reach it.
fn warn_if_reachable(dir: &Path) {
    let parent = std::fs::canonicalize(dir.parent().unwrap_or(Path::new("/"))).unwrap_or_default();
    let closed = parent.ancestors().any(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 == 0));
    if !closed {
        eprintln!(
            "xtask: note: other users of this host can reach {}; keep a rootfs in a directory only root may enter (chmod 700 {})",
            dir.display(),
            parent.display()
        );
    }
}

const BUSYBOX: &str = "/bin/busybox";

pub fn make_busybox(dir: &Path) -> Result<(), String> {
    if !busybox_is_static() {
        ensure_packages(&["busybox-static"], "the default rootfs")?;
    }
    if !busybox_is_static() {
        return Err(format!("{BUSYBOX} is not a static binary even with busybox-static installed"));
    }
    let host = std::fs::read(BUSYBOX).map_err(|e| format!("cannot read {BUSYBOX}: {e}"))?;
    if std::fs::read(dir.join("bin/busybox")).is_ok_and(|mine| mine == host) && dir.join("etc/passwd").exists() {
        return Ok(());
    }
    let tmp = dir.with_extension("new");
    let _ = std::fs::remove_dir_all(&tmp);
    let io = |what: &str, e: std::io::Error| format!("rootfs: {what}: {e}");
    for d in ["bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc", "root", "mnt"] {
        std::fs::create_dir_all(tmp.join(d)).map_err(|e| io(d, e))?;
    }
    std::fs::set_permissions(tmp.join("tmp"), std::fs::Permissions::from_mode(0o1777)).map_err(|e| io("tmp", e))?;
    std::fs::set_permissions(tmp.join("root"), std::fs::Permissions::from_mode(0o700)).map_err(|e| io("root", e))?;
    std::fs::write(tmp.join("bin/busybox"), &host).map_err(|e| io("bin/busybox", e))?;
    std::fs::set_permissions(tmp.join("bin/busybox"), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| io("bin/busybox", e))?;
    let applets = output(Command::new(BUSYBOX).arg("--list-full"))?;
    for applet in applets.lines().map(str::trim).filter(|l| !l.is_empty() && *l != "bin/busybox") {
        let link = tmp.join(applet);
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(applet, e))?;
        }
        if !link.exists() {
            symlink("/bin/busybox", &link).map_err(|e| io(applet, e))?;
        }
    }
    std::fs::write(tmp.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        .map_err(|e| io("etc/passwd", e))?;
    std::fs::write(tmp.join("etc/group"), "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n").map_err(|e| io("etc/group", e))?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir).map_err(|e| io("rename", e))?;
    Ok(())
}

fn busybox_is_static() -> bool {
    std::fs::read(BUSYBOX).is_ok_and(|elf| {
        let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
        let (phentsize, phnum) = (u16::from_le_bytes([elf[54], elf[55]]) as usize, u16::from_le_bytes([elf[56], elf[57]]) as usize);
        elf.starts_with(b"\x7fELF")
            && (0..phnum).all(|i| u32::from_le_bytes(elf[phoff + i * phentsize..][..4].try_into().unwrap()) != 3)
    })
}

pub fn make_debian(dir: &Path) -> Result<(), String> {
    if dir.join("etc/debian_version").exists() && dir.join("bin/sh").exists() {
        println!("Debian rootfs already there: {}", dir.display());
        return Ok(());
    }
    if !is_root() {
        return Err("debootstrap needs root".into());
    }
    ensure_packages(&["debootstrap"], "a Debian rootfs")?;
    let tmp = dir.with_extension("new");
    let _ = std::fs::remove_dir_all(&tmp);
    eprintln!("xtask: debootstrap --variant=minbase bookworm {} (about a minute)", dir.display());
    checked(Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(&tmp)
        .arg("http://deb.debian.org/debian")
        .current_dir(root()))?;
    std::fs::rename(&tmp, dir).map_err(|e| format!("rootfs: rename: {e}"))?;
    println!("Debian rootfs ready: {}", dir.display());
    Ok(())
}
