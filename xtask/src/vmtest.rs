//! `cargo xtask vm-test`: the tests that need a kernel of our own, in three boots of the
//! embedded image under qemu:
//! 1. the guest tests (tests/vm/guest.sh) as the box's job — results come back over the serial
//!    console as `KNOCKER-TEST PASS|FAIL <name>` lines — and then a clean power-off by knocker's
//!    init when the job ends (qemu exits 0 on its own, no kernel panic);
//! 2. `kill -TERM 1` from the job powers the box off;
//! 3. `kill -USR1 1` reboots it (the harness sees a second boot, then stops it).
//! A guest that hangs is stopped after a time limit and counted as a failure, with its log.

use crate::build::group;
use crate::image;
use crate::util::{root, target_dir};
use crate::vm::{self, Boot};
use std::time::Duration;

const UP: &str = "knocker-box: up";

pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("vm-test takes no arguments (got '{a}')"));
    }
    let built = vm::built_for_tests()?;
    vm::kernel()?;
    let guest = std::fs::read(root().join("tests/vm/guest.sh")).map_err(|e| format!("tests/vm/guest.sh: {e}"))?;
    let probe = std::fs::read(built.dir.join("probe")).map_err(|e| format!("probe: {e}"))?;
    let dir = target_dir().join("vm");
    let mut failures = Vec::new();

    // 1. The guest tests, then power-off when the job ends.
    let plain = image::image(&built, &[])?;
    // The guest tests get a disk (the box may open it, its containers may not) and the modules
    // the cloud kernel needs for it, in /lib/knocker-test in load order.
    let mut extra = vec![
        ("etc/job".into(), 0o755, guest),
        (format!("{}/probe", image::ROOTFS.trim_start_matches('/')), 0o755, probe),
    ];
    for (i, m) in vm::DISK_MODULES.iter().enumerate() {
        let name = std::path::Path::new(m).file_name().unwrap();
        let data = std::fs::read(vm::modules_dir().join(name)).map_err(|e| format!("{m}: {e}"))?;
        extra.push((format!("lib/knocker-test/{i}-{}", name.to_string_lossy()), 0o644, data));
    }
    let tests = image::image(&built, &extra)?;
    let disk = vm::disk()?;
    let path = dir.join("test.cpio.gz");
    image::write(&path, &tests)?;
    eprintln!("xtask: vm-test boot 1/3: the guest tests (image {} bytes)", group(plain.len()));
    let b = vm::boot(&path, false, Some(&disk), Duration::from_secs(300), |_| false)?;
    let (mut passed, mut failed) = (0, 0);
    for line in &b.log {
        if let Some(name) = line.strip_prefix("KNOCKER-TEST PASS ") {
            println!("  vm ok    {name}");
            passed += 1;
        } else if let Some(rest) = line.strip_prefix("KNOCKER-TEST FAIL ") {
            println!("  vm FAIL  {rest}");
            failed += 1;
            failures.push(format!("guest test failed: {rest}"));
        }
    }
    check(&mut failures, &b, "the guest tests ran to the end", b.has("KNOCKER-TEST END"));
    check(&mut failures, &b, "the box powered off on its own after the job", exited_cleanly(&b));
    check(&mut failures, &b, "knocker's init said it powers off", b.has("init: powering off"));
    check(&mut failures, &b, "no kernel panic", !b.has("Kernel panic"));
    let up = b.log.iter().find_map(|l| l.find(UP).map(|at| l[at..].to_string())).unwrap_or_default();
    println!("  vm: {passed} guest tests passed, {failed} failed; boot to power-off {:.1} s ({up})", b.took.as_secs_f64());

    // 2. kill -TERM 1 powers off.
    let job = b"#!/bin/sh\necho 'job: kill -TERM 1'\nkill -TERM 1\nsleep 60\n".to_vec();
    let b = boot_with(&built, &dir, "term", job, false, |_| false)?;
    check(&mut failures, &b, "kill -TERM 1 powers the box off", exited_cleanly(&b) && b.has("init: powering off") && !b.has("Kernel panic"));
    println!("  vm: kill -TERM 1 → power-off in {:.1} s", b.took.as_secs_f64());

    // 3. kill -USR1 1 reboots: a second boot shows up.
    let job = b"#!/bin/sh\necho 'job: kill -USR1 1'\nkill -USR1 1\nsleep 60\n".to_vec();
    let b = boot_with(&built, &dir, "usr1", job, true, |log: &[String]| log.iter().filter(|l| l.contains(UP)).count() >= 2)?;
    check(&mut failures, &b, "kill -USR1 1 reboots the box", b.count(UP) >= 2 && b.has("init: rebooting"));
    println!("  vm: kill -USR1 1 → second boot seen after {:.1} s", b.took.as_secs_f64());

    if failures.is_empty() {
        println!("vm-test: all passed ({passed} guest tests, 3 boots)");
        Ok(())
    } else {
        Err(format!("vm-test failed:\n  {}", failures.join("\n  ")))
    }
}

fn boot_with(
    built: &crate::build::Built,
    dir: &std::path::Path,
    tag: &str,
    job: Vec<u8>,
    may_reboot: bool,
    enough: impl Fn(&[String]) -> bool,
) -> Result<Boot, String> {
    let path = dir.join(format!("{tag}.cpio.gz"));
    image::write(&path, &image::image(built, &[("etc/job".into(), 0o755, job)])?)?;
    eprintln!("xtask: vm-test boot: {tag}");
    vm::boot(&path, may_reboot, None, Duration::from_secs(120), enough)
}

fn exited_cleanly(b: &Boot) -> bool {
    b.exit.is_some_and(|s| s.success())
}

/// Records a failed check, with the console log of that boot.
fn check(failures: &mut Vec<String>, b: &Boot, what: &str, ok: bool) {
    if !ok {
        eprintln!("vm-test: FAILED: {what}; console log:\n{}\n--- end of log", b.show());
        failures.push(what.to_string());
    }
}
