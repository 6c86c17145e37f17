//! x86_64 syscall names → numbers, for profiles that name syscalls (an OCI config's). The
//! table is made at compile time from the `syscalls` crate: every name in one byte string,
//! one line per number (empty where x86_64 has none), so it costs its text alone.

use linker::sys::Sysno;

const LAST: usize = Sysno::last() as usize;

const fn table_len() -> usize {
    let mut len = 0;
    let mut nr = 0;
    while nr <= LAST {
        if let Some(s) = Sysno::new(nr) {
            len += s.name().len();
        }
        len += 1;
        nr += 1;
    }
    len
}

const TABLE: [u8; table_len()] = {
    let mut out = [0u8; table_len()];
    let mut at = 0;
    let mut nr = 0;
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
        out[at] = b'\n';
        at += 1;
        nr += 1;
    }
    out
};

/// The x86_64 number of the syscall `name`, if x86_64 has it.
pub fn number(name: &[u8]) -> Option<u32> {
    if name.is_empty() {
        return None;
    }
    TABLE.split(|&c| c == b'\n').position(|line| line == name).map(|nr| nr as u32)
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
                assert_eq!(number(s.name().as_bytes()), Some(nr as u32));
            }
        }
    }
}
