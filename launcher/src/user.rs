//! `--user NAME|UID[:GROUP|GID]` as Docker, podman and nspawn read it: names, the primary group
//! and the supplementary groups come from the container's own `/etc/passwd` and `/etc/group`,
//! read inside its root (resolved there, symlinks included, never the host's files); `HOME`
//! and `USER` follow. A numeric user without a passwd entry is that uid with group 0.

use crate::error::{Error, Result};
use crate::rootfs::read_in_root;
use core::ffi::CStr;
use linker::sys::Errno;
use linker::{Fd, List, Text};

pub const MAX_GROUPS: usize = 32;

/// Who the container's process runs as.
#[derive(Clone, Copy)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub groups: List<u32, MAX_GROUPS>,
    /// From the passwd entry, when there is one.
    pub home: Option<Text<256>>,
    pub name: Option<Text<64>>,
}

fn number(s: &[u8]) -> Option<u32> {
    linker::text::decimal_value(s).filter(|&n| n < u32::MAX as u64 && !s.is_empty()).map(|n| n as u32)
}

/// The fields of the first line of `file` (a passwd or group file) whose field `key_at`
/// equals `key`.
fn find<'a>(file: &'a [u8], key_at: usize, key: &[u8]) -> Option<[&'a [u8]; 7]> {
    file.split(|&c| c == b'\n').filter(|l| !l.starts_with(b"#")).find_map(|line| {
        let mut fields = [&b""[..]; 7];
        for (i, f) in line.split(|&c| c == b':').take(7).enumerate() {
            fields[i] = f;
        }
        (fields[key_at] == key && !line.is_empty()).then_some(fields)
    })
}

/// Resolves `words` (the value of `--user`) against the passwd and group files' contents.
pub fn resolve_in(words: &[u8], passwd: &[u8], group: &[u8]) -> Result<Identity> {
    let (user, grp) = match words.iter().position(|&c| c == b':') {
        Some(i) => (&words[..i], Some(&words[i + 1..])),
        None => (words, None),
    };
    if user.is_empty() || grp.is_some_and(|g| g.is_empty()) {
        return Err(Error::new("bad --user (NAME or UID, then :GROUP or :GID if you like):").on(words));
    }
    // A number is that uid, with its passwd entry if there is one; a name must have one.
    let (uid, entry) = match number(user) {
        Some(uid) => {
            // The same number written otherwise ("0065534") is still that uid.
            let mut t = Text::<16>::new();
            t.push(uid);
            (uid, find(passwd, 2, user).or_else(|| find(passwd, 2, t.as_bytes())))
        }
        None => {
            let e = find(passwd, 0, user).ok_or_else(|| Error::new("--user: no such user in the container's /etc/passwd:").on(user))?;
            let uid = number(e[2]).ok_or_else(|| Error::new("--user: a damaged line in the container's /etc/passwd for").on(user))?;
            (uid, Some(e))
        }
    };
    let gid = match grp {
        Some(g) => match number(g) {
            Some(gid) => gid,
            None => {
                let e = find(group, 0, g).ok_or_else(|| Error::new("--user: no such group in the container's /etc/group:").on(g))?;
                number(e[2]).ok_or_else(|| Error::new("--user: a damaged line in the container's /etc/group for").on(g))?
            }
        },
        None => entry.and_then(|e| number(e[3])).unwrap_or(0),
    };
    let mut id = Identity { uid, gid, groups: List::new(), home: None, name: None };
    if let Some(e) = entry {
        let mut home = Text::new();
        home.bytes(e[5]);
        id.home = Some(home).filter(|h| !h.is_empty() && !h.overflowed());
        let mut name = Text::new();
        name.bytes(e[0]);
        id.name = Some(name).filter(|n| !n.overflowed());
        // Supplementary groups: every group that lists the user by name, and the primary one.
        let _ = id.groups.push(gid);
        for line in group.split(|&c| c == b'\n').filter(|l| !l.starts_with(b"#")) {
            let mut f = line.split(|&c| c == b':');
            let (Some(_), Some(_), Some(g), Some(members)) = (f.next(), f.next(), f.next(), f.next()) else { continue };
            if members.split(|&c| c == b',').any(|m| m == e[0]) {
                if let Some(g) = number(g).filter(|g| !id.groups.iter().any(|x| x == *g)) {
                    id.groups.push(g).map_err(|_| Error::new("--user: in more than 32 groups:").on(user))?;
                }
            }
        }
    }
    Ok(id)
}

/// Resolves `words` inside the root `root` (the rootfs, or a running container's /proc/PID/root).
pub fn resolve(root: &Fd, words: &[u8]) -> Result<Identity> {
    let mut passwd = [0u8; 32 * 1024];
    let mut group = [0u8; 32 * 1024];
    let read = |path: &'static CStr, buf: &mut [u8]| match read_in_root(root, path, buf) {
        Ok(n) => Ok(n),
        // Too large to read whole, or not a file: say so rather than read part of it.
        Err(Errno::EFBIG) => Err(Error::new("the container's file is larger than 32 KiB:").on(path).hint("--user takes a uid[:gid] then")),
        Err(Errno::EINVAL) => Err(Error::new("the container's file is not a regular file:").on(path)),
        // Missing or unreadable: numeric ids still work, names are unknown.
        Err(_) => Ok(0),
    };
    let p = read(c"/etc/passwd", &mut passwd)?;
    let g = read(c"/etc/group", &mut group)?;
    resolve_in(words, &passwd[..p], &group[..g])
}

/// Puts `id` into the Spec.
pub fn apply(spec: &mut crate::spec::Spec, id: &Identity) -> Result<()> {
    spec.uid = id.uid;
    spec.gid = id.gid;
    spec.groups = crate::spec::keep(id.groups.as_slice())?;
    spec.home = linker::Text::new();
    if let Some(h) = &id.home {
        spec.home.bytes(h.as_bytes());
    }
    spec.user_name = linker::Text::new();
    if let Some(n) = &id.name {
        spec.user_name.bytes(n.as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n";
    const GROUP: &[u8] = b"root:x:0:\ndaemon:x:1:\nadm:x:4:alice\naudio:x:29:bob,alice\nnogroup:x:65534:\nalice:x:1000:\n";

    fn ids(i: &Identity) -> (u32, u32, Vec<u32>) {
        (i.uid, i.gid, i.groups.iter().collect())
    }

    #[test]
    fn names_numbers_and_groups_as_docker() {
        let alice = resolve_in(b"alice", PASSWD, GROUP).unwrap();
        assert_eq!(ids(&alice), (1000, 1000, vec![1000, 4, 29]));
        assert_eq!(alice.home.unwrap().as_bytes(), b"/home/alice");
        assert_eq!(alice.name.unwrap().as_bytes(), b"alice");
        assert_eq!(ids(&resolve_in(b"65534", PASSWD, GROUP).unwrap()), (65534, 65534, vec![65534]), "a number with an entry takes its group");
        assert_eq!(ids(&resolve_in(b"nobody:adm", PASSWD, GROUP).unwrap()), (65534, 4, vec![4]));
        assert_eq!(ids(&resolve_in(b"alice:7", PASSWD, GROUP).unwrap()), (1000, 7, vec![7, 4, 29]));
        let stranger = resolve_in(b"4242", PASSWD, GROUP).unwrap();
        assert_eq!((ids(&stranger), stranger.home.is_none()), ((4242, 0, vec![]), true), "no entry: that uid, group 0");
        assert_eq!(ids(&resolve_in(b"4242:4242", PASSWD, GROUP).unwrap()), (4242, 4242, vec![]));
        assert!(resolve_in(b"mallory", PASSWD, GROUP).is_err());
        assert!(resolve_in(b"alice:nosuch", PASSWD, GROUP).is_err());
        assert!(resolve_in(b"alice:", PASSWD, GROUP).is_err());
        assert!(resolve_in(b":1", PASSWD, GROUP).is_err());
        assert!(resolve_in(b"alice", b"", GROUP).is_err(), "no passwd file");
    }
}
