// std::fs::rename over files and directories, and its POSIX errors (ENOENT,
// ENOTEMPTY, EISDIR, ENOTDIR, EINVAL). Fixture: /sb (empty, writable).
#![feature(wasi_ext)]
include!("common.rs");
use std::fs;

fn main() {
    match arg(1).as_str() {
        "files" => files(),
        "dirs" => dirs(),
        other => {
            eprintln!("unknown case {:?}", other);
            std::process::exit(2)
        }
    }
}

fn files() {
    fs::write("/sb/a", b"A").unwrap();
    fs::write("/sb/b", b"B").unwrap();
    fs::create_dir("/sb/d").unwrap();
    show("rename to new name", fs::rename("/sb/a", "/sb/a2"));
    println!("a: {} a2: {}", read("/sb/a"), read("/sb/a2"));
    show("rename over existing file", fs::rename("/sb/a2", "/sb/b"));
    println!("b: {}", read("/sb/b"));
    show("rename into subdir", fs::rename("/sb/b", "/sb/d/b"));
    println!("d/b: {}", read("/sb/d/b"));
    show("rename missing", fs::rename("/sb/nope", "/sb/x"));
    show("rename into missing dir", fs::rename("/sb/d/b", "/sb/nodir/b"));
    fs::create_dir("/sb/e").unwrap();
    show("rename file over dir", fs::rename("/sb/d/b", "/sb/e"));
    show("rename to itself", fs::rename("/sb/d/b", "/sb/d/b"));
    println!("d/b still: {}", read("/sb/d/b"));
}

fn dirs() {
    fs::create_dir_all("/sb/src/inner").unwrap();
    fs::write("/sb/src/inner/f", b"F").unwrap();
    show("rename dir", fs::rename("/sb/src", "/sb/dst"));
    println!("moved: {}", read("/sb/dst/inner/f"));
    fs::create_dir("/sb/empty").unwrap();
    show("rename dir over empty dir", fs::rename("/sb/dst", "/sb/empty"));
    println!("moved again: {}", read("/sb/empty/inner/f"));
    fs::create_dir_all("/sb/full/x").unwrap();
    fs::create_dir("/sb/src2").unwrap();
    show("rename dir over non-empty dir", fs::rename("/sb/src2", "/sb/full"));
    fs::write("/sb/file", b"x").unwrap();
    show("rename dir over file", fs::rename("/sb/src2", "/sb/file"));
    show("rename dir into itself", fs::rename("/sb/empty", "/sb/empty/inner/deeper"));
    escape("rename out of preopen", fs::rename("/sb/file", "/sb/../outside/stolen"));
    println!("file still: {}", read("/sb/file"));
}
