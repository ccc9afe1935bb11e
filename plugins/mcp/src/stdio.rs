//! The stdio stream between the MCP client and rmcp, with the JSON-RPC 2.0
//! answers rmcp does not give.
//!
//! rmcp's stdio transport drops a line that is not JSON without a word (so a
//! client that echoes errors back cannot start a storm), and answers other
//! bad messages with an error that has no `id`. JSON-RPC 2.0 (§5.1) asks
//! for `-32700 Parse error` to a line that is not JSON and `-32600 Invalid
//! Request` to JSON that is not a request object, both with `"id": null`;
//! a client that sent a broken line and waits for its answer must not wait
//! for ever. So the stream passes through [`filtered`]: a task reads the
//! client's lines, answers those two cases itself and hands every other line
//! to rmcp unchanged; a second task is the only writer of the client's
//! stream, writing rmcp's messages and these answers whole lines at a time.
//! Every other check (methods, params, ids) stays rmcp's.

use rmcp::model::ErrorCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::io::{DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The longest message line: rmcp's own bound for a stdio message, so a
/// client never learns two limits.
pub const MAX_LINE: usize = rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH;

/// The buffer between the two tasks and rmcp: one typical message.
const PIPE: usize = 64 << 10;

/// Answers waiting for the writer: a client that sends broken lines and
/// never reads what comes back is slowed down (its lines are no longer
/// read), not remembered without bound.
const ANSWERS_WAITING: usize = 64;

/// The UTF-8 byte order mark rmcp skips before a message (RFC 8259 §8.1).
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The stream rmcp serves on: read and write halves in front of `input` and
/// `output`, and the writer task, to be awaited once rmcp is done so every
/// answer is out before the process ends.
pub struct Filtered {
    /// What rmcp reads: the client's lines that are JSON-RPC messages.
    pub read: ReadHalf<DuplexStream>,
    /// What rmcp writes: passed to `output` a line at a time.
    pub write: WriteHalf<DuplexStream>,
    /// Ends when rmcp has closed its side (after writing the answers queued).
    pub writer: JoinHandle<()>,
}

/// Starts the two tasks between the client (`input`, `output`) and rmcp.
/// Must run inside a tokio runtime.
pub fn filtered<R, W>(input: R, output: W) -> Filtered
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (ours, rmcps) = tokio::io::duplex(PIPE);
    let (from_rmcp, to_rmcp) = tokio::io::split(ours);
    let (read, write) = tokio::io::split(rmcps);
    let (answers, answered) = mpsc::channel(ANSWERS_WAITING);
    tokio::spawn(read_client(input, to_rmcp, answers));
    let writer = tokio::spawn(write_client(from_rmcp, answered, output));
    Filtered {
        read,
        write,
        writer,
    }
}

/// One line read, within [`MAX_LINE`].
enum Line {
    /// A line (with its `\n`, unless it was the last bytes before the end).
    Whole,
    /// A line longer than [`MAX_LINE`], read to its end and dropped.
    TooLong,
    /// The end of the stream (or a read error: nothing more will come).
    End,
}

async fn read_line<R: AsyncRead + Unpin>(input: &mut BufReader<R>, line: &mut Vec<u8>) -> Line {
    line.clear();
    let limit = MAX_LINE as u64 + 1;
    match (&mut *input).take(limit).read_until(b'\n', line).await {
        Ok(0) | Err(_) => return Line::End,
        Ok(_) if line.len() <= MAX_LINE || line.ends_with(b"\n") => return Line::Whole,
        Ok(_) => {}
    }
    // Too long: skip to its newline, never holding more than MAX_LINE.
    loop {
        line.clear();
        match (&mut *input).take(limit).read_until(b'\n', line).await {
            Ok(0) | Err(_) => return Line::End,
            Ok(_) if line.ends_with(b"\n") => return Line::TooLong,
            Ok(_) => {}
        }
    }
}

/// What to do with one line from the client.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// A JSON-RPC message (or a blank line): rmcp's to handle.
    Pass,
    /// Answer with this JSON-RPC error response.
    Answer(Value),
}

/// Sorts one line: not JSON is a parse error; JSON that is not an object
/// carrying `"jsonrpc": "2.0"` is an invalid request; the rest is rmcp's.
fn judge(line: &[u8]) -> Verdict {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let body = body.strip_prefix(BOM).unwrap_or(body);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Pass;
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return Verdict::Answer(error(
                ErrorCode::PARSE_ERROR,
                &format!("Parse error: the line is not JSON ({e})"),
            ))
        }
    };
    match value.as_object() {
        Some(message) if message.get("jsonrpc") == Some(&json!("2.0")) => Verdict::Pass,
        Some(_) => Verdict::Answer(error(
            ErrorCode::INVALID_REQUEST,
            "Invalid Request: a JSON-RPC 2.0 message needs \"jsonrpc\": \"2.0\"",
        )),
        None => Verdict::Answer(error(
            ErrorCode::INVALID_REQUEST,
            "Invalid Request: a message must be a JSON object (batches are not part of MCP)",
        )),
    }
}

/// A JSON-RPC error response to a message whose id could not be read.
fn error(code: ErrorCode, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": null, "error": {"code": code.0, "message": message}})
}

/// Reads the client's lines: each message goes to rmcp, each line
/// [`judge`] refuses gets its answer. Ends at the end of `input` (rmcp then
/// sees the end of its stream) or when rmcp has stopped reading.
async fn read_client<R: AsyncRead + Unpin>(
    input: R,
    mut to_rmcp: WriteHalf<DuplexStream>,
    answers: mpsc::Sender<Value>,
) {
    let mut input = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        let verdict = match read_line(&mut input, &mut line).await {
            Line::End => break,
            Line::TooLong => Verdict::Answer(error(
                ErrorCode::INVALID_REQUEST,
                &format!("Invalid Request: a message line is longer than {MAX_LINE} bytes"),
            )),
            Line::Whole => judge(&line),
        };
        let passed = match verdict {
            Verdict::Pass if line.ends_with(b"\n") => to_rmcp.write_all(&line).await,
            // The last bytes before the end, without their newline.
            Verdict::Pass => match to_rmcp.write_all(&line).await {
                Ok(()) => to_rmcp.write_all(b"\n").await,
                Err(e) => Err(e),
            },
            // The writer is gone (the client's stream closed): stop.
            Verdict::Answer(answer) => answers
                .send(answer)
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
        };
        if passed.is_err() {
            break;
        }
    }
    let _ = to_rmcp.shutdown().await;
}

/// The one writer of the client's stream: rmcp's lines and [`read_client`]'s
/// answers, each whole and flushed. Ends once rmcp has closed its side,
/// after writing the answers already queued.
async fn write_client<W: AsyncWrite + Unpin>(
    from_rmcp: ReadHalf<DuplexStream>,
    mut answered: mpsc::Receiver<Value>,
    mut output: W,
) {
    let mut from_rmcp = BufReader::new(from_rmcp);
    let mut line = Vec::new();
    loop {
        tokio::select! {
            // `read_until` keeps what it has read in `line` when the other
            // branch wins, so no part of a message is lost.
            read = from_rmcp.read_until(b'\n', &mut line) => {
                if !matches!(read, Ok(n) if n > 0) {
                    break;
                }
                if write_line(&mut output, &line).await.is_err() {
                    return;
                }
                line.clear();
            }
            Some(answer) = answered.recv() => {
                if write_line(&mut output, &answer_line(&answer)).await.is_err() {
                    return;
                }
            }
        }
    }
    while let Ok(answer) = answered.try_recv() {
        if write_line(&mut output, &answer_line(&answer))
            .await
            .is_err()
        {
            return;
        }
    }
}

fn answer_line(answer: &Value) -> Vec<u8> {
    let mut line = answer.to_string().into_bytes();
    line.push(b'\n');
    line
}

async fn write_line<W: AsyncWrite + Unpin>(output: &mut W, line: &[u8]) -> std::io::Result<()> {
    output.write_all(line).await?;
    output.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::not_json(b"{\"jsonrpc\": \"2.0\", \"method\": \n", -32700)]
    #[case::not_utf8(b"\xff\xfe\n", -32700)]
    #[case::a_number(b"42\n", -32600)]
    #[case::an_empty_batch(b"[]\n", -32600)]
    #[case::a_batch(b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]\n", -32600)]
    #[case::no_version(b"{\"id\": 1, \"method\": \"ping\"}\n", -32600)]
    fn a_line_that_is_no_message_is_answered_with_id_null(#[case] line: &[u8], #[case] code: i32) {
        let Verdict::Answer(answer) = judge(line) else {
            panic!("{line:?} was passed on")
        };
        assert_eq!(answer["error"]["code"], code);
        assert_eq!(answer["jsonrpc"], "2.0");
        assert!(answer.get("id").is_some_and(Value::is_null), "{answer}");
    }

    #[rstest]
    #[case::a_request(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n")]
    #[case::with_bom_and_crlf(b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\r\n")]
    #[case::blank(b"  \n")]
    fn a_message_is_rmcps(#[case] line: &[u8]) {
        assert_eq!(judge(line), Verdict::Pass);
    }
}
