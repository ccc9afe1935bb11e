//! Every repository file a doc or a code comment names exists: a reader
//! following a citation finds the file, and a file moved or removed takes
//! its citations with it (the test names each stale one).
//!
//! A citation is a path from the repository root with a file extension
//! (`core/src/home.rs`, `docs/adr/0011-command-table.md`), a Markdown link
//! relative to the citing file, or a bare `NAME.md`, which some file in the
//! repository must be named. Frozen copies and recorded data are not read
//! (`tests/fixtures`: the compat-v1 plugin is interface release 1 as it was,
//! and 0.5's recorded Homes are 0.5's), nor is anything Git ignores.

use regex::Regex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The text files to read: everything Git tracks or would add, minus the
/// frozen fixtures.
fn sources(root: &Path) -> Vec<PathBuf> {
    let out = std::process::Command::new("git")
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git ls-files failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|p| !p.starts_with("tests/fixtures/"))
        // This file's own examples of stale citations.
        .filter(|p| *p != "tests/tests/e2e/citations.rs")
        .filter(|p| {
            [".rs", ".md", ".sh", ".toml"]
                .iter()
                .any(|e| p.ends_with(e))
        })
        .map(|p| root.join(p))
        .filter(|p| p.is_file())
        .collect()
}

/// The top-level directories a root-relative citation starts with.
fn top_dirs(root: &Path) -> Vec<String> {
    std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && n != "target")
        .collect()
}

fn stale_citations(root: &Path) -> BTreeSet<String> {
    let tops = top_dirs(root).join("|");
    let rooted = Regex::new(&format!(
        r"(?:^|[\s`(\[:'])((?:{tops})/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.(?:rs|md|sh|toml|json|snap))\b"
    ))
    .unwrap();
    let link = Regex::new(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)").unwrap();
    let bare = Regex::new(r"(?:^|[\s`(])([A-Za-z0-9_-]+\.md)\b").unwrap();
    let files = sources(root);
    // A bare name is found where any file has that name (`SKILL.md` is the
    // name every skill's file has).
    let names: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.file_name()?.to_str().map(str::to_owned))
        .collect();
    let mut stale = BTreeSet::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let rel = file.strip_prefix(root).unwrap().display().to_string();
        let dir = file.parent().unwrap();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{rel}:{}", n + 1);
            for c in rooted.captures_iter(line) {
                let cited = &c[1];
                if !root.join(cited).exists() {
                    stale.insert(format!("{at}: {cited}"));
                }
            }
            for c in link.captures_iter(line) {
                let cited = &c[1];
                if cited.contains("://") {
                    continue;
                }
                if !dir.join(cited).exists() && !root.join(cited).exists() {
                    stale.insert(format!("{at}: {cited}"));
                }
            }
            for c in bare.captures_iter(line) {
                let cited = &c[1];
                let found = names.contains(cited)
                    || [
                        root.join(cited),
                        root.join("docs").join(cited),
                        dir.join(cited),
                    ]
                    .iter()
                    .any(|p| p.exists());
                if !found {
                    stale.insert(format!("{at}: {cited}"));
                }
            }
        }
    }
    stale
}

#[test]
fn every_cited_repository_file_exists() {
    let stale = stale_citations(&repo());
    assert!(
        stale.is_empty(),
        "citations of files that are not in the repository (write what they \
         held into docs/, or cite the file that holds it now):\n{}",
        stale.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// Every ADR says whether it holds.
#[test]
fn every_adr_has_a_status_line() {
    let dir = repo().join("docs/adr");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(&path).unwrap();
            if !text.lines().any(|l| l.starts_with("Status: ")) {
                missing.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ADRs without a `Status: ` line: {missing:?}"
    );
}

/// The checker finds what it is for (a test that cannot fail is no test).
#[test]
fn the_checker_reports_a_missing_file() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::create_dir_all(root.join("core/src")).unwrap();
    std::fs::write(root.join("core/src/here.rs"), "").unwrap();
    std::fs::write(
        root.join("docs/A.md"),
        "See `core/src/here.rs`, `core/src/gone.rs`, [B](B.md), compat.md and A.md.\n",
    )
    .unwrap();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .unwrap()
    };
    git(&["init", "-q"]);
    let stale = stale_citations(root);
    assert_eq!(
        stale.into_iter().collect::<Vec<_>>(),
        [
            "docs/A.md:1: B.md",
            "docs/A.md:1: compat.md",
            "docs/A.md:1: core/src/gone.rs"
        ]
    );
}
