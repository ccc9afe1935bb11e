//! The key table: one list that both dispatches keys and writes the footer.
//!
//! Every binding carries the keys that trigger it, the words shown in the
//! footer, and the situations in which it applies. [`KeyTable::action`] and
//! [`KeyTable::hints`] read the same rows, so a key cannot work without being
//! advertised, and a hint cannot outlive its key (the gitui `commands()`
//! idea). Panes from plugins add rows at start-up from what they declare.

use crate::host::PaneInfo;
use agent_tty_plugin_api::{KeyCode, KeyEvent};

/// What a key asks the dashboard to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the dashboard.
    Quit,
    /// Show the help overlay.
    Help,
    /// Close the help overlay.
    CloseHelp,
    /// Move focus between the Session list and the Live View.
    FocusNext,
    /// Maximise the Live View.
    Maximise,
    /// Leave the maximised Live View.
    Restore,
    /// Switch between Active Sessions (and Homes) and all of them.
    ToggleScope,
    /// Select the previous Session.
    SelectPrevious,
    /// Select the next Session.
    SelectNext,
    /// Pan the Live View by (columns, rows).
    Pan(i8, i8),
    /// Page through the Live View's history (positive: back, older).
    HistoryPage(i8),
    /// Back to the live screen.
    ToLive,
    /// Show every Session as a tile, or go back from there.
    ToggleOverview,
    /// Move the tile selection by (columns, rows) of tiles.
    MoveTile(i8, i8),
    /// Open the selected tile's Session in the Live View.
    OpenTile,
    /// Open the Home picker.
    OpenHomePicker,
    /// Open the plugin pane at this index of the dashboard's pane list.
    OpenPane(usize),
    /// Take the selected Session over in this terminal (`attach`), after
    /// asking.
    Attach,
}

/// Which view is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The Session list and the Live View.
    Main,
    /// The Live View alone.
    Maximised,
    /// Every Session as a tile.
    Overview,
    /// The help overlay.
    Help,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Everywhere, the help overlay included.
    Always,
    /// Everywhere but the help overlay.
    NotHelp,
    /// The main view (list and Live View side by side or stacked).
    Main,
    /// The Session list has focus in the main view.
    SessionsFocused,
    /// The Live View has focus or is maximised.
    LiveFocused,
    /// The Live View is on screen (main view or maximised).
    LiveShown,
    /// The Live View is on screen and paused in history.
    Paused,
    /// The Live View is maximised.
    Maximised,
    /// The overview.
    Overview,
    /// The help overlay.
    InHelp,
}

/// The parts of the dashboard's state a binding depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyContext {
    /// The view that is up.
    pub view: View,
    /// The Live View has focus (in the main view).
    pub live_focused: bool,
    /// The Live View shows history rather than the live screen.
    pub paused: bool,
}

impl When {
    fn applies(self, cx: KeyContext) -> bool {
        let live_shown = matches!(cx.view, View::Main | View::Maximised);
        match self {
            When::Always => true,
            When::NotHelp => cx.view != View::Help,
            When::Main => cx.view == View::Main,
            When::SessionsFocused => cx.view == View::Main && !cx.live_focused,
            When::LiveFocused => {
                (cx.view == View::Main && cx.live_focused) || cx.view == View::Maximised
            }
            When::LiveShown => live_shown,
            When::Paused => live_shown && cx.paused,
            When::Maximised => cx.view == View::Maximised,
            When::Overview => cx.view == View::Overview,
            When::InHelp => cx.view == View::Help,
        }
    }

    /// How the help overlay titles the bindings of this situation.
    pub fn describe(self) -> &'static str {
        match self {
            When::Always => "everywhere",
            When::NotHelp => "in every view",
            When::Main => "main view",
            When::SessionsFocused => "Session list",
            When::LiveFocused => "Live View, focused or maximised",
            When::LiveShown => "Live View",
            When::Paused => "Live View history",
            When::Maximised => "maximised Live View",
            When::Overview => "overview",
            When::InHelp => "this help",
        }
    }
}

/// One row of the key table.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The keys that trigger it.
    pub keys: Vec<KeyEvent>,
    /// How the footer names the keys, e.g. `j/k`.
    pub label: String,
    /// What the footer says it does, e.g. `select`.
    pub hint: String,
    /// What the help overlay names as its trigger besides the keys (the
    /// mouse wheel), empty for none.
    pub also: String,
    /// What it does.
    pub action: Action,
    /// Where it applies.
    pub when: When,
    /// How much the footer needs it: when hints do not all fit, the highest
    /// ranks are dropped first (0: never dropped unless nothing else fits).
    pub rank: u8,
}

fn ch(c: char) -> KeyEvent {
    KeyEvent::plain(KeyCode::Char(c))
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::plain(code)
}

fn row(
    keys: Vec<KeyEvent>,
    label: &str,
    hint: &str,
    action: Action,
    when: When,
    rank: u8,
) -> Binding {
    Binding {
        keys,
        label: label.to_owned(),
        hint: hint.to_owned(),
        also: String::new(),
        action,
        when,
        rank,
    }
}

/// How the help overlay names a key: `q`, `Ctrl-C`, `Esc`, `PgUp`, `←`.
pub fn key_name(key: &KeyEvent) -> String {
    let name = match &key.code {
        KeyCode::Char(' ') => "Space".to_owned(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        other => format!("{other:?}"),
    };
    match (key.ctrl, key.alt) {
        (true, _) => format!("Ctrl-{}", name.to_uppercase()),
        (_, true) => format!("Alt-{name}"),
        _ => name,
    }
}

/// The four arrow rows (with their vi keys) of a move in a direction: only
/// the first carries the label, so the footer folds them into one hint.
fn arrows(hint: &str, action: fn(i8, i8) -> Action, when: When) -> [Binding; 4] {
    use KeyCode::{Down, Left, Right, Up};
    [
        row(
            vec![key(Left), ch('h')],
            "←↓↑→",
            hint,
            action(-1, 0),
            when,
            MOVE,
        ),
        row(vec![key(Right), ch('l')], "", "", action(1, 0), when, MOVE),
        row(vec![key(Up), ch('k')], "", "", action(0, -1), when, MOVE),
        row(vec![key(Down), ch('j')], "", "", action(0, 1), when, MOVE),
    ]
}

/// Ranks of the footer hints: how to leave, then how to move, then how to
/// change the layout, then the scope and the Home picker, then plugin panes.
const ESSENTIAL: u8 = 0;
const MOVE: u8 = 1;
const LAYOUT: u8 = 2;
const SCOPE: u8 = 3;
const PANES: u8 = 4;
/// Dropped first from a narrow footer: attaching is rare, and help lists it.
const RARE: u8 = 5;

/// The dashboard's bindings, built-in ones first, then plugin panes.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyTable {
    bindings: Vec<Binding>,
}

impl KeyTable {
    /// The built-in bindings plus one per plugin pane that declares a key not
    /// already taken (a pane whose key collides is left out rather than
    /// shadowing a built-in key).
    pub fn new(panes: &[PaneInfo]) -> Self {
        use Action::*;
        use KeyCode::{Down, End, Enter, Esc, PageDown, PageUp, Tab, Up};
        use When::*;
        let mut bindings = vec![
            // Ctrl-C quits from everywhere, a plugin pane included.
            row(
                vec![
                    ch('q'),
                    KeyEvent {
                        ctrl: true,
                        ..ch('c')
                    },
                ],
                "q",
                "quit",
                Quit,
                Always,
                ESSENTIAL,
            ),
            row(
                vec![key(Esc), ch('?')],
                "Esc",
                "close help",
                CloseHelp,
                InHelp,
                ESSENTIAL,
            ),
            row(vec![ch('?')], "?", "help", Help, NotHelp, ESSENTIAL),
            row(
                vec![key(Esc), key(Enter)],
                "Esc",
                "restore",
                Restore,
                Maximised,
                MOVE,
            ),
            row(vec![key(Tab)], "Tab", "focus", FocusNext, Main, LAYOUT),
            row(
                vec![key(Enter)],
                "Enter",
                "maximise",
                Maximise,
                Main,
                LAYOUT,
            ),
            row(
                vec![ch('j'), key(Down)],
                "j/k",
                "select",
                SelectNext,
                SessionsFocused,
                MOVE,
            ),
            row(
                vec![ch('k'), key(Up)],
                "",
                "",
                SelectPrevious,
                SessionsFocused,
                MOVE,
            ),
        ];
        bindings.extend(arrows("pan", Pan, LiveFocused));
        bindings.extend([
            row(
                vec![key(PageUp)],
                "PgUp/PgDn",
                "history",
                HistoryPage(1),
                LiveShown,
                LAYOUT,
            ),
            row(
                vec![key(PageDown)],
                "",
                "",
                HistoryPage(-1),
                LiveShown,
                LAYOUT,
            ),
            row(vec![ch('G'), key(End)], "G", "live", ToLive, Paused, MOVE),
        ]);
        // The wheel scrolls the history (the runtime turns it into
        // `Msg::Wheel`): listed for the help overlay, no key of its own.
        bindings.push(Binding {
            also: "wheel".into(),
            ..row(
                Vec::new(),
                "",
                "scroll history",
                HistoryPage(0),
                LiveShown,
                LAYOUT,
            )
        });
        bindings.extend(arrows("move", MoveTile, Overview));
        bindings.extend([
            row(vec![key(Enter)], "Enter", "open", OpenTile, Overview, MOVE),
            row(
                vec![ch('z'), key(Esc)],
                "z",
                "back",
                ToggleOverview,
                Overview,
                LAYOUT,
            ),
            row(
                vec![ch('z')],
                "z",
                "overview",
                ToggleOverview,
                LiveShown,
                LAYOUT,
            ),
            row(
                vec![ch('a')],
                "a",
                "active/all",
                ToggleScope,
                NotHelp,
                SCOPE,
            ),
            row(vec![ch('H')], "H", "Homes", OpenHomePicker, NotHelp, SCOPE),
            row(vec![ch('A')], "A", "attach", Attach, NotHelp, RARE),
        ]);
        for (index, pane) in panes.iter().enumerate() {
            if pane.is_home_picker() {
                continue;
            }
            let Some(c) = pane.spec.key else { continue };
            let taken = bindings.iter().any(|b| b.keys.contains(&ch(c)));
            if !taken {
                bindings.push(row(
                    vec![ch(c)],
                    &c.to_string(),
                    &pane.spec.title,
                    OpenPane(index),
                    NotHelp,
                    PANES,
                ));
            }
        }
        KeyTable { bindings }
    }

    /// Every binding, in table order (the help overlay lists them all).
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The action a key triggers here, if any. Ctrl-C always quits, so a
    /// person can leave even when a plugin pane holds the keyboard.
    pub fn action(&self, key: &KeyEvent, cx: KeyContext) -> Option<Action> {
        self.bindings
            .iter()
            .find(|b| b.when.applies(cx) && b.keys.contains(key))
            .map(|b| b.action)
    }

    /// The footer hints that apply here, as `(keys, what)` pairs. Rows with an
    /// empty label are folded into the labelled row above them (`j/k select`).
    pub fn hints(&self, cx: KeyContext) -> Vec<(&str, &str)> {
        self.bindings
            .iter()
            .filter(|b| b.when.applies(cx) && !b.label.is_empty())
            .map(|b| (b.label.as_str(), b.hint.as_str()))
            .collect()
    }

    /// The help overlay's lines: every binding with every key that
    /// triggers it (`G/End`, `q/Ctrl-C`, `←/h →/l ↑/k ↓/j`, the wheel),
    /// grouped under the situation it applies in, in table order. A row
    /// without words of its own (the other direction of a move) joins the
    /// row above it. The same rows the keys are dispatched from, so help
    /// cannot leave a key out or describe one that does nothing.
    pub fn help_lines(&self) -> Vec<(String, Vec<(String, String)>)> {
        let mut groups: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for b in &self.bindings {
            let mut names: Vec<String> = b.keys.iter().map(key_name).collect();
            if !b.also.is_empty() {
                names.push(b.also.clone());
            }
            let keys = names.join("/");
            let title = b.when.describe().to_owned();
            let group = match groups.iter_mut().find(|(t, _)| *t == title) {
                Some((_, rows)) => rows,
                None => {
                    groups.push((title, Vec::new()));
                    &mut groups.last_mut().expect("just pushed").1
                }
            };
            match group.last_mut() {
                Some((last, _)) if b.hint.is_empty() => {
                    last.push(' ');
                    last.push_str(&keys);
                }
                _ => group.push((keys, b.hint.clone())),
            }
        }
        groups
    }

    /// The hints that fit in `room` columns when each takes `width(keys,
    /// what)`, in table order. Whole hints are dropped, highest rank first
    /// and the last of a rank first, so a narrow footer loses plugin panes
    /// before it loses how to move or quit, and never cuts a hint in half.
    pub fn fitting_hints(
        &self,
        cx: KeyContext,
        room: usize,
        width: impl Fn(&str, &str) -> usize,
    ) -> Vec<(&str, &str)> {
        let mut hints: Vec<(&Binding, usize)> = self
            .bindings
            .iter()
            .filter(|b| b.when.applies(cx) && !b.label.is_empty())
            .map(|b| (b, width(&b.label, &b.hint)))
            .collect();
        let mut used: usize = hints.iter().map(|(_, w)| w).sum();
        while used > room {
            let Some(drop) = (0..hints.len()).max_by_key(|&i| (hints[i].0.rank, i)) else {
                break;
            };
            used -= hints.remove(drop).1;
        }
        hints
            .into_iter()
            .map(|(b, _)| (b.label.as_str(), b.hint.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_plugin_api::PaneSpec;
    use rstest::rstest;

    const LIST: KeyContext = KeyContext {
        view: View::Main,
        live_focused: false,
        paused: false,
    };
    const LIVE: KeyContext = KeyContext {
        view: View::Main,
        live_focused: true,
        paused: false,
    };
    const MAX: KeyContext = KeyContext {
        view: View::Maximised,
        live_focused: false,
        paused: false,
    };
    const OVERVIEW: KeyContext = KeyContext {
        view: View::Overview,
        live_focused: false,
        paused: false,
    };
    const HELP: KeyContext = KeyContext {
        view: View::Help,
        live_focused: false,
        paused: false,
    };
    const PAUSED: KeyContext = KeyContext {
        view: View::Main,
        live_focused: true,
        paused: true,
    };

    fn pane(name: &str, key: char, role: Option<&str>) -> PaneInfo {
        PaneInfo {
            plugin: format!("{name}-plugin"),
            spec: PaneSpec {
                name: name.into(),
                title: name.to_uppercase(),
                key: Some(key),
                role: role.map(str::to_owned),
            },
        }
    }

    #[rstest]
    #[case(ch('q'), LIST, Some(Action::Quit))]
    #[case(ch('j'), LIST, Some(Action::SelectNext))]
    #[case(key(KeyCode::Up), LIST, Some(Action::SelectPrevious))]
    #[case(ch('j'), LIVE, Some(Action::Pan(0, 1)))]
    #[case(key(KeyCode::Left), MAX, Some(Action::Pan(-1, 0)))]
    #[case(key(KeyCode::Esc), LIST, None)]
    #[case(key(KeyCode::Esc), MAX, Some(Action::Restore))]
    #[case(key(KeyCode::Enter), MAX, Some(Action::Restore))]
    #[case(key(KeyCode::Enter), LIST, Some(Action::Maximise))]
    #[case(key(KeyCode::Enter), OVERVIEW, Some(Action::OpenTile))]
    #[case(ch('j'), OVERVIEW, Some(Action::MoveTile(0, 1)))]
    #[case(ch('z'), LIST, Some(Action::ToggleOverview))]
    #[case(key(KeyCode::Esc), OVERVIEW, Some(Action::ToggleOverview))]
    #[case(key(KeyCode::PageUp), LIST, Some(Action::HistoryPage(1)))]
    #[case(ch('G'), LIVE, None)]
    #[case(key(KeyCode::End), PAUSED, Some(Action::ToLive))]
    #[case(ch('q'), HELP, Some(Action::Quit))]
    #[case(ch('?'), LIST, Some(Action::Help))]
    #[case(ch('?'), HELP, Some(Action::CloseHelp))]
    #[case(ch('a'), HELP, None)]
    #[case(ch('H'), LIVE, Some(Action::OpenHomePicker))]
    #[case(ch('E'), LIST, Some(Action::OpenPane(1)))]
    #[case(ch('x'), LIST, None)]
    #[case(KeyEvent { code: KeyCode::Char('c'), ctrl: true, alt: false }, LIVE, Some(Action::Quit))]
    fn keys_map_to_actions(
        #[case] k: KeyEvent,
        #[case] cx: KeyContext,
        #[case] expected: Option<Action>,
    ) {
        let table = KeyTable::new(&[
            pane("picker", 'H', Some("home-picker")),
            pane("hello", 'E', None),
        ]);
        assert_eq!(table.action(&k, cx), expected);
    }

    #[test]
    fn every_hinted_binding_is_reachable_and_every_pane_is_hinted() {
        let table = KeyTable::new(&[pane("hello", 'E', None)]);
        for cx in [LIST, LIVE, MAX, OVERVIEW, HELP, PAUSED] {
            let hints = table.hints(cx);
            for b in table.bindings.iter().filter(|b| b.when.applies(cx)) {
                if !b.label.is_empty() {
                    assert!(hints.contains(&(b.label.as_str(), b.hint.as_str())));
                }
                // The wheel's row has no key: the runtime sends its notches.
                assert!(
                    b.keys.is_empty()
                        || b.keys.iter().any(|k| table.action(k, cx) == Some(b.action)),
                    "{:?} is shadowed in {cx:?}",
                    b.action
                );
            }
        }
        assert!(table.hints(LIST).contains(&("E", "HELLO")));
    }

    #[test]
    fn a_pane_key_that_collides_with_a_built_in_key_is_left_out() {
        let table = KeyTable::new(&[pane("greedy", 'q', None)]);
        assert_eq!(table.action(&ch('q'), LIST), Some(Action::Quit));
        assert!(!table.hints(LIST).contains(&("q", "GREEDY")));
    }

    #[test]
    fn a_maximised_footer_offers_restore_not_maximise() {
        let table = KeyTable::new(&[]);
        let hints = table.hints(MAX);
        assert!(hints.contains(&("Esc", "restore")));
        assert!(!hints.iter().any(|(_, what)| *what == "maximise"));
    }

    #[test]
    fn help_lists_every_labelled_binding_once_and_every_key_of_every_binding() {
        let table = KeyTable::new(&[pane("hello", 'E', None)]);
        let help = table.help_lines();
        let listed: usize = help.iter().map(|(_, rows)| rows.len()).sum();
        let described = table
            .bindings()
            .iter()
            .filter(|b| !b.hint.is_empty())
            .count();
        assert_eq!(listed, described);
        for b in table.bindings() {
            let (_, rows) = help
                .iter()
                .find(|(title, _)| title == b.when.describe())
                .unwrap();
            for k in &b.keys {
                let name = key_name(k);
                assert!(
                    rows.iter()
                        .any(|(keys, _)| keys.split([' ', '/']).any(|n| n == name)),
                    "{name} ({:?}) missing from help: {rows:?}",
                    b.action
                );
            }
        }
        let all: Vec<String> = help
            .iter()
            .flat_map(|(_, rows)| rows.iter().map(|(keys, what)| format!("{keys} {what}")))
            .collect();
        for wanted in [
            "G/End live",
            "q/Ctrl-C quit",
            "←/h →/l ↑/k ↓/j pan",
            "wheel scroll history",
        ] {
            assert!(all.iter().any(|l| l == wanted), "{wanted:?} not in {all:?}");
        }
    }

    #[test]
    fn a_narrow_footer_keeps_quit_and_how_to_leave_a_maximised_view() {
        let table = KeyTable::new(&[pane("hello", 'E', None)]);
        let width = |keys: &str, what: &str| keys.len() + what.len() + 3;
        assert_eq!(
            table.fitting_hints(MAX, 30, width),
            [("q", "quit"), ("?", "help"), ("Esc", "restore")]
        );
        assert_eq!(table.fitting_hints(MAX, 0, width), []);
        assert_eq!(
            table.fitting_hints(LIST, usize::MAX, width),
            table.hints(LIST)
        );
    }
}
