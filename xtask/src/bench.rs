//! `cargo xtask bench [--quick]`: knocker against runc, bubblewrap, unshare, tini, dumb-init and
//! catatonit, measured in the same run on the same rootfs (`--vm`: only the VM's table, knocker
//! against crun and runc on cgroup v2). Prints the tables and writes
//! target/bench/report.md, report.json and launch.svg, and appends the report to
//! docs/benchmarks.md. Benchmarks are not tests: nothing here fails for being slow.
//!
//! Timed commands run interleaved (A B C … A B C …) so the machine's drift hits all alike, and
//! every figure is quoted as median, min and max, with each peer's median over knocker's.

use crate::build::{self, group};
use crate::util::{ensure_packages, is_root, output, root, target_dir};
use crate::{rootfs, svg};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn run(args: &[String]) -> Result<(), String> {
    let (quick, vm_only) = match args {
        [] => (false, false),
        [q] if q == "--quick" => (true, false),
        [q] if q == "--vm" => (false, true),
        _ => return Err("usage: cargo xtask bench [--quick | --vm]".into()),
    };
    if !is_root() {
        return Err("bench starts containers and needs root".into());
    }
    ensure_packages(&["runc", "bubblewrap", "tini", "dumb-init", "catatonit", "valgrind", "passt"], "the benchmark's peers")?;
    let built = build::build()?;
    let probe = build::probe(&built)?;
    let rootfs = rootfs::ensure_default()?;
    let started = Instant::now();
    let b = Bench { launcher: built.launcher(), init: built.init(), knocker: built.knocker(), probe, rootfs, quick, dir: target_dir().join("bench") };
    std::fs::create_dir_all(&b.dir).map_err(|e| e.to_string())?;

    let mut report = Report::default();
    if vm_only {
        // Only the VM's table, printed (not added to docs/benchmarks.md).
        report.in_vm(&b.in_vm(&built)?);
        print!("{}", report.md);
        return Ok(());
    }
    report.header(quick);
    eprintln!("bench: launch to exit");
    let launch = b.launch_to_exit()?;
    report.launch(&launch);
    eprintln!("bench: throughput");
    report.throughput(&b.throughput()?);
    eprintln!("bench: sizes");
    report.sizes(&b.sizes());
    eprintln!("bench: memory");
    report.memory(&b.launcher_memory()?, &b.init_memory()?);
    eprintln!("bench: the inits' work");
    report.init_work(&b.reaping()?, &b.signal_latency()?);
    eprintln!("bench: instruction counts (callgrind)");
    report.instructions(&b.instructions()?);
    eprintln!("bench: the seccomp filter");
    report.seccomp(&b.seccomp()?);
    eprintln!("bench: podman with knocker and with runc");
    report.engines(&b.engines()?);
    eprintln!("bench: in the VM (cgroup v2): knocker, crun and runc");
    report.in_vm(&b.in_vm(&built)?);
    let _ = writeln!(report.md, "\nWall time of this benchmark run: {:.0} s.", started.elapsed().as_secs_f64());

    print!("{}", report.md);
    let svg = svg::launch_chart(&launch);
    std::fs::write(b.dir.join("launch.svg"), svg).map_err(|e| e.to_string())?;
    std::fs::write(b.dir.join("report.md"), &report.md).map_err(|e| e.to_string())?;
    std::fs::write(b.dir.join("report.json"), report.json()).map_err(|e| e.to_string())?;
    let docs = root().join("docs/benchmarks.md");
    let mut all = std::fs::read_to_string(&docs).unwrap_or_else(|_| "# knocker benchmarks\n\nEach section is one run of `cargo xtask bench`, newest last.\n".into());
    all.push('\n');
    all.push_str(&report.md);
    std::fs::write(&docs, all).map_err(|e| e.to_string())?;
    eprintln!("bench: wrote target/bench/report.md, report.json, launch.svg; appended to docs/benchmarks.md");
    Ok(())
}

struct Bench {
    launcher: PathBuf,
    init: PathBuf,
    knocker: PathBuf,
    probe: PathBuf,
    rootfs: PathBuf,
    quick: bool,
    dir: PathBuf,
}

/// Milliseconds (or any unit) of repeated measurements.
#[derive(Clone)]
pub struct Sample {
    pub name: String,
    pub values: Vec<f64>,
    pub knocker: bool,
}

impl Sample {
    fn new(name: &str, knocker: bool) -> Sample {
        Sample { name: name.into(), values: Vec::new(), knocker }
    }
    pub fn median(&self) -> f64 {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        let n = v.len();
        if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
    }
    pub fn min(&self) -> f64 {
        self.values.iter().copied().fold(f64::INFINITY, f64::min)
    }
    pub fn max(&self) -> f64 {
        self.values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }
}

/// Runs a command to completion, all output discarded; its wall time in ms.
fn timed(argv: &[String]) -> Result<f64, String> {
    let start = Instant::now();
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if !status.success() {
        return Err(format!("{} failed ({status})", argv.join(" ")));
    }
    Ok(ms)
}

fn words(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn median_of(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

impl Bench {
    fn p(path: &Path) -> String {
        path.display().to_string()
    }

    /// The commands of the launch-to-exit table; `{id}` in runc's argv becomes a fresh id.
    fn launch_commands(&self) -> Result<Vec<(String, Vec<String>, bool)>, String> {
        let (l, r) = (Self::p(&self.launcher), Self::p(&self.rootfs));
        let bundle = self.runc_bundle()?;
        let (user, home) = self.rootless_home("knocker-bench", true)?;
        let (single, single_home) = self.rootless_home("knocker-bench1", false)?;
        let as_who = |who: &str, argv: &[&str]| {
            let mut w = words(&["setpriv", "--reuid", who, "--regid", who, "--init-groups", "--"]);
            w.extend(argv.iter().map(|s| s.to_string()));
            w
        };
        let as_user = |argv: &[&str]| as_who(&user, argv);
        let (ul, ur) = (format!("{home}/bin/launcher"), format!("{home}/rootfs"));
        Ok(vec![
            ("knocker (init, all namespaces)".into(), words(&[&l, &r, "/bin/true"]), true),
            ("knocker --no-init".into(), words(&[&l, "--no-init", &r, "/bin/true"]), false),
            ("knocker --seccomp=unconfined".into(), words(&[&l, "--seccomp=unconfined", &r, "/bin/true"]), false),
            ("knocker --memory 64M --pids 64".into(), words(&[&l, "--memory", "64M", "--pids", "64", &r, "/bin/true"]), false),
            ("knocker --overlay".into(), words(&[&l, "--overlay", &r, "/bin/true"]), false),
            ("knocker --net pasta".into(), words(&[&l, "--net", "pasta", &r, "/bin/true"]), false),
            ("knocker --net host (+ resolv.conf, hosts)".into(), words(&[&l, "--net", "host", &r, "/bin/true"]), false),
            ("unshare -pfmuin --root".into(), words(&["unshare", "-pfmuin", &format!("--root={r}"), "/bin/true"]), false),
            (
                "bwrap --unshare-all".into(),
                words(&["bwrap", "--unshare-all", "--bind", &r, "/", "--proc", "/proc", "--dev", "/dev", "/bin/true"]),
                false,
            ),
            ("runc run".into(), words(&["runc", "run", "-b", &Self::p(&bundle), "{id}"]), false),
            (
                "knocker run (OCI, same bundle)".into(),
                words(&[&Self::p(&self.knocker), "--root", &Self::p(&self.dir.join("knocker-state")), "run", "-b", &Self::p(&bundle), "{id}"]),
                false,
            ),
            ("knocker as a user (rootless: + user namespace, subordinate ids)".into(), as_user(&[&ul, &ur, "/bin/true"]), false),
            (
                "knocker as a user without subordinate ids (maps only the user, as bwrap)".into(),
                as_who(&single, &[&format!("{single_home}/bin/launcher"), &format!("{single_home}/rootfs"), "/bin/true"]),
                false,
            ),
            (
                "bwrap --unshare-all as the same user".into(),
                as_user(&["bwrap", "--unshare-all", "--bind", &ur, "/", "--proc", "/proc", "--dev", "/dev", "/bin/true"]),
                false,
            ),
            ("chroot ROOTFS /bin/true (floor)".into(), words(&["chroot", &r, "/bin/true"]), false),
            ("ROOTFS/bin/true (floor)".into(), words(&[&format!("{r}/bin/true")]), false),
        ])
    }

    /// A user of the benchmark's own with copies of the launcher, the init and the rootfs it
    /// owns, for the rootless rows (run through `setpriv`, as the peer is); with `subordinate`
    /// ids in /etc/subuid and /etc/subgid (useradd's own choice of range) or none.
    fn rootless_home(&self, user: &str, subordinate: bool) -> Result<(String, String), String> {
        let user = user.to_string();
        let _ = Command::new("useradd").args(["-M", "-s", "/bin/sh", &user]).stderr(Stdio::null()).status();
        for file in ["/etc/subuid", "/etc/subgid"] {
            let old = std::fs::read_to_string(file).unwrap_or_default();
            let mine = |l: &&str| l.starts_with(&format!("{user}:"));
            if subordinate && !old.lines().any(|l| mine(&l)) {
                return Err(format!("useradd gave {user} no range in {file} (SUB_UID_COUNT in /etc/login.defs?)"));
            }
            if !subordinate && old.lines().any(|l| mine(&l)) {
                let kept: String = old.lines().filter(|l| !mine(l)).map(|l| format!("{l}\n")).collect();
                std::fs::write(file, kept).map_err(|e| format!("{file}: {e}"))?;
            }
        }
        let home = std::env::temp_dir().join(format!("{user}-rootless"));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(home.join("bin")).map_err(|e| e.to_string())?;
        for p in [&self.launcher, &self.init] {
            std::fs::copy(p, home.join("bin").join(p.file_name().unwrap())).map_err(|e| e.to_string())?;
        }
        crate::util::checked(Command::new("cp").arg("-a").arg(&self.rootfs).arg(home.join("rootfs")))?;
        crate::util::checked(Command::new("chown").args(["-R", &format!("{user}:{user}")]).arg(&home))?;
        Ok((user, Self::p(&home)))
    }

    /// An OCI bundle for the same rootfs, from `runc spec`, running /bin/true without a terminal.
    fn runc_bundle(&self) -> Result<PathBuf, String> {
        let bundle = self.dir.join("runc-bundle");
        std::fs::create_dir_all(&bundle).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(bundle.join("config.json"));
        crate::util::checked(Command::new("runc").arg("spec").current_dir(&bundle))?;
        let spec = std::fs::read_to_string(bundle.join("config.json")).map_err(|e| e.to_string())?;
        let spec = spec
            .replace("\"terminal\": true", "\"terminal\": false")
            .replace("\"sh\"", "\"/bin/true\"")
            .replace("\"path\": \"rootfs\"", &format!("\"path\": \"{}\"", self.rootfs.display()));
        std::fs::write(bundle.join("config.json"), spec).map_err(|e| e.to_string())?;
        Ok(bundle)
    }

    fn launch_to_exit(&self) -> Result<Vec<Sample>, String> {
        let commands = self.launch_commands()?;
        let rounds = if self.quick { 100 } else { 400 };
        let mut samples: Vec<Sample> = commands.iter().map(|(n, _, k)| Sample::new(n, *k)).collect();
        let mut id = 0u64;
        for round in 0..rounds + 5 {
            for (i, (_, argv, _)) in commands.iter().enumerate() {
                id += 1;
                let argv: Vec<String> = argv.iter().map(|a| a.replace("{id}", &format!("knocker-bench-{}-{id}", std::process::id()))).collect();
                let ms = timed(&argv)?;
                if round >= 5 {
                    samples[i].values.push(ms);
                }
            }
        }
        // The rootless rows' homes (see `rootless_home`).
        for user in ["knocker-bench", "knocker-bench1"] {
            let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("{user}-rootless")));
        }
        Ok(samples)
    }

    fn throughput(&self) -> Result<Vec<(String, usize, f64)>, String> {
        let n = if self.quick { 200 } else { 1000 };
        let (l, r) = (Self::p(&self.launcher), Self::p(&self.rootfs));
        let cmds = [
            ("knocker", words(&[&l, &r, "/bin/true"])),
            ("unshare -pfmuin", words(&["unshare", "-pfmuin", &format!("--root={r}"), "/bin/true"])),
            ("bwrap --unshare-all", words(&["bwrap", "--unshare-all", "--bind", &r, "/", "--proc", "/proc", "--dev", "/dev", "/bin/true"])),
        ];
        let mut out = Vec::new();
        for (name, argv) in cmds {
            let start = Instant::now();
            for _ in 0..n {
                timed(&argv)?;
            }
            out.push((name.to_string(), n, start.elapsed().as_secs_f64()));
        }
        Ok(out)
    }

    fn sizes(&self) -> Vec<(String, String, Option<u64>, bool, &'static str)> {
        let peers: [(&str, PathBuf, &'static str); 10] = [
            ("knocker launcher", self.launcher.clone(), "launcher"),
            ("knocker (OCI runtime)", self.knocker.clone(), "runtime"),
            ("knocker init", self.init.clone(), "init"),
            ("tini", "/usr/bin/tini".into(), "init"),
            ("tini-static", "/usr/bin/tini-static".into(), "init"),
            ("dumb-init", "/usr/bin/dumb-init".into(), "init"),
            ("catatonit", "/usr/bin/catatonit".into(), "init"),
            ("bwrap", "/usr/bin/bwrap".into(), "launcher"),
            ("unshare", "/usr/bin/unshare".into(), "launcher"),
            ("runc", "/usr/sbin/runc".into(), "runtime"),
        ];
        peers
            .into_iter()
            .map(|(name, path, kind)| {
                let elf = std::fs::read(&path).ok();
                let size = elf.as_ref().map(|e| e.len() as u64);
                let is_static = elf.as_ref().is_some_and(|e| !has_interp(e));
                (name.to_string(), path.display().to_string(), size, is_static, kind)
            })
            .collect()
    }

    /// Peak RSS (VmHWM) of each launcher's own process while its container runs `sleep 2`.
    fn launcher_memory(&self) -> Result<Vec<(String, f64, f64)>, String> {
        let (l, r) = (Self::p(&self.launcher), Self::p(&self.rootfs));
        let bundle = self.runc_bundle()?;
        let config = bundle.join("config.json");
        let spec = std::fs::read_to_string(&config).map_err(|e| e.to_string())?;
        std::fs::write(&config, spec.replace("\"/bin/true\"", "\"/bin/sleep\", \"2\"")).map_err(|e| e.to_string())?;
        let cmds = [
            ("knocker launcher", words(&[&l, &r, "/bin/sleep", "2"])),
            ("unshare -pfmuin", words(&["unshare", "-pfmuin", &format!("--root={r}"), "/bin/sleep", "2"])),
            ("bwrap --unshare-all", words(&["bwrap", "--unshare-all", "--bind", &r, "/", "--proc", "/proc", "--dev", "/dev", "/bin/sleep", "2"])),
            ("runc run", words(&["runc", "run", "-b", &Self::p(&bundle), &format!("knocker-bench-mem-{}", std::process::id())])),
            (
                "knocker run (OCI)",
                words(&[&Self::p(&self.knocker), "--root", &Self::p(&self.dir.join("knocker-state")), "run", "-b", &Self::p(&bundle), &format!("knocker-bench-mem-{}", std::process::id())]),
            ),
        ];
        let runs = if self.quick { 1 } else { 3 };
        let mut out = Vec::new();
        for (name, argv) in cmds {
            let (mut hwm, mut rss) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let mut child = Command::new(&argv[0]).args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_millis(1200));
                let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
                hwm.push(kb(&status, "VmHWM:"));
                rss.push(kb(&status, "VmRSS:"));
                let _ = child.wait();
            }
            out.push((name.to_string(), median_of(&mut hwm), median_of(&mut rss)));
        }
        Ok(out)
    }

    /// The inits under comparison: name and argv before COMMAND.
    fn inits(&self) -> Vec<(&'static str, Vec<String>)> {
        vec![
            ("knocker init", words(&[&Self::p(&self.init), "--"])),
            ("tini-static", words(&["/usr/bin/tini-static", "--"])),
            ("tini", words(&["/usr/bin/tini", "--"])),
            ("dumb-init", words(&["/usr/bin/dumb-init"])),
            ("catatonit", words(&["/usr/bin/catatonit", "--"])),
        ]
    }

    /// VmRSS and Pss of each init as PID 1 of a new PID namespace running `sleep 2`.
    fn init_memory(&self) -> Result<Vec<(String, f64, f64)>, String> {
        let runs = if self.quick { 1 } else { 3 };
        let mut out = Vec::new();
        for (name, prefix) in self.inits() {
            let (mut rss, mut pss) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let mut child = Command::new("unshare")
                    .args(["-pf", "--mount-proc"])
                    .args(&prefix)
                    .args(["sleep", "2"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_millis(700));
                let pid = child.id();
                let kids = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
                if let Some(init) = kids.split_whitespace().next() {
                    let status = std::fs::read_to_string(format!("/proc/{init}/status")).unwrap_or_default();
                    let smaps = std::fs::read_to_string(format!("/proc/{init}/smaps_rollup")).unwrap_or_default();
                    rss.push(kb(&status, "VmRSS:"));
                    pss.push(kb(&smaps, "Pss:"));
                }
                let _ = child.wait();
            }
            out.push((name.to_string(), median_of(&mut rss), median_of(&mut pss)));
        }
        Ok(out)
    }

    /// Milliseconds for each init (PID 1 of a namespace) to reap 10,000 orphans from one burst.
    fn reaping(&self) -> Result<Vec<Sample>, String> {
        let runs = if self.quick { 3 } else { 9 };
        let mut samples: Vec<Sample> = self.inits().iter().map(|(n, _)| Sample::new(n, *n == "knocker init")).collect();
        for _ in 0..runs {
            for (i, (_, prefix)) in self.inits().iter().enumerate() {
                let out = output(Command::new("unshare").args(["-pf", "--mount-proc"]).args(prefix).arg(&self.probe).args(["orphans", "10000"]))?;
                let us: f64 = out.trim().parse().map_err(|_| format!("probe orphans said {out:?}"))?;
                samples[i].values.push(us / 1000.0);
            }
        }
        Ok(samples)
    }

    /// Microseconds from a SIGUSR1 sent to the init until its child has it (median of many).
    fn signal_latency(&self) -> Result<Vec<Sample>, String> {
        let n = if self.quick { 300 } else { 1000 };
        let mut out = Vec::new();
        for (name, mut prefix) in self.inits() {
            // Not PID 1 here: subreaper mode where the init has one (-s); catatonit and
            // dumb-init need nothing.
            if name.starts_with("tini") || name == "knocker init" {
                prefix.insert(1, "-s".into());
            }
            let mut child = Command::new(&prefix[0])
                .args(&prefix[1..])
                .arg(&self.probe)
                .args(["signals", &n.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?;
            let mut pipe = child.stdout.take().unwrap();
            let mut byte = [0u8];
            pipe.read_exact(&mut byte).map_err(|e| format!("{name}: {e}"))?;
            let mut s = Sample::new(name, name == "knocker init");
            for _ in 0..n {
                let start = Instant::now();
                // SAFETY: kill(2) of the init this benchmark started.
                unsafe { kill(child.id() as i32, 10) };
                pipe.read_exact(&mut byte).map_err(|e| format!("{name}: {e}"))?;
                s.values.push(start.elapsed().as_secs_f64() * 1e6);
            }
            let _ = child.wait();
            out.push(s);
        }
        Ok(out)
    }

    /// Instructions executed by each launcher's own process (valgrind's callgrind), which stay
    /// put on a noisy machine.
    fn instructions(&self) -> Result<Vec<(String, Option<u64>)>, String> {
        let (l, r) = (Self::p(&self.launcher), Self::p(&self.rootfs));
        let cmds = [
            ("knocker (init, all namespaces)", words(&[&l, &r, "/bin/true"])),
            ("knocker --no-init", words(&[&l, "--no-init", &r, "/bin/true"])),
            ("knocker --memory 64M --pids 64", words(&[&l, "--memory", "64M", "--pids", "64", &r, "/bin/true"])),
            ("unshare -pfmuin --root", words(&["unshare", "-pfmuin", &format!("--root={r}"), "/bin/true"])),
            ("bwrap --unshare-all", words(&["bwrap", "--unshare-all", "--bind", &r, "/", "--proc", "/proc", "--dev", "/dev", "/bin/true"])),
        ];
        let dir = self.dir.join("callgrind");
        let mut out = Vec::new();
        for (name, argv) in cmds {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let status = Command::new("valgrind")
                .args(["--tool=callgrind", "--trace-children=no"])
                .arg(format!("--callgrind-out-file={}/cg.%p", dir.display()))
                .args(&argv)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| e.to_string())?;
            let mut total = 0u64;
            for f in std::fs::read_dir(&dir).map_err(|e| e.to_string())?.flatten() {
                let text = std::fs::read_to_string(f.path()).unwrap_or_default();
                total += text.lines().find_map(|l| l.strip_prefix("summary: ")).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
            }
            out.push((name.to_string(), (status.success() && total > 0).then_some(total)));
        }
        Ok(out)
    }
}

/// The default filter's length, and the time of one allowed syscall with and without it.
struct Seccomp {
    instructions: usize,
    with_ns: f64,
    without_ns: f64,
    calls: u64,
}

impl Bench {
    /// `launcher -v` says how long the filter is; the probe times `getppid` in a loop in a
    /// container with the filter and in one without it (medians of several runs).
    fn seccomp(&self) -> Result<Seccomp, String> {
        let (l, r) = (Self::p(&self.launcher), Self::p(&self.rootfs));
        let probe_in_rootfs = self.rootfs.join("probe");
        std::fs::copy(&self.probe, &probe_in_rootfs).map_err(|e| e.to_string())?;
        let verbose = Command::new(&l).args(["-v", &r, "/bin/true"]).stdin(Stdio::null()).output().map_err(|e| e.to_string())?;
        let said = String::from_utf8_lossy(&verbose.stderr).into_owned();
        let instructions = said
            .lines()
            .find_map(|l| l.strip_prefix("launcher: seccomp filter installed: "))
            .and_then(|rest| rest.split(' ').next()?.parse().ok())
            .ok_or_else(|| format!("launcher -v did not say the filter's length: {said}"))?;
        let calls: u64 = if self.quick { 200_000 } else { 1_000_000 };
        let runs = if self.quick { 3 } else { 9 };
        let per_call = |extra: &[&str]| -> Result<f64, String> {
            let mut v = Vec::new();
            for _ in 0..runs {
                let out = Command::new(&l).args(extra).args([r.as_str(), "/probe", "getppid", &calls.to_string()]).output().map_err(|e| e.to_string())?;
                let ns: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| format!("probe getppid: {out:?}"))?;
                v.push(ns / calls as f64);
            }
            Ok(median_of(&mut v))
        };
        let with_ns = per_call(&[])?;
        let without_ns = per_call(&["--seccomp=unconfined"])?;
        let _ = std::fs::remove_file(probe_in_rootfs);
        Ok(Seccomp { instructions, with_ns, without_ns, calls })
    }
}

impl Bench {
    /// `podman run --rm IMAGE /bin/true` with `--runtime knocker` and with runc, interleaved.
    fn engines(&self) -> Result<Vec<Sample>, String> {
        ensure_packages(&["podman", "catatonit"], "the engine benchmark")?;
        let image = "localhost/knocker-bench-rootfs";
        let import = format!("tar -C {} -c . | podman import - {image} >/dev/null", self.rootfs.display());
        crate::util::checked(Command::new("sh").args(["-c", &import]))?;
        let knocker = Self::p(&self.knocker);
        let base = |runtime: &str| {
            words(&["podman", "--runtime", runtime, "--cgroup-manager", "cgroupfs", "run", "--rm", "--network", "none",
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", image, "/bin/true"])
        };
        let cmds = [("podman --runtime knocker", base(&knocker), true), ("podman --runtime runc", base("/usr/sbin/runc"), false)];
        let rounds = if self.quick { 5 } else { 20 };
        let mut samples: Vec<Sample> = cmds.iter().map(|(n, _, k)| Sample::new(n, *k)).collect();
        for round in 0..rounds + 1 {
            for (i, (_, argv, _)) in cmds.iter().enumerate() {
                let ms = timed(argv)?;
                if round >= 1 {
                    samples[i].values.push(ms);
                }
            }
        }
        Ok(samples)
    }
}

/// The guest's side of the VM benchmark: a bundle over the box's rootfs, then the runtimes'
/// `run` of `/bin/true` interleaved, each timed by the probe.
const VM_BENCH: &str = r#"#!/bin/sh
mkdir -p /tmp/b && cd /tmp/b || exit 1
knocker spec
# crun 1.8 knows runtime-spec versions up to 1.1; runc wants a root that is no symlink.
sed -i 's/"terminal": true/"terminal": false/; s/^\(\s*\)"sh"$/\1"\/bin\/true"/; s/"ociVersion": "[^"]*"/"ociVersion": "1.0.2"/; s|"path": "rootfs"|"path": "/var/lib/knocker/rootfs"|' config.json
# The box's root is the initramfs, where pivot_root cannot work: crun and runc are told so
# (--no-pivot); knocker finds out and uses its chroot fallback (without CAP_SYS_CHROOT).
for r in knocker crun runc; do
    $r run --no-pivot first-$r >/tmp/$r.out 2>&1 </dev/null || { echo "vm-bench $r failed: $(head -c 300 /tmp/$r.out | tr '
' ' ')"; }
done
n=0
while [ $n -lt ROUNDS ]; do
    for r in knocker crun runc; do
        echo "vm-bench $r $(/usr/bin/probe time /usr/bin/$r run --no-pivot c$n-$r)"
    done
    n=$((n + 1))
done
echo "vm-bench done"
"#;

impl Bench {
    /// `knocker run`, `crun run` and `runc run` of `/bin/true` on one bundle inside the VM
    /// (Debian's cloud kernel, cgroup v2, qemu TCG: slow in absolute terms, so the ratios are
    /// the figures). crun and runc go in with the shared libraries `ldd` names.
    fn in_vm(&self, built: &build::Built) -> Result<Vec<Sample>, String> {
        ensure_packages(&["crun", "runc", "qemu-system-x86"], "the VM benchmark")?;
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let mut entries = crate::image::with_libraries(Path::new("/usr/bin/crun"), "usr/bin/crun")?;
        entries.extend(crate::image::with_libraries(Path::new("/usr/sbin/runc"), "usr/bin/runc")?);
        entries.push(("usr/bin/probe".into(), 0o755, read(&self.probe)?));
        let rounds = if self.quick { 5 } else { 15 };
        entries.push(("etc/job".into(), 0o755, VM_BENCH.replace("ROUNDS", &(rounds + 1).to_string()).into_bytes()));
        let initrd = target_dir().join("vm/bench.cpio.gz");
        crate::image::write(&initrd, &crate::image::image(built, &entries)?)?;
        let boot = crate::vm::boot(&initrd, false, None, Duration::from_secs(900), |log| log.iter().any(|l| l.contains("vm-bench done")))?;
        if !boot.has("vm-bench done") {
            return Err(format!("the VM benchmark did not finish:
{}", boot.show()));
        }
        let mut samples = vec![Sample::new("knocker run (VM)", true), Sample::new("crun run (VM)", false), Sample::new("runc run (VM)", false)];
        for line in &boot.log {
            let w: Vec<&str> = line.split_whitespace().collect();
            if let ["vm-bench", r, "failed:", ..] = w.as_slice() {
                eprintln!("bench: in the VM, {r} could not run: {line}");
            }
            if w.first() == Some(&"vm-bench") && std::env::var_os("KNOCKER_BENCH_DEBUG").is_some() {
                eprintln!("{line}");
            }
            if let ["vm-bench", r, "usec", us, "status", "0"] = w.as_slice() {
                let i = ["knocker", "crun", "runc"].iter().position(|n| n == r).unwrap();
                if let Ok(us) = us.parse::<f64>() {
                    samples[i].values.push(us / 1000.0);
                }
            }
        }
        // The first round warms the page cache.
        for s in &mut samples {
            if !s.values.is_empty() {
                s.values.remove(0);
            }
        }
        Ok(samples)
    }
}

impl Report {
    fn in_vm(&mut self, samples: &[Sample]) {
        let base = samples.iter().find(|s| s.knocker).map(Sample::median).unwrap_or(f64::NAN);
        let n = samples.first().map_or(0, |s| s.values.len());
        let _ = writeln!(self.md, "\n### In the VM, cgroup v2: `run` of `/bin/true` on one bundle ({n} runs each, interleaved)\n");
        let _ = writeln!(self.md, "Debian's cloud kernel under qemu TCG (emulated: slow in absolute terms; the ratios are the figures). A runtime that could not run there has no row.\n");
        let _ = writeln!(self.md, "| runtime | median ms | min ms | max ms | median ÷ knocker's |\n|---|---:|---:|---:|---:|");
        let mut rows = Vec::new();
        for s in samples.iter().filter(|s| !s.values.is_empty()) {
            let _ = writeln!(self.md, "| {} | {:.1} | {:.1} | {:.1} | {} |", s.name, s.median(), s.min(), s.max(), ratio(s.median(), base));
            rows.push(format!("{{\"runtime\": {:?}, \"median_ms\": {:.2}}}", s.name, s.median()));
        }
        self.json.push(format!("\"vm\": [{}]", rows.join(", ")));
    }

    fn engines(&mut self, samples: &[Sample]) {
        let base = samples.iter().find(|s| s.knocker).map(Sample::median).unwrap_or(f64::NAN);
        let n = samples.first().map_or(0, |s| s.values.len());
        let _ = writeln!(self.md, "\n### podman run --rm IMAGE /bin/true, by runtime ({n} runs each, interleaved)\n");
        let _ = writeln!(self.md, "| runtime | median ms | min ms | max ms | median ÷ knocker's |\n|---|---:|---:|---:|---:|");
        let mut rows = Vec::new();
        for s in samples {
            let _ = writeln!(self.md, "| {} | {:.1} | {:.1} | {:.1} | {} |", s.name, s.median(), s.min(), s.max(), ratio(s.median(), base));
            rows.push(format!("{{\"runtime\": {:?}, \"median_ms\": {:.2}}}", s.name, s.median()));
        }
        let _ = writeln!(self.md, "\nThe engine's own work (image, storage, conmon, network setup) is most of each run; the difference is the runtime's.");
        self.json.push(format!("\"podman\": [{}]", rows.join(", ")));
    }

    fn seccomp(&mut self, s: &Seccomp) {
        let _ = writeln!(self.md, "
### The default seccomp filter
");
        let _ = writeln!(
            self.md,
            "An allow list as Docker's default profile, {} classic-BPF instructions, searched as a tree. `getppid` in a loop of {} calls inside a container (median of the runs): **{:.1} ns** a call with the filter, {:.1} ns without (`--seccomp=unconfined`): the filter costs **{:.1} ns** a syscall.",
            s.instructions,
            s.calls,
            s.with_ns,
            s.without_ns,
            s.with_ns - s.without_ns
        );
        self.json.push(format!(
            "\"seccomp\": {{\"instructions\": {}, \"getppid_ns_with\": {:.2}, \"getppid_ns_without\": {:.2}}}",
            s.instructions, s.with_ns, s.without_ns
        ));
    }
}

unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

fn kb(status: &str, field: &str) -> f64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn has_interp(elf: &[u8]) -> bool {
    if elf.len() < 64 || !elf.starts_with(b"\x7fELF") {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
    (0..u16_at(56)).any(|i| {
        let at = phoff + i * u16_at(54);
        elf.get(at..at + 4).is_some_and(|t| u32::from_le_bytes(t.try_into().unwrap()) == 3)
    })
}

#[derive(Default)]
struct Report {
    md: String,
    json: Vec<String>,
}

fn ratio(x: f64, base: f64) -> String {
    if x.is_nan() || base.is_nan() || base == 0.0 { "–".into() } else { format!("{:.2}×", x / base) }
}

impl Report {
    fn header(&mut self, quick: bool) {
        let date = output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default();
        let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
        let kernel = output(Command::new("uname").arg("-r")).unwrap_or_default();
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
            .unwrap_or_default();
        let cmd = if quick { "cargo xtask bench --quick" } else { "cargo xtask bench" };
        let _ = writeln!(self.md, "## {} — `{cmd}`\n", date.trim());
        let _ = writeln!(self.md, "Machine: {nproc} CPUs ({cpu}), kernel {}. Rootfs: the default busybox rootfs (`cargo xtask rootfs`).\n", kernel.trim());
        self.json.push(format!("\"date\": {:?}, \"command\": {cmd:?}, \"nproc\": {nproc}, \"kernel\": {:?}, \"cpu\": {cpu:?}", date.trim(), kernel.trim()));
    }

    fn launch(&mut self, samples: &[Sample]) {
        let base = samples.iter().find(|s| s.knocker).map(Sample::median).unwrap_or(f64::NAN);
        let n = samples.first().map_or(0, |s| s.values.len());
        let _ = writeln!(self.md, "### Launch to exit: `/bin/true` in the rootfs ({n} runs each, interleaved)\n");
        let _ = writeln!(self.md, "| command | median ms | min ms | max ms | median ÷ knocker's |\n|---|---:|---:|---:|---:|");
        let mut rows = Vec::new();
        for s in samples {
            let name = if s.knocker { format!("**{}**", s.name) } else { s.name.clone() };
            let _ = writeln!(self.md, "| {name} | {:.2} | {:.2} | {:.2} | {} |", s.median(), s.min(), s.max(), ratio(s.median(), base));
            rows.push(format!("{{\"command\": {:?}, \"median_ms\": {:.3}, \"min_ms\": {:.3}, \"max_ms\": {:.3}, \"runs\": {}}}", s.name, s.median(), s.min(), s.max(), s.values.len()));
        }
        self.json.push(format!("\"launch_to_exit\": [{}]", rows.join(", ")));
    }

    fn throughput(&mut self, rows: &[(String, usize, f64)]) {
        let _ = writeln!(self.md, "\n### Throughput: containers started and finished back to back\n");
        let _ = writeln!(self.md, "| launcher | containers | total s | containers/s | ÷ knocker's rate |\n|---|---:|---:|---:|---:|");
        let base = rows.first().map(|r| r.1 as f64 / r.2).unwrap_or(f64::NAN);
        let mut json = Vec::new();
        for (name, n, secs) in rows {
            let rate = *n as f64 / secs;
            let _ = writeln!(self.md, "| {name} | {n} | {secs:.2} | {rate:.0} | {} |", ratio(rate, base));
            json.push(format!("{{\"launcher\": {name:?}, \"containers\": {n}, \"seconds\": {secs:.3}}}"));
        }
        self.json.push(format!("\"throughput\": [{}]", json.join(", ")));
    }

    fn sizes(&mut self, rows: &[(String, String, Option<u64>, bool, &'static str)]) {
        let _ = writeln!(self.md, "\n### Size on disk (stripped as shipped)\n");
        let _ = writeln!(self.md, "| program | file | bytes | linking | ÷ knocker's |\n|---|---|---:|---|---:|");
        let ours = |kind: &str| rows.iter().find(|r| r.0.starts_with("knocker") && r.4 == kind).and_then(|r| r.2).unwrap_or(0) as f64;
        let mut json = Vec::new();
        for (name, path, size, is_static, kind) in rows {
            let bytes = size.map_or("missing".into(), |s| group(s as usize));
            let linking = if *is_static { "static" } else { "dynamic (+ libc)" };
            let r = size.map_or("–".into(), |s| ratio(s as f64, ours(kind)));
            let _ = writeln!(self.md, "| {name} | `{path}` | {bytes} | {linking} | {r} |");
            json.push(format!("{{\"program\": {name:?}, \"bytes\": {}, \"static\": {is_static}}}", size.unwrap_or(0)));
        }
        self.json.push(format!("\"sizes\": [{}]", json.join(", ")));
    }

    fn memory(&mut self, launchers: &[(String, f64, f64)], inits: &[(String, f64, f64)]) {
        let _ = writeln!(self.md, "\n### Memory\n\nThe launcher's own process while its container runs `sleep 2` (kB):\n");
        let _ = writeln!(self.md, "| launcher | peak RSS (VmHWM) | RSS | ÷ knocker's peak |\n|---|---:|---:|---:|");
        let base = launchers.first().map_or(f64::NAN, |r| r.1);
        for (name, hwm, rss) in launchers {
            let _ = writeln!(self.md, "| {name} | {hwm:.0} | {rss:.0} | {} |", ratio(*hwm, base));
        }
        let _ = writeln!(self.md, "\nEach init as PID 1 of `unshare -pf` running `sleep 2` (kB):\n");
        let _ = writeln!(self.md, "| init | VmRSS | Pss | ÷ knocker's VmRSS |\n|---|---:|---:|---:|");
        let base = inits.first().map_or(f64::NAN, |r| r.1);
        for (name, rss, pss) in inits {
            let _ = writeln!(self.md, "| {name} | {rss:.0} | {pss:.0} | {} |", ratio(*rss, base));
        }
        let l: Vec<String> = launchers.iter().map(|(n, h, r)| format!("{{\"launcher\": {n:?}, \"vmhwm_kb\": {h}, \"vmrss_kb\": {r}}}")).collect();
        let i: Vec<String> = inits.iter().map(|(n, r, p)| format!("{{\"init\": {n:?}, \"vmrss_kb\": {r}, \"pss_kb\": {p}}}")).collect();
        self.json.push(format!("\"memory\": {{\"launchers\": [{}], \"inits\": [{}]}}", l.join(", "), i.join(", ")));
    }

    fn init_work(&mut self, reap: &[Sample], signals: &[Sample]) {
        let _ = writeln!(self.md, "\n### The inits' work\n");
        let _ = writeln!(self.md, "| init | reap 10,000 orphans: median ms (min–max, {} runs) | ÷ knocker's | SIGUSR1 round trip: median µs (min–max, {} signals) | ÷ knocker's |", reap.first().map_or(0, |s| s.values.len()), signals.first().map_or(0, |s| s.values.len()));
        let _ = writeln!(self.md, "|---|---:|---:|---:|---:|");
        let rb = reap.first().map_or(f64::NAN, Sample::median);
        let sb = signals.first().map_or(f64::NAN, Sample::median);
        let mut json = Vec::new();
        for (r, s) in reap.iter().zip(signals) {
            let _ = writeln!(
                self.md,
                "| {} | {:.1} ({:.1}–{:.1}) | {} | {:.0} ({:.0}–{:.0}) | {} |",
                r.name, r.median(), r.min(), r.max(), ratio(r.median(), rb), s.median(), s.min(), s.max(), ratio(s.median(), sb)
            );
            json.push(format!("{{\"init\": {:?}, \"reap_10000_ms\": {:.2}, \"signal_round_trip_us\": {:.1}}}", r.name, r.median(), s.median()));
        }
        let _ = writeln!(self.md, "\nReaping: PID 1 of `unshare -pf --mount-proc`; the clock starts when the 10,000 zombies are orphaned onto the init and stops when /proc lists none. Signals: each init not PID 1 (`-s` where it has one); from `kill` to a byte written by the child's `sigtimedwait` loop and read back by the bench.");
        self.json.push(format!("\"init_work\": [{}]", json.join(", ")));
    }

    fn instructions(&mut self, rows: &[(String, Option<u64>)]) {
        let _ = writeln!(self.md, "\n### Instructions (valgrind callgrind, the launcher's own process)\n");
        let _ = writeln!(self.md, "| command | instructions | ÷ knocker's |\n|---|---:|---:|");
        let base = rows.first().and_then(|r| r.1).map_or(f64::NAN, |v| v as f64);
        let mut json = Vec::new();
        for (name, n) in rows {
            let shown = n.map_or("n/a".into(), |v| group(v as usize));
            let r = n.map_or("–".into(), |v| ratio(v as f64, base));
            let _ = writeln!(self.md, "| {name} | {shown} | {r} |");
            json.push(format!("{{\"command\": {name:?}, \"instructions\": {}}}", n.map_or("null".into(), |v| v.to_string())));
        }
        let _ = writeln!(self.md, "\nCallgrind counts a process until it exits or execs: the launcher process itself (its cloned child execs into the container, and is not counted), and likewise for unshare; bwrap's count also includes its PID-1 monitor, which never execs. The dynamic peers' counts include the dynamic loader and libc start-up. runc (Go) does not run under valgrind.");
        self.json.push(format!("\"instructions\": [{}]", json.join(", ")));
    }

    fn json(&self) -> String {
        format!("{{\n  {}\n}}\n", self.json.join(",\n  "))
    }
}
