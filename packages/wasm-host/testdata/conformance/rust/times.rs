// Timestamps: set with fd_filestat_set_times / path_filestat_set_times (std 1.63 has
// no File::set_times), read back through std's Metadata, NOW flags, the EINVAL
// combinations, symlink no-follow, and that an unset timestamp is left alone.
// Fixture: /sb with f = "x".
#![feature(wasi_ext)]
include!("common.rs");
include!("wasi_raw.rs");
use std::fs;
use std::os::wasi::io::AsRawFd;
use std::time::{SystemTime, UNIX_EPOCH};

const ATIM: u16 = 1;
const ATIM_NOW: u16 = 2;
const MTIM: u16 = 4;
const MTIM_NOW: u16 = 8;

fn ns(t: std::io::Result<SystemTime>) -> u128 {
    t.unwrap().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

fn times(p: &str) -> (u128, u128) {
    let m = fs::symlink_metadata(p).unwrap();
    (ns(m.accessed()), ns(m.modified()))
}

fn set_path(p: &str, follow: bool, a: u64, m: u64, flags: u16) -> u16 {
    let rel = p.trim_start_matches("/sb/");
    unsafe { path_filestat_set_times(3, follow as u32, rel.as_ptr(), rel.len(), a, m, flags) }
}

fn main() {
    match arg(1).as_str() {
        "set" => set(),
        "now" => now(),
        "invalid" => invalid(),
        other => {
            eprintln!("unknown case {:?}", other);
            std::process::exit(2)
        }
    }
}

fn set() {
    // Microsecond-aligned values: exact on every host (see the ns case in the C corpus).
    raw("path set both", set_path("/sb/f", true, 1_000_000_000_123_456_000, 1_200_000_000_654_321_000, ATIM | MTIM));
    println!("times: {:?}", times("/sb/f"));
    let f = fs::OpenOptions::new().write(true).open("/sb/f").unwrap();
    raw("fd set mtime only", unsafe { fd_filestat_set_times(f.as_raw_fd() as u32, 0, 1_300_000_000_000_000_000, MTIM) });
    println!("times: {:?}", times("/sb/f"));
    raw("fd set atime only", unsafe { fd_filestat_set_times(f.as_raw_fd() as u32, 1_100_000_000_000_001_000, 0, ATIM) });
    println!("times: {:?}", times("/sb/f"));
    let m = fs::metadata("/sb/f").unwrap();
    println!("std modified secs: {}", m.modified().unwrap().duration_since(UNIX_EPOCH).unwrap().as_secs());
    raw("set on preopen dir", set_path("/sb/.", true, 1_000_000_000_000_000_000, 1_000_000_000_000_000_000, ATIM | MTIM));
    println!("dir times: {:?}", times("/sb"));
    std::os::wasi::fs::symlink_path("f", "/sb/ln").unwrap();
    raw("set on symlink itself", set_path("/sb/ln", false, 1_400_000_000_000_000_000, 1_500_000_000_000_000_000, ATIM | MTIM));
    println!("link times: {:?}", times("/sb/ln"));
    println!("target times: {:?}", times("/sb/f"));
    raw("set through symlink", set_path("/sb/ln", true, 1_600_000_000_000_000_000, 1_700_000_000_000_000_000, ATIM | MTIM));
    println!("target times: {:?}", times("/sb/f"));
    raw("set missing", set_path("/sb/missing", true, 0, 0, MTIM));
}

fn now() {
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    raw("set old", set_path("/sb/f", true, 1_000_000_000_000_000_000, 1_000_000_000_000_000_000, ATIM | MTIM));
    raw("mtime now", set_path("/sb/f", true, 0, 0, MTIM_NOW));
    let (a, m) = times("/sb/f");
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    println!("atime kept: {} mtime now: {}", a == 1_000_000_000_000_000_000, m + 10_000_000 >= before && m <= after + 10_000_000);
    raw("atime now", set_path("/sb/f", true, 0, 0, ATIM_NOW));
    let (a, m2) = times("/sb/f");
    println!("atime now: {} mtime kept: {}", a + 10_000_000 >= before, m2 == m);
}

fn invalid() {
    raw("ATIM|ATIM_NOW", set_path("/sb/f", true, 5, 5, ATIM | ATIM_NOW));
    raw("MTIM|MTIM_NOW", set_path("/sb/f", true, 5, 5, MTIM | MTIM_NOW));
    let f = fs::File::open("/sb/f").unwrap();
    raw("fd ATIM|ATIM_NOW", unsafe { fd_filestat_set_times(f.as_raw_fd() as u32, 5, 5, ATIM | ATIM_NOW) });
    raw("no flags", set_path("/sb/f", true, 5, 5, 0));
    raw("bad fd", unsafe { fd_filestat_set_times(99, 0, 0, MTIM) });
}
