// Arguments, environment and exit codes as a Rust program sees them: std::env::args,
// std::env::vars / var, std::process::exit. argv[0] is the module name forge gives.
include!("common.rs");
use std::env;

fn main() {
    match arg(1).as_str() {
        "args" => {
            let a: Vec<String> = env::args().collect();
            println!("argc: {}", a.len());
            for (i, s) in a.iter().enumerate() {
                println!("argv[{}] = {:?}", i, s);
            }
        }
        "env" => {
            let mut v: Vec<(String, String)> = env::vars().collect();
            v.sort();
            println!("vars: {:?}", v);
            println!("HOME: {:?}", env::var("HOME").ok());
            println!("EMPTY: {:?}", env::var("EMPTY").ok());
            println!("WITH_EQ: {:?}", env::var("WITH_EQ").ok());
            env::set_var("LOCAL", "1");
            println!("LOCAL after set_var: {:?}", env::var("LOCAL").ok());
        }
        "exit" => {
            let code: i32 = arg(2).parse().unwrap();
            println!("exiting with {}", code);
            eprintln!("bye");
            std::process::exit(code);
        }
        "return_err" => {
            // main returning an error: std prints it and exits with 1.
            let r: Result<(), String> = Err("boom".to_string());
            if let Err(e) = r {
                eprintln!("Error: {:?}", e);
                std::process::exit(1);
            }
        }
        other => {
            eprintln!("unknown case {:?}", other);
            std::process::exit(2)
        }
    }
}
