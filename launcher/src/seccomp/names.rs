//! x86_64 syscall names → numbers, for profiles that name syscalls (an OCI config's), matched
//! exactly against the names themselves (see [`number`]). A name x86_64 does not have is no
//! syscall, as libseccomp says for the architecture, and runc skips it.

use linker::sys::Sysno;

const LAST: usize = Sysno::last() as usize;

/// Every x86_64 name, one after the other, and where each number's begins (a number x86_64
/// does not use has an empty name): made at compile time from the `syscalls` crate, as
/// 5 KB of data where the crate's own `name()` is 11 KB of code.
const NAMES_LEN: usize = {
    let (mut n, mut nr) = (0, 0);
    while nr <= LAST {
        if let Some(s) = Sysno::new(nr) {
            n += s.name().len();
        }
        nr += 1;
    }
    n
};

const NAMES: [u8; NAMES_LEN] = {
    let (mut out, mut at, mut nr) = ([0u8; NAMES_LEN], 0, 0);
    while nr <= LAST {
        if let Some(s) = Sysno::new(nr) {
            let name = s.name().as_bytes();
            let mut i = 0;
            while i < name.len() {
                out[at] = name[i];
                at += 1;
                i += 1;
            }
        }
        nr += 1;
    }
    out
};

const STARTS: [u16; LAST + 2] = {
    let (mut out, mut at, mut nr) = ([0u16; LAST + 2], 0, 0);
    while nr <= LAST {
        out[nr] = at as u16;
        if let Some(s) = Sysno::new(nr) {
            at += s.name().len();
        }
        nr += 1;
    }
    out[LAST + 1] = at as u16;
    out
};

/// The x86_64 number of the syscall `name`, if x86_64 has it: the name itself must match,
/// byte for byte. (A 32-bit hash of it, as before, let names no kernel has collide with real
/// ones: `lsm_future_anojwul` was read as `perf_event_open`.)
pub fn number(name: &[u8]) -> Option<u32> {
    if name.is_empty() {
        return None;
    }
    (0..=LAST).find(|&nr| NAMES.get(STARTS[nr] as usize..STARTS[nr + 1] as usize) == Some(name)).map(|nr| nr as u32)
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
        // Controls: names no kernel has whose 32-bit FNV-1a hashes are those of real syscalls
        // (the table of hashes found them as those).
        let fnv1a = |name: &[u8]| name.iter().fold(0x811c_9dc5u32, |h, &c| (h ^ c as u32).wrapping_mul(0x0100_0193));
        assert_eq!(fnv1a(b"lsm_future_anojwul"), fnv1a(b"perf_event_open"));
        assert_eq!(fnv1a(b"lsm_future_aleuuln"), fnv1a(b"finit_module"));
        assert_eq!(number(b"lsm_future_anojwul"), None);
        assert_eq!(number(b"lsm_future_aleuuln"), None);
        assert_eq!(number(b"perf_event_open"), Some(298));
        assert_eq!(number(b"finit_module"), Some(313));
        assert_eq!(number(b"rea"), None);
        assert_eq!(number(b"readv"), Some(19));
        for nr in 0..=LAST {
            if let Some(s) = Sysno::new(nr) {
                assert_eq!(number(s.name().as_bytes()), Some(nr as u32), "{}", s.name());
            }
        }
    }

    /// Every name of every architecture is either an x86_64 name (then it finds that one) or
    /// finds nothing.
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
