//! A container root cannot break out (issue 5): each test is an attack that must fail, or a
//! guarantee that must hold.

use knocker_tests::*;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

const DEFAULT_CAPS: &str = "00000000a80425fb";

#[test]
fn root_inside_cannot_mount_or_unmount() {
    let _g = shared();
    let out = container(&[], "mount -t tmpfs x /mnt 2>&1; echo rc=$?; umount /proc 2>&1; echo rc=$?");
    assert!(out.stdout.contains("permission denied") || out.stdout.contains("not permitted"), "{out:?}");
    assert_eq!(out.stdout.matches("rc=1").count(), 2, "{out:?}");
    let out = container(&["--cap-add", "SYS_ADMIN"], "mount -t tmpfs x /mnt && grep -c ' /mnt tmpfs' /proc/mounts");
    assert_eq!((out.code, out.stdout.trim()), (0, "1"), "{out:?}");
}

#[test]
fn capabilities_are_the_oci_default_set() {
    let _g = shared();
    let out = container(&[], "grep ^Cap /proc/self/status");
    let caps: Vec<(&str, &str)> = out.stdout.lines().map(|l| l.split_once(":\t").unwrap()).collect();
    assert_eq!(
        caps,
        [("CapInh", DEFAULT_CAPS), ("CapPrm", DEFAULT_CAPS), ("CapEff", DEFAULT_CAPS), ("CapBnd", DEFAULT_CAPS), ("CapAmb", "0000000000000000")]
    );
    let out = container(&["--cap-drop", "ALL"], "grep -E '^Cap(Eff|Bnd)' /proc/self/status");
    assert_eq!(out.stdout, "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n", "{out:?}");
    let out = container(&["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"], "grep ^CapEff /proc/self/status");
    assert_eq!(out.stdout, "CapEff:\t0000000000000400\n", "{out:?}");
}

#[test]
fn proc_secrets_are_masked_and_kernel_tunables_read_only() {
    let _g = shared();
    let out = container(&[], "cat /proc/kcore 2>/dev/null | wc -c; cat /proc/keys | wc -c; cat /proc/timer_list | wc -c; ls -A /sys/firmware | wc -l; \
                              { echo evil > /proc/sys/kernel/hostname; } 2>&1; echo rc=$?; { echo b > /proc/sysrq-trigger; } 2>/dev/null; echo rc=$?; hostname");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..4], ["0", "0", "0", "0"], "{out:?}");
    assert!(out.stdout.contains("Read-only file system\nrc=1"), "{out:?}");
    assert_eq!(out.stdout.matches("rc=1").count(), 2, "{out:?}");
    assert_eq!(lines.last(), Some(&"knocker"));
    // The host's own files are intact.
    assert!(std::fs::read_to_string("/proc/keys").is_ok());
}

#[test]
fn the_classic_chroot_escape_stays_inside() {
    let _g = shared();
    let marker = format!("/knocker-host-only-{}", std::process::id());
    std::fs::write(&marker, "").unwrap();
    let copy = rootfs_with_probe("escape");
    let out = run(launcher(&[], copy.path()).args(["/probe", "escape", &marker]));
    let _ = std::fs::remove_file(&marker);
    assert_eq!((out.code, out.stdout.as_str()), (0, "confined\n"), "{out:?}");
}

#[test]
fn only_stdio_crosses_into_the_container_not_even_a_callers_leaked_descriptor() {
    let _g = shared();
    let host_root = std::fs::File::open("/").unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&host_root);
    let mut cmd = launcher(&[], &rootfs());
    // No pipelines: a shell holds a pipe's descriptors while it starts the pipeline's commands.
    cmd.args(["/bin/sh", "-c", "ls /proc/$$/fd; ls /proc/1/fd; test -e /proc/self/fd/7/etc && echo LEAKED; true"]);
    // SAFETY: dup2 between fork and exec: fd 7 (not close-on-exec) is the host's /.
    unsafe {
        cmd.pre_exec(move || if libc::dup2(raw, 7) == 7 { Ok(()) } else { Err(std::io::Error::last_os_error()) });
    }
    let out = run(&mut cmd);
    assert_eq!((out.code, out.stdout.as_str()), (0, "0\n1\n2\n0\n1\n2\n"), "{out:?}");
}

#[test]
fn the_working_directory_is_inside_the_root() {
    let _g = shared();
    // PID 1 is not dumpable: its cwd is visible only with CAP_SYS_PTRACE.
    let out = container(&["--cap-add", "SYS_PTRACE"], "pwd; readlink /proc/1/cwd; readlink /proc/$$/cwd");
    assert_eq!(out.stdout, "/\n/\n/\n", "{out:?}");
}

fn hostile_rootfs(tag: &str, link: &str) -> (Scratch, Scratch) {
    let copy = Scratch::rootfs_copy(tag);
    let host_dir = Scratch::new(&format!("{tag}-host"));
    std::fs::remove_dir(copy.path().join(link)).unwrap();
    symlink(host_dir.path(), copy.path().join(link)).unwrap();
    (copy, host_dir)
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[test]
fn a_rootfs_whose_proc_dev_or_sys_is_a_symlink_is_refused_and_the_host_untouched() {
    let _g = shared();
    for link in ["proc", "dev", "sys"] {
        let (copy, host_dir) = hostile_rootfs(&format!("evil-{link}"), link);
        let out = run(launcher(&[], copy.path()).arg("/bin/true"));
        assert_eq!(out.code, 125, "{link}: {out:?}");
        assert_eq!(out.stderr, format!("launcher: refusing rootfs path that is a symlink: /{link} (a mount through it could land outside the rootfs)\n"));
        assert!(is_empty(host_dir.path()), "{link}: the host directory was written");
    }
}

#[test]
fn a_planted_dev_null_cannot_redirect_writes_to_the_host() {
    let _g = shared();
    let before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let copy = Scratch::rootfs_copy("evil-null");
    symlink("/proc/sys/kernel/core_pattern", copy.path().join("dev/null")).unwrap();
    let out = run(launcher(&[], copy.path()).args(["/bin/sh", "-c", "echo '|/evil' > /dev/null; stat -c %t:%T /dev/null"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "1:3\n"), "{out:?}");
    assert_eq!(std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(), before);
}

#[test]
fn a_symlinked_mount_destination_cannot_create_anything_on_the_host() {
    let _g = shared();
    let (copy, host_dir) = hostile_rootfs("evil-mnt", "mnt");
    let out = run(launcher(&["--tmpfs", "/mnt/sub"], copy.path()).arg("/bin/true"));
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("/mnt/sub"), "{out:?}");
    assert!(is_empty(host_dir.path()));
}

#[test]
fn the_init_binary_on_the_host_cannot_be_modified_from_inside() {
    let _g = shared();
    let before = std::fs::read(bin("init")).unwrap();
    // Without CAP_SYS_PTRACE, /proc/1/exe is out of reach altogether (PID 1 is not dumpable).
    let out = container(&[], "{ echo x > /proc/1/exe; } 2>&1; echo rc=$?");
    assert_eq!(out.stdout, "/bin/sh: can't create /proc/1/exe: Permission denied\nrc=1\n", "{out:?}");
    // With it, the init is a sealed memfd: not writable either.
    let out = container(&["--cap-add", "SYS_PTRACE"], "readlink /proc/1/exe; { echo x > /proc/1/exe; } 2>&1; echo rc=$?; cat /proc/1/exe | wc -c");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("/memfd:knocker-init"), "{lines:?}");
    assert!(lines[1].contains("Text file busy") || lines[1].contains("not permitted"), "{lines:?}");
    assert_eq!(lines[2], "rc=1");
    assert_eq!(lines[3].trim().parse::<usize>().unwrap(), before.len());
    assert_eq!(std::fs::read(bin("init")).unwrap(), before);
}

#[test]
fn no_new_privs_stops_a_setuid_binary() {
    let _g = shared();
    let copy = rootfs_with_probe("suid");
    let suid = copy.path().join("probe");
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let out = run(launcher(&["--user", "1000"], copy.path()).args(["/probe", "euid"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "1000\n"), "{out:?}");
    // The test can fail: without no_new_privs the same binary does become root.
    let out = run(launcher(&["--user", "1000", "--allow-new-privs"], copy.path()).args(["/probe", "euid"]));
    assert_eq!(out.stdout, "0\n", "{out:?}");
}

#[test]
fn the_default_seccomp_filter_refuses_what_docker_refuses() {
    let _g = shared();
    let copy = rootfs_with_probe("seccomp");
    let out = run(launcher(&[], copy.path()).args(["/bin/sh", "-c", "grep ^Seccomp: /proc/self/status; /probe keyctl"]));
    assert_eq!(out.stdout, "Seccomp:\t2\nrefused EPERM (Operation not permitted)\n", "{out:?}");
    let out = run(launcher(&["--seccomp=unconfined"], copy.path()).args(["/bin/sh", "-c", "grep ^Seccomp: /proc/self/status; /probe keyctl"]));
    assert_eq!(out.stdout, "Seccomp:\t0\nok\n", "{out:?}");
}

#[test]
fn the_launcher_is_not_dumpable_while_it_runs() {
    // Exclusive: the aborted launcher leaves its cgroup, swept (and said) by the next launcher.
    let _g = exclusive();
    // A non-dumpable process leaves no core dump. With core dumps allowed, SIGABRT dumps the
    // core of an ordinary process (the control) but not the launcher's.
    let dir = Scratch::new("core");
    let aborted_with_core = |cmd: &mut Command, marker: &[&str]| {
        cmd.current_dir(dir.path());
        // SAFETY: setrlimit between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
                if libc::setrlimit(libc::RLIMIT_CORE, &unlimited) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
            });
        }
        let mut running = Running::spawn(cmd);
        assert!(eventually(std::time::Duration::from_secs(5), || !pids_running(marker).is_empty()));
        running.signal(libc::SIGABRT);
        let status = running.wait(std::time::Duration::from_secs(5)).expect("it ends");
        std::os::unix::process::ExitStatusExt::core_dumped(&status)
    };
    assert!(aborted_with_core(Command::new("sleep").arg("1240"), &["sleep", "1240"]), "no core dumps here: the check cannot work");
    assert!(!aborted_with_core(launcher(&[], &rootfs()).args(["sleep", "1236"]), &["sleep", "1236"]), "the launcher is dumpable");
    assert!(eventually(std::time::Duration::from_secs(2), || pids_running(&["sleep", "1236"]).is_empty()));
    let out = container(&[], "true");
    assert!(out.stderr.contains("removed the cgroup"), "{out:?}");
}
