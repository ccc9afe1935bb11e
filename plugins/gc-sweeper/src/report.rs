//! `gc`'s JSON result (docs/CONTRACT.md §3.5) and its summary for people.

use crate::sweep::HomeSweep;
use agent_tty_core::text::{counted, escape};
use serde_json::{json, Value};
use std::fmt::Write;

/// `{"dryRun", "homes": [...], "removedSessionCount", "totalBytesFreed",
/// "deregisteredHomes"}`.
pub fn result(sweeps: &[HomeSweep], dry_run: bool) -> Value {
    let homes: Vec<Value> = sweeps
        .iter()
        .map(|s| {
            json!({
                "home": s.home,
                "existed": s.existed,
                "removedSessions": s.removed,
                "skippedSessions": s.skipped.iter().map(|k| json!({
                    "sessionId": k.session_id,
                    "reason": k.reason,
                })).collect::<Vec<_>>(),
                "totalBytesFreed": s.bytes_freed,
                "deregistered": s.deregistered,
            })
        })
        .collect();
    json!({
        "dryRun": dry_run,
        "homes": homes,
        "removedSessionCount": sweeps.iter().map(|s| s.removed.len()).sum::<usize>(),
        "totalBytesFreed": sweeps.iter().map(|s| s.bytes_freed).sum::<u64>(),
        "deregisteredHomes": sweeps.iter().filter(|s| s.deregistered).map(|s| &s.home).collect::<Vec<_>>(),
    })
}

/// One block per Home where something happened (or would), then a total;
/// "Nothing to collect." when nothing did.
pub fn human(sweeps: &[HomeSweep], dry_run: bool) -> String {
    let (remove, deregister) = if dry_run {
        ("Would remove", "Would deregister this Home")
    } else {
        ("Removed", "Deregistered this Home")
    };
    let mut text = String::new();
    for s in sweeps.iter().filter(|s| s.had_activity()) {
        let _ = writeln!(text, "Home {}", escape(&s.home));
        if !s.removed.is_empty() {
            let _ = writeln!(
                text,
                "  {remove} {} ({}): {}",
                counted(s.removed.len(), "Session"),
                bytes(s.bytes_freed),
                escape(&s.removed.join(", "))
            );
        }
        for skip in s.skipped.iter().filter(|k| !k.routine) {
            if skip.session_id.is_empty() {
                let _ = writeln!(text, "  Skipped: {}", escape(&skip.reason));
            } else {
                let _ = writeln!(
                    text,
                    "  Skipped {}: {}",
                    escape(&skip.session_id),
                    escape(&skip.reason)
                );
            }
        }
        if s.deregistered {
            let why = if s.existed {
                "no Sessions left; the directory stays"
            } else {
                "its directory is gone"
            };
            let _ = writeln!(text, "  {deregister} from the Home Registry ({why})");
        }
    }
    if text.is_empty() {
        return if dry_run {
            "Nothing to collect. (dry run)\n".into()
        } else {
            "Nothing to collect.\n".into()
        };
    }
    let removed: usize = sweeps.iter().map(|s| s.removed.len()).sum();
    let freed: u64 = sweeps.iter().map(|s| s.bytes_freed).sum();
    let deregistered = sweeps.iter().filter(|s| s.deregistered).count();
    let _ = writeln!(
        text,
        "{}: {} {}, {} freed, {} deregistered{}",
        if dry_run { "Dry run" } else { "Total" },
        counted(removed, "Session"),
        if dry_run {
            "would be removed"
        } else {
            "removed"
        },
        bytes(freed),
        counted(deregistered, "Home"),
        if dry_run { "; nothing was changed" } else { "" },
    );
    text
}

fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Skip;

    fn sweep(home: &str) -> HomeSweep {
        HomeSweep {
            home: home.into(),
            existed: true,
            remaining: Some(0),
            ..Default::default()
        }
    }

    #[test]
    fn nothing_to_collect_when_no_home_had_activity() {
        let mut quiet = sweep("/h");
        quiet.skipped.push(Skip {
            session_id: "01JD3Z6X8K4M2N5P7Q9R1S3T5V".into(),
            reason: "running: not Collectable".into(),
            routine: true,
            removal_failed: false,
        });
        assert_eq!(human(&[quiet], false), "Nothing to collect.\n");
    }

    #[test]
    fn a_block_per_active_home_and_a_total() {
        let mut a = sweep("/a");
        a.removed = vec!["01A".into(), "01B".into()];
        a.bytes_freed = 2048;
        let mut b = sweep("/b");
        b.existed = false;
        b.deregistered = true;
        let text = human(&[a, sweep("/quiet"), b], true);
        assert_eq!(
            text,
            "Home /a\n  Would remove 2 Sessions (2.0 KiB): 01A, 01B\n\
             Home /b\n  Would deregister this Home from the Home Registry (its directory is gone)\n\
             Dry run: 2 Sessions would be removed, 2.0 KiB freed, 1 Home deregistered; nothing was changed\n"
        );
    }

    #[test]
    fn the_result_has_the_contract_shape() {
        let mut a = sweep("/a");
        a.removed = vec!["01A".into()];
        a.bytes_freed = 10;
        a.deregistered = true;
        let v = result(&[a], false);
        assert_eq!(
            v,
            json!({
                "dryRun": false,
                "homes": [{
                    "home": "/a", "existed": true, "removedSessions": ["01A"],
                    "skippedSessions": [], "totalBytesFreed": 10, "deregistered": true
                }],
                "removedSessionCount": 1,
                "totalBytesFreed": 10,
                "deregisteredHomes": ["/a"],
            })
        );
    }
}
