//! Keeping a failure inside the pane that failed.
//!
//! The dashboard reads things it does not control: Event Logs of any size
//! and shape, Homes that vanish, plugin panes. A bug anywhere under one of
//! those reads (ours, the emulator's, a plugin's glue) must not take the
//! whole dashboard down; it shows as an error where that one thing is drawn
//! and everything else keeps working.
//!
//! [`catching`] runs a piece of work and turns a panic into an `Err` with
//! the panic's message. The terminal's panic hook (which puts the terminal
//! back before a crash report) must not fire for such a caught panic, so the
//! host installs [`install_panic_hook`] on top of it: while a thread is
//! inside [`catching`], a panic is only recorded, not reported.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    static CATCHING: Cell<u32> = const { Cell::new(0) };
}

/// Runs `work`; a panic inside it becomes `Err(message)`.
///
/// The work is treated as unwind safe: every caller throws away whatever
/// state the panicking work was building (a replay, a drawing, a pane
/// answer) and shows the error instead.
pub fn catching<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    CATCHING.with(|c| c.set(c.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(work));
    CATCHING.with(|c| c.set(c.get() - 1));
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        format!("internal error: {message}")
    })
}

/// Whether this thread is inside [`catching`].
pub fn is_catching() -> bool {
    CATCHING.with(|c| c.get() > 0)
}

/// Wraps the current panic hook so that panics [`catching`] will catch skip
/// it (no terminal restore, no report over the screen); every other panic
/// runs `before` (the host's extra terminal clean-up) and then the previous
/// hook.
pub fn install_panic_hook(before: fn()) {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !is_catching() {
            before();
            previous(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let r: Result<(), _> = catching(|| panic!("boom {}", 1));
        let e = r.unwrap_err();
        assert!(e.contains("boom 1"), "{e}");
        assert!(!is_catching());
        assert_eq!(catching(|| 5), Ok(5));
    }
}
