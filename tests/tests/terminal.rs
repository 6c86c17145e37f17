//! The container's own terminal (issue 5), driven through tmux like a user at a keyboard:
//! job control, Ctrl-C and Ctrl-Z reach the container, window sizes follow, the user's
//! terminal comes back exactly as it was, and nothing inside can type into the user's shell.

use knocker_tests::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A private tmux server with one 100x30 window running `sh`.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(tag: &str) -> Tmux {
        let t = Tmux { socket: format!("knocker-{tag}-{}", std::process::id()) };
        let ok = t.cmd().args(["new-session", "-d", "-x", "100", "-y", "30", "env", "PS1=outer$ ", "sh"]).status().unwrap().success();
        assert!(ok, "tmux is needed for the terminal tests (apt-get install tmux)");
        t.wait_for("outer$", "the outer shell");
        t
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn keys(&self, keys: &[&str]) {
        assert!(self.cmd().arg("send-keys").args(keys).status().unwrap().success());
    }

    fn line(&self, text: &str) {
        self.keys(&[text, "Enter"]);
    }

    fn screen(&self) -> String {
        let out = self.cmd().args(["capture-pane", "-p", "-J"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`; fails with the screen.
    fn wait_for(&self, text: &str, what: &str) {
        if !eventually(Duration::from_secs(10), || self.screen().contains(text)) {
            panic!("waiting for {what} ({text:?}); the screen:\n{}", self.screen());
        }
    }

    /// Waits until `text` appears `n` times on the screen.
    fn wait_count(&self, text: &str, n: usize, what: &str) {
        if !eventually(Duration::from_secs(10), || self.screen().matches(text).count() >= n) {
            panic!("waiting for {what}; the screen:\n{}", self.screen());
        }
    }

    fn launch(&self, rootfs: &Path, extra: &str) {
        self.line(&format!("{} {extra} {} /bin/sh", bin("launcher").display(), rootfs.display()));
        self.wait_for("/ # ", "the container's prompt");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

#[test]
fn a_shell_with_job_control_where_ctrl_c_and_ctrl_z_reach_the_container() {
    let _g = shared();
    let t = Tmux::start("job");
    t.launch(&rootfs(), "");
    t.line("echo pid=$$ tty=$(tty)");
    t.wait_for("pid=2 tty=/dev/pts/0", "the shell's pid and terminal");
    assert!(!t.screen().contains("job control"), "{}", t.screen());
    t.line("sleep 100");
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["C-c"]);
    t.line("echo back-after-ctrl-c");
    t.wait_for("\nback-after-ctrl-c", "the prompt after Ctrl-C");
    t.line("sleep 101");
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["C-z"]);
    t.wait_for("Stopped", "the job stopped by Ctrl-Z");
    t.line("fg");
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["C-c"]);
    t.line("echo done-$((6*7))");
    t.wait_for("done-42", "the prompt after fg and Ctrl-C");
    t.line("exit");
    t.wait_count("outer$", 2, "the outer shell again");
}

#[test]
fn the_window_size_follows_and_the_users_terminal_is_restored_exactly() {
    let _g = shared();
    let t = Tmux::start("size");
    let dir = Scratch::new("stty");
    let before = dir.path().join("before");
    let after = dir.path().join("after");
    t.line(&format!("stty -a > {}", before.display()));
    t.launch(&rootfs(), "");
    t.line("stty size");
    t.wait_for("30 100", "the initial size");
    assert!(t.cmd().args(["resize-window", "-x", "120", "-y", "40"]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    t.line("stty size");
    t.wait_for("40 120", "the new size");
    t.line("exit");
    t.wait_count("outer$", 3, "the outer shell again");
    assert!(t.cmd().args(["resize-window", "-x", "100", "-y", "30"]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    t.line(&format!("stty -a > {}", after.display()));
    assert!(eventually(Duration::from_secs(5), || after.exists() && std::fs::metadata(&after).unwrap().len() > 0));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(std::fs::read_to_string(&after).unwrap(), std::fs::read_to_string(&before).unwrap());
}

#[test]
fn tiocsti_from_inside_cannot_type_into_the_users_shell() {
    let _g = shared();
    let copy = Scratch::rootfs_copy("tiocsti");
    std::fs::copy(bin("probe"), copy.path().join("probe")).unwrap();
    let dir = Scratch::new("pwned");
    let marker = dir.path().join("pwned");
    // The attack: push a command into the terminal and exit at once, so that whoever reads the
    // terminal next — the user's shell — runs it on the host.
    let attack = format!("/probe tiocsti 'touch {}\n'", marker.display());
    for (extra, answer) in [("", "injected"), ("-T", "refused EPERM")] {
        let t = Tmux::start(if extra.is_empty() { "sti" } else { "sti-T" });
        // With a terminal of its own the text lands there and dies with the container; without
        // one (-T) the container shares the user's terminal but not its session: refused.
        t.line(&format!("{} {extra} {} {attack}", bin("launcher").display(), copy.path().display()));
        t.wait_for(answer, "the probe");
        t.line("echo outer-still-here");
        t.wait_for("\nouter-still-here", "the outer shell");
        std::thread::sleep(Duration::from_millis(300));
        assert!(!marker.exists(), "the container typed into the user's shell ({extra})");
    }
    // The attack is real: run from the user's shell without knocker, it works (on kernels that
    // still allow TIOCSTI at all, like this one).
    if std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti").is_ok_and(|v| v.trim() == "0") {
        return;
    }
    let t = Tmux::start("sti-host");
    t.line(&format!("{} tiocsti 'touch {}\n'", bin("probe").display(), marker.display()));
    assert!(eventually(Duration::from_secs(5), || marker.exists()), "the host accepts TIOCSTI here:\n{}", t.screen());
}
