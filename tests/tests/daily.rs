//! The launcher as a daily driver (issue 13): `--user` by name, a terminal type the rootfs
//! knows, the network out (`--net pasta`) with name resolution files, a throwaway root
//! (`--overlay`), the container's own cgroup view.

use knocker_tests::*;
use std::process::Command;

/// A rootfs copy with a user `alice` (1000, in `adm` too) and a group `staff` (50).
fn rootfs_with_users(tag: &str) -> Scratch {
    let r = Scratch::rootfs_copy(tag);
    let add = |file: &str, lines: &str| {
        let p = r.path().join(file);
        let mut s = std::fs::read_to_string(&p).unwrap();
        s.push_str(lines);
        std::fs::write(&p, s).unwrap();
    };
    add("etc/passwd", "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n");
    add("etc/group", "adm:x:4:alice\nstaff:x:50:\nalice:x:1000:\n");
    r
}

#[test]
fn user_by_name_with_its_groups_home_and_user() {
    let _g = shared();
    let r = rootfs_with_users("user-names");
    let show = "echo $(id -u) $(id -g) $(id -G) $HOME $USER";
    let with = |user: &str| run(launcher(&["--user", user], r.path()).args(["/bin/sh", "-c", show]));
    let out = with("alice");
    assert_eq!((out.code, out.stdout.as_str()), (0, "1000 1000 1000 4 /home/alice alice\n"), "{out:?}");
    // A number with a passwd entry takes that entry's group (no longer group root).
    let out = with("65534");
    assert_eq!((out.code, out.stdout.as_str()), (0, "65534 65534 65534 / nobody\n"), "{out:?}");
    let out = with("nobody:staff");
    assert_eq!((out.code, out.stdout.as_str()), (0, "65534 50 50 / nobody\n"), "{out:?}");
    let out = with("4242:7");
    assert_eq!((out.code, out.stdout.as_str()), (0, "4242 7 7 /\n"), "no entry: the numbers as given: {out:?}");
    // Unknown names: one line, 125, nothing left.
    for bad in ["mallory", "alice:nosuch"] {
        let out = with(bad);
        assert_eq!(out.code, 125, "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(out.stderr.contains("no such"), "{out:?}");
    }
    assert!(knocker_cgroups().is_empty());
}

#[test]
fn the_users_files_are_the_containers_even_through_a_symlink() {
    let _g = shared();
    let r = rootfs_with_users("user-symlink");
    // A host file with a user only the host has; the rootfs's passwd points at its path.
    let host = Scratch::new("user-host-passwd");
    let host_passwd = host.path().join("passwd");
    std::fs::write(&host_passwd, "hostonly:x:4321:4321::/:/bin/sh\n").unwrap();
    std::fs::remove_file(r.path().join("etc/passwd")).unwrap();
    std::os::unix::fs::symlink(&host_passwd, r.path().join("etc/passwd")).unwrap();
    let out = run(launcher(&["--user", "hostonly"], r.path()).args(["id", "-u"]));
    assert_eq!(out.code, 125, "the host's file must not be read: {out:?}");
    // Control: the same symlink resolved inside the rootfs finds the container's own file.
    let inside = r.path().join(host_passwd.strip_prefix("/").unwrap());
    std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
    std::fs::write(&inside, "hostonly:x:4321:4321::/:/bin/sh\n").unwrap();
    let out = run(launcher(&["--user", "hostonly"], r.path()).args(["id", "-u"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "4321\n"), "{out:?}");
}

#[test]
fn term_falls_back_to_a_type_the_rootfs_knows() {
    let _g = shared();
    let r = Scratch::rootfs_copy("term");
    let term = |value: &str| {
        let out = run(launcher(&[], r.path()).args(["/bin/sh", "-c", "echo $TERM"]).env("TERM", value));
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout.trim().to_string()
    };
    // No terminfo database at all (busybox): unchanged.
    assert_eq!(term("xterm-kitty"), "xterm-kitty");
    // A database without xterm-kitty but with xterm-256color.
    for t in ["x/xterm-256color", "x/xterm", "l/linux"] {
        let p = r.path().join("usr/share/terminfo").join(t);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }
    assert_eq!(term("xterm-kitty"), "xterm-256color");
    assert_eq!(term("linux"), "linux", "a known type is kept");
    std::fs::remove_file(r.path().join("usr/share/terminfo/x/xterm-256color")).unwrap();
    assert_eq!(term("xterm-kitty"), "xterm");
    // LANG is not passed in unless asked for.
    let out = run(launcher(&[], r.path()).args(["/bin/sh", "-c", "echo ${LANG:-unset}"]).env("LANG", "de_DE.UTF-8"));
    assert_eq!(out.stdout, "unset\n");
    let out = run(launcher(&["--env", "LANG=de_DE.UTF-8"], r.path()).args(["/bin/sh", "-c", "echo $LANG"]));
    assert_eq!(out.stdout, "de_DE.UTF-8\n");
}

#[test]
fn exec_runs_as_the_containers_user_by_name() {
    let _g = shared();
    let r = rootfs_with_users("user-exec");
    let name = format!("user-exec-{}", std::process::id());
    let mut c = Running::spawn(launcher(&["--name", &name, "--user", "alice"], r.path()).args(["sleep", "30"]));
    assert!(eventually(std::time::Duration::from_secs(5), || run(Command::new(bin("launcher")).args(["exec", &name, "true"])).code == 0));
    let out = run(Command::new(bin("launcher")).args(["exec", &name, "/bin/sh", "-c", "echo $(id -u) $(id -G) $HOME"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "1000 1000 4 /home/alice\n"), "{out:?}");
    let out = run(Command::new(bin("launcher")).args(["exec", "--user", "nobody", &name, "/bin/sh", "-c", "echo $(id -u) $(id -g)"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "65534 65534\n"), "{out:?}");
    c.signal(libc::SIGTERM);
    assert!(c.wait(std::time::Duration::from_secs(10)).is_some());
}

#[test]
fn the_containers_own_cgroups_are_visible_read_only_inside() {
    let _g = shared();
    let script = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; \
                  echo 1 > /sys/fs/cgroup/pids/pids.max 2>/dev/null || echo read-only; \
                  cat /sys/fs/cgroup/pids/cgroup.procs | wc -l; ls /sys/fs/cgroup/memory | grep -c release_agent; true";
    let out = container(&["--memory", "32M", "--pids", "77"], script);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert_eq!(lines[..3], ["33554432", "77", "read-only"], "{out:?}");
    assert!(lines[3].parse::<u32>().unwrap() >= 1 && lines[3].parse::<u32>().unwrap() < 10, "only the container's processes: {out:?}");
    assert_eq!(lines[4], "0", "the group, not a hierarchy's root: {out:?}");
}
