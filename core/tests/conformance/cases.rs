// The conformance cases: small escape-sequence programs, each with the screen
// and cursor a terminal (xterm, as the reference) shows after it. Engine
// neutral on purpose: `docs/adr/0003-terminal-engine.md` measured candidate
// emulators with this very table.
//
// `lines` are the visible rows, trailing spaces trimmed; trailing blank rows
// may be left out. `cursor` is `(row, col)`, zero-based. `history`, when
// given, is the scrollback (oldest first) the case must leave.

/// One step of a case.
#[allow(dead_code)]
pub enum Step {
    /// Output from the program.
    Out(&'static str),
    /// The terminal is resized to `(cols, rows)`.
    Resize(u16, u16),
}

impl Step {
    /// The Event Log event body this step is (the includer imports
    /// `EventBody`).
    pub fn body(&self) -> super::EventBody {
        match self {
            Step::Out(data) => super::EventBody::Output {
                data: (*data).into(),
            },
            Step::Resize(cols, rows) => super::EventBody::Resize {
                cols: *cols,
                rows: *rows,
            },
        }
    }
}

/// One conformance case.
pub struct Case {
    pub name: &'static str,
    pub cols: u16,
    pub rows: u16,
    pub steps: &'static [Step],
    pub lines: &'static [&'static str],
    pub cursor: (u16, u16),
    pub history: Option<&'static [&'static str]>,
}

use Step::{Out, Resize};

pub const CASES: &[Case] = &[
    Case {
        name: "resize to fewer rows pushes the top rows into scrollback",
        cols: 10,
        rows: 5,
        steps: &[Out("one\r\ntwo\r\nthree\r\nfour\r\n$ "), Resize(10, 3)],
        lines: &["three", "four", "$"],
        cursor: (2, 2),
        history: Some(&["one", "two"]),
    },
    Case {
        name: "resize to more rows pulls scrollback back down",
        cols: 10,
        rows: 5,
        steps: &[
            Out("one\r\ntwo\r\nthree\r\nfour\r\n$ "),
            Resize(10, 3),
            Resize(10, 5),
        ],
        lines: &["one", "two", "three", "four", "$"],
        cursor: (4, 2),
        history: Some(&[]),
    },
    Case {
        // The cursor keeps its row, so the extra row the long line needs
        // pushes the top one into scrollback (as Alacritty and kitty do).
        name: "narrowing reflows a long line onto more rows",
        cols: 10,
        rows: 4,
        steps: &[Out("abcdefgh\r\n$ "), Resize(4, 4)],
        lines: &["efgh", "$"],
        cursor: (1, 2),
        history: Some(&["abcd"]),
    },
    Case {
        name: "growing after narrowing restores the wrapped line",
        cols: 10,
        rows: 4,
        steps: &[Out("abcdefgh\r\n$ "), Resize(4, 4), Resize(10, 4)],
        lines: &["abcdefgh", "$"],
        cursor: (1, 2),
        history: None,
    },
    Case {
        name: "a line the program wrapped itself rejoins when growing",
        cols: 4,
        rows: 4,
        steps: &[Out("abcdefgh\r\n$ "), Resize(10, 4)],
        lines: &["abcdefgh", "$"],
        cursor: (1, 2),
        history: None,
    },
    Case {
        name: "DEC Special Graphics draws box lines (ESC ( 0)",
        cols: 10,
        rows: 3,
        steps: &[Out("\x1b(0lqqk\r\nx  x\r\nmqqj\x1b(B ok")],
        lines: &["┌──┐", "│  │", "└──┘ ok"],
        cursor: (2, 7),
        history: None,
    },
    Case {
        name: "SO/SI switch to G1 and back",
        cols: 10,
        rows: 1,
        steps: &[Out("\x1b)0\x0elqk\x0f lqk")],
        lines: &["┌─┐ lqk"],
        cursor: (0, 7),
        history: None,
    },
    Case {
        name: "CSI s / CSI u save and restore the cursor",
        cols: 10,
        rows: 3,
        steps: &[Out("ab\x1b[s\x1b[3;5Hxy\x1b[uZ")],
        lines: &["abZ", "", "    xy"],
        cursor: (0, 3),
        history: None,
    },
    Case {
        name: "ESC 7 / ESC 8 save and restore the cursor",
        cols: 10,
        rows: 3,
        steps: &[Out("ab\x1b7\x1b[3;5Hxy\x1b8Z")],
        lines: &["abZ", "", "    xy"],
        cursor: (0, 3),
        history: None,
    },
    Case {
        name: "ESC D (index) and ESC E (next line)",
        cols: 10,
        rows: 3,
        steps: &[Out("ab\x1bDcd\x1bEef")],
        lines: &["ab", "  cd", "ef"],
        cursor: (2, 2),
        history: None,
    },
    Case {
        name: "ESC D at the bottom scrolls",
        cols: 10,
        rows: 2,
        steps: &[Out("one\r\ntwo\x1bDx")],
        lines: &["two", "   x"],
        cursor: (1, 4),
        history: None,
    },
    Case {
        name: "CSI f positions like CSI H",
        cols: 10,
        rows: 3,
        steps: &[Out("\x1b[2;3fX")],
        lines: &["", "  X"],
        cursor: (1, 3),
        history: None,
    },
    Case {
        name: "CSI ` (HPA) moves to an absolute column",
        cols: 10,
        rows: 1,
        steps: &[Out("abc\x1b[6`X")],
        lines: &["abc  X"],
        cursor: (0, 6),
        history: None,
    },
    Case {
        name: "CSI a (HPR) and CSI e (VPR) move relative",
        cols: 10,
        rows: 3,
        steps: &[Out("a\x1b[2aX\x1b[2eY")],
        lines: &["a  X", "", "    Y"],
        cursor: (2, 5),
        history: None,
    },
    Case {
        name: "CSI b (REP) repeats the last character",
        cols: 10,
        rows: 1,
        steps: &[Out("ab\x1b[3b")],
        lines: &["abbbb"],
        cursor: (0, 5),
        history: None,
    },
    Case {
        name: "CSI 4 h (insert mode) shifts the rest right, CSI 4 l ends it",
        cols: 10,
        rows: 1,
        steps: &[Out("abcd\r\x1b[4hXY\x1b[4lZ")],
        lines: &["XYZbcd"],
        cursor: (0, 3),
        history: None,
    },
    Case {
        name: "HTS sets and TBC 3 clears tab stops",
        cols: 20,
        rows: 1,
        steps: &[Out("\x1b[3g\x1b[5G\x1bH\x1b[12G\x1bH\r\tA\tB")],
        lines: &["    A      B"],
        cursor: (0, 12),
        history: None,
    },
    Case {
        name: "TBC 0 clears the stop under the cursor",
        cols: 20,
        rows: 1,
        steps: &[Out("\x1b[9G\x1b[0g\r\tX")],
        lines: &["                X"],
        cursor: (0, 17),
        history: None,
    },
    Case {
        name: "CSI I (CHT) tabs forward",
        cols: 20,
        rows: 1,
        steps: &[Out("\x1b[2IX")],
        lines: &["                X"],
        cursor: (0, 17),
        history: None,
    },
    Case {
        name: "CSI Z (CBT) tabs backward",
        cols: 20,
        rows: 1,
        steps: &[Out("\x1b[20G\x1b[2ZX")],
        lines: &["        X"],
        cursor: (0, 9),
        history: None,
    },
    Case {
        name: "ESC # 8 (DECALN) fills the screen with E",
        cols: 4,
        rows: 2,
        steps: &[Out("ab\x1b#8")],
        lines: &["EEEE", "EEEE"],
        cursor: (0, 0),
        history: None,
    },
    Case {
        name: "DECCOLM (CSI ? 3 h) clears the screen and homes the cursor",
        cols: 10,
        rows: 2,
        steps: &[Out("abc\r\ndef\x1b[?3h")],
        lines: &[],
        cursor: (0, 0),
        history: None,
    },
    Case {
        name: "autowrap off (CSI ? 7 l) overwrites the last column",
        cols: 5,
        rows: 2,
        steps: &[Out("\x1b[?7labcdefg")],
        lines: &["abcdg"],
        cursor: (0, 4),
        history: None,
    },
    Case {
        name: "autowrap back on (CSI ? 7 h) wraps again",
        cols: 5,
        rows: 2,
        steps: &[Out("\x1b[?7labcdefg\x1b[?7h\rabcdefg")],
        lines: &["abcde", "fg"],
        cursor: (1, 2),
        history: None,
    },
    Case {
        name: "ED 3 (CSI 3 J, sent by clear) erases the scrollback",
        cols: 10,
        rows: 2,
        steps: &[Out("1\r\n2\r\n3\r\n4\x1b[H\x1b[2J\x1b[3J$ ")],
        lines: &["$"],
        cursor: (0, 2),
        history: Some(&[]),
    },
    Case {
        name: "mode 47 switches screens without moving the cursor",
        cols: 10,
        rows: 2,
        steps: &[Out("ab\x1b[?47hxy\x1b[?47l")],
        lines: &["ab"],
        cursor: (0, 4),
        history: None,
    },
    Case {
        name: "mode 47 shows the alternate screen while set",
        cols: 10,
        rows: 2,
        steps: &[Out("ab\x1b[?47hxy")],
        lines: &["  xy"],
        cursor: (0, 4),
        history: None,
    },
    Case {
        name: "mode 1049 saves the cursor and restores the main screen",
        cols: 10,
        rows: 3,
        steps: &[Out("$ vi\x1b[?1049h\x1b[H\x1b[2Jfile\r\n~\x1b[?1049l")],
        lines: &["$ vi"],
        cursor: (0, 4),
        history: None,
    },
    Case {
        name: "a scroll region keeps the rows outside it",
        cols: 10,
        rows: 4,
        steps: &[Out("top\x1b[2;3r\x1b[2;1Ha\r\nb\r\nc\x1b[r\x1b[4;1Hbottom")],
        lines: &["top", "b", "c", "bottom"],
        cursor: (3, 6),
        history: None,
    },
    Case {
        name: "a 1x1 terminal takes text and newlines",
        cols: 1,
        rows: 1,
        steps: &[Out("hello\r\nworld")],
        lines: &["d"],
        cursor: (0, 0),
        history: None,
    },
    Case {
        // Two columns do not fit: U+FFFD stands in for it.
        name: "a wide character on a 1x1 terminal does not panic",
        cols: 1,
        rows: 1,
        steps: &[Out("界\x1b[?7l界x\r\n界")],
        lines: &["\u{fffd}"],
        cursor: (0, 0),
        history: None,
    },
    Case {
        name: "a 2x1 terminal shows the prompt",
        cols: 2,
        rows: 1,
        steps: &[Out("$ echo hi\r\nhi\r\n$ ")],
        lines: &["$"],
        cursor: (0, 1),
        history: None,
    },
    Case {
        name: "shrinking to 1x1 and back keeps working",
        cols: 10,
        rows: 3,
        steps: &[Out("one\r\ntwo\r\n$ "), Resize(1, 1), Resize(10, 3)],
        lines: &["one", "two", "$"],
        cursor: (2, 2),
        history: None,
    },
    Case {
        name: "the largest size works",
        cols: 1000,
        rows: 1000,
        steps: &[Out("\x1b[1000;1000HZ\x1b[2K\x1b[Ha")],
        lines: &["a"],
        cursor: (0, 1),
        history: None,
    },
];
