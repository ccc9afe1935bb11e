//! `attach <id> [--detach-key KEY]`: a person takes a Session over in their
//! own terminal, read-write, as `tmux attach` does.
//!
//! - The Session becomes **controlled** (`runtime::takeover`): agent input
//!   commands get `SESSION_CONTROLLED` until the person detaches; watchers
//!   (`snapshot`, `wait`, the dashboard) keep working, and
//!   `wait --released` returns on detach.
//! - The person's terminal goes to its alternate screen in raw mode. The
//!   Session's screen is drawn from the engine's replay of the Event Log,
//!   and after that every change is drawn the same way, row by row: the
//!   program's bytes never reach the person's terminal directly (a hostile
//!   program cannot set their clipboard, title or colours), only the
//!   input modes it set are mirrored (cursor keys, bracketed paste, mouse).
//! - Keys go to the Session as they are typed; the detach key (`Ctrl+\` by
//!   default; `--detach-key` or `AGENT_TTY_DETACH_KEY`) ends the attach.
//! - The Session takes the person's terminal size while attached and gets
//!   its previous size back on detach.
//! - Whatever ends the attach (detach, the Session ending, an error), the
//!   terminal is put back as it was: its modes, the main screen, cooked mode.

use crate::agent_loop::target::Target;
use agent_tty_core::event_log::{EventBody, EventLogFollower};
use agent_tty_core::manifest::read_manifest;
use agent_tty_core::screen::ScreenReplay;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec, CommandTable};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_runtime::control::ControlRequest;
use agent_tty_runtime::takeover;
use agent_tty_session_host::Utf8Carry;
use agent_tty_term::cells::{Cell, CellColor, CellWidth};
use agent_tty_term::keys;
use agent_tty_term::modes::RESET_INPUT_MODES;
use nix::sys::termios::{self, SetArg, Termios};
use serde_json::json;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The detach key unless one is chosen.
pub const DEFAULT_DETACH_KEY: &str = "Ctrl+\\";

/// This module's command.
pub fn commands() -> CommandTable {
    CommandTable::new().with(command())
}

fn command() -> Command {
    let spec = CommandSpec::new(
        &["attach"],
        "Take a Session over in this terminal (read-write) until the detach key (Ctrl+\\)",
    )
    .arg(ArgSpec::session_id("The Session id"))
    .arg(ArgSpec::option(
        "detach-key",
        "KEY",
        "The key that detaches, e.g. Ctrl+] (default Ctrl+\\, or $AGENT_TTY_DETACH_KEY)",
    ));
    Command::new(spec, |_, inv| attach(inv))
}

/// The detach key's one byte.
fn detach_byte(inv: &Invocation) -> Result<(u8, String), PluginError> {
    let env = std::env::var("AGENT_TTY_DETACH_KEY").ok();
    let name = inv
        .value("detach-key")
        .map(str::to_owned)
        .or(env)
        .unwrap_or_else(|| DEFAULT_DETACH_KEY.to_owned());
    let bytes = keys::encode(std::slice::from_ref(&name))?;
    match bytes.as_slice() {
        [b] => Ok((*b, name)),
        _ => Err(PluginError::new(
            ErrorCode::InvalidKeys,
            format!(
                "The detach key must be one that sends a single byte, such as Ctrl+\\ or Ctrl+]; \
                 {name:?} sends {} bytes",
                bytes.len()
            ),
        )),
    }
}

/// The size of the terminal on `fd`, as (cols, rows).
fn terminal_size(fd: i32) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we own.
    let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0 && ws.ws_row > 0).then_some((ws.ws_col, ws.ws_row))
}

/// Puts the person's terminal back as it was, however the attach ends.
struct TerminalGuard {
    saved: Termios,
}

impl TerminalGuard {
    fn enter() -> Result<TerminalGuard, PluginError> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).map_err(|e| {
            PluginError::new(
                ErrorCode::InvalidInput,
                format!("attach needs a terminal on standard input ({e}); run it in a terminal"),
            )
        })?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).map_err(|e| {
            PluginError::internal(format!("cannot put the terminal in raw mode: {e}"))
        })?;
        // Alternate screen, cleared.
        write_out("\x1b[?1049h\x1b[H\x1b[2J");
        Ok(TerminalGuard { saved })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        write_out(&format!("\x1b[0m{RESET_INPUT_MODES}\x1b[?1049l"));
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

fn write_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Draws the engine's screen on the person's terminal, only the rows that
/// changed since the last frame.
struct Painter {
    drawn: Vec<Vec<Cell>>,
    modes: String,
}

impl Painter {
    fn new() -> Self {
        Painter {
            drawn: Vec::new(),
            modes: String::new(),
        }
    }

    fn paint(&mut self, replay: &ScreenReplay, force: bool) {
        let rows = replay.visible_cells();
        let mut frame = String::new();
        if force || rows.len() != self.drawn.len() {
            frame.push_str("\x1b[0m\x1b[H\x1b[2J");
            self.drawn.clear();
        }
        for (r, row) in rows.iter().enumerate() {
            if self.drawn.get(r) == Some(row) {
                continue;
            }
            frame.push_str(&format!("\x1b[{};1H\x1b[0m\x1b[2K", r + 1));
            draw_row(&mut frame, row);
        }
        let modes = replay.input_modes();
        if modes != self.modes {
            frame.push_str(&modes);
            self.modes = modes;
        }
        let (cr, cc) = replay.cursor();
        frame.push_str(&format!("\x1b[0m\x1b[{};{}H", cr + 1, cc + 1));
        write_out(&frame);
        self.drawn = rows;
    }
}

/// One row's cells with their colours and attributes.
fn draw_row(out: &mut String, row: &[Cell]) {
    let mut style = Cell::default();
    for cell in row {
        if cell.width == CellWidth::WideSpacer {
            continue;
        }
        let same = cell.fg == style.fg
            && cell.bg == style.bg
            && cell.bold == style.bold
            && cell.dim == style.dim
            && cell.italic == style.italic
            && cell.underline == style.underline
            && cell.inverse == style.inverse
            && cell.strikethrough == style.strikethrough;
        if !same {
            out.push_str(&sgr(cell));
            style = cell.clone();
        }
        // Control characters never reach the terminal from a cell.
        let text: String = cell.text.chars().filter(|c| !c.is_control()).collect();
        out.push_str(if text.is_empty() { " " } else { &text });
    }
    out.push_str("\x1b[0m");
}

fn sgr(cell: &Cell) -> String {
    let mut codes = vec!["0".to_owned()];
    for (on, code) in [
        (cell.bold, "1"),
        (cell.dim, "2"),
        (cell.italic, "3"),
        (cell.underline, "4"),
        (cell.inverse, "7"),
        (cell.strikethrough, "9"),
    ] {
        if on {
            codes.push(code.to_owned());
        }
    }
    for (color, base) in [(cell.fg, 38), (cell.bg, 48)] {
        match color {
            CellColor::Default => {}
            CellColor::Indexed { index } => codes.push(format!("{base};5;{index}")),
            CellColor::Rgb { r, g, b } => codes.push(format!("{base};2;{r};{g};{b}")),
        }
    }
    format!("\x1b[{}m", codes.join(";"))
}

/// Why the attach loop ended.
enum End {
    Detached,
    SessionEnded,
}

fn attach(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let (detach, detach_name) = detach_byte(inv)?;
    let target = Target::find(inv)?;
    target.require_running()?;
    let stdin_fd = std::io::stdin().as_raw_fd();
    if !nix::unistd::isatty(stdin_fd).unwrap_or(false) {
        return Err(PluginError::new(
            ErrorCode::InvalidInput,
            "attach needs a terminal on standard input; run it in a terminal (agents use \
             type, send-keys and snapshot instead)",
        ));
    }
    let holder = takeover::describe_person();
    let control = takeover::acquire(&target.dir, &target.id, &holder)?;
    let previous = (target.manifest.cols, target.manifest.rows);
    let started = Instant::now();
    let winch = Arc::new(AtomicBool::new(true));
    let _winch_hook = signal_hook::flag::register(libc::SIGWINCH, winch.clone())
        .map_err(|e| PluginError::internal(format!("cannot watch for terminal resizes: {e}")))?;
    // A closed terminal (SIGHUP) or a kill (SIGTERM) detaches like the key,
    // so the Session still gets its size back.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [libc::SIGHUP, libc::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| PluginError::internal(format!("cannot watch for signals: {e}")))?;
    }
    let mut sent_bytes = 0usize;
    let outcome = {
        let _terminal = TerminalGuard::enter()?;
        run_loop(&target, detach, (&winch, &stop), &mut sent_bytes)
    };
    // The terminal is restored; now the Session's size, then control.
    let restored = match read_manifest(&target.dir) {
        Ok(m) if m.status.is_commandable() && (m.cols, m.rows) != previous => target
            .send(&ControlRequest::Resize {
                cols: previous.0,
                rows: previous.1,
            })
            .is_ok(),
        _ => false,
    };
    drop(control);
    let end = outcome?;
    let ended = matches!(end, End::SessionEnded);
    let result = json!({
        "sessionId": target.id,
        "detached": !ended,
        "sessionEnded": ended,
        "durationMs": started.elapsed().as_millis() as u64,
        "bytesSent": sent_bytes,
        "detachKey": detach_name,
        "sizeRestored": restored,
        "cols": previous.0,
        "rows": previous.1,
    });
    let human = if ended {
        format!("Session {} ended while attached.", target.id)
    } else {
        format!(
            "Detached from Session {} (its size is back to {}x{}).",
            target.id, previous.0, previous.1
        )
    };
    Ok(CommandOutput::new(result, human))
}

/// The text of one read from the person's terminal, up to the detach key,
/// and whether that key was pressed. A character split across reads (a
/// 4096-byte read can end inside one) is kept in `carry` and completed by the
/// next read instead of becoming U+FFFD.
fn split_keys(carry: &mut Utf8Carry, read: &[u8], detach: u8) -> (String, bool) {
    let (keys, detached) = match read.iter().position(|&b| b == detach) {
        Some(i) => (&read[..i], true),
        None => (read, false),
    };
    (carry.decode(keys).into_owned(), detached)
}

/// Input to the Session, its screen to the person, until detach or the end.
fn run_loop(
    target: &Target,
    detach: u8,
    (winch, stop): (&AtomicBool, &AtomicBool),
    sent_bytes: &mut usize,
) -> Result<End, PluginError> {
    let mut replay = ScreenReplay::for_manifest_with_scrollback(&target.manifest, 0);
    let mut follower = EventLogFollower::new(&target.event_log());
    replay.catch_up(&mut follower)?;
    let mut painter = Painter::new();
    painter.paint(&replay, true);
    let stdin = std::io::stdin();
    let mut buf = [0u8; 4096];
    let mut carry = Utf8Carry::default();
    let mut quiet = Duration::from_millis(1);
    let mut last_status_check = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(End::Detached);
        }
        if winch.swap(false, Ordering::Relaxed) {
            if let Some((cols, rows)) = terminal_size(std::io::stdout().as_raw_fd()) {
                if replay.size() != (cols, rows) {
                    target.send(&ControlRequest::Resize { cols, rows })?;
                }
            }
            painter.paint(&replay, true);
        }
        let mut fds = [nix::poll::PollFd::new(
            stdin.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let timeout = nix::poll::PollTimeout::try_from(quiet.as_millis() as i32)
            .unwrap_or(nix::poll::PollTimeout::ZERO);
        let ready = match nix::poll::poll(&mut fds, timeout) {
            Ok(n) => n > 0,
            Err(nix::errno::Errno::EINTR) => false,
            Err(e) => return Err(PluginError::internal(format!("reading the terminal: {e}"))),
        };
        if ready {
            let n = nix::unistd::read(stdin.as_raw_fd(), &mut buf)
                .map_err(|e| PluginError::internal(format!("reading the terminal: {e}")))?;
            if n == 0 {
                return Ok(End::Detached);
            }
            let (keys, detached) = split_keys(&mut carry, &buf[..n], detach);
            if !keys.is_empty() {
                *sent_bytes += keys.len();
                target.send(&ControlRequest::Text {
                    data: keys,
                    secret: false,
                })?;
            }
            if detached {
                return Ok(End::Detached);
            }
            quiet = Duration::from_millis(1);
        }
        let mut ended = false;
        let applied = follower.read_new(|event| {
            ended |= matches!(event.body, EventBody::Exit { .. });
            replay.apply(&event);
        })?;
        if applied > 0 {
            painter.paint(&replay, false);
            quiet = Duration::from_millis(1);
        } else if !ready {
            quiet = (quiet * 2).min(Duration::from_millis(10));
        }
        if !ended && last_status_check.elapsed() >= Duration::from_millis(250) {
            last_status_check = Instant::now();
            ended = read_manifest(&target.dir).is_ok_and(|m| m.status.is_terminal());
        }
        if ended {
            return Ok(End::SessionEnded);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_reads_reaches_the_session_whole() {
        let mut carry = Utf8Carry::default();
        let typed = "aé😀".as_bytes();
        let (first, detached) = split_keys(&mut carry, &typed[..2], 0x1c);
        assert_eq!((first.as_str(), detached), ("a", false));
        let (second, _) = split_keys(&mut carry, &typed[2..5], 0x1c);
        assert_eq!(second, "é");
        let (third, detached) = split_keys(
            &mut carry,
            &[typed[5..].to_vec(), vec![0x1c, b'x']].concat(),
            0x1c,
        );
        assert_eq!((third.as_str(), detached), ("😀", true));
    }

    #[test]
    fn rows_are_drawn_with_their_style_and_without_controls() {
        let mut replay = ScreenReplay::new(6, 2);
        replay.apply(&agent_tty_core::event_log::Event {
            seq: 0,
            ts: "2026-01-01T00:00:00.000Z".into(),
            body: EventBody::Output {
                data: "\x1b[1;31mA\x1b[0mb".into(),
            },
        });
        let mut out = String::new();
        draw_row(&mut out, &replay.visible_cells()[0]);
        assert!(out.starts_with("\x1b[0;1;38;5;1mA\x1b[0mb"), "{out:?}");
        assert!(!out.contains('\x07'));
    }
}
