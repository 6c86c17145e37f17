//! A bump arena over one anonymous mapping, for this program only: the decoded strings and
//! pointer arrays of a config (argv, env, mounts) live here for the rest of the process, and
//! the cloned child sees them in its copy of the memory. Nothing is ever freed.

use linker::sys::mm::Mapping;

pub struct Arena {
    base: *mut u8,
    len: usize,
    used: usize,
}

/// Enough for any config knocker reads (configs are kilobytes; the limit is the mapping's).
pub const SIZE: usize = 4 << 20;

impl Arena {
    pub fn new() -> Option<Arena> {
        let map = Mapping::new(SIZE, 0).ok()?;
        let (base, len) = (map.as_ptr(), map.len());
        // The arena outlives every borrow of it: the mapping stays until the process ends.
        core::mem::forget(map);
        Some(Arena { base, len, used: 0 })
    }

    /// Takes everything back, zeroed again, for a caller that reads one input after another
    /// (the fuzz targets); knocker itself never does.
    ///
    /// # Safety
    /// Nothing handed out before may be used after: its bytes are handed out again.
    pub unsafe fn reuse(&mut self) {
        // SAFETY: [0, used) lies inside the mapping; the caller gave up every borrow of it.
        unsafe { core::ptr::write_bytes(self.base, 0, self.used) };
        self.used = 0;
    }

    /// `n` zeroed bytes aligned to `align`, for the rest of the process.
    pub fn bytes(&mut self, n: usize, align: usize) -> Option<&'static mut [u8]> {
        let start = self.used.next_multiple_of(align);
        let end = start.checked_add(n)?;
        if end > self.len {
            return None;
        }
        self.used = end;
        // SAFETY: [start, end) lies inside the mapping, is handed out once, and the mapping
        // (zero-filled by the kernel, never unmapped) outlives the process's every use of it.
        Some(unsafe { core::slice::from_raw_parts_mut(self.base.add(start), n) })
    }

    /// A NUL-terminated copy of `s` (which must hold no NUL).
    pub fn cstr(&mut self, s: &[u8]) -> Option<&'static core::ffi::CStr> {
        let out = self.bytes(s.len() + 1, 1)?;
        out[..s.len()].copy_from_slice(s);
        core::ffi::CStr::from_bytes_with_nul(out).ok()
    }

    /// Room for `n` pointers (argv, envp), all NULL.
    pub fn pointers(&mut self, n: usize) -> Option<&'static mut [*const core::ffi::c_char]> {
        let raw = self.bytes(n * 8, 8)?;
        // SAFETY: 8-byte aligned, n*8 zeroed bytes: n NULL pointers.
        Some(unsafe { core::slice::from_raw_parts_mut(raw.as_mut_ptr() as *mut *const core::ffi::c_char, n) })
    }

    /// `n` default values of `T` (a plain-data type), for the rest of the process.
    pub fn slice<T: Copy + Default>(&mut self, n: usize) -> Option<&'static mut [T]> {
        let raw = self.bytes(n.checked_mul(core::mem::size_of::<T>())?, core::mem::align_of::<T>())?;
        let p = raw.as_mut_ptr() as *mut T;
        for i in 0..n {
            // SAFETY: `raw` has room for n values of T at T's alignment; each slot is written
            // before the slice over them is made.
            unsafe { p.add(i).write(T::default()) };
        }
        // SAFETY: n initialised values of T, handed out once and never freed.
        Some(unsafe { core::slice::from_raw_parts_mut(p, n) })
    }

    /// Room for up to `cap` values of `T`, filled in order (a config's list, sized by its
    /// length in the document).
    pub fn list<T: Copy + Default>(&mut self, cap: usize) -> Option<Filling<T>> {
        Some(Filling { slots: self.slice(cap)?, len: 0 })
    }
}

/// See [`Arena::list`].
pub struct Filling<T: 'static> {
    slots: &'static mut [T],
    len: usize,
}

impl<T: Copy> Filling<T> {
    /// Adds `v`; false when the room is full.
    pub fn push(&mut self, v: T) -> bool {
        let Some(slot) = self.slots.get_mut(self.len) else { return false };
        *slot = v;
        self.len += 1;
        true
    }

    /// The values pushed, for the rest of the process.
    pub fn done(self) -> &'static [T] {
        &self.slots[..self.len]
    }
}
