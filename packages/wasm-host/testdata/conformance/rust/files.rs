// Regular files through std::fs: create, read, write, errors, truncation, append,
// seek/tell, positional I/O (FileExt), sync and metadata. Fixture: /sb (empty,
// writable) unless the case says otherwise.
#![feature(wasi_ext)]
include!("common.rs");
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::wasi::fs::FileExt;

fn main() {
    match arg(1).as_str() {
        "basic" => basic(),
        "errors" => errors(),
        "truncate" => truncate(),
        "append" => append(),
        "seek" => seek(),
        "positional" => positional(),
        "sync" => sync(),
        "big" => big(),
        "readonly" => readonly(),
        other => {
            eprintln!("unknown case {:?}", other);
            std::process::exit(2)
        }
    }
}

fn basic() {
    show("write", fs::write("/sb/a.txt", b"hello world\n"));
    println!("read: {}", read("/sb/a.txt"));
    let m = fs::metadata("/sb/a.txt").unwrap();
    println!("len: {} file: {} dir: {} symlink: {}", m.len(), m.is_file(), m.is_dir(), m.file_type().is_symlink());
    let mut f = File::open("/sb/a.txt").unwrap();
    let mut s = String::new();
    show("read_to_string", f.read_to_string(&mut s));
    let mut buf = [0u8; 4];
    show("read at eof", f.read(&mut buf));
    show("create twice (truncates)", File::create("/sb/a.txt").map(|_| ()));
    println!("after create: {}", read("/sb/a.txt"));
    let mut f = File::create("/sb/b.bin").unwrap();
    show("write_all", f.write_all(&[0, 1, 2, 255, 254]));
    show("write_vectored", f.write_vectored(&[std::io::IoSlice::new(b"ab"), std::io::IoSlice::new(b"cd")]));
    drop(f);
    println!("b.bin: {:?}", fs::read("/sb/b.bin").unwrap());
    show("read_dir is_empty", fs::read_dir("/sb").map(|d| d.count()));
}

fn errors() {
    fs::write("/sb/f", b"data").unwrap();
    fs::create_dir("/sb/d").unwrap();
    show("open missing", File::open("/sb/missing").map(|_| ()));
    show("open missing parent", File::open("/sb/nodir/x").map(|_| ()));
    show("open file as dir parent", File::open("/sb/f/x").map(|_| ()));
    show("open trailing slash on file", File::open("/sb/f/").map(|_| ()));
    show("create_new existing", OpenOptions::new().write(true).create_new(true).open("/sb/f").map(|_| ()));
    show("create_new dir", OpenOptions::new().write(true).create_new(true).open("/sb/d").map(|_| ()));
    show("write-open a dir", OpenOptions::new().write(true).open("/sb/d").map(|_| ()));
    show("create over a dir", File::create("/sb/d").map(|_| ()));
    show("read-open a dir", File::open("/sb/d").map(|_| ()));
    let mut d = File::open("/sb/d").unwrap();
    let mut buf = [0u8; 8];
    show("read from a dir fd", d.read(&mut buf));
    show("write to a dir fd", d.write(b"x"));
    let mut ro = File::open("/sb/f").unwrap();
    show("write to read-only fd", ro.write(b"x"));
    let mut wo = OpenOptions::new().write(true).open("/sb/f").unwrap();
    show("read from write-only fd", wo.read(&mut buf));
    show("create in missing dir", File::create("/sb/nodir/x").map(|_| ()));
    show("empty path", File::open("").map(|_| ()));
    println!("f still: {}", read("/sb/f"));
}

fn truncate() {
    fs::write("/sb/t", b"0123456789").unwrap();
    let f = OpenOptions::new().write(true).open("/sb/t").unwrap();
    show("set_len 4", f.set_len(4));
    println!("now: {}", read("/sb/t"));
    show("set_len 8", f.set_len(8));
    println!("now: {:?}", fs::read("/sb/t").unwrap());
    show("len", f.metadata().map(|m| m.len()));
    drop(f);
    let f = File::open("/sb/t").unwrap();
    show("set_len on read-only fd", f.set_len(1));
    drop(f);
    show("open truncate", OpenOptions::new().write(true).truncate(true).open("/sb/t").map(|_| ()));
    println!("after truncate: {}", read("/sb/t"));
}

fn append() {
    fs::write("/sb/log", b"one\n").unwrap();
    let mut f = OpenOptions::new().append(true).open("/sb/log").unwrap();
    show("append write", f.write_all(b"two\n"));
    show("seek 0", f.seek(SeekFrom::Start(0)));
    show("append after seek", f.write_all(b"three\n"));
    show("position after append", f.stream_position());
    drop(f);
    println!("log: {}", read("/sb/log"));
    let mut f = OpenOptions::new().read(true).append(true).open("/sb/log").unwrap();
    let mut s = String::new();
    show("read in append mode", f.read_to_string(&mut s));
    println!("read: {:?}", s);
    let mut f2 = OpenOptions::new().create(true).append(true).open("/sb/new.log").unwrap();
    show("append creates", f2.write_all(b"x"));
    println!("new.log: {}", read("/sb/new.log"));
}

fn seek() {
    let mut f = OpenOptions::new().read(true).write(true).create(true).open("/sb/s").unwrap();
    f.write_all(b"hello world").unwrap();
    show("tell", f.stream_position());
    show("seek start 6", f.seek(SeekFrom::Start(6)));
    let mut b = [0u8; 5];
    f.read_exact(&mut b).unwrap();
    println!("read: {:?}", String::from_utf8_lossy(&b));
    show("seek end -5", f.seek(SeekFrom::End(-5)));
    show("seek current -2", f.seek(SeekFrom::Current(-2)));
    show("seek current -100", f.seek(SeekFrom::Current(-100)));
    show("position kept", f.stream_position());
    show("seek past end", f.seek(SeekFrom::End(4)));
    show("write past end", f.write_all(b"!"));
    drop(f);
    println!("file: {:?}", fs::read("/sb/s").unwrap());
    show("len", fs::metadata("/sb/s").map(|m| m.len()));
}

fn positional() {
    fs::write("/sb/p", b"abcdefghij").unwrap();
    let mut f = OpenOptions::new().read(true).write(true).open("/sb/p").unwrap();
    let mut b = [0u8; 3];
    show("read_at 4", f.read_at(&mut b, 4));
    println!("got: {:?}", String::from_utf8_lossy(&b));
    show("position after read_at", f.stream_position());
    show("write_at 1", f.write_at(b"XY", 1));
    show("position after write_at", f.stream_position());
    show("read_at past end", f.read_at(&mut b, 100));
    show("write_at past end", f.write_at(b"Z", 12));
    let mut s = Vec::new();
    f.read_to_end(&mut s).unwrap();
    println!("content: {:?}", s);
    let ro = File::open("/sb/p").unwrap();
    show("write_at on read-only fd", ro.write_at(b"q", 0));
    let wo = OpenOptions::new().write(true).open("/sb/p").unwrap();
    show("read_at on write-only fd", wo.read_at(&mut b, 0));
    let ap = OpenOptions::new().append(true).open("/sb/p").unwrap();
    show("write_at on append fd", ap.write_at(b"END", 0));
    println!("after: {}", read("/sb/p"));
}

fn sync() {
    let f = File::create("/sb/y").unwrap();
    show("sync_all", f.sync_all());
    show("sync_data", f.sync_data());
    let m = f.metadata().unwrap();
    println!("is_file: {} len: {}", m.is_file(), m.len());
    let d = File::open("/sb").unwrap();
    let dm = d.metadata().unwrap();
    println!("dir is_dir: {}", dm.is_dir());
    show("fs::metadata of preopen", fs::metadata("/sb").map(|m| m.is_dir()));
}

fn big() {
    let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i * 7 + i / 251) as u8).collect();
    show("write 1 MiB", fs::write("/sb/big", &data));
    let back = fs::read("/sb/big").unwrap();
    println!("equal: {} len: {}", back == data, back.len());
    let mut f = File::open("/sb/big").unwrap();
    let mut chunk = vec![0u8; 65536];
    let mut total = 0usize;
    let mut sum = 0u64;
    loop {
        let n = f.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        total += n;
        sum = chunk[..n].iter().fold(sum, |s, &b| s.wrapping_mul(31).wrapping_add(b as u64));
    }
    println!("chunked total: {} sum: {}", total, sum);
}

// Fixture: /ro read-only with data.txt = "read only\n" and sub/; /sb writable.
fn readonly() {
    println!("read: {}", read("/ro/data.txt"));
    show("create in read-only dir", File::create("/ro/new").map(|_| ()));
    show("write-open existing", OpenOptions::new().write(true).open("/ro/data.txt").map(|_| ()));
    show("append-open existing", OpenOptions::new().append(true).open("/ro/data.txt").map(|_| ()));
    show("truncate-open existing", OpenOptions::new().write(true).truncate(true).open("/ro/data.txt").map(|_| ()));
    show("mkdir", fs::create_dir("/ro/d"));
    show("remove_file", fs::remove_file("/ro/data.txt"));
    show("remove_dir", fs::remove_dir("/ro/sub"));
    show("rename within", fs::rename("/ro/data.txt", "/ro/moved"));
    show("rename out to /sb", fs::rename("/ro/data.txt", "/sb/moved"));
    show("hard link into /sb", fs::hard_link("/ro/data.txt", "/sb/linked"));
    show("symlink", std::os::wasi::fs::symlink_path("data.txt", "/ro/ln"));
    let f = File::open("/ro/data.txt").unwrap();
    show("set_len on read fd", f.set_len(0));
    show("metadata", fs::metadata("/ro/data.txt").map(|m| m.len()));
    show("read_dir", fs::read_dir("/ro").map(|d| d.count()));
    show("copy out to /sb", fs::copy("/ro/data.txt", "/sb/copy.txt"));
    println!("copy: {}", read("/sb/copy.txt"));
}
