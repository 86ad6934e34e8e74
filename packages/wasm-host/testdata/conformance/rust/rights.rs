// Rights and open modes of directory fds, at the level Rust's std and the programs of
// issue 14 use them: what fd_fdstat_get reports for a preopen, reopening it with
// exactly those rights (and with none), which requested rights make a write open
// (FD_WRITE does; a directory opened for writing is EISDIR), DIRECTORY combined with
// CREAT, what a file fd keeps of the path rights, and what I/O on a directory fd
// answers. Fixture: /sb with f = "data".
#![feature(wasi_ext)]
include!("common.rs");
include!("wasi_raw.rs");
use rights::*;

// The rights wasmtime reports for a preopened directory (and wasi-testsuite's
// path_open_preopen requires at least): directory operations only as base ...
const DIR_BASE: u64 = PATH_CREATE_DIRECTORY | PATH_CREATE_FILE | PATH_LINK_SOURCE | PATH_LINK_TARGET
    | PATH_OPEN | FD_READDIR | PATH_READLINK | PATH_RENAME_SOURCE | PATH_RENAME_TARGET
    | PATH_SYMLINK | PATH_REMOVE_DIRECTORY | PATH_UNLINK_FILE | PATH_FILESTAT_GET
    | PATH_FILESTAT_SET_TIMES | FD_FILESTAT_GET | FD_FILESTAT_SET_TIMES;
// ... and those plus the file rights as inheriting.
const DIR_INH: u64 = DIR_BASE | FD_DATASYNC | FD_READ | FD_SEEK | FD_FDSTAT_SET_FLAGS | FD_SYNC
    | FD_TELL | FD_WRITE | FD_ADVISE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE | POLL_FD_READWRITE;

fn main() {
    match arg(1).as_str() {
        "preopen" => preopen(),
        "reopen" => reopen(),
        "modes" => modes(),
        "file_rights" => file_rights(),
        "dir_io" => dir_io(),
        other => {
            eprintln!("unknown case {:?}", other);
            std::process::exit(2)
        }
    }
}

fn preopen() {
    let (e, ft, flags, base, inh) = fdstat(3);
    println!("errno {} filetype {} flags {}", e, ft, flags);
    println!("base: {}", names(base));
    println!("inheriting: {}", names(inh));
    println!("base has dir rights: {} inheriting has file rights: {}", base & DIR_BASE == DIR_BASE, inh & DIR_INH == DIR_INH);
    println!("base lacks FD_READ|FD_WRITE|FD_SEEK|FD_FILESTAT_SET_SIZE: {}", base & (FD_READ | FD_WRITE | FD_SEEK | FD_FILESTAT_SET_SIZE) == 0);
}

fn reopen() {
    let (_, _, _, base, inh) = fdstat(3);
    for (label, oflags, b, i) in [
        ("same rights", 0u16, base, inh),
        ("same rights, DIRECTORY", 2, base, inh),
        ("no rights", 0, 0, 0),
        ("DIRECTORY, no rights", 2, 0, 0),
        ("DIRECTORY, FD_READ", 2, FD_READ, 0),
        ("std read_dir rights", 2, FD_READ | FD_READDIR | FD_SEEK | FD_TELL | FD_FILESTAT_GET | PATH_OPEN | PATH_FILESTAT_GET, FD_READ | FD_READDIR),
    ] {
        match open_raw(3, ".", oflags, b, i, 0) {
            Ok(fd) => {
                let mut buf = [0u8; 256];
                let mut used = 0usize;
                let e = unsafe { fd_readdir(fd, buf.as_mut_ptr(), buf.len(), 0, &mut used) };
                println!("{}: ok, readdir {} {}", label, errno_name(e as i32), if used > 0 { "entries" } else { "none" });
                unsafe { fd_close(fd) };
            }
            Err(e) => println!("{}: err {}", label, errno_name(e as i32)),
        }
    }
    // Rights flow down: a directory reopened with the preopen's rights creates and
    // writes files like the preopen itself.
    let d = open_raw(3, ".", 2, base, inh, 0).unwrap();
    match open_raw(d, "made", 1 | 8, FD_WRITE | FD_READ, 0, 0) {
        Ok(fd) => {
            println!("create through reopened dir: ok");
            unsafe { fd_close(fd) };
        }
        Err(e) => println!("create through reopened dir: err {}", errno_name(e as i32)),
    }
    println!("made exists: {}", std::fs::metadata("/sb/made").is_ok());
}

fn modes() {
    std::fs::create_dir("/sb/d").unwrap();
    for (label, path, oflags, b) in [
        ("dir, DIRECTORY, READ|WRITE", ".", 2u16, FD_READ | FD_WRITE),
        ("dir, DIRECTORY, WRITE", "d", 2, FD_WRITE),
        ("dir, no oflags, WRITE", "d", 0, FD_WRITE),
        ("dir, no oflags, ALLOCATE|FILESTAT_SET_SIZE", "d", 0, FD_ALLOCATE | FD_FILESTAT_SET_SIZE),
        ("dir, DIRECTORY|CREAT", "d", 2 | 1, 0),
        ("new, DIRECTORY|CREAT", "newdir", 2 | 1, 0),
        ("dir, DIRECTORY|TRUNC", "d", 2 | 8, 0),
        ("dir, DIRECTORY|EXCL", "d", 2 | 4, 0),
        ("file, DIRECTORY", "f", 2, FD_READ),
        ("file, READ", "f", 0, FD_READ),
        ("file, WRITE", "f", 0, FD_WRITE),
        ("file/, READ", "f/", 0, FD_READ),
        ("d/, READ", "d/", 0, FD_READ),
        ("d///, no rights", "d///", 0, 0),
        ("missing, READ", "missing", 0, FD_READ),
        ("CREAT|EXCL existing", "f", 1 | 4, FD_WRITE),
        ("CREAT|EXCL dir", "d", 1 | 4, FD_WRITE),
        ("NUL in path", "f\0", 0, FD_READ),
    ] {
        match open_raw(3, path, oflags, b, 0, 0) {
            Ok(fd) => {
                let (_, ft, _, _, _) = fdstat(fd);
                println!("{}: ok filetype {}", label, ft);
                unsafe { fd_close(fd) };
            }
            Err(e) => println!("{}: err {}", label, errno_name(e as i32)),
        }
    }
    println!("newdir exists: {}", std::fs::metadata("/sb/newdir").is_ok());
    println!("f: {}", read("/sb/f"));
}

fn file_rights() {
    let fd = open_raw(3, "f", 0, FD_READ | FD_WRITE | PATH_FILESTAT_GET | PATH_OPEN | FD_READDIR | PATH_CREATE_FILE, FD_READ | PATH_OPEN, 0).unwrap();
    let (_, ft, _, base, inh) = fdstat(fd);
    println!("file filetype {}", ft);
    println!("file base: {}", names(base));
    println!("file keeps no path or readdir rights: {}", (base | inh) & (PATH_FILESTAT_GET | PATH_OPEN | FD_READDIR | PATH_CREATE_FILE) == 0);
    match open_raw(fd, "x", 1, 0, 0, 0) {
        Ok(_) => println!("open under a file fd: ok"),
        Err(e) => println!("open under a file fd: err {}", errno_name(e as i32)),
    }
}

fn dir_io() {
    std::fs::create_dir("/sb/d").unwrap();
    let d = open_raw(3, "d", 2, FD_READ | FD_WRITE & 0 | FD_SEEK | FD_TELL | FD_READDIR | FD_FILESTAT_GET, 0, 0).unwrap();
    let (_, ft, _, base, _) = fdstat(d);
    println!("dir filetype {} has FD_SEEK: {}", ft, base & FD_SEEK != 0);
    let mut pos = 0u64;
    raw("fd_seek CUR on dir", unsafe { fd_seek(d, 0, 1, &mut pos) });
    raw("fd_seek SET on dir", unsafe { fd_seek(d, 0, 0, &mut pos) });
    raw("fd_tell on dir", unsafe { fd_tell(d, &mut pos) });
    let f = std::fs::File::open("/sb/d").unwrap();
    use std::io::Read;
    use std::os::wasi::fs::FileExt;
    let mut buf = [0u8; 8];
    show("read on dir", (&f).read(&mut buf));
    show("pread on dir", f.read_at(&mut buf, 0));
    show("set_len on dir", f.set_len(0));
    raw("fd_seek on preopen", unsafe { fd_seek(3, 0, 1, &mut pos) });
}
