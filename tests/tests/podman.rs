//! podman, a real engine, driving `knocker` as its OCI runtime (`podman --runtime`), through
//! conmon, as users run it. This host needs `--cgroup-manager cgroupfs` (no systemd) and
//! explicit, lower `--ulimit`s (root here lacks CAP_SYS_RESOURCE, so podman's default limits
//! cannot be set — runc fails the same way): both are the tests', not knocker's.

use knocker_tests::*;
use std::process::Command;
use std::sync::Once;

const IMAGE: &str = "localhost/knocker-test-rootfs";

/// The default rootfs as a podman image, imported once.
fn image() {
    static IMPORTED: Once = Once::new();
    IMPORTED.call_once(|| {
        let script = format!("tar -C {} -c . | podman import - {IMAGE}", rootfs().display());
        let out = run(Command::new("sh").args(["-c", &script]));
        assert_eq!(out.code, 0, "podman import: {out:?}");
    });
}

fn podman(words: &[&str]) -> Out {
    image();
    let mut cmd = Command::new("podman");
    cmd.arg("--runtime").arg(bin("knocker")).args(["--cgroup-manager", "cgroupfs"]).args(words);
    run_for(&mut cmd, std::time::Duration::from_secs(60))
}

/// `script -qec COMMAND /dev/null`: COMMAND on a terminal of its own, as a user would run it.
/// script's stdin is a pipe held open until it ends (at end of input, script would end the
/// session early and nothing would be seen).
fn on_a_terminal(command: &str) -> Out {
    use std::io::Read;
    let mut child = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = child.stdin.take();
    let status = wait_for(&mut child, std::time::Duration::from_secs(60)).expect("script ends");
    drop(input);
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    Out { code: status.code().unwrap_or(-1), stdout, stderr }
}

/// A detached container, removed (`podman rm -f`) however the test ends.
struct Detached(String);

impl Detached {
    fn start(options: &[&str], words: &[&str]) -> Detached {
        let mut all = vec!["-d"];
        all.extend_from_slice(options);
        let out = podman_run(&all, words);
        assert_eq!(out.code, 0, "{out:?}");
        Detached(out.stdout.trim().to_string())
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        podman(&["rm", "-f", "-t", "0", &self.0]);
    }
}

/// `podman run` with the test limits, the image, then `words` as the command.
fn podman_run(options: &[&str], words: &[&str]) -> Out {
    let mut all = vec!["run", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
    all.extend_from_slice(options);
    all.push(IMAGE);
    all.extend_from_slice(words);
    podman(&all)
}

#[test]
fn podman_run_gives_the_exit_status_and_the_output() {
    let _g = shared();
    let out = podman_run(&["--rm", "--network", "none"], &["sh", "-c", "echo hello from podman; exit 3"]);
    assert_eq!((out.code, out.stdout.as_str()), (3, "hello from podman\n"), "{out:?}");
}

#[test]
fn podmans_own_network_namespace_is_joined() {
    let _g = shared();
    // podman makes the network namespace and hands knocker its path in config.json.
    let out = podman_run(&["--rm"], &["sh", "-c", "ip -o addr show | grep -v ' lo ' | grep -c inet"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.trim().parse::<u32>().unwrap() >= 1, "no address besides lo: {out:?}");
}

#[test]
fn detached_then_logs_stop_inspect_and_rm() {
    let _g = shared();
    let script = "trap 'echo got TERM; exit 5' TERM; echo started; while :; do sleep 0.1; done";
    let container = Detached::start(&[], &["sh", "-c", script]);
    let id = container.0.clone();
    assert!(eventually(std::time::Duration::from_secs(5), || podman(&["logs", &id]).stdout.contains("started")));
    assert!(podman(&["ps", "--format", "{{.ID}}"]).stdout.contains(&id[..12]));
    assert_eq!(podman(&["pause", &id]).code, 0);
    assert!(podman(&["ps", "-a", "--format", "{{.Status}}", "--filter", &format!("id={id}")]).stdout.starts_with("Paused"));
    assert_eq!(podman(&["unpause", &id]).code, 0);
    assert_eq!(podman(&["stop", "-t", "5", &id]).code, 0);
    assert_eq!(podman(&["logs", &id]).stdout, "started\ngot TERM\n");
    assert_eq!(podman(&["inspect", "--format", "{{.State.ExitCode}}", &id]).stdout.trim(), "5");
    assert_eq!(podman(&["rm", &id]).code, 0);
    let second = Detached::start(&[], &["sleep", "1243"]);
    let id = second.0.clone();
    assert_eq!(podman(&["kill", &id]).code, 0);
    assert_eq!(podman(&["rm", "-f", &id]).code, 0);
    assert!(eventually(std::time::Duration::from_secs(5), || pids_running(&["sleep", "1243"]).is_empty()));
}

#[test]
fn limits_user_read_only_and_init_from_podman() {
    let _g = shared();
    let out = podman_run(
        &["--rm", "--network", "none", "--user", "65534:65534", "--group-add", "10", "--read-only", "--memory", "64m", "--pids-limit", "50"],
        &["sh", "-c", "id -u; touch /x 2>/dev/null || echo read-only; id -G; cat /sys/fs/cgroup/memory/memory.limit_in_bytes"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..2], ["65534", "read-only"], "{out:?}");
    assert!(lines[2].split(' ').any(|g| g == "10"), "--group-add: {out:?}");
    assert_eq!(lines[3], "67108864", "podman's cgroup mount: the container's own group inside: {out:?}");
    // Limits are the container's cgroup's: seen from the host while it runs.
    let container = Detached::start(&["--network", "none", "--memory", "64m", "--pids-limit", "50"], &["sleep", "1244"]);
    let id = container.0.clone();
    // The group is where podman's cgroupsPath says, so podman finds its statistics there.
    let mem = std::fs::read_to_string(format!("/sys/fs/cgroup/memory/libpod_parent/libpod-{id}/memory.limit_in_bytes"));
    let pids = std::fs::read_to_string(format!("/sys/fs/cgroup/pids/libpod_parent/libpod-{id}/pids.max"));
    let stats = podman(&["stats", "--no-stream", "--format", "{{.MemUsage}}", &id]);
    podman(&["rm", "-f", "-t", "0", &id]);
    assert!(stats.stdout.contains("/ 67.11MB"), "{stats:?}");
    assert_eq!(mem.unwrap().trim(), (64 << 20).to_string());
    assert_eq!(pids.unwrap().trim(), "50");
    let out = podman_run(&["--rm", "--network", "none", "--init"], &["sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline"]);
    assert!(out.stdout.starts_with("/run/podman-init -- "), "{out:?}");
}

#[test]
fn podman_run_it_hands_the_terminal_over_the_console_socket() {
    let _g = shared();
    image();
    // `script` gives podman the terminal a user would have.
    let cmd = format!(
        "podman --runtime {} --cgroup-manager cgroupfs run --rm -it --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 {IMAGE} sh -c 'tty; echo done'",
        bin("knocker").display()
    );
    let out = on_a_terminal(&cmd);
    assert_eq!(out.code, 0, "{out:?}");
    // podman writes a NUL into the terminal at some moment (`script` shows it as ^@).
    assert!(out.stdout.contains("/dev/pts/0\r\n") && out.stdout.contains("done\r\n"), "{out:?}");
}

#[test]
fn podman_exec_joins_the_running_container_with_its_confinement() {
    let _g = shared();
    let container = Detached::start(&["--network", "none"], &["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]);
    let id = container.0.clone();
    let out = podman(&["exec", &id, "sh", "-c", "echo pid $$; grep -E '^(Seccomp|CapBnd):' /proc/self/status; readlink /proc/1/ns/pid; readlink /proc/self/ns/pid; exit 4"]);
    assert_eq!(out.code, 4, "the exit status of the exec'd process: {out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_ne!(lines[0], "pid 1", "{out:?}");
    assert_eq!(lines[2], "Seccomp:\t2", "{out:?}");
    assert_eq!(lines[3], lines[4], "the same PID namespace as the container's PID 1: {out:?}");
    let out = podman(&["exec", "--user", "65534:65534", &id, "id", "-u"]);
    assert_eq!(out.stdout.trim(), "65534", "{out:?}");
    let cmd = format!("podman --runtime {} --cgroup-manager cgroupfs exec -it {id} sh -c 'tty; echo done'", bin("knocker").display());
    let out = on_a_terminal(&cmd);
    assert!(out.stdout.contains("/dev/pts/") && out.stdout.contains("done"), "{out:?}");
    assert_eq!(podman(&["stop", "-t", "5", &id]).code, 0);
    assert_eq!(podman(&["rm", &id]).code, 0);
}

#[test]
fn podmans_seccomp_profiles_are_compiled_and_enforced() {
    let _g = shared();
    let script = "grep ^Seccomp: /proc/self/status; mkdir /tmp/d && echo made";
    // podman's own default profile is in force (mode 2) and lets mkdir through.
    let out = podman_run(&["--rm", "--network", "none"], &["sh", "-c", script]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "Seccomp:\t2\nmade\n"), "{out:?}");
    let out = podman_run(&["--rm", "--network", "none", "--security-opt", "seccomp=unconfined"], &["sh", "-c", script]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "Seccomp:\t0\nmade\n"), "{out:?}");
    // A profile of the user's, handed over by podman in config.json.
    let dir = Scratch::new("podman-seccomp");
    let profile = dir.path().join("profile.json");
    std::fs::write(&profile, r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#).unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = podman_run(&["--rm", "--network", "none", "--security-opt", &opt], &["sh", "-c", script]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "Seccomp:\t2\n", "{out:?}");
    assert!(out.stderr.contains("Permission denied"), "{out:?}");
}

#[test]
fn podmans_devices_are_made_and_allowed() {
    let _g = shared();
    let script = "stat -c '%t %T' /dev/xd && head -c 1 /dev/xd >/dev/null && echo read; echo x 2>/dev/null >/dev/xd || echo no-write";
    let out = podman_run(&["--rm", "--network", "none", "--device", "/dev/loop0:/dev/xd:r"], &["sh", "-c", script]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "7 0\nread\nno-write\n"), "{out:?}");
    // Control: without --device there is no such node.
    let out = podman_run(&["--rm", "--network", "none"], &["test", "-e", "/dev/xd"]);
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn podmans_uid_maps_become_a_user_namespace() {
    let _g = shared();
    let out = podman_run(
        &["--rm", "--network", "none", "--uidmap", "0:200000:65536", "--gidmap", "0:200000:65536"],
        &["sh", "-c", "cat /proc/self/uid_map | tr -s ' '; id -u; touch /tmp/x && echo writable"],
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, " 0 200000 65536\n0\nwritable\n"), "{out:?}");
}

#[test]
fn a_pods_containers_share_its_sandboxs_namespaces() {
    let _g = shared();
    image();
    // The pod's infra container gets no --ulimit of its own: this host's limits go in a
    // containers.conf of the test's (podman's own default asks for more than it may give).
    let dir = Scratch::new("podman-pod");
    let conf = dir.path().join("containers.conf");
    std::fs::write(&conf, "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n").unwrap();
    let pod = format!("knocker-pod-{}", std::process::id());
    let with_conf = |words: &[&str]| {
        let mut cmd = Command::new("podman");
        cmd.arg("--runtime").arg(bin("knocker")).args(["--cgroup-manager", "cgroupfs"]).args(words).env("CONTAINERS_CONF", &conf);
        run_for(&mut cmd, std::time::Duration::from_secs(60))
    };
    let out = with_conf(&["pod", "create", "--name", &pod, "--hostname", "podhost", "--network", "none"]);
    assert_eq!(out.code, 0, "{out:?}");
    let script = "hostname; readlink /proc/self/ns/uts; readlink /proc/self/ns/ipc";
    let one = with_conf(&["run", "--rm", "--pod", &pod, IMAGE, "sh", "-c", script]);
    let two = with_conf(&["run", "--rm", "--pod", &pod, IMAGE, "sh", "-c", script]);
    let removed = with_conf(&["pod", "rm", "-f", &pod]);
    assert_eq!(one.code, 0, "{one:?}");
    assert!(one.stdout.starts_with("podhost\n"), "{one:?}");
    assert_eq!(one.stdout, two.stdout, "the same UTS and IPC namespaces, joined by path");
    assert_eq!(removed.code, 0, "{removed:?}");
}
