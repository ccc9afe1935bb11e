//! What one Home or one Event Log can cost the dashboard (ADR 0015): the
//! overview follows only the tiles it shows, and the Live View worker
//! replays a big log in steps, looking at its commands between them.

use agent_tty_core::event_log::{EventBody, EventLogWriter};
use agent_tty_core::manifest::{write_manifest, Manifest, Status};
use agent_tty_dashboard::app::{App, Effect, Msg, Options};
use agent_tty_dashboard::live::{
    follow_worker, FollowPlan, FollowTarget, LiveCommand, LiveSnapshot, REPLAY_STEP,
};
use agent_tty_dashboard::session::SessionRow;
use agent_tty_plugin_api::{KeyCode, KeyEvent};
use std::sync::mpsc;
use std::time::SystemTime;

/// `n` Session rows with valid, distinct ids.
fn rows(n: usize) -> Vec<SessionRow> {
    (0..n)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "sessionId": format!("01JD{i:022}"),
                "status": "running",
                "command": ["sh"],
                "createdAt": "2026-11-24T03:50:00.000Z",
            }))
            .unwrap()
        })
        .collect()
}

/// The tiles of the last follow plan among `effects`.
fn planned_tiles(effects: &[Effect]) -> Option<Vec<String>> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Live(LiveCommand::Follow(plan)) => {
            Some(plan.tiles.iter().map(|t| t.session_id.clone()).collect())
        }
        _ => None,
    })
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::plain(code)))
}

#[test]
fn the_overview_of_100000_sessions_follows_only_the_tiles_it_shows() {
    let mut app = App::new(
        Options {
            home: "/tmp/agent-tty-bounds-home".into(),
            session: None,
            all: false,
        },
        Vec::new(),
        (80, 24),
        SystemTime::now(),
    );
    let listing = rows(100_000);
    app.update(Msg::Listed {
        home: "/tmp/agent-tty-bounds-home".into(),
        all: false,
        result: Ok(listing.clone()),
    });
    let tiles = planned_tiles(&key(&mut app, KeyCode::Char('z'))).expect("a plan");
    let shown = app.state.visible_tiles();
    assert!(
        shown.len() <= 16 && !shown.is_empty(),
        "{shown:?} tiles visible"
    );
    assert!(tiles.len() <= shown.len(), "{} tiles followed", tiles.len());
    assert!(tiles
        .iter()
        .all(|id| { listing[shown.clone()].iter().any(|r| &r.session_id == id) }));
    // Moving down past the last visible row scrolls the grid: the plan
    // follows the tiles now shown, still only a screenful.
    let mut last = None;
    for _ in 0..50 {
        if let Some(t) = planned_tiles(&key(&mut app, KeyCode::Down)) {
            last = Some(t);
        }
    }
    let tiles = last.expect("the grid scrolled");
    let selected = &listing[app.state.tile].session_id;
    assert!(
        tiles.contains(selected),
        "the selected tile is not followed"
    );
    assert!(tiles.len() <= shown.len());
}

#[test]
fn a_big_replay_is_done_in_steps_and_a_stop_between_them_is_obeyed() {
    let tmp = tempfile::tempdir().unwrap();
    let id = "01JD0000000000000000000001";
    let dir = tmp.path().join("sessions").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let mut manifest: Manifest = serde_json::from_value(serde_json::json!({
        "version": 1, "sessionId": id, "createdAt": "2026-11-24T03:50:00.000Z",
        "updatedAt": "2026-11-24T03:50:00.000Z", "status": "running",
        "command": ["sh"], "cwd": "/", "cols": 40, "rows": 5
    }))
    .unwrap();
    manifest.status = Status::Running;
    write_manifest(&dir, &manifest).unwrap();
    let mut log = EventLogWriter::open(&dir).unwrap();
    let line = "x".repeat(39) + "\r\n";
    let chunk = line.repeat(64 * 1024 / line.len());
    // Many steps' worth of output, then a last line.
    let mut written = 0;
    while written < REPLAY_STEP * 6 {
        log.append(EventBody::Output {
            data: chunk.clone(),
        })
        .unwrap();
        written += chunk.len() as u64;
    }
    log.append(EventBody::Output {
        data: "THE END".into(),
    })
    .unwrap();

    let (commands, inbox) = mpsc::channel();
    let stop = commands.clone();
    commands
        .send(LiveCommand::Follow(FollowPlan {
            main: Some(FollowTarget {
                session_id: id.into(),
                session_dir: dir.clone(),
            }),
            tiles: Vec::new(),
        }))
        .unwrap();
    let published = std::sync::Mutex::new(Vec::<LiveSnapshot>::new());
    // The first picture asks the worker to stop: it must come, and be
    // obeyed, before the whole log is replayed.
    follow_worker(
        inbox,
        commands,
        |snapshot| {
            published.lock().unwrap().push(snapshot);
            let _ = stop.send(LiveCommand::Stop);
        },
        |_| {},
    );
    let published = published.into_inner().unwrap();
    let first = published.first().expect("a picture before the end");
    let text: String = first.screen.content().iter().map(|c| c.symbol()).collect();
    assert!(text.contains('x'), "nothing replayed yet: {text:?}");
    assert!(
        !text.contains("THE END"),
        "the whole log was replayed before the worker looked at its commands"
    );
}
