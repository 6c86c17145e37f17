//! Starting a child on a stack we allocated ourselves, with the raw `clone`/`clone3` syscalls.
//!
//! Why the trampolines are assembly: after the syscall the child runs on the new, empty stack,
//! where none of the caller's frames exist. Compiled Rust around the syscall would address
//! spilled locals through rsp and return into frames that are not there. So the child's whole
//! path — fetch the function and its argument, call it, exit with its result — stays inside one
//! naked function and never returns.
//!
//! [`spawn`] never passes `CLONE_VM`: the child works on its own copy-on-write copy of the
//! parent's memory, so handing it a `&mut T` that lives in the parent's frame is sound.

use crate::sys::mm::Mapping;
use crate::sys::{Errno, Result};
use core::arch::naked_asm;

/// The lowest page of every stack is a `PROT_NONE` guard: an overflow faults instead of
/// silently writing into whatever mapping lies below.
pub const GUARD: usize = 4096;

/// A child stack: `size` usable bytes above a guard page.
pub struct Stack {
    map: Mapping,
}

impl Stack {
    pub fn new(size: usize) -> Result<Stack> {
        // MAP_STACK is a hint (and since Linux 6.7 keeps the stack out of transparent huge pages);
        // MAP_GROWSDOWN is deliberately not used: a fixed size plus a guard is predictable.
        let map = Mapping::new(size + GUARD, libc::MAP_STACK)?;
        map.protect_none(GUARD)?;
        Ok(Stack { map })
    }

    /// Lowest usable address (just above the guard).
    pub fn lowest(&self) -> *mut u8 {
        // SAFETY: GUARD < map.len(), so this stays inside the mapping.
        unsafe { self.map.as_ptr().add(GUARD) }
    }

    pub fn size(&self) -> usize {
        self.map.len() - GUARD
    }

    /// One past the highest usable address: where a downward-growing stack starts.
    pub fn top(&self) -> *mut u8 {
        // SAFETY: one past the end of the mapping is a valid pointer to form.
        unsafe { self.lowest().add(self.size()) }
    }

}

/// `CLONE_INTO_CGROUP` (Linux 5.7); the libc crate lacks it on musl.
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
const CLONE_VM: u64 = libc::CLONE_VM as u64;
const CLONE_VFORK: u64 = libc::CLONE_VFORK as u64;
const CLONE_THREAD: u64 = libc::CLONE_THREAD as u64;
const CLONE_SETTLS: u64 = libc::CLONE_SETTLS as u64;

/// `struct clone_args` as of Linux 5.7 (88 bytes, with `cgroup`).
#[repr(C)]
#[derive(Default)]
pub struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

type ChildEntry = unsafe extern "C" fn(*mut u8) -> i32;

/// `clone(flags, stack_top)`, then in the child: `exit(f(arg))` on the new stack.
#[unsafe(naked)]
unsafe extern "C" fn clone_on_stack(flags: u64, stack_top: *mut u8, f: ChildEntry, arg: *mut u8) -> isize {
    naked_asm!(
        // Put arg and f at the 16-aligned top of the new stack, where the child can pop them.
        "and rsi, -16",
        "sub rsi, 16",
        "mov [rsi], rcx",
        "mov [rsi + 8], rdx",
        // clone(flags=rdi, newsp=rsi, parent_tid=0, child_tid=0, tls=0)
        "xor edx, edx",
        "xor r10d, r10d",
        "xor r8d, r8d",
        "mov eax, 56",
        "syscall",
        "test rax, rax",
        "jnz 2f",
        // Child: rsp is the new stack. No frame above us; rsp is 16-aligned again after two pops.
        "xor ebp, ebp",
        "pop rdi",
        "pop rax",
        "call rax",
        "mov edi, eax",
        "mov eax, 231",
        "syscall",
        "ud2",
        // Parent (or error): return the pid or -errno.
        "2:",
        "ret",
    )
}

/// `clone3(args, size)`, then in the child: `exit(f(arg))` on the stack named in `args`.
/// `f` and `arg` ride in r12/r13: `syscall` clobbers only rax, rcx and r11, and the child starts
/// with every other register of the parent.
#[unsafe(naked)]
unsafe extern "C" fn clone3_on_stack(args: *const CloneArgs, size: usize, f: ChildEntry, arg: *mut u8) -> isize {
    naked_asm!(
        "push r12",
        "push r13",
        "mov r12, rdx",
        "mov r13, rcx",
        "mov eax, 435",
        "syscall",
        "test rax, rax",
        "jnz 2f",
        // Child: the kernel set rsp to stack + stack_size; align it for the call.
        "xor ebp, ebp",
        "and rsp, -16",
        "mov rdi, r13",
        "call r12",
        "mov edi, eax",
        "mov eax, 231",
        "syscall",
        "ud2",
        "2:",
        "pop r13",
        "pop r12",
        "ret",
    )
}

struct Job<T> {
    f: fn(&mut T) -> i32,
    data: *mut T,
}

unsafe extern "C" fn run_job<T>(job: *mut u8) -> i32 {
    // SAFETY: `job` is the Job<T> that `spawn` put in its frame; the child has a private copy of
    // that memory (no CLONE_VM), so the pointers in it are valid and unaliased here.
    unsafe {
        let job = &*(job as *const Job<T>);
        (job.f)(&mut *job.data)
    }
}

/// Starts `child(data)` in a new process running on `stack`, with `flags` (namespaces and the
/// like; SIGCHLD is added as the exit signal). With `cgroup` = a cgroup2 directory descriptor
/// it uses `clone3` with `CLONE_INTO_CGROUP`, so the child's first instruction already runs
/// inside that cgroup. Returns the child's pid; the child exits with `child`'s return value.
pub fn spawn<T>(flags: u64, cgroup: Option<i32>, stack: &Stack, child: fn(&mut T) -> i32, data: &mut T) -> Result<i32> {
    if flags & (CLONE_VM | CLONE_VFORK | CLONE_THREAD | CLONE_SETTLS | 0xff) != 0 {
        // Shared memory would make the `&mut T` handed to the child unsound.
        return Err(Errno::EINVAL);
    }
    let mut job = Job { f: child, data: data as *mut T };
    let arg = &mut job as *mut Job<T> as *mut u8;
    let ret = match cgroup {
        None => {
            // SAFETY: no CLONE_VM (checked above); the stack is ours and outlives the clone call,
            // after which the child owns its copy of it.
            unsafe { clone_on_stack(flags | libc::SIGCHLD as u64, stack.top(), run_job::<T>, arg) }
        }
        Some(fd) => {
            let args = CloneArgs {
                flags: flags | CLONE_INTO_CGROUP,
                exit_signal: libc::SIGCHLD as u64,
                stack: stack.lowest() as u64,
                stack_size: stack.size() as u64,
                cgroup: fd as u64,
                ..CloneArgs::default()
            };
            // SAFETY: as above; `args` outlives the syscall.
            unsafe { clone3_on_stack(&args, core::mem::size_of::<CloneArgs>(), run_job::<T>, arg) }
        }
    };
    if ret < 0 { Err(Errno::new(-ret as i32)) } else { Ok(ret as i32) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::process::wait4;

    fn report_stack_address(out: &mut (usize, i32)) -> i32 {
        let local = 0u8;
        // Reads of `out` in the child see the parent's values; the exit code carries the answer.
        let addr = &local as *const u8 as usize;
        if addr >= out.0 && addr < out.0 + (1 << 20) { out.1 } else { 99 }
    }

    #[test]
    fn clone_args_layout() {
        assert_eq!(core::mem::size_of::<CloneArgs>(), 88);
        assert_eq!(core::mem::offset_of!(CloneArgs, stack), 40);
        assert_eq!(core::mem::offset_of!(CloneArgs, cgroup), 80);
    }

    #[test]
    fn child_runs_on_the_given_stack_and_its_result_is_the_exit_code() {
        let stack = Stack::new(1 << 20).unwrap();
        let mut data = (stack.lowest() as usize, 7);
        let pid = spawn(0, None, &stack, report_stack_address, &mut data).unwrap();
        let (_, status) = wait4(pid, 0).unwrap().unwrap();
        assert_eq!(status.shell_code(), 7);
    }

    fn recurse(depth: &mut u64) -> i32 {
        let mut pad = [0u8; 512];
        pad[0] = *depth as u8;
        *depth += 1;
        core::hint::black_box(&mut pad);
        if *depth < u64::MAX { recurse(depth) } else { pad[1] as i32 }
    }

    #[test]
    fn overflowing_the_stack_hits_the_guard_page() {
        let stack = Stack::new(64 << 10).unwrap();
        let mut depth = 0u64;
        let pid = spawn(0, None, &stack, recurse, &mut depth).unwrap();
        let (_, status) = wait4(pid, 0).unwrap().unwrap();
        assert_eq!(status.shell_code(), 128 + libc::SIGSEGV);
    }

    #[test]
    fn shared_memory_flags_are_refused() {
        let stack = Stack::new(1 << 16).unwrap();
        let mut data = (0usize, 0);
        assert_eq!(spawn(CLONE_VM, None, &stack, report_stack_address, &mut data), Err(Errno::EINVAL));
    }
}
