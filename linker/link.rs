//! Build script shared by the two programs (`build = "../linker/link.rs"` in their manifests):
//! the link arguments that make a freestanding, fully static, non-PIE executable.
//!
//! `-bins` keeps them off test harnesses and build scripts, which link against the host's libc.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rerun-if-changed=../linker/link.rs");
    println!("cargo:rerun-if-changed=../linker/no-unwind.ld");
    // The package using this script sits somewhere below the workspace root; so does linker/.
    let manifest = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let script = manifest
        .ancestors()
        .map(|dir| dir.join("linker/no-unwind.ld"))
        .find(|p| p.exists())
        .expect("linker/no-unwind.ld in an ancestor of the package");
    if !target.contains("-linux-") {
        return;
    }
    for arg in [
        // Our own `_start` (linker/src/entry.rs) and no C library at all.
        "-nostartfiles",
        "-nostdlib",
        // Static and position-dependent: with our own `_start` nobody would apply the
        // R_X86_64_RELATIVE relocations of a static-pie, so it would crash on the first pointer.
        "-static",
        "-no-pie",
        // Page alignment dominates tiny binaries: one segment per permission is enough.
        "-Wl,-z,noseparate-code",
        "-Wl,-z,norelro",
        "-Wl,--build-id=none",
        "-Wl,--gc-sections",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    // The toolchain's own lld (every rustup toolchain ships it as gcc-ld/ld.lld) packs the
    // segments without page padding in the file: GNU ld pads the code to a page boundary
    // before the 16-byte GOT, so the programs grew in 4 KB steps (knocker: 160,280 bytes with
    // GNU ld, 157,840 with lld). Without it, the system's linker does the same job.
    if let Some(dir) = toolchain_lld() {
        println!("cargo:rustc-link-arg-bins=-B{}", dir.display());
        println!("cargo:rustc-link-arg-bins=-fuse-ld=lld");
        // Identical functions folded into one (monomorphised copies that compile alike): the
        // launcher 208 bytes smaller, knocker 344 (measured). Rust gives no function or
        // constant a unique address to compare, and these programs compare none.
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    }
}

/// `<sysroot>/lib/rustlib/<host>/bin/gcc-ld`, when it holds `ld.lld`.
fn toolchain_lld() -> Option<std::path::PathBuf> {
    let rustc = std::env::var("RUSTC").ok()?;
    let host = std::env::var("HOST").ok()?;
    let out = std::process::Command::new(rustc).args(["--print", "sysroot"]).output().ok()?;
    let sysroot = String::from_utf8(out.stdout).ok()?;
    let dir = std::path::Path::new(sysroot.trim()).join("lib/rustlib").join(host).join("bin/gcc-ld");
    dir.join("ld.lld").exists().then_some(dir)
}
