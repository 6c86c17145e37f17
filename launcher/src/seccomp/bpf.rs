//! A [`Profile`] compiled to classic BPF: check the architecture (a 32-bit or x32 syscall has
//! other numbers), then a search tree over the runs of syscall numbers that share an outcome,
//! so any syscall costs a handful of comparisons. A syscall with argument rules gets a block
//! of its own after the tree: its rules in order, each a chain of 64-bit comparisons (two
//! 32-bit words each, as classic BPF loads them) ending in the rule's verdict.

use super::{ArgCheck, Cmp, Profile, RET_ERRNO, RET_KILL_PROCESS};
use linker::List;
use linker::sys::seccomp::SockFilter;

/// The kernel's limit (BPF_MAXINSNS).
pub const MAX: usize = 4096;
/// Runs of syscall numbers with one outcome.
const MAX_RANGES: usize = 1024;

const LD_W_ABS: u16 = 0x20;
const AND_K: u16 = 0x54;
const JA: u16 = 0x05;
const JEQ_K: u16 = 0x15;
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const ENOSYS: u32 = 38;
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const OFFSET_ARGS: u32 = 16;
/// x32 syscalls come through the same entry, numbered from here, with other semantics.
const X32_BIT: u32 = 0x4000_0000;

/// What a run of syscall numbers gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Leaf {
    #[default]
    Unset,
    Ret(u32),
    /// The block of the syscall whose first rule is this one.
    Rules(u16),
}

/// Where a jump goes, resolved once the whole program is laid out (classic BPF only jumps
/// forward).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Label {
    #[default]
    Next,
    At(u16),
    /// The rules block of the syscall whose first rule has this index.
    Block(u16),
}

#[derive(Clone, Copy, Default)]
struct Op {
    code: u16,
    k: u32,
    jt: Label,
    jf: Label,
}

struct Builder {
    ops: List<Op, MAX>,
    /// Where each rules block starts: (first rule's index, instruction).
    blocks: List<(u16, u16), MAX_RANGES>,
    full: bool,
}

impl Builder {
    fn op(&mut self, code: u16, k: u32, jt: Label, jf: Label) -> usize {
        self.full |= self.ops.push(Op { code, k, jt, jf }).is_err();
        self.ops.len() - 1
    }

    fn here(&self) -> Label {
        Label::At(self.ops.len() as u16)
    }

    fn ret(&mut self, action: u32) {
        self.op(RET_K, action, Label::Next, Label::Next);
    }

    /// A search tree over `ranges` (first number, outcome), sorted: `JGE` splits. A split
    /// over a large left half jumps through a `JA`, as a conditional jump reaches 255 at most.
    fn tree(&mut self, ranges: &[(u32, Leaf)]) {
        if let [(_, leaf)] = ranges {
            match *leaf {
                Leaf::Ret(action) => self.ret(action),
                Leaf::Rules(first) => {
                    self.op(JA, 0, Label::Block(first), Label::Block(first));
                }
                Leaf::Unset => {}
            }
            return;
        }
        let mid = ranges.len() / 2;
        let far = mid > 64;
        let split = self.op(JGE_K, ranges[mid].0, Label::Next, Label::Next);
        let jump = if far {
            self.ops.as_mut_slice()[split].jf = Label::At(split as u16 + 2);
            Some(self.op(JA, 0, Label::Next, Label::Next))
        } else {
            None
        };
        self.tree(&ranges[..mid]);
        let right = self.here();
        match jump {
            Some(j) => self.ops.as_mut_slice()[j].jt = right,
            None if split < self.ops.len() => self.ops.as_mut_slice()[split].jt = right,
            None => {}
        }
        self.tree(&ranges[mid..]);
    }

    /// One comparison: on to the next instruction when it holds, to a `fail` jump (recorded
    /// for patching) when it does not.
    fn check(&mut self, c: &ArgCheck, fails: &mut List<u16, 32>) {
        let lo = OFFSET_ARGS + 8 * c.index as u32;
        let hi = lo + 4;
        let word = |v: u64, high: bool| if high { (v >> 32) as u32 } else { v as u32 };
        const FAIL: Label = Label::At(u16::MAX);
        let mut holds = List::<u16, 4>::new();
        let mut jump = |b: &mut Builder, code, k, jt: Label, jf: Label| {
            let at = b.op(code, k, jt, jf) as u16;
            if jt == FAIL || jf == FAIL {
                b.full |= fails.push(at).is_err();
            }
            if jt == Label::Block(u16::MAX) || jf == Label::Block(u16::MAX) {
                b.full |= holds.push(at).is_err();
            }
        };
        // A jump "to here + after this check", patched below.
        const HOLDS: Label = Label::Block(u16::MAX);
        let (v, w) = (c.value, c.value_two);
        match c.op {
            Cmp::Eq | Cmp::Ne => {
                let (on_equal, on_differ) = if c.op == Cmp::Eq { (Label::Next, FAIL) } else { (Label::Next, HOLDS) };
                self.op(LD_W_ABS, hi, Label::Next, Label::Next);
                jump(self, JEQ_K, word(v, true), on_equal, on_differ);
                self.op(LD_W_ABS, lo, Label::Next, Label::Next);
                if c.op == Cmp::Eq {
                    jump(self, JEQ_K, word(v, false), Label::Next, FAIL);
                } else {
                    jump(self, JEQ_K, word(v, false), FAIL, Label::Next);
                }
            }
            Cmp::MaskedEq => {
                if word(v, true) != 0 || word(w, true) != 0 {
                    self.op(LD_W_ABS, hi, Label::Next, Label::Next);
                    self.op(AND_K, word(v, true), Label::Next, Label::Next);
                    jump(self, JEQ_K, word(w, true), Label::Next, FAIL);
                }
                self.op(LD_W_ABS, lo, Label::Next, Label::Next);
                if word(w, false) == 0 {
                    jump(self, JSET_K, word(v, false), FAIL, Label::Next);
                } else {
                    self.op(AND_K, word(v, false), Label::Next, Label::Next);
                    jump(self, JEQ_K, word(w, false), Label::Next, FAIL);
                }
            }
            Cmp::Gt | Cmp::Ge => {
                self.op(LD_W_ABS, hi, Label::Next, Label::Next);
                jump(self, JGT_K, word(v, true), HOLDS, Label::Next);
                jump(self, JEQ_K, word(v, true), Label::Next, FAIL);
                self.op(LD_W_ABS, lo, Label::Next, Label::Next);
                jump(self, if c.op == Cmp::Gt { JGT_K } else { JGE_K }, word(v, false), Label::Next, FAIL);
            }
            Cmp::Lt | Cmp::Le => {
                self.op(LD_W_ABS, hi, Label::Next, Label::Next);
                jump(self, JGT_K, word(v, true), FAIL, Label::Next);
                jump(self, JEQ_K, word(v, true), Label::Next, HOLDS);
                self.op(LD_W_ABS, lo, Label::Next, Label::Next);
                jump(self, if c.op == Cmp::Lt { JGE_K } else { JGT_K }, word(v, false), FAIL, Label::Next);
            }
        }
        let after = self.here();
        for &at in holds.as_slice() {
            let op = &mut self.ops.as_mut_slice()[at as usize];
            for l in [&mut op.jt, &mut op.jf] {
                if *l == HOLDS {
                    *l = after;
                }
            }
        }
    }

    /// The block of one syscall: its rules in order, then the default when none holds.
    fn block(&mut self, rules: &[super::Rule], default: u32) {
        for rule in rules {
            let mut fails = List::<u16, 32>::new();
            for c in rule.args {
                self.check(c, &mut fails);
            }
            self.ret(rule.action);
            let next = self.here();
            for &at in fails.as_slice() {
                let op = &mut self.ops.as_mut_slice()[at as usize];
                for l in [&mut op.jt, &mut op.jf] {
                    if *l == Label::At(u16::MAX) {
                        *l = next;
                    }
                }
            }
            if rule.args.is_empty() {
                return;
            }
        }
        self.ret(default);
    }

    /// The final instructions, every label turned into an offset.
    fn assemble(&self) -> Option<List<SockFilter, MAX>> {
        let place = |to: Label, i: usize| -> Option<usize> {
            let target = match to {
                Label::Next => i + 1,
                Label::At(n) => n as usize,
                Label::Block(first) => self.blocks.iter().find(|b| b.0 == first)?.1 as usize,
            };
            target.checked_sub(i + 1)
        };
        let mut out = List::new();
        for (i, op) in self.ops.iter().enumerate() {
            let insn = if op.code == JA {
                SockFilter { code: JA, jt: 0, jf: 0, k: place(op.jt, i)? as u32 }
            } else {
                let rel = |to| place(to, i).and_then(|d| u8::try_from(d).ok());
                SockFilter { code: op.code, jt: rel(op.jt)?, jf: rel(op.jf)?, k: op.k }
            };
            out.push(insn).ok()?;
        }
        Some(out)
    }
}

/// The runs of syscall numbers with one outcome, up to the last number any rule or the
/// profile's `beyond` names, then the rest.
fn ranges(p: &Profile) -> Option<List<(u32, Leaf), MAX_RANGES>> {
    let rules = p.rules;
    let end = rules.last().map_or(0, |r| r.nr as u32 + 1).max(p.beyond.map_or(0, |b| b.0));
    let mut out = List::new();
    let mut next = 0;
    let mut last = Leaf::Unset;
    for nr in 0..=end {
        while next < rules.len() && (rules[next].nr as u32) < nr {
            next += 1;
        }
        let leaf = match rules.get(next) {
            Some(r) if r.nr as u32 == nr && r.args.is_empty() => Leaf::Ret(r.action),
            Some(r) if r.nr as u32 == nr => Leaf::Rules(next as u16),
            _ => match p.beyond {
                Some((first, action)) if nr >= first => Leaf::Ret(action),
                _ => Leaf::Ret(p.default),
            },
        };
        if leaf != last || matches!(leaf, Leaf::Rules(_)) {
            out.push((nr, leaf)).ok()?;
            last = leaf;
        }
    }
    Some(out)
}

/// The filter for `p`, or None when it does not fit the kernel's limit.
pub fn compile(p: &Profile) -> Option<List<SockFilter, MAX>> {
    let mut b = Builder { ops: List::new(), blocks: List::new(), full: false };
    b.op(LD_W_ABS, OFFSET_ARCH, Label::Next, Label::Next);
    b.op(JEQ_K, AUDIT_ARCH_X86_64, Label::At(3), Label::Next);
    b.ret(RET_KILL_PROCESS);
    b.op(LD_W_ABS, OFFSET_NR, Label::Next, Label::Next);
    b.op(JGE_K, X32_BIT, Label::At(5), Label::At(6));
    b.ret(RET_ERRNO | ENOSYS);
    let ranges = ranges(p)?;
    b.tree(ranges.as_slice());
    for &(_, leaf) in ranges.as_slice() {
        if let Leaf::Rules(first) = leaf {
            let start = b.ops.len() as u16;
            b.full |= b.blocks.push((first, start)).is_err();
            let nr = p.rules[first as usize].nr;
            let count = p.rules[first as usize..].iter().take_while(|r| r.nr == nr).count();
            b.block(&p.rules[first as usize..first as usize + count], p.default);
        }
    }
    if b.full {
        return None;
    }
    b.assemble()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::seccomp::{RET_ALLOW, Rule};
    use linker::sys::Sysno;

    /// A classic-BPF interpreter for the opcodes the compiler uses; returns the action and how
    /// many instructions ran.
    pub fn run(p: &List<SockFilter, MAX>, nr: u32, arch: u32, args: [u64; 6]) -> (u32, usize) {
        let (mut pc, mut acc, mut steps) = (0usize, 0u32, 0);
        let p = p.as_slice();
        loop {
            assert!(pc < p.len(), "ran off the end");
            let i = p[pc];
            pc += 1;
            steps += 1;
            match i.code {
                JA => pc += i.k as usize,
                LD_W_ABS => {
                    acc = match i.k {
                        OFFSET_NR => nr,
                        OFFSET_ARCH => arch,
                        k => {
                            let a = args[(k - OFFSET_ARGS) as usize / 8];
                            if (k - OFFSET_ARGS) % 8 == 4 { (a >> 32) as u32 } else { a as u32 }
                        }
                    }
                }
                AND_K => acc &= i.k,
                JEQ_K => pc += if acc == i.k { i.jt } else { i.jf } as usize,
                JGT_K => pc += if acc > i.k { i.jt } else { i.jf } as usize,
                JGE_K => pc += if acc >= i.k { i.jt } else { i.jf } as usize,
                JSET_K => pc += if acc & i.k != 0 { i.jt } else { i.jf } as usize,
                RET_K => return (i.k, steps),
                _ => panic!("opcode"),
            }
        }
    }

    pub fn action(p: &List<SockFilter, MAX>, nr: Sysno, arg0: u64) -> u32 {
        run(p, nr as u32, AUDIT_ARCH_X86_64, [arg0, 0, 0, 0, 0, 0]).0
    }

    const EPERM: u32 = RET_ERRNO | 1;

    fn check(index: u8, op: Cmp, value: u64, value_two: u64) -> ArgCheck {
        ArgCheck { index, op, value, value_two }
    }

    #[test]
    fn every_comparison_on_64_bits() {
        let values = [0u64, 1, 5, 6, 7, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0005, 0x2_0000_0000, u64::MAX];
        let ops = [Cmp::Ne, Cmp::Lt, Cmp::Le, Cmp::Eq, Cmp::Ge, Cmp::Gt, Cmp::MaskedEq];
        for op in ops {
            for &v in &values {
                for &w in &[0u64, 4, 0x1_0000_0004] {
                    let args: &'static [ArgCheck] = Box::leak(Box::new([check(2, op, v, w)]));
                    let rules = [Rule { nr: 1, action: RET_ALLOW, args }];
                    let f = compile(&Profile { default: EPERM, beyond: None, flags: 0, rules: &rules }).unwrap();
                    for &a in &values {
                        let want = match op {
                            Cmp::Ne => a != v,
                            Cmp::Lt => a < v,
                            Cmp::Le => a <= v,
                            Cmp::Eq => a == v,
                            Cmp::Ge => a >= v,
                            Cmp::Gt => a > v,
                            Cmp::MaskedEq => a & v == w,
                        };
                        let got = run(&f, 1, AUDIT_ARCH_X86_64, [0, 0, a, 0, 0, 0]).0;
                        assert_eq!(got == RET_ALLOW, want, "{op:?} arg {a:#x} value {v:#x} {w:#x}");
                    }
                }
            }
        }
    }

    #[test]
    fn rules_of_one_syscall_in_order_and_the_default_after() {
        static A: [ArgCheck; 2] = [
            ArgCheck { index: 0, op: Cmp::Eq, value: 1, value_two: 0 },
            ArgCheck { index: 1, op: Cmp::Gt, value: 10, value_two: 0 },
        ];
        static B: [ArgCheck; 1] = [ArgCheck { index: 0, op: Cmp::Eq, value: 2, value_two: 0 }];
        let rules = [
            Rule { nr: 0, action: RET_ERRNO | 5, args: &A },
            Rule { nr: 0, action: RET_ALLOW, args: &B },
            Rule { nr: 3, action: RET_ALLOW, args: &[] },
            Rule { nr: 500, action: RET_ERRNO | 7, args: &[] },
        ];
        let f = compile(&Profile { default: EPERM, beyond: None, flags: 0, rules: &rules }).unwrap();
        let go = |nr, a0, a1| run(&f, nr, AUDIT_ARCH_X86_64, [a0, a1, 0, 0, 0, 0]).0;
        assert_eq!(go(0, 1, 11), RET_ERRNO | 5, "both checks of the first rule");
        assert_eq!(go(0, 1, 10), EPERM, "one check fails: no rule, the default");
        assert_eq!(go(0, 2, 0), RET_ALLOW);
        assert_eq!(go(3, 0, 0), RET_ALLOW);
        assert_eq!(go(4, 0, 0), EPERM);
        assert_eq!(go(500, 0, 0), RET_ERRNO | 7);
        assert_eq!(go(501, 0, 0), EPERM);
        assert_eq!(go(100_000, 0, 0), EPERM);
    }

    #[test]
    fn a_large_profile_keeps_every_jump_in_reach() {
        // Every other syscall allowed, every third with an argument rule: many ranges, long trees.
        static ARG: [ArgCheck; 1] = [ArgCheck { index: 0, op: Cmp::Eq, value: 9, value_two: 0 }];
        let rules: Vec<Rule> = (0..460u16)
            .filter(|n| n % 2 == 0 || n % 3 == 0)
            .map(|nr| Rule { nr, action: RET_ALLOW, args: if nr % 3 == 0 { &ARG } else { &[] } })
            .collect();
        let f = compile(&Profile { default: EPERM, beyond: None, flags: 0, rules: &rules }).unwrap();
        for nr in 0..470u32 {
            let want_allow = nr < 460 && (nr % 2 == 0 || nr % 3 == 0);
            let (got, steps) = run(&f, nr, AUDIT_ARCH_X86_64, [9, 0, 0, 0, 0, 0]);
            assert_eq!(got == RET_ALLOW, want_allow, "syscall {nr}");
            assert!(steps < 30, "syscall {nr}: {steps}");
            if nr < 460 && nr % 3 == 0 {
                assert_eq!(run(&f, nr, AUDIT_ARCH_X86_64, [8, 0, 0, 0, 0, 0]).0, EPERM);
            }
        }
    }
}
