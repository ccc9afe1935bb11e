//! `home list [--all] [--verbose]` and the `registry.homes` capability.

use agent_tty_core::home_scan::{list_homes, Activity, HomeListing, Scope};
use agent_tty_core::registry::HomeRegistry;
use agent_tty_core::text::{counted, plural, Align, Table};
use agent_tty_core::time::relative_age;
use agent_tty_plugin_api::{CommandContext, CommandOutput};
use serde_json::Value;
use std::fmt::Write;
use std::time::SystemTime;

fn scope(all: bool) -> Scope {
    if all {
        Scope::All
    } else {
        Scope::Active
    }
}

/// The `home list --json` result (what the dashboard's picker receives).
pub fn result(registry: &HomeRegistry, all: bool) -> Value {
    list_homes(registry, scope(all), Activity::Skipped).to_json(false)
}

/// Runs `home list` (the table for people only without `--json`).
pub fn run(
    registry: &HomeRegistry,
    all: bool,
    verbose: bool,
    context: &CommandContext,
) -> CommandOutput {
    // Only the table and `--verbose` rows show the last activity.
    let activity = if verbose || !context.json {
        Activity::Found
    } else {
        Activity::Skipped
    };
    let listing = list_homes(registry, scope(all), activity);
    // The rows go to the host as JSON text, never as a `Value` tree (ADR 0023).
    let mut out = CommandOutput::for_context(context, Value::Null, || {
        render(&listing, all, verbose, SystemTime::now())
    })
    .with_result_json(listing.to_json_text(verbose));
    // A script reading `--json` must be able to tell "no Homes" from "the
    // registry could not be read".
    out.warnings.extend(listing.problem.clone());
    out.with_warnings_in_result()
}

/// The human output: an aligned table with relative ages, then (verbose)
/// the hidden Homes and why, or a sentence saying why there is nothing.
pub fn render(listing: &HomeListing, all: bool, verbose: bool, now: SystemTime) -> String {
    let mut text = String::new();
    if listing.homes.is_empty() {
        text.push_str(&nothing_listed(listing, all, verbose));
    } else {
        text.push_str(&table(listing, now));
        if !all && listing.out_of_scope > 0 {
            let _ = writeln!(
                text,
                "\n{} more Home{} whose Sessions have all ended: agent-tty home list --all",
                listing.out_of_scope,
                plural(listing.out_of_scope)
            );
        }
    }
    if verbose && !listing.hidden.is_empty() {
        let _ = writeln!(text, "\nHidden (registered, but no visible Session):");
        let mut hidden = Table::new([Align::Left, Align::Left]).indent("  ");
        for h in &listing.hidden {
            hidden.row([h.entry.path.as_str(), &h.reason.describe()]);
        }
        text.push_str(&hidden.render());
    }
    text
}

fn nothing_listed(listing: &HomeListing, all: bool, verbose: bool) -> String {
    let hidden = listing.hidden.len();
    if listing.out_of_scope == 0 && hidden == 0 {
        return "No registered Homes. A Home is registered when a Session is created in it.\n"
            .into();
    }
    let mut text = String::new();
    if !all && listing.out_of_scope > 0 {
        let _ = writeln!(
            text,
            "No Home has Active Sessions. {} whose Sessions have all ended: \
             agent-tty home list --all",
            counted(listing.out_of_scope, "Home")
        );
    } else {
        let _ = writeln!(text, "No registered Home has visible Sessions.");
    }
    if hidden > 0 && !verbose {
        let _ = writeln!(
            text,
            "{hidden} registered Home{} hidden; agent-tty home list --all --verbose says why.",
            if hidden == 1 { " is" } else { "s are" }
        );
    }
    text
}

fn table(listing: &HomeListing, now: SystemTime) -> String {
    use Align::{Left, Right};
    let mut table = Table::new([Left, Right, Right, Left, Left]);
    table.row(["Home", "Active", "Total", "Last seen", "Last activity"]);
    for h in &listing.homes {
        table.row([
            h.entry.path.clone(),
            h.counts.active.to_string(),
            h.counts.total.to_string(),
            relative_age(h.entry.last_seen(), now),
            h.counts
                .last_activity
                .map_or_else(|| "-".to_owned(), |t| relative_age(t, now)),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_core::home_scan::{HiddenHome, HiddenReason, ListedHome, SessionCounts};
    use agent_tty_core::registry::HomeEntry;
    use agent_tty_core::time::parse_iso;
    use std::time::Duration;

    fn listed(path: &str, seen: &str, active: usize, total: usize) -> ListedHome {
        ListedHome {
            entry: HomeEntry {
                path: path.into(),
                last_seen_at: seen.into(),
            },
            counts: SessionCounts {
                active,
                total,
                last_activity: parse_iso(seen).map(|t| t + Duration::from_secs(30)),
            },
        }
    }

    #[test]
    fn rows_are_aligned_with_relative_ages() {
        let now = parse_iso("2026-11-24T04:00:00.000Z").unwrap();
        let listing = HomeListing {
            homes: vec![
                listed("/work/project", "2026-11-24T03:57:00.000Z", 1, 12),
                listed("/tmp/h", "2026-11-22T04:00:00.000Z", 0, 3),
            ],
            ..Default::default()
        };
        assert_eq!(
            render(&listing, true, false, now),
            "Home           Active  Total  Last seen  Last activity\n\
             /work/project       1     12  3m ago     2m ago\n\
             /tmp/h              0      3  2d ago     1d ago\n"
        );
    }

    /// The whole human output, pinned: wide characters keep the columns
    /// aligned, hostile paths are escaped, hidden Homes are explained.
    #[test]
    fn human_output_with_wide_and_hostile_paths() {
        let now = parse_iso("2026-11-24T04:00:00.000Z").unwrap();
        let listing = HomeListing {
            homes: vec![
                listed("/home/ana/文档/项目", "2026-11-24T03:57:00.000Z", 2, 2),
                listed("/tmp/\x1b]0;pwned\x07h", "2026-11-20T04:00:00.000Z", 0, 140),
                listed("/srv/ci", "2026-11-24T03:59:50.000Z", 10, 10),
            ],
            hidden: vec![
                HiddenHome {
                    entry: HomeEntry {
                        path: "/tmp/gone".into(),
                        last_seen_at: "2026-11-24T03:57:00.000Z".into(),
                    },
                    reason: HiddenReason::DirectoryMissing,
                },
                HiddenHome {
                    entry: HomeEntry {
                        path: "/mnt/usb/\u{202e}txt.exe".into(),
                        last_seen_at: "2026-11-24T03:57:00.000Z".into(),
                    },
                    reason: HiddenReason::DirectoryMissing,
                },
            ],
            out_of_scope: 1,
            ..Default::default()
        };
        let text = render(&listing, false, true, now);
        assert!(text.lines().all(|l| l == l.trim_end()), "{text:?}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn an_empty_registry_says_so() {
        let text = render(&HomeListing::default(), false, false, SystemTime::now());
        assert!(text.starts_with("No registered Homes."), "{text}");
    }

    #[test]
    fn hidden_and_out_of_scope_homes_are_explained() {
        let listing = HomeListing {
            hidden: vec![HiddenHome {
                entry: HomeEntry {
                    path: "/tmp/gone".into(),
                    last_seen_at: "2026-11-24T03:57:00.000Z".into(),
                },
                reason: HiddenReason::DirectoryMissing,
            }],
            out_of_scope: 2,
            ..Default::default()
        };
        let quiet = render(&listing, false, false, SystemTime::now());
        assert!(
            quiet.contains("2 Homes whose Sessions have all ended"),
            "{quiet}"
        );
        assert!(quiet.contains("1 registered Home is hidden"), "{quiet}");
        let verbose = render(&listing, false, true, SystemTime::now());
        assert!(
            verbose.contains("/tmp/gone  the Home directory no longer exists"),
            "{verbose}"
        );
    }

    #[test]
    fn the_capability_answers_exactly_the_json_result_of_home_list() {
        let tmp = tempfile::tempdir().unwrap();
        let registry = HomeRegistry::new(tmp.path().join("homes.json"));
        let home = tmp.path().join("home");
        let session = home.join("sessions").join("01JD3Z6X8K4M2N5P7Q9R1S3T5V");
        std::fs::create_dir_all(&session).unwrap();
        std::fs::write(
            session.join("session.json"),
            r#"{"version": 1, "sessionId": "01JD3Z6X8K4M2N5P7Q9R1S3T5V",
                "createdAt": "2026-11-24T03:50:02.677Z", "updatedAt": "2026-11-24T03:50:02.677Z",
                "status": "exited", "command": ["true"], "cwd": "/", "cols": 80, "rows": 24,
                "hostPid": null, "childPid": null, "exitCode": 0, "exitSignal": null}"#,
        )
        .unwrap();
        registry.register(&home).unwrap();
        for all in [false, true] {
            let output = run(
                &registry,
                all,
                false,
                &CommandContext {
                    json: true,
                    ..Default::default()
                },
            );
            assert_eq!(
                result(&registry, all),
                output.into_value().unwrap()["result"]
            );
        }
        assert_eq!(
            result(&registry, true)["homes"].as_array().unwrap().len(),
            1
        );
        assert_eq!(
            result(&registry, false)["homes"].as_array().unwrap().len(),
            0
        );
    }
}
