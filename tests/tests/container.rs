//! A real container (issue 4): root switch, /dev and /sys, network, mounts, environment,
//! cgroup limits, signals and lifetime, and nothing left behind.

use knocker_tests::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn no_path_inside_reaches_the_host() {
    let _g = shared();
    let marker = format!("/tmp/knocker-host-marker-{}", std::process::id());
    std::fs::write(&marker, "host").unwrap();
    let out = container(&[], &format!("cd /; cd ..; cd ../..; pwd; test -e {marker} && echo VISIBLE; test -e /linuxrc && echo rootfs; cat /etc/passwd"));
    let _ = std::fs::remove_file(&marker);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("VISIBLE"), "{out:?}");
    assert!(out.stdout.starts_with("/\nrootfs\n"), "{out:?}");
    assert_eq!(&out.stdout["/\nrootfs\n".len()..], std::fs::read_to_string(rootfs().join("etc/passwd")).unwrap());
}

#[test]
fn sys_is_read_only_and_dev_holds_only_the_standard_nodes() {
    let _g = shared();
    let out = container(&[], "grep ' /sys ' /proc/mounts; touch /sys/x 2>&1 && echo WROTE; echo hi > /dev/null && echo null-ok; \
                              head -c 4 /dev/zero | wc -c; ls -A /dev | tr '\\n' ' '");
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].contains(" ro,"), "{lines:?}");
    assert!(!out.stdout.contains("WROTE"), "{out:?}");
    assert!(out.stdout.contains("null-ok\n4\n"), "{out:?}");
    let mut dev: Vec<&str> = lines.last().unwrap().split_whitespace().collect();
    dev.sort();
    assert_eq!(dev, ["fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"]);
}

#[test]
fn the_container_has_its_own_network_with_only_lo_up() {
    let _g = shared();
    let out = container(&[], "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; ip link show lo");
    assert_eq!(out.code, 0, "{out:?}");
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("lo"));
    let rest: Vec<&str> = lines.collect();
    assert!(rest[0].contains("<LOOPBACK,UP,LOWER_UP>"), "{rest:?}");
    let host = std::fs::read_to_string("/proc/net/dev").unwrap().lines().count() - 2;
    assert!(host > 1, "this test needs a host with an interface besides lo");
    let out = container(&["--net", "host"], "tail -n +3 /proc/net/dev | wc -l");
    assert_eq!(out.stdout.trim().parse::<usize>().unwrap(), host, "{out:?}");
}

#[test]
fn ro_makes_the_root_read_only() {
    let _g = shared();
    let out = container(&["--ro"], "touch /probe 2>&1; echo rc=$?");
    assert!(out.stdout.contains("Read-only file system") && out.stdout.contains("rc=1"), "{out:?}");
    assert!(!rootfs().join("probe").exists());
}

#[test]
fn bind_mounts_read_write_and_read_only() {
    let _g = shared();
    let data = Scratch::new("bind");
    std::fs::write(data.path().join("in"), "from host\n").unwrap();
    let copy = Scratch::rootfs_copy("bind-root");
    let spec_rw = format!("{}:/data", data.path().display());
    let spec_ro = format!("{}:/deep/ro/data:ro", data.path().display());
    let out = run(launcher(&["--bind", &spec_rw, "--bind", &spec_ro], copy.path()).args([
        "/bin/sh",
        "-c",
        "cat /data/in; echo made > /data/out; touch /deep/ro/data/x 2>&1; cat /deep/ro/data/in",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.lines().next(), Some("from host"));
    assert!(out.stdout.contains("Read-only file system"), "{out:?}");
    assert_eq!(std::fs::read_to_string(data.path().join("out")).unwrap(), "made\n");
    assert!(!data.path().join("x").exists());
    // Missing mount points were created (only those), and nothing else in the rootfs changed.
    assert!(copy.path().join("data").is_dir() && copy.path().join("deep/ro/data").is_dir());
}

#[test]
fn tmpfs_mounts_an_empty_writable_file_system() {
    let _g = shared();
    let out = container(&["--tmpfs", "/mnt"], "grep ' /mnt ' /proc/mounts | cut -d' ' -f3; ls -A /mnt | wc -l; echo x > /mnt/f && cat /mnt/f");
    assert_eq!(out.stdout, "tmpfs\n0\nx\n", "{out:?}");
}

#[test]
fn env_workdir_and_user() {
    let _g = shared();
    let out = container(&["--env", "FOO=bar baz", "--env", "HOME=/nowhere", "--workdir", "/tmp", "--user", "1000:1001"],
        "echo \"$FOO\"; echo $HOME; pwd; id -u; id -g; id -G; echo $HOSTNAME; echo $PATH");
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..6], ["bar baz", "/nowhere", "/tmp", "1000", "1001", "1001"], "{out:?}");
    assert_eq!(lines[6], "knocker");
    assert!(lines[7].contains("/usr/bin:/sbin:/bin"), "{lines:?}");
    let out = container(&["--workdir", "/nonexistent"], "true");
    assert_eq!(out.code, 125);
    assert!(out.stderr.contains("--workdir /nonexistent"), "{out:?}");
}

#[test]
fn the_container_sees_its_own_cgroup_as_the_root() {
    let _g = shared();
    let out = container(&["--memory", "64M"], "cat /proc/self/cgroup");
    assert_eq!(out.code, 0, "{out:?}");
    for line in out.stdout.lines() {
        assert!(line.ends_with(":/"), "{line}");
    }
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    let _g = shared();
    // Once the limit is reached the shell cannot fork, so the counting uses builtins only.
    let script = "(for i in $(seq 40); do sleep 5 & done) 2>/tmp/err; \
                  n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n; \
                  f=0; while read line; do case $line in *fork*) f=$((f+1));; esac; done < /tmp/err; echo $f";
    let out = container(&["--pids", "16", "--tmpfs", "/tmp"], script);
    assert_eq!(out.code, 0, "{out:?}");
    let mut nums = out.stdout.lines().map(|l| l.trim().parse::<usize>().unwrap());
    let (processes, failures) = (nums.next().unwrap(), nums.next().unwrap());
    assert!((12..=16).contains(&processes), "{processes} processes under --pids 16");
    assert!(failures >= 1, "no fork failed: {out:?}");
    // The host still forks.
    assert!(Command::new("true").status().unwrap().success());
}

#[test]
fn memory_limit_gets_a_hog_killed_and_reported() {
    let _g = shared();
    let out = container(&["--memory", "32M"], "tail /dev/zero");
    assert_eq!(out.code, 137, "{out:?}");
    assert_eq!(out.stderr, "launcher: container killed: out of memory (limit 32 MiB)\n");
    let out = container(&["--memory", "32M"], "head -c 1000000 /dev/zero | wc -c");
    assert_eq!((out.code, out.stdout.trim()), (0, "1000000"), "{out:?}");
}

#[test]
fn cpus_throttle_a_busy_loop() {
    let _g = shared();
    let name = format!("cpu-test-{}", std::process::id());
    let mut child = Running::spawn(launcher(&["--cpus", "0.5", "--name", &name], &rootfs())
        .args(["/bin/sh", "-c", "end=$(($(date +%s)+3)); while [ $(date +%s) -lt $end ]; do :; done"]));
    let stat_files = [format!("/sys/fs/cgroup/cpu/knocker/{name}/cpu.stat"), format!("/sys/fs/cgroup/knocker/{name}/cpu.stat")];
    let mut throttled = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        for f in &stat_files {
            if let Ok(text) = std::fs::read_to_string(f) {
                for line in text.lines() {
                    if let Some(n) = line.strip_prefix("nr_throttled ") {
                        throttled = throttled.max(n.parse::<u64>().unwrap());
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait(Duration::from_secs(10)).expect("the container ends");
    assert!(status.success());
    assert!(throttled > 0, "no throttling seen in cpu.stat");
}

#[test]
fn limits_that_cannot_be_applied_fail_before_anything_starts() {
    let _g = shared();
    let copy = Scratch::rootfs_copy("nocg");
    // A mount namespace where /sys/fs/cgroup is an empty tmpfs.
    let script = format!(
        "mount -t tmpfs none /sys/fs/cgroup && {} --memory 32M {} /bin/sh -c 'touch /started'",
        bin("launcher").display(),
        copy.path().display()
    );
    let out = run(Command::new("unshare").args(["-m", "sh", "-c", &script]));
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.starts_with("launcher: ") && out.stderr.contains("/sys/fs/cgroup"), "{out:?}");
    assert!(!copy.path().join("started").exists());
    // Only a devices hierarchy (another view of the host's, in this private mount namespace).
    let devices_only = script.replace(
        "mount -t tmpfs none /sys/fs/cgroup && ",
        "mount -t tmpfs none /sys/fs/cgroup && mkdir /sys/fs/cgroup/devices && mount -t cgroup -o devices none /sys/fs/cgroup/devices && ",
    );
    let out = run(Command::new("unshare").args(["-m", "sh", "-c", &devices_only]));
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("cannot apply --memory: the host has no memory cgroup controller"), "{out:?}");
    assert!(!copy.path().join("started").exists());
    // Without limits too: with no cgroup there is nothing to confine the container's devices.
    let out = run(Command::new("unshare").args(["-m", "sh", "-c", &script.replace("--memory 32M ", "")]));
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("cannot confine the container's devices"), "{out:?}");
    assert!(!copy.path().join("started").exists());
}

#[test]
fn sigterm_to_the_launcher_ends_the_container_with_143() {
    let _g = shared();
    let mut launcher = Running::spawn(launcher(&[], &rootfs()).args(["sleep", "1234"]));
    assert!(eventually(Duration::from_secs(5), || !pids_running(&["sleep", "1234"]).is_empty()));
    let sent = Instant::now();
    launcher.signal(libc::SIGTERM);
    let status = launcher.wait(Duration::from_secs(5)).expect("the launcher exits");
    assert!(sent.elapsed() < Duration::from_secs(1), "took {:?}", sent.elapsed());
    assert_eq!(status.code(), Some(143));
}

#[test]
fn sigterm_at_any_moment_of_start_up_still_ends_everything() {
    let _g = shared();
    // A signal that arrives while the container is being set up must not be lost: the first
    // process of a PID namespace drops signals it has no handler for.
    for i in 0..30u64 {
        let mut launcher = Running::spawn(launcher(&[], &rootfs()).args(["sleep", "1238"]));
        std::thread::sleep(Duration::from_micros(i * 150));
        launcher.signal(libc::SIGTERM);
        let status = launcher.wait(Duration::from_secs(5));
        assert!(status.is_some(), "SIGTERM after {} µs was lost: the container runs on", i * 150);
        use std::os::unix::process::ExitStatusExt;
        let status = status.unwrap();
        assert!(status.code() == Some(143) || status.signal() == Some(libc::SIGTERM), "{status:?}");
    }
    assert!(eventually(Duration::from_secs(2), || pids_running(&["sleep", "1238"]).is_empty()));
}

#[test]
fn sigkill_to_the_launcher_kills_the_container_and_the_next_run_sweeps_its_cgroup() {
    let _g = exclusive();
    let mut launcher = Running::spawn(launcher(&["--pids", "100"], &rootfs()).args(["sleep", "1235"]));
    let pid = launcher.pid() as u32;
    assert!(eventually(Duration::from_secs(5), || !pids_running(&["sleep", "1235"]).is_empty()));
    launcher.signal(libc::SIGKILL);
    let _ = launcher.wait(Duration::from_secs(5));
    assert!(eventually(Duration::from_secs(2), || pids_running(&["sleep", "1235"]).is_empty()), "the container outlived its launcher");
    let left = |pid: u32| knocker_cgroups().into_iter().filter(|p| p.ends_with(pid.to_string())).count();
    assert!(left(pid) > 0, "expected the killed launcher's cgroup to be left over");
    assert_eq!(container(&["--pids", "100"], "true").code, 0);
    assert_eq!(left(pid), 0, "the stale cgroup was not swept: {:?}", knocker_cgroups());
}

#[test]
fn two_hundred_runs_leave_no_mount_cgroup_or_process_behind() {
    let _g = exclusive();
    let mounts = mountinfo();
    let cgroups = knocker_cgroups();
    for i in 0..200 {
        let opts: &[&str] = if i % 2 == 0 { &["--memory", "64M", "--pids", "64"] } else { &[] };
        let out = run(launcher(opts, &rootfs()).args(["/bin/sh", "-c", "(sleep 30 &); exit 0"]));
        assert_eq!(out.code, 0, "{out:?}");
    }
    assert_eq!(mountinfo(), mounts);
    assert_eq!(knocker_cgroups(), cgroups);
    assert!(processes_with("sleep 30").is_empty());
    assert!(processes_with(&bin("launcher").display().to_string()).is_empty());
}

#[test]
fn init_lookup_init_bin_and_init_in_the_rootfs() {
    let _g = shared();
    // A launcher with no init next to it says where it looked.
    let lone = Scratch::new("lone");
    std::fs::copy(bin("launcher"), lone.path().join("launcher")).unwrap();
    let out = run(Command::new(lone.path().join("launcher")).arg(rootfs()).arg("true"));
    assert_eq!(out.code, 125, "{out:?}");
    let expected = format!("{0}/init and {0}/../libexec/knocker/init", lone.path().display());
    assert!(out.stderr.contains(&expected) && out.stderr.contains("--init-bin"), "{out:?}");
    let out = run(Command::new(lone.path().join("launcher")).arg("--init-bin").arg(bin("init")).arg(rootfs()).args(["sh", "-c", "echo $$"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "2\n"), "{out:?}");
    // Installed: bin/launcher finds ../libexec/knocker/init.
    let prefix = Scratch::new("prefix");
    std::fs::create_dir_all(prefix.path().join("bin")).unwrap();
    std::fs::create_dir_all(prefix.path().join("libexec/knocker")).unwrap();
    std::fs::copy(bin("launcher"), prefix.path().join("bin/launcher")).unwrap();
    std::fs::copy(bin("init"), prefix.path().join("libexec/knocker/init")).unwrap();
    let out = run(Command::new(prefix.path().join("bin/launcher")).arg(rootfs()).args(["sh", "-c", "echo $$"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "2\n"), "{out:?}");
    // An init from inside the rootfs.
    let copy = Scratch::rootfs_copy("own-init");
    std::fs::write(copy.path().join("sbin/myinit"), "#!/bin/sh\n[ \"$1\" = -- ] && shift\necho \"myinit is $$\"\nexec \"$@\"\n").unwrap();
    std::fs::set_permissions(copy.path().join("sbin/myinit"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run(launcher(&["--init", "/sbin/myinit"], copy.path()).args(["sh", "-c", "echo cmd is $$"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "myinit is 1\ncmd is 1\n"), "{out:?}");
}

/// A network namespace made with `ip netns add`, deleted when dropped.
struct NetNs(String);

impl NetNs {
    fn new(tag: &str) -> NetNs {
        let name = format!("knocker-{tag}-{}", std::process::id());
        let out = run(Command::new("ip").args(["netns", "add", &name]));
        assert_eq!(out.code, 0, "ip netns add: {out:?}");
        NetNs(name)
    }
    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
    fn inode(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(self.path()).unwrap().ino()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.0]).status();
    }
}

#[test]
fn net_ns_joins_an_existing_network_namespace() {
    let _g = shared();
    let ns = NetNs::new("join");
    let opt = format!("ns:{}", ns.path());
    let out = container(&["--net", &opt], "readlink /proc/self/ns/net");
    assert_eq!(out.stdout.trim(), format!("net:[{}]", ns.inode()), "{out:?}");
    // Control: without it, a namespace of its own.
    let out = container(&[], "readlink /proc/self/ns/net");
    assert_ne!(out.stdout.trim(), format!("net:[{}]", ns.inode()));
    for bad in ["ns:/etc/passwd", "ns:/nonexistent"] {
        let out = container(&["--net", bad], "true");
        assert_eq!(out.code, 125, "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    }
}

#[test]
fn exec_ps_stop_and_kill_by_name() {
    let _g = shared();
    let mut first = Running::spawn(launcher(&["--name", "byname", "--hostname", "named", "--memory", "64M"], &rootfs()).args(["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"]));
    let lists = |name: &str| run(Command::new(bin("launcher")).arg("ps")).stdout.lines().any(|l| l.starts_with(&format!("{name}\t")));
    assert!(eventually(Duration::from_secs(5), || lists("byname")), "launcher ps does not list it");
    let ps = run(Command::new(bin("launcher")).arg("ps")).stdout;
    assert!(ps.starts_with("NAME\tPID\tUPTIME\tLIMITS\tROOTFS\tCOMMAND\n") && ps.contains("memory=64 MiB"), "{ps}");
    // exec gets the container's namespaces and confinement, and gives COMMAND's status.
    let script = "echo $$; grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status; tr '\\0' ' ' < /proc/1/cmdline; echo; exit 5";
    let out = run(Command::new(bin("launcher")).args(["exec", "byname", "sh", "-c", script]));
    assert_eq!(out.code, 5, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_ne!(lines[0], "1");
    assert_eq!(lines[1..4], ["CapEff:\t00000000a80425fb", "NoNewPrivs:\t1", "Seccomp:\t2"], "{out:?}");
    assert!(lines[4].starts_with("init -- sh -c trap"), "PID 1 is the container's init: {out:?}");
    let out = run(Command::new(bin("launcher")).args(["exec", "--user", "65534:65534", "--env", "A=b", "byname", "sh", "-c", "id -u; echo $A $HOSTNAME"]));
    assert_eq!(out.stdout, "65534\nb named\n", "{out:?}");
    let out = run(Command::new(bin("launcher")).args(["exec", "nobody-here", "true"]));
    assert_eq!((out.code, out.stderr.lines().count()), (125, 1), "{out:?}");
    // kill with a signal the shell traps ends it; stop would have, too.
    assert_eq!(run(Command::new(bin("launcher")).args(["kill", "byname", "TERM"])).code, 0);
    let status = first.wait(Duration::from_secs(5)).expect("the container ends");
    assert_eq!(status.code(), Some(0));
    assert!(!lists("byname"));
    let mut second = Running::spawn(launcher(&["--name", "stopme"], &rootfs()).args(["sleep", "1248"]));
    assert!(eventually(Duration::from_secs(5), || lists("stopme")));
    let out = run(Command::new(bin("launcher")).args(["stop", "stopme", "--time", "1"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(second.wait(Duration::from_secs(5)).is_some(), "stop did not end it");
}
