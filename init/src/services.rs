//! The box's services from `/etc/inittab`, run as busybox init runs them: every `sysinit`
//! entry one after the other, then the `wait` ones, then `once`, `respawn` and `askfirst`;
//! `respawn`/`askfirst` come back when they exit (at most once a second, said on the console);
//! Ctrl-Alt-Del runs the `ctrlaltdel` entries; shutdown runs the `shutdown` entries in order;
//! SIGQUIT stops everything and execs the `restart` entry.

use crate::inittab::{self, Action, Entry};
use crate::log::Log;
use crate::supervise::{self, HANDLED, Session, Supervisor};
use crate::system::{Stop, console_device};
use core::ffi::c_char;
use linker::sys::fs;
use linker::sys::mm::Mapping;
use linker::sys::process::{self, WNOHANG};
use linker::sys::signal::{self, SIGCHLD, SIGINT, SIGQUIT, SigSet};
use linker::sys::time::{self, Timespec};
use linker::{List, Text, say};

pub const PATH: &core::ffi::CStr = c"/etc/inittab";
pub const MAX_ENTRIES: usize = 48;
/// A service that exits is started again this long after its previous start, at the earliest.
pub const RESPAWN_MS: u64 = 1000;

#[derive(Clone, Copy, Default)]
struct Service {
    entry: Entry<'static>,
    pid: i32,
    started_ms: u64,
    /// When to start it again (0: not waiting to).
    due_ms: u64,
}

pub struct Services {
    list: List<Service, MAX_ENTRIES>,
    mask: SigSet,
    envp: *const *const c_char,
    path: &'static [u8],
}

/// Reads `/etc/inittab`; None when there is none. A line that cannot be used is skipped with
/// a warning naming its number; the rest still runs. A file of [`inittab::MAX_BYTES`] or
/// more is refused whole, in one line (a cut last line must never run), and the box runs as
/// without one.
pub fn load(mask: SigSet, envp: *const *const c_char, path: &'static [u8]) -> Option<Services> {
    let fd = fs::open(PATH, fs::O_RDONLY).ok()?;
    // Untouched pages of the mapping cost nothing.
    let mut map = Mapping::new(inittab::MAX_BYTES, 0).ok()?;
    let n = fs::read_all(fd.raw(), map.as_slice_mut::<u8>()).ok()?;
    if n >= inittab::MAX_BYTES {
        say!(2; "init: /etc/inittab: 1 MiB or more: not read");
        return None;
    }
    // PID 1 keeps the table for its whole life: the mapping is never unmapped.
    let bytes: &'static [u8] = {
        let ptr = map.as_ptr();
        core::mem::forget(map);
        // SAFETY: `n` bytes of a mapping that is never unmapped or written again.
        unsafe { core::slice::from_raw_parts(ptr, n) }
    };
    let mut s = Services { list: List::new(), mask, envp, path };
    for (line, parsed) in inittab::lines(bytes) {
        match parsed {
            Ok(Some(entry)) => {
                if s.list.push(Service { entry, ..Default::default() }).is_err() {
                    say!(2; "init: /etc/inittab:", line, ": over 48 entries: rest skipped");
                    break;
                }
            }
            Ok(None) => {}
            Err(bad) => say!(2; "init: /etc/inittab:", line, ": ", bad.describe(), " (line skipped)"),
        }
    }
    Some(s)
}

impl Services {
    /// Runs the box until a request to stop: halt, power off, reboot or restart.
    pub fn run(&mut self, sup: &Supervisor) -> Stop {
        for action in [Action::Sysinit, Action::Wait] {
            if let Some(stop) = self.run_in_order(action, sup) {
                return stop;
            }
        }
        for i in 0..self.list.len() {
            if matches!(self.list.as_slice()[i].entry.action, Action::Once | Action::Respawn | Action::Askfirst) {
                self.start(i, sup.log);
            }
        }
        loop {
            let now = time::monotonic_ns() / 1_000_000;
            let next = self.list.iter().filter(|s| s.due_ms > 0).map(|s| s.due_ms).min();
            let timeout = next.map(|due| Timespec::from_ms(due.saturating_sub(now).max(1)));
            match signal::sigtimedwait(HANDLED, timeout) {
                Ok(info) if info.signo == SIGCHLD => {
                    self.reap(None, sup.log);
                }
                Ok(info) => {
                    if let Some(stop) = self.request(info.signo, sup) {
                        return stop;
                    }
                }
                Err(_) => {}
            }
            let now = time::monotonic_ns() / 1_000_000;
            for i in 0..self.list.len() {
                let s = self.list.as_slice()[i];
                if s.due_ms > 0 && s.due_ms <= now {
                    self.start(i, sup.log);
                }
            }
        }
    }

    /// What a signal asks of PID 1, busybox's way: SIGUSR1 halt, SIGUSR2 power off, SIGTERM
    /// reboot, SIGINT (Ctrl-Alt-Del) the `ctrlaltdel` entries (none: nothing, as in busybox),
    /// SIGQUIT the `restart` entry.
    fn request(&mut self, sig: i32, sup: &Supervisor) -> Option<Stop> {
        match sig {
            SIGINT => self.run_in_order(Action::Ctrlaltdel, sup),
            SIGQUIT => self.restart_entry().map(Stop::Restart),
            other => crate::system::request(other),
        }
    }

    pub fn restart_entry(&self) -> Option<Entry<'static>> {
        self.list.iter().find(|s| s.entry.action == Action::Restart).map(|s| s.entry)
    }

    /// Runs every entry of `action` in file order, each to its end. A stop request that
    /// arrives meanwhile ends the sequence (the current entry is left to the shutdown).
    pub fn run_in_order(&mut self, action: Action, sup: &Supervisor) -> Option<Stop> {
        for i in 0..self.list.len() {
            if self.list.as_slice()[i].entry.action != action {
                continue;
            }
            let Some(pid) = self.start(i, sup.log) else { continue };
            loop {
                match signal::sigtimedwait(HANDLED, None) {
                    Ok(info) if info.signo == SIGCHLD => {
                        if self.reap(Some(pid), sup.log) {
                            break;
                        }
                    }
                    // During the shutdown entries themselves, further requests change nothing.
                    Ok(info) if action != Action::Shutdown && action != Action::Ctrlaltdel => {
                        if let Some(stop) = self.request(info.signo, sup) {
                            return Some(stop);
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// Reaps every exited child; `respawn`/`askfirst` services that exited are due again.
    /// Returns whether `waiting_for` was among them.
    fn reap(&mut self, waiting_for: Option<i32>, log: Log) -> bool {
        let mut found = false;
        while let Ok(Some((pid, status))) = process::wait4(-1, WNOHANG) {
            found |= Some(pid) == waiting_for;
            let Some(s) = self.list.as_mut_slice().iter_mut().find(|s| s.pid == pid) else { continue };
            s.pid = 0;
            if matches!(s.entry.action, Action::Respawn | Action::Askfirst) {
                // Back off: never sooner than a second after the previous start.
                s.due_ms = (time::monotonic_ns() / 1_000_000).max(s.started_ms + RESPAWN_MS);
                let mut line = Text::<256>::new();
                line.push("init: '").bytes(s.entry.process).push("' exited (").push(status.shell_code()).push("); restarting it");
                say!(2; line);
            } else if log.level >= 2 {
                say!(2; "init: '", s.entry.process, "' exited with ", status.shell_code());
            }
        }
        found
    }

    /// Starts entry `i` on its terminal; its pid, or None if it could not be started.
    fn start(&mut self, i: usize, log: Log) -> Option<i32> {
        let (mask, envp, path) = (self.mask, self.envp, self.path);
        let s = &mut self.list.as_mut_slice()[i];
        s.due_ms = 0;
        s.started_ms = time::monotonic_ns() / 1_000_000;
        let pid = spawn_entry(&s.entry, mask, envp, path);
        match pid {
            Some(p) if log.level >= 2 => say!(2; "init: started '", s.entry.process, "' as pid ", p),
            Some(_) => {}
            None => say!(2; "init: /etc/inittab:", s.entry.line, ": cannot start '", s.entry.process, "'"),
        }
        s.pid = pid.unwrap_or(0);
        pid
    }
}

impl Services {
    /// Replaces PID 1 with the entry's process (busybox's `restart`), with the signal mask
    /// init started with. Returns only if the exec failed.
    pub fn exec(&self, e: &Entry) {
        let mut buf = Text::<1024>::new();
        let mut ptrs = [core::ptr::null(); 40];
        let Some(program) = argv_of(e.process, &mut buf, &mut ptrs) else { return };
        let _ = signal::sigprocmask(signal::SIG_SETMASK, self.mask);
        let _ = linker::exec::execvp(program, ptrs.as_ptr(), self.envp, self.path);
        let _ = signal::sigprocmask(signal::SIG_BLOCK, HANDLED);
    }
}

/// The argv of an entry: its words, or `/bin/sh -c "exec PROCESS"` when it has shell syntax;
/// a leading `-` (a login shell) goes into argv[0] only. Built in `buf`, pointers in `ptrs`.
fn argv_of<'b>(process: &[u8], buf: &'b mut Text<1024>, ptrs: &mut [*const c_char; 40]) -> Option<&'b core::ffi::CStr> {
    let login = process.first() == Some(&b'-');
    let command = if login { &process[1..] } else { process };
    let mut starts = List::<usize, 39>::new();
    // One NUL-terminated string made of `parts`; argv first, the program's path last.
    let mut word = |buf: &mut Text<1024>, parts: &[&[u8]]| {
        let _ = starts.push(buf.len());
        for p in parts {
            buf.bytes(p);
        }
        buf.bytes(b"\0");
    };
    if inittab::needs_shell(command) {
        word(buf, &[if login { b"-sh" } else { b"sh" }]);
        word(buf, &[b"-c"]);
        word(buf, &[b"exec ", command]);
        word(buf, &[b"/bin/sh"]);
    } else {
        let mut words = inittab::words(command);
        let program = words.next()?;
        let base = program.rsplit(|&c| c == b'/').next().unwrap_or(program);
        if login { word(buf, &[b"-", base]) } else { word(buf, &[program]) }
        for w in words {
            word(buf, &[w]);
        }
        word(buf, &[program]);
    }
    if buf.overflowed() || starts.len() >= 39 {
        return None;
    }
    // The last string is the path to execute; the others are argv.
    let bytes = buf.as_bytes();
    let base = bytes.as_ptr();
    let count = starts.len() - 1;
    for (k, &at) in starts.as_slice()[..count].iter().enumerate() {
        // SAFETY: `at` is inside `buf`, at the start of a NUL-terminated word.
        ptrs[k] = unsafe { base.add(at) } as *const c_char;
    }
    ptrs[count] = core::ptr::null();
    let last = starts.as_slice()[count];
    core::ffi::CStr::from_bytes_until_nul(&bytes[last..]).ok()
}

fn spawn_entry(e: &Entry, mask: SigSet, envp: *const *const c_char, path: &[u8]) -> Option<i32> {
    let mut buf = Text::<1024>::new();
    let mut ptrs = [core::ptr::null(); 40];
    let program = argv_of(e.process, &mut buf, &mut ptrs)?;
    // The entry's terminal: none given means init's own console; `console` is the real
    // terminal behind /dev/console (it can be a controlling terminal, /dev/console cannot).
    let device = match e.tty {
        b"" => None,
        b"console" => console_device(),
        tty => {
            let mut d = Text::<64>::new();
            if !tty.starts_with(b"/dev/") {
                d.push("/dev/");
            }
            d.bytes(tty);
            Some(d)
        }
    };
    let ask_first = e.action == Action::Askfirst;
    supervise::spawn(program, ptrs.as_ptr(), envp, path, mask, Session::Terminal { device: device.as_deref(), ask_first }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(process: &str) -> (String, Vec<String>) {
        let mut buf = Text::<1024>::new();
        let mut ptrs = [core::ptr::null(); 40];
        let program = argv_of(process.as_bytes(), &mut buf, &mut ptrs).unwrap().to_str().unwrap().to_string();
        let words = ptrs
            .iter()
            .take_while(|p| !p.is_null())
            // SAFETY: the pointers lead to NUL-terminated words inside `buf`, alive here.
            .map(|&p| unsafe { core::ffi::CStr::from_ptr(p) }.to_str().unwrap().to_string())
            .collect();
        (program, words)
    }

    #[test]
    fn commands_become_argv_as_in_busybox() {
        assert_eq!(argv("/sbin/getty -L console 0 vt100"), ("/sbin/getty".into(), vec!["/sbin/getty".into(), "-L".into(), "console".into(), "0".into(), "vt100".into()]));
        assert_eq!(argv("-/bin/sh"), ("/bin/sh".into(), vec!["-sh".into()]));
        assert_eq!(argv("echo $HOME > /tmp/x"), ("/bin/sh".into(), vec!["sh".into(), "-c".into(), "exec echo $HOME > /tmp/x".into()]));
        assert_eq!(argv("-/bin/sh -c 'id'").1[0], "-sh");
    }
}
