//! Root inside a default container cannot reach the host (issue 10): host devices, PID 1's
//! memory, a container left running by a killed launcher, the cgroup release_agent, syscalls
//! Docker refuses, a host directory handed over as stdio, a rootfs other users can reach.
//! Each attack has a control: the same probe where the protection is absent works.

use knocker_tests::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// `probe ARGS` in a container of `rootfs` with `options`; its one-line answer.
fn probe_in(options: &[&str], rootfs: &Path, args: &[&str]) -> String {
    let out = run(launcher(options, rootfs).arg("/probe").args(args));
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout.trim().to_string()
}

/// The same probe run by host root outside any container: the control that shows what the
/// attack does where nothing stops it.
fn probe_on_host(args: &[&str]) -> String {
    let out = run(Command::new(bin("probe")).args(args));
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout.trim().to_string()
}

/// Host device nodes an attacker would want: (what, b|c, major, minor). The disk is the one
/// holding `/`.
fn host_devices() -> Vec<(String, &'static str, u64, u64)> {
    let root = std::fs::metadata("/").unwrap().dev();
    let mut list = vec![(format!("the disk holding / ({}:{})", libc::major(root), libc::minor(root)), "b", libc::major(root) as u64, libc::minor(root) as u64)];
    for (name, kind, major, minor) in [
        ("loop0", "b", 7, 0),
        ("kmsg", "c", 1, 11),
        ("loop-control", "c", 10, 237),
        ("kvm", "c", 10, 232),
        ("tty1", "c", 4, 1),
        ("ttyS0", "c", 4, 64),
        ("console", "c", 5, 1),
        ("vcs", "c", 7, 0),
        ("mem", "c", 1, 1),
    ] {
        if Path::new("/dev").join(name).exists() {
            list.push((format!("/dev/{name}"), kind, major, minor));
        }
    }
    list
}

#[test]
fn host_device_nodes_made_inside_cannot_be_opened() {
    let _g = shared();
    let copy = rootfs_with_probe("devices");
    let devices = host_devices();
    let mut tested = 0;
    for (what, kind, major, minor) in &devices {
        let (major, minor) = (major.to_string(), minor.to_string());
        // Control: host root opens a node it makes (the probe removes it again).
        let node = ["node", "/tmp/attack-node", kind, &major, &minor];
        let host = probe_on_host(&node);
        if host != "opened" {
            // A device without hardware behind it, or one this host keeps even from its root
            // (the disk, on some virtual machines), proves nothing here; the VM tests the disk.
            assert!(!["/dev/loop0", "/dev/kmsg", "/dev/loop-control"].contains(&what.as_str()), "control failed for {what}: {host}");
            continue;
        }
        tested += 1;
        // In a default container: mknod works, opening does not.
        let inside = probe_in(&[], copy.path(), &node);
        assert!(inside.starts_with("refused"), "{what}: {inside}");
        // With CAP_SYS_ADMIN the container can mount a tmpfs that is not nodev: the devices
        // cgroup alone must refuse the open.
        let script = format!("mount -t tmpfs x /mnt && /probe node /mnt/n {kind} {major} {minor}");
        let out = run(launcher(&["--cap-add", "SYS_ADMIN"], copy.path()).args(["/bin/sh", "-c", &script]));
        assert_eq!(out.stdout.trim(), "refused EPERM (Operation not permitted)", "{what}: {out:?}");
    }
    assert!(tested >= 3, "too few host devices to test with: {devices:?}");
}

#[test]
fn the_standard_devices_work_and_nothing_else_is_allowed_by_the_device_rules() {
    let _g = shared();
    let copy = rootfs_with_probe("stddev");
    let out = run(launcher(&[], copy.path()).args(["/bin/sh", "-c", "echo x > /dev/null && head -c 3 /dev/zero | wc -c && head -c 3 /dev/urandom | wc -c && /probe open /dev/ptmx rw && /probe open /dev/full w"]));
    assert_eq!(out.stdout, "3\n3\nopened\nopened\n", "{out:?}");
    // On a mount that is not nodev, the allow list decides: null yes, kmsg (1:11) no.
    let script = "mount -t tmpfs x /mnt && /probe node /mnt/n c 1 3 && /probe node /mnt/k c 1 11 && /probe node /mnt/b b 1 3";
    let out = run(launcher(&["--cap-add", "SYS_ADMIN"], copy.path()).args(["/bin/sh", "-c", script]));
    assert_eq!(out.stdout, "opened\nrefused EPERM (Operation not permitted)\nrefused EPERM (Operation not permitted)\n", "{out:?}");
}

#[test]
fn the_rootfs_dev_tmpfs_and_binds_are_nodev() {
    let _g = shared();
    let copy = rootfs_with_probe("nodev");
    let data = Scratch::new("nodev-bind");
    let bind = format!("{}:/b", data.path().display());
    // The null device's numbers: allowed by the device rules, so a refusal is nodev's doing.
    let script = "/probe node /tmp/n c 1 3; /probe node /dev/n c 1 3; /probe node /t/n c 1 3; /probe node /b/n c 1 3";
    let out = run(launcher(&["--tmpfs", "/t", "--bind", &bind], copy.path()).args(["/bin/sh", "-c", script]));
    let refused = "refused EACCES (Permission denied)";
    assert_eq!(out.stdout.lines().collect::<Vec<_>>(), [refused; 4], "{out:?}");
    // --ro: the node can only be made in /dev, and opens nothing there either.
    let out = run(launcher(&["--ro"], copy.path()).args(["/probe", "node", "/dev/n", "c", "1", "3"]));
    assert_eq!(out.stdout.trim(), refused, "{out:?}");
}

#[test]
fn device_gives_one_node_with_the_access_asked_for() {
    let _g = shared();
    let copy = rootfs_with_probe("device");
    assert_eq!(probe_on_host(&["open", "/dev/fuse", "rw"]), "opened", "control: the host opens /dev/fuse");
    assert!(probe_in(&[], copy.path(), &["open", "/dev/fuse", "rw"]).starts_with("refused ENOENT"));
    assert_eq!(probe_in(&["--device", "/dev/fuse"], copy.path(), &["open", "/dev/fuse", "rw"]), "opened");
    let read_only = ["--device", "/dev/fuse:/dev/sub/f:r"];
    assert_eq!(probe_in(&read_only, copy.path(), &["open", "/dev/sub/f", "r"]), "opened");
    assert_eq!(probe_in(&read_only, copy.path(), &["open", "/dev/sub/f", "rw"]), "refused EPERM (Operation not permitted)");
    for (bad, says) in [
        ("/dev/nonexistent", "no such host path: /dev/nonexistent"),
        ("/etc/passwd", "not a device node: /etc/passwd"),
        ("/dev/fuse:/dev/f:rwx", "bad --device"),
        ("fuse", "bad --device"),
    ] {
        let out = run(launcher(&["--device", bad], copy.path()).arg("true"));
        assert_eq!(out.code, 125, "{bad}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(out.stderr.starts_with("launcher: ") && out.stderr.contains(says), "{bad}: {out:?}");
    }
}

#[test]
fn pid_1s_memory_is_out_of_reach_of_the_containers_root() {
    let _g = shared();
    let copy = rootfs_with_probe("pid1mem");
    // Control: another process of the container, same root, is open to it.
    let script = "sleep 100 & /probe open /proc/$!/mem rw; /probe open /proc/1/mem rw; /probe open /proc/1/environ r; kill $!";
    let out = run(launcher(&[], copy.path()).args(["/bin/sh", "-c", script]));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "opened", "control: {out:?}");
    assert_eq!(lines[1..], ["refused EACCES (Permission denied)"; 2], "{out:?}");
}

#[test]
fn a_container_whose_launcher_was_killed_is_killed_by_the_next_launcher() {
    let _g = exclusive();
    let copy = rootfs_with_probe("stale");
    // --no-init: the probe is PID 1 and clears its own parent-death signal, as root inside
    // could do to any PID 1 it can write.
    let mut cmd = launcher(&["--no-init", "--name", "stale-test"], copy.path());
    cmd.args(["/probe", "nopdeath"]).stdout(Stdio::piped());
    let mut first = Running::spawn(&mut cmd);
    let mut ready = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(first.0.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\n");
    let orphan = pids_running(&["/probe", "nopdeath"]);
    assert_eq!(orphan.len(), 1);
    let _cleanup = KillOnDrop(orphan[0]);
    first.signal(libc::SIGKILL);
    let _ = first.wait(Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(pids_running(&["/probe", "nopdeath"]), orphan, "control: the container outlives its killed launcher");
    let out = run(launcher(&[], copy.path()).arg("true"));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("launcher: removed the cgroup knocker/stale-test of a container whose launcher died (killed 1 process)"), "{out:?}");
    assert!(eventually(Duration::from_secs(2), || pids_running(&["/probe", "nopdeath"]).is_empty()), "the orphaned container still runs");
    assert!(knocker_cgroups().iter().all(|p| !p.ends_with("stale-test")), "{:?}", knocker_cgroups());
    assert!(!Path::new("/run/knocker/@launcher/stale-test.lock").exists());
}

#[test]
fn a_name_in_use_is_refused_and_the_running_container_untouched() {
    let _g = shared();
    let mut first = Running::spawn(launcher(&["--name", "taken-name"], &rootfs()).args(["sleep", "1241"]));
    assert!(eventually(Duration::from_secs(5), || !pids_running(&["sleep", "1241"]).is_empty()));
    let out = container(&["--name", "taken-name"], "true");
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("a container with this name is running: taken-name"), "{out:?}");
    assert_eq!(pids_running(&["sleep", "1241"]).len(), 1);
    first.signal(libc::SIGTERM);
    assert!(first.wait(Duration::from_secs(5)).is_some());
}

#[test]
fn a_cgroup_hierarchy_mounted_inside_shows_no_release_agent() {
    let _g = shared();
    let v1: Vec<String> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) && Path::new("/sys/fs/cgroup").join(e.file_name()).join("release_agent").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!v1.is_empty(), "this host has no cgroup v1 hierarchy: the release_agent escape cannot be tested here (the VM is cgroup v2)");
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    for name in &v1 {
        // The hierarchy's own options (controllers, name=…), as the host mounted it.
        let point = format!("/sys/fs/cgroup/{name}");
        let line = mounts.lines().find(|l| l.split(' ').nth(1) == Some(point.as_str())).unwrap();
        let which: Vec<&str> = line.split(' ').nth(3).unwrap().split(',')
            .filter(|o| !matches!(*o, "rw" | "ro" | "relatime" | "nosuid" | "nodev" | "noexec") && !o.starts_with("release_agent"))
            .collect();
        let mut opts = which.join(",");
        if which.iter().all(|o| o.starts_with("name=")) {
            opts = format!("none,{opts}");
        }
        // Control: a mount of the same hierarchy from the host's cgroup namespace (in a private
        // mount namespace, so the host's mounts are untouched) shows the release_agent.
        let look = format!("mkdir -p /tmp/cg && mount -t cgroup -o {opts} none /tmp/cg && ls /tmp/cg/release_agent");
        let host = run(Command::new("unshare").args(["-m", "sh", "-c", &look.replace("/tmp/cg", "/run/knocker-cg-control")]));
        assert_eq!(host.stdout.trim(), "/run/knocker-cg-control/release_agent", "control for {name}: {host:?}");
        let _ = std::fs::remove_dir("/run/knocker-cg-control");
        let out = container(&["--cap-add", "SYS_ADMIN"], &format!("{look} 2>&1; echo rc=$?"));
        assert!(out.stdout.contains("No such file or directory") && out.stdout.contains("rc=1"), "{name}: {out:?}");
    }
}

#[test]
fn the_seccomp_filter_is_an_allow_list_as_dockers() {
    let _g = shared();
    let copy = rootfs_with_probe("seccomp-allow");
    let eperm = "refused EPERM (Operation not permitted)";
    let enosys = "refused ENOSYS (Function not implemented)";
    // (what, syscall number, first argument, the answer inside)
    let cases: [(&str, &str, &str, &str); 7] = [
        ("io_uring_setup", "425", "0", eperm),
        ("socket(AF_VSOCK)", "41", "40", eperm),
        ("personality(ADDR_NO_RANDOMIZE)", "135", "262144", eperm),
        ("cachestat (newer than the profile)", "451", "0", enosys),
        ("listmount (newer than the profile)", "458", "0", enosys),
        ("mseal (newer than the profile)", "462", "0", enosys),
        ("clone3", "435", "0", enosys),
    ];
    for (what, nr, arg, inside) in cases {
        assert_eq!(probe_in(&[], copy.path(), &["syscall", nr, arg]), inside, "{what}");
        // Control: without the filter the kernel answers something else.
        let unconfined = probe_in(&["--seccomp=unconfined"], copy.path(), &["syscall", nr, arg]);
        assert_ne!(unconfined, inside, "control for {what}");
    }
    // Allowed: personality(PER_LINUX32) and an ordinary socket.
    assert_eq!(probe_in(&[], copy.path(), &["syscall", "135", "8"]), "ok");
    assert_ne!(probe_in(&[], copy.path(), &["syscall", "41", "1"]), eperm, "socket(AF_UNIX, 0, 0)");
    // The 32-bit entry kills the process (SIGSYS); unconfined it answers.
    let out = run(launcher(&[], copy.path()).args(["/probe", "int80"]));
    assert_eq!(out.code, 128 + libc::SIGSYS, "{out:?}");
    assert!(probe_in(&["--seccomp=unconfined"], copy.path(), &["int80"]).starts_with("ok "));
}

#[test]
fn a_default_pids_limit_and_pids_max() {
    let _g = shared();
    let read = |p: &str| std::fs::read_to_string(p).unwrap().trim().parse::<u64>().unwrap();
    let expected = (read("/proc/sys/kernel/threads-max").min(read("/proc/sys/kernel/pid_max")) * 15 / 100).max(64);
    for (options, want) in [(&["--name", "pids-default"][..], expected.to_string()), (&["--name", "pids-max", "--pids", "max"][..], "max".into())] {
        let name = options[1];
        let mut c = Running::spawn(launcher(options, &rootfs()).args(["sleep", "1242"]));
        let file = format!("/sys/fs/cgroup/pids/knocker/{name}/pids.max");
        assert!(eventually(Duration::from_secs(5), || std::fs::read_to_string(&file).is_ok()), "{file}");
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), want);
        c.signal(libc::SIGTERM);
        assert!(c.wait(Duration::from_secs(5)).is_some());
    }
}

#[test]
fn a_directory_as_stdio_is_refused() {
    let _g = shared();
    // Control: through /proc/self/fd/0, a directory on stdin is a path into it.
    let out = Command::new("sh").args(["-c", "cat /proc/self/fd/0/hostname"]).stdin(std::fs::File::open("/etc").unwrap()).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), std::fs::read_to_string("/etc/hostname").unwrap());
    for fd in 0..3 {
        let mut cmd = launcher(&[], &rootfs());
        cmd.args(["/bin/cat", "/proc/self/fd/0/hostname"]);
        let dir = || Stdio::from(std::fs::File::open("/etc").unwrap());
        let out = match fd {
            0 => cmd.stdin(dir()).stderr(Stdio::piped()).stdout(Stdio::piped()).output().unwrap(),
            1 => cmd.stdin(Stdio::null()).stdout(dir()).stderr(Stdio::piped()).output().unwrap(),
            _ => cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(dir()).output().unwrap(),
        };
        assert_eq!(out.status.code(), Some(125), "fd {fd}: {out:?}");
        assert!(out.stdout.is_empty());
        if fd != 2 {
            let err = String::from_utf8_lossy(&out.stderr);
            let name = ["stdin", "stdout"][fd];
            assert!(err.starts_with(&format!("launcher: refusing a directory as the container's {name}")), "{err}");
        }
    }
}

#[test]
fn an_o_path_descriptor_as_stdio_is_refused() {
    let _g = shared();
    use std::os::fd::FromRawFd;
    // SAFETY: open(2) of a NUL-terminated path; the descriptor is owned by the File below.
    let fd = unsafe { libc::open(c"/etc/hostname".as_ptr(), libc::O_PATH) };
    assert!(fd >= 0);
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    let out = launcher(&[], &rootfs()).arg("true").stdin(file).output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1, "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("launcher: refusing an O_PATH descriptor as the container's stdin"), "{out:?}");
}

#[test]
fn docker_masks_interrupts_asound_and_powercap() {
    let _g = shared();
    assert!(!std::fs::read_to_string("/proc/interrupts").unwrap().is_empty());
    let out = container(&[], "wc -c < /proc/interrupts; ls /proc/asound /sys/devices/virtual/powercap 2>/dev/null | wc -l");
    assert_eq!(out.stdout, "0\n0\n", "{out:?}");
}

#[test]
fn setuid_programs_planted_in_the_rootfs_stay_out_of_other_users_reach() {
    let _g = shared();
    // The attack: root inside plants a setuid-root program; an unprivileged host user runs it.
    let plant = "cp /probe /planted && chmod 4755 /planted";
    // Through a shell: setpriv itself keeps its capabilities until its own exec.
    let as_nobody = |rootfs: &Path| {
        run(Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", "exec \"$0\" euid"])
            .arg(rootfs.join("planted")))
    };
    // Control: a rootfs under /tmp, which everybody can enter.
    let open = std::env::temp_dir().join(format!("knocker-reachable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&open);
    assert!(Command::new("cp").arg("-a").arg(rootfs()).arg(&open).status().unwrap().success());
    std::fs::copy(bin("probe"), open.join("probe")).unwrap();
    let out = run(launcher(&[], &open).args(["/bin/sh", "-c", plant]));
    let got = as_nobody(&open);
    let _ = std::fs::remove_dir_all(&open);
    assert!(out.stderr.contains("launcher: warning: other users of this host can reach"), "{out:?}");
    assert_eq!(got.stdout.trim(), "0", "control: nobody became root through the planted program: {got:?}");
    // The protected layout: the rootfs's parent admits root only, and the launcher is quiet.
    let copy = rootfs_with_probe("planted");
    assert_eq!(std::fs::metadata(copy.path().parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    let out = run(launcher(&[], copy.path()).args(["/bin/sh", "-c", plant]));
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let got = as_nobody(copy.path());
    assert_ne!(got.code, 0, "{got:?}");
    assert!(got.stderr.contains("Permission denied"), "{got:?}");
    assert!(got.stdout.is_empty(), "{got:?}");
}
