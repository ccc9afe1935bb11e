//! Home scans and the listing, over real Home directories in temp dirs.

use super::*;
use crate::layout::SessionDir;
use rstest::rstest;
use std::path::PathBuf;

/// Writes a Session with a 0.5-format manifest in `status`.
fn session(home: &Path, id: &str, status: &str) -> PathBuf {
    let dir = home.join("sessions").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = format!(
        r#"{{
  "version": 1,
  "sessionId": "{id}",
  "createdAt": "2026-11-24T03:50:02.677Z",
  "updatedAt": "2026-11-24T03:50:02.677Z",
  "status": "{status}",
  "command": ["sleep", "300"],
  "cwd": "/tmp",
  "cols": 80,
  "rows": 24,
  "hostPid": 999999,
  "childPid": null,
  "exitCode": null,
  "exitSignal": null
}}
"#
    );
    std::fs::write(SessionDir::new(&dir).manifest(), manifest).unwrap();
    dir
}

fn id(n: usize) -> String {
    format!("01JD3Z6X8K4M2N5P7Q9R1S{n:04}")
}

#[rstest]
#[case::directory_missing(&[], false, false, HiddenReason::DirectoryMissing)]
#[case::sessions_missing(&[], true, false, HiddenReason::SessionsMissing)]
#[case::no_sessions(&[], true, true, HiddenReason::NoSessions)]
#[case::only_destroyed(&["destroyed", "destroyed"], true, true, HiddenReason::OnlyDestroyed)]
fn hidden_homes_say_why(
    #[case] statuses: &[&str],
    #[case] make_home: bool,
    #[case] make_sessions: bool,
    #[case] reason: HiddenReason,
) {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    if make_home {
        std::fs::create_dir(&home).unwrap();
    }
    if make_sessions {
        std::fs::create_dir(home.join("sessions")).unwrap();
    }
    for (n, status) in statuses.iter().enumerate() {
        session(&home, &id(n), status);
    }
    assert_eq!(scan_home(&home, Activity::Found), HomeScan::Hidden(reason));
}

#[test]
fn a_home_with_only_invalid_manifests_is_hidden_as_unreadable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions").join(id(0));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(SessionDir::new(&dir).manifest(), "{ torn").unwrap();
    let HomeScan::Hidden(reason) = scan_home(tmp.path(), Activity::Found) else {
        panic!("an unreadable Home is hidden");
    };
    assert_eq!(reason.code(), "unreadable");
    assert!(reason.describe().contains("1 Session manifest is"));
}

#[test]
fn counts_visible_and_active_sessions_without_following_symlinks() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    session(&home, &id(0), "running");
    session(&home, &id(1), "exited");
    session(&home, &id(2), "failed");
    session(&home, &id(3), "destroyed");
    session(&home, &id(4), "destroying");
    // A symlink to a running Session elsewhere and a stray file are not Sessions.
    let elsewhere = session(&tmp.path().join("other"), &id(9), "running");
    std::os::unix::fs::symlink(&elsewhere, home.join("sessions").join(id(5))).unwrap();
    std::fs::write(home.join("sessions").join("notes.txt"), "hi").unwrap();
    let HomeScan::Visible(counts) = scan_home(&home, Activity::Found) else {
        panic!("the Home has visible Sessions");
    };
    assert_eq!((counts.active, counts.total), (2, 4));
    assert_eq!(counts.last_activity, None);
}

#[test]
fn last_activity_is_the_newest_event_log_change() {
    let tmp = tempfile::tempdir().unwrap();
    let old = session(tmp.path(), &id(0), "exited");
    let new = session(tmp.path(), &id(1), "running");
    let gone = session(tmp.path(), &id(2), "destroyed");
    let t = |secs| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    for (dir, when) in [(&old, t(1_000)), (&new, t(2_000)), (&gone, t(3_000))] {
        let log = std::fs::File::create(SessionDir::new(dir).event_log()).unwrap();
        log.set_modified(when).unwrap();
    }
    let HomeScan::Visible(counts) = scan_home(tmp.path(), Activity::Found) else {
        panic!("visible");
    };
    // The destroyed Session's log is not counted: it is not visible.
    assert_eq!(counts.last_activity, Some(t(2_000)));
    // Skipping it changes nothing else.
    assert_eq!(
        scan_home(tmp.path(), Activity::Skipped),
        HomeScan::Visible(SessionCounts {
            last_activity: None,
            ..counts
        })
    );
}

#[test]
fn parallel_scans_answer_in_the_order_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let homes: Vec<PathBuf> = (0..40)
        .map(|h| {
            let home = tmp.path().join(format!("h{h}"));
            for s in 0..=(h % 5) {
                session(&home, &id(s), "exited");
            }
            home
        })
        .collect();
    let refs: Vec<&Path> = homes.iter().map(PathBuf::as_path).collect();
    let totals: Vec<usize> = scan_homes(&refs, Activity::Found)
        .into_iter()
        .map(|s| match s {
            HomeScan::Visible(c) => c.total,
            HomeScan::Hidden(r) => panic!("hidden: {r:?}"),
        })
        .collect();
    assert_eq!(totals, (0..40).map(|h| h % 5 + 1).collect::<Vec<_>>());
}

struct Machine {
    tmp: tempfile::TempDir,
    registry: HomeRegistry,
}

impl Machine {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let registry = HomeRegistry::new(tmp.path().join("state/homes.json"));
        Machine { tmp, registry }
    }
    /// A registered Home holding Sessions in these statuses.
    fn home(&self, name: &str, statuses: &[&str], seen: &str) -> String {
        let home = self.tmp.path().join(name);
        std::fs::create_dir_all(&home).unwrap();
        for (n, status) in statuses.iter().enumerate() {
            session(&home, &id(n), status);
        }
        self.registry
            .register_at(&home, crate::time::parse_iso(seen).unwrap())
            .unwrap();
        crate::home::canonical_path(&home)
            .to_string_lossy()
            .into_owned()
    }
}

#[test]
fn the_listing_scopes_prunes_and_orders_newest_first() {
    let m = Machine::new();
    let live = m.home("live", &["running", "exited"], "2026-01-01T00:00:00.000Z");
    let done = m.home("done", &["exited"], "2026-01-03T00:00:00.000Z");
    let live2 = m.home("live2", &["exiting"], "2026-01-02T00:00:00.000Z");
    let empty = m.home("empty", &[], "2026-01-04T00:00:00.000Z");
    let gone = m.home("gone", &["running"], "2026-01-05T00:00:00.000Z");
    std::fs::remove_dir_all(&gone).unwrap();

    let active = list_homes(&m.registry, Scope::Active, Activity::Found);
    let paths = |l: &HomeListing| {
        l.homes
            .iter()
            .map(|h| h.entry.path.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(&active), [live2.clone(), live.clone()]);
    assert_eq!(active.out_of_scope, 1);

    let all = list_homes(&m.registry, Scope::All, Activity::Found);
    assert_eq!(paths(&all), [done, live2, live]);
    let hidden: Vec<(String, &str)> = all
        .hidden
        .iter()
        .map(|h| (h.entry.path.clone(), h.reason.code()))
        .collect();
    assert_eq!(
        hidden,
        [(gone, "directory-missing"), (empty, "sessions-missing")]
    );
    let json = all.to_json(true);
    assert_eq!(json["homes"][2]["activeSessions"], 1);
    assert_eq!(json["homes"][2]["totalSessions"], 2);
    assert_eq!(json["hidden"][0]["reason"], "directory-missing");
    assert!(all.to_json(false).get("hidden").is_none());
    // Rows are 0.5's, key for key; only `--verbose` adds the last activity.
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&all.to_json(false)["homes"][0]),
        ["path", "activeSessions", "totalSessions", "lastSeenAt"]
    );
    assert_eq!(
        keys(&json["homes"][0]),
        [
            "path",
            "activeSessions",
            "totalSessions",
            "lastSeenAt",
            "lastActivityAt"
        ]
    );
    assert_eq!(
        all.to_json_text(false).get(),
        serde_json::to_string(&all.to_json(false)).unwrap()
    );
}

#[test]
fn listing_never_writes_and_never_reconciles() {
    let m = Machine::new();
    // hostPid 999999 is not a live process: a reconcile would mark these failed.
    m.home("a", &["running", "destroying"], "2026-01-01T00:00:00.000Z");
    m.home("b", &["running"], "2026-01-02T00:00:00.000Z");
    let before = tree(m.tmp.path());
    let listing = list_homes(&m.registry, Scope::Active, Activity::Found);
    assert_eq!(listing.homes.len(), 2);
    assert_eq!(listing.homes[1].counts.active, 2);
    assert_eq!(tree(m.tmp.path()), before);
}

/// Every file under `dir` with its bytes and modification time.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>, SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                out.push((
                    e.path(),
                    std::fs::read(e.path()).unwrap(),
                    meta.modified().unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_manifest_larger_than_the_first_read_is_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = session(tmp.path(), &id(0), "running");
    let path = SessionDir::new(&dir).manifest();
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "\"cwd\": \"/tmp\",",
        &format!(
            "\"cwd\": \"/tmp\",\n  \"env\": {{\"BIG\": \"{}\"}},",
            "x".repeat(20_000)
        ),
    );
    std::fs::write(&path, text).unwrap();
    assert!(matches!(
        scan_home(tmp.path(), Activity::Found),
        HomeScan::Visible(SessionCounts {
            active: 1,
            total: 1,
            ..
        })
    ));
}

#[test]
fn occupancy_tells_gone_empty_and_occupied_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    assert_eq!(occupancy(&home), Occupancy::Gone);
    std::fs::create_dir(&home).unwrap();
    assert_eq!(occupancy(&home), Occupancy::Empty);
    std::fs::create_dir(home.join("sessions")).unwrap();
    assert_eq!(occupancy(&home), Occupancy::Empty);
    // Anything at all in sessions/ keeps the Home, even a stray file.
    std::fs::write(home.join("sessions").join("stray"), "").unwrap();
    assert_eq!(occupancy(&home), Occupancy::Occupied(1));
    // A sessions/ that cannot be listed (a file where it should be) is unreadable.
    let odd = tmp.path().join("odd");
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("sessions"), "").unwrap();
    assert!(matches!(occupancy(&odd), Occupancy::Unreadable(_)));
}

#[test]
fn untrusted_or_symlinked_homes_are_hidden_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(home.join("sessions")).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let HomeScan::Hidden(reason) = scan_home(&home, Activity::Found) else {
        panic!("a world-writable Home must be hidden")
    };
    assert_eq!(reason.code(), "untrusted");
    assert!(
        reason.describe().contains("chmod go-w"),
        "{}",
        reason.describe()
    );
    assert!(matches!(occupancy(&home), Occupancy::Unreadable(_)));

    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_dir(home.join("sessions")).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, home.join("sessions")).unwrap();
    let HomeScan::Hidden(reason) = scan_home(&home, Activity::Found) else {
        panic!("a symlinked sessions/ must be hidden")
    };
    assert_eq!(reason.code(), "untrusted");
    assert!(reason.describe().contains("symlink"));
}

/// The one scan `home list` and gc share: entries in name order with the
/// listing's idea of their type, nothing followed, and the same refusals
/// for a Home that cannot be trusted.
#[test]
fn the_shared_scan_lists_entries_in_name_order_without_following_anything() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    session(&home, &id(2), "exited");
    session(&home, &id(1), "running");
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, home.join("sessions").join(id(0))).unwrap();
    std::fs::write(home.join("sessions").join("stray"), "").unwrap();

    let scanned = open_home_sessions(&home).unwrap().unwrap();
    let names: Vec<_> = scanned.entries.iter().map(|e| e.name.clone()).collect();
    assert_eq!(
        names,
        [id(0), id(1), id(2), "stray".into()].map(OsString::from)
    );
    // The symlink and the file are not directories (tmpfs and ext4 both
    // say so in the listing); the Sessions are.
    let dirs: Vec<_> = scanned.entries.iter().map(|e| e.listed_dir).collect();
    assert!(
        matches!(
            dirs[..],
            [
                Some(false) | None,
                Some(true) | None,
                Some(true) | None,
                Some(false) | None
            ]
        ),
        "{dirs:?}"
    );
    // The symlinked entry is neither counted nor followed.
    assert_eq!(
        scan_home(&home, Activity::Found),
        HomeScan::Visible(SessionCounts {
            active: 1,
            total: 2,
            last_activity: None
        })
    );

    assert!(
        open_home_sessions(&tmp.path().join("gone")).unwrap_err() == HiddenReason::DirectoryMissing
    );
    std::fs::set_permissions(
        home.join("sessions"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let HiddenReason::Untrusted(why) = open_home_sessions(&home).unwrap_err() else {
        panic!("a world-writable sessions/ is refused");
    };
    assert!(why.contains("chmod go-w"), "{why}");
}
