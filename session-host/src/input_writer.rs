//! Input on its way to the Session's program.
//!
//! A request handler logs its input event and queues the bytes here
//! ([`InputQueue::push`]); it answers at once. One writer thread
//! ([`InputQueue::write_to`]) writes the queue to the PTY in the order it
//! was filled, [`SLICE`] bytes at a time. A program reads a large `type`
//! (10 MB) at its own pace, perhaps for a minute: meanwhile the host goes on
//! answering requests, and terminal answers ([`InputQueue::answer`]) reach
//! the program between two slices instead of after the whole text
//! (ADR 0015). Being written by the same thread, an answer never lands
//! inside a slice, and a slice never ends inside a UTF-8 character or an
//! escape sequence, so an answer never splits one either.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Bytes written to the PTY at a time (at most).
pub const SLICE: usize = 4096;

/// A slice ends before an escape sequence started in its last this many
/// bytes, so the sequence goes whole in the next one (the sequences typed
/// are keys and pastes' brackets, far shorter).
const SEQUENCE_ROOM: usize = 64;

/// The most input that may wait for the program to read it: a few of the
/// largest requests. More is refused until the program catches up.
pub const MAX_QUEUED: usize = 64 * 1024 * 1024;

/// Input waiting to be written, in order.
#[derive(Default)]
pub struct InputQueue {
    state: Mutex<Queued>,
    filled: Condvar,
}

#[derive(Default)]
struct Queued {
    /// Terminal answers, written before the rest of the input.
    answers: VecDeque<Vec<u8>>,
    /// Inputs in order; the first may be partly written already.
    inputs: VecDeque<Vec<u8>>,
    /// How much of the first input is written.
    written: usize,
    /// Bytes waiting, in total.
    bytes: usize,
    /// No more input: the writer ends once the queue is empty.
    closed: bool,
}

impl InputQueue {
    fn lock(&self) -> MutexGuard<'_, Queued> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `bytes` after everything queued before; `Err` with the bytes
    /// still waiting when that is already [`MAX_QUEUED`] or more.
    pub fn push(&self, bytes: Vec<u8>) -> Result<(), usize> {
        if bytes.is_empty() {
            return Ok(());
        }
        let mut q = self.lock();
        if q.bytes >= MAX_QUEUED {
            return Err(q.bytes);
        }
        q.bytes += bytes.len();
        q.inputs.push_back(bytes);
        self.filled.notify_one();
        Ok(())
    }

    /// Queues a terminal answer, to be written before any more input (at
    /// the next slice's boundary).
    pub fn answer(&self, bytes: Vec<u8>) {
        let mut q = self.lock();
        if q.closed || bytes.is_empty() {
            return;
        }
        q.answers.push_back(bytes);
        self.filled.notify_one();
    }

    /// Bytes of input queued or being written, not yet written whole: 0
    /// only once the terminal has every byte typed (a write blocked on a
    /// full terminal still counts).
    pub fn pending(&self) -> usize {
        self.lock().bytes
    }

    /// Ends the writer once it has written what is queued (or at once, if
    /// the program has gone and writes fail).
    pub fn close(&self) {
        self.lock().closed = true;
        self.filled.notify_all();
    }

    /// The next slice to write, and whether it is input (not an answer),
    /// waiting for one; `None` once closed and empty.
    fn next_slice(&self) -> Option<(Vec<u8>, bool)> {
        let mut q = self.lock();
        loop {
            if let Some(answer) = q.answers.pop_front() {
                return Some((answer, false));
            }
            if let Some(first) = q.inputs.front() {
                let start = q.written;
                let end = slice_end(first, start);
                let slice = first[start..end].to_vec();
                if end == first.len() {
                    q.inputs.pop_front();
                    q.written = 0;
                } else {
                    q.written = end;
                }
                return Some((slice, true));
            }
            if q.closed {
                return None;
            }
            q = self.filled.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Drops everything queued (the program can no longer read it).
    fn discard(&self) {
        let mut q = self.lock();
        q.answers.clear();
        q.inputs.clear();
        q.written = 0;
        q.bytes = 0;
    }

    /// The writer thread's loop: writes the queue to `master` slice by
    /// slice until [`Self::close`]. A failed write (the program and its
    /// terminal are gone) discards what is queued.
    pub fn write_to(&self, mut master: &File) {
        while let Some((slice, input)) = self.next_slice() {
            let written = master.write_all(&slice);
            if input {
                let mut q = self.lock();
                // `discard` may have zeroed the count meanwhile.
                q.bytes = q.bytes.saturating_sub(slice.len());
            }
            if written.is_err() {
                self.discard();
            }
        }
    }
}

/// Where the slice of `input` from `start` ends: [`SLICE`] bytes on, or
/// before, so that it does not end inside a UTF-8 character or inside an
/// escape sequence started in its last [`SEQUENCE_ROOM`] bytes. A slice is
/// never empty.
fn slice_end(input: &[u8], start: usize) -> usize {
    let mut end = (start + SLICE).min(input.len());
    if end == input.len() {
        return end;
    }
    let room = end.saturating_sub(SEQUENCE_ROOM).max(start + 1);
    if let Some(esc) = input[room..end].iter().rposition(|&b| b == 0x1b) {
        end = room + esc;
    }
    // A continuation byte (10xxxxxx) is inside a character.
    while end > start + 1 && input[end] & 0xc0 == 0x80 {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn inputs_are_written_in_order_in_slices_and_the_queue_is_bounded() {
        let queue = std::sync::Arc::new(InputQueue::default());
        let (mut read, write) = std::os::unix::net::UnixStream::pair().unwrap();
        let big: Vec<u8> = (0..SLICE * 3 + 17).map(|i| (i % 251) as u8).collect();
        queue.push(big.clone()).unwrap();
        queue.push(b"after".to_vec()).unwrap();
        assert_eq!(queue.pending(), big.len() + 5);
        let writer = {
            let queue = std::sync::Arc::clone(&queue);
            let file = File::from(std::os::fd::OwnedFd::from(write));
            std::thread::spawn(move || queue.write_to(&file))
        };
        let mut got = vec![0u8; big.len() + 5];
        read.read_exact(&mut got).unwrap();
        assert_eq!(&got[..big.len()], &big[..]);
        assert_eq!(&got[big.len()..], b"after");
        queue.close();
        writer.join().unwrap();
        assert_eq!(queue.pending(), 0);

        let full = InputQueue::default();
        full.push(vec![b'x'; MAX_QUEUED]).unwrap();
        assert_eq!(full.push(b"more".to_vec()), Err(MAX_QUEUED));
    }

    #[test]
    fn an_answer_goes_between_slices_that_split_no_character_or_sequence() {
        let queue = InputQueue::default();
        let text: Vec<u8> = "é→\x1b[31mx😀\x1b[0m ".repeat(2000).into_bytes();
        queue.push(text.clone()).unwrap();
        let answer = b"\x1b[12;40R".to_vec();
        let mut written = Vec::new();
        let mut slices = 0;
        while let Some((slice, _)) = queue.next_slice() {
            if slice == answer {
                // It came alone, and what was written before it ends
                // cleanly.
                assert!(std::str::from_utf8(&written).is_ok());
            } else {
                std::str::from_utf8(&slice).expect("a slice is whole characters");
                assert!(slice.len() <= SLICE);
                let tail = &slice[slice.len().saturating_sub(SEQUENCE_ROOM)..];
                if let Some(esc) = tail.iter().rposition(|&b| b == 0x1b) {
                    assert!(
                        tail[esc..].contains(&b'm'),
                        "a slice ends inside a sequence"
                    );
                }
                written.extend_from_slice(&slice);
                slices += 1;
                if slices == 1 {
                    queue.answer(answer.clone());
                }
            }
            if written.len() == text.len() {
                break;
            }
        }
        assert_eq!(written, text);
        assert!(slices > 2);
        // Taken, but not written to a terminal: still pending.
        assert_eq!(queue.pending(), text.len());
    }
}
