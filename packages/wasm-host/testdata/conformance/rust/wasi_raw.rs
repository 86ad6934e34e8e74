// The raw preview1 imports this corpus needs beyond what std exposes (pulled in with
// include!): errno is returned as is.
#[allow(dead_code)]
#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    fn fd_fdstat_get(fd: u32, buf: *mut u8) -> u16;
    fn fd_fdstat_set_flags(fd: u32, flags: u16) -> u16;
    fn fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, flags: u16) -> u16;
    fn path_filestat_set_times(fd: u32, lookup: u32, path: *const u8, len: usize, atim: u64, mtim: u64, flags: u16) -> u16;
    fn path_open(fd: u32, lookup: u32, path: *const u8, len: usize, oflags: u16, base: u64, inh: u64, fdflags: u16, out: *mut u32) -> u16;
    fn fd_readdir(fd: u32, buf: *mut u8, len: usize, cookie: u64, used: *mut usize) -> u16;
    fn fd_seek(fd: u32, off: i64, whence: u8, out: *mut u64) -> u16;
    fn fd_tell(fd: u32, out: *mut u64) -> u16;
    fn fd_close(fd: u32) -> u16;
    fn poll_oneoff(subs: *const u8, events: *mut u8, n: usize, nevents: *mut usize) -> u16;
    fn clock_time_get(id: u32, precision: u64, out: *mut u64) -> u16;
}

#[allow(dead_code)]
mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    pub const NAMES: [&str; 30] = [
        "FD_DATASYNC", "FD_READ", "FD_SEEK", "FD_FDSTAT_SET_FLAGS", "FD_SYNC", "FD_TELL",
        "FD_WRITE", "FD_ADVISE", "FD_ALLOCATE", "PATH_CREATE_DIRECTORY", "PATH_CREATE_FILE",
        "PATH_LINK_SOURCE", "PATH_LINK_TARGET", "PATH_OPEN", "FD_READDIR", "PATH_READLINK",
        "PATH_RENAME_SOURCE", "PATH_RENAME_TARGET", "PATH_FILESTAT_GET",
        "PATH_FILESTAT_SET_SIZE", "PATH_FILESTAT_SET_TIMES", "FD_FILESTAT_GET",
        "FD_FILESTAT_SET_SIZE", "FD_FILESTAT_SET_TIMES", "PATH_SYMLINK",
        "PATH_REMOVE_DIRECTORY", "PATH_UNLINK_FILE", "POLL_FD_READWRITE", "SOCK_SHUTDOWN",
        "SOCK_ACCEPT",
    ];
    pub fn names(r: u64) -> String {
        let v: Vec<&str> = (0..30).filter(|i| r & (1 << i) != 0).map(|i| NAMES[i]).collect();
        if v.is_empty() { "-".to_string() } else { v.join("|") }
    }
}

/// (errno, filetype, flags, rights_base, rights_inheriting)
#[allow(dead_code)]
fn fdstat(fd: u32) -> (u16, u8, u16, u64, u64) {
    let mut b = [0u8; 24];
    let e = unsafe { fd_fdstat_get(fd, b.as_mut_ptr()) };
    let flags = u16::from_le_bytes([b[2], b[3]]);
    let base = u64::from_le_bytes(b[8..16].try_into().unwrap());
    let inh = u64::from_le_bytes(b[16..24].try_into().unwrap());
    (e, b[0], flags, base, inh)
}

#[allow(dead_code)]
fn open_raw(dir: u32, path: &str, oflags: u16, base: u64, inh: u64, fdflags: u16) -> Result<u32, u16> {
    let mut fd = 0u32;
    let e = unsafe { path_open(dir, 0, path.as_ptr(), path.len(), oflags, base, inh, fdflags, &mut fd) };
    if e == 0 { Ok(fd) } else { Err(e) }
}

#[allow(dead_code)]
fn raw(label: &str, e: u16) {
    if e == 0 {
        println!("{}: ok", label);
    } else {
        println!("{}: err {}", label, errno_name(e as i32));
    }
}
