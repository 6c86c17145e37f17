//! `knocker`, the OCI runtime front end (issue 12, first part): bundles made with `knocker
//! spec` and edited as JSON, driven through runc's verbs as an engine drives them.

use knocker_tests::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn args(config: &mut Value, script: &str) {
    config["process"]["args"] = json!(["sh", "-c", script]);
}

#[test]
fn spec_writes_a_default_config_and_keeps_an_existing_one() {
    let dir = Scratch::new("oci-spec");
    let out = run(Command::new(bin("knocker")).arg("spec").current_dir(dir.path()));
    assert_eq!(out.code, 0, "{out:?}");
    let config: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(config["root"]["path"], "rootfs");
    assert_eq!(config["process"]["args"], json!(["sh"]));
    let out = run(Command::new(bin("knocker")).arg("spec").current_dir(dir.path()));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("knocker: config.json exists already"), "{out:?}");
}

#[test]
fn run_in_the_foreground_gives_the_process_exit_status() {
    let _g = shared();
    let b = Bundle::new("oci-run", |c| args(c, "echo hello from $(hostname); exit 3"));
    let out = b.knocker(&["run", "fg"]);
    assert_eq!((out.code, out.stdout.as_str()), (3, "hello from knocker\n"), "{out:?}");
    // Nothing is left: no state, no cgroup.
    assert_eq!(b.knocker(&["list", "--quiet"]).stdout, "");
    assert!(knocker_cgroups().iter().all(|p| !p.ends_with("fg")), "{:?}", knocker_cgroups());
}

#[test]
fn create_start_state_delete_as_runtime_md_says() {
    let _g = shared();
    let out_dir = Scratch::new("oci-lifecycle-out");
    let b = Bundle::new("oci-lifecycle", |c| {
        args(c, "echo started > /out/started; exit 0");
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/out", "type": "bind", "source": out_dir.path(), "options": ["rbind", "rw"]}));
        c["annotations"] = json!({"org.example.k": "v"});
    });
    let pid_file = b.path().join("pid");
    let out = b.knocker(&["create", "--bundle", b.path().to_str().unwrap(), "--pid-file", pid_file.to_str().unwrap(), "life"]);
    assert_eq!(out.code, 0, "{out:?}");
    let st = b.state("life");
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], "life");
    assert_eq!(st["bundle"], b.path().to_str().unwrap());
    assert_eq!(st["annotations"], json!({"org.example.k": "v"}));
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    assert!(!out_dir.path().join("started").exists(), "the process ran before start");
    // A second create of the same id is refused.
    let again = b.knocker(&["create", "life"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("exists already"), "{again:?}");

    let out = b.knocker(&["start", "life"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(eventually(Duration::from_secs(5), || out_dir.path().join("started").exists()));
    assert!(eventually(Duration::from_secs(5), || b.state("life")["status"] == "stopped"));
    let out = b.knocker(&["start", "life"]);
    assert_eq!(out.code, 1, "starting twice: {out:?}");

    let out = b.knocker(&["delete", "life"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = b.knocker(&["state", "life"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "knocker: container does not exist: life\n");
    assert!(knocker_cgroups().iter().all(|p| !p.ends_with("life")), "{:?}", knocker_cgroups());
}

#[test]
fn kill_and_delete_of_created_and_running_containers() {
    let _g = shared();
    let b = Bundle::new("oci-kill", |c| args(c, "trap 'exit 7' TERM; while :; do sleep 0.05; done"));
    assert_eq!(b.knocker(&["create", "k1"]).code, 0);
    // A created container can be killed (SIGKILL: its PID 1 has no handlers yet).
    assert_eq!(b.knocker(&["kill", "k1", "KILL"]).code, 0);
    assert!(eventually(Duration::from_secs(5), || b.state("k1")["status"] == "stopped"));
    assert_eq!(b.knocker(&["delete", "k1"]).code, 0);

    assert_eq!(b.knocker(&["run", "--detach", "k2"]).code, 0);
    assert_eq!(b.state("k2")["status"], "running");
    let refused = b.knocker(&["delete", "k2"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("cannot delete a running container"), "{refused:?}");
    // SIGTERM by name, without SIG, reaches the process's own handler.
    assert_eq!(b.knocker(&["kill", "k2", "term"]).code, 0);
    assert!(eventually(Duration::from_secs(5), || b.state("k2")["status"] == "stopped"));
    assert_eq!(b.knocker(&["kill", "k2"]).code, 1, "killing a stopped container");
    assert_eq!(b.knocker(&["delete", "k2"]).code, 0);

    let pid_file = b.path().join("k3.pid");
    assert_eq!(b.knocker(&["run", "-d", &format!("--pid-file={}", pid_file.display()), "k3"]).code, 0);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), b.state("k3")["pid"].to_string(), "--pid-file=F");
    let out = b.knocker(&["delete", "--force", "k3"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(b.knocker(&["list", "-q"]).stdout, "");
    assert_eq!(b.knocker(&["delete", "--force", "never-was"]).code, 0, "runc: --force on a missing id succeeds");
    assert!(pids_running(&["sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.05; done"]).is_empty());
}

#[test]
fn list_in_table_json_and_quiet_forms() {
    let _g = shared();
    let b = Bundle::new("oci-list", |c| args(c, "sleep 30"));
    assert_eq!(b.knocker(&["create", "l1"]).code, 0);
    assert_eq!(b.knocker(&["list", "-q"]).stdout, "l1\n");
    let table = b.knocker(&["list"]).stdout;
    assert!(table.starts_with("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\nl1\t"), "{table}");
    let list: Value = serde_json::from_str(&b.knocker(&["list", "--format", "json"]).stdout).unwrap();
    assert_eq!(list[0]["id"], "l1");
    assert_eq!(list[0]["status"], "created");
    assert!(list[0]["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(b.knocker(&["delete", "--force", "l1"]).code, 0);
}

#[test]
fn bad_configs_are_one_line_naming_the_problem_and_leave_nothing() {
    let _g = shared();
    let b = Bundle::new("oci-bad", |c| args(c, "true"));
    let config = b.path().join("config.json");
    let good = std::fs::read_to_string(&config).unwrap();
    for (text, says) in [
        ("{\n  \"process\": {\n    \"args\": [\"sh\",]\n  }\n}\n", "config.json is not valid JSON: line 3"),
        (&*good.replacen("\"args\": [", "\"args\": 7, \"x\": [", 1), "config.json: process.args (expected an array)"),
        (&*good.replacen("\"readonly\": true", "\"readonly\": true, \"path\": 1", 1).replacen("\"path\": \"rootfs\",", "", 1), "config.json: root.path (expected a string)"),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = b.knocker(&["create", "bad"]);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(out.stderr.starts_with(&format!("knocker: {says}")), "wanted {says:?}: {out:?}");
        assert!(!b.root.join("bad").exists());
    }
    std::fs::write(&config, good).unwrap();
    let out = b.knocker(&["state", "nope"]);
    assert_eq!((out.code, out.stderr.as_str()), (1, "knocker: container does not exist: nope\n"));
    let out = b.knocker(&["create", "bad/id"]);
    assert!(out.code == 1 && out.stderr.contains("bad container id"), "{out:?}");
}

#[test]
fn errors_go_to_the_log_as_runcs_json_lines() {
    let b = Bundle::new("oci-log", |c| args(c, "true"));
    let log = b.path().join("log.json");
    let out = run(Command::new(bin("knocker"))
        .args(["--root"])
        .arg(&b.root)
        .arg(format!("--log={}", log.display()))
        .args(["--log-format", "json", "state", "missing"]));
    assert_eq!(out.code, 1);
    let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(line["level"], "error");
    assert_eq!(line["msg"], "container does not exist: missing");
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn features_is_a_json_document_and_version_and_help_answer() {
    let out = run(Command::new(bin("knocker")).arg("features"));
    let f: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(f["ociVersionMax"], "1.2.0");
    assert!(f["linux"]["namespaces"].as_array().unwrap().contains(&json!("pid")));
    // The mount options are the reader's own table (before: four of them, `rro` missing).
    let options = f["mountOptions"].as_array().unwrap();
    for taken in ["ro", "rro", "rnosuid", "nosymfollow", "rshared", "strictatime", "tmpcopyup"] {
        assert!(options.contains(&json!(taken)), "{taken}: {options:?}");
    }
    for refused in ["idmap", "rnoatime", "mand"] {
        assert!(!options.contains(&json!(refused)), "{refused}: {options:?}");
    }
    // The rest from the readers' tables too: what they take, nothing they refuse.
    assert_eq!(f["linux"]["namespaces"], json!(["cgroup", "ipc", "mount", "network", "pid", "user", "uts"]));
    assert_eq!(f["linux"]["capabilities"].as_array().unwrap().len(), 41);
    assert!(f["linux"]["capabilities"].as_array().unwrap().contains(&json!("CAP_CHECKPOINT_RESTORE")));
    let actions = f["linux"]["seccomp"]["actions"].as_array().unwrap();
    assert!(actions.contains(&json!("SCMP_ACT_ERRNO")) && !actions.contains(&json!("SCMP_ACT_NOTIFY")), "{actions:?}");
    assert_eq!(f["linux"]["seccomp"]["operators"].as_array().unwrap().len(), 7);
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|s| s.starts_with('Y'));
    assert_eq!(f["linux"]["apparmor"]["enabled"], json!(apparmor), "as this host has it");
    assert_eq!(f["linux"]["selinux"]["enabled"], json!(Path::new("/sys/fs/selinux/enforce").exists()));
    let out = run(Command::new(bin("knocker")).arg("--version"));
    assert!(out.stdout.starts_with("knocker version "), "{out:?}");
    let out = run(Command::new(bin("knocker")).arg("--help"));
    assert!(out.stdout.starts_with("Usage: knocker"), "{out:?}");
    let out = run(Command::new(bin("knocker")).arg("bogus"));
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("knocker: unknown command bogus"), "{out:?}");
}

#[test]
fn the_config_becomes_the_launchers_plan() {
    let _g = shared();
    let b = Bundle::new("oci-plan", |c| {
        args(c, "echo $GREETING; hostname; id -u; pwd; grep -c . /proc/net/dev; touch /ro-test 2>/dev/null || echo read-only; grep ^CapEff /proc/self/status; id -G");
        c["process"]["env"].as_array_mut().unwrap().push(json!("GREETING=hi there"));
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]});
        c["process"]["cwd"] = json!("/tmp");
        c["hostname"] = json!("bundle-host");
        c["linux"]["resources"]["pids"] = json!({"limit": 50});
    });
    let out = b.knocker(&["run", "plan"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..4], ["hi there", "bundle-host", "1000", "/tmp"], "{out:?}");
    assert_eq!(lines[4], "3", "only lo in a network namespace of its own: {out:?}");
    assert_eq!(lines[5], "read-only");
    assert_eq!(lines[6], "CapEff:\t0000000000000000", "a non-root user keeps no capability");
    assert_eq!(lines[7], "1000 10 20", "additionalGids: {out:?}");
}

#[test]
fn a_network_namespace_is_joined_by_path_as_engines_hand_it_over() {
    let _g = shared();
    let name = format!("knocker-oci-{}", std::process::id());
    assert_eq!(run(Command::new("ip").args(["netns", "add", &name])).code, 0);
    let path = format!("/run/netns/{name}");
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(&path).unwrap().ino();
    let b = Bundle::new("oci-netns", |c| {
        args(c, "readlink /proc/self/ns/net");
        for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "network" {
                ns["path"] = json!(path);
            }
        }
    });
    let out = b.knocker(&["run", "netns"]);
    let _ = Command::new("ip").args(["netns", "delete", &name]).status();
    assert_eq!((out.code, out.stdout.trim()), (0, format!("net:[{inode}]").as_str()), "{out:?}");
}

#[test]
fn rlimits_oom_score_adj_and_namespaced_sysctls() {
    let _g = shared();
    // The opposite of the host's value: the container's network namespace has its own.
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap().trim().to_string();
    let theirs = if host == "1" { "0" } else { "1" };
    let b = Bundle::new("oci-limits", |c| {
        args(c, "ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; cat /proc/sys/net/ipv4/ip_forward");
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512}]);
        c["process"]["oomScoreAdj"] = json!(300);
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": theirs});
    });
    let out = b.knocker(&["run", "limits"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, format!("256\n512\n300\n{theirs}\n").as_str()), "{out:?}");
    assert_eq!(std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap().trim(), host, "the host's own value changed");
    let config = b.path().join("config.json");
    let text = std::fs::read_to_string(&config).unwrap().replace("\"net.ipv4.ip_forward\"", "\"kernel.panic\"");
    std::fs::write(&config, text).unwrap();
    let out = b.knocker(&["run", "limits"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("not a sysctl of the container's own namespaces: kernel.panic"), "{out:?}");
}

/// The engine's side of `--console-socket`: the descriptor that came with the first message.
fn receive_fd(stream: &std::os::unix::net::UnixStream) -> std::os::fd::OwnedFd {
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut byte = [0u8; 16];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: byte.len() };
    let mut control = [0u64; 8];
    // SAFETY: all-zero is a valid msghdr; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: recvmsg into the buffers above.
    let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, 0) };
    assert!(n > 0, "nothing came over the console socket");
    // SAFETY: the kernel filled msg's control buffer; CMSG_* walk it as it laid it out.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null() && (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS, "no descriptor came");
        std::os::fd::OwnedFd::from_raw_fd(std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32))
    }
}

#[test]
fn the_terminal_goes_to_the_engine_over_the_console_socket() {
    let _g = shared();
    let b = Bundle::new("oci-console", |c| {
        args(c, "tty; stty size; echo typed: $(head -n1)");
        c["process"]["terminal"] = json!(true);
        c["process"]["consoleSize"] = json!({"height": 30, "width": 100});
    });
    let socket = b.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let out = b.knocker(&["create", "--console-socket", socket.to_str().unwrap(), "tty1"]);
    assert_eq!(out.code, 0, "{out:?}");
    let (stream, _) = listener.accept().unwrap();
    let master = std::fs::File::from(receive_fd(&stream));
    assert_eq!(b.knocker(&["start", "tty1"]).code, 0);
    use std::io::{Read, Write};
    (&master).write_all(b"hello\n").unwrap();
    let mut seen = Vec::new();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n @ 1..) = (&master).read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains("typed: hello") {
                break;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    assert!(eventually(Duration::from_secs(5), || reader.is_finished()), "no output on the terminal");
    let text = reader.join().unwrap();
    // The terminal echoes what was typed whenever it arrives: look for each line on its own.
    assert!(text.contains("/dev/pts/0\r\n") && text.contains("30 100\r\n"), "{text:?}");
    assert!(text.contains("typed: hello"), "{text:?}");
    assert!(eventually(Duration::from_secs(5), || b.state("tty1")["status"] == "stopped"));
    assert_eq!(b.knocker(&["delete", "tty1"]).code, 0);
    // A terminal without a socket, and a socket without a terminal, are refused.
    assert!(b.knocker(&["create", "tty2"]).stderr.contains("give --console-socket"));
}

#[test]
fn exec_runs_a_process_inside_a_running_container() {
    let _g = shared();
    let b = Bundle::new("oci-exec", |c| {
        args(c, "trap 'exit 0' TERM; echo $$ > /tmp/pid1; while :; do sleep 0.05; done");
        c["root"]["readonly"] = json!(false);
    });
    assert_eq!(b.knocker(&["run", "--detach", "ex"]).code, 0);
    assert!(eventually(Duration::from_secs(5), || b.path().join("rootfs/tmp/pid1").exists()));
    let out = b.knocker(&["exec", "--env", "WHO=exec", "--cwd", "/tmp", "ex", "sh", "-c", "echo $WHO in $(pwd); cat /tmp/pid1; hostname; exit 6"]);
    assert_eq!((out.code, out.stdout.as_str()), (6, "exec in /tmp\n1\nknocker\n"), "{out:?}");
    // The process.json form, as engines pass it.
    let process = b.path().join("process.json");
    std::fs::write(&process, r#"{"args": ["id", "-u"], "env": ["PATH=/usr/bin:/bin"], "cwd": "/", "user": {"uid": 123, "gid": 123}}"#).unwrap();
    let out = b.knocker(&["exec", "--process", process.to_str().unwrap(), "ex"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "123\n"), "{out:?}");
    let pid_file = b.path().join("exec.pid");
    let out = b.knocker(&["exec", "--detach", "--pid-file", pid_file.to_str().unwrap(), "ex", "sleep", "1245"]);
    assert_eq!(out.code, 0, "{out:?}");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert_eq!(pids_running(&["sleep", "1245"]), [pid], "the pid file names the process as the host sees it");
    let killed = b.knocker(&["kill", "--all", "ex", "KILL"]);
    assert_eq!(killed.code, 0, "{killed:?}");
    assert!(eventually(Duration::from_secs(5), || pids_running(&["sleep", "1245"]).is_empty()), "kill --all left {pid}: {killed:?}, state {}", std::fs::read_to_string(b.root.join("ex/state.json")).unwrap_or_default());
    assert!(eventually(Duration::from_secs(5), || b.state("ex")["status"] == "stopped"));
    assert_eq!(b.knocker(&["exec", "ex", "true"]).code, 1, "exec into a stopped container");
    assert_eq!(b.knocker(&["delete", "ex"]).code, 0);
}

#[test]
fn pause_resume_and_ps() {
    let _g = shared();
    let b = Bundle::new("oci-pause", |c| {
        args(c, "trap 'exit 0' TERM; while :; do date +%s%N > /tmp/tick; sleep 0.05; done");
        c["root"]["readonly"] = json!(false);
    });
    assert_eq!(b.knocker(&["run", "-d", "pz"]).code, 0);
    let tick = b.path().join("rootfs/tmp/tick");
    assert!(eventually(Duration::from_secs(5), || tick.exists()));
    assert_eq!(b.knocker(&["pause", "pz"]).code, 0);
    assert_eq!(b.state("pz")["status"], "paused");
    let before = std::fs::read_to_string(&tick).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read_to_string(&tick).unwrap(), before, "a paused container still ran");
    assert_eq!(b.knocker(&["pause", "pz"]).code, 1, "pausing twice");
    let pids: Value = serde_json::from_str(&b.knocker(&["ps", "--format", "json", "pz"]).stdout).unwrap();
    assert!(pids.as_array().unwrap().contains(&json!(b.state("pz")["pid"])), "{pids}");
    assert_eq!(b.knocker(&["resume", "pz"]).code, 0);
    assert_eq!(b.state("pz")["status"], "running");
    assert!(eventually(Duration::from_secs(5), || std::fs::read_to_string(&tick).unwrap() != before));
    assert!(b.knocker(&["ps", "pz"]).stdout.starts_with("PID\tCMD\n"));
    assert_eq!(b.knocker(&["pause", "pz"]).code, 0);
    assert_eq!(b.knocker(&["delete", "--force", "pz"]).code, 0, "a paused container is deleted too");
    assert!(!b.root.join("pz").exists());
}

#[test]
fn the_group_is_where_cgroups_path_says() {
    let _g = shared();
    let b = Bundle::new("oci-cgpath", |c| {
        args(c, "sleep 30");
        c["linux"]["cgroupsPath"] = json!("/knocker-oci-test/cg1");
        c["linux"]["resources"]["pids"] = json!({"limit": 42});
    });
    assert_eq!(b.knocker(&["create", "cg1"]).code, 0);
    let pid = b.state("cg1")["pid"].as_i64().unwrap();
    let procs = std::fs::read_to_string("/sys/fs/cgroup/pids/knocker-oci-test/cg1/cgroup.procs").unwrap();
    assert!(procs.lines().any(|l| l == pid.to_string()), "{procs}");
    assert_eq!(std::fs::read_to_string("/sys/fs/cgroup/pids/knocker-oci-test/cg1/pids.max").unwrap().trim(), "42");
    assert_eq!(b.knocker(&["delete", "--force", "cg1"]).code, 0);
    assert!(!std::path::Path::new("/sys/fs/cgroup/pids/knocker-oci-test/cg1").exists());
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let _ = std::fs::remove_dir(h.path().join("knocker-oci-test"));
    }
}

#[test]
fn every_resource_is_read_back_from_the_group_after_create_and_after_update() {
    let _g = shared();
    // An engine's parent group, granting the real-time runtime a child may take (a new v1 cpu
    // group has none).
    let parent = "knocker-oci-res";
    let cpu_parent = format!("/sys/fs/cgroup/cpu/{parent}");
    std::fs::create_dir_all(&cpu_parent).unwrap();
    std::fs::write(format!("{cpu_parent}/cpu.rt_runtime_us"), "20000").unwrap();
    let b = Bundle::new("oci-res", |c| {
        args(c, "sleep 30");
        c["linux"]["cgroupsPath"] = json!(format!("/{parent}/r1"));
        c["linux"]["resources"] = json!({
            "memory": {"limit": 64u64 << 20, "reservation": 32u64 << 20, "swappiness": 10, "disableOOMKiller": true},
            "cpu": {"shares": 512, "quota": 20000, "period": 100000, "realtimePeriod": 1000000, "realtimeRuntime": 10000, "cpus": "0", "mems": "0"},
            "pids": {"limit": 64}
        });
    });
    let file = |controller: &str, name: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{controller}/{parent}/r1/{name}")).unwrap_or_else(|e| panic!("{controller}/{name}: {e}")).trim().to_string()
    };
    let created = b.knocker(&["create", "r1"]);
    assert_eq!(created.code, 0, "{created:?}");
    // Before: every one but the memory limit, shares, quota and pids was refused.
    let expect = |pairs: &[(&str, &str, &str)]| {
        for (controller, name, value) in pairs {
            assert_eq!(file(controller, name), *value, "{controller}/{name}");
        }
    };
    expect(&[
        ("memory", "memory.limit_in_bytes", "67108864"),
        ("memory", "memory.soft_limit_in_bytes", "33554432"),
        ("memory", "memory.swappiness", "10"),
        ("cpu", "cpu.shares", "512"),
        ("cpu", "cpu.cfs_quota_us", "20000"),
        ("cpu", "cpu.cfs_period_us", "100000"),
        ("cpu", "cpu.rt_period_us", "1000000"),
        ("cpu", "cpu.rt_runtime_us", "10000"),
        ("cpuset", "cpuset.cpus", "0"),
        ("cpuset", "cpuset.mems", "0"),
        ("pids", "pids.max", "64"),
    ]);
    assert!(file("memory", "memory.oom_control").contains("oom_kill_disable 1"));
    let memsw = std::path::Path::new(&format!("/sys/fs/cgroup/memory/{parent}/r1/memory.memsw.limit_in_bytes")).exists();
    if memsw {
        assert_eq!(file("memory", "memory.memsw.limit_in_bytes"), "67108864", "no swap: memory and swap at the memory limit");
    }
    // Raised above the old memsw limit: before, v1 refused it (memsw stayed at the old value).
    let resources = b.path().join("resources.json");
    std::fs::write(&resources, r#"{"memory": {"limit": 134217728, "reservation": 16777216, "swappiness": 20}, "cpu": {"shares": 1024, "quota": 50000, "period": 200000, "cpus": "0-1", "mems": "0"}, "pids": {"limit": 99}}"#).unwrap();
    let out = b.knocker(&["update", "--resources", resources.to_str().unwrap(), "r1"]);
    assert_eq!(out.code, 0, "{out:?}");
    expect(&[
        ("memory", "memory.limit_in_bytes", "134217728"),
        ("memory", "memory.soft_limit_in_bytes", "16777216"),
        ("memory", "memory.swappiness", "20"),
        ("cpu", "cpu.shares", "1024"),
        ("cpu", "cpu.cfs_quota_us", "50000"),
        ("cpu", "cpu.cfs_period_us", "200000"),
        ("cpuset", "cpuset.cpus", "0-1"),
        ("pids", "pids.max", "99"),
    ]);
    if memsw {
        assert_eq!(file("memory", "memory.memsw.limit_in_bytes"), "134217728");
    }
    // And down again: memory first, then memsw.
    std::fs::write(&resources, r#"{"memory": {"limit": 33554432}}"#).unwrap();
    assert_eq!(b.knocker(&["update", "--resources", resources.to_str().unwrap(), "r1"]).code, 0);
    expect(&[("memory", "memory.limit_in_bytes", "33554432")]);
    assert_eq!(b.knocker(&["delete", "--force", "r1"]).code, 0);
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        assert!(!h.path().join(parent).join("r1").exists(), "{} left behind", h.path().display());
        let _ = std::fs::remove_dir(h.path().join(parent));
    }
}

#[test]
fn a_namespace_type_left_out_is_the_hosts() {
    let _g = shared();
    // As runc: no pid, ipc, uts or mount entry means the host's; the rest stay the container's.
    let b = Bundle::new("oci-hostns", |c| {
        args(c, "for n in pid ipc uts mnt net; do readlink /proc/self/ns/$n; done; ls /proc/1/ns >/dev/null && echo sees-host-init; cat /etc/hostname-probe 2>/dev/null; hostname");
        c["hostname"] = json!("");
        c["linux"]["namespaces"] = json!([{"type": "network"}, {"type": "cgroup"}]);
    });
    std::fs::write(b.path().join("rootfs/etc/hostname-probe"), "in-the-rootfs\n").unwrap();
    let out = b.knocker(&["run", "hn"]);
    assert_eq!(out.code, 0, "{out:?}");
    let ns = |kind: &str| std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap().to_string_lossy().into_owned();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{out:?}");
    assert_eq!(&lines[..4], &[ns("pid"), ns("ipc"), ns("uts"), ns("mnt")].iter().map(|s| s.as_str()).collect::<Vec<_>>()[..], "{out:?}");
    assert_ne!(lines[4], ns("net"), "the network namespace listed is the container's own");
    // The host's mount namespace, but the container's tree as its root (nothing of the host's
    // files), and the host's name, not knocker's default.
    assert_eq!(lines[5], "sees-host-init");
    assert_eq!(lines[6], "in-the-rootfs", "the root is the bundle's rootfs");
    assert_eq!(lines[7], run(&mut Command::new("hostname")).stdout.trim());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains("oci-hostns"), "nothing of the container's tree in the host's mount table: {mounts}");
    // A host name needs a UTS namespace of the container's own (as runc says), nothing left.
    let named = Bundle::new("oci-hostns-named", |c| {
        c["hostname"] = json!("mine");
        c["linux"]["namespaces"] = json!([{"type": "network"}, {"type": "mount"}]);
    });
    let out = named.knocker(&["run", "nm"]);
    assert!(out.code == 1 && out.stderr.lines().count() == 1 && out.stderr.contains("hostname"), "{out:?}");
    assert!(!named.root.join("nm").exists());
}

#[test]
fn update_changes_the_limits_of_a_running_container() {
    let _g = shared();
    let b = Bundle::new("oci-update", |c| {
        args(c, "sleep 30");
        c["linux"]["resources"]["memory"] = json!({"limit": 64 << 20});
    });
    assert_eq!(b.knocker(&["run", "-d", "up1"]).code, 0);
    let file = |controller: &str, name: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{controller}/knocker/up1/{name}")).unwrap().trim().to_string();
    assert_eq!(file("memory", "memory.limit_in_bytes"), (64u64 << 20).to_string());
    let resources = b.path().join("resources.json");
    std::fs::write(&resources, r#"{"memory": {"limit": 33554432}, "pids": {"limit": 77}}"#).unwrap();
    let out = b.knocker(&["update", "--resources", resources.to_str().unwrap(), "up1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(file("memory", "memory.limit_in_bytes"), "33554432");
    assert_eq!(file("pids", "pids.max"), "77");
    assert_eq!(b.knocker(&["update", "--pids-limit", "99", "up1"]).code, 0);
    assert_eq!(file("pids", "pids.max"), "99");
    assert_eq!(b.knocker(&["delete", "-f", "up1"]).code, 0);
    assert_eq!(b.knocker(&["update", "--pids-limit", "5", "up1"]).code, 1, "no such container any more");
}

#[test]
fn hooks_get_the_state_on_stdin_at_their_points() {
    let _g = shared();
    let dir = Scratch::new("oci-hooks-out");
    let out = dir.path().to_str().unwrap().to_string();
    let hook = |kind: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {out}/{kind}")]});
    // In the container's namespaces: createContainer before pivot_root, where paths are still
    // the host's (runtime-spec's runtime namespace, as runc runs it), startContainer after it,
    // where they are the container's. Each says in which order it ran and under which host name.
    let order_on_host = dir.path().join("order-of-hooks");
    let inside = |kind: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > /{kind}; echo {kind} $(hostname) >> /order")]});
    let before_pivot = json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {out}/createContainer; echo createContainer $(hostname) >> {}", order_on_host.display())]});
    let b = Bundle::new("oci-hooks", |c| {
        args(c, "sleep 30");
        c["root"]["readonly"] = json!(false);
        c["hostname"] = json!("hooked");
        c["hooks"] = json!({
            "createRuntime": [hook("createRuntime")], "poststart": [hook("poststart")], "poststop": [hook("poststop")],
            "createContainer": [before_pivot], "startContainer": [inside("startContainer")]
        });
    });
    let order = b.path().join("rootfs/order");
    let c: Value = serde_json::from_str(&std::fs::read_to_string(b.path().join("config.json")).unwrap()).unwrap();
    let mut c = c;
    c["hooks"]["createRuntime"] = json!([{"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {out}/createRuntime; echo createRuntime $(hostname) >> {}", order_on_host.display())]}]);
    std::fs::write(b.path().join("config.json"), c.to_string()).unwrap();
    let created = b.knocker(&["create", "h1"]);
    let _gone = b.deleting(&bin("knocker"), "h1");
    assert_eq!(created.code, 0, "{created:?}");
    let seen: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("createRuntime")).unwrap()).unwrap();
    assert_eq!((seen["id"].as_str(), seen["status"].as_str()), (Some("h1"), Some("creating")));
    let pid = b.state("h1")["pid"].clone();
    assert_eq!(seen["pid"], pid);
    let host = run(&mut Command::new("hostname")).stdout;
    assert_eq!(std::fs::read_to_string(&order_on_host).unwrap(), format!("createRuntime {host}createContainer hooked\n"), "in order, and where");
    let seen: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("createContainer")).unwrap()).unwrap();
    assert_eq!((seen["status"].as_str(), &seen["pid"]), (Some("creating"), &pid), "the host pid, also inside");
    assert!(!dir.path().join("poststart").exists() && !b.path().join("rootfs/startContainer").exists());
    assert_eq!(b.knocker(&["start", "h1"]).code, 0);
    let seen: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("poststart")).unwrap()).unwrap();
    assert_eq!(seen["status"], "running");
    assert!(std::fs::read_to_string(&order).unwrap().ends_with("startContainer hooked\n"));
    let seen: Value = serde_json::from_str(&std::fs::read_to_string(b.path().join("rootfs/startContainer")).unwrap()).unwrap();
    assert_eq!((seen["status"].as_str(), &seen["pid"]), (Some("created"), &pid));
    assert_eq!(b.knocker(&["delete", "--force", "h1"]).code, 0);
    let seen: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("poststop")).unwrap()).unwrap();
    assert_eq!(seen["status"], "stopped");

    // A failing createRuntime or createContainer hook fails the create and leaves nothing; a
    // slow one is cut at its timeout.
    let config = b.path().join("config.json");
    for hooks in [json!({"createRuntime": [{"path": "/bin/false"}]}), json!({"createContainer": [{"path": "/bin/false"}]})] {
        c["hooks"] = hooks;
        std::fs::write(&config, c.to_string()).unwrap();
        let out = b.knocker(&["create", "h2"]);
        assert!(out.code == 1 && out.stderr.contains("a hook failed: /bin/false"), "{out:?}");
        assert!(!b.root.join("h2").exists());
    }
    c["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}]});
    std::fs::write(&config, c.to_string()).unwrap();
    let start = std::time::Instant::now();
    let out = b.knocker(&["create", "h3"]);
    assert!(out.code == 1 && out.stderr.contains("a hook timed out: /bin/sleep"), "{out:?}");
    assert!(start.elapsed() < Duration::from_secs(4), "{:?}", start.elapsed());
    assert_eq!(b.knocker(&["list", "-q"]).stdout, "");
    // A failing poststart or poststop hook is a warning: the hooks after it run, and so does
    // the container (before: the rest were skipped, and `run` failed).
    let marks = Scratch::new("oci-hooks-marks");
    let mark = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}/{name}", marks.path().display())]});
    c["hooks"] = json!({"poststart": [{"path": "/bin/false"}, mark("after-poststart")], "poststop": [{"path": "/bin/false"}, mark("after-poststop")]});
    c["process"]["args"] = json!(["sh", "-c", "exit 4"]);
    std::fs::write(&config, c.to_string()).unwrap();
    let out = b.knocker(&["run", "h4"]);
    assert_eq!(out.code, 4, "{out:?}");
    assert_eq!(out.stderr.lines().filter(|l| l.starts_with("knocker: warning: a hook failed: /bin/false")).count(), 2, "{out:?}");
    assert!(marks.path().join("after-poststart").exists() && marks.path().join("after-poststop").exists(), "{out:?}");
}

#[test]
fn the_configs_masked_and_read_only_paths_replace_knockers() {
    let _g = shared();
    let script = "wc -c < /proc/timer_list; cat /proc/kcore 2>/dev/null | wc -c; echo knocker2 > /proc/sys/kernel/hostname && hostname";
    // `knocker spec`'s lists (the OCI defaults) mask timer_list and make /proc/sys read-only.
    let b = Bundle::new("oci-masks", |c| args(c, script));
    let out = b.knocker(&["run", "m1"]);
    assert_eq!(out.stdout.lines().take(2).collect::<Vec<_>>(), ["0", "0"], "{out:?}");
    assert!(!out.stdout.contains("knocker2"), "{out:?}");
    // A config with shorter lists gets exactly them (as engines unmask paths on request).
    let b = Bundle::new("oci-unmask", |c| {
        args(c, script);
        c["linux"]["maskedPaths"] = json!(["/proc/kcore"]);
        c["linux"]["readonlyPaths"] = json!(["/proc/sysrq-trigger"]);
    });
    let out = b.knocker(&["run", "m2"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].parse::<u64>().unwrap() > 0, "timer_list unmasked: {out:?}");
    assert_eq!(lines[1], "0", "kcore still masked: {out:?}");
    assert_eq!(lines[2], "knocker2", "/proc/sys writable, in the container's own UTS namespace: {out:?}");
}

#[test]
fn a_configs_seccomp_profile_is_compiled_and_kept_for_exec() {
    let _g = shared();
    let script = "mkdir /tmp/made 2>/dev/null; echo mkdir=$?; kill -0 $$ 2>/dev/null; echo kill0=$?; kill -CONT $$; echo cont=$?; grep ^Seccomp: /proc/self/status";
    // Control: without a profile, both calls work.
    let plain = Bundle::new("oci-seccomp-control", |c| {
        args(c, script);
        c["root"]["readonly"] = json!(false);
    });
    let out = plain.knocker(&["run", "plain"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "mkdir=0\nkill0=0\ncont=0\nSeccomp:\t0\n"), "{out:?}");

    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat", "socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}
        ]
    });
    let b = Bundle::new("oci-seccomp", |c| {
        args(c, &format!("{script}; touch /tmp/ready; while :; do sleep 0.05; done"));
        c["root"]["readonly"] = json!(false);
        c["linux"]["seccomp"] = profile.clone();
    });
    assert_eq!(b.knocker(&["run", "--detach", "sc"]).code, 0);
    assert!(eventually(Duration::from_secs(5), || b.path().join("rootfs/tmp/ready").exists()));
    // The container's output went to the bundle's knocker.out through the detached run.
    let said = std::fs::read_to_string(b.path().join("knocker.out")).unwrap();
    assert_eq!(said, "mkdir=1\nkill0=1\ncont=0\nSeccomp:\t2\n", "mkdir refused, kill with signal 0 refused, other signals not");
    assert!(!b.path().join("rootfs/tmp/made").exists());
    // A process exec'd into it gets the same filter, read back from the state directory.
    let out = b.knocker(&["exec", "sc", "sh", "-c", "mkdir /tmp/again; echo $?"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.ends_with("1\n") && out.stderr.contains("Permission denied") || out.stdout.contains("Permission denied"), "{out:?}");
    assert!(!b.path().join("rootfs/tmp/again").exists());
    assert_eq!(b.knocker(&["kill", "sc", "KILL"]).code, 0);
    assert!(eventually(Duration::from_secs(5), || b.state("sc")["status"] == "stopped"));
    assert_eq!(b.knocker(&["delete", "sc"]).code, 0);
    assert!(!b.root.join("sc").exists(), "the profile kept for exec is removed with the state");

    // What knocker cannot do is refused in one line, and nothing is left.
    let notify = Bundle::new("oci-seccomp-notify", |c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
    });
    let out = notify.knocker(&["run", "n"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("linux.seccomp.listenerPath"), "{out:?}");
    assert!(!notify.root.join("n").exists());
    let bad = Bundle::new("oci-seccomp-bad", |c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}]}]});
    });
    let out = bad.knocker(&["run", "b"]);
    assert!(out.code == 1 && out.stderr.contains("linux.seccomp.syscalls[0].args[0].index") && out.stderr.contains("index is 0 to 5"), "{out:?}");
}

#[test]
fn the_configs_devices_are_made_and_its_device_rules_allowed() {
    let _g = shared();
    let script = "stat -c '%A %u %g %t %T' /dev/disk /dev/pipe; test -p /dev/pipe && echo fifo; \
                  head -c 1 /dev/disk >/dev/null && echo read; echo x 2>/dev/null >/dev/disk || echo no-write; test -e /dev/.nodes || echo clean";
    let devices = json!([
        {"path": "/dev/disk", "type": "b", "major": 7, "minor": 0, "fileMode": 0o640, "uid": 0, "gid": 6},
        {"path": "/dev/pipe", "type": "p", "fileMode": 0o600},
        {"path": "/dev/null", "type": "c", "major": 1, "minor": 3}
    ]);
    let allowed = Bundle::new("oci-devices", |c| {
        args(c, script);
        c["linux"]["devices"] = devices.clone();
        c["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": 7, "minor": 0, "access": "r"}]);
    });
    let out = allowed.knocker(&["run", "dev"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines, ["brw-r----- 0 6 7 0", "prw------- 0 0 0 0", "fifo", "read", "no-write", "clean"], "{out:?}");
    // Control: the same node without the rule that allows it opens nothing.
    let denied = Bundle::new("oci-devices-denied", |c| {
        args(c, "head -c 1 /dev/disk");
        c["linux"]["devices"] = devices.clone();
        c["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}]);
    });
    let out = denied.knocker(&["run", "dev"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
    let bad = Bundle::new("oci-devices-bad", |c| {
        c["linux"]["resources"]["devices"] = json!([{"allow": true, "type": "c", "major": 1, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 5}]);
    });
    let out = bad.knocker(&["run", "b"]);
    assert!(out.code == 1 && out.stderr.contains("linux.resources.devices") && !bad.root.join("b").exists(), "{out:?}");
}

#[test]
fn mounts_of_every_kind_with_their_options() {
    let _g = shared();
    let b = Bundle::new("oci-mounts", |c| {
        args(c, "for d in /dev/mqueue /data /bound /shared /sys2; do grep \" $d \" /proc/self/mountinfo | cut -d' ' -f5,6,7; grep \" $d \" /proc/mounts | cut -d' ' -f3,4; done");
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/dev/mqueue");
        mounts.push(json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}));
        mounts.push(json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "noexec", "nosuid"]}));
        mounts.push(json!({"destination": "/bound", "type": "bind", "source": "/usr", "options": ["rbind", "ro", "nosuid"]}));
        mounts.push(json!({"destination": "/shared", "source": "/usr", "options": ["bind", "rshared"]}));
        mounts.push(json!({"destination": "/sys2", "type": "sysfs", "source": "sysfs", "options": ["nosuid"]}));
    });
    let out = b.knocker(&["run", "m"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 10, "{out:?}");
    assert!(lines[0].starts_with("/dev/mqueue rw,nosuid,nodev,noexec"), "{out:?}");
    assert!(lines[1].starts_with("mqueue "), "{out:?}");
    assert!(lines[2].starts_with("/data rw,nosuid,nodev,noexec"), "{out:?}");
    assert!(lines[3].starts_with("tmpfs ") && lines[3].contains("size=1024k") && lines[3].contains("mode=700"), "{out:?}");
    assert!(lines[4].starts_with("/bound ro,nosuid,nodev"), "{out:?}");
    assert!(lines[6].starts_with("/shared rw,nodev") && lines[6].contains("shared:"), "rshared: {out:?}");
    assert!(lines[8].starts_with("/sys2 ro,nosuid,nodev"), "sysfs elsewhere is read-only too: {out:?}");
    assert!(lines[9].starts_with("sysfs "), "{out:?}");
    let bad = Bundle::new("oci-mounts-bad", |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/proc2", "type": "proc", "source": "proc"}));
    });
    let out = bad.knocker(&["run", "b"]);
    assert!(out.code == 1 && out.stderr.contains("mounts[].type") && !bad.root.join("b").exists(), "{out:?}");
}

#[test]
fn personality_applies_and_what_the_host_lacks_is_refused() {
    let _g = shared();
    let b = Bundle::new("oci-personality", |c| {
        args(c, "uname -m");
        c["linux"]["personality"] = json!({"domain": "LINUX32"});
        c["linux"]["rootfsPropagation"] = json!("rprivate");
        c["process"]["apparmorProfile"] = json!("");
    });
    let out = b.knocker(&["run", "p"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "i686\n"), "{out:?}");
    // This host has neither AppArmor nor SELinux; knocker has no Intel RDT or time namespaces.
    let cases: [(&str, fn(&mut Value)); 8] = [
        ("process.apparmorProfile", |c| c["process"]["apparmorProfile"] = json!("docker-default")),
        ("process.selinuxLabel", |c| c["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0")),
        ("linux.mountLabel", |c| c["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0")),
        ("linux.intelRdt", |c| c["linux"]["intelRdt"] = json!({"closID": "x"})),
        ("linux.timeOffsets", |c| c["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 10}})),
        ("linux.rootfsPropagation", |c| c["linux"]["rootfsPropagation"] = json!("sideways")),
        ("linux.resources.memory.swappiness", |c| c["linux"]["resources"]["memory"] = json!({"swappiness": 101})),
        ("linux.resources.cpu.cpus", |c| c["linux"]["resources"]["cpu"] = json!({"cpus": "0-"})),
    ];
    for (field, edit) in cases {
        let bad = Bundle::new("oci-unsupported", edit);
        let out = bad.knocker(&["run", "u"]);
        assert_eq!(out.code, 1, "{field}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{field}: {out:?}");
        assert!(out.stderr.contains(field), "{field}: {out:?}");
        assert!(!bad.root.join("u").exists(), "{field}: nothing left");
    }
}

#[test]
fn five_capability_sets_as_given_and_ambient_ones_not_inheritable_left_out() {
    let _g = shared();
    // As `runc spec` writes them: no inheritable set, three ambient capabilities.
    let b = Bundle::new("oci-caps", |c| {
        args(c, "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status");
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE", "CAP_CHOWN"],
            "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
            "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
            "ambient": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
        });
    });
    let out = b.knocker(&["run", "caps"]);
    assert_eq!(out.code, 0, "{out:?}");
    // KILL 5, NET_BIND_SERVICE 10, AUDIT_WRITE 29, CHOWN 0. After exec a root process has its
    // permitted set back from the bounding set.
    assert!(out.stdout.contains("CapInh:\t0000000000000000"), "{out:?}");
    assert!(out.stdout.contains("CapBnd:\t0000000020000421"), "{out:?}");
    assert!(out.stdout.contains("CapAmb:\t0000000000000000"), "ambient ones that are not inheritable are left out: {out:?}");
    // With them inheritable too, the ambient set holds them.
    let b = Bundle::new("oci-caps-amb", |c| {
        args(c, "grep -E '^CapAmb' /proc/self/status");
        let set = json!(["CAP_KILL", "CAP_NET_BIND_SERVICE"]);
        c["process"]["capabilities"] = json!({"bounding": set, "effective": set, "permitted": set, "inheritable": set, "ambient": set});
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    let out = b.knocker(&["run", "amb"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "CapAmb:\t0000000000000420\n"), "{out:?}");
}

#[test]
fn preserve_fds_passes_the_engines_descriptors_on() {
    let _g = shared();
    let b = Bundle::new("oci-fds", |c| args(c, "echo through fd 3 >&3; ls /proc/self/fd | tr '\\n' ' '"));
    let out_file = b.path().join("fd3.txt");
    let f3 = std::fs::File::create(&out_file).unwrap();
    let f4 = std::fs::File::create(b.path().join("fd4.txt")).unwrap();
    let (o, e) = (b.path().join("knocker.out"), b.path().join("knocker.err"));
    let mut cmd = Command::new(bin("knocker"));
    cmd.arg("--root").arg(&b.root).args(["run", "--preserve-fds", "1", "fds"]).current_dir(b.path());
    cmd.stdout(std::fs::File::create(&o).unwrap()).stderr(std::fs::File::create(&e).unwrap());
    use std::os::fd::AsRawFd;
    let (a, c) = (f3.as_raw_fd(), f4.as_raw_fd());
    // SAFETY: dup2 in the forked child before exec; only descriptors the test owns.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            // (dup2 onto itself keeps close-on-exec: clear it either way.)
            if libc::dup2(a, 3) < 0 || libc::dup2(c, 4) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 || libc::fcntl(4, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let status = cmd.status().unwrap();
    let stdout = std::fs::read_to_string(&o).unwrap();
    assert!(status.success(), "{stdout} {}", std::fs::read_to_string(&e).unwrap());
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "through fd 3\n", "{stdout} {}", std::fs::read_to_string(&e).unwrap());
    // 0, 1, 2, the preserved 3 and ls's own directory descriptor; 4 was not passed on.
    assert_eq!(stdout, "0 1 2 3 4 ", "{stdout}");
}

#[test]
fn a_user_namespace_from_the_configs_mappings() {
    let _g = shared();
    let b = Bundle::new("oci-userns", |c| {
        args(c, "cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '; id -u; stat -c %u /bin/busybox; grep ^CapEff /proc/self/status");
        c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    });
    let out = b.knocker(&["run", "u"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..5], [" 0 100000 65536", " 0 100000 65536", "0", "65534", "CapEff:\t0000000020000420"], "root inside, host root's files nobody's: {out:?}");
    // Without mappings a user namespace is refused in one line.
    let bad = Bundle::new("oci-userns-bad", |c| c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"})));
    let out = bad.knocker(&["run", "u"]);
    assert!(out.code == 1 && out.stderr.contains("linux.uidMappings") && !bad.root.join("u").exists(), "{out:?}");
}

#[test]
fn ipc_and_uts_namespaces_are_joined_by_path_as_a_pods_sandbox_hands_them_over() {
    let _g = shared();
    // The sandbox: a process in IPC and UTS namespaces of its own, with its own host name.
    let mut holder = Running::spawn(Command::new("unshare").args(["--ipc", "--uts", "sh", "-c", "hostname sandbox-host; exec sleep 30"]));
    let pid = holder.pid();
    assert!(eventually(Duration::from_secs(5), || run(Command::new("nsenter").args(["-t", &pid.to_string(), "-u", "hostname"])).stdout == "sandbox-host\n"));
    let ns = |kind: &str| std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap().to_string_lossy().to_string();
    let b = Bundle::new("oci-join", |c| {
        args(c, "hostname; readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts");
        for n in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "ipc" || n["type"] == "uts" {
                n["path"] = json!(format!("/proc/{pid}/ns/{}", n["type"].as_str().unwrap()));
            }
        }
        c["hostname"] = json!("ignored-when-joining");
    });
    let out = b.knocker(&["run", "j"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, format!("sandbox-host\n{}\n{}\n", ns("ipc"), ns("uts")), "{out:?}");
    holder.signal(libc::SIGKILL);
    let _ = holder.wait(Duration::from_secs(5));
    // A PID namespace by path (a pod's shared one): the container sees the sandbox's processes.
    let mut pod = Running::spawn(Command::new("unshare").args(["--pid", "--fork", "sleep", "30"]));
    let upid = pod.pid();
    let mut sleeper = 0;
    assert!(eventually(Duration::from_secs(5), || {
        sleeper = std::fs::read_to_string(format!("/proc/{upid}/task/{upid}/children")).unwrap_or_default().trim().parse().unwrap_or(0);
        sleeper != 0 && std::fs::read_to_string(format!("/proc/{sleeper}/comm")).is_ok_and(|c| c == "sleep\n")
    }));
    let pid_ns = std::fs::read_link(format!("/proc/{sleeper}/ns/pid")).unwrap().to_string_lossy().to_string();
    let joined = Bundle::new("oci-join-pid", |c| {
        args(c, "readlink /proc/self/ns/pid; cat /proc/1/comm");
        for n in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "pid" {
                n["path"] = json!(format!("/proc/{sleeper}/ns/pid"));
            }
        }
    });
    let out = joined.knocker(&["run", "p"]);
    pod.signal(libc::SIGKILL);
    let _ = pod.wait(Duration::from_secs(5));
    assert_eq!((out.code, out.stdout.as_str()), (0, format!("{pid_ns}\nsleep\n").as_str()), "{out:?}");
}

/// `runc run ID` on the bundle `b` (its own state directory): the control for a config.
fn runc_run(b: &Bundle, id: &str) -> Out {
    let state = b.path().join("runc-state");
    run_for(Command::new("runc").arg("--root").arg(&state).args(["run", "--bundle"]).arg(b.path()).arg(id), Duration::from_secs(60))
}

/// Every character and block node under the host's /dev, as containerd lists them for a
/// privileged container (linux.devices), except the terminals of the host's devpts.
fn host_device_nodes() -> Vec<Value> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut nodes = Vec::new();
    let mut dirs = vec![PathBuf::from("/dev")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let (path, kind) = (e.path(), e.file_type().unwrap());
            if kind.is_dir() && !["/dev/pts", "/dev/shm", "/dev/mqueue"].contains(&path.to_str().unwrap()) {
                dirs.push(path);
            } else if kind.is_char_device() || kind.is_block_device() {
                let m = e.metadata().unwrap();
                let rdev = m.rdev();
                let (major, minor) = (((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff), (rdev & 0xff) | ((rdev >> 12) & !0xff));
                let t = if kind.is_char_device() { "c" } else { "b" };
                nodes.push(json!({"path": path, "type": t, "major": major, "minor": minor, "fileMode": m.mode() & 0o777, "uid": m.uid(), "gid": m.gid()}));
            }
        }
    }
    nodes
}

#[test]
fn a_privileged_config_gets_every_host_device_node_as_under_runc() {
    let _g = shared();
    let nodes = host_device_nodes();
    // Before: more than 32 devices were refused, and containerd passes every host node.
    assert!(nodes.len() > 32, "this host has only {} device nodes", nodes.len());
    let paths: Vec<&str> = nodes.iter().map(|n| n["path"].as_str().unwrap()).collect();
    let script = format!(
        "n=0; for p in {}; do if [ -c $p ] || [ -b $p ]; then n=$((n+1)); fi; done; echo $n; : <>/dev/net/tun && echo opened",
        paths.join(" ")
    );
    let privileged = Bundle::new("oci-privileged", |c| {
        args(c, &script);
        c["linux"]["devices"] = json!(nodes);
        c["linux"]["resources"]["devices"] = json!([{"allow": true, "access": "rwm"}]);
    });
    let expected = format!("{}\nopened\n", nodes.len());
    let out = privileged.knocker(&["run", "priv"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, expected.as_str()), "{out:?}");
    let runc = runc_run(&privileged, "priv-runc");
    assert_eq!((runc.code, runc.stdout.as_str()), (0, expected.as_str()), "the control: {runc:?}");
    // Control: the same nodes without the rule that allows them are made, and open nothing.
    let unprivileged = Bundle::new("oci-privileged-control", |c| {
        args(c, &script);
        c["linux"]["devices"] = json!(nodes);
    });
    let out = unprivileged.knocker(&["run", "unpriv"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with(&format!("{}\n", nodes.len())) && !out.stdout.contains("opened"), "{out:?}");
    assert!(knocker_cgroups().iter().all(|p| !p.ends_with("priv") && !p.ends_with("unpriv")), "{:?}", knocker_cgroups());
}

#[test]
fn dockers_default_device_rules_apply_in_order_as_under_runc() {
    let _g = shared();
    let allow = |major: i64, minor: i64| json!({"allow": true, "type": "c", "major": major, "minor": minor, "access": "rwm"});
    // (Each open in a subshell: a failed redirection of `:` would end the shell itself.)
    let script = "(: </dev/lc) && echo lc-read; (: <>/dev/lc) 2>/dev/null && echo lc-write; (: </dev/fuse) 2>/dev/null && echo fuse; echo end";
    // Docker's default list (deny all, its allows, then a deny of fuse after them), with
    // loop-control (10:237, which neither runc's own list nor knocker's allows) allowed and
    // then its write access denied again.
    let rules = json!([
        {"allow": false, "access": "rwm"},
        allow(1, 5), allow(1, 3), allow(1, 9), allow(1, 8), allow(5, 0), allow(5, 1), allow(10, 237),
        {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
        {"allow": false, "type": "c", "major": 10, "minor": 237, "access": "w"}
    ]);
    let nodes = json!([
        {"path": "/dev/lc", "type": "c", "major": 10, "minor": 237, "fileMode": 0o666},
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}
    ]);
    let b = Bundle::new("oci-docker-rules", |c| {
        args(c, script);
        c["linux"]["devices"] = nodes.clone();
        c["linux"]["resources"]["devices"] = rules.clone();
    });
    // Before: refused ("a deny rule after an allow rule is not supported"): Docker's very
    // first `docker run --runtime knocker` failed.
    let out = b.knocker(&["run", "docker-rules"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "lc-read\nend\n"), "{out:?}");
    let runc = runc_run(&b, "docker-rules-runc");
    assert_eq!((runc.code, runc.stdout.as_str()), (0, "lc-read\nend\n"), "the control: {runc:?}");
    // Control: without the two denies both nodes open for writing.
    let open = Bundle::new("oci-docker-rules-control", |c| {
        args(c, script);
        c["linux"]["devices"] = nodes.clone();
        c["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}, allow(10, 237), allow(10, 229)]);
    });
    let out = open.knocker(&["run", "open-rules"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "lc-read\nlc-write\nfuse\nend\n"), "{out:?}");
    // A deny inside a wildcard allow cannot be kept apart from it: one line, nothing made.
    let hole = Bundle::new("oci-docker-rules-hole", |c| {
        c["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "access": "rw"}, {"allow": false, "type": "c", "major": 10, "minor": 200, "access": "r"}]);
    });
    let out = hole.knocker(&["run", "hole"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("linux.resources.devices (a deny rule inside an earlier allow of a wildcard"), "{out:?}");
    assert!(!hole.root.join("hole").exists() && knocker_cgroups().iter().all(|p| !p.ends_with("hole")), "{:?}", knocker_cgroups());
}

#[test]
fn groups_and_mounts_of_the_sizes_engines_send_as_under_runc() {
    let _g = shared();
    let mounts: Vec<Value> = (0..100).map(|i| json!({"destination": format!("/t{i}"), "type": "tmpfs", "source": "tmpfs"})).collect();
    let b = Bundle::new("oci-many", |c| {
        args(c, "id -G | wc -w; grep -c ' /t[0-9]* ' /proc/self/mountinfo");
        c["process"]["user"]["additionalGids"] = json!((1..=300).collect::<Vec<u32>>());
        c["mounts"].as_array_mut().unwrap().extend(mounts);
        c["root"]["readonly"] = json!(false);
    });
    // Before: more than 32 groups or 32 mounts were refused.
    let out = b.knocker(&["run", "many"]);
    assert_eq!((out.code, out.stdout.split_whitespace().collect::<Vec<_>>()), (0, vec!["301", "100"]), "{out:?}");
    let runc = runc_run(&b, "many-runc");
    assert_eq!((runc.code, runc.stdout.split_whitespace().collect::<Vec<_>>()), (0, vec!["301", "100"]), "the control: {runc:?}");
}

#[test]
fn kill_all_after_pid1_has_exited_ends_what_is_left_as_containerd_expects() {
    let _g = shared();
    // The host's PID namespace (a hostPID pod): a process PID 1 started outlives it.
    let b = Bundle::new("oci-kill-all", |c| {
        args(c, "sleep 1000 & echo $! >/left; exit 0");
        c["root"]["readonly"] = json!(false);
        c["linux"]["namespaces"] = json!([{"type": "network"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]);
    });
    assert_eq!(b.knocker(&["run", "--detach", "left"]).code, 0);
    let _gone = b.deleting(&bin("knocker"), "left");
    let left = b.path().join("rootfs/left");
    assert!(eventually(Duration::from_secs(5), || std::fs::read_to_string(&left).is_ok_and(|s| s.ends_with('\n'))));
    let pid: i32 = std::fs::read_to_string(&left).unwrap().trim().parse().unwrap();
    assert!(eventually(Duration::from_secs(5), || b.state("left")["status"] == "stopped"));
    let alive = |pid: i32| std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with("sleep"));
    // (Until it has exec'd, the forked shell's cmdline is still sh's.)
    assert!(eventually(Duration::from_secs(5), || alive(pid)), "the sleeper outlives PID 1");
    // Without --all: PID 1 alone, which has exited: refused in runc's words, the sleeper stays.
    let out = b.knocker(&["kill", "left", "KILL"]);
    assert_eq!((out.code, out.stderr.as_str()), (1, "knocker: container not running: left\n"), "{out:?}");
    assert!(alive(pid));
    // Before: `kill --all` was refused the same way, so containerd never saw the exit.
    let out = b.knocker(&["kill", "--all", "left", "KILL"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(eventually(Duration::from_secs(5), || !alive(pid)), "kill --all ended what was left");
    // Again, with nothing left: still a success, as runc.
    assert_eq!(b.knocker(&["kill", "--all", "left", "KILL"]).code, 0);
    assert_eq!(b.knocker(&["delete", "left"]).code, 0);
    let out = b.knocker(&["kill", "--all", "left", "KILL"]);
    assert_eq!((out.code, out.stderr.as_str()), (1, "knocker: container does not exist: left\n"), "{out:?}");
    assert!(knocker_cgroups().iter().all(|p| !p.ends_with("left")), "{:?}", knocker_cgroups());
}

/// A tmpfs this test mounted, unmounted when the test ends however it ends.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn ro_is_a_binds_top_mount_and_rro_every_mount_below_it_as_under_runc() {
    let _g = shared();
    let src = Scratch::new("oci-rro-src");
    std::fs::create_dir_all(src.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", src.path().join("link")).unwrap();
    assert!(Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"]).arg(src.path().join("sub")).status().unwrap().success());
    let _sub = Mounted(src.path().join("sub"));
    let script = "touch /data/top 2>/dev/null && echo top-rw || echo top-ro; touch /data/sub/x 2>/dev/null && echo sub-rw || echo sub-ro; \
                  cat /data/link >/dev/null 2>&1 && echo follows || echo no-follow";
    let case = |tag: &str, options: Value| {
        let b = Bundle::new(tag, |c| {
            args(c, script);
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/data", "type": "bind", "source": src.path(), "options": options}));
        });
        let out = b.knocker(&["run", tag]);
        assert_eq!(out.code, 0, "{out:?}");
        let runc = runc_run(&b, &format!("{tag}-runc"));
        assert_eq!(runc.code, 0, "the control: {runc:?}");
        (out.stdout, runc.stdout)
    };
    // Before: `ro` made the submount read-only too (runc: the top mount only).
    let (knocker, runc) = case("rro-ro", json!(["rbind", "ro"]));
    assert_eq!(knocker, "top-ro\nsub-rw\nfollows\n");
    assert_eq!(runc, knocker, "as runc");
    let (knocker, runc) = case("rro-rro", json!(["rbind", "rro"]));
    assert_eq!(knocker, "top-ro\nsub-ro\nfollows\n");
    assert_eq!(runc, knocker, "as runc");
    // Before: nosymfollow was refused.
    let (knocker, runc) = case("rro-nosym", json!(["rbind", "nosymfollow"]));
    assert_eq!(knocker, "top-rw\nsub-rw\nno-follow\n");
    assert_eq!(runc, knocker, "as runc");
    std::fs::remove_file(src.path().join("top")).ok();
}

#[test]
fn a_configs_dev_shm_is_mounted_as_docker_and_a_pod_give_it() {
    let _g = shared();
    let shm_line = "grep ' /dev/shm ' /proc/self/mountinfo | tail -1 | sed 's/.* - //' | cut -d' ' -f1,3 | tr ',' '\\n' | grep -E '^tmpfs|^size=' | tr '\\n' ' '; echo";
    // Docker's --shm-size=2m.
    let sized = Bundle::new("oci-shm-size", |c| {
        args(c, shm_line);
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/dev/shm");
        mounts.push(json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=2097152"]}));
    });
    // Before: the entry was dropped and /dev/shm stayed knocker's 64 MiB one.
    let out = sized.knocker(&["run", "shm-size"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "tmpfs rw size=2048k"), "{out:?}");
    let runc = runc_run(&sized, "shm-size-runc");
    assert_eq!((runc.code, runc.stdout.trim()), (0, "tmpfs rw size=2048k"), "the control: {runc:?}");
    // The default config's is knocker's own.
    let default = Bundle::new("oci-shm-default", |c| args(c, shm_line));
    let out = default.knocker(&["run", "shm-default"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "tmpfs rw size=65536k"), "{out:?}");
    // A pod's: one directory bound into each of its containers, so POSIX shared memory made in
    // one is seen in the other.
    let pod_shm = Scratch::new("oci-shm-pod");
    let member = |tag: &str, script: &str| {
        Bundle::new(tag, |c| {
            args(c, script);
            let mounts = c["mounts"].as_array_mut().unwrap();
            mounts.retain(|m| m["destination"] != "/dev/shm");
            mounts.push(json!({"destination": "/dev/shm", "type": "bind", "source": pod_shm.path(), "options": ["rbind", "rw"]}));
        })
    };
    let writer = member("oci-shm-writer", "echo shared >/dev/shm/segment");
    assert_eq!(writer.knocker(&["run", "shm-writer"]).code, 0);
    let reader = member("oci-shm-reader", "cat /dev/shm/segment");
    let out = reader.knocker(&["run", "shm-reader"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "shared\n"), "{out:?}");
    assert_eq!(std::fs::read_to_string(pod_shm.path().join("segment")).unwrap(), "shared\n");
}

#[test]
fn a_privileged_configs_read_write_sys_and_cgroups_are_read_write_as_under_runc() {
    let _g = shared();
    let script = "touch /sys/kernel/uevent_helper 2>/dev/null; grep -E ' /sys (rw|ro),' /proc/self/mountinfo | tail -1 | cut -d' ' -f6 | cut -d, -f1; \
                  d=/sys/fs/cgroup; if [ -d $d/pids ]; then d=$d/pids; fi; mkdir -p $d/probe/inner 2>/dev/null && echo cgroup-rw || echo cgroup-ro";
    let config = |rw: bool| {
        move |c: &mut Value| {
            args(c, script);
            let word = if rw { "rw" } else { "ro" };
            for m in c["mounts"].as_array_mut().unwrap() {
                if m["destination"] == "/sys" || m["destination"] == "/sys/fs/cgroup" {
                    let options: Vec<Value> = m["options"].as_array().unwrap().iter().filter(|o| *o != "ro").cloned().chain([json!(word)]).collect();
                    m["options"] = json!(options);
                }
            }
            c["linux"]["maskedPaths"] = json!([]);
            c["linux"]["readonlyPaths"] = json!([]);
            c["root"]["readonly"] = json!(false);
        }
    };
    // Before: both stayed read-only whatever the config said.
    let privileged = Bundle::new("oci-rw-sys", config(true));
    let out = privileged.knocker(&["run", "rw-sys"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "rw\ncgroup-rw\n"), "{out:?}");
    // The groups it made below its own went with it.
    assert!(knocker_cgroups().iter().all(|p| !p.to_string_lossy().contains("rw-sys")), "{:?}", knocker_cgroups());
    let runc = runc_run(&privileged, "rw-sys-runc");
    // (Whatever runc leaves of the groups the container made is removed here.)
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        for left in ["probe/inner", "probe", ""] {
            let _ = std::fs::remove_dir(h.path().join("rw-sys-runc").join(left));
        }
    }
    assert_eq!((runc.code, runc.stdout.as_str()), (0, "rw\ncgroup-rw\n"), "the control: {runc:?}");
    // The same through create and delete: the groups made below go with `delete --force`.
    let detached = Bundle::new("oci-rw-sys-detached", |c| {
        config(true)(c);
        args(c, "mkdir -p /sys/fs/cgroup/pids/probe/inner /sys/fs/cgroup/unified/probe; sleep 1000");
    });
    assert_eq!(detached.knocker(&["run", "--detach", "rw-sys-d"]).code, 0);
    let made = || Path::new("/sys/fs/cgroup/pids/knocker/rw-sys-d/probe/inner").exists();
    assert!(eventually(Duration::from_secs(5), made), "{:?}", knocker_cgroups());
    let out = detached.knocker(&["delete", "--force", "rw-sys-d"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(knocker_cgroups().iter().all(|p| !p.to_string_lossy().contains("rw-sys")), "{:?}", knocker_cgroups());
    // Control: Docker's and Kubernetes' ordinary ro ones.
    let ordinary = Bundle::new("oci-ro-sys", config(false));
    let out = ordinary.knocker(&["run", "ro-sys"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "ro\ncgroup-ro\n"), "{out:?}");
    assert!(knocker_cgroups().iter().all(|p| !p.ends_with("rw-sys") && !p.ends_with("ro-sys")), "{:?}", knocker_cgroups());
}

#[test]
fn a_systemd_cgroups_path_lands_in_its_slices_as_systemd_would_place_it() {
    let _g = shared();
    let b = Bundle::new("oci-slice", |c| {
        args(c, "sleep 1000");
        c["linux"]["cgroupsPath"] = json!("knockertest-burstable-podt1.slice:cri-containerd:t1");
    });
    let out = b.knocker(&["run", "--detach", "slice"]);
    let _gone = b.deleting(&bin("knocker"), "slice");
    assert_eq!(out.code, 0, "{out:?}");
    let expanded = "knockertest.slice/knockertest-burstable.slice/knockertest-burstable-podt1.slice/cri-containerd-t1.scope";
    // Said once, in one line (this host has no systemd to ask).
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.starts_with("knocker: warning: linux.cgroupsPath in systemd's form") && out.stderr.contains(expanded), "{out:?}");
    // Before: the container's group was `knockertest-burstable-podt1.slice/cri-containerd-t1.scope`
    // at the root of each hierarchy, outside its pod's and QoS class's slices.
    let pid = b.state("slice")["pid"].as_i64().unwrap();
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let pids_line = cgroups.lines().find(|l| l.contains(":pids:") || l.starts_with("0::")).unwrap();
    assert!(pids_line.ends_with(&format!("/{expanded}")), "{cgroups}");
    assert_eq!(b.knocker(&["delete", "--force", "slice"]).code, 0);
    // The scope goes with the container; the slices are the pod's (kubelet's), as under runc.
    let mut left = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten().map(|e| e.path()).chain([PathBuf::from("/sys/fs/cgroup")]) {
        if h.join(expanded).exists() {
            left.push(h.join(expanded));
        }
        for parent in ["knockertest.slice/knockertest-burstable.slice/knockertest-burstable-podt1.slice", "knockertest.slice/knockertest-burstable.slice", "knockertest.slice"] {
            let _ = std::fs::remove_dir(h.join(parent));
        }
    }
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn notify_socket_reaches_the_engine_from_inside() {
    let _g = shared();
    let b = Bundle::new("oci-notify", |c| args(c, "echo $NOTIFY_SOCKET; /probe notify READY=1"));
    std::fs::copy(bin("probe"), b.path().join("rootfs/probe")).unwrap();
    let sockets = Scratch::new("oci-notify-socket");
    let path = sockets.path().join("notify.sock");
    let engine = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    engine.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (o, e) = (b.path().join("notify.out"), b.path().join("notify.err"));
    let status = Command::new(bin("knocker"))
        .arg("--root")
        .arg(&b.root)
        .args(["run", "notify"])
        .current_dir(b.path())
        .env("NOTIFY_SOCKET", &path)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .status()
        .unwrap();
    let (stdout, stderr) = (std::fs::read_to_string(&o).unwrap(), std::fs::read_to_string(&e).unwrap());
    assert_eq!(status.code(), Some(0), "{stdout} {stderr}");
    // Before: the variable and the socket stayed outside, and READY=1 went nowhere.
    assert_eq!(stdout, format!("{}\nsent\n", path.display()), "{stderr}");
    let mut buf = [0u8; 64];
    let n = engine.recv(&mut buf).expect("the engine got the container's message");
    assert_eq!(&buf[..n], b"READY=1");
    // Something that is not a socket: one line, nothing made.
    let out = run(Command::new(bin("knocker")).arg("--root").arg(&b.root).args(["run", "notify2"]).current_dir(b.path()).env("NOTIFY_SOCKET", b.path().join("config.json")));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("knocker: NOTIFY_SOCKET is not a socket:") && out.stderr.lines().count() == 1, "{out:?}");
    assert!(!b.root.join("notify2").exists());
}

#[test]
fn limits_without_host_root_are_refused_where_nothing_is_delegated() {
    let _g = shared();
    // knocker as a rootless engine runs it: root of a user namespace, not of the host.
    let rootless = |b: &Bundle, id: &str| run(Command::new("unshare").args(["--user", "--map-root-user"]).arg(bin("knocker")).arg("--root").arg(&b.root).args(["run", id]).current_dir(b.path()));
    let limited = Bundle::new("oci-rootless-limits", |c| {
        args(c, "echo ran");
        c["linux"]["resources"]["memory"] = json!({"limit": 64 << 20});
        c["linux"]["resources"]["pids"] = json!({"limit": 50});
    });
    // Before: run, with neither limit anywhere.
    let out = rootless(&limited, "lim");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    let v1 = std::fs::metadata("/sys/fs/cgroup/cgroup.controllers").is_err();
    let why = if v1 { "this host has cgroup v1" } else { "the cgroup above knocker's own is not its user's" };
    assert!(out.stderr.starts_with("knocker: config.json: linux.resources: limits without host root need a cgroup v2 subtree delegated to knocker's user: ") && out.stderr.contains(why), "{out:?}");
    assert!(!out.stdout.contains("ran") && !limited.root.join("lim").exists(), "{out:?}");
    // Control: the same without limits runs.
    let unlimited = Bundle::new("oci-rootless-nolimits", |c| args(c, "echo ran"));
    let out = rootless(&unlimited, "nolim");
    assert_eq!((out.code, out.stdout.as_str()), (0, "ran\n"), "{out:?}");
}

#[test]
fn a_setup_that_fails_inside_is_the_creators_one_line_as_engines_read_it() {
    let _g = shared();
    let b = Bundle::new("oci-setup-fails", |c| {
        args(c, "true");
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/data", "type": "bind", "source": "/nonexistent-knocker-source", "options": ["rbind"]}));
    });
    let log = b.path().join("log.json");
    let out = run(Command::new(bin("knocker")).arg("--root").arg(&b.root).arg(format!("--log={}", log.display())).args(["--log-format", "json", "create", "fails"]).current_dir(b.path()));
    assert_ne!(out.code, 0, "{out:?}");
    // Before: "the container failed during its setup" is all an engine saw (the cause went to
    // the container's stderr, which nobody reads before it starts).
    let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().lines().last().unwrap()).unwrap();
    let msg = line["msg"].as_str().unwrap();
    assert!(msg.starts_with("the container's setup failed: cannot open --bind source /nonexistent-knocker-source: ENOENT"), "{msg}");
    // Without --log, the same one line on stderr, and only it.
    let out = b.knocker(&["create", "fails2"]);
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.starts_with("knocker: the container's setup failed: cannot open --bind source"), "{out:?}");
    assert!(!b.root.join("fails").exists() && !b.root.join("fails2").exists());
    assert!(knocker_cgroups().iter().all(|p| !p.to_string_lossy().contains("fails")), "{:?}", knocker_cgroups());
}

#[test]
fn cgroup2_files_by_name_are_refused_on_a_cgroup_v1_host_as_runc_refuses_them() {
    let _g = shared();
    // (On cgroup v2 they are written: the VM's oci_unified_written.)
    let v2 = std::fs::metadata("/sys/fs/cgroup/cgroup.controllers").is_ok();
    assert!(!v2, "this test is for a cgroup v1 or hybrid host; the VM checks cgroup v2");
    let b = Bundle::new("oci-unified", |c| {
        args(c, "echo ran");
        c["linux"]["resources"]["unified"] = json!({"memory.oom.group": "1"});
    });
    let out = b.knocker(&["run", "unified"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.starts_with("knocker: cannot apply linux.resources.unified: its files are cgroup v2's"), "{out:?}");
    assert!(!out.stdout.contains("ran") && !b.root.join("unified").exists(), "{out:?}");
    assert!(knocker_cgroups().iter().all(|p| !p.ends_with("unified")), "{:?}", knocker_cgroups());
    // The control: runc refuses them here too.
    let runc = runc_run(&b, "unified-runc");
    assert_ne!(runc.code, 0, "runc: {runc:?}");
}

#[test]
fn tmpcopyup_starts_a_tmpfs_with_what_it_covers_as_under_runc() {
    let _g = shared();
    let script = "cd /etc/tcu && stat -c '%n %a %u %g %F' * . sub/file | sort; cat sub/file; readlink link; \
                  grep ' /etc/tcu ' /proc/self/mountinfo | sed 's/.* - //' | cut -d' ' -f1; echo new >made && echo writable";
    let b = Bundle::new("oci-copyup", |c| {
        args(c, script);
        // podman's --tmpfs /etc/tcu.
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/etc/tcu", "type": "tmpfs", "source": "tmpfs", "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]}));
    });
    let tree = b.path().join("rootfs/etc/tcu");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/file"), "from the image\n").unwrap();
    std::os::unix::fs::symlink("sub/file", tree.join("link")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tree.join("sub"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::chown(tree.join("sub/file"), Some(1000), Some(1001)).unwrap();
    std::fs::set_permissions(tree.join("sub/file"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    // Before: the tmpfs came up empty (the option was taken and nothing done).
    let out = b.knocker(&["run", "copyup"]);
    assert_eq!(out.code, 0, "{out:?}");
    let expected = ". 755 0 0 directory\nlink 777 0 0 symbolic link\nsub 750 0 0 directory\nsub/file 4755 1000 1001 regular file\nfrom the image\nsub/file\ntmpfs\nwritable\n";
    assert_eq!(out.stdout, expected, "{out:?}");
    let runc = runc_run(&b, "copyup-runc");
    assert_eq!(runc.code, 0, "{runc:?}");
    assert_eq!(runc.stdout, out.stdout, "as runc");
    // A fifo too (runc 1.1.5 fails on one: "lchown …/fifo: no such file or directory").
    assert!(Command::new("mkfifo").arg(tree.join("fifo")).status().unwrap().success());
    let out = b.knocker(&["run", "copyup-fifo"]);
    assert_eq!((out.code, out.stdout.lines().nth(1)), (0, Some("fifo 644 0 0 fifo")), "{out:?}");
    // The image's own directory is as it was.
    assert!(!tree.join("made").exists());
    // Read-only once it holds its contents.
    let ro = Bundle::new("oci-copyup-ro", |c| {
        args(c, "cat /etc/tcu/sub/file; touch /etc/tcu/x 2>/dev/null && echo rw || echo ro");
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/etc/tcu", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "nosuid", "tmpcopyup"]}));
    });
    std::fs::create_dir_all(ro.path().join("rootfs/etc/tcu/sub")).unwrap();
    std::fs::write(ro.path().join("rootfs/etc/tcu/sub/file"), "from the image\n").unwrap();
    let out = ro.knocker(&["run", "copyup-ro"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "from the image\nro\n"), "{out:?}");
    let runc = runc_run(&ro, "copyup-ro-runc");
    assert_eq!((runc.code, runc.stdout.as_str()), (0, "from the image\nro\n"), "as runc: {runc:?}");
    // Only on a tmpfs: one line, nothing made.
    let bad = Bundle::new("oci-copyup-bad", |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/data", "type": "bind", "source": "/usr", "options": ["rbind", "tmpcopyup"]}));
    });
    let out = bad.knocker(&["run", "copyup-bad"]);
    assert!(out.code == 1 && out.stderr.lines().count() == 1 && out.stderr.contains("tmpcopyup is for tmpfs mounts only"), "{out:?}");
}

#[test]
fn block_io_throttles_are_written_and_what_the_host_lacks_is_refused() {
    let _g = shared();
    // The disk of this host's root file system, by the numbers the kernel gives it.
    let disk = std::fs::read_dir("/sys/block").unwrap().flatten().map(|e| e.path()).find(|p| p.join("device").exists()).expect("a block device with a driver");
    let numbers = std::fs::read_to_string(disk.join("dev")).unwrap();
    let (major, minor) = numbers.trim().split_once(':').unwrap();
    let (major, minor): (i64, i64) = (major.parse().unwrap(), minor.parse().unwrap());
    let b = Bundle::new("oci-blkio", |c| {
        args(c, "sleep 30");
        c["linux"]["resources"]["blockIO"] = json!({
            "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}]
        });
    });
    assert_eq!(b.knocker(&["run", "--detach", "blkio"]).code, 0);
    let _gone = b.deleting(&bin("knocker"), "blkio");
    // Before: refused ("block I/O limits are not supported").
    let group = Path::new("/sys/fs/cgroup/blkio/knocker/blkio");
    let read = std::fs::read_to_string(group.join("blkio.throttle.read_bps_device")).unwrap();
    let write = std::fs::read_to_string(group.join("blkio.throttle.write_iops_device")).unwrap();
    assert_eq!((read.trim(), write.trim()), (format!("{major}:{minor} 1048576").as_str(), format!("{major}:{minor} 100").as_str()));
    // update, as containerd's CRI sends it: the new rate read back.
    let resources = b.path().join("resources.json");
    std::fs::write(&resources, json!({"blockIO": {"throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 2097152}]}}).to_string()).unwrap();
    let out = b.knocker(&["update", "--resources", resources.to_str().unwrap(), "blkio"]);
    assert_eq!(out.code, 0, "{out:?}");
    let read = std::fs::read_to_string(group.join("blkio.throttle.read_bps_device")).unwrap();
    assert_eq!(read.trim(), format!("{major}:{minor} 2097152"));
    assert_eq!(b.knocker(&["delete", "--force", "blkio"]).code, 0);
    assert!(!group.exists());
    // A weight where the scheduler has none (no BFQ here), hugepages without the hugetlb
    // controller: one line each, nothing left.
    let weights = group.parent().unwrap().join("blkio.weight").exists() || group.parent().unwrap().join("blkio.bfq.weight").exists();
    let hugetlb = Path::new("/sys/fs/cgroup/hugetlb").exists();
    for (tag, resource, line, lacking) in [
        ("weight", json!({"blockIO": {"weight": 300}}), "cannot apply linux.resources.blockIO weights", !weights),
        ("huge", json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}), "cannot apply linux.resources.hugepageLimits: the host has no hugetlb cgroup controller", !hugetlb),
    ] {
        let b = Bundle::new(&format!("oci-blkio-{tag}"), |c| {
            args(c, "echo ran");
            for (k, v) in resource.as_object().unwrap() {
                c["linux"]["resources"][k] = v.clone();
            }
        });
        let out = b.knocker(&["run", tag]);
        if lacking {
            assert!(out.code == 1 && out.stderr.lines().count() == 1 && out.stderr.contains(line), "{tag}: {out:?}");
            assert!(knocker_cgroups().iter().all(|p| !p.ends_with(tag)), "{:?}", knocker_cgroups());
        } else {
            assert_eq!((out.code, out.stdout.as_str()), (0, "ran\n"), "{tag}: {out:?}");
        }
    }
}
