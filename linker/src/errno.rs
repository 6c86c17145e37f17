//! Error numbers as people read them: `ENOENT (No such file or directory)`.
//!
//! One string holds every Linux errno from 1 to 133, a line each (`NAME description`, empty
//! for the numbers Linux does not use), so the lookup is a short scan and the table costs its
//! text alone — a `match` over the same names compiles to several kilobytes of code. Only
//! the errnos these programs meet in practice carry a description (the rest, EREMOTEIO and
//! the like, are their name alone): the full text was 4.6 KB in each of the three programs.

use crate::sys::Errno;
use crate::text::{Show, TextBuf};

const TABLE: &str = "\
EPERM Operation not permitted\n\
ENOENT No such file or directory\n\
ESRCH No such process\n\
EINTR Interrupted system call\n\
EIO Input/output error\n\
ENXIO No such device or address\n\
E2BIG Argument list too long\n\
ENOEXEC Exec format error\n\
EBADF Bad file descriptor\n\
ECHILD No child processes\n\
EAGAIN Resource temporarily unavailable\n\
ENOMEM Cannot allocate memory\n\
EACCES Permission denied\n\
EFAULT Bad address\n\
ENOTBLK\n\
EBUSY Device or resource busy\n\
EEXIST File exists\n\
EXDEV Invalid cross-device link\n\
ENODEV No such device\n\
ENOTDIR Not a directory\n\
EISDIR Is a directory\n\
EINVAL Invalid argument\n\
ENFILE Too many open files in system\n\
EMFILE Too many open files\n\
ENOTTY Inappropriate ioctl for device\n\
ETXTBSY Text file busy\n\
EFBIG File too large\n\
ENOSPC No space left on device\n\
ESPIPE\n\
EROFS Read-only file system\n\
EMLINK Too many links\n\
EPIPE Broken pipe\n\
EDOM\n\
ERANGE Numerical result out of range\n\
EDEADLK Resource deadlock avoided\n\
ENAMETOOLONG File name too long\n\
ENOLCK No locks available\n\
ENOSYS Function not implemented\n\
ENOTEMPTY Directory not empty\n\
ELOOP Too many levels of symbolic links\n\
\n\
ENOMSG\n\
EIDRM\n\
ECHRNG\n\
EL2NSYNC\n\
EL3HLT\n\
EL3RST\n\
ELNRNG\n\
EUNATCH\n\
ENOCSI\n\
EL2HLT\n\
EBADE\n\
EBADR\n\
EXFULL\n\
ENOANO\n\
EBADRQC\n\
EBADSLT\n\
\n\
EBFONT\n\
ENOSTR\n\
ENODATA\n\
ETIME\n\
ENOSR\n\
ENONET\n\
ENOPKG\n\
EREMOTE\n\
ENOLINK\n\
EADV\n\
ESRMNT\n\
ECOMM\n\
EPROTO\n\
EMULTIHOP\n\
EDOTDOT\n\
EBADMSG\n\
EOVERFLOW Value too large for defined data type\n\
ENOTUNIQ\n\
EBADFD\n\
EREMCHG\n\
ELIBACC\n\
ELIBBAD\n\
ELIBSCN\n\
ELIBMAX\n\
ELIBEXEC\n\
EILSEQ\n\
ERESTART\n\
ESTRPIPE\n\
EUSERS\n\
ENOTSOCK Socket operation on non-socket\n\
EDESTADDRREQ\n\
EMSGSIZE\n\
EPROTOTYPE\n\
ENOPROTOOPT\n\
EPROTONOSUPPORT Protocol not supported\n\
ESOCKTNOSUPPORT\n\
EOPNOTSUPP Operation not supported\n\
EPFNOSUPPORT\n\
EAFNOSUPPORT Address family not supported by protocol\n\
EADDRINUSE Address already in use\n\
EADDRNOTAVAIL\n\
ENETDOWN\n\
ENETUNREACH\n\
ENETRESET\n\
ECONNABORTED\n\
ECONNRESET Connection reset by peer\n\
ENOBUFS\n\
EISCONN\n\
ENOTCONN Transport endpoint is not connected\n\
ESHUTDOWN\n\
ETOOMANYREFS\n\
ETIMEDOUT Connection timed out\n\
ECONNREFUSED Connection refused\n\
EHOSTDOWN\n\
EHOSTUNREACH\n\
EALREADY\n\
EINPROGRESS\n\
ESTALE Stale file handle\n\
EUCLEAN\n\
ENOTNAM\n\
ENAVAIL\n\
EISNAM\n\
EREMOTEIO\n\
EDQUOT Disk quota exceeded\n\
ENOMEDIUM\n\
EMEDIUMTYPE\n\
ECANCELED\n\
ENOKEY\n\
EKEYEXPIRED\n\
EKEYREVOKED\n\
EKEYREJECTED\n\
EOWNERDEAD\n\
ENOTRECOVERABLE\n\
ERFKILL\n\
EHWPOISON Memory page has hardware error";

/// `(name, description)` for `e`, when it is a known errno (the description may be empty).
pub fn describe(e: Errno) -> Option<(&'static str, &'static str)> {
    let n = e.into_raw();
    if n < 1 {
        return None;
    }
    let line = TABLE.split('\n').nth(n as usize - 1).filter(|l| !l.is_empty())?;
    Some(line.split_once(' ').unwrap_or((line, "")))
}

/// `ENOENT (No such file or directory)`, `EREMOTEIO`, or `errno 4095` for a number the
/// table lacks.
impl Show for Errno {
    fn show(&self, t: &mut TextBuf) {
        match describe(*self) {
            Some((name, "")) => t.push(name),
            Some((name, what)) => t.push(name).push(" (").push(what).push(")"),
            None => t.push("errno ").push(self.into_raw()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions_match_the_numbers() {
        assert_eq!(describe(Errno::EPERM), Some(("EPERM", "Operation not permitted")));
        assert_eq!(describe(Errno::ENOENT), Some(("ENOENT", "No such file or directory")));
        assert_eq!(describe(Errno::EAGAIN), Some(("EAGAIN", "Resource temporarily unavailable")));
        assert_eq!(describe(Errno::ETXTBSY), Some(("ETXTBSY", "Text file busy")));
        assert_eq!(describe(Errno::EHWPOISON), Some(("EHWPOISON", "Memory page has hardware error")));
        assert_eq!(describe(Errno::EREMOTEIO), Some(("EREMOTEIO", "")));
        let mut t = crate::Text::<32>::new();
        t.push(Errno::EREMOTEIO);
        assert_eq!(t.as_bytes(), b"EREMOTEIO");
        assert_eq!(describe(Errno::new(41)), None);
        assert_eq!(describe(Errno::new(0)), None);
        assert_eq!(describe(Errno::new(500)), None);
        // Every name agrees with the syscalls crate's constants.
        for n in 1..=133 {
            if let (Some((name, _)), Some(theirs)) = (describe(Errno::new(n)), Errno::new(n).name()) {
                assert_eq!(name, theirs, "errno {n}");
            }
        }
    }
}
