//! `update --resources`: a config's `linux.resources` on its own.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    knocker_fuzz::with_arena(data, |doc, arena| {
        let Ok(top) = oci::json::parse(doc) else { return };
        let top = top.get("linux").and_then(|l| l.get("resources")).unwrap_or(top);
        let mut spec = launcher::spec::Spec::new(c"/");
        match oci::config::resources(&mut spec, top, arena) {
            Err(e) => knocker_fuzz::one_line(&e),
            Ok(()) => {
                let l = spec.limits;
                assert!(l.cpu_quota_us.is_none_or(|q| q >= 1000), "a quota the kernel takes");
                assert!((1000..=1_000_000).contains(&l.period_us()));
            }
        }
    })
});
