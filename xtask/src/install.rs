//! `cargo xtask install [--prefix DIR]`: DIR/bin/launcher, DIR/bin/knocker (the OCI runtime) and
//! DIR/libexec/knocker/init.
//! The init is never put on the PATH under the name `init`: `sudo init 6` must keep reaching
//! the system's own init. The launcher finds it at ../libexec/knocker/init from its own path.

use crate::build;
use std::path::{Path, PathBuf};

pub fn run(args: &[String]) -> Result<(), String> {
    let mut prefix = PathBuf::from("/usr/local");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--prefix" => prefix = it.next().ok_or("install: --prefix needs a directory")?.into(),
            s if s.starts_with("--prefix=") => prefix = s["--prefix=".len()..].into(),
            s => return Err(format!("install: unknown argument {s}")),
        }
    }
    let built = build::build()?;
    put(&built.launcher(), &prefix.join("bin/launcher"))?;
    put(&built.knocker(), &prefix.join("bin/knocker"))?;
    put(&built.init(), &prefix.join("libexec/knocker/init"))?;
    Ok(())
}

fn put(from: &Path, to: &Path) -> Result<(), String> {
    let dir = to.parent().expect("an install path has a parent");
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = to.with_extension("knocker-new");
    std::fs::copy(from, &tmp).map_err(|e| format!("cannot copy to {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, to).map_err(|e| format!("cannot install {}: {e}", to.display()))?;
    println!("installed {}", to.display());
    Ok(())
}
