//! A fixed-capacity list for the few repeatable inputs (`--env`, `--bind`, …): no allocator,
//! and the bound is part of the type, so "too many" is an error the caller reports.

/// The items past `len` are never read, so they are left unwritten: making a list costs
/// nothing however large its capacity (filling `[T::default(); N]` was 60 k instructions of
/// every launch, lists of 4 KiB paths among them).
#[derive(Clone, Copy)]
pub struct List<T: Copy + Default, const N: usize> {
    items: [core::mem::MaybeUninit<T>; N],
    len: usize,
}

impl<T: Copy + Default, const N: usize> Default for List<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default, const N: usize> List<T, N> {
    pub const fn new() -> Self {
        List { items: [const { core::mem::MaybeUninit::uninit() }; N], len: 0 }
    }

    /// Appends `item`; `Err(item)` when full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        if self.len == N {
            return Err(item);
        }
        self.items[self.len].write(item);
        self.len += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> Option<T> {
        self.as_slice().get(i).copied()
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: the first `len` items were written by `push`; MaybeUninit<T> has T's layout.
        unsafe { core::slice::from_raw_parts_mut(self.items.as_mut_ptr().cast::<T>(), self.len) }
    }

    pub fn as_slice(&self) -> &[T] {
        // SAFETY: as in `as_mut_slice`.
        unsafe { core::slice::from_raw_parts(self.items.as_ptr().cast::<T>(), self.len) }
    }

    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.as_slice().iter().copied()
    }

    pub const CAPACITY: usize = N;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_until_full() {
        let mut l = List::<u8, 2>::new();
        assert!(l.is_empty());
        assert_eq!(l.push(1), Ok(()));
        assert_eq!(l.push(2), Ok(()));
        assert_eq!(l.push(3), Err(3));
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(l.get(1), Some(2));
        assert_eq!(l.get(2), None);
    }
}
