//! The control socket's connections, served without a thread each.
//!
//! One thread accepts connections and reads their request lines, all of
//! them at once through `poll` (non-blocking, each within
//! [`REQUEST_TIMEOUT`] and [`MAX_REQUEST`]); a complete request goes to one
//! of [`WORKERS`] threads, which carries it out and writes the answer. A
//! slow or silent client therefore holds up nobody, a burst of clients costs
//! no threads, and at most [`MAX_OPEN`] connections are held at a time (the
//! rest wait in the listen backlog). When `accept` fails for want of
//! descriptors the listener is left alone for [`BACKOFF`] instead of being
//! polled again at once, which would spin (ADR 0015).

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a client may take to send its request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest request line accepted (a large paste fits comfortably).
pub const MAX_REQUEST: usize = 16 * 1024 * 1024;
/// Threads carrying out requests.
pub const WORKERS: usize = 2;
/// Connections held at once (being read, or waiting for a worker).
pub const MAX_OPEN: usize = 64;
/// How long the listener rests after `accept` ran out of descriptors.
pub const BACKOFF: Duration = Duration::from_millis(100);
/// How long writing an answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// A request as read: its line (without the newline; what arrived before
/// the client closed or the size limit), or why it could not be read.
pub type Request = Result<Vec<u8>, String>;

/// A connection whose request is being read.
struct Reading {
    stream: UnixStream,
    line: Vec<u8>,
    deadline: Instant,
}

/// Serves `listener` until `stop` becomes readable: `answer` turns each
/// request into the bytes sent back (on a worker thread).
pub fn serve(listener: &UnixListener, stop: &OwnedFd, answer: impl Fn(Request) -> Vec<u8> + Sync) {
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    // Accepted and not yet answered.
    let open = AtomicUsize::new(0);
    let (requests, work) = std::sync::mpsc::channel::<(UnixStream, Request)>();
    let work = std::sync::Mutex::new(work);
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let next = work.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((stream, request)) = next else { return };
                let reply = answer(request);
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_write_timeout(Some(ANSWER_TIMEOUT));
                let _ = (&stream).write_all(&reply);
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
        read_requests(listener, stop, &open, |stream, request| {
            let _ = requests.send((stream, request));
        });
        // Dropping the sender ends the workers once the queue is empty.
        drop(requests);
    });
}

/// The accepting and reading loop; hands each complete request on.
fn read_requests(
    listener: &UnixListener,
    stop: &OwnedFd,
    open: &AtomicUsize,
    mut hand_on: impl FnMut(UnixStream, Request),
) {
    let mut reading: Vec<Reading> = Vec::new();
    let mut rest_until: Option<Instant> = None;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        rest_until = rest_until.filter(|t| *t > now);
        let accepting = rest_until.is_none() && open.load(Ordering::SeqCst) < MAX_OPEN;
        // Wake for the nearest deadline, the end of a rest, or a worker
        // freeing a place (checked every so often).
        let wake = reading
            .iter()
            .map(|r| r.deadline)
            .chain(rest_until)
            .min()
            .map(|t| t.saturating_duration_since(now));
        let wake = if accepting {
            wake
        } else {
            Some(wake.unwrap_or(BACKOFF).min(BACKOFF))
        };
        let timeout = wake.map_or(PollTimeout::NONE, |d| {
            PollTimeout::try_from(d.as_millis().saturating_add(1)).unwrap_or(PollTimeout::MAX)
        });
        let ready: Vec<bool> = {
            let mut fds = vec![PollFd::new(stop.as_fd(), PollFlags::POLLIN)];
            if accepting {
                fds.push(PollFd::new(listener.as_fd(), PollFlags::POLLIN));
            }
            fds.extend(
                reading
                    .iter()
                    .map(|r| PollFd::new(r.stream.as_fd(), PollFlags::POLLIN)),
            );
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return,
            }
            fds.iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect()
        };
        if ready[0] {
            return;
        }
        let (listener_ready, streams_ready) = if accepting {
            (ready[1], &ready[2..])
        } else {
            (false, &ready[1..])
        };
        // Reads first: `reading` is in the same order as the descriptors.
        let now = Instant::now();
        let mut still = Vec::with_capacity(reading.len());
        for (mut r, ready) in reading.drain(..).zip(streams_ready.iter().copied()) {
            let outcome = if ready {
                read_some(&mut r, &mut chunk)
            } else {
                None
            };
            match outcome {
                Some(request) => hand_on(r.stream, request),
                None if now >= r.deadline => hand_on(
                    r.stream,
                    Err(format!(
                        "no complete request within {} ms",
                        REQUEST_TIMEOUT.as_millis()
                    )),
                ),
                None => still.push(r),
            }
        }
        reading = still;
        if listener_ready {
            while open.load(Ordering::SeqCst) < MAX_OPEN {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if stream.set_nonblocking(true).is_err() {
                            continue;
                        }
                        open.fetch_add(1, Ordering::SeqCst);
                        reading.push(Reading {
                            stream,
                            line: Vec::new(),
                            deadline: Instant::now() + REQUEST_TIMEOUT,
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        // Out of descriptors (or another passing failure):
                        // the pending connection stays in the backlog.
                        rest_until = Some(Instant::now() + BACKOFF);
                        break;
                    }
                }
            }
        }
    }
}

/// Reads what the client sent; the request once it is complete (a newline,
/// the end of the stream, or [`MAX_REQUEST`] bytes), else `None`.
fn read_some(r: &mut Reading, chunk: &mut [u8]) -> Option<Request> {
    loop {
        match (&r.stream).read(chunk) {
            Ok(0) => return Some(Ok(std::mem::take(&mut r.line))),
            Ok(n) => {
                let data = &chunk[..n];
                if let Some(nl) = data.iter().position(|&b| b == b'\n') {
                    r.line.extend_from_slice(&data[..nl]);
                    return Some(Ok(std::mem::take(&mut r.line)));
                }
                r.line.extend_from_slice(data);
                if r.line.len() >= MAX_REQUEST {
                    r.line.truncate(MAX_REQUEST);
                    return Some(Ok(std::mem::take(&mut r.line)));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Some(Err(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    /// Serves an echo on a fresh socket until the returned stop is raised.
    fn echo_server(dir: &std::path::Path) -> (std::path::PathBuf, std::fs::File) {
        let path = dir.join("s");
        let listener = UnixListener::bind(&path).unwrap();
        let (stop_read, stop_write) = nix::unistd::pipe().unwrap();
        std::thread::spawn(move || {
            serve(&listener, &stop_read, |request| match request {
                Ok(line) => [b"echo:".as_slice(), &line, b"\n"].concat(),
                Err(why) => format!("error:{why}\n").into_bytes(),
            })
        });
        (path, std::fs::File::from(stop_write))
    }

    fn ask(path: &std::path::Path, line: &[u8]) -> String {
        let mut s = UnixStream::connect(path).unwrap();
        s.write_all(line).unwrap();
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer).unwrap();
        answer
    }

    #[test]
    fn silent_clients_hold_up_nobody_and_take_no_thread() {
        let tmp = tempfile::tempdir().unwrap();
        let (path, _stop) = echo_server(tmp.path());
        // More silent clients than workers, each holding its connection.
        let silent: Vec<UnixStream> = (0..WORKERS * 4)
            .map(|_| UnixStream::connect(&path).unwrap())
            .collect();
        let started = Instant::now();
        assert_eq!(ask(&path, b"ping\n"), "echo:ping\n");
        assert!(
            started.elapsed() < REQUEST_TIMEOUT,
            "a silent client held up the server"
        );
        // A request split over several writes is read whole.
        let mut s = UnixStream::connect(&path).unwrap();
        s.write_all(b"pi").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.write_all(b"ng2\n").unwrap();
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer).unwrap();
        assert_eq!(answer, "echo:ping2\n");
        drop(silent);
    }
}
