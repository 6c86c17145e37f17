//! A `linux.seccomp` profile: the schema, the reader and the filter compiler.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    knocker_fuzz::with_arena(data, |doc, arena| {
        let Ok(top) = oci::json::parse(doc) else { return };
        let top = top.get("linux").and_then(|l| l.get("seccomp")).unwrap_or(top);
        if let Err(e) = oci::schema::check("config.json:", "linux.seccomp", top, &oci::schema::SECCOMP) {
            return knocker_fuzz::one_line(&e);
        }
        match oci::seccomp::profile(top, arena) {
            Err(e) => knocker_fuzz::one_line(&e),
            Ok(p) => {
                assert!(p.rules.len() <= oci::seccomp::MAX_RULES);
                assert!(p.rules.windows(2).all(|w| w[0].nr <= w[1].nr), "sorted by number");
                let _ = launcher::seccomp::bpf::compile(p);
            }
        }
    })
});
