//! `cargo xtask <command>`: the project's build, run and test entry points (std is fine here;
//! nothing in the shipped binaries depends on this crate).

mod bench;
mod build;
mod conformance;
mod cpio;
mod fuzz;
mod image;
mod install;
mod kmod;
mod rootfs;
mod run;
mod svg;
mod test;
mod util;
mod vm;
mod vmtest;

use std::process::ExitCode;

const USAGE: &str = "\
Usage: cargo xtask <command> [options]

  build                   build launcher and init (static, stripped) into target/knocker/
  rootfs [DIR] [--debian] make a rootfs (default target/containers/busybox, or
                          target/containers/debian with --debian; the folder is 0700)
  run [-- COMMAND...]     build, make the rootfs if missing, run a container
  test                    build, make the rootfs, run every test (unit and end to end, as root)
  fuzz [--seconds N] [T…] the readers' fuzz targets (libFuzzer), N seconds each (default 10)
  install [--prefix DIR]  install DIR/bin/launcher and DIR/libexec/knocker/init (default /usr/local)
  image [OUT]             the embedded image: a gzip'd cpio initramfs with knocker's init as /init
  vm [-- COMMAND...]      boot that image under qemu, running COMMAND as the box's job
  vm-test                 boot it with the guest tests (cgroup v2, the init as the real PID 1)
  conformance [FILE…]     the OCI runtime-tools suite against knocker and runc (docs/conformance.md)
  bench [--quick]         knocker against runc, bwrap, unshare, tini, dumb-init, catatonit
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match cmd {
        "build" => build::run(rest).map(|_| ()),
        "rootfs" => rootfs::run(rest),
        "run" => run::run(rest),
        "test" => test::run(rest),
        "fuzz" => fuzz::run(rest),
        "install" => install::run(rest),
        "image" => image::run(rest),
        "vm" => vm::run(rest),
        "vm-test" => vmtest::run(rest),
        "bench" => bench::run(rest),
        "conformance" => conformance::run(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command '{other}'\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
