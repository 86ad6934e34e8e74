// Standard streams: stdin read to the end, stdout and stderr large and interleaved,
// line and binary output, and fdstat of the three fds. The test runs it with pipes and
// with stdout redirected to a file.
#![feature(wasi_ext)]
include!("common.rs");
include!("wasi_raw.rs");
use std::io::{self, BufRead, Read, Write};

fn main() {
    match arg(1).as_str() {
        "echo" => {
            let mut n = 0;
            for line in io::stdin().lock().lines() {
                let line = line.unwrap();
                n += 1;
                println!("{}: {}", n, line.to_uppercase());
            }
            eprintln!("lines: {}", n);
        }
        "binary" => {
            let mut input = Vec::new();
            io::stdin().read_to_end(&mut input).unwrap();
            let sum: u64 = input.iter().map(|&b| b as u64).sum();
            eprintln!("read {} bytes, sum {}", input.len(), sum);
            let out: Vec<u8> = input.iter().rev().copied().collect();
            io::stdout().write_all(&out).unwrap();
        }
        "big" => {
            let out = io::stdout();
            let mut lock = out.lock();
            for i in 0..20000 {
                writeln!(lock, "line {:05} {}", i, "abcdefghij".repeat(3)).unwrap();
            }
            drop(lock);
            for i in 0..200 {
                eprintln!("err {}", i);
            }
        }
        "fdstat" => {
            for fd in 0..3 {
                let (e, _ft, flags, base, _) = fdstat(fd);
                println!("fd {}: errno {} flags {} read {} write {}", fd, e, flags, base & rights::FD_READ != 0, base & rights::FD_WRITE != 0);
            }
            let (e, ..) = fdstat(9);
            println!("fd 9: {}", errno_name(e as i32));
        }
        other => {
            eprintln!("unknown case {:?}", other);
            std::process::exit(2)
        }
    }
}
