//! A panic is a bug in knocker: say where in one line and exit 70 (EX_SOFTWARE).
//! The message text is printed only when it is a plain string, which keeps `core::fmt`'s
//! formatting machinery out of the binaries.

use crate::sys::process::exit;
use crate::text::Text;

pub const EXIT_INTERNAL: i32 = 70;

pub fn report(program: &str, info: &core::panic::PanicInfo) -> ! {
    let mut t = Text::<512>::new();
    t.push(program).push(": internal error");
    if let Some(loc) = info.location() {
        t.push(" at ").push(loc.file()).push(":").push(loc.line());
    }
    if let Some(msg) = info.message().as_str() {
        t.push(": ").push(msg);
    }
    t.push(" (please report this as a bug)");
    t.write_line(2);
    exit(EXIT_INTERNAL)
}
