//! `cargo xtask build`: both programs for x86_64-unknown-linux-musl (installed with rustup when
//! missing), fully static, non-PIE and stripped, copied to target/knocker/, with a size table.
//! If the musl target cannot be installed, the same freestanding code is built for
//! x86_64-unknown-linux-gnu instead (it links no C library either), and the table says so.

use crate::util::{self, cargo, checked, output, target_dir};
use std::path::PathBuf;
use std::process::Command;

pub const MUSL: &str = "x86_64-unknown-linux-musl";
pub const GNU: &str = "x86_64-unknown-linux-gnu";
/// The static programs: (cargo package, binary).
pub const PROGRAMS: [(&str, &str); 3] = [("launcher", "launcher"), ("init", "init"), ("oci", "knocker")];

pub struct Built {
    pub dir: PathBuf,
    pub target: &'static str,
}

/// The tests' static helper (tests/probe), built for the same target into target/knocker/probe.
pub fn probe(built: &Built) -> Result<PathBuf, String> {
    let mut cmd = cargo();
    cmd.current_dir(util::root()).args(["build", "--release", "--target", built.target, "-p", "knocker-probe"]);
    cmd.env_remove("RUSTFLAGS");
    checked(&mut cmd)?;
    let from = target_dir().join(built.target).join("release/probe");
    let to = built.dir.join("probe");
    std::fs::copy(&from, &to).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    Ok(to)
}

/// The security tests' controls: launcher and knocker built with `unprotected-control` (no
/// sealed copy of themselves, dumpable while joining), with the init beside them, into
/// target/knocker/control/ — never installed, never shipped. Their own target directory
/// keeps the real build's cache intact.
pub fn control(built: &Built) -> Result<PathBuf, String> {
    let dir = target_dir().join("control-build");
    let mut cmd = cargo();
    cmd.current_dir(util::root()).args(["build", "--release", "--target", built.target, "-p", "launcher", "-p", "oci"]);
    cmd.args(["--features", "launcher/unprotected-control,oci/unprotected-control"]).env("CARGO_TARGET_DIR", &dir);
    cmd.env_remove("RUSTFLAGS");
    checked(&mut cmd)?;
    let out = built.dir.join("control");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for name in ["launcher", "knocker"] {
        let from = dir.join(built.target).join("release").join(name);
        std::fs::copy(&from, out.join(name)).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    }
    std::fs::copy(built.init(), out.join("init")).map_err(|e| format!("cannot copy the init: {e}"))?;
    Ok(out)
}

impl Built {
    pub fn launcher(&self) -> PathBuf {
        self.dir.join("launcher")
    }
    pub fn init(&self) -> PathBuf {
        self.dir.join("init")
    }
    pub fn knocker(&self) -> PathBuf {
        self.dir.join("knocker")
    }
}

pub fn run(args: &[String]) -> Result<Built, String> {
    if let Some(a) = args.first() {
        return Err(format!("build takes no arguments (got '{a}')"));
    }
    build()
}

pub fn build() -> Result<Built, String> {
    let target = choose_target()?;
    let mut cmd = cargo();
    cmd.current_dir(util::root()).args(["build", "--release", "--target", target]);
    for (package, _) in PROGRAMS {
        cmd.args(["-p", package]);
    }
    // Plain RUSTFLAGS would replace the target's rustflags in .cargo/config.toml.
    cmd.env_remove("RUSTFLAGS");
    checked(&mut cmd)?;
    let out = target_dir().join("knocker");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut rows = Vec::new();
    for (_, p) in PROGRAMS {
        let built = target_dir().join(target).join("release").join(p);
        let dest = out.join(p);
        let tmp = out.join(format!(".{p}.new"));
        std::fs::copy(&built, &tmp).map_err(|e| format!("cannot copy {}: {e}", built.display()))?;
        // The profile strips symbols already; this also drops the toolchain's .comment note.
        if Command::new("strip").arg("--version").output().is_ok() {
            checked(Command::new("strip").args(["--strip-all", "-R", ".comment"]).arg(&tmp))?;
        }
        std::fs::rename(&tmp, &dest).map_err(|e| format!("cannot install {}: {e}", dest.display()))?;
        let elf = std::fs::read(&dest).map_err(|e| format!("cannot read {}: {e}", dest.display()))?;
        check_static(&elf).map_err(|e| format!("{}: {e}", dest.display()))?;
        rows.push((p, elf.len()));
    }
    println!("knocker, {target}: static (no PT_INTERP), non-PIE, stripped");
    for (p, size) in rows {
        println!("  {:<10}{:>9} bytes   target/knocker/{p}", p, group(size));
    }
    Ok(Built { dir: out, target })
}

/// The musl target, installed with rustup when it is missing; the gnu target when that fails.
fn choose_target() -> Result<&'static str, String> {
    if target_installed(MUSL) {
        return Ok(MUSL);
    }
    eprintln!("xtask: the Rust target {MUSL} is missing: running rustup target add {MUSL}");
    let added = Command::new("rustup").args(["target", "add", MUSL]).status().map(|s| s.success()).unwrap_or(false);
    if added && target_installed(MUSL) {
        return Ok(MUSL);
    }
    if target_installed(GNU) {
        eprintln!(
            "xtask: could not install {MUSL}; building the same freestanding code for {GNU} instead \
             (still static: it links no C library)"
        );
        return Ok(GNU);
    }
    Err(format!("neither {MUSL} nor {GNU} is installed for this toolchain: rustup target add {MUSL}"))
}

fn target_installed(target: &str) -> bool {
    let Ok(libdir) = output(Command::new("rustc").args(["--print", "target-libdir", "--target", target])) else {
        return false;
    };
    std::fs::read_dir(libdir.trim())
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libcore-")))
        .unwrap_or(false)
}

/// An x86-64 ELF executable (ET_EXEC: not position-independent) without PT_INTERP (no dynamic
/// loader) and without a symbol table (stripped).
pub fn check_static(elf: &[u8]) -> Result<(), String> {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 {
        return Err("not a 64-bit ELF file".into());
    }
    if u16_at(18) != 62 {
        return Err("not an x86-64 executable".into());
    }
    if u16_at(16) != 2 {
        return Err("not ET_EXEC (position-independent or not an executable)".into());
    }
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    for i in 0..phnum {
        if u32_at(phoff + i * phentsize) == 3 {
            return Err("has PT_INTERP: dynamically linked".into());
        }
    }
    let (shoff, shentsize, shnum) = (u64_at(40), u16_at(58), u16_at(60));
    for i in 0..shnum {
        if u32_at(shoff + i * shentsize + 4) == 2 {
            return Err("has a symbol table: not stripped".into());
        }
    }
    Ok(())
}

/// 21016 → "21,016".
pub fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
