//! The C memory functions. LLVM turns loops and copies into calls to `memcpy`, `memset`,
//! `memcmp`, `bcmp` and `strlen` even in `no_std` code, and `compiler_builtins` does not define
//! them on `*-linux-*` targets. The bodies here cannot be turned back into calls to themselves:
//! copies and fills are `rep movsb`/`rep stosb`, comparisons read through `read_volatile`.
//! [`mem_functions!`](crate::mem_functions) exports them; only the binaries expand it, so unit
//! tests keep the host libc's.

use core::arch::asm;
use core::ptr::read_volatile;

/// # Safety
/// `dst` and `src` valid for `n` bytes and not overlapping.
pub unsafe fn copy(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller guarantees both ranges; rep movsb touches exactly n bytes.
    unsafe {
        asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
}

/// # Safety
/// `dst` and `src` valid for `n` bytes; they may overlap.
pub unsafe fn copy_overlapping(dst: *mut u8, src: *const u8, n: usize) {
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // dst is below src or past its end: a forward copy never reads a byte it wrote.
        // SAFETY: as the caller guarantees.
        unsafe { copy(dst, src, n) };
    } else if n > 0 {
        // SAFETY: copy backwards with the direction flag set, then clear it (the ABI wants it clear).
        unsafe {
            asm!("std", "rep movsb", "cld",
                 inout("rcx") n => _, inout("rdi") dst.add(n - 1) => _, inout("rsi") src.add(n - 1) => _,
                 options(nostack));
        }
    }
}

/// # Safety
/// `dst` valid for `n` bytes.
pub unsafe fn fill(dst: *mut u8, byte: u8, n: usize) {
    // SAFETY: the caller guarantees the range; rep stosb writes exactly n bytes.
    unsafe {
        asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _, in("al") byte,
             options(nostack, preserves_flags));
    }
}

/// # Safety
/// `a` and `b` valid for `n` bytes.
pub unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, inside both ranges.
        let (x, y) = unsafe { (read_volatile(a.add(i)), read_volatile(b.add(i))) };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
/// `s` must be NUL-terminated.
pub unsafe fn length(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees a NUL before the end of the allocation.
    while unsafe { read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
}

/// Exports `memcpy`, `memmove`, `memset`, `memcmp`, `bcmp` and `strlen` from the binary.
#[macro_export]
macro_rules! mem_functions {
    () => {
        #[unsafe(no_mangle)]
        unsafe extern "C" fn memcpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
            // SAFETY: LLVM calls this with memcpy's contract.
            unsafe { $crate::mem::copy(d, s, n) };
            d
        }
        #[unsafe(no_mangle)]
        unsafe extern "C" fn memmove(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
            // SAFETY: LLVM calls this with memmove's contract.
            unsafe { $crate::mem::copy_overlapping(d, s, n) };
            d
        }
        #[unsafe(no_mangle)]
        unsafe extern "C" fn memset(d: *mut u8, c: i32, n: usize) -> *mut u8 {
            // SAFETY: LLVM calls this with memset's contract.
            unsafe { $crate::mem::fill(d, c as u8, n) };
            d
        }
        #[unsafe(no_mangle)]
        unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
            // SAFETY: LLVM calls this with memcmp's contract.
            unsafe { $crate::mem::compare(a, b, n) }
        }
        #[unsafe(no_mangle)]
        unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
            // SAFETY: LLVM calls this with bcmp's contract.
            unsafe { $crate::mem::compare(a, b, n) }
        }
        #[unsafe(no_mangle)]
        unsafe extern "C" fn strlen(s: *const u8) -> usize {
            // SAFETY: LLVM calls this with strlen's contract.
            unsafe { $crate::mem::length(s) }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_fills_and_compares() {
        let mut buf = *b"abcdefghij";
        // SAFETY (this and the calls below): every range lies inside its buffer.
        unsafe { copy_overlapping(buf.as_mut_ptr().add(2), buf.as_ptr(), 5) };
        assert_eq!(&buf, b"ababcdehij");
        let mut buf = *b"abcdefghij";
        unsafe { copy_overlapping(buf.as_mut_ptr(), buf.as_ptr().add(3), 5) };
        assert_eq!(&buf, b"defghfghij");
        let mut out = [0u8; 4];
        unsafe { copy(out.as_mut_ptr(), b"wxyz".as_ptr(), 4) };
        assert_eq!(&out, b"wxyz");
        unsafe { fill(out.as_mut_ptr(), b'q', 3) };
        assert_eq!(&out, b"qqqz");
        assert!(unsafe { compare(b"abc".as_ptr(), b"abd".as_ptr(), 3) } < 0);
        assert_eq!(unsafe { compare(b"abc".as_ptr(), b"abc".as_ptr(), 3) }, 0);
        assert_eq!(unsafe { length(c"hello".as_ptr().cast()) }, 5);
    }
}
