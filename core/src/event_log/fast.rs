//! Decoding Event Log lines without allocating per event (ADR 0021).
//!
//! Almost every line of a big Event Log is an `output` event in the shape
//! our writer and agent-tty 0.5 both emit:
//! `{"seq":N,"ts":"…","type":"output","payload":{"data":"…"}}`. Decoding it
//! with serde into an [`Event`] costs two allocations and serde's buffering
//! of the flattened, adjacently tagged body, which made JSON decoding about
//! a third of a replay. [`decode`] reads that shape with a scanner instead:
//! `seq` as a number, `ts` and `data` borrowed from the line when they hold
//! no escapes, `data` unescaped into a buffer the caller reuses otherwise.
//!
//! The scanner accepts only what it can decode exactly as serde would; at
//! the first thing it does not expect (another event type, a key it does
//! not know or seen twice, an escape in a key or in `ts`, a lone surrogate,
//! a raw control character, invalid UTF-8, a number serde would refuse or
//! read differently) it gives the whole line to serde, so serde stays the
//! one judge of what a line means and of which lines are malformed. The
//! tests compare the two on tricky and hostile lines.

use super::{Event, EventBody};

/// One decoded event, borrowing its text where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum EventRef<'a> {
    /// An `output` event (whichever decoder read it).
    Output {
        /// Position in the log.
        seq: u64,
        /// When it was written, as logged.
        ts: &'a str,
        /// The terminal output.
        data: &'a str,
    },
    /// Any other event.
    Other(Event),
}

impl EventRef<'_> {
    /// The event's `seq`.
    pub fn seq(&self) -> u64 {
        match self {
            EventRef::Output { seq, .. } => *seq,
            EventRef::Other(event) => event.seq,
        }
    }

    /// The owned [`Event`].
    pub fn into_owned(self) -> Event {
        match self {
            EventRef::Output { seq, ts, data } => Event {
                seq,
                ts: ts.to_owned(),
                body: EventBody::Output {
                    data: data.to_owned(),
                },
            },
            EventRef::Other(event) => event,
        }
    }
}

/// Decodes one line (newline excluded). `scratch` holds unescaped text the
/// result may borrow; it is reused from line to line.
pub(crate) fn decode<'a>(
    line: &'a [u8],
    scratch: &'a mut String,
) -> Result<EventRef<'a>, serde_json::Error> {
    // Two passes over a line only when the scanner gives up, which the
    // lines our writer makes never do.
    if let Some(fast) = scan_output(line, scratch) {
        let (seq, ts, data) = fast;
        let data = match data {
            Text::Line(range) => &line_str(line)[range],
            Text::Scratch => {
                let scratch: &'a String = scratch;
                scratch.as_str()
            }
        };
        return Ok(EventRef::Output { seq, ts, data });
    }
    let event = serde_json::from_slice::<Event>(line)?;
    Ok(match event.body {
        EventBody::Output { data } => {
            // Kept in `scratch` so every output event reads the same way.
            scratch.clear();
            scratch.push_str(&event.ts);
            scratch.push_str(&data);
            let scratch: &'a String = scratch;
            let (ts, data) = scratch.split_at(event.ts.len());
            EventRef::Output {
                seq: event.seq,
                ts,
                data,
            }
        }
        body => EventRef::Other(Event { body, ..event }),
    })
}

/// The line as text; only called on lines [`scan_output`] checked.
fn line_str(line: &[u8]) -> &str {
    std::str::from_utf8(line).expect("the scanner checked the line's UTF-8")
}

/// Where a decoded string is.
enum Text {
    /// In the line, as is (it had no escapes).
    Line(std::ops::Range<usize>),
    /// In the scratch buffer, unescaped.
    Scratch,
}

/// The scanner's position in one line.
struct Scan<'a> {
    /// The line, checked to be UTF-8 before the scan starts (JSON outside
    /// strings is ASCII, so every stop of the scan is a char boundary).
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

/// Whether any of the 8 bytes in `word` is a [`STOP`] byte (the classic
/// "has a zero byte" and "has a byte below n" word tricks, exact as a yes or
/// no).
fn stops_in(word: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quote | backslash | control != 0
}

/// Bytes a JSON string's scan stops at: its end, an escape, and raw control
/// characters (which JSON forbids in strings; serde refuses them).
static STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Skips whitespace, then expects `byte`.
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// The end of a string's run of plain bytes starting here: 8 bytes at
    /// a time, then byte by byte to the stop.
    fn plain_run(&mut self) {
        while let Some(word) = self.bytes.get(self.at..self.at + 8) {
            let word = u64::from_ne_bytes(word.try_into().expect("8 bytes"));
            if stops_in(word) {
                break;
            }
            self.at += 8;
        }
        while let Some(&b) = self.bytes.get(self.at) {
            if STOP[b as usize] {
                break;
            }
            self.at += 1;
        }
    }

    /// A string without escapes (a key, `ts`, `type`): its byte range.
    fn plain_string(&mut self) -> Option<std::ops::Range<usize>> {
        self.expect(b'"')?;
        let start = self.at;
        self.plain_run();
        (self.peek()? == b'"').then(|| {
            self.at += 1;
            start..self.at - 1
        })
    }

    /// A string, escapes decoded: in the line when it has none, else in
    /// `scratch`.
    fn string(&mut self, scratch: &mut String) -> Option<Text> {
        self.expect(b'"')?;
        let start = self.at;
        self.plain_run();
        if self.peek()? == b'"' {
            self.at += 1;
            return Some(Text::Line(start..self.at - 1));
        }
        scratch.clear();
        let mut run = start;
        loop {
            scratch.push_str(&self.text[run..self.at]);
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(Text::Scratch);
                }
                b'\\' => {
                    self.at += 1;
                    self.escape(scratch)?;
                }
                // A raw control character: serde refuses the line.
                _ => return None,
            }
            run = self.at;
            self.plain_run();
        }
    }

    /// One escape, after its backslash.
    fn escape(&mut self, scratch: &mut String) -> Option<()> {
        let c = match self.peek()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\x08',
            b'f' => '\x0c',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                self.at += 1;
                let unit = self.hex4()?;
                let c = match unit {
                    // A high surrogate must be followed by an escaped low
                    // one; anything else is for serde to refuse.
                    0xD800..=0xDBFF => {
                        if self.bytes.get(self.at..self.at + 2)? != b"\\u" {
                            return None;
                        }
                        self.at += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => char::from_u32(unit)?,
                };
                scratch.push(c);
                return Some(());
            }
            _ => return None,
        };
        self.at += 1;
        scratch.push(c);
        Some(())
    }

    /// Four hex digits.
    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + 4)?;
        let mut n = 0;
        for &d in digits {
            n = n * 16 + (d as char).to_digit(16)?;
        }
        self.at += 4;
        Some(n)
    }

    /// A `u64` as serde reads one: no sign, no leading zero, no fraction or
    /// exponent, no overflow.
    fn number(&mut self) -> Option<u64> {
        self.skip_ws();
        let start = self.at;
        let mut n: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        if digits == 0 || (digits > 1 && self.bytes[start] == b'0') {
            return None;
        }
        // `1.5`, `1e3`: serde reads a float, which `seq` refuses.
        match self.peek() {
            Some(b'.' | b'e' | b'E') => None,
            _ => Some(n),
        }
    }

    /// The `output` payload: an object holding `data` and nothing else.
    fn payload(&mut self, scratch: &mut String) -> Option<Text> {
        self.expect(b'{')?;
        let key = self.plain_string()?;
        if &self.bytes[key] != b"data" {
            return None;
        }
        self.expect(b':')?;
        let data = self.string(scratch)?;
        self.expect(b'}')?;
        Some(data)
    }
}

/// An `output` line in the usual shape (any key order and whitespace): its
/// `seq`, `ts` and `data`. `None` for anything else.
fn scan_output<'a>(line: &'a [u8], scratch: &mut String) -> Option<(u64, &'a str, Text)> {
    // Checked once here, so every run between ASCII stops is text.
    let text = std::str::from_utf8(line).ok()?;
    let mut scan = Scan {
        text,
        bytes: line,
        at: 0,
    };
    let (mut seq, mut ts, mut output, mut data) = (None, None, false, None);
    scan.expect(b'{')?;
    loop {
        let key = scan.plain_string()?;
        scan.expect(b':')?;
        match &line[key] {
            b"seq" if seq.is_none() => seq = Some(scan.number()?),
            b"ts" if ts.is_none() => ts = Some(&text[scan.plain_string()?]),
            b"type" if !output => {
                if &line[scan.plain_string()?] != b"output" {
                    return None;
                }
                output = true;
            }
            b"payload" if data.is_none() => data = Some(scan.payload(scratch)?),
            _ => return None,
        }
        scan.skip_ws();
        match scan.peek()? {
            b',' => scan.at += 1,
            b'}' => {
                scan.at += 1;
                break;
            }
            _ => return None,
        }
    }
    scan.skip_ws();
    if scan.at != line.len() || !output {
        return None;
    }
    Some((seq?, ts?, data?))
}

/// The owned form of a line's decoding, for tests and for readers that keep
/// events.
#[cfg(test)]
pub(crate) fn decode_owned(line: &[u8]) -> Result<Event, serde_json::Error> {
    let mut scratch = String::new();
    decode(line, &mut scratch).map(EventRef::into_owned)
}

/// Whether [`decode`]'s fast path reads `line` (tests: the lines our writer
/// makes must never need serde).
#[cfg(test)]
pub(crate) fn is_fast(line: &[u8]) -> bool {
    scan_output(line, &mut String::new()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz_tests::Rng;
    use rstest::rstest;

    /// What serde alone makes of `line`, and what [`decode`] does: equal,
    /// error or not (errors compared as "is an error").
    fn agree(line: &[u8]) {
        let serde = serde_json::from_slice::<Event>(line).ok();
        let ours = decode_owned(line).ok();
        assert_eq!(
            ours,
            serde,
            "decode differs from serde on {:?}",
            String::from_utf8_lossy(line)
        );
    }

    #[rstest]
    #[case::plain(
        r#"{"seq":0,"ts":"2026-11-24T03:50:02.677Z","type":"output","payload":{"data":"hello"}}"#,
        true
    )]
    #[case::escapes(r#"{"seq":1,"ts":"t","type":"output","payload":{"data":"\u001b[1;31mred\u001b[0m\r\n\t\"q\" \\ \/ \b\f"}}"#, true)]
    #[case::unicode_raw(
        r#"{"seq":2,"ts":"t","type":"output","payload":{"data":"été 日本 🎉"}}"#,
        true
    )]
    #[case::unicode_escaped(r#"{"seq":2,"ts":"t","type":"output","payload":{"data":"\u00e9t\u00E9 \u65e5 \ud83c\udf89"}}"#, true)]
    #[case::nul(
        r#"{"seq":2,"ts":"t","type":"output","payload":{"data":"a\u0000b"}}"#,
        true
    )]
    #[case::key_order(r#"{"payload":{"data":"x"},"type":"output","ts":"t","seq":7}"#, true)]
    #[case::whitespace(" { \"seq\" : 3 ,\t\"ts\" : \"t\" , \"type\" : \"output\" , \"payload\" : { \"data\" : \"x\" } } \r", true)]
    #[case::empty_data(r#"{"seq":0,"ts":"","type":"output","payload":{"data":""}}"#, true)]
    #[case::max_seq(
        r#"{"seq":18446744073709551615,"ts":"t","type":"output","payload":{"data":"x"}}"#,
        true
    )]
    #[case::extra_key(
        r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"x"},"extra":1}"#,
        false
    )]
    #[case::extra_payload_key(
        r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"x","more":true}}"#,
        false
    )]
    #[case::escaped_key(
        r#"{"se\u0071":0,"ts":"t","type":"output","payload":{"data":"x"}}"#,
        false
    )]
    #[case::escaped_ts(
        r#"{"seq":0,"ts":"\u0032","type":"output","payload":{"data":"x"}}"#,
        false
    )]
    #[case::duplicate_seq(
        r#"{"seq":0,"seq":1,"ts":"t","type":"output","payload":{"data":"x"}}"#,
        false
    )]
    #[case::duplicate_type(
        r#"{"seq":0,"ts":"t","type":"output","type":"marker","payload":{"data":"x"}}"#,
        false
    )]
    #[case::other_type(
        r#"{"seq":0,"ts":"t","type":"resize","payload":{"cols":3,"rows":4}}"#,
        false
    )]
    #[case::input_text(
        r#"{"seq":0,"ts":"t","type":"input_text","payload":{"data":"x"}}"#,
        false
    )]
    #[case::lone_high(
        r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"\ud83c"}}"#,
        false
    )]
    #[case::lone_high_then_text(
        r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"\ud83cx"}}"#,
        false
    )]
    #[case::high_then_high(
        r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"\ud83c\ud83c"}}"#,
        false
    )]
    #[case::lone_low(
        r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"\udf89"}}"#,
        false
    )]
    #[case::short_hex(
        r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"\u01"}}"#,
        false
    )]
    #[case::bad_escape(
        r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"\x41"}}"#,
        false
    )]
    #[case::raw_control(
        "{\"seq\":0,\"ts\":\"t\",\"type\":\"output\",\"payload\":{\"data\":\"a\x1bb\"}}",
        false
    )]
    #[case::raw_tab(
        "{\"seq\":0,\"ts\":\"t\",\"type\":\"output\",\"payload\":{\"data\":\"a\tb\"}}",
        false
    )]
    #[case::leading_zero(r#"{"seq":01,"ts":"t","type":"output","payload":{"data":"x"}}"#, false)]
    #[case::negative(r#"{"seq":-1,"ts":"t","type":"output","payload":{"data":"x"}}"#, false)]
    #[case::float(
        r#"{"seq":1.0,"ts":"t","type":"output","payload":{"data":"x"}}"#,
        false
    )]
    #[case::exponent(
        r#"{"seq":1e2,"ts":"t","type":"output","payload":{"data":"x"}}"#,
        false
    )]
    #[case::overflow(
        r#"{"seq":18446744073709551616,"ts":"t","type":"output","payload":{"data":"x"}}"#,
        false
    )]
    #[case::seq_string(
        r#"{"seq":"1","ts":"t","type":"output","payload":{"data":"x"}}"#,
        false
    )]
    #[case::no_seq(r#"{"ts":"t","type":"output","payload":{"data":"x"}}"#, false)]
    #[case::no_ts(r#"{"seq":0,"type":"output","payload":{"data":"x"}}"#, false)]
    #[case::no_payload(r#"{"seq":0,"ts":"t","type":"output"}"#, false)]
    #[case::data_null(r#"{"seq":0,"ts":"t","type":"output","payload":{"data":null}}"#, false)]
    #[case::trailing_garbage(
        r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"x"}}x"#,
        false
    )]
    #[case::two_objects(
        r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"x"}}{}"#,
        false
    )]
    #[case::trailing_comma(r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"x"},}"#, false)]
    #[case::cut(r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"x"#, false)]
    #[case::cut_in_escape(r#"{"seq":0,"ts":"t","type":"output","payload":{"data":"\u00"#, false)]
    #[case::empty("", false)]
    #[case::garbage("not json at all", false)]
    fn the_scanner_decodes_as_serde_or_leaves_the_line_to_it(
        #[case] line: &str,
        #[case] fast: bool,
    ) {
        agree(line.as_bytes());
        assert_eq!(is_fast(line.as_bytes()), fast, "{line}");
    }

    /// The word-at-a-time test finds exactly the bytes the table stops at,
    /// wherever they are among other bytes.
    #[test]
    fn stops_are_found_a_word_at_a_time_exactly_as_byte_by_byte() {
        let mut rng = Rng::new(0x5709);
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = b;
                assert_eq!(
                    stops_in(u64::from_ne_bytes(word)),
                    STOP[b as usize],
                    "{b:#x}"
                );
            }
        }
        for _ in 0..100_000 {
            let word: [u8; 8] = std::array::from_fn(|_| rng.next() as u8);
            let expected = word.iter().any(|&b| STOP[b as usize]);
            assert_eq!(stops_in(u64::from_ne_bytes(word)), expected, "{word:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_left_to_serde() {
        let mut line = br#"{"seq":0,"ts":"t","type":"output","payload":{"data":"ab"}}"#.to_vec();
        line[52] = 0xff;
        agree(&line);
        assert!(!is_fast(&line));
        assert!(decode_owned(&line).is_err());
    }

    /// Every line our writer makes takes the fast path, whatever the text.
    #[test]
    fn lines_our_writer_makes_take_the_fast_path() {
        let mut rng = Rng::new(0x0dec_0de5);
        let alphabet: Vec<char> = "a\u{1b}\u{7}\u{0}\r\n\t\"\\/é日🎉\u{7f}\u{80}\u{2028}\u{fffd}"
            .chars()
            .collect();
        for seq in 0..2000 {
            let data: String = (0..rng.below(40))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let event = Event {
                seq,
                ts: "2026-11-24T03:50:02.677Z".into(),
                body: EventBody::Output { data },
            };
            let line = serde_json::to_vec(&event).unwrap();
            assert!(is_fast(&line), "{}", String::from_utf8_lossy(&line));
            assert_eq!(decode_owned(&line).unwrap(), event);
        }
    }

    /// Random mutations of valid lines (bytes flipped, cut, keys swapped,
    /// escapes broken): the scanner and serde always agree.
    #[test]
    fn mutated_lines_decode_as_serde_decodes_them() {
        let mut rng = Rng::new(0x5ca1_ab1e);
        let base = [
            r#"{"seq":12,"ts":"2026-11-24T03:50:02.677Z","type":"output","payload":{"data":"\u001b[32m ok\u001b[0m \ud83c\udf89 \u00e9\r\n"}}"#,
            r#"{"payload":{"data":"\"q\" \\ \/"},"seq":0,"type":"output","ts":"t"}"#,
            r#"{"seq":3,"ts":"t","type":"marker","payload":{"label":"x"}}"#,
        ];
        let pieces: [&[u8]; 12] = [
            b"\\", b"\"", b"\\u", b"\\ud83c", b"\\udf89", b"0", b"-", b".", b",", b"}", b"\xc3",
            b" ",
        ];
        for _ in 0..20_000 {
            let mut line = base[rng.below(base.len())].as_bytes().to_vec();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(line.len() + 1);
                match rng.below(4) {
                    0 if at < line.len() => {
                        line.remove(at);
                    }
                    1 if at < line.len() => line[at] ^= 1 << rng.below(8),
                    2 => line.truncate(at),
                    _ => {
                        let piece = pieces[rng.below(pieces.len())];
                        line.splice(at..at, piece.iter().copied());
                    }
                }
            }
            agree(&line);
        }
    }
}
