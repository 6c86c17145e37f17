//! The launcher's command line: NUL-separated words after `launcher`.
#![no_main]

use std::ffi::CString;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let words: Vec<CString> = std::iter::once(&b"launcher"[..])
        .chain(data.split(|&c| c == 0))
        .take(256)
        .map(|w| CString::new(w).expect("split at NUL"))
        .collect();
    // The parsed plan borrows the words for 'static, as from a process's initial stack.
    let words: &'static [CString] = Box::leak(words.into_boxed_slice());
    let mut ptrs: Vec<*const core::ffi::c_char> = words.iter().map(|w| w.as_ptr()).collect();
    ptrs.push(core::ptr::null());
    let ptrs: &'static [*const core::ffi::c_char] = Box::leak(ptrs.into_boxed_slice());
    // SAFETY: a NULL-terminated array of NUL-terminated strings, leaked for the process.
    let args = unsafe { linker::Args::from_raw(words.len(), ptrs.as_ptr()) };
    match launcher::cli::parse(&args) {
        Err(e) => knocker_fuzz::one_line(&e),
        Ok(launcher::cli::Action::Run(s)) => {
            if let Some((start, count)) = s.daily.userns {
                assert!(start as u64 + count as u64 <= u32::MAX as u64, "a range inside 32 bits");
                assert!(start > 0 || count == 0, "never host root");
            }
        }
        Ok(_) => {}
    }
});
