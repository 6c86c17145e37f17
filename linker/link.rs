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
}
