//! Small wording helpers for human output, shared so every command counts
//! things the same way.

/// The plural suffix for a count: `""` for 1, `"s"` otherwise.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A count with its noun in the right number: `1 key`, `2 keys`, `0 Homes`.
pub fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", plural(n))
}

/// Makes untrusted text (Session names, commands, paths, anything read
/// from a file another program wrote) safe to print to a terminal: control
/// characters (C0, DEL, C1) and the invisible bidirectional overrides are
/// shown as escapes (`\n`, `\x1b`, `\u{202e}`), so nothing can recolour the terminal, move its cursor or break a table
/// row. Text that needs no escaping is returned borrowed, at no cost.
///
/// The one escaping helper for human output: every command's table and
/// message that shows such text calls it. JSON output needs none (serde
/// escapes control characters itself).
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let needs = |c: char| c.is_control() || is_bidi_control(c);
    if !text.chars().any(needs) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// [`escape`] for text of several lines, such as an error message or a
/// warning that quotes a file's contents: each line is escaped, the line
/// breaks between them are kept.
pub fn escape_lines(text: &str) -> std::borrow::Cow<'_, str> {
    let lines: Vec<_> = text.split('\n').map(escape).collect();
    if lines
        .iter()
        .all(|l| matches!(l, std::borrow::Cow::Borrowed(_)))
    {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(lines.join("\n"))
}

/// [`escape`] for a path (shown lossily when it is not UTF-8).
pub fn escape_path(path: &std::path::Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}

/// Characters that reorder how the text around them is displayed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// How a [`Table`] column lines its cells up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text: padded on the right.
    Left,
    /// Numbers: padded on the left, so digits line up.
    Right,
}

/// The one renderer for human output that is a table (`home list`,
/// `plugins`, `version`'s plugin lines, …), so every command lines its
/// columns up the same way and none can forget to escape a cell.
///
/// - Every cell goes through [`escape`] as it is added: a path or a name
///   another program wrote can never reach the terminal raw or break a row.
/// - Widths are measured in terminal cells (`unicode-width`), not bytes or
///   `char`s: a CJK character takes two columns, so a Home under `~/文档`
///   stays aligned with one under `~/docs` (`format!("{:<w$}")` counts
///   `char`s and would not).
/// - Columns are separated by two spaces; nothing is padded after the last
///   cell of a line and no line ends in spaces (trailing spaces of a last
///   cell are dropped too: they cannot be seen, and `diff` would).
/// - A table with no rows renders as the empty string: the caller says
///   "nothing here" in its own words.
/// - [`Table::note`] puts a free line under a row (a plugin's permissions,
///   the reason it was refused) that starts where a column starts but does
///   not widen it.
///
/// Deliberately not used by `list` and `skills list`: their
/// `<id>  <status>  <command>` and `<name>  <description>` lines are
/// agent-tty 0.5's format, fields joined by two spaces without alignment,
/// and scripts split them that way.
///
/// ```
/// use agent_tty_core::text::{Align, Table};
/// let mut t = Table::new([Align::Left, Align::Right]);
/// t.row(["Home", "Active"]).row(["/tmp/\x1b", "3"]);
/// assert_eq!(t.render(), "Home       Active\n/tmp/\\x1b       3\n");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Table {
    aligns: Vec<Align>,
    indent: String,
    lines: Vec<TableLine>,
}

#[derive(Debug, Clone)]
enum TableLine {
    /// Escaped cells.
    Row(Vec<String>),
    /// Escaped free text starting at this column.
    Note(usize, String),
    /// Escaped free text at the left margin, before the indent.
    Heading(String),
}

impl Table {
    /// A table whose columns line up as `aligns` says (a cell past the
    /// last one given is left-aligned).
    pub fn new(aligns: impl Into<Vec<Align>>) -> Table {
        Table {
            aligns: aligns.into(),
            ..Table::default()
        }
    }

    /// Starts every line with `indent` (e.g. two spaces under a heading).
    pub fn indent(mut self, indent: &str) -> Table {
        self.indent = indent.to_owned();
        self
    }

    /// Adds a row (a header is just the first row). A row may have fewer
    /// cells than the table has columns; the missing ones are empty.
    pub fn row<I, S>(&mut self, cells: I) -> &mut Table
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells = cells
            .into_iter()
            .map(|c| escape(c.as_ref()).into_owned())
            .collect();
        self.lines.push(TableLine::Row(cells));
        self
    }

    /// Adds a line of free text under the last row, starting where
    /// `column` starts. It is escaped but not measured: it widens nothing.
    pub fn note(&mut self, column: usize, text: &str) -> &mut Table {
        self.lines
            .push(TableLine::Note(column, escape(text).into_owned()));
        self
    }

    /// Adds a line of free text at the left margin (not indented, not
    /// measured), e.g. a section title between groups of rows that share
    /// one set of column widths; `""` gives a blank line.
    pub fn heading(&mut self, text: &str) -> &mut Table {
        self.lines
            .push(TableLine::Heading(escape(text).into_owned()));
        self
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        !self.lines.iter().any(|l| matches!(l, TableLine::Row(_)))
    }

    /// The table, one line per row or note, each ending in `\n`.
    pub fn render(&self) -> String {
        use unicode_width::UnicodeWidthStr;
        const GAP: &str = "  ";
        let mut widths: Vec<usize> = Vec::new();
        for line in &self.lines {
            if let TableLine::Row(cells) = line {
                if widths.len() < cells.len() {
                    widths.resize(cells.len(), 0);
                }
                for (w, cell) in widths.iter_mut().zip(cells) {
                    *w = (*w).max(cell.width());
                }
            }
        }
        let mut out = String::new();
        for line in &self.lines {
            let start = out.len();
            if !matches!(line, TableLine::Heading(_)) {
                out.push_str(&self.indent);
            }
            match line {
                TableLine::Heading(text) => out.push_str(text),
                TableLine::Row(cells) => {
                    for (i, cell) in cells.iter().enumerate() {
                        if i > 0 {
                            out.push_str(GAP);
                        }
                        let pad = " ".repeat(widths[i] - cell.width());
                        match self.aligns.get(i).copied().unwrap_or(Align::Left) {
                            Align::Left => {
                                out.push_str(cell);
                                out.push_str(&pad);
                            }
                            Align::Right => {
                                out.push_str(&pad);
                                out.push_str(cell);
                            }
                        }
                    }
                }
                TableLine::Note(column, text) => {
                    let at: usize = widths.iter().take(*column).map(|w| w + GAP.len()).sum();
                    out.push_str(&" ".repeat(at));
                    out.push_str(text);
                }
            }
            let kept = start + out[start..].trim_end_matches(' ').len();
            out.truncate(kept);
            out.push('\n');
        }
        out
    }
}

/// How a Session's status reads to a person, the one wording `list` and the
/// dashboard share: `running`, `exited (0)`, `killed (SIGKILL)` (a signal
/// ended it, whatever `exitCode` says),
/// `running (foreign)` for a Session whose host is on another machine.
///
/// The parts are the manifest's (or `sessions.list`'s) own fields, so a
/// reader with either can use it.
pub fn status_wording(
    status: &str,
    exit_code: Option<i32>,
    exit_signal: Option<&str>,
    foreign: bool,
) -> String {
    if foreign {
        return format!("{status} (foreign)");
    }
    // A signal wins: a Session a signal ended is recorded with `exitCode`
    // 0 (0.5's manifest), which must never read as a clean exit.
    match (exit_code, exit_signal) {
        (_, Some(signal)) => {
            let name = crate::signals::name_of_recorded(signal);
            if status == "exited" {
                format!("killed ({name})")
            } else {
                format!("{status} ({name})")
            }
        }
        (Some(code), None) => format!("{status} ({code})"),
        (None, None) => status.to_owned(),
    }
}

/// The text a terminal would print, without any escape sequence or control
/// function: what 0.5's `--no-color` gives human output, and what `run
/// --output` returns. The bytes go through the same VT parser a terminal
/// uses, so every kind of sequence goes whole (CSI, OSC, DCS, SOS/PM/APC
/// strings, charset designations such as `ESC ( B`, C1 controls), not only
/// the kinds a hand-written scanner knows. Kept: the printed characters and
/// the line controls a reader needs (LF, CR, tab).
pub fn strip_escapes(text: &str) -> String {
    struct Printed(String);
    impl vte::Perform for Printed {
        fn print(&mut self, c: char) {
            self.0.push(c);
        }
        fn execute(&mut self, byte: u8) {
            if matches!(byte, b'\n' | b'\r' | b'\t') {
                self.0.push(char::from(byte));
            }
        }
    }
    let mut printed = Printed(String::with_capacity(text.len()));
    vte::Parser::new().advance(&mut printed, text.as_bytes());
    printed.0
}

#[cfg(test)]
mod tests {
    use super::{counted, escape, status_wording, strip_escapes, Align, Table};
    use rstest::rstest;

    #[rstest]
    #[case("plain name", "plain name")]
    #[case("red\x1b[31mtext", "red\\x1b[31mtext")]
    #[case("two\nlines", "two\\nlines")]
    #[case("back\\slash", "back\\slash")]
    #[case("c1\u{9b}31m", "c1\\u{9b}31m")]
    #[case("bidi\u{202e}txt", "bidi\\u{202e}txt")]
    #[case("ünïcødé ok", "ünïcødé ok")]
    fn escapes_what_a_terminal_would_obey(#[case] raw: &str, #[case] shown: &str) {
        assert_eq!(escape(raw), shown);
        assert!(!escape(raw).chars().any(char::is_control));
    }

    #[rstest]
    #[case::sgr_and_hyperlink(
        "\x1b[1;31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x1b\\",
        "red link"
    )]
    #[case::charset_designation("\x1b(Bplain\x1b)0", "plain")]
    #[case::keypad_mode("\x1b=ok\x1b>", "ok")]
    #[case::dcs_string("a\x1bP1$r0m\x1b\\b", "ab")]
    #[case::apc_string("a\x1b_Gf=100;AAAA\x1b\\b", "ab")]
    #[case::c0_controls_but_line_ends("bell\x07 back\x08 tab\tcr\r\n", "bell back tab\tcr\r\n")]
    // A UTF-8 terminal starts no sequence at a C1 character; it drops it.
    #[case::c1_control_dropped("c1\u{9b}31mred", "c131mred")]
    #[case::unfinished_sequence_at_the_end("text\x1b[38;5", "text")]
    #[case::wide_text_kept("日本語 ✅", "日本語 ✅")]
    fn strip_escapes_leaves_what_a_terminal_prints(#[case] raw: &str, #[case] printed: &str) {
        assert_eq!(strip_escapes(raw), printed);
    }

    /// Rows given as cells joined by `|`.
    fn table(aligns: &[Align], rows: &[&str]) -> String {
        let mut t = Table::new(aligns);
        for row in rows {
            t.row(row.split('|'));
        }
        t.render()
    }

    const L: Align = Align::Left;
    const R: Align = Align::Right;

    #[rstest]
    #[case::left_then_right(&[L, R], &["name|n", "a|12345"], "name      n\na     12345\n")]
    #[case::last_left_column_is_not_padded(&[R, L], &["1|long text", "100|x"], "  1  long text\n100  x\n")]
    #[case::empty_last_cells_leave_no_spaces(&[L, L], &["a|", "bbb|c"], "a\nbbb  c\n")]
    #[case::short_rows_are_padded_as_empty(&[L, L, L], &["a", "b|c|d"], "a\nb  c  d\n")]
    #[case::cjk_counts_two_cells(&[L, R], &["文档|1", "docs|22"], "文档   1\ndocs  22\n")]
    #[case::combining_marks_count_none(&[L, L], &["e\u{301}|x", "ab|y"], "e\u{301}   x\nab  y\n")]
    #[case::escapes_are_measured_as_shown(&[L, L], &["a\x1bb|x", "abcdef|y"], "a\\x1bb  x\nabcdef  y\n")]
    #[case::no_rows_no_lines(&[L, R], &[], "")]
    fn tables_line_up_in_terminal_cells(
        #[case] aligns: &[Align],
        #[case] rows: &[&str],
        #[case] text: &str,
    ) {
        assert_eq!(table(aligns, rows), text);
    }

    #[rstest]
    #[case::escape("/tmp/\x1b[2Jgone")]
    #[case::newline("two\nlines")]
    #[case::c1("c1\u{9b}31m")]
    #[case::bidi("txt\u{202e}gpj.exe")]
    fn no_cell_reaches_the_terminal_raw(#[case] hostile: &str) {
        let mut t = Table::new([L, L]).indent("  ");
        t.row([hostile, hostile]).note(1, hostile);
        let text = t.render();
        assert_eq!(text.lines().count(), 2, "{text:?}");
        // Nothing left that escaping would change.
        assert!(text.lines().all(|l| escape(l) == l), "{text:?}");
        assert!(text.contains(&*escape(hostile)));
    }

    #[test]
    fn notes_start_at_a_column_and_widen_nothing() {
        let mut t = Table::new([L, L, L]).indent("  ");
        t.row(["loaded", "sessions", "/p/s.so"])
            .note(1, "may: sessions.list")
            .row(["refused", "x", "/p/x.so"])
            .note(1, "a reason far wider than any column of the table above");
        assert_eq!(
            t.render(),
            "  loaded   sessions  /p/s.so\n           may: sessions.list\n  \
             refused  x         /p/x.so\n           a reason far wider than any column of \
             the table above\n"
        );
        assert!(!t.is_empty());
        assert!(Table::new([L]).is_empty());
    }

    #[test]
    fn headings_sit_at_the_margin_and_sections_share_widths() {
        let mut t = Table::new([L, L]).indent("  ");
        t.heading("First:")
            .row(["a", "one"])
            .heading("")
            .heading("Second \x1b:")
            .row(["longer", "two"]);
        assert_eq!(
            t.render(),
            "First:\n  a       one\n\nSecond \\x1b:\n  longer  two\n"
        );
    }

    #[rstest]
    #[case(0, "key", "0 keys")]
    #[case(1, "key", "1 key")]
    #[case(2, "character", "2 characters")]
    #[case(1, "Session", "1 Session")]
    fn counts(#[case] n: usize, #[case] noun: &str, #[case] text: &str) {
        assert_eq!(counted(n, noun), text);
    }

    #[rstest]
    #[case("running", None, None, false, "running")]
    #[case("exited", Some(0), None, false, "exited (0)")]
    #[case("exited", None, Some("SIGKILL"), false, "killed (SIGKILL)")]
    #[case("exited", Some(0), Some("9"), false, "killed (SIGKILL)")]
    #[case("destroyed", Some(0), Some("1"), false, "destroyed (SIGHUP)")]
    #[case("running", None, None, true, "running (foreign)")]
    fn statuses_read_the_same_everywhere(
        #[case] status: &str,
        #[case] code: Option<i32>,
        #[case] signal: Option<&str>,
        #[case] foreign: bool,
        #[case] text: &str,
    ) {
        assert_eq!(status_wording(status, code, signal, foreign), text);
    }
}
