//! `cargo xtask vm-test`: the tests that need a kernel of our own, in six boots of the
//! embedded image under qemu:
//! 1. the guest tests (tests/vm/guest.sh) as the box's job, with a virtio disk attached —
//!    results come back over the serial console as `KNOCKER-TEST PASS|FAIL <name>` lines — and
//!    then a clean power-off by knocker's init when the job ends (qemu exits 0 on its own);
//! 2. busybox init's /etc/inittab (tests/vm/inittab): services, respawn, Ctrl-Alt-Del, shutdown
//!    entries, and busybox's `reboot` (the harness sees a second boot, then stops it);
//! 3. the same, then busybox's `poweroff`; 4. busybox's `halt` (the kernel says "System halted");
//! 5. `askfirst` (the harness presses Enter on the serial console) and `restart` (SIGQUIT).
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
    for m in vm::modules()? {
        let name = m.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&m).map_err(|e| format!("{}: {e}", m.display()))?;
        extra.push((format!("lib/knocker-test/{name}"), 0o644, data));
    }
    let tests = image::image(&built, &extra)?;
    let disk = vm::disk()?;
    let path = dir.join("test.cpio.gz");
    image::write(&path, &tests)?;
    eprintln!("xtask: vm-test boot 1/6: the guest tests (image {} bytes)", group(plain.len()));
    let b = vm::boot(&path, false, Some(&disk), Duration::from_secs(300), |_| false)?;
    if !b.has(UP) {
        // The kernel, its modules and qemu come from the archive: name them, not the tests.
        eprintln!("vm-test: console log of the first boot:\n{}\n--- end of log", b.show());
        let last = b.log.iter().rev().find(|l| !l.trim().is_empty()).map(String::as_str).unwrap_or("nothing");
        return Err(format!("the box did not come up with {} under {}: the console's last line: {last}", vm::kernel_package_in_use(), vm::qemu_version()));
    }
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

    // 2. busybox init's own /etc/inittab (Buildroot's, plus the actions it leaves out): the
    //    entries run in busybox's order, a killed getty comes back, a service that exits at once
    //    is restarted about once a second, Ctrl-Alt-Del runs its entry, bad lines are said, and
    //    busybox's `reboot` reboots after the shutdown entries ran.
    let file = |name: &str| std::fs::read(root().join("tests/vm/inittab").join(name)).map_err(|e| format!("tests/vm/inittab/{name}: {e}"));
    let services = vec![
        ("etc/inittab".to_string(), 0o644, file("inittab")?),
        ("etc/init.d/rcS".to_string(), 0o755, file("rcS")?),
        ("etc/init.d/rcK".to_string(), 0o755, file("rcK")?),
        ("etc/test-services".to_string(), 0o755, file("test-services")?),
    ];
    let b = boot_image(&built, &dir, "inittab", &services, true, &[], |log: &[String]| log.iter().filter(|l| l.contains(UP)).count() >= 2)?;
    // A getty's prompt has no newline: a result may share its line.
    let results = |marker: &str| -> Vec<String> {
        b.log.iter().take_while(|l| !l.contains("KNOCKER-TEST END")).filter_map(|l| l.find(marker).map(|at| l[at + marker.len()..].to_string())).collect()
    };
    let passes = results("KNOCKER-TEST PASS ");
    for name in ["inittab_order", "getty_respawned", "respawn_backs_off", "ctrlaltdel_entry_ran"] {
        if passes.iter().any(|p| p == name) {
            println!("  vm ok    {name}");
            passed += 1;
        } else {
            println!("  vm FAIL  {name}");
            failures.push(format!("inittab test did not pass: {name}"));
        }
    }
    for rest in results("KNOCKER-TEST FAIL ") {
        failures.push(format!("inittab test failed: {rest}"));
    }
    check(&mut failures, &b, "the inittab tests ran to the end", b.has("KNOCKER-TEST END"));
    check(&mut failures, &b, "a getty on the console", b.has("login:"));
    check(&mut failures, &b, "line 10 of the inittab said", b.has("init: /etc/inittab:10: not id:runlevels:action:process (line skipped)"));
    check(&mut failures, &b, "line 11 of the inittab said", b.has("init: /etc/inittab:11: unknown action (line skipped)"));
    check(&mut failures, &b, "the respawns said", b.has("' exited (0); restarting it"));
    check(&mut failures, &b, "busybox's reboot reboots after the shutdown entries", b.has("rcK: the shutdown entries run") && b.has("init: rebooting") && b.count(UP) >= 2);
    println!("  vm: /etc/inittab services, busybox reboot → second boot after {:.1} s", b.took.as_secs_f64());

    // 3. The same box, then busybox's poweroff: qemu exits on its own. 4. busybox's halt (no inittab).
    let mut then_poweroff = services.clone();
    then_poweroff.push(("etc/then".into(), 0o644, b"poweroff".to_vec()));
    let b = boot_image(&built, &dir, "poweroff", &then_poweroff, false, &[], |_| false)?;
    check(
        &mut failures,
        &b,
        "busybox's poweroff powers the box off after the shutdown entries",
        exited_cleanly(&b) && b.has("rcK: the shutdown entries run") && b.has("init: powering off") && !b.has("Kernel panic"),
    );
    println!("  vm: /etc/inittab services, busybox poweroff → power-off in {:.1} s", b.took.as_secs_f64());
    let job = b"#!/bin/sh\necho 'job: halt'\nhalt\nsleep 60\n".to_vec();
    let b = boot_image(&built, &dir, "halt", &[("etc/job".into(), 0o755, job)], false, &[], |log: &[String]| log.iter().any(|l| l.contains("System halted")))?;
    check(&mut failures, &b, "busybox's halt halts the box", b.has("init: halting") && b.has("System halted") && b.exit.is_none());
    println!("  vm: busybox halt → halted in {:.1} s", b.took.as_secs_f64());

    // 5. askfirst waits for Enter on the console; SIGQUIT execs the restart entry as PID 1.
    let askfirst = vec![
        ("etc/inittab".to_string(), 0o644, file("askfirst")?),
        ("etc/init.d/rcS".to_string(), 0o755, file("rcS")?),
        ("etc/init.d/rcK".to_string(), 0o755, file("rcK")?),
    ];
    let b = boot_image(&built, &dir, "askfirst", &askfirst, false, &[("Please press Enter to activate this console.", "\n")], |_| false)?;
    check(&mut failures, &b, "askfirst asks, and runs its process after Enter", b.has("Please press Enter to activate this console.") && b.has("KNOCKER-ASKFIRST-ANSWERED"));
    check(&mut failures, &b, "SIGQUIT execs the restart entry as PID 1", b.has("init: restarting") && b.has("KNOCKER-RESTARTED as pid 1") && exited_cleanly(&b));
    println!("  vm: askfirst, then SIGQUIT → the restart entry as PID 1, in {:.1} s", b.took.as_secs_f64());

    if failures.is_empty() {
        println!("vm-test: all passed ({passed} guest tests, 6 boots)");
        Ok(())
    } else {
        Err(format!("vm-test failed:\n  {}", failures.join("\n  ")))
    }
}

/// Boots the plain image with `extra` files on top.
fn boot_image(
    built: &crate::build::Built,
    dir: &std::path::Path,
    tag: &str,
    extra: &[(String, u32, Vec<u8>)],
    may_reboot: bool,
    answers: &[(&str, &str)],
    enough: impl Fn(&[String]) -> bool,
) -> Result<Boot, String> {
    let path = dir.join(format!("{tag}.cpio.gz"));
    image::write(&path, &image::image(built, extra)?)?;
    eprintln!("xtask: vm-test boot: {tag}");
    vm::boot_answering(&path, may_reboot, None, Duration::from_secs(120), enough, answers)
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
