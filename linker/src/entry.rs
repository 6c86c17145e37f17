//! Process entry: the kernel starts us at `_start` with the stack holding
//! `argc, argv[0..argc], NULL, envp[..], NULL, auxv[..]`. Nothing is copied: the strings stay on
//! that initial stack for the life of the process, so they are handed out as `&'static CStr`.

use core::ffi::{CStr, c_char};

/// The command line, borrowed from the initial stack.
#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const c_char,
}

/// The environment, borrowed from the initial stack (a NULL-terminated array of `KEY=VALUE`).
#[derive(Clone, Copy)]
pub struct Env {
    envp: *const *const c_char,
}

/// Splits the initial stack into argv and envp.
///
/// # Safety
/// `sp` must be the stack pointer the kernel gave `_start`.
pub unsafe fn from_initial_stack(sp: *const usize) -> (Args, Env) {
    // SAFETY: the kernel's layout: argc, then argc pointers, a NULL, then envp.
    unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const c_char;
        let envp = argv.add(argc + 1);
        (Args { argc, argv }, Env { envp })
    }
}

impl Args {
    /// # Safety
    /// `argv` must point at `argc` valid C strings followed by a NULL pointer, alive for the
    /// rest of the process.
    pub const unsafe fn from_raw(argc: usize, argv: *const *const c_char) -> Args {
        Args { argc, argv }
    }

    pub fn len(&self) -> usize {
        self.argc
    }

    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    pub fn get(&self, i: usize) -> Option<&'static CStr> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: i < argc, and each argv entry is a valid C string for the whole process.
        unsafe { Some(CStr::from_ptr(*self.argv.add(i))) }
    }

    /// `get(i)` as bytes, without the NUL.
    pub fn bytes(&self, i: usize) -> Option<&'static [u8]> {
        self.get(i).map(CStr::to_bytes)
    }

    /// The NULL-terminated tail `argv[i..]`, ready for `execve`.
    pub fn tail_ptr(&self, i: usize) -> *const *const c_char {
        assert!(i <= self.argc);
        // SAFETY: i <= argc, still inside the array (argv[argc] is the NULL).
        unsafe { self.argv.add(i) }
    }

    /// The arguments `argv[i..]`.
    pub fn slice(&self, i: usize) -> &'static [*const c_char] {
        let i = i.min(self.argc);
        // SAFETY: argv[0..argc] is a live array of pointers; `i..argc` stays inside it.
        unsafe { core::slice::from_raw_parts(self.argv.add(i), self.argc - i) }
    }
}

impl Env {
    /// # Safety
    /// `envp` must be a NULL-terminated array of C strings alive for the rest of the process.
    pub const unsafe fn from_raw(envp: *const *const c_char) -> Env {
        Env { envp }
    }

    pub fn as_ptr(&self) -> *const *const c_char {
        self.envp
    }

    /// Every `KEY=VALUE` entry.
    pub fn iter(&self) -> impl Iterator<Item = &'static CStr> {
        let mut p = self.envp;
        core::iter::from_fn(move || {
            // SAFETY: envp is NULL-terminated; we stop at the NULL and never step past it.
            unsafe {
                if p.is_null() || (*p).is_null() {
                    return None;
                }
                let s = CStr::from_ptr(*p);
                p = p.add(1);
                Some(s)
            }
        })
    }

    /// The whole `KEY=VALUE` entry for `key`.
    pub fn entry(&self, key: &[u8]) -> Option<&'static CStr> {
        self.iter().find(|e| {
            let b = e.to_bytes();
            b.len() > key.len() && b.starts_with(key) && b[key.len()] == b'='
        })
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&'static [u8]> {
        self.entry(key).map(|e| &e.to_bytes()[key.len() + 1..])
    }
}

/// Defines the program's entry: `_start`, the panic handler, the mem functions and the stub
/// personality routine that unoptimised `core` refers to.
///
/// ```ignore
/// linker::entry!("launcher", launcher::main);   // fn main(Args, Env) -> i32
/// ```
#[macro_export]
macro_rules! entry {
    ($name:literal, $main:path) => {
        /// The kernel jumps here with rsp at argc. Align the stack for the SysV call and never return.
        #[unsafe(naked)]
        #[unsafe(no_mangle)]
        unsafe extern "C" fn _start() -> ! {
            core::arch::naked_asm!(
                "xor ebp, ebp",
                "mov rdi, rsp",
                "and rsp, -16",
                "call {start}",
                "ud2",
                start = sym __knocker_start,
            )
        }

        unsafe extern "C" fn __knocker_start(sp: *const usize) -> ! {
            // SAFETY: `_start` passes the kernel's initial stack pointer unchanged.
            let (args, env) = unsafe { $crate::entry::from_initial_stack(sp) };
            let code: i32 = $main(args, env);
            $crate::sys::process::exit(code)
        }

        #[panic_handler]
        fn panic(info: &core::panic::PanicInfo) -> ! {
            $crate::panic::report($name, info)
        }

        // Unoptimised `core` is built with unwinding and names this symbol; nothing calls it.
        #[unsafe(no_mangle)]
        extern "C" fn rust_eh_personality() {}

        $crate::mem_functions!();
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(strings: &[&'static CStr]) -> Vec<*const c_char> {
        let mut v: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        v.push(core::ptr::null());
        v
    }

    #[test]
    fn args_and_env_from_a_fake_initial_stack() {
        let argv = fake(&[c"launcher", c"rootfs", c"/bin/sh"]);
        let envp = fake(&[c"PATH=/bin", c"TERM=xterm", c"TERMINAL=x"]);
        let mut stack: Vec<usize> = vec![3];
        stack.extend(argv.iter().map(|p| *p as usize));
        stack.extend(envp.iter().map(|p| *p as usize));
        // SAFETY: `stack` is laid out like the kernel's initial stack, and outlives args/env.
        let (args, env) = unsafe { from_initial_stack(stack.as_ptr()) };
        assert_eq!(args.len(), 3);
        assert_eq!(args.bytes(1), Some(&b"rootfs"[..]));
        assert_eq!(args.get(3), None);
        assert_eq!(args.slice(1).len(), 2);
        // SAFETY: tail_ptr(argc) points at argv's terminating NULL, inside `stack`.
        assert!(unsafe { (*args.tail_ptr(3)).is_null() });
        assert_eq!(env.get(b"TERM"), Some(&b"xterm"[..]));
        assert_eq!(env.get(b"TERMINAL"), Some(&b"x"[..]));
        assert_eq!(env.get(b"TER"), None);
        assert_eq!(env.iter().count(), 3);
    }
}
