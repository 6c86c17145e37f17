//! A writer for the kernel's initramfs format: "newc" cpio (ASCII headers, 4-byte alignment),
//! hard links as entries sharing an inode number with the data on the last one.

pub struct Cpio {
    out: Vec<u8>,
    next_ino: u32,
    dirs: std::collections::HashSet<String>,
}

pub const DIR: u32 = 0o040000;
pub const FILE: u32 = 0o100000;
pub const LINK: u32 = 0o120000;
pub const CHAR: u32 = 0o020000;

impl Cpio {
    pub fn new() -> Cpio {
        Cpio { out: Vec::new(), next_ino: 1, dirs: Default::default() }
    }

    fn header(&mut self, name: &str, ino: u32, mode: u32, nlink: u32, size: usize, rdev: (u32, u32)) {
        let name = name.trim_start_matches('/');
        let fields = [ino, mode, 0, 0, nlink, 0, size as u32, 0, 0, rdev.0, rdev.1, name.len() as u32 + 1, 0];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
    }

    fn pad(&mut self) {
        while self.out.len() % 4 != 0 {
            self.out.push(0);
        }
    }

    fn ino(&mut self) -> u32 {
        self.next_ino += 1;
        self.next_ino
    }

    /// A directory; one already in the archive is not written again (the kernel would apply
    /// the second entry's mode).
    pub fn dir(&mut self, name: &str, perm: u32) {
        if !self.dirs.insert(name.trim_start_matches('/').to_string()) {
            return;
        }
        let ino = self.ino();
        self.header(name, ino, DIR | perm, 2, 0, (0, 0));
    }

    /// A file; its missing parent directories are added first (0755), as the kernel's
    /// unpacker creates none.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        let path = std::path::Path::new(name.trim_start_matches('/'));
        let parents: Vec<String> = path.ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()).map(|a| a.display().to_string()).collect();
        for parent in parents.iter().rev() {
            self.dir(parent, 0o755);
        }
        let ino = self.ino();
        self.header(name, ino, FILE | perm, 1, data.len(), (0, 0));
        self.out.extend_from_slice(data);
        self.pad();
    }

    /// One file under several names (hard links): one copy of the data in the archive.
    pub fn hardlinked(&mut self, names: &[&str], perm: u32, data: &[u8]) {
        let ino = self.ino();
        for (i, name) in names.iter().enumerate() {
            let last = i + 1 == names.len();
            self.header(name, ino, FILE | perm, names.len() as u32, if last { data.len() } else { 0 }, (0, 0));
            if last {
                self.out.extend_from_slice(data);
                self.pad();
            }
        }
    }

    pub fn symlink(&mut self, name: &str, target: &str) {
        let ino = self.ino();
        self.header(name, ino, LINK | 0o777, 1, target.len(), (0, 0));
        self.out.extend_from_slice(target.as_bytes());
        self.pad();
    }

    pub fn char_device(&mut self, name: &str, perm: u32, major: u32, minor: u32) {
        let ino = self.ino();
        self.header(name, ino, CHAR | perm, 1, 0, (major, minor));
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.header("TRAILER!!!", 0, 0, 1, 0, (0, 0));
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_headers_are_aligned_and_end_with_a_trailer() {
        let mut c = Cpio::new();
        c.dir("etc", 0o755);
        c.file("etc/hostname", 0o644, b"box\n");
        c.symlink("bin/sh", "busybox");
        let out = c.finish();
        assert!(out.starts_with(b"070701"));
        assert_eq!(out.len() % 4, 0);
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("etc/hostname\0") && text.contains("box\n") && text.ends_with("TRAILER!!!\0\0\0\0"));
    }
}
