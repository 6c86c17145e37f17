//! Every input of `../shared/findings/parsers/` (beside the workspace), read as knocker reads
//! it: each is refused in one line naming the field, or read exactly as runc's Go reader
//! reads it — none crashes, hangs or widens a permission. A file the table below does not
//! name fails the test, so a new finding is classified when it lands.

use crate::config::tests::read_doc;
use crate::config::Config;
use crate::json;
use launcher::seccomp::Seccomp;
use launcher::spec::Mount;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

enum Want {
    /// Refused in one line holding this.
    Refused(&'static str),
    /// Read, and this holds of what was read.
    Read(fn(&Config)),
    /// A JSON document (not a config): refused by the grammar, or read to this value.
    Grammar(Option<&'static [u8]>),
    /// Read by another crate's test (the launcher's command line, the init's inittab).
    Elsewhere,
}

fn dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/findings/parsers");
    assert!(dir.is_dir(), "{} is missing: the reader findings are regression inputs (clone shared/ beside the repository)", dir.display());
    dir
}

fn profile_numbers(c: &Config) -> Vec<u16> {
    match c.spec.seccomp {
        Seccomp::Profile(p) => p.rules.iter().map(|r| r.nr).collect(),
        _ => panic!("no profile"),
    }
}

fn expected(name: &str) -> Option<Want> {
    use Want::*;
    Some(match name {
        "README.md" | "cli_userns_overflow.txt" | "inittab_over_64k" => Elsewhere,
        "json/bad_number_dot.json" | "json/bad_number_e.json" | "json/bad_number_minus.json" | "json/leading_zero.json" => Grammar(None),
        // Go reads these (as U+FFFD); so does knocker.
        "json/invalid_utf8.json" | "json/lone_surrogate.json" => Grammar(Some("\u{fffd}".as_bytes())),
        "json/nesting_65.json" => Grammar(Some(b"")),
        "sem/escaped_key_uid.json" => Read(|c| assert_eq!(c.spec.uid, 1000)),
        "sem/escaped_key_nnp.json" => Read(|c| assert!(!c.spec.allow_new_privs)),
        "sem/escaped_key_seccomp.json" => Read(|c| assert_eq!(profile_numbers(c), [0, 1, 231])),
        "sem/duplicate_keys.json" => Refused("(given twice (Go would take the last))"),
        "sem/case_variant_key.json" => Refused("process.NoNewPrivileges: not spelled as noNewPrivileges"),
        "sem/string_bools.json" => Refused("(expected true or false)"),
        "sem/seccomp_names_string.json" => Refused("linux.seccomp.syscalls[0].names (expected an array)"),
        "sem/seccomp_syscalls_object.json" => Refused("linux.seccomp.syscalls (expected an array)"),
        // Ignored with a warning, as runc does: no capability at all, where CAP_ALL gave every one.
        "sem/cap_all.json" | "sem/cap_lowercase_bare.json" => Read(|c| assert_eq!(c.spec.caps, 0)),
        "sem/bind_rro_dropped.json" => Refused("mounts[].options: idmap"),
        "sem/device_rule_widening.json" => Refused("linux.resources.devices[1].major (expected an integer"),
        "sem/cpu_quota_dropped.json" => Read(|c| assert_eq!((c.spec.limits.cpu_quota_us, c.spec.limits.period_us()), (Some(5000), 1_000_000))),
        "sem/resources_silently_dropped.json" => Refused("linux.resources.cpu.quota (expected an integer"),
        "sem/uidmap_without_userns.json" => Refused("linux.uidMappings (id mappings without a user namespace"),
        "sem/annotations_5k.json" => Read(|c| assert!(c.annotations.len() > 5000)),
        "sem/system_mount_trailing_slash.json" => Read(|c| {
            assert!(c.spec.cgroup_view);
            assert!(c.spec.mounts.iter().all(|m| !matches!(m, Mount::Fs { dst: b"/dev" | b"/sys/fs/cgroup", .. })));
        }),
        // Refused whichever way /proc/1/ns/net is seen: as knocker's own namespace, or not at all.
        "sem/net_sysctl_in_joined_host_netns.json" => Refused("config.json: linux.sysctl: net.* in the network namespace knocker runs in"),
        "sem/rootpath_truncated.json" => Read(|c| assert_eq!(c.spec.rootfs.to_bytes().len(), "/bundle/".len() + 10400)),
        "sem/env_70.json" => Read(|c| assert_eq!(c.spec.env.len(), 70)),
        "sem/leading_zero_uid.json" | "sem/loose_number.json" => Refused("config.json is not valid JSON: line 1 (a malformed number)"),
        "sem/invalid_utf8.json" => Refused("hostname (letters, digits"),
        "sem/lone_surrogate.json" => Read(|c| {
            // SAFETY: argv[0] is a NUL-terminated string in the arena.
            let arg = unsafe { core::ffi::CStr::from_ptr(c.spec.argv.unwrap()[0]) };
            assert_eq!(arg.to_bytes(), "sh\u{fffd}".as_bytes());
        }),
        "sem/bom.json" => Refused("config.json is not valid JSON: line 1 (not a JSON value)"),
        "sem/trailing_nul.json" => Refused("(text after the JSON value)"),
        "sem/uid_max_minus1.json" => Read(|c| assert_eq!(c.spec.uid, 4294967294)),
        "sem/rlimit_max.json" => Read(|c| assert_eq!((c.spec.rlimits.as_slice()[0].soft, c.spec.rlimits.as_slice()[0].hard), (u64::MAX, u64::MAX))),
        "sem/uidmap_identity.json" => Read(|c| assert_eq!(c.id_maps, [&b"0 0 4294967295\n"[..], b"0 0 1\n"])),
        "sem/ro_then_rw.json" => Read(|c| assert!(c.spec.mounts.iter().any(|m| matches!(m, Mount::Bind { dst: b"/data", flags, .. } if flags & linker::sys::mount::MS_RDONLY == 0)))),
        "sem/mounts_object.json" => Refused("mounts (expected an array)"),
        "sem/apparmor_long.json" => Read(|_| {}),
        "sem/additionalGids_scalar_umask.json" => Refused("process.user.additionalGids (expected an array)"),
        "seccomp_name_hash_collision.json" => Read(|c| assert_eq!(profile_numbers(c), [0, 1, 231])),
        "seccomp_sort_400.json" | "seccomp_sort_100.json" => Refused("linux.seccomp.syscalls (more than 4096 rules"),
        _ => return None,
    })
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { files(&p, out) } else { out.push(p) }
    }
}

#[test]
fn every_finding_is_refused_in_one_line_or_read_as_runc_reads_it() {
    let root = dir();
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    assert!(all.len() > 40, "{} files", all.len());
    for path in all {
        let name = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
        let want = expected(&name).unwrap_or_else(|| panic!("{name}: a finding this test does not know: say what knocker must do with it"));
        let doc = std::fs::read(&path).unwrap();
        let start = Instant::now();
        match want {
            Want::Elsewhere => continue,
            Want::Grammar(None) => assert!(json::parse(&doc).is_err(), "{name}"),
            Want::Grammar(Some(inner)) => {
                let v = json::parse(&doc).unwrap_or_else(|e| panic!("{name}: {e:?}"));
                let first = v.items().next().unwrap();
                if first.kind() == json::Kind::String {
                    let mut buf = [0u8; 16];
                    assert_eq!(first.decoded(&mut buf), Some(inner), "{name}");
                }
            }
            Want::Refused(what) => {
                let line = read_doc(&doc).err().unwrap_or_else(|| panic!("{name}: read, not refused"));
                assert!(line.contains(what) || (name.contains("apparmor") && line.contains("AppArmor")), "{name}: {line}");
                assert!(!line.contains('\n'), "{name}: one line");
            }
            Want::Read(check) => match read_doc(&doc) {
                Ok(c) => check(&c),
                // The only refusal allowed here: the host lacks the LSM a label needs.
                Err(line) if name.contains("apparmor") && line.contains("the host has no AppArmor") => {}
                Err(line) => panic!("{name}: {line}"),
            },
        }
        assert!(start.elapsed() < Duration::from_secs(1), "{name}: {:?}", start.elapsed());
    }
}

/// An AppArmor profile name is never cut (before, `exec ` and 300 bytes were cut at 255).
#[test]
fn labels_are_whole() {
    let doc = std::fs::read(dir().join("sem/apparmor_long.json")).unwrap();
    if let Ok(c) = read_doc(&doc) {
        let (_, label) = c.spec.exec_label.unwrap();
        assert_eq!(label.len(), "exec ".len() + 300);
    }
}
