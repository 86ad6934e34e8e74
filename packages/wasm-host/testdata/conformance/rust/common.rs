// Shared by every Rust program of the conformance corpus (pulled in with include!).
// Prints results as `label: ok VALUE` or `label: err ENAME`, with WASI errno names, so
// the expected output reads like the spec. Built with RUSTC_BOOTSTRAP=1 for wasi_ext.
#[allow(dead_code)]
const ERRNO: [&str; 77] = [
    "SUCCESS", "E2BIG", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN",
    "EALREADY", "EBADF", "EBADMSG", "EBUSY", "ECANCELED", "ECHILD", "ECONNABORTED",
    "ECONNREFUSED", "ECONNRESET", "EDEADLK", "EDESTADDRREQ", "EDOM", "EDQUOT", "EEXIST",
    "EFAULT", "EFBIG", "EHOSTUNREACH", "EIDRM", "EILSEQ", "EINPROGRESS", "EINTR", "EINVAL",
    "EIO", "EISCONN", "EISDIR", "ELOOP", "EMFILE", "EMLINK", "EMSGSIZE", "EMULTIHOP",
    "ENAMETOOLONG", "ENETDOWN", "ENETRESET", "ENETUNREACH", "ENFILE", "ENOBUFS", "ENODEV",
    "ENOENT", "ENOEXEC", "ENOLCK", "ENOLINK", "ENOMEM", "ENOMSG", "ENOPROTOOPT", "ENOSPC",
    "ENOSYS", "ENOTCONN", "ENOTDIR", "ENOTEMPTY", "ENOTRECOVERABLE", "ENOTSOCK", "ENOTSUP",
    "ENOTTY", "ENXIO", "EOVERFLOW", "EOWNERDEAD", "EPERM", "EPIPE", "EPROTO",
    "EPROTONOSUPPORT", "EPROTOTYPE", "ERANGE", "EROFS", "ESPIPE", "ESRCH", "ESTALE",
    "ETIMEDOUT", "ETXTBSY", "EXDEV", "ENOTCAPABLE",
];

#[allow(dead_code)]
fn errno_name(n: i32) -> String {
    if n >= 0 && (n as usize) < ERRNO.len() {
        ERRNO[n as usize].to_string()
    } else {
        format!("errno {}", n)
    }
}

#[allow(dead_code)]
fn ename(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => errno_name(n),
        None => format!("{:?}", e.kind()),
    }
}

/// `label: ok VALUE` or `label: err ENAME`.
#[allow(dead_code)]
fn show<T: std::fmt::Debug>(label: &str, r: std::io::Result<T>) {
    match r {
        Ok(v) => println!("{}: ok {:?}", label, v),
        Err(e) => println!("{}: err {}", label, ename(&e)),
    }
}

/// `label: ok` or `label: err ENAME` (the value is not printed).
#[allow(dead_code)]
fn done<T>(label: &str, r: std::io::Result<T>) {
    match r {
        Ok(_) => println!("{}: ok", label),
        Err(e) => println!("{}: err {}", label, ename(&e)),
    }
}

/// For a path that leaves its preopen: `label: refused` when the host refuses it the
/// way WASI runtimes do (ENOTCAPABLE from Forge and node:wasi, EPERM from wasmtime's
/// cap-std), else what happened. Either way nothing outside was touched.
#[allow(dead_code)]
fn escape<T>(label: &str, r: std::io::Result<T>) {
    match r {
        Ok(_) => println!("{}: ESCAPED", label),
        Err(e) if matches!(e.raw_os_error(), Some(76) | Some(63)) => println!("{}: refused", label),
        Err(e) => println!("{}: err {}", label, ename(&e)),
    }
}

#[allow(dead_code)]
fn arg(i: usize) -> String {
    std::env::args().nth(i).unwrap_or_default()
}

#[allow(dead_code)]
fn read(path: &str) -> String {
    match std::fs::read(path) {
        Ok(b) => format!("{:?}", String::from_utf8_lossy(&b)),
        Err(e) => format!("err {}", ename(&e)),
    }
}
