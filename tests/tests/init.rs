//! The init (issue 3): tini's command line, reaping, signal forwarding, exit codes, the end of
//! the run, /proc — with real processes. This machine's own PID 1 does not reap orphans, so
//! tests that make orphans put a reaper above them (`unshare -pf`, or the init with -s).

use knocker_tests::*;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn init() -> Command {
    Command::new(bin("init"))
}

/// The init as PID 1 of a new PID namespace with a fresh /proc.
fn as_pid1() -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-pf", "--mount-proc"]).arg(bin("init"));
    cmd
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a pid we started.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0, "kill");
}

#[test]
fn exit_codes_pass_through() {
    let _g = shared();
    for code in [0, 1, 42, 255] {
        let out = run(as_pid1().args(["--", "sh", "-c", &format!("exit {code}")]));
        assert_eq!(out.code, code, "{out:?}");
        let out = run(init().args(["-s", "sh", "-c", &format!("exit {code}")]));
        assert_eq!(out.code, code, "{out:?}");
    }
}

#[test]
fn a_killed_child_gives_128_plus_the_signal() {
    let _g = shared();
    assert_eq!(run(as_pid1().args(["--", "sh", "-c", "kill -KILL $$"])).code, 137);
    assert_eq!(run(as_pid1().args(["--", "sh", "-c", "kill -TERM $$"])).code, 143);
}

#[test]
fn exit_codes_are_remapped_with_e() {
    let _g = shared();
    assert_eq!(run(init().args(["-s", "-e", "3", "--", "sh", "-c", "exit 3"])).code, 0);
    assert_eq!(run(init().args(["-s", "-e", "143", "-e3", "--", "sh", "-c", "kill -TERM $$"])).code, 0);
    assert_eq!(run(init().args(["-s", "-e", "3", "--", "sh", "-c", "exit 4"])).code, 4);
}

/// Starts `init -s [extra] -- sh -c script` and waits until the script created `ready`.
fn start_supervised(extra: &[&str], script: &str, dir: &Path) -> std::process::Child {
    let mut child = init();
    child
        .args(["-s"])
        .args(extra)
        .args(["--", "sh", "-c", script])
        .current_dir(dir)
        .stdin(Stdio::null());
    // A shell cannot trap a signal ignored when it started (POSIX), and a CI runner may start
    // the tests with SIGINT ignored: the script starts with the defaults whoever runs the test.
    // SAFETY: signal(2) between fork and exec, async-signal-safe.
    unsafe {
        child.pre_exec(|| {
            for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGHUP, libc::SIGTERM, libc::SIGUSR1, libc::SIGUSR2] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    let mut child = child
        .spawn()
        .unwrap();
    let ready = dir.join("ready");
    if !eventually(Duration::from_secs(10), || ready.exists()) {
        let _ = child.kill();
        panic!("the script never got ready");
    }
    child
}

#[test]
fn signals_sent_to_init_reach_the_child() {
    let _g = shared();
    for (sig, name) in [(libc::SIGTERM, "TERM"), (libc::SIGINT, "INT"), (libc::SIGHUP, "HUP"), (libc::SIGUSR1, "USR1"), (libc::SIGUSR2, "USR2")] {
        let dir = Scratch::new("sig");
        let script = format!("trap 'echo {name} > got; exit 0' {name}; touch ready; while :; do sleep 0.02; done");
        let mut child = start_supervised(&[], &script, dir.path());
        // dash can miss a trapped signal that lands in the instant it forks `sleep` (its own
        // race, seen under load): the signal is sent again each second until the child acts.
        let mut status = None;
        for _ in 0..10 {
            signal(child.id(), sig);
            status = wait_for(&mut child, Duration::from_secs(1));
            if status.is_some() {
                break;
            }
        }
        let status = status.unwrap_or_else(|| {
            let _ = child.kill();
            panic!("init did not exit within 10 s of SIG{name} (the child never ran its trap)")
        });
        assert_eq!(status.code(), Some(0), "{name}");
        assert_eq!(std::fs::read_to_string(dir.path().join("got")).unwrap(), format!("{name}\n"));
    }
}

#[test]
fn with_g_signals_reach_the_whole_process_group() {
    let _g = shared();
    for (flag, expect_grandchild) in [(&["-g"][..], true), (&[][..], false)] {
        let dir = Scratch::new("group");
        // The grandchild records USR1; the child ignores it (a no-op trap) and waits.
        let script = "trap : USR1; sh -c 'trap \"echo usr1 > got\" USR1; touch ready; while :; do sleep 0.02; done' & wait; wait";
        let mut child = start_supervised(flag, script, dir.path());
        signal(child.id(), libc::SIGUSR1);
        std::thread::sleep(Duration::from_millis(300));
        let got = dir.path().join("got").exists();
        // The init's child leads the process group that holds the grandchild: end them all.
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap_or_default();
        signal(child.id(), libc::SIGKILL);
        let _ = child.wait();
        for pid in children.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            // SAFETY: kill(2) of the test's own process group.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        assert_eq!(got, expect_grandchild, "flags {flag:?}");
    }
}

#[test]
fn the_child_inherits_exactly_inits_signal_mask_and_ignored_signals() {
    let _g = shared();
    let mut cmd = init();
    // grep's parent is the init: compare what the child has with what the init was given.
    cmd.args(["-s", "--", "sh", "-c", "exec grep -E '^Sig(Ign|Blk)' /proc/self/status /proc/$PPID/status"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for sig in 1..32 {
                libc::signal(sig, libc::SIG_DFL);
            }
            libc::signal(libc::SIGUSR1, libc::SIG_IGN);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR2);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{out:?}");
    // grep prefixes each line with its file: /proc/self/status (the child) or /proc/N/status.
    let field = |child: bool, name: &str| {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with("/proc/self/") == child && l.contains(&format!(":{name}:\t")))
            .unwrap_or_else(|| panic!("{}", out.stdout));
        u64::from_str_radix(line.rsplit('\t').next().unwrap(), 16).unwrap()
    };
    // Bit N-1 for signal N: USR2 (12) blocked and nothing else; USR1 (10) still ignored, and
    // the ignored set is exactly the init's own (which it never changes).
    assert_eq!(field(true, "SigBlk"), 1 << 11);
    let ignored = field(true, "SigIgn");
    assert_ne!(ignored & 1 << 9, 0, "SIGUSR1 is no longer ignored");
    assert_eq!(ignored, field(false, "SigIgn"));
}

#[test]
fn a_thousand_orphans_in_a_burst_leave_no_zombie() {
    let _g = shared();
    let script = "i=0; while [ $i -lt 1000 ]; do (true &); i=$((i+1)); done; sleep 0.5; \
                  grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l";
    let out = run_for(as_pid1().args(["--", "sh", "-c", script]), Duration::from_secs(60));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "0", "zombies left");
}

#[test]
fn stragglers_get_sigterm_then_sigkill_after_the_grace_period() {
    let _g = shared();
    let dir = Scratch::new("straggle");
    let script = "(trap 'echo term >> log; exit 0' TERM; sleep 30 & wait) & \
                  (trap '' TERM; sleep 30) & \
                  sleep 0.3; exit 7";
    let start = Instant::now();
    let out = run(as_pid1().args(["--", "sh", "-c", script]).env("KNOCKER_INIT_GRACE", "400").current_dir(dir.path()));
    let took = start.elapsed();
    assert_eq!(out.code, 7, "{out:?}");
    assert_eq!(std::fs::read_to_string(dir.path().join("log")).unwrap_or_default(), "term\n");
    assert!(took >= Duration::from_millis(650), "SIGKILL came before the grace period: {took:?}");
    assert!(took < Duration::from_secs(5), "the TERM-proof process was not killed: {took:?}");
    assert!(out.stderr.contains("SIGKILL"), "{out:?}");
}

#[test]
fn nothing_left_means_no_wait() {
    let _g = shared();
    let start = Instant::now();
    let out = run(as_pid1().args(["--", "true"]));
    assert_eq!(out.code, 0);
    assert!(start.elapsed() < Duration::from_millis(1500), "waited {:?}", start.elapsed());
}

#[test]
fn proc_is_mounted_when_missing_and_unmounted_at_exit() {
    let _g = shared();
    let script = format!(
        "umount -l /proc && unshare -pf {} -v -- sh -c 'test -e /proc/self && echo inside-mounted'; \
         test -e /proc/self && echo after-still-mounted || echo after-gone",
        bin("init").display()
    );
    let out = run(Command::new("unshare").args(["-m", "sh", "-c", &script]));
    assert_eq!(out.stdout, "inside-mounted\nafter-gone\n", "{out:?}");
    assert!(out.stderr.contains("mounted proc"), "{out:?}");
}

#[test]
fn not_pid_1_without_s_warns_with_tinis_words() {
    let _g = shared();
    let out = run(init().args(["--", "true"]));
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("zombie reaping won't work"), "{out:?}");
    let out = run(init().args(["-s", "--", "true"]));
    assert!(!out.stderr.contains("zombie"), "{out:?}");
    let out = run(init().args(["--", "true"]).env("TINI_SUBREAPER", ""));
    assert!(!out.stderr.contains("zombie"), "{out:?}");
    let out = run(init().args(["--", "true"]).env("TINI_VERBOSITY", "0"));
    assert_eq!(out.stderr, "");
}

#[test]
fn a_subreaper_bit_inherited_from_a_supervisor_is_not_warned_about() {
    let _g = shared();
    // A supervisor that made itself a child subreaper and execs the init without -s: the bit
    // survives exec, orphans reach the init, and (as with tini) there is no warning.
    let mut cmd = Command::new(bin("probe"));
    cmd.arg("subreaper").arg(bin("init")).args(["-w", "--", "sh", "-c", "(true &); sleep 0.3"]);
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("zombie reaping won't work"), "{out:?}");
    assert!(out.stderr.contains("Reaped zombie process with pid="), "it does reap: {out:?}");
    // Control: the same without the supervisor's bit warns.
    let out = run(init().args(["--", "true"]));
    assert!(out.stderr.contains("zombie reaping won't work"), "{out:?}");
}

#[test]
fn as_a_subreaper_it_reaps_orphans_and_w_says_so() {
    let _g = shared();
    for (args, env) in [(&["-s", "-w"][..], None), (&["-w"][..], Some(""))] {
        let mut cmd = init();
        cmd.args(args).args(["--", "sh", "-c", "(true &); sleep 0.3"]);
        if let Some(v) = env {
            cmd.env("TINI_SUBREAPER", v);
        }
        let out = run(&mut cmd);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stderr.contains("Reaped zombie process with pid="), "{out:?}");
    }
}

#[test]
fn usage_errors_exit_1_and_exec_failures_127_and_126() {
    let _g = shared();
    let out = run(&mut init());
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("missing COMMAND") && out.stderr.contains("Usage:"), "{out:?}");
    let out = run(init().args(["-x", "true"]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("init: unknown option -x"), "{out:?}");
    let out = run(init().args(["-s", "--", "/nonexistent"]));
    assert_eq!(out.code, 127);
    assert!(out.stderr.contains("/nonexistent: ENOENT"), "{out:?}");
    let out = run(init().args(["-s", "--", "/etc/passwd"]));
    assert_eq!(out.code, 126);
    assert!(out.stderr.contains("/etc/passwd: EACCES"), "{out:?}");
    let out = run(init().args(["-s", "no-such-command-anywhere"]));
    assert_eq!(out.code, 127, "{out:?}");
}

#[test]
fn double_dash_ends_options_once() {
    let _g = shared();
    let dir = Scratch::new("dashdash");
    let prog = dir.path().join("--");
    std::fs::write(&prog, "#!/bin/sh\necho \"ran -- with $*\"\n").unwrap();
    std::fs::set_permissions(&prog, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
    let out = run(init().args(["-s", "--", "--", "x"]).env("PATH", path));
    assert_eq!((out.code, out.stdout.as_str()), (0, "ran -- with x\n"), "{out:?}");
}

#[test]
fn the_init_pins_no_directory_and_keeps_no_descriptor_of_its_own() {
    let _g = shared();
    let dir = Scratch::new("cwd");
    let host_root = std::fs::File::open("/").unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&host_root);
    let mut cmd = init();
    cmd.args(["-s", "--", "sleep", "1239"]).current_dir(dir.path());
    // SAFETY: dup2 between fork and exec: the init starts with fd 5 open (not close-on-exec).
    unsafe {
        cmd.pre_exec(move || if libc::dup2(raw, 5) == 5 { Ok(()) } else { Err(std::io::Error::last_os_error()) });
    }
    let running = Running::spawn(&mut cmd);
    assert!(eventually(Duration::from_secs(5), || !pids_running(&["sleep", "1239"]).is_empty()));
    let child = pids_running(&["sleep", "1239"])[0];
    // Killing the init (not PID 1 here) would orphan the child: kill it too.
    let _child_guard = KillOnDrop(child);
    let init_pid = running.pid();
    let fds = |pid: i32| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    assert!(eventually(Duration::from_secs(2), || fds(init_pid) == ["0", "1", "2"]), "init's descriptors: {:?}", fds(init_pid));
    assert_eq!(std::fs::read_link(format!("/proc/{init_pid}/cwd")).unwrap(), Path::new("/"));
    // The child keeps what it was given, working directory included.
    assert!(fds(child).contains(&"5".to_string()), "{:?}", fds(child));
    assert_eq!(std::fs::read_link(format!("/proc/{child}/cwd")).unwrap(), dir.path());
}

#[test]
fn help_licence_and_a_version_docker_can_parse() {
    for help in ["-h", "--help"] {
        let out = run(init().arg(help));
        assert_eq!(out.code, 0, "{help}: {out:?}");
        assert!(out.stdout.starts_with("Usage: init"), "{out:?}");
        assert_eq!(out.stderr, "");
    }
    let out = run(init().arg("-l"));
    assert!(out.stdout.contains("MIT"), "{out:?}");
    let out = run(init().arg("--version"));
    assert_eq!(out.code, 0);
    let line = out.stdout.trim();
    assert!(line.starts_with("tini version ") && line.contains(" - git."), "{line}");
}

#[test]
fn with_p_the_init_learns_its_parent_died() {
    let _g = shared();
    let script = format!("{} -s -p SIGTERM -- sleep 30 & echo $!; sleep 0.3", bin("init").display());
    let out = run(Command::new("sh").args(["-c", &script]));
    let pid: i32 = out.stdout.trim().parse().unwrap();
    // SAFETY: kill(pid, 0) only checks for existence.
    let gone = eventually(Duration::from_secs(5), || unsafe { libc::kill(pid, 0) } != 0);
    if !gone {
        // SAFETY: our own leftover.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(gone, "the init outlived its parent");
}

#[test]
fn the_launcher_hands_over_to_the_init_as_pid_1() {
    let _g = shared();
    let out = container(&[], "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$; (true &); sleep 0.3; \
                              grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l");
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("init -- /bin/sh -c"), "{lines:?}");
    assert_eq!(lines[1], "2");
    assert_eq!(lines[2].trim(), "0", "zombies under the launcher's init");
}
