//! config.json: the JSON grammar, the schema and the whole reader into a Spec.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    knocker_fuzz::with_arena(data, |doc, arena| {
        if let Ok(v) = oci::json::parse(doc) {
            // Bounded nesting for the walk's own recursion (the parser has none).
            if doc.iter().filter(|&&c| c == b'[' || c == b'{').count() < 2000 {
                knocker_fuzz::walk(v);
            }
        }
        if let Err(e) = oci::config::read(doc, b"/bundle", b"fuzz", arena) {
            knocker_fuzz::one_line(&e);
        }
    })
});
