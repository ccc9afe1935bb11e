//! The terminal model stays free of I/O (issue 24): outside its tests, no
//! module of this crate opens files, sockets or processes. A new use of
//! one belongs in `agent-tty-core` or `agent-tty-runtime`.

use std::path::Path;

/// What a module's code (before its `#[cfg(test)]` tests) must not name.
const FORBIDDEN: [&str; 6] = [
    "std::fs",
    "std::process",
    "std::net",
    "std::os::unix::net",
    "File::open",
    "Command::new",
];

#[test]
fn no_module_does_file_socket_or_process_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for name in FORBIDDEN {
            assert!(
                !code.contains(name),
                "{} uses {name} outside its tests",
                path.display()
            );
        }
        for name in grouped_std_modules(code) {
            assert!(
                !["fs", "process", "net", "unix"].contains(&name.as_str()),
                "{} uses std::{{{name}, …}} outside its tests",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 8,
        "only {checked} modules found in {}",
        src.display()
    );
}

/// The module names `use std::{…}` groups bring in (`use std::{fs, io};`
/// names `fs` without the text `std::fs`), nested groups included.
fn grouped_std_modules(code: &str) -> Vec<String> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let mut names = Vec::new();
    for (at, _) in code.match_indices("std::{") {
        let mut depth = 0;
        let mut group = String::new();
        for c in code[at + "std::".len()..].chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            group.push(c);
            if depth == 0 {
                break;
            }
        }
        names.extend(
            group
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|name| !name.is_empty())
                .map(str::to_owned),
        );
    }
    names
}

#[test]
fn a_grouped_import_is_seen() {
    assert!(
        grouped_std_modules("use std::{\n    fs,\n    io::Read,\n};").contains(&"fs".to_owned())
    );
    assert!(
        grouped_std_modules("use std::{os::{unix::net::UnixStream}};").contains(&"net".to_owned())
    );
    assert!(grouped_std_modules("use std::io;").is_empty());
}
