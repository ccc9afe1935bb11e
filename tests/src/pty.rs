//! Driving the real binary in a real pseudo-terminal, the way a person's
//! terminal would: the child gets the PTY's slave side as its stdin, stdout,
//! stderr and controlling terminal, and everything it draws is fed through a
//! VT emulator so tests (and benchmarks) can read the screen.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

struct Shared {
    parser: Mutex<vt100::Parser>,
    changed: Condvar,
}

/// A child process running on its own PTY.
pub struct PtyChild {
    child: Child,
    master: File,
    slave: Option<OwnedFd>,
    shared: Arc<Shared>,
}

impl PtyChild {
    /// Starts `cmd` on a new PTY of `cols`×`rows`, as the leader of a new
    /// session with the PTY as its controlling terminal.
    pub fn spawn(mut cmd: Command, cols: u16, rows: u16) -> Self {
        let (master, slave) = agent_tty_runtime::pty::open(cols, rows).expect("open a PTY");
        let kept = slave.try_clone().expect("dup the PTY slave");
        agent_tty_runtime::pty::attach(&mut cmd, slave).expect("attach to the PTY");
        cmd.env("TERM", "xterm-256color");
        let child = cmd.spawn().expect("spawn on the PTY");
        drop(cmd);
        let master = File::from(master);
        let shared = Arc::new(Shared {
            parser: Mutex::new(vt100::Parser::new(rows, cols, 0)),
            changed: Condvar::new(),
        });
        let mut reader = master.try_clone().expect("dup the PTY master");
        let feed = Arc::clone(&shared);
        std::thread::spawn(move || {
            let mut buf = [0u8; 64 * 1024];
            // Ends with EIO once every slave descriptor is closed.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.parser.lock().unwrap().process(&buf[..n]);
                feed.changed.notify_all();
            }
        });
        PtyChild {
            child,
            master,
            slave: Some(kept),
            shared,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The screen's text, rows joined by newlines.
    pub fn screen(&self) -> String {
        self.shared.parser.lock().unwrap().screen().contents()
    }

    /// Whether the child has the terminal in its alternate screen.
    pub fn alternate_screen(&self) -> bool {
        self.shared
            .parser
            .lock()
            .unwrap()
            .screen()
            .alternate_screen()
    }

    /// Waits until `check` holds for the screen; returns how long that took,
    /// or `None` after `timeout`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        check: impl Fn(&vt100::Screen) -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        let mut parser = self.shared.parser.lock().unwrap();
        loop {
            if check(parser.screen()) {
                return Some(start.elapsed());
            }
            let left = timeout.checked_sub(start.elapsed())?;
            parser = self.shared.changed.wait_timeout(parser, left).unwrap().0;
        }
    }

    /// Waits until the screen shows `text`, panicking with the screen if it
    /// does not within `timeout`.
    pub fn expect_text(&self, text: &str, timeout: Duration) -> Duration {
        self.wait_for(timeout, |s| s.contents().contains(text))
            .unwrap_or_else(|| panic!("{text:?} did not appear; the screen:\n{}", self.screen()))
    }

    /// Types bytes into the terminal.
    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to the PTY");
    }

    /// Waits for the child to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the terminal is back in its ordinary (cooked, echoing) mode.
    pub fn terminal_restored(&self) -> bool {
        let slave = self.slave.as_ref().expect("the slave is open until drop");
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr fills the struct we own from an open descriptor.
        if unsafe { libc::tcgetattr(slave.as_raw_fd(), &mut t) } != 0 {
            return false;
        }
        t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
    }

    /// Sends a signal to the child.
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }
}

impl Drop for PtyChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Closing our slave lets the reader thread see EIO and end.
        self.slave.take();
    }
}
