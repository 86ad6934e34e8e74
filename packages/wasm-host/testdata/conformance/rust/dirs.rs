// Directories through std::fs: create (single, nested, errors), read_dir (types,
// many entries, long names), remove_dir / remove_file / remove_dir_all errors, and
// paths with "." and "..". Fixture: /sb (empty, writable).
#![feature(wasi_ext)]
include!("common.rs");
use std::fs;

fn listing(path: &str) -> String {
    match fs::read_dir(path) {
        Ok(rd) => {
            let mut v: Vec<String> = rd
                .map(|e| {
                    let e = e.unwrap();
                    let t = e.file_type().unwrap();
                    let kind = if t.is_dir() { "/" } else if t.is_symlink() { "@" } else { "" };
                    format!("{}{}", e.file_name().to_string_lossy(), kind)
                })
                .collect();
            v.sort();
            v.join(" ")
        }
        Err(e) => format!("err {}", ename(&e)),
    }
}

fn main() {
    match arg(1).as_str() {
        "create" => create(),
        "readdir" => readdir(),
        "many" => many(),
        "remove" => remove(),
        "remove_all" => remove_all(),
        "dots" => dots(),
        other => {
            eprintln!("unknown case {:?}", other);
            std::process::exit(2)
        }
    }
}

fn create() {
    show("create_dir", fs::create_dir("/sb/a"));
    show("create_dir again", fs::create_dir("/sb/a"));
    show("create_dir missing parent", fs::create_dir("/sb/x/y"));
    show("create_dir_all", fs::create_dir_all("/sb/x/y/z"));
    show("create_dir_all existing", fs::create_dir_all("/sb/x/y"));
    fs::write("/sb/file", b"f").unwrap();
    show("create_dir over file", fs::create_dir("/sb/file"));
    show("create_dir under file", fs::create_dir("/sb/file/sub"));
    show("create_dir trailing slash", fs::create_dir("/sb/b/"));
    show("is_dir", fs::metadata("/sb/x/y/z").map(|m| m.is_dir()));
    println!("listing: {}", listing("/sb"));
}

fn readdir() {
    fs::create_dir("/sb/d").unwrap();
    fs::write("/sb/d/f1", b"1").unwrap();
    fs::write("/sb/d/f2", b"22").unwrap();
    fs::create_dir("/sb/d/sub").unwrap();
    std::os::wasi::fs::symlink_path("f1", "/sb/d/ln").unwrap();
    println!("d: {}", listing("/sb/d"));
    println!("empty: {:?}", listing("/sb/d/sub"));
    println!("on file: {}", listing("/sb/d/f1"));
    println!("missing: {}", listing("/sb/nope"));
    let mut sizes: Vec<(String, u64)> = fs::read_dir("/sb/d")
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().len())
        })
        .filter(|(n, _)| n.starts_with('f'))
        .collect();
    sizes.sort();
    println!("entry metadata: {:?}", sizes);
    let paths: Vec<String> = {
        let mut p: Vec<String> = fs::read_dir("/sb/d").unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
        p.sort();
        p
    };
    println!("paths: {:?}", paths);
}

fn many() {
    fs::create_dir("/sb/m").unwrap();
    for i in 0..300 {
        fs::write(format!("/sb/m/file-{:03}-{}", i, "x".repeat(i % 40)), b"").unwrap();
    }
    let long = "L".repeat(255);
    fs::write(format!("/sb/m/{}", long), b"").unwrap();
    show("name too long", fs::write(format!("/sb/m/{}", "L".repeat(256)), b""));
    let names: Vec<String> = fs::read_dir("/sb/m").unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    println!("count: {} unique: {} long: {}", names.len(), sorted.len(), names.iter().any(|n| n.len() == 255));
    println!("first: {} last: {}", sorted[0], sorted[sorted.len() - 2]);
}

fn remove() {
    fs::create_dir_all("/sb/full/inner").unwrap();
    fs::create_dir("/sb/empty").unwrap();
    fs::write("/sb/file", b"x").unwrap();
    show("remove_dir non-empty", fs::remove_dir("/sb/full"));
    show("remove_dir missing", fs::remove_dir("/sb/missing"));
    show("remove_dir on file", fs::remove_dir("/sb/file"));
    show("remove_file on dir", fs::remove_file("/sb/empty"));
    show("remove_file missing", fs::remove_file("/sb/missing"));
    show("remove_file trailing slash", fs::remove_file("/sb/file/"));
    show("remove_dir empty", fs::remove_dir("/sb/empty"));
    show("remove_dir empty again", fs::remove_dir("/sb/empty"));
    show("remove_file", fs::remove_file("/sb/file"));
    show("remove_dir trailing slash", fs::remove_dir("/sb/full/inner/"));
    println!("listing: {}", listing("/sb"));
}

fn remove_all() {
    fs::create_dir_all("/sb/t/a/b/c").unwrap();
    for p in ["/sb/t/f", "/sb/t/a/f", "/sb/t/a/b/f", "/sb/t/a/b/c/f"] {
        fs::write(p, b"data").unwrap();
    }
    std::os::wasi::fs::symlink_path("../../keep", "/sb/t/a/link").unwrap();
    fs::write("/sb/keep", b"kept").unwrap();
    show("remove_dir_all", fs::remove_dir_all("/sb/t"));
    show("exists after", fs::metadata("/sb/t").map(|_| ()));
    println!("keep: {}", read("/sb/keep"));
    show("remove_dir_all missing", fs::remove_dir_all("/sb/t"));
    println!("listing: {}", listing("/sb"));
}

fn dots() {
    fs::create_dir_all("/sb/a/b").unwrap();
    fs::write("/sb/a/b/f", b"deep").unwrap();
    println!("./: {}", read("/sb/./a/./b/f"));
    println!("..: {}", read("/sb/a/b/../b/f"));
    println!("..x2: {}", read("/sb/a/b/../../a/b/f"));
    println!("//: {}", read("/sb//a///b//f"));
    show("dir with trailing slash", fs::metadata("/sb/a/b/").map(|m| m.is_dir()));
    show("file with trailing slash", fs::metadata("/sb/a/b/f/").map(|m| m.is_file()));
    escape("above preopen", fs::read("/sb/../outside/secret"));
    escape("above preopen deep", fs::read("/sb/a/b/../../../outside/secret"));
    escape("mkdir above preopen", fs::create_dir("/sb/a/../../made"));
    show("not under any preopen", fs::read("/elsewhere/x").map(|_| ()));
}
