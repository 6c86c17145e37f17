//! busybox init's `/etc/inittab`, so an embedded image can swap its init for knocker's and keep
//! its configuration. One entry per line, `id:runlevels:action:process`:
//!
//! - `id`: the terminal the process runs on (`console`, `ttyS0`, `tty1` → `/dev/<id>`); empty
//!   means init's own console;
//! - `runlevels`: ignored, as busybox ignores them;
//! - `action`: `sysinit`, `wait`, `once`, `respawn`, `askfirst`, `ctrlaltdel`, `shutdown`,
//!   `restart`;
//! - `process`: the command; a leading `-` makes it a login shell (argv[0] starts with `-`);
//!   one with shell syntax in it runs as `/bin/sh -c "exec …"`.
//!
//! `#` starts a comment line. Pure parsing, unit-tested; [`crate::services`] runs the entries.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Action {
    /// Run first, one after the other, each waited for.
    #[default]
    Sysinit,
    /// Then these, likewise.
    Wait,
    /// Then these, started and not waited for.
    Once,
    /// Started with the `once` ones, started again whenever they exit.
    Respawn,
    /// As `respawn`, but first "Please press Enter to activate this console." and a wait for Enter.
    Askfirst,
    /// Run (and waited for) on Ctrl-Alt-Del (SIGINT).
    Ctrlaltdel,
    /// Run in order, each waited for, when the box shuts down, before the last TERM and KILL.
    Shutdown,
    /// Exec'd by init on SIGQUIT, after everything else is stopped.
    Restart,
}

impl Action {
    fn parse(s: &[u8]) -> Option<Action> {
        Some(match s {
            b"sysinit" => Action::Sysinit,
            b"wait" => Action::Wait,
            b"once" => Action::Once,
            b"respawn" => Action::Respawn,
            b"askfirst" => Action::Askfirst,
            b"ctrlaltdel" => Action::Ctrlaltdel,
            b"shutdown" => Action::Shutdown,
            b"restart" => Action::Restart,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Entry<'a> {
    /// 1-based line number, for messages.
    pub line: usize,
    pub tty: &'a [u8],
    pub action: Action,
    pub process: &'a [u8],
}

/// Why a line was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bad {
    /// Not four `:`-separated fields.
    Fields,
    UnknownAction,
    NoProcess,
}

impl Bad {
    pub fn describe(self) -> &'static str {
        match self {
            Bad::Fields => "not id:runlevels:action:process",
            Bad::UnknownAction => "unknown action",
            Bad::NoProcess => "no process",
        }
    }
}

/// One line: `Ok(None)` for blank lines and comments.
pub fn parse_line(line: usize, text: &[u8]) -> Result<Option<Entry<'_>>, Bad> {
    let text = text.trim_ascii();
    if text.is_empty() || text[0] == b'#' {
        return Ok(None);
    }
    // The process keeps any ':' of its own: split off the first three fields only.
    let mut fields = text.splitn(4, |&c| c == b':');
    let (Some(tty), Some(_runlevels), Some(action), Some(process)) = (fields.next(), fields.next(), fields.next(), fields.next()) else {
        return Err(Bad::Fields);
    };
    let action = Action::parse(action.trim_ascii()).ok_or(Bad::UnknownAction)?;
    let process = process.trim_ascii();
    if process.is_empty() || process == b"-" {
        return Err(Bad::NoProcess);
    }
    Ok(Some(Entry { line, tty: tty.trim_ascii(), action, process }))
}

/// The largest `/etc/inittab` read (busybox's are a few hundred bytes); one this size or
/// larger is refused whole rather than read cut short.
pub const MAX_BYTES: usize = 1 << 20;

/// Every line of `text` with its number and what it parsed to.
pub fn lines(text: &[u8]) -> impl Iterator<Item = (usize, Result<Option<Entry<'_>>, Bad>)> {
    text.split(|&c| c == b'\n').enumerate().map(|(i, l)| (i + 1, parse_line(i + 1, l)))
}

/// Characters that need a shell: then the process runs as `/bin/sh -c "exec PROCESS"`.
pub fn needs_shell(process: &[u8]) -> bool {
    process.iter().any(|c| b"~`!$^&*()=|\\{}[];\"'<>?".contains(c))
}

/// The words of a process without shell syntax (split at blanks).
pub fn words(process: &[u8]) -> impl Iterator<Item = &[u8]> {
    process.split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buildroot's default inittab, as busybox images ship it.
    const BUILDROOT: &str = "\
# /etc/inittab
::sysinit:/bin/mount -t proc proc /proc
::sysinit:/bin/mount -o remount,rw /
::sysinit:/bin/mkdir -p /dev/pts /dev/shm
::sysinit:/bin/mount -a
::sysinit:/bin/hostname -F /etc/hostname
::sysinit:/etc/init.d/rcS

# Put a getty on the serial port
console::respawn:/sbin/getty -L  console 0 vt100 # GENERIC_SERIAL

# Stuff to do for the 3-finger salute
#::ctrlaltdel:/sbin/reboot

# Stuff to do before rebooting
::shutdown:/etc/init.d/rcK
::shutdown:/sbin/swapoff -a
::shutdown:/bin/umount -a -r
";

    #[test]
    fn buildroots_inittab() {
        let entries: Vec<Entry> = lines(BUILDROOT.as_bytes()).filter_map(|(_, e)| e.unwrap()).collect();
        assert_eq!(entries.len(), 10);
        assert_eq!(entries[0], Entry { line: 2, tty: b"", action: Action::Sysinit, process: b"/bin/mount -t proc proc /proc" });
        assert_eq!(entries[6].tty, b"console");
        assert_eq!(entries[6].action, Action::Respawn);
        assert_eq!(entries[6].line, 10);
        // As in busybox, `#` is no shell syntax: getty gets "#" and "GENERIC_SERIAL" as words.
        assert!(!needs_shell(entries[6].process));
        assert_eq!(words(entries[6].process).count(), 7);
        assert_eq!(entries[9].action, Action::Shutdown);
        assert!(!needs_shell(entries[0].process));
        assert_eq!(words(entries[0].process).collect::<Vec<_>>(), [&b"/bin/mount"[..], b"-t", b"proc", b"proc", b"/proc"]);
    }

    #[test]
    fn bad_lines_say_why() {
        assert_eq!(parse_line(1, b"::bogus:/bin/sh"), Err(Bad::UnknownAction));
        assert_eq!(parse_line(1, b"tty1:respawn:/bin/sh"), Err(Bad::Fields));
        assert_eq!(parse_line(1, b"::once:"), Err(Bad::NoProcess));
        assert_eq!(parse_line(1, b"   # comment"), Ok(None));
        assert_eq!(parse_line(1, b""), Ok(None));
        let e = parse_line(3, b"tty1::askfirst:-/bin/sh -c 'echo a:b'").unwrap().unwrap();
        assert_eq!((e.tty, e.action, e.process), (&b"tty1"[..], Action::Askfirst, &b"-/bin/sh -c 'echo a:b'"[..]));
    }
}

#[cfg(test)]
mod findings {
    use super::*;

    /// The shared reproducers (`../shared/findings/parsers` beside the workspace).
    fn finding(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/findings/parsers");
        assert!(dir.is_dir(), "{} is missing: the reader findings are regression inputs (clone shared/ beside the repository)", dir.display());
        std::fs::read(dir.join(name)).unwrap()
    }

    #[test]
    fn an_inittab_over_64k_is_read_whole() {
        let file = finding("inittab_over_64k");
        let last = |text: &[u8]| lines(text).filter_map(|(_, e)| e.ok().flatten()).find(|e| e.process.starts_with(b"/bin/rm")).map(|e| e.process.to_vec());
        // Control: read to 64 KiB, the cut line ran as `rm -rf /var`.
        assert_eq!(last(&file[..64 * 1024]).as_deref(), Some(&b"/bin/rm -rf /var"[..]));
        // Now the whole file is read (it is well under the limit), the line as written.
        assert!(file.len() < MAX_BYTES);
        assert_eq!(last(&file).as_deref(), Some(&b"/bin/rm -rf /var/lib/app/cache"[..]));
    }
}
