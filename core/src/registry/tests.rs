//! The Home Registry store, against real files in temp directories.

use super::*;
use rstest::rstest;
use std::sync::Arc;

/// A registry file as agent-tty 0.5 writes it (`JSON.stringify(x, null, 2)`
/// plus a newline).
const WRITTEN_BY_05: &str = r#"{
  "version": 1,
  "homes": [
    {
      "path": "/work/project-b",
      "lastSeenAt": "2026-11-24T03:50:02.677Z"
    },
    {
      "path": "/tmp/tmp.Xq3v9/home",
      "lastSeenAt": "2026-11-23T21:07:45.010Z"
    }
  ]
}
"#;

struct Fixture {
    dir: tempfile::TempDir,
    registry: HomeRegistry,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let registry = HomeRegistry::new(dir.path().join("state/agent-tty/homes.json"));
    Fixture { dir, registry }
}

impl Fixture {
    /// A real directory to register (canonical paths need it to exist).
    fn home(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join("homes").join(name);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::canonicalize(path).unwrap()
    }
    fn write(&self, text: &str) {
        std::fs::create_dir_all(self.registry.file().parent().unwrap()).unwrap();
        std::fs::write(self.registry.file(), text).unwrap();
    }
    fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.registry.file()).unwrap()
    }
    fn paths(&self) -> Vec<String> {
        self.registry
            .read()
            .homes
            .into_iter()
            .map(|h| h.path)
            .collect()
    }
    fn corrupt_copies(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.registry.file().parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("homes.json.corrupt-"))
            .collect()
    }
}

fn at(iso: &str) -> SystemTime {
    parse_iso(iso).unwrap()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[rstest]
#[case::xdg_honoured(
    Some("/xdg/state"),
    Some("/users/me"),
    Some("/xdg/state/agent-tty/homes.json")
)]
#[case::empty_xdg_falls_back(
    Some(""),
    Some("/users/me"),
    Some("/users/me/.local/state/agent-tty/homes.json")
)]
#[case::relative_xdg_ignored(
    Some("rel/state"),
    Some("/users/me"),
    Some("/users/me/.local/state/agent-tty/homes.json")
)]
#[case::unset_xdg_falls_back(
    None,
    Some("/users/me"),
    Some("/users/me/.local/state/agent-tty/homes.json")
)]
#[case::xdg_without_user_dir(Some("/xdg"), None, Some("/xdg/agent-tty/homes.json"))]
#[case::nothing_usable(Some("rel"), Some("also/rel"), None)]
fn location(
    #[case] xdg: Option<&str>,
    #[case] user_dir: Option<&str>,
    #[case] expected: Option<&str>,
) {
    assert_eq!(
        registry_path(xdg.map(OsStr::new), user_dir.map(Path::new)),
        expected.map(PathBuf::from)
    );
}

#[test]
fn register_dedupes_and_refreshes_last_seen() {
    let f = fixture();
    let (a, b) = (f.home("a"), f.home("b"));
    f.registry
        .register_at(&a, at("2026-01-01T00:00:00.000Z"))
        .unwrap();
    f.registry
        .register_at(&b, at("2026-01-02T00:00:00.000Z"))
        .unwrap();
    f.registry
        .register_at(&a, at("2026-01-03T00:00:00.000Z"))
        .unwrap();
    let homes = f.registry.read().homes;
    assert_eq!(
        homes,
        vec![
            HomeEntry {
                path: s(&a),
                last_seen_at: "2026-01-03T00:00:00.000Z".into()
            },
            HomeEntry {
                path: s(&b),
                last_seen_at: "2026-01-02T00:00:00.000Z".into()
            },
        ]
    );
}

#[test]
fn entries_are_newest_first_whatever_the_order_of_registration() {
    let f = fixture();
    let (a, b, c) = (f.home("a"), f.home("b"), f.home("c"));
    f.registry
        .register_at(&b, at("2026-01-02T00:00:00.000Z"))
        .unwrap();
    f.registry
        .register_at(&c, at("2026-01-03T00:00:00.000Z"))
        .unwrap();
    f.registry
        .register_at(&a, at("2026-01-01T00:00:00.000Z"))
        .unwrap();
    assert_eq!(f.paths(), vec![s(&c), s(&b), s(&a)]);
    // The file itself is in that order too (readers other than ours rely on it).
    let text = String::from_utf8(f.bytes()).unwrap();
    let pos = |p: &Path| text.find(&*s(p)).unwrap();
    assert!(pos(&c) < pos(&b) && pos(&b) < pos(&a), "{text}");
}

#[test]
fn homes_are_stored_in_canonical_form() {
    let f = fixture();
    let real = f.home("real");
    let link = f.dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    f.registry
        .register(Path::new(&format!("{}/./", link.display())))
        .unwrap();
    f.registry.register(&real).unwrap();
    assert_eq!(f.paths(), vec![s(&real)]);
}

#[test]
fn a_registry_written_by_05_reads_as_is_and_ours_has_its_layout() {
    let f = fixture();
    f.write(WRITTEN_BY_05);
    let homes = f.registry.read().homes;
    assert_eq!(
        homes.iter().map(|h| h.path.as_str()).collect::<Vec<_>>(),
        ["/work/project-b", "/tmp/tmp.Xq3v9/home"]
    );
    assert_eq!(render(&homes, &Map::new()), WRITTEN_BY_05.as_bytes());
    // An update that changes nothing leaves 0.5's bytes alone.
    f.registry.update(|_| Ok(())).unwrap();
    assert_eq!(f.bytes(), WRITTEN_BY_05.as_bytes());
}

#[test]
fn an_empty_registry_is_written_like_05_writes_it() {
    let f = fixture();
    let home = f.home("a");
    f.registry.register(&home).unwrap();
    assert!(f.registry.forget(&home).unwrap());
    assert_eq!(f.bytes(), b"{\n  \"version\": 1,\n  \"homes\": []\n}\n");
}

#[test]
fn a_corrupt_file_reads_as_empty_and_is_moved_aside_by_the_next_registration() {
    let f = fixture();
    f.write("{\"version\": 1, \"homes\": [ truncated");
    let read = f.registry.read();
    assert!(read.homes.is_empty());
    assert!(read.problem.unwrap().contains("not valid JSON"));
    // Reading wrote nothing.
    assert_eq!(f.bytes(), b"{\"version\": 1, \"homes\": [ truncated");
    assert!(f.corrupt_copies().is_empty());

    let home = f.home("a");
    f.registry.register(&home).unwrap();
    assert_eq!(f.paths(), vec![s(&home)]);
    let copies = f.corrupt_copies();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(
        std::fs::read(&copies[0]).unwrap(),
        b"{\"version\": 1, \"homes\": [ truncated"
    );
}

#[rstest]
#[case::not_an_object("[1, 2]")]
#[case::homes_not_a_list(r#"{"version": 1, "homes": {"path": "/a"}}"#)]
#[case::version_not_a_number(r#"{"version": "one", "homes": []}"#)]
#[case::empty_file("")]
fn shapes_that_are_not_a_registry_are_corrupt(#[case] text: &str) {
    let f = fixture();
    f.write(text);
    assert!(f.registry.read().problem.is_some());
    f.registry.register(&f.home("a")).unwrap();
    assert_eq!(f.corrupt_copies().len(), 1);
    assert_eq!(f.paths().len(), 1);
}

#[test]
fn one_bad_entry_keeps_the_good_ones() {
    let f = fixture();
    f.write(
        r#"{"version": 1, "homes": [
            {"path": "/good/one", "lastSeenAt": "2026-01-02T00:00:00.000Z"},
            {"path": 42, "lastSeenAt": "2026-01-02T00:00:00.000Z"},
            {"path": "relative/home", "lastSeenAt": "2026-01-02T00:00:00.000Z"},
            {"path": "/bad/time", "lastSeenAt": "last tuesday"},
            "not even an object",
            {"path": "/good/two", "lastSeenAt": "2026-01-01T00:00:00.000Z", "label": "extra keys are fine"}
        ]}"#,
    );
    let read = f.registry.read();
    assert_eq!(
        read.homes
            .iter()
            .map(|h| h.path.as_str())
            .collect::<Vec<_>>(),
        ["/good/one", "/good/two"]
    );
    assert!(read.problem.unwrap().contains("4 malformed entries"));
    // A registration keeps both and drops the bad ones, without a corrupt copy.
    f.registry.register(&f.home("new")).unwrap();
    assert_eq!(f.paths().len(), 3);
    assert!(f.corrupt_copies().is_empty());
}

#[test]
fn unknown_top_level_keys_are_ignored_and_survive_a_rewrite() {
    let f = fixture();
    f.write(r#"{"version": 1, "machine": "box-7", "homes": []}"#);
    assert!(f.registry.read().problem.is_none());
    f.registry.register(&f.home("a")).unwrap();
    let v: Value = serde_json::from_slice(&f.bytes()).unwrap();
    assert_eq!(v["machine"], "box-7");
    assert_eq!(v["homes"].as_array().unwrap().len(), 1);
}

#[test]
fn a_newer_format_is_listed_but_never_overwritten() {
    let f = fixture();
    let text =
        r#"{"version": 2, "homes": [{"path": "/a", "lastSeenAt": "2026-01-01T00:00:00.000Z"}]}"#;
    f.write(text);
    assert_eq!(f.paths(), vec!["/a".to_owned()]);
    let err = f.registry.register(&f.home("b")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::StorageWriteError);
    assert!(err.to_string().contains("newer agent-tty"), "{err}");
    assert_eq!(f.bytes(), text.as_bytes());
}

#[test]
fn an_unreadable_file_fails_the_update_instead_of_being_replaced() {
    let f = fixture();
    // A directory where the file should be: unreadable as a file even for root.
    std::fs::create_dir_all(f.registry.file()).unwrap();
    assert!(f
        .registry
        .read()
        .problem
        .unwrap()
        .contains("could not be read"));
    let err = f.registry.register(&f.home("a")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::StorageReadError);
    assert!(f.registry.file().is_dir());
}

/// A FIFO, a symlink or an oversized file at `homes.json` is refused at
/// once by a read (never waited on, never followed, nothing allocated for
/// it) and left exactly as it is by every update: register, forget and
/// gc's check fail instead of writing a registry without its Homes.
#[test]
fn a_fifo_symlink_or_giant_registry_is_refused_at_once_and_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let f = fixture();
    let file = f.registry.file().to_owned();
    let dir = file.parent().unwrap().to_owned();
    std::fs::create_dir_all(&dir).unwrap();
    let real = dir.join("elsewhere.json");
    std::fs::write(&real, WRITTEN_BY_05).unwrap();
    let plant = |says: &str, p: &Path| match says {
        "a FIFO" => nix::unistd::mkfifo(p, nix::sys::stat::Mode::S_IRWXU).unwrap(),
        "a symlink" => std::os::unix::fs::symlink(&real, p).unwrap(),
        _ => std::fs::File::create(p)
            .unwrap()
            .set_len(REGISTRY_READ_LIMIT + 1)
            .unwrap(),
    };
    for says in ["a FIFO", "a symlink", "larger than"] {
        let _ = std::fs::remove_file(&file);
        plant(says, &file);
        let kind = || std::fs::symlink_metadata(&file).unwrap().file_type();
        let before = (kind(), std::fs::symlink_metadata(&file).unwrap().len());
        let read = f.registry.read();
        assert!(read.homes.is_empty(), "{says}");
        let problem = read.problem.unwrap();
        assert!(problem.contains(says), "{says}: {problem}");
        assert!(problem.contains("left as it is"), "{says}: {problem}");
        for (what, outcome) in [
            ("register", f.registry.register(&f.home("a")).map(|_| ())),
            (
                "forget",
                f.registry.forget(Path::new("/work/project-b")).map(|_| ()),
            ),
            ("check_updatable", f.registry.check_updatable()),
        ] {
            let err = outcome.expect_err(what);
            assert_eq!(err.code(), ErrorCode::StorageReadError, "{says} {what}");
            assert!(err.to_string().contains(says), "{says} {what}: {err}");
        }
        let after = (kind(), std::fs::symlink_metadata(&file).unwrap().len());
        assert_eq!(before, after, "{says}: the file was changed");
        assert_eq!(kind().is_fifo(), says == "a FIFO");
        assert!(f.corrupt_copies().is_empty(), "{says}: moved aside");
    }
    assert_eq!(std::fs::read_to_string(&real).unwrap(), WRITTEN_BY_05);
}

#[test]
fn forget_removes_only_the_entry_and_normalises_its_argument() {
    let f = fixture();
    let (a, b) = (f.home("a"), f.home("b"));
    f.registry.register(&a).unwrap();
    f.registry.register(&b).unwrap();
    let link = f.dir.path().join("to-a");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    assert!(f
        .registry
        .forget(Path::new(&format!("{}/", link.display())))
        .unwrap());
    assert_eq!(f.paths(), vec![s(&b)]);
    assert!(a.is_dir(), "forget never touches the Home");
}

#[test]
fn forgetting_an_unregistered_home_is_false_and_writes_nothing() {
    let f = fixture();
    f.write(WRITTEN_BY_05);
    let before = std::fs::metadata(f.registry.file())
        .unwrap()
        .modified()
        .unwrap();
    assert!(!f.registry.forget(Path::new("/not/registered")).unwrap());
    assert_eq!(f.bytes(), WRITTEN_BY_05.as_bytes());
    assert_eq!(
        std::fs::metadata(f.registry.file())
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
}

#[test]
fn a_gone_home_can_be_forgotten_by_its_old_path() {
    let f = fixture();
    let home = f.home("gone");
    f.registry.register(&home).unwrap();
    std::fs::remove_dir(&home).unwrap();
    assert!(f.registry.forget(&home).unwrap());
    assert!(f.paths().is_empty());
}

#[test]
fn the_registry_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    f.registry.register(&f.home("a")).unwrap();
    let mode = std::fs::metadata(f.registry.file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_held_lock_makes_an_update_fail_clearly_instead_of_hanging() {
    let f = fixture();
    let registry = f
        .registry
        .clone()
        .with_lock_wait(Duration::from_millis(200));
    std::fs::create_dir_all(registry.file().parent().unwrap()).unwrap();
    let holder = File::create(registry.lock_file()).unwrap();
    assert!(FileExt::try_lock_exclusive(&holder).unwrap());
    let started = Instant::now();
    let err = registry.register(&f.home("a")).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(err.code(), ErrorCode::StorageWriteError);
    assert!(
        err.to_string().contains("locked by another agent-tty"),
        "{err}"
    );
    drop(holder);
    registry.register(&f.home("a")).unwrap();
}

#[test]
fn an_update_decides_under_the_lock() {
    let f = fixture();
    let registry = f
        .registry
        .clone()
        .with_lock_wait(Duration::from_millis(100));
    let nested = f
        .registry
        .clone()
        .with_lock_wait(Duration::from_millis(100));
    // While `change` runs, nobody else can update: a second update times out.
    let err = registry
        .update(|_| nested.register(&f.home("x")).map(|_| ()))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::StorageWriteError);
}

#[rstest]
#[case::distinct_homes(64, 64)]
#[case::one_home(64, 1)]
fn parallel_registrations_lose_nothing(#[case] writers: usize, #[case] distinct: usize) {
    let f = Arc::new(fixture());
    let homes: Vec<PathBuf> = (0..distinct).map(|i| f.home(&format!("h{i}"))).collect();
    let barrier = Arc::new(std::sync::Barrier::new(writers));
    std::thread::scope(|scope| {
        for i in 0..writers {
            let (barrier, home) = (barrier.clone(), homes[i % distinct].clone());
            // Each writer has its own store (its own lock file handle), as
            // separate processes would. The lock wait is generous: this test
            // is about losing nothing, and 64 writers on a loaded 2-core
            // machine can exceed the 5 s default (seen in a fresh-clone run).
            let registry = HomeRegistry::new(f.registry.file().to_owned())
                .with_lock_wait(std::time::Duration::from_secs(120));
            scope.spawn(move || {
                barrier.wait();
                registry.register(&home).unwrap();
            });
        }
    });
    let mut got = f.paths();
    got.sort();
    let mut want: Vec<String> = homes.iter().map(|h| s(h)).collect();
    want.sort();
    assert_eq!(got, want);
}

/// A plain file is read without a tree, to the same entries, drops and
/// version; any other file (or error) goes to the tree, which answers for it.
#[rstest]
#[case::plain(r#"{"version": 1, "homes": [{"path": "/b", "lastSeenAt": "2026-01-01T00:00:00.000Z"}, {"path": "/a", "lastSeenAt": "2026-01-02T00:00:00.000Z"}]}"#, true)]
#[case::escaped(r#"{"homes": [{"lastSeenAt": "2026-01-01T00:00:00.000Z", "path": "/\u00e9t\u00e9\/\"q\""}], "version": 1}"#, true)]
#[case::dropped(r#"{"version": 1, "homes": [{"path": "rel", "lastSeenAt": "2026-01-01T00:00:00.000Z"}, {"path": null, "lastSeenAt": "2026-01-01T00:00:00.000Z"}, {"path": "/a"}, {}]}"#, true)]
#[case::duplicate_paths(r#"{"version": 1, "homes": [{"path": "/a", "lastSeenAt": "2026-01-01T00:00:00.000Z"}, {"path": "/a", "lastSeenAt": "2026-01-03T00:00:00.000Z"}]}"#, true)]
#[case::no_homes(r#"{"version": 2}"#, true)]
#[case::nothing("{}", true)]
#[case::extra_top_key(r#"{"version": 1, "homes": [], "later": {"x": 1}}"#, false)]
#[case::extra_entry_key(r#"{"version": 1, "homes": [{"path": "/a", "lastSeenAt": "2026-01-01T00:00:00.000Z", "label": "x"}]}"#, false)]
#[case::duplicate_entry_key(r#"{"version": 1, "homes": [{"path": "/a", "path": "/b", "lastSeenAt": "2026-01-01T00:00:00.000Z"}]}"#, false)]
#[case::duplicate_top_key(r#"{"version": 1, "homes": [], "homes": [{"path": "/a", "lastSeenAt": "2026-01-01T00:00:00.000Z"}]}"#, false)]
#[case::entry_not_an_object(
    r#"{"version": 1, "homes": [["/a", "2026-01-01T00:00:00.000Z"]]}"#,
    false
)]
#[case::top_not_an_object(r#"[1, []]"#, false)]
#[case::path_a_number(
    r#"{"version": 1, "homes": [{"path": 42, "lastSeenAt": "2026-01-01T00:00:00.000Z"}]}"#,
    false
)]
#[case::version_null(r#"{"version": null, "homes": []}"#, false)]
#[case::version_fraction(r#"{"version": 1.0, "homes": []}"#, false)]
#[case::homes_null(r#"{"version": 1, "homes": null}"#, false)]
#[case::raw_value_key(
    r#"{"version": 1, "homes": [{"$serde_json::private::RawValue": "{}"}]}"#,
    false
)]
#[case::truncated(r#"{"version": 1, "homes": [{"path": "/a""#, false)]
fn a_plain_file_reads_as_its_tree(#[case] text: &str, #[case] plain: bool) {
    let tree = parse_tree(text.as_bytes());
    match parse_plain(text.as_bytes()) {
        Some(read) => {
            assert!(plain, "{text} was read without a tree");
            let tree = tree.expect("the tree reads it too");
            assert_eq!(read.homes, tree.homes, "{text}");
            assert_eq!(read.dropped, tree.dropped, "{text}");
            assert_eq!(read.version, tree.version, "{text}");
            assert_eq!(read.extra, tree.extra, "{text}");
        }
        None => assert!(!plain, "{text} went to the tree"),
    }
}

/// Invalid UTF-8 in a string is an error on either road.
#[test]
fn invalid_utf8_is_corrupt_on_either_road() {
    let bytes = b"{\"version\": 1, \"homes\": [{\"path\": \"/\xff\", \"lastSeenAt\": \"2026-01-01T00:00:00.000Z\"}]}";
    assert!(parse_plain(bytes).is_none());
    assert!(parse(bytes).is_err());
}
