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
        checked += 1;
    }
    assert!(
        checked >= 8,
        "only {checked} modules found in {}",
        src.display()
    );
}
