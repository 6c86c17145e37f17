//! x86_64 syscall names → numbers, for profiles that name syscalls (an OCI config's). The
//! table holds a 32-bit FNV-1a hash of each name, made at compile time from the `syscalls`
//! crate (1.9 KB, where the names themselves were 4.3 KB of knocker's size budget). A name is
//! found by its hash; the unit test proves that no syscall name of any architecture the crate
//! knows (i386's `socketcall`, arm's `arm_fadvise64_64`, … which profiles list and x86_64 must
//! skip) has the hash of a different x86_64 syscall.

use linker::sys::Sysno;

const LAST: usize = Sysno::last() as usize;

const fn fnv1a(name: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < name.len() {
        h ^= name[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    // 0 marks a number x86_64 does not use.
    if h == 0 { 1 } else { h }
}

const TABLE: [u32; LAST + 1] = {
    let mut out = [0u32; LAST + 1];
    let mut nr = 0;
    while nr <= LAST {
        if let Some(s) = Sysno::new(nr) {
            out[nr] = fnv1a(s.name().as_bytes());
        }
        nr += 1;
    }
    out
};

/// The x86_64 number of the syscall `name`, if x86_64 has it.
pub fn number(name: &[u8]) -> Option<u32> {
    if name.is_empty() {
        return None;
    }
    let h = fnv1a(name);
    TABLE.iter().position(|&t| t == h).map(|nr| nr as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_the_kernel_numbers_them() {
        assert_eq!(number(b"read"), Some(0));
        assert_eq!(number(b"openat2"), Some(437));
        assert_eq!(number(b"mseal"), Some(462));
        assert_eq!(number(b"socketcall"), None, "i386 only");
        assert_eq!(number(b"fstat64"), None);
        assert_eq!(number(b""), None);
        for nr in 0..=LAST {
            if let Some(s) = Sysno::new(nr) {
                assert_eq!(number(s.name().as_bytes()), Some(nr as u32), "{}", s.name());
            }
        }
    }

    /// Every name of every architecture is either an x86_64 name (then it finds that one) or
    /// finds nothing: no hash of a foreign name lands on another syscall.
    #[test]
    fn no_syscall_name_of_any_architecture_collides() {
        let mut names: Vec<&'static str> = Vec::new();
        macro_rules! all {
            ($($arch:ident),*) => {$(
                for n in 0..=syscalls::$arch::Sysno::last() as usize {
                    if let Some(s) = syscalls::$arch::Sysno::new(n) {
                        names.push(s.name());
                    }
                }
            )*};
        }
        all!(x86, aarch64, arm, riscv64, riscv32, mips, mips64, powerpc, powerpc64, s390x, sparc, sparc64, loongarch64);
        assert!(names.len() > 4000, "{}", names.len());
        for name in names {
            match number(name.as_bytes()) {
                Some(nr) => assert_eq!(Sysno::new(nr as usize).map(|s| s.name()), Some(name), "{name} collides"),
                None => {}
            }
        }
    }
}
