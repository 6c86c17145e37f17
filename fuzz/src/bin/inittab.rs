//! The init's `/etc/inittab` reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() >= init::inittab::MAX_BYTES {
        return;
    }
    for (_, entry) in init::inittab::lines(data) {
        if let Ok(Some(e)) = entry {
            assert!(!e.process.is_empty());
            let _ = init::inittab::needs_shell(e.process);
            assert!(init::inittab::words(e.process).all(|w| !w.is_empty()));
        }
    }
});
