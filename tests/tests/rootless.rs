//! Containers without root (issue 14, part 1): the launcher run by an ordinary user makes a
//! user namespace whose root is that user — with subordinate ids through newuidmap when the
//! user has them, else mapping only the user — and the container is the same container.
//!
//! The tests make two users of their own (`knocker-sub` with subordinate ids, `knocker-nosub`
//! without) and run the launcher as them with `setpriv`, from copies of the binaries and the
//! rootfs they own.

use knocker_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A test user, created once (with or without subordinate ids).
fn user(name: &str, subordinate: Option<u32>) -> u32 {
    let _ = run(Command::new("useradd").args(["-M", "-s", "/bin/sh", name]));
    // Subordinate ranges as this test wants them, whatever useradd chose.
    for file in ["/etc/subuid", "/etc/subgid"] {
        let old = std::fs::read_to_string(file).unwrap_or_default();
        let mut lines: Vec<String> = old.lines().filter(|l| !l.starts_with(&format!("{name}:"))).map(String::from).collect();
        if let Some(start) = subordinate {
            lines.push(format!("{name}:{start}:65536"));
        }
        let new = lines.join("\n") + "\n";
        if new != old {
            std::fs::write(file, new).unwrap();
        }
    }
    let out = run(Command::new("id").args(["-u", name]));
    out.stdout.trim().parse().unwrap()
}

/// The user's own copy of the launcher, the init and the rootfs (with the probe).
struct Home {
    dir: PathBuf,
    user: String,
}

impl Home {
    fn new(user: &str, tag: &str) -> Home {
        let home = Home::empty(user, tag);
        assert!(Command::new("cp").arg("-a").arg(rootfs()).arg(home.rootfs()).status().unwrap().success());
        std::fs::copy(bin("probe"), home.rootfs().join("probe")).unwrap();
        // The user extracted it: the files are the user's (root inside).
        assert!(Command::new("chown").args(["-R", &format!("{user}:{user}")]).arg(&home.dir).status().unwrap().success());
        home
    }

    /// The Debian rootfs as a rootless engine stores it for a user with subordinate ids
    /// starting at `first`: id 0 is the user's, id N (N > 0) is `first + N - 1` on disk.
    fn debian(user: &str, first: u32, tag: &str) -> Home {
        let home = Home::empty(user, tag);
        assert!(Command::new("cp").arg("-a").arg(debian_rootfs()).arg(home.rootfs()).status().unwrap().success());
        let id = |flag: &str| run(Command::new("id").args([flag, user])).stdout.trim().parse::<u32>().unwrap();
        let (uid, gid) = (id("-u"), id("-g"));
        let shift = |n: u32, own: u32| if n == 0 { own } else { first + n - 1 };
        fn walk(path: &Path, f: &dyn Fn(&Path)) {
            f(path);
            let meta = std::fs::symlink_metadata(path).unwrap();
            if meta.is_dir() {
                for e in std::fs::read_dir(path).unwrap().flatten() {
                    walk(&e.path(), f);
                }
            }
        }
        walk(&home.rootfs(), &|p| {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::symlink_metadata(p).unwrap();
            let mode = meta.mode();
            std::os::unix::fs::lchown(p, Some(shift(meta.uid(), uid)), Some(shift(meta.gid(), gid))).unwrap();
            // chown clears set-id bits: put them back, as the engine's extraction would have them.
            if !meta.file_type().is_symlink() && mode & 0o6000 != 0 {
                std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777)).unwrap();
            }
        });
        assert!(Command::new("chown").args([&format!("{user}:{user}")]).arg(&home.dir).arg(home.dir.join("bin")).arg(home.dir.join("bin/launcher")).arg(home.dir.join("bin/init")).status().unwrap().success());
        home
    }

    /// The user's directory with its own copy of the launcher and the init (no rootfs yet).
    fn empty(user: &str, tag: &str) -> Home {
        let dir = std::env::temp_dir().join(format!("knocker-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        for b in ["launcher", "init"] {
            std::fs::copy(bin(b), dir.join("bin").join(b)).unwrap();
        }
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        Home { dir, user: user.into() }
    }

    fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// `launcher OPTIONS ROOTFS sh -c SCRIPT` as the user.
    fn run(&self, options: &[&str], script: &str) -> Out {
        run(self.as_user(None).arg(self.dir.join("bin/launcher")).args(options).arg(self.rootfs()).args(["/bin/sh", "-c", script]))
    }

    /// The user's own runtime directory (`$XDG_RUNTIME_DIR`), made on first use.
    fn run_dir(&self) -> PathBuf {
        let dir = self.dir.join("run");
        if !dir.exists() {
            std::fs::create_dir_all(&dir).unwrap();
            assert!(Command::new("chown").arg(format!("{0}:{0}", self.user)).arg(&dir).status().unwrap().success());
            std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        }
        dir
    }

    /// A command whose arguments (to add) run as the user; with `setup`, shell words ending in
    /// `&&` run first as root in a mount namespace of the test's own.
    fn as_user(&self, setup: Option<&str>) -> Command {
        let mut c = match setup {
            Some(setup) => {
                let mut c = Command::new("unshare");
                c.args(["-m", "--propagation", "private", "sh", "-c", &format!("{setup} exec \"$@\""), "sh", "setpriv"]);
                c
            }
            None => Command::new("setpriv"),
        };
        c.args(["--reuid", &self.user, "--regid", &self.user, "--init-groups", "--"]).env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        c
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Shell words (run as root in a mount namespace of the test's own, ending in `&&`) that put a
/// node of the tap device with `mode` over /dev/net/tun there, in a tmpfs at `dir`; the host's
/// own node stays as it is.
fn tun_node(dir: &Path, mode: &str) -> String {
    format!("mkdir -p {d} && mount -t tmpfs -o mode=0755 tun {d} && mknod -m {mode} {d}/tun c 10 200 && mount --bind {d}/tun /dev/net/tun &&", d = dir.display())
}

fn left_running(dir: &Path) -> Vec<i32> {
    processes_with(dir.to_str().unwrap())
}

#[test]
fn with_subordinate_ids_the_user_is_root_and_the_range_is_the_rest() {
    let _g = shared();
    let uid = user("knocker-sub", Some(500_000));
    let home = Home::new("knocker-sub", "rootless-sub");
    let out = home.run(&["-v"], "cat /proc/self/uid_map | tr -s ' '; id -u; stat -c %u /bin/busybox; touch /tmp/f && chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, format!(" 0 {uid} 1\n 1 500000 65536\n0\n0\n1000:1000\n"), "{out:?}");
    assert!(out.stderr.contains("subordinate ids (newuidmap)"), "-v says which: {out:?}");
    // The file made for uid 1000 inside is the subordinate id on disk.
    assert!(left_running(&home.dir).is_empty());
}

#[test]
fn without_subordinate_ids_only_the_user_is_mapped() {
    let _g = shared();
    let uid = user("knocker-nosub", None);
    let home = Home::new("knocker-nosub", "rootless-nosub");
    // Files of other owners show as nobody: the rootfs as root extracted it.
    assert!(Command::new("chown").arg("0:0").arg(home.rootfs().join("bin/busybox")).status().unwrap().success());
    let out = home.run(&["-v"], "cat /proc/self/uid_map | tr -s ' '; cat /proc/self/setgroups; id -u; stat -c %u /bin/busybox; chown 1 /tmp 2>/dev/null || echo no-chown");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, format!(" 0 {uid} 1\ndeny\n0\n65534\nno-chown\n"), "{out:?}");
    assert!(out.stderr.contains("only your own ids"), "{out:?}");
}

#[test]
fn the_rootless_container_is_the_same_container() {
    let _g = shared();
    user("knocker-sub", Some(500_000));
    let home = Home::new("knocker-sub", "rootless-same");
    let script = "echo $(hostname) $$; grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status | tr '\\n' ' '; echo; \
                  mount | grep -c ' on /proc '; test -c /dev/null && echo dev; ls /dev/pts/ptmx >/dev/null && echo pts; \
                  grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1";
    let out = home.run(&["--hostname", "rl"], script);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "rl 2", "own UTS and PID namespaces, knocker's init as PID 1: {out:?}");
    assert_eq!(lines[1], "CapEff:\t00000000a80425fb NoNewPrivs:\t1 Seccomp:\t2 ", "{out:?}");
    assert_eq!(lines[2..], ["1", "dev", "pts", "ro"], "{out:?}");
    // Exit statuses as with root.
    assert_eq!(home.run(&[], "exit 7").code, 7);
    assert_eq!(home.run(&[], "kill -9 $$").code, 137);
}

#[test]
fn inside_the_user_namespace_the_containment_probes_fail() {
    let _g = shared();
    user("knocker-sub", Some(500_000));
    let home = Home::new("knocker-sub", "rootless-probes");
    // Device nodes cannot be made, PID 1's memory is closed, and a cgroup hierarchy mounted
    // inside (CAP_SYS_ADMIN in the user namespace allows it) has no release_agent to write.
    let script = "/probe node /tmp/kmsg c 1 11; /probe node /tmp/loop b 7 0; /probe open /proc/1/mem rw; \
                  mkdir -p /tmp/cg; mount -t cgroup -o memory none /tmp/cg 2>/dev/null; \
                  test -e /tmp/cg/release_agent && echo release-agent-there || echo no-release-agent; \
                  echo /x 2>/dev/null > /tmp/cg/release_agent || echo not-writable";
    let out = home.run(&["--cap-add", "SYS_ADMIN"], script);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("mknod refused EPERM"), "mknod in a user namespace: {out:?}");
    assert!(lines[1].starts_with("mknod refused EPERM"), "{out:?}");
    assert!(lines[2].starts_with("refused"), "/proc/1/mem: {out:?}");
    assert_eq!(lines[3..], ["no-release-agent", "not-writable"], "{out:?}");
    // Control: as root the node is made (opening it is then the device cgroup's to refuse).
    let out = run(launcher(&["--cap-add", "SYS_ADMIN"], &home.rootfs()).args(["/probe", "node", "/tmp/kmsg", "c", "1", "11"]));
    assert!(!out.stdout.starts_with("mknod refused"), "{out:?}");
}

#[test]
fn limits_without_root_are_one_line() {
    let _g = shared();
    user("knocker-sub", Some(500_000));
    let home = Home::new("knocker-sub", "rootless-limits");
    let out = home.run(&["--memory", "64M"], "true");
    assert_eq!(out.code, 125, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("delegated cgroup"), "{out:?}");
}

// --- root's `--userns`: container root is an unprivileged host id ------------------------------

/// The host uid of a process.
fn host_uid(pid: i32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap().split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn userns_maps_container_root_to_an_unprivileged_range_and_idmaps_rootfs() {
    let _g = shared();
    let r = rootfs_with_probe("userns-auto");
    let script = "cat /proc/self/uid_map | tr -s ' '; id -u; stat -c %u:%g /bin/busybox; touch /made-inside; cat /sys/fs/cgroup/pids/pids.max; sleep 1";
    let mut c = Running::spawn(launcher(&["--userns", "--pids", "77"], r.path()).args(["/bin/sh", "-c", script]).stdout(std::process::Stdio::piped()));
    // Seen from the host, the container's processes run as the range's first id.
    let launcher_pid = c.pid();
    let child_of = |parent: i32| {
        std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let pid: i32 = e.file_name().to_string_lossy().parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let ppid: i32 = stat[stat.rfind(')')? + 2..].split(' ').nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
    };
    let mut pid = 0;
    assert!(eventually(std::time::Duration::from_secs(5), || {
        pid = child_of(launcher_pid).unwrap_or(0);
        pid > 0
    }));
    assert!(eventually(std::time::Duration::from_secs(3), || host_uid(pid) >= 1 << 31), "host uid {}", host_uid(pid));
    assert_eq!(c.wait(std::time::Duration::from_secs(10)).map(|s| s.code()), Some(Some(0)));
    let mut out = String::new();
    use std::io::Read;
    c.0.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with(" 0 ") && lines[0].ends_with(" 65536"), "{out}");
    let start: u64 = lines[0].split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(start >= 1 << 31 && (start - (1 << 31)) % 65536 == 0, "knocker's range: {out}");
    let slot = (start - (1 << 31)) / 65536;
    assert!(!std::path::Path::new(&format!("/run/knocker/@userns/{slot}.lock")).exists(), "the slot's lock goes with the launcher");
    assert_eq!(lines[1..], ["0", "0:0", "77"], "root inside, ROOTFS's root-owned files root's inside (idmapped), limits kept: {out}");
    // Through the idmapped mount, a file container root makes is host root's on disk.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(r.path().join("made-inside")).unwrap().uid(), 0);
    let out = run(launcher(&["--userns=3000000:65536"], r.path()).args(["/bin/sh", "-c", "cat /proc/self/uid_map | tr -s ' '"]));
    assert_eq!(out.stdout, " 0 3000000 65536\n", "{out:?}");
}

#[test]
fn under_userns_the_containment_probes_fail_even_with_cap_sys_admin() {
    let _g = shared();
    let r = rootfs_with_probe("userns-probes");
    let script = "/probe open /dev/disk r; /probe node /tmp/kmsg c 1 11; /probe open /proc/1/mem rw; \
                  mkdir -p /tmp/cg; mount -t cgroup -o memory none /tmp/cg 2>/dev/null; \
                  test -e /tmp/cg/release_agent && echo release-agent-there || echo no-release-agent; \
                  echo /x 2>/dev/null > /tmp/cg/release_agent || echo not-writable";
    let options = ["--cap-add", "SYS_ADMIN", "--device", "/dev/loop0:/dev/disk:r"];
    let mut with = vec!["--userns"];
    with.extend_from_slice(&options);
    let out = run(launcher(&with, r.path()).args(["/bin/sh", "-c", script]));
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("refused EACCES"), "a host device allowed by the device rules, yet not container root's to open: {out:?}");
    assert!(lines[1].starts_with("mknod refused EPERM"), "{out:?}");
    assert!(lines[2].starts_with("refused"), "{out:?}");
    assert_eq!(lines[3..], ["no-release-agent", "not-writable"], "{out:?}");
    // Control: the same device without --userns opens (container root is host root).
    let out = run(launcher(&options, r.path()).args(["/probe", "open", "/dev/disk", "r"]));
    assert_eq!(out.stdout, "opened\n", "{out:?}");
}

#[test]
fn userns_refusals_are_one_line() {
    let _g = shared();
    let out = run(launcher(&["--userns=12"], &rootfs()).arg("true"));
    assert!(out.code == 125 && out.stderr.contains("bad --userns"), "{out:?}");
    user("knocker-sub", Some(500_000));
    let home = Home::new("knocker-sub", "userns-user");
    let out = home.run(&["--userns"], "true");
    assert!(out.code == 125 && out.stderr.contains("--userns is for root"), "{out:?}");
}

#[test]
fn exec_joins_the_user_namespace_too() {
    let _g = shared();
    let r = rootfs_with_probe("userns-exec");
    let name = format!("userns-exec-{}", std::process::id());
    let mut c = Running::spawn(launcher(&["--userns", "--name", &name, "--device", "/dev/loop0:/dev/disk:r"], r.path()).args(["sleep", "30"]));
    let exec = |words: &[&str]| run(Command::new(bin("launcher")).arg("exec").arg(&name).args(words));
    assert!(eventually(std::time::Duration::from_secs(5), || exec(&["true"]).code == 0));
    let out = exec(&["/bin/sh", "-c", "cat /proc/self/uid_map | tr -s ' '; id -u; /probe open /dev/disk r; grep ^Uid: /proc/self/status"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with(" 0 ") && !lines[0].starts_with(" 0 0 "), "the container's map, not the host's: {out:?}");
    assert_eq!(lines[1], "0", "{out:?}");
    assert!(lines[2].starts_with("refused EACCES"), "an exec'd process is no more host root than PID 1: {out:?}");
    c.signal(libc::SIGTERM);
    assert!(c.wait(std::time::Duration::from_secs(10)).is_some());
}

// --- rootless podman, with knocker as its runtime ----------------------------------------------

#[test]
fn rootless_podman_runs_containers_with_knocker() {
    let _g = shared();
    user("knocker-sub", Some(500_000));
    let home = Home::new("knocker-sub", "rootless-podman");
    std::fs::copy(bin("knocker"), home.dir.join("bin/knocker")).unwrap();
    std::fs::create_dir_all(home.dir.join("home")).unwrap();
    assert!(Command::new("chown").args(["-R", "knocker-sub:knocker-sub"]).arg(&home.dir).status().unwrap().success());
    // Rootless podman's own network (slirp4netns, run by podman in its namespaces) opens
    // /dev/net/tun as the user: a 0666 node of it (udev's usual mode; 0600 on this host) is
    // bound over it in the test's own mount namespace before podman makes its namespaces.
    let tun = tun_node(&home.dir.join("dev"), "0666");
    let as_user = |script: &str| {
        run(home
            .as_user(Some(&tun))
            .args(["sh", "-c", script])
            .current_dir(&home.dir)
            .env_clear()
            .env("HOME", home.dir.join("home"))
            .env("XDG_RUNTIME_DIR", home.run_dir())
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
    };
    let podman = format!("podman --runtime {}", home.dir.join("bin/knocker").display());
    let out = as_user(&format!("tar --owner=0 --group=0 -C rootfs -c . | podman import - localhost/knocker-rootless >/dev/null"));
    assert_eq!(out.code, 0, "{out:?}");
    let plain = as_user(&format!("{podman} run --rm --network none localhost/knocker-rootless sh -c 'id -u; grep ^Seccomp: /proc/self/status; exit 3'"));
    let port = loopback_server("hello from the host\n");
    let out = as_user(&format!("{podman} run --rm --network slirp4netns:allow_host_loopback=true localhost/knocker-rootless sh -c \
        'ip -4 addr show tap0 | grep -c inet; for i in 1 2 3; do r=$(timeout 2 nc 10.0.2.2 {port} </dev/null | head -1); [ -n \"$r\" ] && {{ echo \"$r\"; break; }}; done'"));
    let cleanup = as_user("podman system reset --force >/dev/null 2>&1");
    assert_eq!((plain.code, plain.stdout.as_str()), (3, "0\nSeccomp:\t2\n"), "podman (rootless) → knocker: {plain:?}");
    assert_eq!((out.code, out.stdout.as_str()), (0, "1\nhello from the host\n"), "rootless podman's network: {out:?}");
    assert_eq!(cleanup.code, 0, "{cleanup:?}");
}

#[test]
fn without_root_exec_and_ps_find_the_users_own_containers() {
    let _g = shared();
    user("knocker-sub", Some(500_000));
    let home = Home::new("knocker-sub", "rootless-exec");
    let run_dir = home.run_dir();
    let as_user = |words: &[&str]| {
        let mut c = home.as_user(None);
        c.arg(home.dir.join("bin/launcher")).args(words).env("XDG_RUNTIME_DIR", &run_dir);
        c
    };
    let rootfs = home.rootfs();
    let mut c = Running::spawn(&mut as_user(&["--name", "mine", rootfs.to_str().unwrap(), "sleep", "30"]));
    assert!(eventually(std::time::Duration::from_secs(5), || run(&mut as_user(&["exec", "mine", "true"])).code == 0));
    let out = run(&mut as_user(&["exec", "mine", "/bin/sh", "-c", "cat /proc/self/uid_map | tr -s ' '; id -u; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status | tr '\\n' ' '"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(" 1 500000 65536\n0\n") && out.stdout.contains("NoNewPrivs:\t1 Seccomp:\t2"), "{out:?}");
    let ps = run(&mut as_user(&["ps"]));
    assert!(ps.stdout.lines().any(|l| l.starts_with("mine\t")), "{ps:?}");
    assert!(run_dir.join("knocker/mine.entry").exists(), "the user's own entries");
    c.signal(libc::SIGTERM);
    assert!(c.wait(std::time::Duration::from_secs(10)).is_some());
    assert!(!run_dir.join("knocker/mine.entry").exists());
}

#[test]
fn userns_with_overlay_writes_only_to_the_overlay() {
    let _g = shared();
    let r = rootfs_with_probe("userns-overlay");
    let out = run(launcher(&["--userns", "--overlay"], r.path()).args(["/bin/sh", "-c", "echo hi > /new; rm /bin/ls; id -u; stat -c %u /bin/busybox"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "0\n0\n"), "{out:?}");
    assert!(!r.path().join("new").exists() && r.path().join("bin/ls").exists(), "ROOTFS untouched");
    // A kept layer: idmapped as ROOTFS, so container root writes to it and the next container
    // (another range of ids) sees what the first wrote; on disk it is host root's.
    let layer = Scratch::new("userns-layer");
    let dir = layer.path().to_str().unwrap();
    let out = run(launcher(&["--userns", "--overlay-dir", dir], r.path()).args(["/bin/sh", "-c", "echo kept > /new; rm /bin/ls; id -u"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "0\n"), "{out:?}");
    let out = run(launcher(&["--userns=3000000:65536", "--overlay-dir", dir], r.path()).args(["/bin/sh", "-c", "cat /new; test -e /bin/ls || echo gone; stat -c %u /new"]));
    assert_eq!((out.code, out.stdout.as_str()), (0, "kept\ngone\n0\n"), "{out:?}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(layer.path().join("upper/new")).unwrap().uid(), 0, "host root's on disk");
    assert!(!r.path().join("new").exists() && r.path().join("bin/ls").exists(), "ROOTFS untouched");
}

#[test]
fn rootless_net_pasta_reaches_the_host_and_leaves_nothing() {
    let _g = shared();
    user("knocker-sub", Some(500_000));
    let home = Home::new("knocker-sub", "rootless-pasta");
    let run_dir = home.run_dir();
    let port = loopback_server("hello from the host\n");
    let script = format!("ip -4 addr show eth0 | grep -c inet; gw=$(ip route | awk '/^default/ {{print $3}}'); \
                          for i in 1 2 3; do r=$(timeout 2 nc $gw {port} </dev/null | head -1); [ -n \"$r\" ] && {{ echo \"$r\"; break; }}; done; \
                          grep -c ^nameserver /etc/resolv.conf");
    // The launcher as the user, after `setup` (run as root in a mount namespace of its own).
    let launch = |setup: &str| {
        let mut c = home.as_user(Some(setup));
        c.arg(home.dir.join("bin/launcher")).args(["--net", "pasta", "--name", "rlp"]).arg(home.rootfs()).args(["/bin/sh", "-c", &script]);
        run(c.env("XDG_RUNTIME_DIR", &run_dir))
    };
    let pasta_left = || processes_with(&format!("{}/knocker/rlp.pasta", run_dir.display()));
    // pasta, run as the user, opens /dev/net/tun. Where that is root's only (0600, as on this
    // host) the launcher says so before it starts anything; most hosts have it 0666 (udev's
    // rule). Both are made here as a node of the same device bound over it in a mount namespace
    // of the test's own, which leaves the host's node as it is.
    let out = launch(&tun_node(&home.dir.join("dev"), "0600"));
    assert_eq!(out.code, 125, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("/dev/net/tun"), "{out:?}");
    assert!(pasta_left().is_empty());
    let setup = tun_node(&home.dir.join("dev"), "0666");
    let out = launch(&setup);
    assert_eq!((out.code, out.stdout.as_str()), (0, "1\nhello from the host\n1\n"), "{out:?}");
    assert!(eventually(std::time::Duration::from_secs(3), || pasta_left().is_empty()), "pasta stopped: {:?}", pasta_left());
    assert!(!run_dir.join("knocker/rlp.pasta").exists(), "pid file removed");
    assert!(left_running(&home.dir).is_empty());
}

// --- a real distribution: Debian, rootless and under --userns --------------------------------

/// What the Debian tests ask inside: the map, who we are, apt, and the owners of files whose
/// owners are not root.
const DEBIAN_SCRIPT: &str = "tr -s ' ' < /proc/self/uid_map | head -1; id -u; apt-get --version | head -1 | cut -d' ' -f1; \
                             stat -c %U:%G /etc/shadow /var/mail /usr/bin/apt-get; \
                             useradd -m bob && setpriv --reuid bob --regid bob --clear-groups id -u && stat -c %U /home/bob";

#[test]
fn rootless_debian_has_its_users_apt_and_owners() {
    let _g = shared();
    let uid = user("knocker-sub", Some(500_000));
    let home = Home::debian("knocker-sub", 500_000, "rootless-debian");
    let out = home.run(&[], DEBIAN_SCRIPT);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, format!(" 0 {uid} 1\n0\napt\nroot:shadow\nroot:mail\nroot:root\n1000\nbob\n"), "{out:?}");
    // On disk, bob (1000 inside) is the subordinate id 500000 + 999, and shadow's group 42 is
    // 500041: the user's range, nobody else's.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(home.rootfs().join("home/bob")).unwrap().uid(), 500_999);
    assert_eq!(std::fs::metadata(home.rootfs().join("etc/shadow")).unwrap().gid(), 500_041);
    assert!(left_running(&home.dir).is_empty());
}

#[test]
fn userns_debian_has_its_users_apt_and_owners() {
    let _g = shared();
    let root = debian_rootfs();
    let before = std::fs::metadata(root.join("etc/passwd")).unwrap().modified().unwrap();
    let out = run(launcher(&["--userns=3000000:65536", "--overlay"], &root).args(["/bin/bash", "-c", DEBIAN_SCRIPT]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, " 0 3000000 65536\n0\napt\nroot:shadow\nroot:mail\nroot:root\n1000\nbob\n", "{out:?}");
    assert_eq!(std::fs::metadata(root.join("etc/passwd")).unwrap().modified().unwrap(), before, "written only to the overlay");
    assert!(!root.join("home/bob").exists());
}

#[test]
fn rootless_overlay_writes_only_to_the_layer() {
    let _g = shared();
    let uid = user("knocker-sub", Some(500_000));
    let home = Home::new("knocker-sub", "rootless-overlay");
    let out = home.run(&["--overlay"], "echo x > /new && rm /bin/ls && id -u");
    assert_eq!((out.code, out.stdout.as_str()), (0, "0\n"), "{out:?}");
    let layer = home.dir.join("layer");
    std::fs::create_dir(&layer).unwrap();
    assert!(Command::new("chown").arg("knocker-sub:knocker-sub").arg(&layer).status().unwrap().success());
    let out = home.run(&["--overlay-dir", layer.to_str().unwrap()], "echo kept > /new");
    assert_eq!(out.code, 0, "{out:?}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(layer.join("upper/new")).unwrap().uid(), uid, "the user's own file on disk");
    assert!(!home.rootfs().join("new").exists() && home.rootfs().join("bin/ls").exists(), "ROOTFS untouched");
}

/// A private tmux server (its own socket) for the rootless terminal test; gone on drop.
struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux").args(["-L", &self.0]).args(args).output().unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-J"]).stdout).into_owned()
    }

    fn wait_for(&self, text: &str) {
        assert!(eventually(std::time::Duration::from_secs(10), || self.screen().contains(text)), "waiting for {text:?}; the screen:\n{}", self.screen());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn rootless_terminal_follows_the_window_and_ctrl_c_reaches_the_container() {
    let _g = shared();
    user("knocker-sub", Some(500_000));
    let home = Home::new("knocker-sub", "rootless-tty");
    let t = Tmux(format!("knocker-rootless-{}", std::process::id()));
    let shell = format!(
        "setpriv --reuid knocker-sub --regid knocker-sub --init-groups -- {} {} /bin/sh",
        home.dir.join("bin/launcher").display(),
        home.rootfs().display()
    );
    assert!(t.run(&["new-session", "-d", "-x", "100", "-y", "30", &shell]).status.success(), "tmux is needed (apt-get install tmux)");
    t.wait_for("/ # ");
    t.run(&["send-keys", "echo tty=$(tty) size=$(stty size); sleep 100", "Enter"]);
    t.wait_for("tty=/dev/pts/0 size=30 100");
    std::thread::sleep(std::time::Duration::from_millis(300));
    t.run(&["send-keys", "C-c"]);
    t.run(&["send-keys", "echo back=$?", "Enter"]);
    t.wait_for("back=130");
    assert!(t.run(&["resize-window", "-x", "80", "-y", "20"]).status.success());
    t.run(&["send-keys", "echo now=$(stty size)", "Enter"]);
    t.wait_for("now=20 80");
    t.run(&["send-keys", "exit", "Enter"]);
    assert!(eventually(std::time::Duration::from_secs(5), || !t.run(&["has-session"]).status.success()), "the session ends with the container");
    assert!(left_running(&home.dir).is_empty());
}
