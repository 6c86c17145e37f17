//! Which device nodes the container may open: an allow list enforced by the kernel on every
//! `open` and `mknod`, whatever the path, the mount or the capabilities (runc's default).
//!
//! - cgroup v1: the `devices` controller — `a` into `devices.deny`, then one line per rule
//!   into `devices.allow`.
//! - cgroup v2: a `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the container's cgroup.
//!   The kernel calls it with `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32
//!   minor; }` (type in the low 16 bits of `access_type`, access in the high ones) and allows
//!   the access when it returns 1. [`program`] writes one small block per rule.

use crate::spec::Device;
use linker::Text;
use linker::sys::bpf::Insn;

/// Access bits, as the kernel's `BPF_DEVCG_ACC_*`.
pub const MKNOD: u8 = 1;
pub const READ: u8 = 2;
pub const WRITE: u8 = 4;
pub const RWM: u8 = MKNOD | READ | WRITE;

/// Device types, as the kernel's `BPF_DEVCG_DEV_*`; `ANY` matches both.
pub const BLOCK: u8 = 1;
pub const CHAR: u8 = 2;
pub const ANY: u8 = 0;

/// One allow rule: type, major and minor (`None`: any), and the accesses it allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    pub kind: u8,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

const fn char_dev(major: u32, minor: Option<u32>, access: u8) -> Rule {
    Rule { kind: CHAR, major: Some(major), minor, access }
}

/// What every container may use: its own null, zero, full, random, urandom, tty, ptmx and
/// the terminals of its own devpts (major 136), and `mknod` of anything (creating a node is
/// harmless when opening it is refused).
pub const DEFAULT: [Rule; 10] = [
    char_dev(1, Some(3), RWM),
    char_dev(1, Some(5), RWM),
    char_dev(1, Some(7), RWM),
    char_dev(1, Some(8), RWM),
    char_dev(1, Some(9), RWM),
    char_dev(5, Some(0), RWM),
    char_dev(5, Some(2), RWM),
    char_dev(136, None, RWM),
    Rule { kind: CHAR, major: None, minor: None, access: MKNOD },
    Rule { kind: BLOCK, major: None, minor: None, access: MKNOD },
];

/// What a container may use: its `--device` nodes and an OCI config's rules, besides
/// [`DEFAULT`].
#[derive(Clone, Copy)]
pub struct Allowed<'a> {
    pub devices: &'a [Device],
    pub extra: &'a [Rule],
}

impl Allowed<'_> {
    /// The default rules, one per `--device`, then the extra ones.
    pub fn rules(self) -> impl Iterator<Item = Rule> {
        let nodes = self.devices.iter().filter(|d| d.access != 0).map(|d| Rule {
            kind: if d.block { BLOCK } else { CHAR },
            major: Some(d.major),
            minor: Some(d.minor),
            access: d.access,
        });
        DEFAULT.into_iter().chain(nodes).chain(self.extra.iter().copied())
    }
}

/// A rule as the v1 `devices.allow` file takes it: `c 1:3 rwm`, `b *:* m`.
pub fn v1_line(r: &Rule) -> Text<48> {
    let mut t = Text::new();
    t.push(match r.kind {
        BLOCK => "b ",
        CHAR => "c ",
        _ => "a ",
    });
    match r.major {
        Some(n) => t.push(n),
        None => t.push("*"),
    };
    t.push(":");
    match r.minor {
        Some(n) => t.push(n),
        None => t.push("*"),
    };
    t.push(" ");
    for (bit, letter) in [(READ, "r"), (WRITE, "w"), (MKNOD, "m")] {
        if r.access & bit != 0 {
            t.push(letter);
        }
    }
    t
}

/// `rwm`, `r`, `mw` … → access bits; anything else (or nothing) → None.
pub fn parse_access(s: &[u8]) -> Option<u8> {
    let mut bits = 0;
    for &c in s {
        let bit = match c {
            b'r' => READ,
            b'w' => WRITE,
            b'm' => MKNOD,
            _ => return None,
        };
        if bits & bit != 0 {
            return None;
        }
        bits |= bit;
    }
    (bits != 0).then_some(bits)
}

// eBPF opcodes (class | operation | source).
const LDX_MEM_W: u8 = 0x61;
const MOV32_REG: u8 = 0xbc;
const AND32_IMM: u8 = 0x54;
const RSH32_IMM: u8 = 0x74;
const MOV64_IMM: u8 = 0xb7;
const JNE_IMM: u8 = 0x55;
const EXIT: u8 = 0x95;

// Registers: r1 the context on entry; the program keeps access in r2, type in r3, major in
// r4, minor in r5; r0 is scratch and the result.
const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, regs: dst | (src << 4), off, imm }
}

/// Room for every rule a container can have: the defaults, one per `--device` (an OCI
/// config's nodes add none) and an OCI config's own.
pub const MAX_INSNS: usize = 8 + (DEFAULT.len() + crate::spec::MAX_CLI_DEVICES + crate::spec::MAX_DEVICE_RULES) * 7;

/// The device program for `rules`: each rule is a block that falls through to `return 1`
/// when every field it names matches, and jumps to the next block at the first mismatch.
pub fn program(rules: impl Iterator<Item = Rule>) -> ([Insn; MAX_INSNS], usize) {
    let mut p = [Insn::default(); MAX_INSNS];
    let mut n = 0;
    let mut emit = |i: Insn, n: &mut usize| {
        p[*n] = i;
        *n += 1;
    };
    emit(insn(LDX_MEM_W, 2, 1, 0, 0), &mut n);
    emit(insn(MOV32_REG, 3, 2, 0, 0), &mut n);
    emit(insn(AND32_IMM, 3, 0, 0, 0xffff), &mut n);
    emit(insn(RSH32_IMM, 2, 0, 0, 16), &mut n);
    emit(insn(LDX_MEM_W, 4, 1, 4, 0), &mut n);
    emit(insn(LDX_MEM_W, 5, 1, 8, 0), &mut n);
    for r in rules {
        // The block's checks, each a jump past the block when it fails; the jump offsets are
        // filled in once the block's length is known.
        let mut checks = [(0u8, 0i32); 4];
        let mut c = 0;
        if r.kind != ANY {
            checks[c] = (3, r.kind as i32);
            c += 1;
        }
        if let Some(major) = r.major {
            checks[c] = (4, major as i32);
            c += 1;
        }
        if let Some(minor) = r.minor {
            checks[c] = (5, minor as i32);
            c += 1;
        }
        // Accesses outside the rule's: r0 = access & !allowed must be 0.
        let block_len = c + 3 + 2;
        let start = n;
        for (reg, value) in &checks[..c] {
            let at = n - start;
            emit(insn(JNE_IMM, *reg, 0, (block_len - at - 1) as i16, *value), &mut n);
        }
        emit(insn(MOV32_REG, 0, 2, 0, 0), &mut n);
        emit(insn(AND32_IMM, 0, 0, 0, !(r.access as i32) & RWM as i32), &mut n);
        let at = n - start;
        emit(insn(JNE_IMM, 0, 0, (block_len - at - 1) as i16, 0), &mut n);
        emit(insn(MOV64_IMM, 0, 0, 0, 1), &mut n);
        emit(insn(EXIT, 0, 0, 0, 0), &mut n);
    }
    emit(insn(MOV64_IMM, 0, 0, 0, 0), &mut n);
    emit(insn(EXIT, 0, 0, 0, 0), &mut n);
    (p, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program on one access the way the kernel would.
    fn allows(prog: &[Insn], kind: u8, major: u32, minor: u32, access: u8) -> bool {
        let ctx = [(access as u32) << 16 | kind as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 15) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => r[dst] = ctx[i.off as usize / 4] as u64,
                MOV32_REG => r[dst] = r[src] as u32 as u64,
                AND32_IMM => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
                RSH32_IMM => r[dst] = (r[dst] as u32 >> i.imm) as u64,
                MOV64_IMM => r[dst] = i.imm as i64 as u64,
                JNE_IMM => {
                    if r[dst] != i.imm as i64 as u64 {
                        pc = (pc as isize + i.off as isize) as usize;
                    }
                }
                EXIT => return r[0] == 1,
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn the_default_list_allows_the_standard_nodes_and_mknod_only() {
        let (p, n) = program(Allowed { devices: &[], extra: &[] }.rules());
        let p = &p[..n];
        for minor in [3, 5, 7, 8, 9] {
            assert!(allows(p, CHAR, 1, minor, READ | WRITE), "1:{minor}");
        }
        assert!(allows(p, CHAR, 5, 0, READ | WRITE));
        assert!(allows(p, CHAR, 5, 2, READ | WRITE));
        assert!(allows(p, CHAR, 136, 7, READ | WRITE));
        // kmsg, tty1, console, loop-control, kvm, a disk: creating the node, never opening it.
        for (kind, major, minor) in [(CHAR, 1, 11), (CHAR, 4, 1), (CHAR, 5, 1), (CHAR, 10, 237), (CHAR, 10, 232), (BLOCK, 254, 0)] {
            assert!(allows(p, kind, major, minor, MKNOD));
            assert!(!allows(p, kind, major, minor, READ), "{major}:{minor}");
            assert!(!allows(p, kind, major, minor, WRITE), "{major}:{minor}");
        }
        assert!(!allows(p, BLOCK, 1, 3, READ), "block 1:3 is not the null device");
    }

    #[test]
    fn a_device_rule_allows_exactly_its_access() {
        let kmsg = Device { host: b"/dev/kmsg", path: b"/dev/kmsg", access: READ, major: 1, minor: 11, ..Device::default() };
        let allowed = Allowed { devices: core::slice::from_ref(&kmsg), extra: &[] };
        let (p, n) = program(allowed.rules());
        assert!(allows(&p[..n], CHAR, 1, 11, READ));
        assert!(!allows(&p[..n], CHAR, 1, 11, READ | WRITE));
        assert!(!allows(&p[..n], CHAR, 1, 12, READ));
        assert_eq!(v1_line(&allowed.rules().last().unwrap()).as_bytes(), b"c 1:11 r");
        // An OCI config's node (access 0) adds no rule; its config's rules do, wildcards too.
        let made = Device { path: b"/dev/x", major: 7, minor: 0, block: true, ..Device::default() };
        let extra = [Rule { kind: BLOCK, major: Some(7), minor: None, access: READ }];
        let allowed = Allowed { devices: core::slice::from_ref(&made), extra: &extra };
        assert_eq!(allowed.rules().count(), DEFAULT.len() + 1);
        let (p, n) = program(allowed.rules());
        assert!(allows(&p[..n], BLOCK, 7, 3, READ));
        assert!(!allows(&p[..n], BLOCK, 7, 3, WRITE));
        assert!(!allows(&p[..n], CHAR, 7, 3, READ));
    }

    #[test]
    fn v1_lines() {
        let lines: Vec<String> = DEFAULT.iter().map(|r| String::from_utf8(v1_line(r).as_bytes().to_vec()).unwrap()).collect();
        assert_eq!(lines[0], "c 1:3 rwm");
        assert_eq!(lines[7], "c 136:* rwm");
        assert_eq!(lines[8], "c *:* m");
        assert_eq!(lines[9], "b *:* m");
    }

    #[test]
    fn access_strings() {
        assert_eq!(parse_access(b"rwm"), Some(RWM));
        assert_eq!(parse_access(b"r"), Some(READ));
        assert_eq!(parse_access(b"wm"), Some(WRITE | MKNOD));
        assert_eq!(parse_access(b""), None);
        assert_eq!(parse_access(b"rr"), None);
        assert_eq!(parse_access(b"x"), None);
    }
}
