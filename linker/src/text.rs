//! Text without `core::fmt`: a fixed-capacity buffer and a [`Show`] trait for the few things
//! knocker prints (strings, integers, errnos). It builds error lines, paths and the contents of
//! control files alike. A buffer that ran out of room remembers it: a path that did not fit is
//! refused (`ENAMETOOLONG`), a message that did not fit ends in `...`.

use crate::sys::{self, Errno};
use core::ffi::CStr;
use core::mem::MaybeUninit;

/// A fixed-capacity byte buffer that always has room for a trailing NUL. Its capacity is part
/// of the type, but all the work happens on the unsized [`TextBuf`] it dereferences to, so
/// the code exists once whatever capacities the programs use.
#[derive(Clone, Copy)]
pub struct TextOf<B: ?Sized> {
    len: usize,
    overflowed: bool,
    buf: B,
}

/// The bytes past `len` are never read before they are written, so a new buffer is left
/// unwritten (zeroing every 4 KiB path buffer was most of a launch's instructions).
pub type Text<const N: usize> = TextOf<[MaybeUninit<u8>; N]>;
pub type TextBuf = TextOf<[MaybeUninit<u8>]>;

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Text<N> {
    pub const fn new() -> Self {
        TextOf { len: 0, overflowed: false, buf: [MaybeUninit::uninit(); N] }
    }
}

impl<const N: usize> core::ops::Deref for Text<N> {
    type Target = TextBuf;
    fn deref(&self) -> &TextBuf {
        self
    }
}

impl<const N: usize> core::ops::DerefMut for Text<N> {
    fn deref_mut(&mut self) -> &mut TextBuf {
        self
    }
}

impl TextBuf {
    /// Appends anything printable.
    pub fn push<T: Show>(&mut self, x: T) -> &mut Self {
        x.show(self);
        self
    }

    /// Appends raw bytes; what does not fit is dropped and remembered.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let room = self.buf.len().saturating_sub(1) - self.len;
        let n = b.len().min(room);
        self.put(self.len, &b[..n]);
        self.len += n;
        if n < b.len() {
            self.overflowed = true;
        }
        self
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.written(self.len)
    }

    /// The first `end` bytes, all of them written before (by `put`).
    fn written(&self, end: usize) -> &[u8] {
        assert!(end <= self.buf.len());
        // SAFETY: in bounds (checked), and every caller has written bytes 0..end: the text
        // itself (0..len) and, past it, the one byte it has just put there.
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), end) }
    }

    /// Writes `bytes` at `at` (within the capacity: the callers keep room for them).
    fn put(&mut self, at: usize, bytes: &[u8]) {
        for (slot, &b) in self.buf[at..at + bytes.len()].iter_mut().zip(bytes) {
            slot.write(b);
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    pub fn clear(&mut self) {
        self.len = 0;
        self.overflowed = false;
    }

    /// The text as a C string; `ENAMETOOLONG` if anything was cut off or it holds a NUL.
    pub fn as_cstr(&mut self) -> Result<&CStr, Errno> {
        if self.overflowed || self.as_bytes().contains(&0) {
            return Err(Errno::ENAMETOOLONG);
        }
        self.put(self.len, &[0]);
        CStr::from_bytes_with_nul(self.written(self.len + 1)).map_err(|_| Errno::EINVAL)
    }

    /// Writes the text plus a newline to `fd` in one `write`, marking a cut-off line with `...`.
    pub fn write_line(&mut self, fd: i32) {
        let cap = self.buf.len();
        if self.overflowed || self.len + 1 >= cap {
            let keep = self.len.min(cap.saturating_sub(5));
            self.len = keep;
            self.put(keep, b"...");
            self.len += 3;
        }
        self.put(self.len, b"\n");
        // Nothing sensible is left to do when stderr itself is gone.
        let _ = sys::fs::write_all(fd, self.written(self.len + 1));
    }
}

/// Something that can append itself to a [`Text`].
pub trait Show {
    fn show(&self, t: &mut TextBuf);
}

impl<T: Show + ?Sized> Show for &T {
    fn show(&self, t: &mut TextBuf) {
        (**self).show(t)
    }
}

impl Show for str {
    fn show(&self, t: &mut TextBuf) {
        t.bytes(self.as_bytes());
    }
}

impl Show for [u8] {
    fn show(&self, t: &mut TextBuf) {
        t.bytes(self);
    }
}

impl<const K: usize> Show for [u8; K] {
    fn show(&self, t: &mut TextBuf) {
        t.bytes(self);
    }
}

impl<const N: usize> Show for Text<N> {
    fn show(&self, t: &mut TextBuf) {
        t.bytes(self.as_bytes());
    }
}

impl Show for CStr {
    fn show(&self, t: &mut TextBuf) {
        t.bytes(self.to_bytes());
    }
}

impl Show for TextBuf {
    fn show(&self, t: &mut TextBuf) {
        t.bytes(self.as_bytes());
    }
}

fn decimal(t: &mut TextBuf, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    t.bytes(&digits[i..]);
}

macro_rules! show_unsigned {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show(&self, t: &mut TextBuf) { decimal(t, *self as u64) }
        }
    )*};
}
show_unsigned!(u8, u16, u32, u64, usize);

macro_rules! show_signed {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show(&self, t: &mut TextBuf) {
                if *self < 0 {
                    t.bytes(b"-");
                }
                decimal(t, (*self as i64).unsigned_abs())
            }
        }
    )*};
}
show_signed!(i32, i64, isize);

/// The value of a string of decimal digits: `None` when it is empty, holds anything else, or
/// does not fit in a u64. (The one number parser of both programs.)
pub fn decimal_value(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add((d - b'0') as u64)
    })
}

/// Lower-case hexadecimal, no prefix.
pub struct Hex(pub u64);

impl Show for Hex {
    fn show(&self, t: &mut TextBuf) {
        let mut digits = [0u8; 16];
        let mut i = digits.len();
        let mut v = self.0;
        loop {
            i -= 1;
            digits[i] = b"0123456789abcdef"[(v & 15) as usize];
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        t.bytes(&digits[i..]);
    }
}

/// One line on a file descriptor, built without `core::fmt`:
/// `say!(2; "launcher: ", path, ": ", errno)`. The parts are anything that is [`Show`].
#[macro_export]
macro_rules! say {
    ($fd:expr; $($part:expr),* $(,)?) => {{
        let mut line = $crate::text::Text::<1024>::new();
        $( line.push($part); )*
        line.write_line($fd);
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_strings_and_errnos() {
        let mut t = Text::<128>::new();
        t.push("x=").push(0u32).push(" ").push(-42i32).push(" ").push(u64::MAX).push(" ").push(Hex(0xbeef));
        t.push(" ").push(Errno::ENOENT).push(" ").push(Errno::new(4000));
        assert_eq!(
            core::str::from_utf8(t.as_bytes()).unwrap(),
            "x=0 -42 18446744073709551615 beef ENOENT (No such file or directory) errno 4000"
        );
    }

    #[test]
    fn decimal_values() {
        assert_eq!(decimal_value(b"0"), Some(0));
        assert_eq!(decimal_value(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(decimal_value(b"18446744073709551616"), None);
        assert_eq!(decimal_value(b""), None);
        assert_eq!(decimal_value(b"12a"), None);
        assert_eq!(decimal_value(b"-1"), None);
    }

    #[test]
    fn overflow_is_remembered_and_refused_as_a_path() {
        let mut t = Text::<8>::new();
        t.push("/sys/fs/cgroup");
        assert!(t.overflowed());
        assert_eq!(t.as_bytes(), b"/sys/fs");
        assert_eq!(t.as_cstr().unwrap_err(), Errno::ENAMETOOLONG);
        let mut ok = Text::<8>::new();
        ok.push("/proc");
        assert_eq!(ok.as_cstr().unwrap(), c"/proc");
    }

    #[test]
    fn a_nul_inside_is_not_a_path() {
        let mut t = Text::<16>::new();
        t.bytes(b"a\0b");
        assert!(t.as_cstr().is_err());
    }
}
