//! Kernel modules out of a kernel package: which files the box must load for a feature, and
//! in which order. The order comes from each module's own `.modinfo` `depends=` list (what
//! depmod reads), so a kernel whose modules depend on each other differently from the last one
//! still loads; what the package lacks is one line naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A module's name as the kernel spells it: file names may use `-` where the name has `_`.
pub fn name_of(file: &str) -> String {
    let stem = file.split(".ko").next().unwrap_or(file);
    stem.replace('-', "_")
}

/// The `depends=` list of a module's ELF image (its `.modinfo` section): names, possibly none.
pub fn depends(elf: &[u8]) -> Result<Vec<String>, String> {
    let info = section(elf, ".modinfo")?.ok_or("no .modinfo section")?;
    let line = info.split(|&b| b == 0).find_map(|kv| kv.strip_prefix(b"depends="));
    let Some(list) = line else { return Ok(Vec::new()) };
    let list = std::str::from_utf8(list).map_err(|_| "depends= is not UTF-8")?;
    Ok(list.split(',').filter(|d| !d.is_empty()).map(name_of).collect())
}

/// The bytes of the section called `wanted` in a 64-bit little-endian ELF file.
fn section<'a>(elf: &'a [u8], wanted: &str) -> Result<Option<&'a [u8]>, String> {
    let bad = || "not a 64-bit little-endian ELF file".to_string();
    if elf.get(..6) != Some(b"\x7fELF\x02\x01") {
        return Err(bad());
    }
    let u16_at = |at: usize| elf.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32_at = |at: usize| elf.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize);
    let u64_at = |at: usize| elf.get(at..at + 8).and_then(|b| usize::try_from(u64::from_le_bytes(b.try_into().unwrap())).ok());
    let (shoff, shentsize, shnum, shstrndx) = (u64_at(0x28).ok_or_else(bad)?, u16_at(0x3a).ok_or_else(bad)?, u16_at(0x3c).ok_or_else(bad)?, u16_at(0x3e).ok_or_else(bad)?);
    // A section header: name (offset into the names' section) at 0, file offset at 24, size at 32.
    let header = |i: usize| -> Option<(usize, &'a [u8])> {
        let h = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let (off, size) = (u64_at(h + 24)?, u64_at(h + 32)?);
        Some((u32_at(h)?, elf.get(off..off.checked_add(size)?)?))
    };
    let (_, names) = header(shstrndx).ok_or_else(bad)?;
    for i in 0..shnum {
        let (name_at, data) = header(i).ok_or_else(bad)?;
        let name = names.get(name_at..).ok_or_else(bad)?;
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        if name == wanted.as_bytes() {
            return Ok(Some(data));
        }
    }
    Ok(None)
}

/// The modules to load, dependencies first, so that each of `wanted` works: a wanted name that
/// is built in (`builtin`) needs nothing; `modules` maps each module the package has to its
/// `depends=` list.
pub fn load_order(wanted: &[&str], modules: &BTreeMap<String, Vec<String>>, builtin: &BTreeSet<String>) -> Result<Vec<String>, String> {
    let mut order = Vec::new();
    for &name in wanted {
        if builtin.contains(name) {
            continue;
        }
        if !modules.contains_key(name) {
            return Err(format!("the kernel package has no {name}.ko and does not build {name} in"));
        }
        visit(name, modules, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

/// Depth first: `name` after everything it depends on; `path` is the chain that led here.
fn visit(name: &str, modules: &BTreeMap<String, Vec<String>>, path: &mut Vec<String>, order: &mut Vec<String>) -> Result<(), String> {
    if order.iter().any(|m| m == name) {
        return Ok(());
    }
    if let Some(at) = path.iter().position(|m| m == name) {
        return Err(format!("the kernel package's modules depend on each other in a circle: {} -> {name}", path[at..].join(" -> ")));
    }
    let depends = &modules[name];
    path.push(name.to_string());
    for dep in depends {
        if !modules.contains_key(dep) {
            return Err(format!("{name}.ko needs {dep}, which the kernel package does not have"));
        }
        visit(dep, modules, path, order)?;
    }
    path.pop();
    order.push(name.to_string());
    Ok(())
}

/// The modules of an unpacked kernel package (`lib/modules/VERSION`): every `.ko` file by name,
/// and the names its `modules.builtin` lists.
pub struct Package {
    pub files: BTreeMap<String, PathBuf>,
    pub builtin: BTreeSet<String>,
}

impl Package {
    pub fn read(dir: &Path) -> Result<Package, String> {
        let mut files = BTreeMap::new();
        walk(&dir.join("kernel"), &mut files)?;
        let builtin = std::fs::read_to_string(dir.join("modules.builtin")).map_err(|e| format!("{}/modules.builtin: {e}", dir.display()))?;
        let builtin = builtin.lines().filter_map(|l| l.rsplit('/').next()).filter(|f| !f.is_empty()).map(name_of).collect();
        Ok(Package { files, builtin })
    }

    /// A module's ELF image, decompressed when the package ships it compressed.
    pub fn image(&self, name: &str) -> Result<Vec<u8>, String> {
        let path = &self.files[name];
        let shown = path.display();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let tool = if file.ends_with(".ko") {
            return std::fs::read(path).map_err(|e| format!("{shown}: {e}"));
        } else if file.ends_with(".ko.xz") {
            ("xz", "xz-utils")
        } else if file.ends_with(".ko.zst") {
            ("zstd", "zstd")
        } else if file.ends_with(".ko.gz") {
            ("gzip", "gzip")
        } else {
            return Err(format!("{file}: a module compressed in a way xtask does not know (.ko, .ko.xz, .ko.zst, .ko.gz)"));
        };
        crate::util::ensure_packages(&[tool.1], "the virtual box's compressed kernel modules")?;
        let out = Command::new(tool.0).arg("-dc").arg(path).output().map_err(|e| format!("cannot run {}: {e}", tool.0))?;
        if !out.status.success() {
            return Err(format!("{} -dc {shown} failed: {}", tool.0, String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(out.stdout)
    }

    /// The images to load for `wanted`, in load order, with their names.
    pub fn for_features(&self, wanted: &[&str]) -> Result<Vec<(String, Vec<u8>)>, String> {
        let mut images = BTreeMap::new();
        let mut modules = BTreeMap::new();
        // Only the modules reachable from `wanted` are read (the package has thousands).
        let mut todo: Vec<String> = wanted.iter().filter(|w| self.files.contains_key(**w)).map(|w| w.to_string()).collect();
        while let Some(name) = todo.pop() {
            if modules.contains_key(&name) {
                continue;
            }
            let image = self.image(&name)?;
            let deps = depends(&image).map_err(|e| format!("{}: {e}", self.files[&name].display()))?;
            todo.extend(deps.iter().filter(|d| self.files.contains_key(*d)).cloned());
            modules.insert(name.clone(), deps);
            images.insert(name, image);
        }
        let order = load_order(wanted, &modules, &self.builtin)?;
        Ok(order.into_iter().map(|n| {
            let image = images.remove(&n).unwrap();
            (n, image)
        }).collect())
    }
}

fn walk(dir: &Path, files: &mut BTreeMap<String, PathBuf>) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?.flatten() {
        let path = entry.path();
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            walk(&path, files)?;
        } else {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.contains(".ko") {
                files.insert(name_of(&file), path);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(list: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        list.iter().map(|(m, d)| (m.to_string(), d.split(',').filter(|d| !d.is_empty()).map(String::from).collect())).collect()
    }

    const WANTED: [&str; 3] = ["virtio_blk", "virtio_pci", "ext4"];

    fn builtin() -> BTreeSet<String> {
        ["ext4".to_string()].into()
    }

    /// Every module comes after each module it depends on, and each comes once.
    fn respects(order: &[String], modules: &BTreeMap<String, Vec<String>>) {
        for (i, m) in order.iter().enumerate() {
            for d in &modules[m] {
                assert!(order[..i].contains(d), "{m} loaded before its dependency {d}: {order:?}");
            }
            assert!(!order[i + 1..].contains(m), "{m} twice: {order:?}");
        }
    }

    // Debian's linux-image-6.1.0-48-cloud-amd64 (6.1.172-1): virtio.ko depends on nothing.
    const DEBIAN_6_1_0_48: [(&str, &str); 6] = [
        ("virtio", ""),
        ("virtio_ring", ""),
        ("virtio_pci_modern_dev", ""),
        ("virtio_pci_legacy_dev", ""),
        ("virtio_pci", "virtio_ring,virtio_pci_modern_dev,virtio_pci_legacy_dev,virtio"),
        ("virtio_blk", "virtio,virtio_ring"),
    ];

    // linux-image-6.1.0-57-cloud-amd64 (6.1.192-3): virtio.ko now depends on virtio_ring.
    const DEBIAN_6_1_0_57: [(&str, &str); 6] = [
        ("virtio", "virtio_ring"),
        ("virtio_ring", ""),
        ("virtio_pci_modern_dev", ""),
        ("virtio_pci_legacy_dev", ""),
        ("virtio_pci", "virtio_ring,virtio_pci_modern_dev,virtio_pci_legacy_dev,virtio"),
        ("virtio_blk", "virtio,virtio_ring"),
    ];

    #[test]
    fn debian_6_1_0_48_loads_in_dependency_order() {
        let m = modules(&DEBIAN_6_1_0_48);
        let order = load_order(&WANTED, &m, &builtin()).unwrap();
        respects(&order, &m);
        assert_eq!(order.len(), 6);
    }

    #[test]
    fn debian_6_1_0_57_loads_virtio_ring_before_virtio() {
        let m = modules(&DEBIAN_6_1_0_57);
        let order = load_order(&WANTED, &m, &builtin()).unwrap();
        respects(&order, &m);
        assert_eq!(order, ["virtio_ring", "virtio", "virtio_blk", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci"]);
        // The fixed order xtask used before (virtio.ko first) breaks on this kernel.
        let old = ["virtio", "virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk"].map(String::from);
        assert!(std::panic::catch_unwind(|| respects(&old, &m)).is_err());
    }

    #[test]
    fn a_missing_dependency_is_named() {
        let mut m = modules(&DEBIAN_6_1_0_57);
        m.remove("virtio_ring");
        assert_eq!(load_order(&WANTED, &m, &builtin()).unwrap_err(), "virtio.ko needs virtio_ring, which the kernel package does not have");
    }

    #[test]
    fn a_feature_neither_built_in_nor_a_module_is_named() {
        let m = modules(&DEBIAN_6_1_0_57);
        assert_eq!(load_order(&WANTED, &m, &BTreeSet::new()).unwrap_err(), "the kernel package has no ext4.ko and does not build ext4 in");
    }

    #[test]
    fn a_built_in_feature_needs_no_module() {
        let m = modules(&DEBIAN_6_1_0_57);
        let mut b = builtin();
        b.insert("virtio_blk".into());
        b.insert("virtio_pci".into());
        assert!(load_order(&WANTED, &m, &b).unwrap().is_empty());
    }

    #[test]
    fn a_circle_is_named() {
        let m = modules(&[("a", "b"), ("b", "a")]);
        assert_eq!(load_order(&["a"], &m, &BTreeSet::new()).unwrap_err(), "the kernel package's modules depend on each other in a circle: a -> b -> a");
    }

    #[test]
    fn names_as_the_kernel_spells_them() {
        assert_eq!(name_of("virtio-rng.ko.xz"), "virtio_rng");
        assert_eq!(name_of("virtio_blk.ko"), "virtio_blk");
    }

    /// A minimal ELF64 file with a `.modinfo` section holding `info`.
    fn elf(info: &[u8]) -> Vec<u8> {
        let names = b"\0.shstrtab\0.modinfo\0";
        let mut f = vec![0u8; 64];
        f[..6].copy_from_slice(b"\x7fELF\x02\x01");
        let names_at = f.len();
        f.extend_from_slice(names);
        let info_at = f.len();
        f.extend_from_slice(info);
        let shoff = f.len();
        let mut header = |name: u32, off: usize, size: usize| {
            let mut h = [0u8; 64];
            h[..4].copy_from_slice(&name.to_le_bytes());
            h[24..32].copy_from_slice(&(off as u64).to_le_bytes());
            h[32..40].copy_from_slice(&(size as u64).to_le_bytes());
            f.extend_from_slice(&h);
        };
        header(0, 0, 0);
        header(1, names_at, names.len());
        header(11, info_at, info.len());
        f[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
        f[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        f[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        f[0x3e..0x40].copy_from_slice(&1u16.to_le_bytes());
        f
    }

    #[test]
    fn depends_read_from_modinfo() {
        let image = elf(b"license=GPL\0depends=virtio_ring,virtio\0retpoline=Y\0name=virtio_blk\0");
        assert_eq!(depends(&image).unwrap(), ["virtio_ring", "virtio"]);
        assert!(depends(&elf(b"license=GPL\0depends=\0")).unwrap().is_empty());
        assert!(depends(&elf(b"license=GPL\0")).unwrap().is_empty());
    }

    #[test]
    fn a_broken_file_is_refused() {
        assert!(depends(b"not an elf").is_err());
        let mut image = elf(b"depends=\0");
        image.truncate(100);
        assert!(depends(&image).is_err());
    }
}
