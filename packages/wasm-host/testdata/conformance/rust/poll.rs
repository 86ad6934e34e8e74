// Sleeping and poll_oneoff: std::thread::sleep (a relative clock subscription),
// absolute deadlines on the realtime and monotonic clocks, clock + fd subscriptions
// together, and the spec's errors. Timing is checked only as "at least", never as an
// upper bound. Fixture: /sb with f = "12345".
#![feature(wasi_ext)]
include!("common.rs");
include!("wasi_raw.rs");
use std::os::wasi::io::AsRawFd;
use std::time::{Duration, Instant};

fn sub_clock(ud: u64, clock: u32, timeout: u64, abs: bool) -> [u8; 48] {
    let mut s = [0u8; 48];
    s[0..8].copy_from_slice(&ud.to_le_bytes());
    s[8] = 0;
    s[16..20].copy_from_slice(&clock.to_le_bytes());
    s[24..32].copy_from_slice(&timeout.to_le_bytes());
    s[40..42].copy_from_slice(&(abs as u16).to_le_bytes());
    s
}

fn sub_fd(ud: u64, tag: u8, fd: u32) -> [u8; 48] {
    let mut s = [0u8; 48];
    s[0..8].copy_from_slice(&ud.to_le_bytes());
    s[8] = tag;
    s[16..20].copy_from_slice(&fd.to_le_bytes());
    s
}

/// Runs poll_oneoff; returns (errno, [(userdata, error, type)] sorted by userdata).
fn poll(subs: &[[u8; 48]]) -> (u16, Vec<(u64, u16, u8)>) {
    let flat: Vec<u8> = subs.iter().flat_map(|s| s.iter().copied()).collect();
    let mut ev = vec![0u8; 32 * subs.len().max(1)];
    let mut n = 0usize;
    let e = unsafe { poll_oneoff(flat.as_ptr(), ev.as_mut_ptr(), subs.len(), &mut n) };
    let mut out: Vec<(u64, u16, u8)> = (0..n)
        .map(|i| {
            let b = &ev[i * 32..];
            (u64::from_le_bytes(b[0..8].try_into().unwrap()), u16::from_le_bytes([b[8], b[9]]), b[10])
        })
        .collect();
    out.sort();
    (e, out)
}

fn now(clock: u32) -> u64 {
    let mut t = 0u64;
    unsafe { clock_time_get(clock, 1, &mut t) };
    t
}

fn main() {
    match arg(1).as_str() {
        "sleep" => sleep(),
        "clocks" => clocks(),
        "fds" => fds(),
        "errors" => errors(),
        other => {
            eprintln!("unknown case {:?}", other);
            std::process::exit(2)
        }
    }
}

fn sleep() {
    let t = Instant::now();
    std::thread::sleep(Duration::from_millis(50));
    println!("slept >= 50ms: {}", t.elapsed() >= Duration::from_millis(50));
    let t = Instant::now();
    std::thread::sleep(Duration::from_millis(0));
    println!("zero sleep returns: {}", t.elapsed() < Duration::from_secs(5));
    let (e, ev) = poll(&[sub_clock(7, 1, 20_000_000, false)]);
    println!("relative monotonic: errno {} events {:?}", e, ev);
}

fn clocks() {
    let t = Instant::now();
    let (e, ev) = poll(&[sub_clock(1, 1, now(1) + 30_000_000, true)]);
    println!("absolute monotonic: errno {} events {:?} waited: {}", e, ev, t.elapsed() >= Duration::from_millis(29));
    let t = Instant::now();
    let (e, ev) = poll(&[sub_clock(2, 0, now(0) + 30_000_000, true)]);
    println!("absolute realtime: errno {} events {:?} waited: {}", e, ev, t.elapsed() >= Duration::from_millis(25));
    let (e, ev) = poll(&[sub_clock(3, 1, now(1).saturating_sub(1_000_000_000), true)]);
    println!("deadline in the past: errno {} events {:?}", e, ev);
    let t = Instant::now();
    let (e, ev) = poll(&[sub_clock(4, 1, 40_000_000, false), sub_clock(5, 1, 10_000_000, false)]);
    println!("two clocks, first to fire: errno {} events {:?} waited: {}", e, ev, t.elapsed() >= Duration::from_millis(9));
}

fn fds() {
    let f = std::fs::File::open("/sb/f").unwrap();
    let w = std::fs::OpenOptions::new().write(true).open("/sb/f").unwrap();
    let t = Instant::now();
    let (e, ev) = poll(&[sub_clock(9, 1, 5_000_000_000, false), sub_fd(1, 1, f.as_raw_fd() as u32), sub_fd(2, 2, w.as_raw_fd() as u32)]);
    println!("file read+write ready: errno {} events {:?} fast: {}", e, ev, t.elapsed() < Duration::from_secs(4));
    let (e, ev) = poll(&[sub_fd(1, 2, 1), sub_fd(2, 2, 2)]);
    println!("stdout+stderr writable: errno {} events {:?}", e, ev);
}

fn errors() {
    let (e, ev) = poll(&[]);
    println!("no subscriptions: {} {:?}", errno_name(e as i32), ev);
    let (e, ev) = poll(&[sub_fd(4, 1, 99), sub_clock(5, 1, 1_000_000, false)]);
    println!("bad fd: errno {} events {:?}", e, ev.iter().map(|(u, err, t)| (*u, errno_name(*err as i32), *t)).collect::<Vec<_>>());
}
