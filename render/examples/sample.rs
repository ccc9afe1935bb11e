//! Draws a sample screen (every script the fallback chain covers) to a PNG:
//! `cargo run -p agent-tty-render --example sample -- out.png`.
use agent_tty_core::screen::ScreenReplay;
use agent_tty_render::{Renderer, Screen};
use agent_tty_term::profile::REFERENCE_DARK;

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sample.png".into());
    let text = std::env::args().nth(2).unwrap_or_else(|| {
        "Latin: Hello, world! café\r\n\
         CJK: 日本語 中文 한국어\r\n\
         Emoji: ✅ 😀 👨\u{200d}👩\u{200d}👧 🇫🇷 ❤\u{fe0f}\r\n\
         Hebrew: שלום  Thai: สวัสดี\r\n\
         Braille: ⠁⠃⠉⠙⠑⠋⠛⠓ ⣿⡇⢸\r\n\
         ─┼─ ┌──┬──┐ ╔══╗ ╭──╮ ▀▄█▌▐░▒▓ \u{e0b0}\u{e0b1}\u{e0b2}\u{e0b3} \u{e0a0} \u{f09b}\r\n\
         \x1b[44m \u{e0b0}\x1b[0m\x1b[34m\u{e0b0}\x1b[0m │ ├──┼──┤ ║  ║ ╰──╯ ▁▂▃▄▅▆▇█\r\n"
            .into()
    });
    let mut replay = ScreenReplay::new(60, 8);
    replay.feed(text.as_bytes());
    let cells = replay.visible_cells();
    let t = std::time::Instant::now();
    let mut r = Renderer::new(&REFERENCE_DARK);
    eprintln!("Renderer::new in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let image = r.render(&Screen {
        cells: &cells,
        cursor: None,
    });
    eprintln!(
        "rendered in {:?}; missing: {:?}",
        t.elapsed(),
        r.missing_glyphs()
    );
    std::fs::write(out, image.to_png()).unwrap();
}
