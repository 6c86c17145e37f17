//! `cargo xtask test`: build, make the rootfs, then every test: the unit tests of the pure
//! crates, then the end-to-end tests that run the built static binaries as root.

use crate::util::{cargo, checked, is_root, root};
use crate::{build, rootfs};


pub fn run(args: &[String]) -> Result<(), String> {
    if !is_root() {
        return Err("the tests run containers and need root: run `cargo xtask test` as root".into());
    }
    // Tools the tests call that a minimal Debian may lack: unshare, nsenter and setpriv
    // (util-linux), script (bsdutils), useradd (passwd), file, ip (iproute2), mkfs.ext4 for the
    // box's disk (e2fsprogs); tmux drives the terminal tests. (The box's initramfs is written by
    // xtask's own cpio writer and its modules read by its own ELF reader: no cpio or kmod.)
    crate::util::ensure_packages(&["util-linux", "bsdutils", "passwd", "file", "iproute2", "e2fsprogs", "tmux", "runc"], "the tests' tools (runc: the reference runtime)")?;
    // pasta (Debian's passt) carries `--net pasta`.
    crate::util::ensure_packages(&["passt"], "the network tests")?;
    // newuidmap/newgidmap map subordinate ids for containers without root.
    crate::util::ensure_packages(&["uidmap"], "the rootless tests")?;
    // podman (with conmon, its network plugins and catatonit for --init) drives knocker as a real engine.
    crate::util::ensure_packages(&["podman", "containernetworking-plugins", "catatonit", "iproute2", "containerd", "slirp4netns"], "the OCI runtime's tests")?;
    // Docker's own daemon (docker.io: dockerd, its client, docker-init) drives knocker as an added runtime.
    crate::util::ensure_packages(&["docker.io"], "the Docker tests")?;
    let built = build::build()?;
    build::probe(&built)?;
    build::control(&built)?;
    let rootfs = rootfs::ensure_default()?;
    // A real distribution for the daily-driver tests (debootstrap from Debian's mirror, once).
    let debian = rootfs::private_dir()?.join("debian");
    rootfs::make_debian(&debian)?;
    eprintln!("xtask: unit tests");
    // (oci's and the launcher's and init's include every file of ../shared/findings/parsers as
    // a regression input, and a differential test of the JSON reader against Python's.)
    checked(cargo().current_dir(root()).args(["test", "--locked", "-p", "linker", "-p", "launcher", "-p", "init", "-p", "oci", "-p", "xtask"]))?;
    eprintln!("xtask: a short fuzz pass over the readers (the findings are its seeds)");
    crate::fuzz::pass(&crate::fuzz::TARGETS, 3)?;
    eprintln!("xtask: end-to-end tests (target/knocker/ binaries, {})", rootfs.display());
    let host = checked(
        cargo()
            .current_dir(root())
            .args(["test", "--locked", "-p", "knocker-tests"])
            .args(args)
            .env("KNOCKER_BIN", &built.dir)
            .env("KNOCKER_ROOTFS", &rootfs)
            .env("KNOCKER_DEBIAN_ROOTFS", &debian),
    );
    // cgroup v2 and the init as a kernel-booted PID 1 need a kernel of our own.
    eprintln!("xtask: tests in the virtual box (cargo xtask vm-test)");
    let vm = crate::vmtest::run(&[]);
    // The OCI runtime-tools suite, knocker and runc side by side: fails where knocker is worse.
    eprintln!("xtask: OCI conformance (cargo xtask conformance)");
    let conformance = crate::conformance::compare(&built.knocker(), &[], true).and_then(|worse| match worse.is_empty() {
        true => Ok(()),
        false => Err(format!("conformance: knocker is worse than runc: {}", worse.join("; "))),
    });
    host.and(vm).and(conformance)
}
