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
    /// Move focus between the Session list and the Live View.
    FocusNext,
    /// Maximise the Live View, or restore the layout.
    ToggleMaximise,
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
    /// Open the Home picker.
    OpenHomePicker,
    /// Open the plugin pane at this index of the dashboard's pane list.
    OpenPane(usize),
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Everywhere in the main view.
    Always,
    /// The Session list has focus (and the Live View is not maximised).
    SessionsFocused,
    /// The Live View has focus or is maximised.
    LiveFocused,
    /// The Live View is maximised.
    Maximised,
}

/// The parts of the dashboard's state a binding depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyContext {
    /// The Live View has focus.
    pub live_focused: bool,
    /// The Live View is maximised.
    pub maximised: bool,
}

impl When {
    fn applies(self, cx: KeyContext) -> bool {
        match self {
            When::Always => true,
            When::SessionsFocused => !cx.live_focused && !cx.maximised,
            When::LiveFocused => cx.live_focused || cx.maximised,
            When::Maximised => cx.maximised,
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
        action,
        when,
        rank,
    }
}

/// Ranks of the footer hints: how to leave, then how to move, then how to
/// change the layout, then the scope and the Home picker, then plugin panes.
const ESSENTIAL: u8 = 0;
const MOVE: u8 = 1;
const LAYOUT: u8 = 2;
const SCOPE: u8 = 3;
const PANES: u8 = 4;

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
        use When::*;
        let mut bindings = vec![
            row(vec![ch('q')], "q", "quit", Quit, Always, ESSENTIAL),
            row(
                vec![key(KeyCode::Tab)],
                "Tab",
                "focus",
                FocusNext,
                Always,
                LAYOUT,
            ),
            row(
                vec![key(KeyCode::Enter)],
                "Enter",
                "maximise",
                ToggleMaximise,
                Always,
                LAYOUT,
            ),
            row(
                vec![key(KeyCode::Esc)],
                "Esc",
                "restore",
                Restore,
                Maximised,
                MOVE,
            ),
            row(
                vec![ch('j'), key(KeyCode::Down)],
                "j/k",
                "select",
                SelectNext,
                SessionsFocused,
                MOVE,
            ),
            row(
                vec![ch('k'), key(KeyCode::Up)],
                "",
                "",
                SelectPrevious,
                SessionsFocused,
                MOVE,
            ),
            row(
                vec![key(KeyCode::Left), ch('h')],
                "←↓↑→",
                "pan",
                Pan(-4, 0),
                LiveFocused,
                MOVE,
            ),
            row(
                vec![key(KeyCode::Right), ch('l')],
                "",
                "",
                Pan(4, 0),
                LiveFocused,
                MOVE,
            ),
            row(
                vec![key(KeyCode::Up), ch('k')],
                "",
                "",
                Pan(0, -2),
                LiveFocused,
                MOVE,
            ),
            row(
                vec![key(KeyCode::Down), ch('j')],
                "",
                "",
                Pan(0, 2),
                LiveFocused,
                MOVE,
            ),
            row(vec![ch('a')], "a", "active/all", ToggleScope, Always, SCOPE),
            row(vec![ch('H')], "H", "Homes", OpenHomePicker, Always, SCOPE),
        ];
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
                    Always,
                    PANES,
                ));
            }
        }
        KeyTable { bindings }
    }

    /// The action a key triggers here, if any. Ctrl-C always quits, so a
    /// person can leave even when a plugin pane holds the keyboard.
    pub fn action(&self, key: &KeyEvent, cx: KeyContext) -> Option<Action> {
        if key.ctrl && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        if key.ctrl || key.alt {
            return None;
        }
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
        live_focused: false,
        maximised: false,
    };
    const LIVE: KeyContext = KeyContext {
        live_focused: true,
        maximised: false,
    };
    const MAX: KeyContext = KeyContext {
        live_focused: false,
        maximised: true,
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
    #[case(ch('j'), LIVE, Some(Action::Pan(0, 2)))]
    #[case(key(KeyCode::Left), MAX, Some(Action::Pan(-4, 0)))]
    #[case(key(KeyCode::Esc), LIST, None)]
    #[case(key(KeyCode::Esc), MAX, Some(Action::Restore))]
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
        for cx in [LIST, LIVE, MAX] {
            let hints = table.hints(cx);
            for b in table.bindings.iter().filter(|b| b.when.applies(cx)) {
                if !b.label.is_empty() {
                    assert!(hints.contains(&(b.label.as_str(), b.hint.as_str())));
                }
                assert!(
                    b.keys.iter().any(|k| table.action(k, cx) == Some(b.action)),
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
    fn a_narrow_footer_keeps_quit_and_how_to_leave_a_maximised_view() {
        let table = KeyTable::new(&[pane("hello", 'E', None)]);
        let width = |keys: &str, what: &str| keys.len() + what.len() + 3;
        assert_eq!(
            table.fitting_hints(MAX, 22, width),
            [("q", "quit"), ("Esc", "restore")]
        );
        assert_eq!(table.fitting_hints(MAX, 0, width), []);
        assert_eq!(
            table.fitting_hints(LIST, usize::MAX, width),
            table.hints(LIST)
        );
    }
}
