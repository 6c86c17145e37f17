//! The command line: `launcher [OPTIONS] ROOTFS [COMMAND [ARG...]]` → a validated [`Spec`].
//! Options stop at ROOTFS; everything after it belongs to COMMAND.

use crate::error::{Error, Result};
use crate::seccomp::Seccomp;
use crate::spec::{self, Init, Mount, Spec, Tty};
use core::ffi::CStr;
use linker::Args;

pub const USAGE: &str = "\
Usage: launcher [OPTIONS] ROOTFS [COMMAND [ARG...]]
       launcher exec [-t|-T] [--user USER[:GROUP]] [--env K=V] [--workdir DIR] NAME COMMAND [ARG...]
       launcher ps | stop NAME [--time SECONDS] | kill NAME [SIGNAL]

Runs COMMAND (default /bin/sh) in a new container whose root is the directory ROOTFS:
new UTS, PID, mount, IPC, network and cgroup namespaces, knocker's init as PID 1.
Run by a user other than root, it adds a user namespace whose root is that user (with the
user's subordinate ids through newuidmap when /etc/subuid has them); limits then need a
cgroup v2 subtree delegated to the user.

Container:
      --hostname NAME     host name inside (default: knocker)
      --net host          share the host's network (default: own namespace, only lo)
      --net none          a network namespace of its own with only lo (the default)
      --net ns:PATH       join an existing network namespace (/run/netns/NAME, /proc/PID/ns/net)
      --net pasta         a namespace of its own with a way out: user-mode networking through
                          pasta (apt-get install passt), no change to the host's firewall
      --publish HOST:CONTAINER[/tcp|/udp]  with --net pasta: forward a host port inside
      --dns IP            name server for the container's /etc/resolv.conf (repeatable)
      --add-host NAME:IP  an /etc/hosts entry (repeatable)
                          With --net host, pasta or ns:PATH the container gets /etc/resolv.conf,
                          /etc/hosts and /etc/hostname of its own (read-only), ROOTFS unchanged.
      --overlay           a throwaway root: writes go to a tmpfs over ROOTFS, which stays as
                          it is (several containers may share one ROOTFS)
      --overlay-size SIZE the tmpfs's size (default: a quarter of RAM)
      --overlay-dir DIR   keep the writable layer in DIR instead (DIR/upper, DIR/work)
      --userns[=auto|=HOSTID:COUNT]  (root) container root is an unprivileged host id: a user
                          namespace mapping 0..COUNT-1 to HOSTID.. (auto: 65536 ids of
                          knocker's own range from 2^31), ROOTFS seen through an idmapped mount
      --ro                make the root file system read-only
      --bind SRC:DST[:ro] bind-mount host path SRC at DST (repeatable)
      --tmpfs DST         mount an empty tmpfs at DST (repeatable)
      --env KEY=VALUE     set an environment variable (repeatable)
      --workdir DIR       working directory inside (default: /)
      --user USER[:GROUP] run as this user (a name or a uid; its group and supplementary
                          groups, HOME and USER from the container's /etc/passwd and
                          /etc/group; default: root)
  -t, --tty               give the container a terminal even if stdin/stdout are not ones
  -T, --no-tty            never give the container a terminal
Init:
      --init PATH         use PATH inside the rootfs as PID 1 instead of knocker's init
      --init-bin PATH     copy knocker's init from this host file
      --no-init           run COMMAND itself as PID 1
Limits (cgroups):
      --memory SIZE       memory limit: bytes, or with K, M, G (1024-based); no swap
      --pids N|max        at most N processes (default: 15% of the kernel's limit;
                          max: no limit)
      --cpus DECIMAL      CPU quota, e.g. 0.5
      --name NAME         cgroup name under knocker/ (default: the launcher's pid)
Security:
      --cap-add CAP       keep capability CAP (e.g. SYS_ADMIN, or ALL) (repeatable)
      --cap-drop CAP      drop capability CAP (or ALL) (repeatable)
      --allow-new-privs   do not set no_new_privs (setuid binaries can gain privileges)
      --seccomp=unconfined  do not install the default seccomp filter
      --device HOST[:CONTAINER][:PERMS]  make a host device node usable inside (PERMS
                          from rwm, default rwm); every other device stays refused
Other:
  -v, --verbose           say what the launcher does
  -h, --help              show this help
  -V, --version           show the version

Exit status: COMMAND's status (128+N if killed by signal N); 125 if the launcher failed,
126 if COMMAND cannot be executed, 127 if COMMAND does not exist in ROOTFS.
";

pub const VERSION: &str = concat!("launcher (knocker) ", env!("CARGO_PKG_VERSION"));

pub enum Action {
    Run(Spec),
    Help,
    Version,
}

fn usage_error(what: &'static str, subject: &[u8]) -> Error {
    Error::new(what).on(subject).hint("see launcher --help")
}

/// Options that take a value.
const WITH_VALUE: [&[u8]; 22] = [
    b"--hostname", b"--net", b"--bind", b"--tmpfs", b"--env", b"--workdir", b"--user", b"--init",
    b"--init-bin", b"--memory", b"--pids", b"--cpus", b"--name", b"--cap-add", b"--cap-drop", b"--seccomp",
    b"--device", b"--publish", b"--dns", b"--add-host", b"--overlay-size", b"--overlay-dir",
];

pub fn parse(args: &Args) -> Result<Action> {
    let mut opts = Options::default();
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        let a = arg.to_bytes();
        if a == b"--" {
            i += 1;
            break;
        }
        if a.len() < 2 || a[0] != b'-' {
            break;
        }
        i += 1;
        // `--opt=value` or `--opt value`.
        let (name, inline) = match a.iter().position(|&c| c == b'=') {
            Some(eq) if a.starts_with(b"--") => (&a[..eq], Some(arg_tail(arg, eq + 1))),
            _ => (a, None),
        };
        // Its value, if any, comes only after '=': `--userns` alone is `--userns=auto`.
        if name == b"--userns" {
            opts.daily.userns = Some(match inline.map(CStr::to_bytes) {
                None | Some(b"auto") => (0, 0),
                Some(v) => spec::parse_id_range(v).ok_or_else(|| usage_error("bad --userns (auto, or HOSTID:COUNT):", v))?,
            });
            continue;
        }
        if WITH_VALUE.contains(&name) {
            let value = match inline {
                Some(v) => v,
                None => {
                    let v = args.get(i).ok_or_else(|| usage_error("option needs a value:", name))?;
                    i += 1;
                    v
                }
            };
            opts.value(name, value)?;
        } else if inline.is_some() {
            return Err(usage_error("option takes no value:", name));
        } else {
            match opts.flag(name)? {
                Some(action) => return Ok(action),
                None => {}
            }
        }
    }
    let rootfs = args.get(i).ok_or_else(|| Error::new("missing ROOTFS").hint("see launcher --help"))?;
    if rootfs.is_empty() {
        return Err(usage_error("ROOTFS is empty", b""));
    }
    let mut spec = opts.into_spec(rootfs)?;
    spec.command = (i + 1 < args.len()).then_some(i + 1);
    Ok(Action::Run(spec))
}

/// The part of an argv string after byte `at`, still NUL-terminated.
fn arg_tail(arg: &'static CStr, at: usize) -> &'static CStr {
    // The suffix of a C string is a C string: same terminator, no interior NUL.
    CStr::from_bytes_with_nul(&arg.to_bytes_with_nul()[at..]).unwrap_or(c"")
}

#[derive(Default)]
struct Options {
    hostname: Option<&'static [u8]>,
    verbose: bool,
    host_network: bool,
    net_join: Option<&'static CStr>,
    read_only: bool,
    mounts: linker::List<Mount, { spec::MAX_CLI_MOUNTS }>,
    env: linker::List<&'static CStr, { spec::MAX_CLI_ENV }>,
    workdir: Option<&'static CStr>,
    user: Option<&'static [u8]>,
    init: Option<Init>,
    limits: spec::Limits,
    pids: spec::Pids,
    devices: linker::List<spec::Device, { spec::MAX_CLI_DEVICES }>,
    name: Option<&'static [u8]>,
    cap_changes: linker::List<(bool, u64), 64>,
    allow_new_privs: bool,
    no_seccomp: bool,
    tty: Option<Tty>,
    daily: spec::Daily,
}

impl Options {
    fn flag(&mut self, name: &[u8]) -> Result<Option<Action>> {
        match name {
            b"-h" | b"--help" => return Ok(Some(Action::Help)),
            b"-V" | b"--version" => return Ok(Some(Action::Version)),
            b"-v" | b"--verbose" => self.verbose = true,
            b"--ro" => self.read_only = true,
            b"--no-init" => self.set_init(Init::None)?,
            b"--allow-new-privs" => self.allow_new_privs = true,
            b"-t" | b"--tty" => self.tty = Some(Tty::Always),
            b"-T" | b"--no-tty" => self.tty = Some(Tty::Never),
            b"--overlay" => self.daily.overlay = true,
            _ => return Err(usage_error("unknown option", name)),
        }
        Ok(None)
    }

    fn set_init(&mut self, init: Init) -> Result<()> {
        if self.init.is_some_and(|old| old != init) {
            return Err(usage_error("choose one of --init, --init-bin and --no-init", b""));
        }
        self.init = Some(init);
        Ok(())
    }

    fn value(&mut self, name: &[u8], value: &'static CStr) -> Result<()> {
        let v = value.to_bytes();
        let bad = |what: &'static str| Err(usage_error(what, v));
        match name {
            b"--hostname" if spec::valid_hostname(v) => self.hostname = Some(v),
            b"--hostname" => return bad("bad --hostname (letters, digits, '-' and '.', at most 64):"),
            b"--net" => match v {
                b"host" => self.host_network = true,
                b"none" | b"private" => self.host_network = false,
                b"pasta" => self.daily.pasta = true,
                _ if v.starts_with(b"ns:") && v.len() > 3 => self.net_join = Some(arg_tail(value, 3)),
                _ => return bad("bad --net (host, none, pasta or ns:PATH):"),
            },
            b"--publish" | b"-p" => match spec::parse_publish(v) {
                Some(p) => self.daily.publish.push(p).map_err(|_| usage_error("too many --publish (at most 16)", b""))?,
                None => return bad("bad --publish (HOST_PORT:CONTAINER_PORT, then /tcp or /udp if you like):"),
            },
            b"--dns" if spec::is_ip(v) => self.daily.dns.push(v).map_err(|_| usage_error("too many --dns (at most 4)", b""))?,
            b"--dns" => return bad("bad --dns (an IPv4 or IPv6 address):"),
            b"--add-host" => match v.iter().position(|&c| c == b':') {
                Some(i) if spec::valid_hostname(&v[..i]) && spec::is_ip(&v[i + 1..]) => {
                    self.daily.add_hosts.push((&v[..i], &v[i + 1..])).map_err(|_| usage_error("too many --add-host (at most 16)", b""))?
                }
                _ => return bad("bad --add-host (NAME:IP):"),
            },
            b"--overlay-size" => match spec::parse_size(v) {
                Some(n) => {
                    self.daily.overlay = true;
                    self.daily.overlay_size = n;
                }
                None => return bad("bad --overlay-size (bytes, or a number with K, M or G):"),
            },
            b"--overlay-dir" if v.first() == Some(&b'/') => {
                self.daily.overlay = true;
                self.daily.overlay_dir = Some(value);
            }
            b"--overlay-dir" => return bad("bad --overlay-dir (an absolute host path):"),
            b"--bind" => match spec::parse_bind(v) {
                Some(m) => self.mounts.push(m).map_err(|_| usage_error("too many mounts (at most 32)", b""))?,
                None => return bad("bad --bind (SRC:DST[:ro] with DST absolute):"),
            },
            b"--tmpfs" => match spec::parse_container_path(v) {
                Some(dst) => self
                    .mounts
                    .push(Mount::Tmpfs { dst })
                    .map_err(|_| usage_error("too many mounts (at most 32)", b""))?,
                None => return bad("bad --tmpfs (an absolute path):"),
            },
            b"--env" if spec::valid_env(v) => {
                self.env.push(value).map_err(|_| usage_error("too many --env (at most 256)", b""))?
            }
            b"--env" => return bad("bad --env (KEY=VALUE):"),
            b"--workdir" if spec::parse_container_path(v).is_some() => self.workdir = Some(value),
            b"--workdir" => return bad("bad --workdir (an absolute path):"),
            b"--user" if !v.is_empty() => self.user = Some(v),
            b"--user" => return bad("bad --user (NAME or UID, with :GROUP or :GID if you like):"),
            b"--init" if spec::parse_container_path(v).is_some() => self.set_init(Init::InRootfs(value))?,
            b"--init" => return bad("bad --init (an absolute path inside the rootfs):"),
            b"--init-bin" if !v.is_empty() => self.set_init(Init::Bundled(Some(value)))?,
            b"--init-bin" => return bad("bad --init-bin (a host path):"),
            b"--memory" => match spec::parse_size(v) {
                Some(n) => self.limits.memory = Some(n),
                None => return bad("bad --memory (bytes, or a number with K, M or G, above 0):"),
            },
            b"--pids" if v == b"max" => self.pids = spec::Pids::Max,
            b"--pids" => match spec::parse_count(v) {
                Some(n) => self.pids = spec::Pids::Limit(n),
                None => return bad("bad --pids (a whole number above 0, or max):"),
            },
            b"--device" => match spec::parse_device(v) {
                Some((host, path, access)) => self
                    .devices
                    .push(spec::Device { host, path, access, ..Default::default() })
                    .map_err(|_| usage_error("too many --device (at most 16)", b""))?,
                None => return bad("bad --device (HOST_PATH[:CONTAINER_PATH][:PERMS], absolute paths, PERMS from rwm):"),
            },
            b"--cpus" => match spec::parse_cpus(v) {
                Some(q) => self.limits.cpu_quota_us = Some(q),
                None => return bad("bad --cpus (a decimal from 0.01, e.g. 0.5):"),
            },
            b"--name" if spec::valid_name(v) => self.name = Some(v),
            b"--name" => return bad("bad --name (letters, digits, '-', '_' and '.', at most 64):"),
            b"--cap-add" | b"--cap-drop" => match spec::parse_cap(v) {
                Some(bits) => self
                    .cap_changes
                    .push((name == b"--cap-add", bits))
                    .map_err(|_| usage_error("too many --cap-add/--cap-drop", b""))?,
                None => return bad("unknown capability (see capabilities(7), or ALL):"),
            },
            b"--seccomp" if v == b"unconfined" => self.no_seccomp = true,
            b"--seccomp" => return bad("bad --seccomp (only 'unconfined' is known):"),
            _ => return Err(usage_error("unknown option", name)),
        }
        Ok(())
    }

    fn into_spec(mut self, rootfs: &'static CStr) -> Result<Spec> {
        let mut s = Spec::new(rootfs);
        s.hostname = self.hostname.unwrap_or(spec::DEFAULT_HOSTNAME);
        s.verbose = self.verbose;
        s.host_network = self.host_network;
        s.net_join = self.net_join;
        if self.daily.pasta && (self.host_network || self.net_join.is_some()) {
            return Err(usage_error("choose one --net", b""));
        }
        if !self.daily.publish.is_empty() && !self.daily.pasta {
            return Err(usage_error("--publish needs --net pasta", b""));
        }
        s.daily = self.daily;
        s.read_only = self.read_only;
        s.mounts = spec::keep(self.mounts.as_slice())?;
        s.env = spec::keep(self.env.as_slice())?;
        s.workdir = self.workdir.unwrap_or(c"/");
        s.user = self.user;
        s.init = self.init.unwrap_or(Init::Bundled(None));
        s.limits = self.limits;
        (s.limits.pids, s.limits.pids_by_default) = match self.pids {
            spec::Pids::Default => (None, true),
            spec::Pids::Max => (None, false),
            spec::Pids::Limit(n) => (Some(n), false),
        };
        crate::preflight::resolve_devices(self.devices.as_mut_slice())?;
        s.devices = spec::keep(self.devices.as_slice())?;
        s.name = self.name;
        for (add, bits) in self.cap_changes.iter() {
            s.caps = if add { s.caps | bits } else { s.caps & !bits };
        }
        s.allow_new_privs = self.allow_new_privs;
        s.seccomp = if self.no_seccomp { Seccomp::Unconfined } else { Seccomp::Default };
        s.tty = self.tty.unwrap_or(Tty::Auto);
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn parse_strs(words: &[&str]) -> Result<Action> {
        let owned: Vec<CString> = words.iter().map(|w| CString::new(*w).unwrap()).collect();
        let mut ptrs: Vec<*const core::ffi::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(core::ptr::null());
        // The parsed Spec borrows for 'static: leak the test's argv like a process's initial stack.
        let ptrs = Box::leak(ptrs.into_boxed_slice());
        std::mem::forget(owned);
        // SAFETY: `ptrs` is a leaked, NULL-terminated array of leaked C strings.
        let args = unsafe { Args::from_raw(words.len(), ptrs.as_ptr()) };
        parse(&args)
    }

    fn spec(words: &[&str]) -> Spec {
        match parse_strs(words) {
            Ok(Action::Run(s)) => s,
            Ok(_) => panic!("not a run"),
            Err(e) => panic!("{}", String::from_utf8_lossy(e.line().as_bytes())),
        }
    }

    fn error(words: &[&str]) -> String {
        match parse_strs(words) {
            Err(e) => String::from_utf8(e.line().as_bytes().to_vec()).unwrap(),
            Ok(_) => panic!("parsed: {words:?}"),
        }
    }

    #[test]
    fn defaults() {
        let s = spec(&["launcher", "./rootfs"]);
        assert_eq!(s.rootfs, c"./rootfs");
        assert_eq!(s.command, None);
        assert_eq!(s.hostname, b"knocker");
        assert_eq!(s.init, Init::Bundled(None));
        assert_eq!(s.caps, spec::DEFAULT_CAPS);
        assert!(matches!(s.seccomp, Seccomp::Default) && !s.allow_new_privs && !s.host_network && !s.read_only);
        assert_eq!(s.tty, Tty::Auto);
    }

    #[test]
    fn options_stop_at_rootfs_and_the_command_keeps_its_own() {
        let s = spec(&["launcher", "-v", "--hostname=box", "--memory", "64M", "r", "/bin/sh", "-c", "--ro"]);
        assert_eq!(s.command, Some(6));
        assert!(s.verbose && !s.read_only);
        assert_eq!(s.hostname, b"box");
        assert_eq!(s.limits.memory, Some(64 << 20));
        let s = spec(&["launcher", "--", "-weird-rootfs", "true"]);
        assert_eq!(s.rootfs, c"-weird-rootfs");
        assert_eq!(s.command, Some(3));
    }

    #[test]
    fn repeatable_options_keep_their_order() {
        let s = spec(&[
            "launcher", "--bind", "/a:/x:ro", "--tmpfs", "/t", "--env", "A=1", "--env", "B=2", "--cap-drop", "ALL",
            "--cap-add", "NET_BIND_SERVICE", "r",
        ]);
        assert_eq!(s.mounts.len(), 2);
        assert_eq!(s.mounts.get(1), Some(&Mount::Tmpfs { dst: b"/t" }));
        assert_eq!(s.env.len(), 2);
        assert_eq!(s.caps, 1 << 10);
    }

    #[test]
    fn the_userns_overflow_finding_is_refused() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/findings/parsers");
        assert!(dir.is_dir(), "{} is missing: the reader findings are regression inputs (clone shared/ beside the repository)", dir.display());
        let line = std::fs::read_to_string(dir.join("cli_userns_overflow.txt")).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(error(&words), "launcher: bad --userns (auto, or HOSTID:COUNT): 4294967296:18446744069414584325 (see launcher --help)");
        // Control: a range that fits is read.
        assert_eq!(spec(&["launcher", "--userns=100000:65536", "/rootfs"]).daily.userns, Some((100000, 65536)));
    }

    #[test]
    fn usage_errors_name_the_culprit() {
        assert_eq!(error(&["launcher", "--bogus", "r"]), "launcher: unknown option --bogus (see launcher --help)");
        assert_eq!(error(&["launcher"]), "launcher: missing ROOTFS (see launcher --help)");
        assert!(error(&["launcher", "--memory", "0", "r"]).contains("bad --memory"));
        assert!(error(&["launcher", "--memory", "lots", "r"]).contains("lots"));
        assert!(error(&["launcher", "--memory"]).contains("needs a value: --memory"));
        assert!(error(&["launcher", "--ro=yes", "r"]).contains("takes no value: --ro"));
        assert!(error(&["launcher", "--no-init", "--init", "/sbin/init", "r"]).contains("choose one"));
        assert!(error(&["launcher", "--cap-add", "FLY", "r"]).contains("unknown capability"));
    }

    #[test]
    fn help_and_version() {
        assert!(matches!(parse_strs(&["launcher", "--help"]), Ok(Action::Help)));
        assert!(matches!(parse_strs(&["launcher", "-V", "r"]), Ok(Action::Version)));
    }
}
