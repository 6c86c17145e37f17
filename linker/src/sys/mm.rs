//! Anonymous memory: the only "heap" knocker has, used for the child's stack and for the
//! pointer arrays handed to `execve` when their length is only known at run time.

use super::{Result, call};

/// An anonymous private read-write mapping, unmapped when dropped.
pub struct Mapping {
    addr: *mut u8,
    len: usize,
}

impl Mapping {
    pub fn new(len: usize, flags: i32) -> Result<Mapping> {
        // SAFETY: a fresh anonymous mapping chosen by the kernel aliases nothing of ours.
        let addr = unsafe {
            call!(
                mmap,
                0usize,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
                -1i32,
                0usize
            )
        }?;
        Ok(Mapping { addr: addr as *mut u8, len })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.addr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes the first `len` bytes inaccessible (a guard page).
    pub fn protect_none(&self, len: usize) -> Result<()> {
        assert!(len <= self.len);
        // SAFETY: the range lies inside our own mapping and nothing of ours lives there.
        unsafe { call!(mprotect, self.addr, len, libc::PROT_NONE) }.map(drop)
    }

    /// The mapping as a slice of `T` (zero-filled by the kernel).
    pub fn as_slice_mut<T: Copy>(&mut self) -> &mut [T] {
        // SAFETY: the mapping is page-aligned, readable, writable, zero-filled, and T is Copy
        // (for the pointer and integer types used here, all-zero is a valid value).
        unsafe { core::slice::from_raw_parts_mut(self.addr as *mut T, self.len / core::mem::size_of::<T>()) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we own the mapping and nothing borrows it past our lifetime.
        let _ = unsafe { call!(munmap, self.addr, self.len) };
    }
}
