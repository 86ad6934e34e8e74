// fd_fdstat_get / fd_fdstat_set_flags on files opened through std: the APPEND flag
// set after opening makes writes go to the end; flags read back. Fixture: /sb with
// log = "start\n".
#![feature(wasi_ext)]
include!("common.rs");
include!("wasi_raw.rs");
use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::wasi::io::AsRawFd;

fn main() {
    let mut f = OpenOptions::new().write(true).open("/sb/log").unwrap();
    let fd = f.as_raw_fd() as u32;
    let (e, ft, flags, _, _) = fdstat(fd);
    println!("fdstat: errno {} filetype {} flags {}", e, ft, flags);
    f.write_all(b"AB").unwrap();
    raw("set APPEND", unsafe { fd_fdstat_set_flags(fd, 1) });
    let (_, _, flags, _, _) = fdstat(fd);
    println!("flags now: {}", flags);
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"tail\n").unwrap();
    show("position", f.stream_position());
    println!("log: {}", read("/sb/log"));
    raw("clear flags", unsafe { fd_fdstat_set_flags(fd, 0) });
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"S").unwrap();
    println!("log: {}", read("/sb/log"));
    let app = OpenOptions::new().append(true).open("/sb/log").unwrap();
    let (_, _, flags, _, _) = fdstat(app.as_raw_fd() as u32);
    println!("opened with append: flags {}", flags);
    raw("set flags on bad fd", unsafe { fd_fdstat_set_flags(77, 1) });
    drop(fs::remove_file("/sb/none"));
}
