//! What the fuzz targets share: one arena for the whole run (taken back after each input) and
//! a walk over every value of a parsed document, so the lazy reader is exercised whole.
//! Each target in `src/bin/` feeds one reader; `cargo xtask fuzz` builds and runs them.

use oci::arena::Arena;
use oci::json::{Kind, Value};
use std::cell::RefCell;

thread_local! {
    static ARENA: RefCell<Option<Arena>> = const { RefCell::new(None) };
}

/// Runs `f` with the run's arena, holding a 'static copy of `data` from it.
pub fn with_arena<R>(data: &[u8], f: impl FnOnce(&'static [u8], &mut Arena) -> R) -> R {
    ARENA.with(|a| {
        let mut slot = a.borrow_mut();
        let arena = slot.get_or_insert_with(|| Arena::new().expect("an arena"));
        // SAFETY: nothing from the previous input outlives its run of `f`.
        unsafe { arena.reuse() };
        let Some(doc) = arena.bytes(data.len(), 1) else { return f(b"", arena) };
        doc.copy_from_slice(data);
        f(doc, arena)
    })
}

/// Every member, element, string and number below `v`, read as the readers read them.
pub fn walk(v: Value) {
    let mut buf = [0u8; 256];
    match v.kind() {
        Kind::Object => {
            for (name, value) in v.members() {
                let _ = name.decoded(&mut buf);
                let _ = v.get(core::str::from_utf8(name.raw_str().unwrap_or(b"")).unwrap_or(""));
                walk(value);
            }
        }
        Kind::Array => v.items().for_each(walk),
        Kind::String => {
            let n = v.decoded_len().expect("a string has a length");
            let mut big = vec![0u8; n];
            if let Some(m) = v.decode_str(&mut big) {
                assert_eq!(m, n, "decoded_len and decode_str agree");
            }
        }
        Kind::Number => {
            let _ = (v.as_i64(), v.as_u64());
        }
        Kind::Bool => assert!(v.as_bool().is_some()),
        Kind::Null => {}
    }
}

/// The error line of a refusal: one line, always.
pub fn one_line(e: &launcher::error::Error) {
    assert!(!e.line().as_bytes().contains(&b'\n'), "a refusal is one line");
}
