//! Error numbers as people read them: `ENOENT (No such file or directory)`.
//!
//! One string holds every Linux errno from 1 to 133, a line each (`NAME description`, empty
//! for the numbers Linux does not use), so the lookup is a short scan and the table costs its
//! text alone — a `match` over the same names compiles to several kilobytes of code.

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
ENOTBLK Block device required\n\
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
ESPIPE Illegal seek\n\
EROFS Read-only file system\n\
EMLINK Too many links\n\
EPIPE Broken pipe\n\
EDOM Numerical argument out of domain\n\
ERANGE Numerical result out of range\n\
EDEADLK Resource deadlock avoided\n\
ENAMETOOLONG File name too long\n\
ENOLCK No locks available\n\
ENOSYS Function not implemented\n\
ENOTEMPTY Directory not empty\n\
ELOOP Too many levels of symbolic links\n\
\n\
ENOMSG No message of desired type\n\
EIDRM Identifier removed\n\
ECHRNG Channel number out of range\n\
EL2NSYNC Level 2 not synchronized\n\
EL3HLT Level 3 halted\n\
EL3RST Level 3 reset\n\
ELNRNG Link number out of range\n\
EUNATCH Protocol driver not attached\n\
ENOCSI No CSI structure available\n\
EL2HLT Level 2 halted\n\
EBADE Invalid exchange\n\
EBADR Invalid request descriptor\n\
EXFULL Exchange full\n\
ENOANO No anode\n\
EBADRQC Invalid request code\n\
EBADSLT Invalid slot\n\
\n\
EBFONT Bad font file format\n\
ENOSTR Device not a stream\n\
ENODATA No data available\n\
ETIME Timer expired\n\
ENOSR Out of streams resources\n\
ENONET Machine is not on the network\n\
ENOPKG Package not installed\n\
EREMOTE Object is remote\n\
ENOLINK Link has been severed\n\
EADV Advertise error\n\
ESRMNT Srmount error\n\
ECOMM Communication error on send\n\
EPROTO Protocol error\n\
EMULTIHOP Multihop attempted\n\
EDOTDOT RFS specific error\n\
EBADMSG Bad message\n\
EOVERFLOW Value too large for defined data type\n\
ENOTUNIQ Name not unique on network\n\
EBADFD File descriptor in bad state\n\
EREMCHG Remote address changed\n\
ELIBACC Can not access a needed shared library\n\
ELIBBAD Accessing a corrupted shared library\n\
ELIBSCN .lib section in a.out corrupted\n\
ELIBMAX Attempting to link in too many shared libraries\n\
ELIBEXEC Cannot exec a shared library directly\n\
EILSEQ Invalid or incomplete multibyte or wide character\n\
ERESTART Interrupted system call should be restarted\n\
ESTRPIPE Streams pipe error\n\
EUSERS Too many users\n\
ENOTSOCK Socket operation on non-socket\n\
EDESTADDRREQ Destination address required\n\
EMSGSIZE Message too long\n\
EPROTOTYPE Protocol wrong type for socket\n\
ENOPROTOOPT Protocol not available\n\
EPROTONOSUPPORT Protocol not supported\n\
ESOCKTNOSUPPORT Socket type not supported\n\
EOPNOTSUPP Operation not supported\n\
EPFNOSUPPORT Protocol family not supported\n\
EAFNOSUPPORT Address family not supported by protocol\n\
EADDRINUSE Address already in use\n\
EADDRNOTAVAIL Cannot assign requested address\n\
ENETDOWN Network is down\n\
ENETUNREACH Network is unreachable\n\
ENETRESET Network dropped connection on reset\n\
ECONNABORTED Software caused connection abort\n\
ECONNRESET Connection reset by peer\n\
ENOBUFS No buffer space available\n\
EISCONN Transport endpoint is already connected\n\
ENOTCONN Transport endpoint is not connected\n\
ESHUTDOWN Cannot send after transport endpoint shutdown\n\
ETOOMANYREFS Too many references: cannot splice\n\
ETIMEDOUT Connection timed out\n\
ECONNREFUSED Connection refused\n\
EHOSTDOWN Host is down\n\
EHOSTUNREACH No route to host\n\
EALREADY Operation already in progress\n\
EINPROGRESS Operation now in progress\n\
ESTALE Stale file handle\n\
EUCLEAN Structure needs cleaning\n\
ENOTNAM Not a XENIX named type file\n\
ENAVAIL No XENIX semaphores available\n\
EISNAM Is a named type file\n\
EREMOTEIO Remote I/O error\n\
EDQUOT Disk quota exceeded\n\
ENOMEDIUM No medium found\n\
EMEDIUMTYPE Wrong medium type\n\
ECANCELED Operation canceled\n\
ENOKEY Required key not available\n\
EKEYEXPIRED Key has expired\n\
EKEYREVOKED Key has been revoked\n\
EKEYREJECTED Key was rejected by service\n\
EOWNERDEAD Owner died\n\
ENOTRECOVERABLE State not recoverable\n\
ERFKILL Operation not possible due to RF-kill\n\
EHWPOISON Memory page has hardware error";

/// `(name, description)` for `e`, when it is a known errno.
pub fn describe(e: Errno) -> Option<(&'static str, &'static str)> {
    let n = e.into_raw();
    if n < 1 {
        return None;
    }
    let line = TABLE.split('\n').nth(n as usize - 1)?;
    line.split_once(' ')
}

/// `ENOENT (No such file or directory)`, or `errno 4095` for a number the table lacks.
impl Show for Errno {
    fn show(&self, t: &mut TextBuf) {
        match describe(*self) {
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
