//! Fixtures for the tests of this crate and of the crates built on it
//! (`agent-tty-runtime`, plugins): enabled by the `test-support` feature,
//! which only dev-dependencies turn on.

use crate::manifest::{Manifest, Status};

/// A `running` Session's manifest, for the tests of every module that
/// reads one; callers change the fields their case is about.
pub fn sample() -> Manifest {
    Manifest {
        version: 1,
        session_id: "01JD3Z6X8K4M2N5P7Q9R1S3T5V".into(),
        created_at: "2026-11-24T03:50:02.677Z".into(),
        updated_at: "2026-11-24T03:50:02.677Z".into(),
        status: Status::Running,
        failure_reason: None,
        failure_origin: None,
        command: vec!["sleep".into(), "300".into()],
        cwd: "/tmp".into(),
        name: None,
        shell: Some("/bin/sh".into()),
        term: Some("xterm-256color".into()),
        env: None,
        cols: 80,
        rows: 24,
        creation_cols: Some(80),
        creation_rows: Some(24),
        idle_timeout_ms: None,
        host_pid: Some(10),
        child_pid: Some(11),
        exit_code: None,
        exit_signal: None,
    }
}
