//! A fixed-capacity list for the few repeatable inputs (`--env`, `--bind`, …): no allocator,
//! and the bound is part of the type, so "too many" is an error the caller reports.

#[derive(Clone, Copy)]
pub struct List<T: Copy, const N: usize> {
    items: [Option<T>; N],
    len: usize,
}

impl<T: Copy, const N: usize> Default for List<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy, const N: usize> List<T, N> {
    pub const fn new() -> Self {
        List { items: [None; N], len: 0 }
    }

    /// Appends `item`; `Err(item)` when full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        if self.len == N {
            return Err(item);
        }
        self.items[self.len] = Some(item);
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
        self.items.get(i).copied().flatten()
    }

    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.items[..self.len].iter().filter_map(|x| *x)
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
