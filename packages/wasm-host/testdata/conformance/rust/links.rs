// Hard and symbolic links through std: create, read back, metadata through and of
// links, dangling links, loops, and links that lead out of the preopen (which must
// fail without touching anything outside). Fixture: /sb with a.txt = "alpha\n";
// a sibling host directory outside/ (not preopened) with secret = "SECRET\n".
#![feature(wasi_ext)]
include!("common.rs");
use std::fs;
use std::os::wasi::fs::symlink_path;

fn main() {
    match arg(1).as_str() {
        "hard" => hard(),
        "symlink" => symlink(),
        "dangling" => dangling(),
        "loop" => looping(),
        "escape" => escapes(),
        other => {
            eprintln!("unknown case {:?}", other);
            std::process::exit(2)
        }
    }
}

fn nlink(p: &str) -> String {
    use std::os::wasi::fs::MetadataExt;
    match fs::metadata(p) {
        Ok(m) => m.nlink().to_string(),
        Err(e) => format!("err {}", ename(&e)),
    }
}

fn hard() {
    show("hard_link", fs::hard_link("/sb/a.txt", "/sb/h.txt"));
    println!("h.txt: {} nlink: {}", read("/sb/h.txt"), nlink("/sb/a.txt"));
    fs::write("/sb/h.txt", b"changed\n").unwrap();
    println!("a.txt after write through h.txt: {}", read("/sb/a.txt"));
    show("hard_link existing target", fs::hard_link("/sb/a.txt", "/sb/h.txt"));
    show("hard_link missing source", fs::hard_link("/sb/nope", "/sb/h2"));
    fs::create_dir("/sb/dir").unwrap();
    show("hard_link a directory", fs::hard_link("/sb/dir", "/sb/dir2"));
    show("hard_link into subdir", fs::hard_link("/sb/a.txt", "/sb/dir/h3"));
    println!("nlink: {}", nlink("/sb/a.txt"));
    fs::remove_file("/sb/a.txt").unwrap();
    println!("after unlink a.txt: h.txt {} nlink {}", read("/sb/h.txt"), nlink("/sb/h.txt"));
    symlink_path("h.txt", "/sb/sym").unwrap();
    show("hard_link a symlink (not followed)", fs::hard_link("/sb/sym", "/sb/sym2"));
    println!("sym2 is symlink: {:?}", fs::symlink_metadata("/sb/sym2").map(|m| m.file_type().is_symlink()).ok());
}

fn symlink() {
    show("symlink", symlink_path("a.txt", "/sb/s"));
    show("read_link", fs::read_link("/sb/s"));
    println!("read through: {}", read("/sb/s"));
    let m = fs::symlink_metadata("/sb/s").unwrap();
    println!("lstat symlink: {} len: {}", m.file_type().is_symlink(), m.len());
    let m = fs::metadata("/sb/s").unwrap();
    println!("stat file: {} len: {}", m.is_file(), m.len());
    show("symlink existing", symlink_path("a.txt", "/sb/s"));
    show("read_link of a file", fs::read_link("/sb/a.txt"));
    show("read_link missing", fs::read_link("/sb/missing"));
    fs::create_dir("/sb/d").unwrap();
    fs::write("/sb/d/in", b"inside d\n").unwrap();
    show("symlink to dir", symlink_path("d", "/sb/dl"));
    println!("through dir link: {}", read("/sb/dl/in"));
    show("symlink relative up", symlink_path("../a.txt", "/sb/d/up"));
    println!("through up link: {}", read("/sb/d/up"));
    let long = "t".repeat(200);
    show("long target", symlink_path(&long, "/sb/long"));
    show("read_link long", fs::read_link("/sb/long").map(|p| p.as_os_str().len()));
    show("remove_file on symlink", fs::remove_file("/sb/dl"));
    println!("d still there: {:?}", fs::metadata("/sb/d").map(|m| m.is_dir()).ok());
    show("write through symlink", fs::write("/sb/s", b"via link\n"));
    println!("a.txt: {}", read("/sb/a.txt"));
}

fn dangling() {
    show("symlink to nothing", symlink_path("nothing", "/sb/dang"));
    show("metadata (follows)", fs::metadata("/sb/dang").map(|_| ()));
    show("symlink_metadata", fs::symlink_metadata("/sb/dang").map(|m| m.file_type().is_symlink()));
    show("read_link", fs::read_link("/sb/dang"));
    show("open", fs::File::open("/sb/dang").map(|_| ()));
    show("create through dangling link", fs::write("/sb/dang", b"made\n"));
    println!("nothing: {}", read("/sb/nothing"));
    show("remove dangling", fs::remove_file("/sb/dang"));
}

fn looping() {
    symlink_path("l2", "/sb/l1").unwrap();
    symlink_path("l1", "/sb/l2").unwrap();
    symlink_path("self", "/sb/self").unwrap();
    show("open loop", fs::File::open("/sb/l1").map(|_| ()));
    show("metadata loop", fs::metadata("/sb/self").map(|_| ()));
    show("symlink_metadata loop", fs::symlink_metadata("/sb/self").map(|m| m.file_type().is_symlink()));
    show("path through loop", fs::File::open("/sb/l1/x").map(|_| ()));
    show("create through loop", fs::write("/sb/l2", b"x"));
    show("remove loop", fs::remove_file("/sb/l1"));
}

fn escapes() {
    escape("read via fixture link to ../outside", fs::read("/sb/up_link/secret"));
    escape("read via fixture absolute link", fs::read("/sb/abs_link"));
    escape("stat via fixture absolute link", fs::metadata("/sb/abs_link"));
    show("lstat fixture absolute link", fs::symlink_metadata("/sb/abs_link").map(|m| m.file_type().is_symlink()));
    escape("write via fixture link", fs::write("/sb/up_link/planted", b"x"));
    escape("hard link from outside", fs::hard_link("/sb/up_link/secret", "/sb/stolen"));
    escape("open ../ path", fs::read("/sb/../outside/secret"));
    escape("readdir through link", fs::read_dir("/sb/up_link"));
    escape("mkdir through link", fs::create_dir("/sb/up_link/newdir"));
    escape("remove through link", fs::remove_file("/sb/up_link/secret"));
    escape("symlink with absolute target", symlink_path("/etc/passwd", "/sb/abs2"));
}
