//! Docker (Debian's docker.io) drives `knocker` as an added runtime (`dockerd --add-runtime`,
//! `docker run --runtime knocker`), with runc as the control on the same daemon: every case is
//! run through both and must come out the same. The test starts its own dockerd (its own data
//! root, exec root, socket and containerd namespace under target/, no bridge, no iptables),
//! its containers' cgroups under `knocker/dockerd`, and takes it all down afterwards.

use knocker_tests::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Debian's client, of the daemon's own version (a newer `docker` elsewhere on PATH may be
/// another build).
const DOCKER: &str = "/usr/bin/docker";
const IMAGE: &str = "knocker-busybox";

struct Dockerd {
    dir: Scratch,
    daemon: Option<Running>,
}

impl Dockerd {
    fn start() -> Dockerd {
        let dir = Scratch::new("dockerd");
        let d = dir.path().to_path_buf();
        let log = std::fs::File::create(d.join("dockerd.log")).unwrap();
        let mut cmd = Command::new("dockerd");
        cmd.arg("--data-root").arg(d.join("data"));
        cmd.arg("--exec-root").arg(d.join("exec"));
        cmd.arg("--pidfile").arg(d.join("dockerd.pid"));
        cmd.arg("-H").arg(format!("unix://{}", d.join("d.sock").display()));
        cmd.args(["--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--userland-proxy=false"]);
        cmd.args(["--cgroup-parent=/knocker/dockerd", "--containerd-namespace=knocker-test", "--containerd-plugins-namespace=knocker-test-plugins"]);
        cmd.arg(format!("--add-runtime=knocker={}", bin("knocker").display()));
        cmd.stdout(Stdio::null()).stderr(log);
        let daemon = Some(Running::spawn(&mut cmd));
        let dockerd = Dockerd { dir, daemon };
        assert!(eventually(Duration::from_secs(30), || dockerd.docker(&["info"]).code == 0), "dockerd did not come up: {}", dockerd.log());
        let import = format!("tar -C {} -c . | {DOCKER} -H unix://{} import - {IMAGE}", rootfs().display(), d.join("d.sock").display());
        let out = run_for(Command::new("sh").args(["-c", &import]), Duration::from_secs(60));
        assert_eq!(out.code, 0, "docker import: {out:?}");
        dockerd
    }

    fn docker(&self, words: &[&str]) -> Out {
        let mut cmd = Command::new(DOCKER);
        cmd.arg("-H").arg(format!("unix://{}", self.dir.path().join("d.sock").display())).args(words);
        run_for(&mut cmd, Duration::from_secs(60))
    }

    /// `docker run --rm --network none --runtime RUNTIME [options] IMAGE sh -c SCRIPT`.
    fn run(&self, runtime: &str, options: &[&str], script: &str) -> Out {
        let mut words = vec!["run", "--rm", "--network", "none", "--runtime", runtime];
        words.extend_from_slice(options);
        words.extend_from_slice(&[IMAGE, "sh", "-c", script]);
        self.docker(&words)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // However the test ended: no container, daemon, mount or group of its outlives it.
        let all = self.docker(&["ps", "-aq"]).stdout;
        for id in all.split_whitespace() {
            self.docker(&["rm", "-f", id]);
        }
        if let Some(mut daemon) = self.daemon.take() {
            daemon.signal(libc::SIGTERM);
            let _ = daemon.wait(Duration::from_secs(20));
        }
        let root = self.dir.path().display().to_string();
        for line in std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().rev() {
            if let Some(at) = line.split(' ').nth(4).filter(|at| at.starts_with(&root)) {
                let _ = Command::new("umount").arg("-l").arg(at).status();
            }
        }
        for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten().map(|e| e.path()).chain([PathBuf::from("/sys/fs/cgroup")]) {
            let _ = std::fs::remove_dir(h.join("knocker/dockerd"));
        }
    }
}

/// The case through runc and through knocker: the same result from both.
fn both(d: &Dockerd, options: &[&str], script: &str) -> Out {
    let control = d.run("runc", options, script);
    let out = d.run("knocker", options, script);
    assert_eq!((out.code, &out.stdout), (control.code, &control.stdout), "docker run {options:?} {script:?}: knocker {out:?}, runc {control:?}");
    out
}

#[test]
fn docker_runs_knocker_as_it_runs_runc() {
    let _g = shared();
    let d = Dockerd::start();
    // Before: the very first run was refused (Docker's default device rules deny one device
    // after allowing others; its blockIO weight 0).
    let out = both(&d, &[], "echo hello from docker; exit 3");
    assert_eq!((out.code, out.stdout.as_str()), (3, "hello from docker\n"), "{out:?}");
    // The container's own view, as Docker configures it.
    let out = both(&d, &[], "id -u; hostname | wc -c; grep -c . /etc/hosts >/dev/null && echo hosts; grep ^Seccomp: /proc/self/status");
    assert_eq!(out.stdout, "0\n13\nhosts\nSeccomp:\t2\n", "{out:?}");
    // --init: Docker's tini as PID 1, the command its child.
    let out = both(&d, &["--init"], "tr '\\0' ' ' </proc/1/cmdline; echo");
    assert!(out.stdout.starts_with("/sbin/docker-init -- sh -c"), "{out:?}");
    // --memory: the limit in the container's group, read back inside.
    let out = both(&d, &["--memory", "64m"], "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max");
    assert_eq!(out.stdout, "67108864\n", "{out:?}");
    // --pid host: the host's PID 1.
    let host_init = std::fs::read_to_string("/proc/1/comm").unwrap();
    let out = both(&d, &["--pid", "host"], "cat /proc/1/comm");
    assert_eq!(out.stdout, host_init, "{out:?}");
    // --shm-size: Docker's /dev/shm of that size.
    let out = both(&d, &["--shm-size", "2m"], "grep ' /dev/shm ' /proc/self/mountinfo | grep -o 'size=[0-9]*k'");
    assert_eq!(out.stdout, "size=2048k\n", "{out:?}");
    // --privileged: every capability, every host device, no filter. Where this host's bounding
    // set lacks a capability (this VM has no CAP_SYS_RESOURCE) neither runtime can give them
    // all: both refuse, knocker naming the cause (before: "the container failed during its
    // setup").
    let bounding = std::fs::read_to_string("/proc/self/status").unwrap();
    let full = bounding.lines().any(|l| l.starts_with("CapBnd:") && l.trim_end().ends_with("1ffffffffff"));
    let out = both(&d, &["--privileged"], "ls /dev | wc -l >/dev/null; grep ^Seccomp: /proc/self/status");
    if full {
        assert_eq!((out.code, out.stdout.as_str()), (0, "Seccomp:\t0\n"), "{out:?}");
    } else {
        eprintln!("docker --privileged: this host's bounding set is not full ({}): runc and knocker both refuse", bounding.lines().find(|l| l.starts_with("CapBnd:")).unwrap_or(""));
        assert!(out.stderr.contains("the container's setup failed: cannot set the capabilities"), "{out:?}");
    }
}

#[test]
fn docker_detached_exec_logs_stop_and_rm_through_knocker_as_through_runc() {
    let _g = shared();
    let d = Dockerd::start();
    let script = "echo started; trap 'echo got-term; exit 7' TERM; while :; do sleep 0.1; done";
    let mut seen = Vec::new();
    for runtime in ["runc", "knocker"] {
        let name = format!("detached-{runtime}");
        let out = d.docker(&["run", "-d", "--name", &name, "--network", "none", "--runtime", runtime, IMAGE, "sh", "-c", script]);
        assert_eq!(out.code, 0, "{runtime}: {out:?}");
        assert!(eventually(Duration::from_secs(10), || d.docker(&["logs", &name]).stdout.contains("started")), "{runtime}");
        let exec = d.docker(&["exec", &name, "sh", "-c", "echo exec $(id -u); exit 4"]);
        let stop = d.docker(&["stop", "-t", "10", &name]);
        assert_eq!(stop.code, 0, "{runtime}: {stop:?}");
        let status = d.docker(&["inspect", "-f", "{{.State.ExitCode}}", &name]).stdout;
        let logs = d.docker(&["logs", &name]).stdout;
        let rm = d.docker(&["rm", &name]);
        assert_eq!(rm.code, 0, "{runtime}: {rm:?}");
        seen.push((exec.code, exec.stdout, status, logs));
    }
    assert_eq!(seen[1], seen[0], "knocker, then runc");
    assert_eq!(seen[1], (4, "exec 0\n".to_string(), "7\n".to_string(), "started\ngot-term\n".to_string()));
    assert!(d.docker(&["ps", "-aq"]).stdout.trim().is_empty());
}

#[test]
fn docker_run_with_a_terminal_through_knocker_as_through_runc() {
    let _g = shared();
    let d = Dockerd::start();
    let sock = d.dir.path().join("d.sock");
    let mut seen = Vec::new();
    for runtime in ["runc", "knocker"] {
        // `script` gives `docker run -it` the terminal it wants.
        let line = format!("{DOCKER} -H unix://{} run --rm -it --network none --runtime {runtime} {IMAGE} sh -c 'tty; exit 5'", sock.display());
        let out = run_for(Command::new("script").args(["-qec", &line, "/dev/null"]), Duration::from_secs(60));
        seen.push((out.code, out.stdout.replace('\r', "")));
    }
    assert_eq!(seen[1], seen[0], "knocker, then runc");
    assert_eq!(seen[1].0, 5, "{seen:?}");
    assert!(seen[1].1.contains("/dev/pts/0\n"), "{seen:?}");
}
