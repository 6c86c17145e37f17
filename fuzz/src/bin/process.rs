//! process.json (`exec --process`): the process reader on its own.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    knocker_fuzz::with_arena(data, |doc, arena| {
        let Ok(top) = oci::json::parse(doc) else { return };
        // A whole config (the seeds are) gives its process object.
        let top = top.get("process").unwrap_or(top);
        let mut spec = launcher::spec::Spec::new(c"/");
        if let Err(e) = oci::config::process_into(&mut spec, top, arena) {
            knocker_fuzz::one_line(&e);
        }
    })
});
