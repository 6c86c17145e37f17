//! Joining a running container safely (issue 20): what an image or container root could do to
//! the host through `knocker exec` and `launcher exec`, each attack shown working against the
//! unprotected control build (target/knocker/control: no sealed copy, dumpable while joining)
//! and failing against the real binaries; and an exec that gets exactly the container's own
//! confinement, as runc gives it.

use knocker_tests::*;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The unprotected build of `name`, for the controls.
fn control(name: &str) -> PathBuf {
    let path = bin("control").join(name);
    assert!(path.exists(), "{} is missing: `cargo xtask test` builds the controls", path.display());
    path
}

/// A copy of the runtime binary in a scratch directory: the file an attack may overwrite (the
/// real build is never put at risk).
fn runtime_copy(from: &Path, scratch: &Scratch) -> PathBuf {
    let to = scratch.path().join("knocker");
    std::fs::copy(from, &to).unwrap();
    to
}

/// An image whose `/bin/evil` runs `/proc/self/exe` — whatever executable exec'd it — as its
/// interpreter, as in CVE-2019-5736; `update … -r -` makes a knocker binary read its stdin,
/// so it stays running while the test holds that stdin open.
fn hostile_bundle(tag: &str, out: &Scratch) -> Bundle {
    let b = Bundle::new(tag, |c| {
        c["process"]["args"] = json!(["/probe", "steal-exe", "40", "knocker"]);
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/out", "type": "bind", "source": out.path(), "options": ["rbind", "rw"]}));
    });
    let rootfs = b.path().join("rootfs");
    std::fs::copy(bin("probe"), rootfs.join("probe")).unwrap();
    std::fs::write(rootfs.join("bin/evil"), "#!/proc/self/exe update\n").unwrap();
    std::fs::set_permissions(rootfs.join("bin/evil"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    b
}

/// `RUNTIME --root … run -d ID` with PID 1's output in `out/pid1`, then `RUNTIME exec ID
/// /bin/evil` three times, each held for half a second; then waits for PID 1's verdict.
fn cve_2019_5736(runtime: &Path, tag: &str) -> (String, bool) {
    let out = Scratch::new(&format!("{tag}-out"));
    let b = hostile_bundle(tag, &out);
    let copy_dir = Scratch::new(&format!("{tag}-bin"));
    let copy = runtime_copy(runtime, &copy_dir);
    let before = std::fs::read(&copy).unwrap();
    let id = tag;
    // PID 1 writes its findings to /out: the bundle's own output files are reused per verb.
    let config = b.path().join("config.json");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    c["process"]["args"] = json!(["sh", "-c", "exec /probe steal-exe 40 knocker > /out/pid1"]);
    std::fs::write(&config, c.to_string()).unwrap();
    let started = b.with(&copy, &["run", "--detach", id]);
    let _gone = b.deleting(&bin("knocker"), id);
    assert_eq!(started.code, 0, "{started:?}");
    for _ in 0..3 {
        let mut exec = Command::new(&copy);
        exec.arg("--root").arg(&b.root).args(["exec", id, "/bin/evil", "-r", "-"]);
        let mut child = exec.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"{}");
        drop(stdin);
        assert!(wait_for(&mut child, Duration::from_secs(10)).is_some(), "exec did not end");
        if std::fs::read_to_string(out.path().join("pid1")).unwrap_or_default().contains("overwrote") {
            break;
        }
    }
    // Nothing runs the copy now: an attacker holding it overwrites it within milliseconds.
    std::thread::sleep(Duration::from_millis(300));
    let _ = b.knocker(&["kill", id, "KILL"]);
    assert!(eventually(Duration::from_secs(5), || b.state(id)["status"] == "stopped"));
    assert_eq!(b.knocker(&["delete", id]).code, 0);
    let verdict = std::fs::read_to_string(out.path().join("pid1")).unwrap_or_default();
    eprintln!("{tag}: {}", verdict.trim().replace('\n', "; "));
    (verdict, std::fs::read(&copy).unwrap() != before)
}

#[test]
fn cve_2019_5736_through_exec_overwrites_the_unprotected_copy_and_not_knocker() {
    let _g = shared();
    // Control: the same image against the build without the protection.
    let (verdict, changed) = cve_2019_5736(&control("knocker"), "cve-control");
    assert!(verdict.contains("overwrote"), "the attack should work on the unprotected control: {verdict}");
    assert!(changed, "the control's binary should have been overwritten: {verdict}");
    // knocker itself: the exec'd process runs from a sealed memfd, which cannot be written.
    let (verdict, changed) = cve_2019_5736(&bin("knocker"), "cve-knocker");
    assert!(!changed, "the host's knocker was overwritten from inside: {verdict}");
    assert!(!verdict.contains("overwrote"), "{verdict}");
    assert!(verdict.contains("opened /memfd:knocker"), "the probe should have seen the sealed copy: {verdict}");
    assert!(verdict.contains("write refused"), "the probe should have tried to write it: {verdict}");
}

/// `knocker exec` 20 times while PID 1 (the probe) steps every new process and tries to open
/// its memory for writing while it is still knocker's code.
fn catch_the_joiner(runtime: &Path, tag: &str) -> String {
    let out = Scratch::new(&format!("{tag}-out"));
    let b = Bundle::new(tag, |c| {
        c["process"]["args"] = json!(["sh", "-c", "exec /probe catch-joiner 30 > /out/pid1"]);
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/out", "type": "bind", "source": out.path(), "options": ["rbind", "rw"]}));
    });
    std::fs::copy(bin("probe"), b.path().join("rootfs/probe")).unwrap();
    let started = b.with(runtime, &["run", "--detach", tag]);
    let _gone = b.deleting(&bin("knocker"), tag);
    assert_eq!(started.code, 0, "{started:?}");
    for _ in 0..20 {
        let _ = b.with(runtime, &["exec", tag, "sleep", "0.1"]);
        if std::fs::read_to_string(out.path().join("pid1")).unwrap_or_default().lines().any(|l| l.starts_with("caught")) {
            break;
        }
    }
    let _ = b.knocker(&["kill", tag, "KILL"]);
    assert!(eventually(Duration::from_secs(5), || b.state(tag)["status"] == "stopped"));
    assert_eq!(b.knocker(&["delete", tag]).code, 0);
    let verdict = std::fs::read_to_string(out.path().join("pid1")).unwrap_or_default();
    eprintln!("{tag}: {}", verdict.trim().replace('\n', "; "));
    verdict
}

#[test]
fn a_joining_process_cannot_be_written_to_from_inside_before_it_execs() {
    // Alone: the probe must get the CPU while each joiner runs.
    let _g = exclusive();
    // (The probe ends with `not caught N` when it caught none: look at whole lines.)
    let caught = |verdict: &str| verdict.lines().any(|l| l.starts_with("caught"));
    // The control's window is a race the probe usually wins within one container's 20 execs;
    // up to three containers before it counts as not shown.
    let mut verdict = String::new();
    for attempt in 0..3 {
        verdict = catch_the_joiner(&control("knocker"), &format!("joiner-control-{attempt}"));
        if caught(&verdict) {
            break;
        }
    }
    assert!(caught(&verdict), "the control's joiner should be open to container root: {verdict}");
    let verdict = catch_the_joiner(&bin("knocker"), "joiner-knocker");
    assert!(!caught(&verdict), "knocker's joiner was writable from inside: {verdict}");
    // Not by missing them: the probe stepped many of the joiners, more than once each, before
    // their exec (one stop means it first saw the process after it).
    let stepped = |l: &&str| l.starts_with("watched ") && l.rsplit(": ").next().and_then(|n| n.split(' ').next()?.parse::<u64>().ok()).is_some_and(|n| n > 1);
    let watched = verdict.lines().filter(stepped).count();
    assert!(watched >= 5, "the probe stepped only {watched} of 20 joiners: {verdict}");
}

/// A container given CAP_SYS_PTRACE (not a default): container root may trace its own
/// processes. What it finds of a joiner must be no more than the container: its
/// capabilities, under its filter. The control confines the joiner only after the fork into
/// the container, as knocker did before (and runc 1.1.5 does).
fn ptrace_bundle(tag: &str, out: &Scratch, needle: &str) -> Bundle {
    let b = Bundle::new(tag, |c| {
        c["process"]["args"] = json!(["sh", "-c", format!("exec /probe catch-joiner 30 {needle} > /out/pid1")]);
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/out", "type": "bind", "source": out.path(), "options": ["rbind", "rw"]}));
        let caps = json!(["CAP_SYS_PTRACE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
        c["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps});
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["syslog"], "action": "SCMP_ACT_ERRNO"}]});
        c["linux"]["cgroupsPath"] = json!(format!("knocker/{tag}"));
    });
    std::fs::copy(bin("probe"), b.path().join("rootfs/probe")).unwrap();
    b
}

fn trace_joiners(runtime: &Path, tag: &str, needle: &str) -> String {
    let out = Scratch::new(&format!("{tag}-out"));
    let b = ptrace_bundle(tag, &out, needle);
    let started = b.with(runtime, &["run", "--detach", tag]);
    let _gone = b.deleting(runtime, tag);
    assert_eq!(started.code, 0, "{started:?}");
    for _ in 0..10 {
        let _ = b.with(runtime, &["exec", tag, "sleep", "0.1"]);
        if std::fs::read_to_string(out.path().join("pid1")).unwrap_or_default().contains("caught") {
            break;
        }
    }
    let verdict = std::fs::read_to_string(out.path().join("pid1")).unwrap_or_default();
    eprintln!("{tag}: {}", verdict.trim().replace('\n', "; "));
    verdict
}

#[test]
fn a_container_that_may_ptrace_finds_its_joiners_no_more_privileged_than_itself() {
    let _g = exclusive();
    // Control: a joiner confined after the fork is caught with more than the container has.
    // The probe stops at its first catch, which may come just after the confinement: the
    // control gets three runs to show the window.
    let more = |l: &&str| l.starts_with("caught") && (!l.contains("CapEff:\t0000000000080420") || l.contains("Seccomp:\t0"));
    let mut verdicts = Vec::new();
    for run in 0..3 {
        let verdict = trace_joiners(&control("knocker"), &format!("ptrace-control{run}"), "knocker");
        let shown = verdict.lines().any(|l| more(&l));
        verdicts.push(verdict);
        if shown {
            break;
        }
    }
    assert!(verdicts.iter().any(|v| v.lines().any(|l| more(&l))), "the control's joiner should be caught with more than the container: {verdicts:?}");
    // knocker's: the container's three capabilities, and its filter, from the first look.
    let verdict = trace_joiners(&bin("knocker"), "ptrace-knocker", "knocker");
    for line in verdict.lines().filter(|l| l.starts_with("caught")) {
        assert!(line.contains("CapEff:\t0000000000080420") && line.contains("Seccomp:\t2"), "knocker's joiner was more than the container: {line}");
    }
    assert!(verdict.lines().any(|l| l.starts_with("caught")) || verdict.lines().filter(|l| l.starts_with("watched ")).count() >= 3, "the probe saw no joiner: {verdict}");
}

#[test]
fn launcher_exec_runs_from_a_sealed_copy() {
    let _g = shared();
    let name = format!("sealed-{}", std::process::id());
    let mut c = Running::spawn(launcher(&["--name", &name], &rootfs()).args(["sleep", "20"]));
    assert!(eventually(Duration::from_secs(5), || run(Command::new(bin("launcher")).arg("ps")).stdout.contains(&name)));
    let mut exec = Running::spawn(Command::new(bin("launcher")).args(["exec", &name, "sleep", "3"]).stdout(Stdio::null()));
    // The exec's own process, and its helper inside the container's namespaces, are the copy.
    let exe = format!("/proc/{}/exe", exec.pid());
    assert!(eventually(Duration::from_secs(2), || std::fs::read_link(&exe).is_ok_and(|l| l.to_string_lossy().starts_with("/memfd:launcher"))), "{:?}", std::fs::read_link(&exe));
    exec.signal(libc::SIGKILL);
    let _ = exec.wait(Duration::from_secs(5));
    c.signal(libc::SIGTERM);
    assert!(c.wait(Duration::from_secs(15)).is_some());
}

/// `cat /proc/self/status` fields of a process, by name.
fn status_fields(status: &str, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| status.lines().find(|l| l.starts_with(&format!("{n}:"))).unwrap_or("").split_whitespace().skip(1).collect::<Vec<_>>().join(" ")).collect()
}

const FIELDS: [&str; 8] = ["Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "NoNewPrivs"];

/// A bundle whose process is an unprivileged user with few capabilities, no_new_privs and an
/// open-files limit: what an exec without --process must start from.
fn confined_bundle(tag: &str) -> Bundle {
    Bundle::new(tag, |c| {
        c["process"]["args"] = json!(["sleep", "30"]);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [5]});
        c["process"]["noNewPrivileges"] = json!(true);
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]);
        c["process"]["oomScoreAdj"] = json!(500);
        let caps = json!(["CAP_KILL", "CAP_NET_BIND_SERVICE"]);
        c["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps});
    })
}

fn exec_status(b: &Bundle, runtime: &Path, id: &str, extra: &[&str]) -> (Vec<String>, String) {
    let mut words = vec!["exec"];
    words.extend_from_slice(extra);
    words.extend_from_slice(&[id, "sh", "-c", "cat /proc/self/status; ulimit -n; ulimit -Hn"]);
    let out = b.with(runtime, &words);
    assert_eq!(out.code, 0, "{runtime:?}: {out:?}");
    let limits: Vec<&str> = out.stdout.lines().rev().take(2).collect();
    (status_fields(&out.stdout, &FIELDS), format!("{} {}", limits[1], limits[0]))
}

#[test]
fn exec_without_process_starts_from_the_containers_own_process_as_runc_does() {
    let _g = shared();
    let b = confined_bundle("exec-confined");
    let started = b.knocker(&["run", "--detach", "confined"]);
    let _gone = b.deleting(&bin("knocker"), "confined");
    assert_eq!(started.code, 0, "{started:?}");
    let pid1 = std::fs::read_to_string(format!("/proc/{}/status", b.state("confined")["pid"])).unwrap();
    let pid1 = status_fields(&pid1, &FIELDS);
    let (ours, limits) = exec_status(&b, &bin("knocker"), "confined", &[]);
    // runc on the same bundle, as the reference.
    let r = Bundle { dir: Scratch::new("exec-confined-runc"), root: b.path().join("runc-state"), runtime: "runc".into() };
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(b.path().join("config.json")).unwrap()).unwrap();
    config["root"]["path"] = json!(b.path().join("rootfs"));
    config["linux"]["cgroupsPath"] = json!("knocker/confined-runc");
    std::fs::write(r.path().join("config.json"), config.to_string()).unwrap();
    let bundle = r.path().to_str().unwrap();
    let started = r.with(Path::new("runc"), &["run", "--detach", "--bundle", bundle, "confined-runc"]);
    let _runc_gone = r.deleting(Path::new("runc"), "confined-runc");
    assert_eq!(started.code, 0, "{started:?}");
    let (runcs, runc_limits) = exec_status(&r, Path::new("runc"), "confined-runc", &[]);
    assert_eq!(ours, pid1, "the exec'd process should be confined as PID 1 is");
    assert_eq!(ours, runcs, "knocker's exec should match runc's");
    assert_eq!(limits, "123 456");
    // runc 1.1.5 keeps only the hard limit: Go 1.19 raises its own soft RLIMIT_NOFILE at start
    // and 1.1.5's exec inherits that (fixed in runc 1.1.7); the config's soft limit is 123.
    assert_eq!(runc_limits.split(' ').nth(1), Some("456"), "{runc_limits}");
    assert_eq!(ours[0], "1000 1000 1000 1000", "{ours:?}");
    assert_eq!(ours[7], "1", "{ours:?}");
    // The options change it as runc's do: another user, a capability, another variable.
    let (changed, _) = exec_status(&b, &bin("knocker"), "confined", &["--user", "0:0", "--cap", "CAP_CHOWN"]);
    assert_eq!(changed[0], "0 0 0 0");
    // CAP_CHOWN (bit 0) added to CAP_KILL (5) and CAP_NET_BIND_SERVICE (10).
    assert_eq!((changed[5].as_str(), changed[6].as_str()), ("0000000000000421", "0000000000000421"), "{changed:?}");
    let oom = b.knocker(&["exec", "confined", "cat", "/proc/self/oom_score_adj"]);
    assert_eq!(oom.stdout, "500\n", "exec's OOM score should be the container's: {oom:?}");
    let refused = b.knocker(&["exec", "--cap", "chown", "confined", "true"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.starts_with("knocker: unknown capability"), "{refused:?}");
}
