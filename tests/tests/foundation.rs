//! The foundation (issue 2): a container from a plain rootfs directory, exit codes, and
//! nothing left on the host.

use knocker_tests::*;
use std::process::Command;

#[test]
fn hostname_is_the_containers_and_the_hosts_is_unchanged() {
    let _g = shared();
    let before = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let out = container(&[], "hostname");
    assert_eq!((out.code, out.stdout.trim()), (0, "knocker"), "{out:?}");
    let out = container(&["--hostname", "box-7"], "hostname");
    assert_eq!(out.stdout.trim(), "box-7", "{out:?}");
    assert_eq!(std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(), before);
}

#[test]
fn command_is_pid_1_without_init_and_ps_lists_only_the_container() {
    let _g = shared();
    let out = container(&["--no-init"], "echo $$; ps -o pid,comm");
    assert_eq!(out.code, 0, "{out:?}");
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("1"));
    let rows: Vec<Vec<&str>> = lines.skip(1).map(|l| l.split_whitespace().collect()).collect();
    // busybox sh execs its last command in place: ps is PID 1 and sees only itself.
    assert_eq!(rows, vec![vec!["1", "ps"]]);
}

#[test]
fn proc_inside_is_a_fresh_proc_of_the_containers_pid_namespace() {
    let _g = shared();
    let out = container(&["--no-init"], "ls /proc | grep -c '^[0-9]'; grep ' /proc ' /proc/self/mountinfo");
    assert_eq!(out.code, 0, "{out:?}");
    let mut lines = out.stdout.lines();
    let count: usize = lines.next().unwrap().trim().parse().unwrap();
    assert!(count <= 3, "the container's /proc shows {count} processes");
    let mount = lines.next().unwrap_or("");
    assert!(mount.contains(" / /proc ") && mount.contains(" - proc proc"), "{mount}");
}

#[test]
fn the_hosts_mount_table_is_identical_before_and_after() {
    let _g = exclusive();
    let before = mountinfo();
    let out = container(&["--bind", "/tmp:/mnt", "--tmpfs", "/tmp"], "grep -c . /proc/self/mountinfo");
    assert_eq!(out.code, 0, "{out:?}");
    let inside: usize = out.stdout.trim().parse().unwrap();
    assert!(inside > 10, "the container has its own mounts ({inside})");
    assert_eq!(mountinfo(), before);
}

#[test]
fn the_command_runs_exactly_once() {
    let _g = shared();
    for init in [&[][..], &["--no-init"][..]] {
        let copy = Scratch::rootfs_copy("once");
        let out = run(launcher(init, copy.path()).args(["/bin/sh", "-c", "echo ran >> /tmp/once"]));
        assert_eq!(out.code, 0, "{out:?}");
        let log = std::fs::read_to_string(copy.path().join("tmp/once")).unwrap();
        assert_eq!(log, "ran\n", "with {init:?}");
    }
}

#[test]
fn exit_codes_of_the_command_pass_through() {
    let _g = shared();
    for code in [0, 3, 42, 255] {
        assert_eq!(container(&[], &format!("exit {code}")).code, code);
        assert_eq!(container(&["--no-init"], &format!("exit {code}")).code, code);
    }
}

#[test]
fn a_command_that_kills_itself_gives_128_plus_the_signal() {
    let _g = shared();
    assert_eq!(container(&[], "kill -KILL $$").code, 137);
    assert_eq!(container(&[], "kill -TERM $$").code, 143);
}

#[test]
fn missing_and_non_executable_commands_are_127_and_126() {
    let _g = shared();
    let out = run(launcher(&[], &rootfs()).arg("/nonexistent"));
    assert_eq!(out.code, 127, "{out:?}");
    assert_eq!(out.stderr, "launcher: cannot run /nonexistent: ENOENT (No such file or directory)\n");
    let out = run(launcher(&[], &rootfs()).arg("nonexistent-cmd"));
    assert_eq!(out.code, 127, "{out:?}");
    assert!(out.stderr.contains("nonexistent-cmd"), "{out:?}");
    let out = run(launcher(&[], &rootfs()).arg("/etc/passwd"));
    assert_eq!(out.code, 126, "{out:?}");
    assert_eq!(out.stderr, "launcher: cannot run /etc/passwd: EACCES (Permission denied)\n");
    let out = run(launcher(&["--no-init"], &rootfs()).arg("/nonexistent"));
    assert_eq!(out.code, 127, "{out:?}");
}

#[test]
fn the_launchers_own_failures_are_125_with_one_line() {
    let _g = shared();
    let out = run(Command::new(bin("launcher")).args(["/nonexistent-rootfs", "/bin/true"]));
    assert_eq!((out.code, out.stderr.as_str()), (125, "launcher: rootfs does not exist: /nonexistent-rootfs\n"));
    let out = run(Command::new(bin("launcher")).args(["/etc/passwd", "/bin/true"]));
    assert_eq!((out.code, out.stderr.as_str()), (125, "launcher: rootfs is not a directory: /etc/passwd\n"));
    // The host's own root, by any path to it (before: pivot_root's EBUSY, after a warning).
    for host_root in ["/", "/./", "/proc/self/root"] {
        let out = run(Command::new(bin("launcher")).args([host_root, "/bin/true"]));
        assert_eq!((out.code, out.stderr.as_str()), (125, format!("launcher: rootfs is the host's own root: {host_root} (give a directory holding a root file system)\n").as_str()));
    }
    // With a terminal too, a setup failure is its one line (before: then "cannot receive the
    // container's terminal: ECONNRESET").
    let line = format!("{} -t --bind /nonexistent-bind-source:/x {} /bin/true", bin("launcher").display(), rootfs().display());
    let out = run(Command::new("script").args(["-qec", &line, "/dev/null"]));
    let said: Vec<&str> = out.stdout.lines().filter(|l| l.contains("launcher:")).collect();
    assert_eq!(said, ["launcher: cannot open --bind source /nonexistent-bind-source: ENOENT (No such file or directory)"], "{out:?}");
    let out = run(Command::new(bin("launcher")).args(["--frobnicate", "x"]));
    assert_eq!((out.code, out.stderr.as_str()), (125, "launcher: unknown option --frobnicate (see launcher --help)\n"));
    let out = run(Command::new(bin("launcher")).args(["--memory", "lots", "x"]));
    assert_eq!(out.code, 125);
    assert!(out.stderr.starts_with("launcher: bad --memory") && out.stderr.contains("lots"), "{out:?}");
    let out = run(&mut Command::new(bin("launcher")));
    assert_eq!((out.code, out.stderr.as_str()), (125, "launcher: missing ROOTFS (see launcher --help)\n"));
    for out in [run(Command::new(bin("launcher")).arg("--help")), run(Command::new(bin("launcher")).arg("-V"))] {
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains("launcher"), "{out:?}");
    }
}

#[test]
fn a_non_root_caller_runs_rootless_and_is_told_what_it_cannot_reach() {
    let _g = shared();
    let mut cmd = Command::new(bin("launcher"));
    cmd.args([rootfs().to_str().unwrap(), "/bin/true"]);
    // SAFETY: setuid in the forked child before exec; no other thread runs there.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| if libc::setuid(65534) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) });
    }
    // Without root the launcher makes a user namespace (tests/tests/rootless.rs); the default
    // rootfs sits in a directory only root may enter, and it says so.
    let out = run(&mut cmd);
    assert_eq!(out.code, 125);
    assert_eq!(out.stderr, format!("launcher: cannot open rootfs {}: EACCES (Permission denied)\n", rootfs().display()));
}

#[test]
fn the_built_binaries_are_static_and_stripped() {
    for name in ["launcher", "init"] {
        assert_eq!(elf_problems(&bin(name)), None, "{name}");
    }
    let file = Command::new("file").arg(bin("launcher")).output();
    if let Ok(out) = file {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("statically linked") && text.contains("stripped"), "{text}");
    }
}

#[test]
fn the_built_binaries_fit_their_budgets() {
    // The design card's budgets: init ≤ 32 KiB, launcher ≤ 128 KiB, knocker ≤ 256 KiB.
    for (name, budget) in [("init", 32 << 10), ("launcher", 128 << 10), ("knocker", 256 << 10)] {
        let size = std::fs::metadata(bin(name)).unwrap().len();
        assert!(size <= budget, "{name} is {size} bytes, over its budget of {budget}");
        assert_eq!(elf_problems(&bin(name)), None, "{name}");
    }
}
