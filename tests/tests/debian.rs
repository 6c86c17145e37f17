//! The launcher on a real distribution (issue 13): a Debian bookworm rootfs from debootstrap,
//! as `sudo launcher ./debian_fs /bin/bash` users have it. The rootfs is shared by the tests:
//! whatever writes goes through `--overlay`, and the rootfs is checked unchanged.

use knocker_tests::*;
use std::process::Command;
use std::time::Duration;

fn debian(options: &[&str], script: &str) -> Out {
    run(launcher(options, &debian_rootfs()).args(["/bin/bash", "-c", script]))
}

#[test]
fn users_and_groups_come_from_debians_own_files() {
    let _g = shared();
    let out = debian(&["--user", "nobody"], "id; echo $HOME $USER");
    assert_eq!((out.code, out.stdout.as_str()), (0, "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n/nonexistent nobody\n"), "{out:?}");
    let out = debian(&["--user", "daemon:adm"], "id -un; id -gn");
    assert_eq!((out.code, out.stdout.as_str()), (0, "daemon\nadm\n"), "{out:?}");
    let out = debian(&["--user", "www-data"], "id -u");
    assert_eq!((out.code, out.stdout.as_str()), (0, "33\n"), "{out:?}");
}

#[test]
fn apt_runs_and_writes_stay_in_the_overlay() {
    let _g = shared();
    let root = debian_rootfs();
    let stamp = |p: &str| std::fs::metadata(root.join(p)).map(|m| (m.len(), m.modified().unwrap())).ok();
    let before = (stamp("var/lib/dpkg/status"), stamp("etc/passwd"), stamp("usr/bin/apt-get"));
    let out = debian(&["--overlay"], "apt-get --version | head -1; useradd -m bob && id -u bob; echo changed > /usr/bin/apt-get; dpkg -l | grep -c ^ii");
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("apt "), "{out:?}");
    assert_eq!(lines[1], "1000", "{out:?}");
    assert!(lines[2].parse::<u32>().unwrap() > 50, "{out:?}");
    assert_eq!((stamp("var/lib/dpkg/status"), stamp("etc/passwd"), stamp("usr/bin/apt-get")), before, "the rootfs is as it was");
    assert!(!root.join("home/bob").exists());
}

#[test]
fn host_name_resolution_terminal_type_and_cgroup_limits() {
    let _g = shared();
    // hostname -f needs the host name in /etc/hosts (sudo's "unable to resolve host" otherwise).
    let out = run(launcher(&["--net", "host", "--hostname", "box", "--memory", "64M", "--add-host", "db:10.9.8.7"], &debian_rootfs())
        .args(["/bin/bash", "-c", "hostname -f; getent hosts db; cat /etc/hostname; echo $TERM; tput cols >/dev/null && echo tput-ok; cat /sys/fs/cgroup/memory/memory.limit_in_bytes"])
        .env("TERM", "xterm-kitty"));
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "box", "{out:?}");
    assert!(lines[1].starts_with("10.9.8.7") && lines[1].ends_with("db"), "{out:?}");
    assert_eq!(lines[2..], ["box", "xterm-256color", "tput-ok", "67108864"], "{out:?}");
    assert!(!out.stderr.contains("unknown terminal"), "{out:?}");
}

#[test]
fn pasta_gives_debian_a_network_with_dns() {
    let _g = shared();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            use std::io::Write;
            let _ = s.write_all(b"hello debian\n");
        }
    });
    // minbase has no iproute2: /proc/net tells, and bash's /dev/tcp connects.
    let script = format!(
        "grep -c ': ' /proc/net/dev; gw=$(awk '$2==\"00000000\" {{print $3}}' /proc/net/route); echo ${{gw:+default}}; \
         ip=$(printf '%d.%d.%d.%d' 0x${{gw:6:2}} 0x${{gw:4:2}} 0x${{gw:2:2}} 0x${{gw:0:2}}); \
         for i in 1 2 3; do r=$(exec 3<>/dev/tcp/$ip/{port} && timeout 2 head -1 <&3); [ -n \"$r\" ] && {{ echo \"$r\"; break; }}; done; \
         grep -c ^nameserver /etc/resolv.conf; getent hosts localhost | head -1"
    );
    let out = debian(&["--net", "pasta"], &script);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..4], ["2", "default", "hello debian", "1"], "lo and eth0, a default route, the host reached, a name server: {out:?}");
    assert!(lines[4].contains("localhost"), "{out:?}");
}

#[test]
fn exec_gets_the_containers_confinement() {
    let _g = shared();
    let name = format!("debian-exec-{}", std::process::id());
    let mut c = Running::spawn(launcher(&["--name", &name, "--user", "nobody"], &debian_rootfs()).args(["sleep", "30"]));
    let exec = |words: &[&str]| run(Command::new(bin("launcher")).arg("exec").arg(&name).args(words));
    assert!(eventually(Duration::from_secs(5), || exec(&["true"]).code == 0));
    let pid1 = exec(&["grep", "-E", "^(CapEff|Seccomp|NoNewPrivs):", "/proc/1/status"]).stdout;
    let mine = exec(&["grep", "-E", "^(CapEff|Seccomp|NoNewPrivs):", "/proc/self/status"]);
    assert_eq!(mine.stdout, pid1.replace("CapEff:\t00000000a80425fb", "CapEff:\t0000000000000000"), "{mine:?}");
    assert!(mine.stdout.contains("Seccomp:\t2") && mine.stdout.contains("NoNewPrivs:\t1"), "{mine:?}");
    let id = exec(&["id", "-un"]);
    assert_eq!(id.stdout, "nobody\n", "the container's user: {id:?}");
    let cg = exec(&["cat", "/proc/self/cgroup"]);
    assert!(cg.stdout.lines().all(|l| l.ends_with(":/")), "in the container's cgroup, its namespace's root: {cg:?}");
    c.signal(libc::SIGTERM);
    assert!(c.wait(Duration::from_secs(10)).is_some());
}
