//! `cargo xtask run [-- COMMAND...]`: build, make the default rootfs if missing, and run
//! `target/knocker/launcher target/containers/busybox COMMAND`. Without a command: an interactive /bin/sh
//! when stdin is a terminal, else a short demo of what the container sees.

use crate::{build, rootfs, util};
use std::io::IsTerminal;
use std::process::Command;

const DEMO: &str = "echo \"hostname: $(hostname)\"; echo '--- ps (the init is PID 1, this shell PID 2)'; ps; \
echo '--- mount'; mount; echo '--- ip link'; ip link";

pub fn run(args: &[String]) -> Result<(), String> {
    let command: Vec<String> = match args.split_first() {
        Some((dd, rest)) if dd == "--" => rest.to_vec(),
        Some((other, _)) => return Err(format!("run: expected -- before the command, got '{other}'")),
        None => Vec::new(),
    };
    if !util::is_root() {
        return Err("run starts a container, which needs root: run it as root (sudo -E cargo xtask run)".into());
    }
    let built = build::build()?;
    let rootfs = rootfs::ensure_default()?;
    let mut cmd = Command::new(built.launcher());
    cmd.arg(&rootfs);
    if !command.is_empty() {
        cmd.args(&command);
    } else if !std::io::stdin().is_terminal() {
        cmd.args(["/bin/sh", "-c", DEMO]);
    }
    eprintln!("xtask: {}", util::show(&cmd));
    let status = cmd.status().map_err(|e| format!("cannot run the launcher: {e}"))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(c) => std::process::exit(c),
        None => Err(format!("launcher ended by {status}")),
    }
}
