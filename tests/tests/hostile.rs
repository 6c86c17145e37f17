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
