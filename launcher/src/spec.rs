//! What the user asked for, validated: the [`Spec`] every later stage reads, and the parsers
//! for the values of its options. Pure logic, unit-tested on the host.

use core::ffi::CStr;
use linker::List;
use linker::sys::mount::{MS_RDONLY, MS_REC};

/// A user-requested mount inside the container, in command-line order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mount {
    /// `--bind SRC:DST[:ro]`: SRC on the host, DST inside the container. `flags`: `MS_REC`
    /// (the mounts below SRC too, as `--bind` always does), `MS_RDONLY`, `MS_NOSUID`,
    /// `MS_NOEXEC` (on every mount of the bind), the same and `MS_NOSYMFOLLOW` shifted by
    /// [`TOP_ONLY`] (on its top mount only: an OCI config's `ro`, where `rro` is every
    /// mount's), the access-time flags (`MS_NOATIME`, `MS_STRICTATIME`…, on the top mount);
    /// `propagation`: `MS_PRIVATE`/`MS_SHARED`/`MS_SLAVE`/`MS_UNBINDABLE`, with
    /// `MS_REC` for the whole tree (0: as it comes).
    Bind { src: &'static [u8], dst: &'static [u8], flags: u64, propagation: u64 },
    /// `--tmpfs DST`.
    Tmpfs { dst: &'static [u8] },
    /// A file system of any type (an OCI config's tmpfs, mqueue, sysfs…), with `MS_*` flags
    /// and the file system's own options; `propagation` as for a bind (0: private).
    Fs { fstype: &'static CStr, source: &'static CStr, dst: &'static [u8], flags: u64, data: Option<&'static CStr>, propagation: u64 },
    /// knocker's own read-only /sys, here in the order of the mounts (an OCI config's `/sys`
    /// entry); without one it is mounted before every other.
    Sys,
}

/// See [`Mount::Bind`]: `MS_RDONLY << TOP_ONLY` is read-only on the top mount of a bind only.
pub const TOP_ONLY: u32 = 32;

impl Default for Mount {
    fn default() -> Self {
        Mount::Tmpfs { dst: b"/" }
    }
}

/// What only the launcher's command line asks for (the OCI front end leaves it empty): the
/// network through pasta, name resolution files, a throwaway root. The code behind it is
/// reached through [`Spec::hooks`] and [`Spec::root_setup`], so knocker does not carry it.
#[derive(Clone, Copy, Default)]
pub struct Daily {
    /// `--net pasta`: user-mode networking for the container's own network namespace.
    pub pasta: bool,
    /// `--publish HOST:CONTAINER[/tcp|/udp]`: (host port, container port, udp).
    pub publish: List<(u16, u16, bool), 16>,
    /// `--dns IP`, `--add-host NAME:IP`.
    pub dns: List<&'static [u8], 4>,
    pub add_hosts: List<(&'static [u8], &'static [u8]), 16>,
    /// `--overlay`: a writable layer over ROOTFS, in a tmpfs of this many bytes (0: a quarter
    /// of RAM) or in `overlay_dir`.
    pub overlay: bool,
    pub overlay_size: u64,
    pub overlay_dir: Option<&'static CStr>,
    /// `--userns[=auto|=HOSTID:COUNT]` (root only): Some((0, 0)) is auto.
    pub userns: Option<(u32, u32)>,
}

/// See [`Spec::hooks`].
#[derive(Clone, Copy, Debug)]
pub struct Hooks {
    pub host: fn(i32) -> crate::error::Result<()>,
    /// Called in the container with the point reached: `createContainer` (before
    /// pivot_root, when `create_container`), `pivoted` (after it), `startContainer` (last,
    /// under the container's seccomp filter).
    pub container: fn(&'static str, i32) -> crate::error::Result<()>,
    /// Whether there are createContainer hooks: they run in the container's namespaces
    /// before pivot_root, so their paths resolve in the host's view, as the runtime spec
    /// says and runc does (never a program of the image's).
    pub create_container: bool,
}

/// See [`Spec::extras`]: each step of a container's PID 1 (and of an exec'd process, where it
/// applies) that only an OCI front end needs, at its point.
pub struct Extras {
    /// First, while still root on the host: rlimits and the OOM score.
    pub limits: fn(&Spec) -> crate::error::Result<()>,
    /// Before any mount: IPC, UTS and mount namespaces joined by path; for a container that
    /// shares the host's mount namespace, that one kept open (returned) and a new one made.
    pub join: fn(&Spec) -> crate::error::Result<Option<i32>>,
    /// After pivot_root: sysctls of the container's own namespaces.
    pub sysctls: fn(&Spec) -> crate::error::Result<()>,
    /// Before the drop of privileges: the personality and the LSM label of the exec.
    pub label: fn(&Spec) -> crate::error::Result<()>,
    /// Just before the exec: the umask.
    pub umask: fn(&Spec),
    /// OCI `create`: tells the creator PID 1 is ready, then waits on the exec fifo for `start`.
    pub start: fn(&crate::sync::ChildEnd, i32) -> crate::error::Result<()>,
    /// The limits only an OCI config sets, in each of the container's new groups.
    pub cgroup_limits: fn(&[crate::cgroup::Dir], &Limits, bool) -> crate::error::Result<()>,
    /// After pivot_root: `rootfsPropagation` on the container's /, and the working directory
    /// made when the image lacks it.
    pub after_pivot: fn(&Spec) -> crate::error::Result<()>,
    /// The last mount step of a container that shares the host's mount namespace.
    pub host_mounts: fn(i32) -> crate::error::Result<()>,
    /// A file system mount ([`Mount::Fs`]) or knocker's /sys in the config's order.
    pub mount: fn(&linker::Fd, &Mount, &Spec) -> crate::error::Result<()>,
    /// Around the clone: a PID namespace joined by path, for the children only (returns the
    /// launcher's own, to go back to).
    pub enter_pid: fn(&'static CStr) -> crate::error::Result<linker::Fd>,
    pub leave_pid: fn(linker::Fd) -> crate::error::Result<()>,
    /// The capability sets of `process.capabilities`, within the bits given.
    pub cap_sets: fn(&CapSets, u64) -> crate::error::Result<()>,
    /// The options of a bind's top mount only: access time, and `ro`, `nosuid`, `noexec`,
    /// `nosymfollow` of an OCI config (`MS_*` flags).
    pub bind_top: fn(&linker::Fd, &[u8], u64) -> crate::error::Result<()>,
    /// Before a container's own groups are removed: the groups it made below them.
    pub remove_nested: fn(&crate::cgroup::Path),
    /// PID 1's setup failed: says why (an OCI `create`'s goes to the creator, which reports
    /// it as its own line: an engine reads the runtime's, never the container's stderr).
    pub failed: fn(&Spec, &crate::sync::ChildEnd, &crate::error::Error),
}

/// The OCI front end's [`Extras`]: the launcher crate's own steps, referenced only by the
/// program that sets them (knocker), so they are linked into that one only.
pub const OCI_EXTRAS: Extras = Extras {
    limits: |s| {
        crate::process_limits::apply_rlimits(s.rlimits.as_slice())?;
        crate::process_limits::apply_oom_score_adj(s.oom_score_adj)
    },
    join: |s| {
        use crate::error::Context;
        use linker::sys::fs::{O_CLOEXEC, O_RDONLY};
        for (path, kind) in s.ns_join.iter().chain([&s.mnt_join]).zip([libc::CLONE_NEWIPC, libc::CLONE_NEWUTS, libc::CLONE_NEWNS]) {
            if let Some(path) = path {
                let fd = linker::sys::fs::open(path, O_RDONLY | O_CLOEXEC).context_on("cannot open the namespace", *path)?;
                linker::sys::ns::setns(fd.raw(), kind).context_on("cannot join the namespace", *path)?;
            }
        }
        if s.shared_ns & libc::CLONE_NEWNS as u64 == 0 {
            return Ok(None);
        }
        let host = linker::sys::fs::open(c"/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC).context("cannot open /proc/self/ns/mnt")?;
        linker::sys::ns::unshare(libc::CLONE_NEWNS).context("cannot create a mount namespace")?;
        Ok(Some(host.into_raw()))
    },
    sysctls: |s| crate::process_limits::apply_sysctls(s.sysctls),
    label: crate::security::label_and_personality,
    umask: |s| {
        if let Some(mask) = s.umask {
            linker::sys::fs::umask(mask);
        }
    },
    start: crate::child::wait_for_start,
    cgroup_limits: crate::cgroup::limits::write_more_all,
    after_pivot: |s| {
        use crate::error::Context;
        // The tree was made private first, so a shared root has peers in the container only.
        if s.root_propagation != 0 {
            linker::sys::mount::mount(None, c"/", None, s.root_propagation, None).context("cannot set linux.rootfsPropagation on /")?;
        }
        crate::rootfs::make_workdir(s.workdir)
    },
    host_mounts: crate::rootfs::enter_host_mounts,
    mount: crate::rootfs::oci_mount,
    bind_top: crate::rootfs::bind_top,
    remove_nested: |dir| crate::cgroup::files::remove_below(dir, 8),
    // (Set by the OCI front end, which sends the line to the creator.)
    failed: |_, _, e| e.report(),
    enter_pid: |path| {
        use crate::error::Context;
        use linker::sys::fs::{O_CLOEXEC, O_RDONLY};
        let ours = linker::sys::fs::open(c"/proc/self/ns/pid", O_RDONLY | O_CLOEXEC).context("cannot open /proc/self/ns/pid")?;
        let theirs = linker::sys::fs::open(path, O_RDONLY | O_CLOEXEC).context_on("cannot open the PID namespace", path)?;
        linker::sys::ns::setns(theirs.raw(), libc::CLONE_NEWPID).context_on("cannot join the PID namespace", path)?;
        Ok(ours)
    },
    cap_sets: crate::security::oci_cap_sets,
    leave_pid: |ours| {
        use crate::error::Context;
        linker::sys::ns::setns(ours.raw(), libc::CLONE_NEWPID).context("cannot return to the launcher's PID namespace")
    },
};

/// The capability sets besides the bounding set (bit N = capability N).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// Which program becomes the container's PID 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// knocker's own init, copied from this host file (None: look next to the launcher).
    Bundled(Option<&'static CStr>),
    /// `--init PATH`: an init already inside the rootfs.
    InRootfs(&'static CStr),
    /// `--no-init`: COMMAND itself is PID 1.
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tty {
    /// A pseudo-terminal when stdin and stdout are terminals.
    Auto,
    /// `-t`: always a pseudo-terminal.
    Always,
    /// `-T`: never.
    Never,
}

/// Resource limits; `None` means "not limited".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory: Option<u64>,
    pub pids: Option<u64>,
    /// The pids limit is knocker's default, not the user's: a host without the pids
    /// controller runs the container without it rather than refusing.
    pub pids_by_default: bool,
    /// CPU quota in microseconds per [`Limits::period_us`].
    pub cpu_quota_us: Option<u64>,
    /// The quota's period in microseconds (0: [`CPU_PERIOD_US`]); an OCI config may give its own.
    pub cpu_period_us: u64,
    /// Memory and swap together (an OCI config's `memory.swap`, as runc reads it; `u64::MAX`:
    /// no swap limit). None: no swap at all (the memory limit for both).
    pub swap: Option<u64>,
    /// CPU shares, 2 to 262144 (an OCI config's `cpu.shares`: Kubernetes gives every pod one):
    /// v1's `cpu.shares`, or cgroup2's `cpu.weight` converted as runc converts it.
    pub cpu_shares: Option<u64>,
    /// A soft limit in bytes: v1's `memory.soft_limit_in_bytes`, cgroup2's `memory.low`.
    pub memory_reservation: Option<u64>,
    /// v1's `memory.swappiness`, 0 to 100 (cgroup2 has none: refused there).
    pub swappiness: Option<u64>,
    /// v1's `memory.oom_control` = 1 (cgroup2 has none: refused there).
    pub disable_oom_killer: bool,
    /// `cpuset.cpus` and `cpuset.mems`, as the kernel's list syntax (`0-3,6`).
    pub cpus: Option<&'static [u8]>,
    pub mems: Option<&'static [u8]>,
    /// v1's real-time bandwidth: `cpu.rt_period_us` and `cpu.rt_runtime_us` (-1: no limit).
    pub rt_period_us: Option<u64>,
    pub rt_runtime_us: Option<i64>,
    /// What only an OCI config limits (behind one thin pointer: every Limits copy of the
    /// launcher's carries it).
    pub more: Option<&'static MoreLimits>,
}

/// See [`Limits::more`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MoreLimits {
    /// cgroup2 files by name and what to write to them (`unified`, e.g. the kubelet's
    /// `memory.oom.group`); refused on cgroup v1, as runc refuses them.
    pub unified: &'static [(&'static [u8], &'static [u8])],
    /// Block I/O weights and throttles (`blockIO`).
    pub block_io: Option<BlockIo>,
    /// Hugepage limits: (page size as the kernel names it, `2MB`; bytes).
    pub hugepages: &'static [(&'static [u8], u64)],
}

/// An OCI config's `linux.resources.blockIO`: v1's blkio files, cgroup2's `io.*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockIo {
    /// 10 to 1000, as v1's `blkio.weight` (cgroup2's `io.weight` by runc's conversion).
    pub weight: Option<u64>,
    /// (major, minor, weight).
    pub weight_devices: &'static [(u32, u32, u64)],
    /// (which: [`THROTTLES`] index, major, minor, rate).
    pub throttles: &'static [(u8, u32, u32, u64)],
}

/// The throttles of [`BlockIo`]: the v1 file, and cgroup2's `io.max` key.
pub const THROTTLES: [(&str, &str); 4] = [
    ("/blkio.throttle.read_bps_device", "rbps"),
    ("/blkio.throttle.write_bps_device", "wbps"),
    ("/blkio.throttle.read_iops_device", "riops"),
    ("/blkio.throttle.write_iops_device", "wiops"),
];

impl Limits {
    /// Whether the memory controller is needed.
    pub fn memory_any(&self) -> bool {
        self.memory.is_some() || self.memory_reservation.is_some() || self.swappiness.is_some() || self.disable_oom_killer
    }

    /// Whether the cpuset controller is needed.
    pub fn cpuset(&self) -> bool {
        self.cpus.is_some() || self.mems.is_some()
    }

    pub fn period_us(&self) -> u64 {
        if self.cpu_period_us == 0 { CPU_PERIOD_US } else { self.cpu_period_us }
    }

    /// Whether the cpu controller is needed.
    pub fn cpu(&self) -> bool {
        self.cpu_quota_us.is_some() || self.cpu_shares.is_some() || self.rt_period_us.is_some() || self.rt_runtime_us.is_some()
    }
}

/// cgroup2's `cpu.weight` (1 to 10000) for v1 CPU shares (2 to 262144), as runc maps them.
pub fn cpu_weight(shares: u64) -> u64 {
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// How `--pids` was given: a count, `max` (no limit), or not at all (knocker's default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pids {
    #[default]
    Default,
    Max,
    Limit(u64),
}

/// The default pids limit, as systemd-nspawn's TasksMax: 15% of what the kernel allows in
/// all (the smaller of `kernel.threads-max` and `kernel.pid_max`), at least 64. A fork bomb
/// then cannot use up the host's process table.
pub fn default_pids(threads_max: u64, pid_max: u64) -> u64 {
    (threads_max.min(pid_max) * 15 / 100).max(64)
}

/// A device node inside the container: `--device HOST_PATH[:CONTAINER_PATH][:PERMS]` (a host
/// node, bound; `block`, `major` and `minor` are filled in from it before the container
/// starts), or an OCI config's `linux.devices` entry (no host path: the node is made, with
/// `node`'s mode and owner). `access` is what the device rules allow on it (0: only what the
/// rules say otherwise, as for an OCI config's devices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    pub host: &'static [u8],
    pub path: &'static [u8],
    pub access: u8,
    pub block: bool,
    pub major: u32,
    pub minor: u32,
    pub node: Node,
}

/// How a made node looks: its type (`S_IFCHR`, `S_IFBLK`, `S_IFIFO`), mode and owner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Node {
    pub kind: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Default for Device {
    fn default() -> Self {
        Device { host: b"", path: b"", access: 0, block: false, major: 0, minor: 0, node: Node::default() }
    }
}

/// An OCI config's `linux.devices` (a privileged container gets every node of the host:
/// hundreds) and `linux.resources.devices` rules; `--device` options.
pub const MAX_DEVICES: usize = 4096;
pub const MAX_DEVICE_RULES: usize = 256;
pub const MAX_CLI_DEVICES: usize = 16;

/// Splits `--device` as Docker does: `HOST`, `HOST:CONTAINER`, `HOST:PERMS` (when the second
/// part is a valid permission string) or `HOST:CONTAINER:PERMS`; PERMS from `rwm`, default
/// `rwm`; CONTAINER absolute, default the host path.
pub fn parse_device(s: &'static [u8]) -> Option<(&'static [u8], &'static [u8], u8)> {
    use crate::cgroup::devices::{RWM, parse_access};
    let mut parts = s.splitn(3, |&c| c == b':');
    let host = parts.next().filter(|p| p.first() == Some(&b'/'))?;
    let (path, access) = match (parts.next(), parts.next()) {
        (None, _) => (host, RWM),
        (Some(p), None) => match parse_access(p) {
            Some(a) => (host, a),
            None => (p, RWM),
        },
        (Some(p), Some(perms)) => (p, parse_access(perms)?),
    };
    (path.first() == Some(&b'/') && path.len() > 1).then_some((host, path, access))
}

pub const CPU_PERIOD_US: u64 = 100_000;

/// An OCI config's `mounts`, `maskedPaths`/`readonlyPaths` each, and `additionalGids` (the
/// kernel's NGROUPS_MAX); `--bind`/`--tmpfs` options.
pub const MAX_MOUNTS: usize = 1024;
pub const MAX_PROC_PATHS: usize = 1024;
pub const MAX_GROUPS: usize = 65536;
pub const MAX_CLI_MOUNTS: usize = 32;
/// Environment entries of an OCI config: far beyond what engines send (Kubernetes adds a few
/// per service of the namespace), and refused in one line past it.
pub const MAX_ENV: usize = 4096;
/// `--env` options on the launcher's command line.
pub const MAX_CLI_ENV: usize = 256;

/// `entries` kept for the rest of the process, in an anonymous mapping that is never
/// unmapped: a Spec holds its lists (environment, mounts, devices, groups, sysctls) as slices,
/// sized by what was given (an array of every entry a list might have would make the Spec,
/// which is moved around, tens of KiB — measured: half a millisecond a launch).
#[inline(always)]
pub fn keep<T: Copy>(entries: &[T]) -> crate::error::Result<&'static [T]> {
    if entries.is_empty() {
        return Ok(&[]);
    }
    let at = keep_bytes(entries.as_ptr() as *const u8, core::mem::size_of_val(entries))? as *const T;
    // SAFETY: keep_bytes copied the entries, bit for bit, to a page-aligned mapping (at T's
    // alignment) that is never unmapped, so the slice lives as long as the process.
    Ok(unsafe { core::slice::from_raw_parts(at, entries.len()) })
}

/// The one copy behind [`keep`] (not generic, so each list type adds no code of its own).
#[inline(never)]
fn keep_bytes(from: *const u8, bytes: usize) -> crate::error::Result<*mut u8> {
    use crate::error::Context;
    let map = linker::sys::mm::Mapping::new(bytes.next_multiple_of(4096), 0).context("mmap")?;
    let at = map.as_ptr();
    core::mem::forget(map);
    // SAFETY: `from` holds `bytes` readable bytes (a slice's), the new mapping `bytes`
    // writable ones, and the two do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(from, at, bytes) };
    Ok(at)
}

/// The default hostname inside the container.
pub const DEFAULT_HOSTNAME: &[u8] = b"knocker";

#[derive(Clone, Copy)]
pub struct Spec {
    pub rootfs: &'static CStr,
    /// Index in argv of COMMAND; `None` runs `/bin/sh`.
    pub command: Option<usize>,
    pub hostname: &'static [u8],
    pub verbose: bool,
    pub host_network: bool,
    /// Join this network namespace instead of making one (`--net ns:PATH`; an OCI config's
    /// network namespace with a `path`): a file from `ip netns add`, or /proc/PID/ns/net.
    pub net_join: Option<&'static CStr>,
    pub read_only: bool,
    /// An OCI config's `linux.rootfsPropagation` for the container's `/`, set after pivot_root
    /// (`MS_SHARED`, `MS_UNBINDABLE`…, with `MS_REC` for the r- forms; 0: private, as
    /// knocker makes the whole tree before it mounts anything).
    pub root_propagation: u64,
    pub mounts: &'static [Mount],
    /// `KEY=VALUE` entries for COMMAND (see [`keep`]).
    pub env: &'static [&'static CStr],
    pub workdir: &'static CStr,
    pub uid: u32,
    pub gid: u32,
    /// The program's umask (an OCI config's `user.umask`); None: as inherited.
    pub umask: Option<u32>,
    /// Supplementary groups (an OCI config's `additionalGids`); none by default.
    pub groups: &'static [u32],
    /// `--user` as given, resolved in the container's own passwd and group files before it
    /// starts (into `uid`, `gid`, `groups`, `home`, `user_name`).
    pub user: Option<&'static [u8]>,
    /// HOME and USER from the passwd entry (empty: HOME by uid, no USER).
    pub home: linker::Text<256>,
    pub user_name: linker::Text<64>,
    /// IPC and UTS namespaces to join instead of making them (an OCI config's `path`s).
    pub ns_join: [Option<&'static CStr>; 2],
    /// A PID namespace to join (a pod's): entered by the launcher for the clone.
    pub pid_join: Option<&'static CStr>,
    /// A mount namespace to join: the child enters it first and sets the root up in it.
    pub mnt_join: Option<&'static CStr>,
    /// The namespaces the clone does not make new (`CLONE_NEWPID`, `_NEWIPC`, `_NEWUTS`,
    /// `_NEWCGROUP`, `_NEWNS` bits): the host's, for a type an OCI config leaves out of
    /// `linux.namespaces`, or one joined by path (PID, IPC, UTS: `pid_join`, `ns_join`). The
    /// host's mount namespace is entered last, with the container's tree as a detached root
    /// (child.rs).
    pub shared_ns: u64,
    /// Descriptors 3…3+N-1 stay open into the program (an OCI `--preserve-fds N`).
    pub preserve_fds: u32,
    /// A user namespace of its own (the launcher without root): PID 1 waits for its id maps,
    /// written by the front end's host hook, before anything else; no cgroup is made.
    pub user_namespace: bool,
    /// Mount the container's own cgroups read-only at /sys/fs/cgroup inside (see cgroup/view.rs).
    pub cgroup_view: bool,
    /// That view read-write (an OCI config's rw cgroup mount: a privileged container's).
    pub cgroup_writable: bool,
    /// TERM for the program (the launcher's own, or a type the rootfs knows; empty: none).
    pub term: linker::Text<80>,
    pub init: Init,
    pub limits: Limits,
    pub devices: &'static [Device],
    /// More allow rules for the device cgroup (an OCI config's `linux.resources.devices`).
    pub device_rules: &'static [crate::cgroup::devices::Rule],
    /// `--name`: the cgroup's name under `knocker/`; default: the launcher's pid.
    pub name: Option<&'static [u8]>,
    /// Capabilities the container keeps (bit N = capability N): its bounding set, and its
    /// effective, permitted and inheritable sets unless `cap_sets` says otherwise.
    pub caps: u64,
    /// An OCI config's other four sets, each as given (within the bounding set).
    pub cap_sets: Option<CapSets>,
    pub allow_new_privs: bool,
    pub seccomp: crate::seccomp::Seccomp,
    pub tty: Tty,
    /// COMMAND's argv when it does not come from the launcher's own argv (the OCI config's
    /// `process.args`); its first word is the program.
    pub argv: Option<&'static [*const core::ffi::c_char]>,
    /// OCI `create`: the exec fifo (open read-write, close-on-exec). PID 1 has no parent-death
    /// signal, tells the creator when it is ready, and waits for one byte here before exec.
    pub detached: Option<i32>,
    /// Resource limits, OOM score adjustment and namespaced sysctls for PID 1 (from an OCI config).
    pub rlimits: List<crate::process_limits::Rlimit, { crate::process_limits::MAX_RLIMITS }>,
    pub oom_score_adj: Option<i32>,
    /// An execution domain for the program (`personality(2)`: an OCI config's
    /// `linux.personality`, e.g. PER_LINUX32).
    pub personality: Option<u32>,
    /// A security label for the program, written to the LSM's exec attribute before exec
    /// (an OCI config's `apparmorProfile` or `selinuxLabel`): the file, and what to write.
    pub exec_label: Option<(&'static CStr, &'static [u8])>,
    /// An OCI front end's hooks: `host` runs in the launcher once PID 1 exists, before it is
    /// released (`createRuntime`); `container` runs in PID 1 at `"createContainer"` (after the
    /// release) and `"startContainer"` (just before exec). Each gets PID 1's host pid.
    pub hooks: Option<Hooks>,
    /// Makes the container's root and returns it, in place of a bind of ROOTFS (`--overlay`).
    pub root_setup: Option<fn(&Spec) -> crate::error::Result<linker::Fd>>,
    /// The steps only an OCI config asks for (rlimits, an OOM score, namespaces joined by
    /// path, sysctls, an LSM label, a personality, a umask): the OCI front end hands them in,
    /// so the launcher's program, whose command line has none of these, carries none of it.
    pub extras: Option<&'static Extras>,
    /// Makes the container's cgroup in place of the usual ones (the launcher without root:
    /// a delegated subtree).
    pub cgroup_setup: Option<fn(&Spec, &[u8]) -> crate::error::Result<crate::cgroup::Cgroup>>,
    pub daily: Daily,
    pub sysctls: &'static [(&'static [u8], &'static [u8])],
    /// An OCI config's `maskedPaths` and `readonlyPaths`, in place of knocker's lists.
    pub masked_paths: Option<&'static [&'static CStr]>,
    pub readonly_paths: Option<&'static [&'static CStr]>,
    /// Where the container's group sits under each hierarchy's root (an OCI config's
    /// cgroupsPath, without its leading '/'); None: `knocker/<name>`.
    pub cgroup_path: Option<&'static [u8]>,
    /// Whether a launcher holds the cgroup's liveness lock (see cgroup/stale.rs); an OCI
    /// container's group lives as long as its state instead.
    pub locked: bool,
}

impl Spec {
    pub fn new(rootfs: &'static CStr) -> Spec {
        Spec {
            rootfs,
            command: None,
            hostname: DEFAULT_HOSTNAME,
            verbose: false,
            host_network: false,
            net_join: None,
            read_only: false,
            root_propagation: 0,
            pid_join: None,
            mnt_join: None,
            shared_ns: 0,
            mounts: &[],
            env: &[],
            workdir: c"/",
            uid: 0,
            gid: 0,
            umask: None,
            groups: &[],
            user: None,
            home: linker::Text::new(),
            user_name: linker::Text::new(),
            term: linker::Text::new(),
            cgroup_view: true,
            cgroup_writable: false,
            user_namespace: false,
            preserve_fds: 0,
            ns_join: [None; 2],
            extras: None,
            init: Init::Bundled(None),
            limits: Limits::default(),
            devices: &[],
            device_rules: &[],
            name: None,
            caps: DEFAULT_CAPS,
            cap_sets: None,
            allow_new_privs: false,
            seccomp: crate::seccomp::Seccomp::Default,
            tty: Tty::Auto,
            argv: None,
            detached: None,
            rlimits: List::new(),
            oom_score_adj: None,
            personality: None,
            exec_label: None,
            hooks: None,
            root_setup: None,
            cgroup_setup: None,
            daily: Daily::default(),
            sysctls: &[],
            masked_paths: None,
            readonly_paths: None,
            cgroup_path: None,
            locked: true,
        }
    }
}

use linker::text::decimal_value as digits;

/// `--memory`: bytes, or a number with K, M or G (powers of 1024). Zero is refused.
pub fn parse_size(s: &[u8]) -> Option<u64> {
    let (num, shift) = match s.last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 10),
        b'm' | b'M' => (&s[..s.len() - 1], 20),
        b'g' | b'G' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n = digits(num)?;
    let bytes = n.checked_mul(1u64 << shift)?;
    // The kernel keeps limits in pages of a signed 64-bit counter: refuse what it would clamp.
    (bytes > 0 && bytes <= i64::MAX as u64 / 2).then_some(bytes)
}

/// `--pids`: a positive count.
pub fn parse_count(s: &[u8]) -> Option<u64> {
    digits(s).filter(|&n| n > 0 && n <= i32::MAX as u64)
}

/// `--cpus 1.5` → a quota of 150000 µs per 100000 µs period. The kernel's smallest quota is
/// 1 ms, so anything below 0.01 CPU is refused.
pub fn parse_cpus(s: &[u8]) -> Option<u64> {
    let (whole, frac) = match s.iter().position(|&c| c == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &b""[..]),
    };
    if frac.len() > 5 || (whole.is_empty() && frac.is_empty()) {
        return None;
    }
    let whole = if whole.is_empty() { 0 } else { digits(whole)? };
    let mut frac_us = if frac.is_empty() { 0 } else { digits(frac)? };
    for _ in frac.len()..5 {
        frac_us *= 10;
    }
    let quota = whole.checked_mul(CPU_PERIOD_US)?.checked_add(frac_us)?;
    (1000..=CPU_PERIOD_US * 4096).contains(&quota).then_some(quota)
}

/// `--user UID[:GID]`, numeric. GID defaults to 0, as Docker does for a uid with no passwd entry.
pub fn parse_user(s: &[u8]) -> Option<(u32, u32)> {
    let id = |b: &[u8]| digits(b).filter(|&n| n < u32::MAX as u64).map(|n| n as u32);
    match s.iter().position(|&c| c == b':') {
        Some(i) => Some((id(&s[..i])?, id(&s[i + 1..])?)),
        None => Some((id(s)?, 0)),
    }
}

/// `--bind SRC:DST[:ro]` (also `:rw`). SRC is a host path (relative to the launcher's working
/// directory if not absolute); DST must be absolute: it is a path inside the container.
pub fn parse_bind(s: &'static [u8]) -> Option<Mount> {
    let mut parts = s.splitn(3, |&c| c == b':');
    let src = parts.next().filter(|p| !p.is_empty())?;
    let dst = parts.next().filter(|p| p.first() == Some(&b'/'))?;
    let read_only = match parts.next() {
        None | Some(b"rw") => 0,
        Some(b"ro") => MS_RDONLY,
        Some(_) => return None,
    };
    Some(Mount::Bind { src, dst, flags: MS_REC | read_only, propagation: 0 })
}

/// `--publish HOST:CONTAINER[/tcp|/udp]` → (host port, container port, udp).
pub fn parse_publish(s: &[u8]) -> Option<(u16, u16, bool)> {
    let (ports, udp) = match s.iter().position(|&c| c == b'/') {
        Some(i) => match &s[i + 1..] {
            b"tcp" => (&s[..i], false),
            b"udp" => (&s[..i], true),
            _ => return None,
        },
        None => (s, false),
    };
    let colon = ports.iter().position(|&c| c == b':')?;
    let port = |p: &[u8]| digits(p).filter(|&n| (1..=65535).contains(&n)).map(|n| n as u16);
    Some((port(&ports[..colon])?, port(&ports[colon + 1..])?, udp))
}

/// `HOSTID:COUNT` of `--userns`: COUNT at least 1, the range inside 32 bits (the sum checked:
/// `4294967296:18446744069414584325` wrapped around to `(0, 5)`, container root as host root).
pub fn parse_id_range(s: &[u8]) -> Option<(u32, u32)> {
    let colon = s.iter().position(|&c| c == b':')?;
    let (start, count) = (digits(&s[..colon])?, digits(&s[colon + 1..])?);
    let end = start.checked_add(count)?;
    (start > 0 && count > 0 && end <= u32::MAX as u64).then_some((start as u32, count as u32))
}

/// An IPv4 address (four numbers up to 255) or an IPv6 one (hex groups and colons).
pub fn is_ip(s: &[u8]) -> bool {
    let v4 = s.split(|&c| c == b'.').count() == 4 && s.split(|&c| c == b'.').all(|p| digits(p).is_some_and(|n| n <= 255));
    let v6 = s.contains(&b':') && s.len() <= 45 && s.iter().all(|c| c.is_ascii_hexdigit() || *c == b':' || *c == b'.');
    v4 || v6
}

/// A path inside the container for `--tmpfs`/`--workdir`: absolute, no NUL.
pub fn parse_container_path(s: &'static [u8]) -> Option<&'static [u8]> {
    (s.first() == Some(&b'/')).then_some(s)
}

/// `--hostname`: 1 to 64 bytes of letters, digits, '-' and '.'.
pub fn valid_hostname(s: &[u8]) -> bool {
    !s.is_empty() && s.len() <= 64 && s.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
}

/// `--name`: becomes a cgroup directory, so no '/' and not '.' or '..'.
pub fn valid_name(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s != b"."
        && s != b".."
        && s.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `--env KEY=VALUE`.
pub fn valid_env(s: &[u8]) -> bool {
    match s.iter().position(|&c| c == b'=') {
        Some(i) => i > 0,
        None => false,
    }
}

/// Capability names in number order, as in capabilities(7) (without the `CAP_` prefix).
pub const CAP_NAMES: [&str; 41] = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
];

pub const ALL_CAPS: u64 = !0;

/// The OCI/Docker default set: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID
/// SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE (CapEff 00000000a80425fb).
pub const DEFAULT_CAPS: u64 = caps(&[0, 1, 4, 3, 27, 13, 6, 7, 31, 8, 10, 18, 5, 29]);

const fn caps(list: &[u32]) -> u64 {
    let mut set = 0;
    let mut i = 0;
    while i < list.len() {
        set |= 1 << list[i];
        i += 1;
    }
    set
}

/// A capability as an OCI config names it and runc reads it: `CAP_` and the kernel's name in
/// capitals, exactly (no `ALL`, no lowercase, no bare `SYS_ADMIN`) → its bit.
pub fn oci_cap(s: &[u8]) -> Option<u64> {
    let bare = s.strip_prefix(b"CAP_")?;
    CAP_NAMES.iter().position(|n| n.as_bytes() == bare).map(|i| 1u64 << i)
}

/// `SYS_ADMIN`, `CAP_SYS_ADMIN`, `sys_admin` → its bit; `ALL` → every bit (the launcher's
/// `--cap-add`; a config's names are [`oci_cap`]'s).
pub fn parse_cap(s: &[u8]) -> Option<u64> {
    let upper = |c: &u8| c.to_ascii_uppercase();
    let eq = |a: &[u8], b: &[u8]| a.len() == b.len() && a.iter().map(upper).eq(b.iter().copied());
    let bare = if s.len() > 4 && eq(&s[..4], b"CAP_") { &s[4..] } else { s };
    if eq(bare, b"ALL") {
        return Some(ALL_CAPS);
    }
    CAP_NAMES.iter().position(|n| eq(bare, n.as_bytes())).map(|i| 1u64 << i)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_shares_as_cgroup2_weights_as_runc_converts_them() {
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(1024), 39);
        assert_eq!(cpu_weight(262_144), 10_000);
    }

    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size(b"4096"), Some(4096));
        assert_eq!(parse_size(b"64M"), Some(64 << 20));
        assert_eq!(parse_size(b"64m"), Some(64 << 20));
        assert_eq!(parse_size(b"2G"), Some(2 << 30));
        assert_eq!(parse_size(b"512k"), Some(512 << 10));
        for bad in [&b""[..], b"0", b"0M", b"M", b"12X", b"1.5G", b"-1", b"99999999999999999999G", b"9000000000G"] {
            assert_eq!(parse_size(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_cpus(b"0.5"), Some(50_000));
        assert_eq!(parse_cpus(b"1"), Some(100_000));
        assert_eq!(parse_cpus(b"1.25"), Some(125_000));
        assert_eq!(parse_cpus(b".5"), Some(50_000));
        assert_eq!(parse_cpus(b"0.01"), Some(1_000));
        for bad in [&b""[..], b".", b"0", b"0.001", b"abc", b"1.2.3", b"1.000001", b"-1"] {
            assert_eq!(parse_cpus(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }

    #[test]
    fn counts_users_binds() {
        assert_eq!(parse_count(b"16"), Some(16));
        assert_eq!(parse_count(b"0"), None);
        assert_eq!(parse_user(b"1000"), Some((1000, 0)));
        assert_eq!(parse_user(b"1000:100"), Some((1000, 100)));
        assert_eq!(parse_user(b"x"), None);
        assert_eq!(parse_user(b"1:"), None);
        assert_eq!(
            parse_bind(b"/tmp/a:/data:ro"),
            Some(Mount::Bind { src: b"/tmp/a", dst: b"/data", flags: MS_REC | MS_RDONLY, propagation: 0 })
        );
        assert_eq!(parse_bind(b"rel:/data"), Some(Mount::Bind { src: b"rel", dst: b"/data", flags: MS_REC, propagation: 0 }));
        assert_eq!(parse_bind(b"/a:relative"), None);
        assert_eq!(parse_bind(b"/a:/b:rx"), None);
        assert_eq!(parse_bind(b"/a"), None);
        assert_eq!(parse_bind(b":/b"), None);
    }

    #[test]
    fn devices_are_split_as_docker_does() {
        assert_eq!(parse_device(b"/dev/kvm"), Some((&b"/dev/kvm"[..], &b"/dev/kvm"[..], 7)));
        assert_eq!(parse_device(b"/dev/kmsg:r"), Some((&b"/dev/kmsg"[..], &b"/dev/kmsg"[..], 2)));
        assert_eq!(parse_device(b"/dev/sdb:/dev/xvdc"), Some((&b"/dev/sdb"[..], &b"/dev/xvdc"[..], 7)));
        assert_eq!(parse_device(b"/dev/sdb:/dev/xvdc:rm"), Some((&b"/dev/sdb"[..], &b"/dev/xvdc"[..], 3)));
        for bad in [&b"dev/kvm"[..], b"/dev/sdb:xvdc", b"/dev/sdb:/dev/x:rwx", b"/dev/sdb:/dev/x:", b"/dev/a:/"] {
            assert_eq!(parse_device(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }

    #[test]
    fn the_default_pids_limit_follows_the_kernel() {
        assert_eq!(default_pids(192_730, 32_768), 4915);
        assert_eq!(default_pids(3_000, 32_768), 450);
        assert_eq!(default_pids(100, 32_768), 64);
    }

    #[test]
    fn names() {
        assert!(valid_hostname(b"web-1.local"));
        assert!(!valid_hostname(b""));
        assert!(!valid_hostname(b"a b"));
        assert!(valid_name(b"job_1.x"));
        assert!(!valid_name(b".."));
        assert!(!valid_name(b"a/b"));
        assert!(valid_env(b"A=1"));
        assert!(valid_env(b"A="));
        assert!(!valid_env(b"=1"));
        assert!(!valid_env(b"A"));
    }

    #[test]
    fn capabilities() {
        assert_eq!(DEFAULT_CAPS, 0xa80425fb);
        assert_eq!(parse_cap(b"SYS_ADMIN"), Some(1 << 21));
        assert_eq!(parse_cap(b"cap_sys_admin"), Some(1 << 21));
        assert_eq!(parse_cap(b"CHECKPOINT_RESTORE"), Some(1 << 40));
        assert_eq!(parse_cap(b"all"), Some(ALL_CAPS));
        assert_eq!(parse_cap(b"CAP_"), None);
        assert_eq!(parse_cap(b"NOPE"), None);
        assert_eq!(oci_cap(b"CAP_SYS_ADMIN"), Some(1 << 21));
        assert_eq!(oci_cap(b"CAP_CHECKPOINT_RESTORE"), Some(1 << 40));
        // Controls: the launcher's friendlier forms, which a config does not get.
        for (name, launcher) in [(&b"CAP_ALL"[..], Some(ALL_CAPS)), (b"ALL", Some(ALL_CAPS)), (b"cap_sys_admin", Some(1 << 21)), (b"SYS_PTRACE", Some(1 << 19)), (b"CAP_", None), (b"CAP_NOPE", None)] {
            assert_eq!(parse_cap(name), launcher);
            assert_eq!(oci_cap(name), None, "{:?}", core::str::from_utf8(name));
        }
    }

    #[test]
    fn userns_ranges_are_checked_sums() {
        assert_eq!(parse_id_range(b"100000:65536"), Some((100000, 65536)));
        assert_eq!(parse_id_range(b"1:4294967294"), Some((1, 4294967294)));
        // Control: the wrapping sum read this as (0, 5), container root as host root.
        assert_eq!(4294967296u64.wrapping_add(18446744069414584325), 5);
        assert_eq!(parse_id_range(b"4294967296:18446744069414584325"), None);
        assert_eq!(parse_id_range(b"1:4294967295"), None);
        assert_eq!(parse_id_range(b"0:5"), None);
        assert_eq!(parse_id_range(b"5:0"), None);
    }
}
