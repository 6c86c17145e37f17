//! What a container, a bundle it can write, an engine's odd input or another user on the host
//! could make knocker do (issue 20): read hooks from a bundle changed after create, sweep a
//! group that is someone else's, lose a container to a large or damaged state, act on a pid
//! through a crafted NAME, hang on a FIFO. Each with its control: the same input where it is
//! legitimate, shown to have the effect the attack wanted.

use knocker_tests::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn edit_config(b: &Bundle, edit: impl FnOnce(&mut Value)) {
    let path = b.path().join("config.json");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut c);
    std::fs::write(&path, c.to_string()).unwrap();
}

fn touch_hook(marker: &Path) -> Value {
    json!([{"path": "/usr/bin/touch", "args": ["touch", marker]}])
}

#[test]
fn hooks_come_from_the_config_kept_at_create_never_from_the_bundle_again() {
    let _g = shared();
    let marks = Scratch::new("hook-marks");
    // Control: hooks the config had at create run at start and delete.
    let b = Bundle::new("hooks-kept", |c| {
        c["process"]["args"] = json!(["sleep", "30"]);
        c["hooks"] = json!({"poststart": touch_hook(&marks.path().join("kept-poststart")), "poststop": touch_hook(&marks.path().join("kept-poststop"))});
    });
    assert_eq!(b.knocker(&["create", "kept"]).code, 0);
    let _gone = b.deleting(&bin("knocker"), "kept");
    assert_eq!(b.knocker(&["start", "kept"]).code, 0);
    assert_eq!(b.knocker(&["delete", "--force", "kept"]).code, 0);
    assert!(marks.path().join("kept-poststart").exists() && marks.path().join("kept-poststop").exists(), "the control's hooks did not run");

    // The attack: a container that can write its bundle adds host-root hooks after create.
    let b = Bundle::new("hooks-planted", |c| c["process"]["args"] = json!(["sleep", "30"]));
    assert_eq!(b.knocker(&["create", "planted"]).code, 0);
    let _gone = b.deleting(&bin("knocker"), "planted");
    edit_config(&b, |c| c["hooks"] = json!({"poststart": touch_hook(&marks.path().join("planted-poststart")), "poststop": touch_hook(&marks.path().join("planted-poststop"))}));
    assert_eq!(b.knocker(&["start", "planted"]).code, 0);
    assert_eq!(b.knocker(&["delete", "--force", "planted"]).code, 0);
    assert!(!marks.path().join("planted-poststart").exists(), "start ran a hook planted in the bundle");
    assert!(!marks.path().join("planted-poststop").exists(), "delete ran a hook planted in the bundle");
}

/// A host process in a group of the test's own under knocker/, in every hierarchy.
struct Occupied {
    dirs: Vec<std::path::PathBuf>,
    sleeper: Running,
}

impl Occupied {
    fn new(group: &str) -> Occupied {
        let sleeper = Running::spawn(Command::new("sleep").arg("30"));
        let mut dirs = Vec::new();
        for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten().map(|e| e.path()).chain([std::path::PathBuf::from("/sys/fs/cgroup")]) {
            let dir = h.join("knocker").join(group);
            if h.join("knocker").is_dir() && std::fs::create_dir(&dir).is_ok() {
                let procs = dir.join("cgroup.procs");
                let _ = std::fs::write(&procs, sleeper.pid().to_string());
                dirs.push(dir);
            }
        }
        assert!(!dirs.is_empty(), "no knocker parent group to make {group} in");
        Occupied { dirs, sleeper }
    }

    fn alive(&self) -> bool {
        Path::new(&format!("/proc/{}", self.sleeper.pid())).exists()
    }
}

impl Drop for Occupied {
    fn drop(&mut self) {
        self.sleeper.signal(libc::SIGKILL);
        let _ = self.sleeper.wait(Duration::from_secs(5));
        for d in &self.dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}

#[test]
fn a_group_with_processes_is_refused_never_swept() {
    let _g = shared();
    let group = format!("busy-{}", std::process::id());
    let busy = Occupied::new(&group);
    // An OCI config naming that group: refused in one line, its process untouched.
    let b = Bundle::new("cg-busy", |c| {
        c["process"]["args"] = json!(["true"]);
        c["linux"]["cgroupsPath"] = json!(format!("knocker/{group}"));
    });
    let out = b.knocker(&["run", "busy"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("knocker: a cgroup of this path exists and has processes in it:"), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(busy.alive(), "the group's process was killed");
    // A launcher whose --name is that group's: refused likewise.
    let out = run(launcher(&["--name", &group], &rootfs()).arg("true"));
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("exists and has processes in it"), "{out:?}");
    assert!(busy.alive(), "the group's process was killed by a launcher");
    drop(busy);
    // Control: the same path, empty (a failed create's leftover), is simply used.
    let mut leftover = Occupied::new(&group);
    leftover.sleeper.signal(libc::SIGKILL);
    assert!(leftover.sleeper.wait(Duration::from_secs(5)).is_some());
    let out = b.knocker(&["run", "busy"]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn a_launcher_named_as_a_running_oci_container_leaves_it_alone() {
    let _g = shared();
    let id = format!("oci-named-{}", std::process::id());
    let b = Bundle::new("cg-oci-name", |c| c["process"]["args"] = json!(["sleep", "30"]));
    assert_eq!(b.knocker(&["run", "--detach", &id]).code, 0);
    let _gone = b.deleting(&bin("knocker"), &id);
    let out = run(launcher(&["--name", &id], &rootfs()).arg("true"));
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("exists and has processes in it"), "{out:?}");
    assert!(!out.stderr.contains("launcher died"), "{out:?}");
    assert_eq!(b.state(&id)["status"], "running");
}

#[test]
fn annotations_of_any_size_are_kept_whole() {
    let _g = shared();
    for size in [5 << 10, 256 << 10] {
        let big = "a".repeat(size);
        let b = Bundle::new("annotations", |c| {
            c["process"]["args"] = json!(["sleep", "30"]);
            c["annotations"] = json!({"io.kubernetes.big": big, "other": "x"});
        });
        let id = format!("ann-{size}");
        let out = b.knocker(&["run", "--detach", &id]);
        let _gone = b.deleting(&bin("knocker"), &id);
        assert_eq!(out.code, 0, "{out:?}");
        let st = b.state(&id);
        assert_eq!(st["annotations"]["io.kubernetes.big"].as_str().map(str::len), Some(size));
        assert_eq!(st["annotations"]["other"], "x");
        let listed: Value = serde_json::from_str(&b.knocker(&["list", "--format", "json"]).stdout).unwrap();
        assert_eq!(listed[0]["annotations"]["other"], "x");
        assert_eq!(b.knocker(&["kill", &id, "KILL"]).code, 0);
        assert!(eventually(Duration::from_secs(5), || b.state(&id)["status"] == "stopped"));
        assert_eq!(b.knocker(&["delete", &id]).code, 0);
        assert!(knocker_cgroups().iter().all(|p| !p.ends_with(&id)), "{:?}", knocker_cgroups());
    }
}

#[test]
fn delete_force_of_a_damaged_state_ends_the_container_and_removes_everything() {
    let _g = shared();
    let id = format!("damaged-{}", std::process::id());
    let b = Bundle::new("damaged", |c| c["process"]["args"] = json!(["sleep", "30"]));
    assert_eq!(b.knocker(&["run", "--detach", &id]).code, 0);
    let _gone = b.deleting(&bin("knocker"), &id);
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    std::fs::write(b.root.join(&id).join("state.json"), "{\"knocker\": tru").unwrap();
    // Control: without --force, the damage is said and nothing changes.
    let out = b.knocker(&["delete", &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("a damaged state file"), "{out:?}");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    let out = b.knocker(&["delete", "--force", &id]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(eventually(Duration::from_secs(5), || !Path::new(&format!("/proc/{pid}")).exists()), "PID 1 outlived delete --force");
    assert!(knocker_cgroups().iter().all(|p| !p.ends_with(&id)), "{:?}", knocker_cgroups());
    assert!(!b.root.join(&id).exists(), "the state directory is left");
}

#[test]
fn a_name_that_is_a_path_is_refused_before_any_entry_is_read() {
    let _g = shared();
    // Another user could write a well-formed entry anywhere they may write, naming a pid of
    // their choice: here a host process of the test's, with its real start time.
    let victim = Running::spawn(Command::new("sleep").arg("30"));
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", victim.pid())).unwrap();
    let start = stat.rsplit(')').next().unwrap().split_whitespace().nth(19).unwrap().to_string();
    let entry = format!("pid {}\nstart {start}\n", victim.pid());
    let fake = Scratch::new("fake-entry");
    std::fs::write(fake.path().join("evil.entry"), &entry).unwrap();
    let relative = format!("../../..{}/evil", fake.path().display());
    for verb in [&["kill", relative.as_str()][..], &["stop", relative.as_str()], &["exec", relative.as_str(), "true"]] {
        let out = run(Command::new(bin("launcher")).args(verb));
        assert_eq!(out.code, 125, "{verb:?}: {out:?}");
        assert!(out.stderr.starts_with("launcher: bad NAME"), "{verb:?}: {out:?}");
    }
    assert!(Path::new(&format!("/proc/{}", victim.pid())).exists(), "the launcher acted on a crafted entry");
    // Control: the same entry under a real name is believed (it is root's directory).
    let name = format!("control-entry-{}", std::process::id());
    let real = format!("/run/knocker/@launcher/{name}.entry");
    std::fs::create_dir_all("/run/knocker/@launcher").unwrap();
    std::fs::write(&real, &entry).unwrap();
    let out = run(Command::new(bin("launcher")).args(["kill", &name, "9"]));
    let _ = std::fs::remove_file(&real);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(eventually(Duration::from_secs(5), || std::fs::read_to_string(format!("/proc/{}/stat", victim.pid())).map_or(true, |s| s.contains(") Z"))));
}

#[test]
fn user_names_in_a_fifo_passwd_are_refused_not_waited_for() {
    let _g = shared();
    let copy = Scratch::rootfs_copy("fifo-passwd");
    // Control: a regular passwd resolves the name.
    std::fs::write(copy.path().join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nbob:x:1234:1234::/home/bob:/bin/sh\n").unwrap();
    let out = run(launcher(&["--user", "bob"], copy.path()).args(["id", "-u"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "1234\n"), "{out:?}");
    std::fs::remove_file(copy.path().join("etc/passwd")).unwrap();
    let status = Command::new("mkfifo").arg(copy.path().join("etc/passwd")).status().unwrap();
    assert!(status.success());
    let out = run_for(launcher(&["--user", "bob"], copy.path()).args(["id", "-u"]), Duration::from_secs(10));
    assert_eq!(out.code, 125, "{out:?}");
    assert_eq!(out.stderr, "launcher: the container's file is not a regular file: /etc/passwd\n");
}

#[test]
fn pid_1_holds_no_host_cgroup_file_while_it_waits_to_start() {
    let _g = shared();
    let id = format!("fds-{}", std::process::id());
    let b = Bundle::new("pid1-fds", |c| c["process"]["args"] = json!(["true"]));
    assert_eq!(b.knocker(&["create", &id]).code, 0);
    let _gone = b.deleting(&bin("knocker"), &id);
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    let links: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten().filter_map(|e| std::fs::read_link(e.path()).ok()).map(|l| l.display().to_string()).collect();
    assert!(!links.is_empty(), "PID 1 has no descriptors at all?");
    assert!(links.iter().all(|l| !l.starts_with("/sys/fs/cgroup")), "PID 1 holds host cgroup files: {links:?}");
}

/// A hook script at `path`, writing WHO and its seccomp state to DIR/$1.
fn hook_script(path: &Path, who: &str, dir: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{{ echo {who}; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; }} > {dir}/$1\n")).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

#[test]
fn create_container_hooks_are_the_hosts_programs_and_start_container_hooks_run_filtered() {
    let _g = shared();
    let marks = Scratch::new("hook-paths");
    let hook = marks.path().join("bin/hook");
    hook_script(&hook, "host", &marks.path().display().to_string());
    let b = Bundle::new("hook-paths", |c| {
        c["process"]["args"] = json!(["true"]);
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/out", "type": "bind", "source": marks.path(), "options": ["rbind", "rw"]}));
        let h = |point: &str| json!([{"path": hook, "args": ["hook", point]}]);
        c["hooks"] = json!({"createContainer": h("create"), "startContainer": h("start")});
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["syslog"], "action": "SCMP_ACT_ERRNO"}]});
    });
    // The image ships its own program at the same path.
    hook_script(&b.path().join("rootfs").join(hook.strip_prefix("/").unwrap()), "image", "/out");
    let out = b.knocker(&["run", "paths"]);
    assert_eq!(out.code, 0, "{out:?}");
    let create = std::fs::read_to_string(marks.path().join("create")).unwrap_or_default();
    let start = std::fs::read_to_string(marks.path().join("start")).unwrap_or_default();
    // createContainer: the path is the host's (runtime-spec's "runtime namespace", as runc).
    assert!(create.starts_with("host\n"), "createContainer ran the image's program: {create:?}");
    // Control: startContainer's path is the container's, so there the image's program runs —
    // and under the container's seccomp filter and no_new_privs, as runc runs it.
    assert!(start.starts_with("image\n"), "{start:?}");
    assert!(start.contains("NoNewPrivs:\t1") && start.contains("Seccomp:\t2"), "startContainer ran unconfined: {start:?}");
}

#[test]
fn delete_leaves_a_group_another_container_took_over_alone() {
    let _g = shared();
    let id = format!("reused-{}", std::process::id());
    let b = Bundle::new("reused", |c| c["process"]["args"] = json!(["true"]));
    // Control: a stopped container's group goes with its delete.
    assert_eq!(b.knocker(&["run", "--detach", &format!("{id}-c")]).code, 0);
    assert!(eventually(Duration::from_secs(5), || b.state(&format!("{id}-c"))["status"] == "stopped"));
    assert!(knocker_cgroups().iter().any(|p| p.ends_with(format!("{id}-c"))));
    assert_eq!(b.knocker(&["delete", &format!("{id}-c")]).code, 0);
    assert!(knocker_cgroups().iter().all(|p| !p.ends_with(format!("{id}-c"))), "{:?}", knocker_cgroups());
    // A stopped container's empty group, taken over by a launcher of that name.
    assert_eq!(b.knocker(&["run", "--detach", &id]).code, 0);
    let _gone = b.deleting(&bin("knocker"), &id);
    assert!(eventually(Duration::from_secs(5), || b.state(&id)["status"] == "stopped"));
    let mut c = Running::spawn(launcher(&["--name", &id], &rootfs()).args(["sleep", "20"]));
    assert!(eventually(Duration::from_secs(5), || run(Command::new(bin("launcher")).arg("ps")).stdout.contains(&id)));
    assert_eq!(b.knocker(&["delete", &id]).code, 0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(c.0.try_wait().unwrap().is_none(), "delete killed the launcher's container");
    c.signal(libc::SIGTERM);
    assert!(c.wait(Duration::from_secs(15)).is_some());
}

#[test]
fn mounts_under_proc_are_refused_but_lxcfs_files() {
    let _g = shared();
    for dst in ["/proc/self/attr", "/proc/1/task/1/attr", "/proc/./self/attr/"] {
        let b = Bundle::new("proc-mounts", |c| {
            c["process"]["args"] = json!(["true"]);
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": dst, "type": "tmpfs", "source": "tmpfs"}));
        });
        let out = b.knocker(&["run", "procmount"]);
        assert_eq!(out.code, 1, "{dst}: {out:?}");
        assert!(out.stderr.starts_with("knocker: config.json: mounts[].destination: under /proc, only lxcfs's files may be mounted:"), "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1);
    }
    // Control: what lxcfs mounts is allowed.
    let fake = Scratch::new("proc-meminfo");
    std::fs::write(fake.path().join("meminfo"), "MemTotal: 1 kB\n").unwrap();
    let b = Bundle::new("proc-mounts", |c| {
        c["process"]["args"] = json!(["cat", "/proc/meminfo"]);
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/proc/meminfo", "type": "bind", "source": fake.path().join("meminfo"), "options": ["bind", "ro"]}));
    });
    let out = b.knocker(&["run", "meminfo"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "MemTotal: 1 kB\n"), "{out:?}");
}

#[test]
fn a_pid_file_symlink_is_replaced_never_followed() {
    let _g = shared();
    let dir = Scratch::new("pidfile");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "secret\n").unwrap();
    let link = dir.path().join("pid");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let b = Bundle::new("pidfile", |c| c["process"]["args"] = json!(["sleep", "5"]));
    let id = format!("pidfile-{}", std::process::id());
    let out = b.knocker(&["run", "--detach", "--pid-file", link.to_str().unwrap(), &id]);
    let _gone = b.deleting(&bin("knocker"), &id);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n", "the pid file went through the link");
    assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&link).unwrap(), b.state(&id)["pid"].to_string());
}

#[test]
fn preserve_fds_past_what_is_open_is_refused() {
    let _g = shared();
    let b = Bundle::new("preserve-none", |c| c["process"]["args"] = json!(["true"]));
    let out = b.knocker(&["run", "--preserve-fds", "5", "nofds"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("knocker: --preserve-fds: descriptor 3 (it is not open"), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1);
}
