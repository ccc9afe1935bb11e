//! The Session manifest `session.json` (version 1) and the status policy.
//!
//! The key set is fixed by agent-tty 0.5: nothing may be added here. Facts
//! this project needs beyond it (process start times, machine identity) live
//! in a sidecar file in the Session directory.

use crate::error::{Error, Result};
use crate::fsutil;
use crate::layout::{self, SessionDir};
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A Session's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Status {
    Running,
    Exiting,
    Exited,
    Failed,
    Destroying,
    Destroyed,
}

impl Status {
    /// Running, exiting or destroying: a host may still be at work.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Running | Status::Exiting | Status::Destroying)
    }
    /// Exited, failed or destroyed: nothing will change it again.
    pub fn is_terminal(self) -> bool {
        !self.is_active()
    }
    /// Accepts input and control (only `running`).
    pub fn is_commandable(self) -> bool {
        self == Status::Running
    }
    /// gc may remove its directory.
    pub fn is_collectable(self) -> bool {
        self.is_terminal()
    }
    /// The status a reconcile gives a Session whose host is gone.
    pub fn after_host_death(self) -> Status {
        match self {
            Status::Running => Status::Failed,
            Status::Exiting => Status::Exited,
            Status::Destroying => Status::Destroyed,
            terminal => terminal,
        }
    }
    /// The lowercase wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Exiting => "exiting",
            Status::Exited => "exited",
            Status::Failed => "failed",
            Status::Destroying => "destroying",
            Status::Destroyed => "destroyed",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = ();

    /// The status of a lowercase wire name ([`Status::as_str`]'s inverse).
    fn from_str(name: &str) -> Result<Status, ()> {
        use Status::*;
        [Running, Exiting, Exited, Failed, Destroying, Destroyed]
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or(())
    }
}

/// Why a Session failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum FailureOrigin {
    HostDeath,
    RendererFailure,
    StorageCorruption,
    Unknown,
}

/// `session.json`, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Manifest {
    pub version: u32,
    pub session_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_origin: Option<FailureOrigin>,
    pub command: Vec<String>,
    pub cwd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    pub cols: u16,
    pub rows: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_cols: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_rows: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
    #[serde(default)]
    pub host_pid: Option<u32>,
    #[serde(default)]
    pub child_pid: Option<u32>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub exit_signal: Option<String>,
}

impl Manifest {
    /// Checks the invariants the format promises.
    pub fn validate(&self) -> std::result::Result<(), String> {
        check_invariants(
            self.version,
            self.command.len(),
            self.cols,
            self.rows,
            &self.session_id,
        )
    }

    /// The change for a command that ended with this exit: `exited` (or
    /// `destroyed`, when it was being destroyed) and no processes left. The
    /// host makes it when its command ends; reconcile makes it from the
    /// exit a host recorded but could not write here. `updatedAt` is the
    /// caller's.
    pub fn record_exit(&mut self, exit_code: Option<i32>, exit_signal: Option<String>) {
        self.status = match self.status {
            Status::Destroying | Status::Destroyed => Status::Destroyed,
            _ => Status::Exited,
        };
        self.exit_code = exit_code;
        self.exit_signal = exit_signal;
        self.host_pid = None;
        self.child_pid = None;
    }

    /// Pretty JSON with a trailing newline, as written to disk.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a manifest always serialises");
        s.push('\n');
        s
    }
}

/// A manifest as the scans of many Sessions read it (`home list`, `gc`):
/// the same keys, types and checks as [`Manifest`], so exactly the same
/// bytes are accepted, but nothing is copied that a scan does not use.
/// Strings it needs are borrowed from the bytes where they have no escapes;
/// strings it does not need are only checked to be strings.
///
/// It decides *whether* a manifest is valid; for *why* one is not (an
/// error a person reads), parse it with [`parse_manifest`], which says the
/// same thing in `serde_json`'s words for [`Manifest`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ManifestView<'a> {
    pub version: u32,
    #[serde(borrow)]
    pub session_id: std::borrow::Cow<'a, str>,
    #[allow(dead_code)]
    created_at: CheckedStr,
    #[serde(borrow)]
    pub updated_at: std::borrow::Cow<'a, str>,
    pub status: Status,
    #[serde(default)]
    #[allow(dead_code)]
    failure_reason: Option<CheckedStr>,
    #[serde(default)]
    pub failure_origin: Option<FailureOrigin>,
    command: CheckedStrs,
    #[allow(dead_code)]
    cwd: CheckedStr,
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<CheckedStr>,
    #[serde(default)]
    #[allow(dead_code)]
    shell: Option<CheckedStr>,
    #[serde(default)]
    #[allow(dead_code)]
    term: Option<CheckedStr>,
    #[serde(default)]
    #[allow(dead_code)]
    env: Option<BTreeMap<String, String>>,
    pub cols: u16,
    pub rows: u16,
    #[serde(default)]
    pub creation_cols: Option<u16>,
    #[serde(default)]
    pub creation_rows: Option<u16>,
    #[serde(default)]
    pub idle_timeout_ms: Option<u64>,
    #[serde(default)]
    pub host_pid: Option<u32>,
    #[serde(default)]
    pub child_pid: Option<u32>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    #[allow(dead_code)]
    exit_signal: Option<CheckedStr>,
}

impl<'a> ManifestView<'a> {
    /// Parses and validates manifest bytes; `None` when [`parse_manifest`]
    /// would refuse them.
    ///
    /// A manifest that is UTF-8 throughout (every one agent-tty writes) is
    /// checked as such in one pass and then parsed as text, so `serde_json`
    /// does not check each of its twenty-odd strings again (a listing of
    /// 5000 manifests spends a fifth of its parse there, ADR 0023). Any
    /// other bytes take [`parse_manifest`]'s own road, `from_slice`: it
    /// accepts invalid UTF-8 inside an unknown key's ignored value, and so
    /// must the view.
    pub fn parse(bytes: &'a [u8]) -> Option<ManifestView<'a>> {
        let view: ManifestView<'a> = match std::str::from_utf8(bytes) {
            Ok(text) => serde_json::from_str(text).ok()?,
            Err(_) => serde_json::from_slice(bytes).ok()?,
        };
        view.is_valid().then_some(view)
    }

    /// [`Manifest::validate`]'s checks.
    fn is_valid(&self) -> bool {
        check_invariants(
            self.version,
            self.command.0,
            self.cols,
            self.rows,
            &self.session_id,
        )
        .is_ok()
    }
}

/// The invariants the format promises beyond its types, checked one way
/// for [`Manifest`] and [`ManifestView`].
fn check_invariants(
    version: u32,
    command_len: usize,
    cols: u16,
    rows: u16,
    session_id: &str,
) -> std::result::Result<(), String> {
    if version != 1 {
        return Err(format!("unsupported manifest version {version}"));
    }
    if command_len == 0 {
        return Err("command is empty".into());
    }
    if cols == 0 || rows == 0 {
        return Err("cols and rows must be positive".into());
    }
    crate::session_id::SessionId::check(session_id).map_err(|e| e.to_string())
}

/// A JSON string a scan does not use: checked to be one, not copied.
#[derive(Debug)]
struct CheckedStr;

impl<'de> Deserialize<'de> for CheckedStr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = CheckedStr;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> std::result::Result<CheckedStr, E> {
                Ok(CheckedStr)
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// A JSON list of strings a scan only needs the length of.
#[derive(Debug)]
struct CheckedStrs(usize);

impl<'de> Deserialize<'de> for CheckedStrs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = CheckedStrs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<CheckedStrs, A::Error> {
                let mut n = 0;
                while seq.next_element::<CheckedStr>()?.is_some() {
                    n += 1;
                }
                Ok(CheckedStrs(n))
            }
        }
        d.deserialize_seq(Visitor)
    }
}

/// A manifest is a few hundred bytes; reading stops at this many.
pub const MANIFEST_READ_LIMIT: u64 = 1 << 20;

/// Reads and validates a manifest. Never writes.
pub fn read_manifest(session_dir: &Path) -> Result<Manifest> {
    let path = SessionDir::new(session_dir).manifest();
    let bytes = crate::safe_fs::read_home_file(&path, MANIFEST_READ_LIMIT)
        .map_err(|e| Error::read(&path, e))?;
    parse_manifest(&path, &bytes)
}

/// Reads a manifest through its Session directory's open, checked
/// descriptor `dir` (`session.json` opened beneath it, never through a
/// symlink) into `buf`, reused across Sessions. Errors are
/// [`read_manifest`]'s, naming `session_dir`'s manifest.
pub fn read_manifest_bytes_at<'b>(
    dir: &crate::safe_fs::DirFd,
    session_dir: &Path,
    buf: &'b mut Vec<u8>,
) -> Result<&'b [u8]> {
    read_manifest_beneath(dir, Path::new(layout::session::MANIFEST.name), buf)
        .map_err(|e| Error::read(&SessionDir::new(session_dir).manifest(), e))
}

/// The one read of a manifest through a descriptor: the manifest at
/// `relative` beneath `dir` (`session.json` beneath a Session directory,
/// `<id>/session.json` beneath `sessions/`), never through a symlink, only
/// a regular file (a FIFO, device node, socket or directory is refused
/// before a byte is read) and at most [`MANIFEST_READ_LIMIT`] bytes, into
/// `buf`, reused across Sessions. [`read_manifest`] applies the same rules
/// to a path ([`crate::safe_fs::read_home_file`]); `list`, `home list` and
/// gc read through this.
pub fn read_manifest_beneath<'b>(
    dir: &crate::safe_fs::DirFd,
    relative: &Path,
    buf: &'b mut Vec<u8>,
) -> std::io::Result<&'b [u8]> {
    dir.read_regular_beneath(relative, buf, MANIFEST_READ_LIMIT)
}

/// [`read_manifest`] through the Session directory's open, checked
/// descriptor (see [`read_manifest_bytes_at`]).
pub fn read_manifest_at(dir: &crate::safe_fs::DirFd, session_dir: &Path) -> Result<Manifest> {
    let mut buf = Vec::new();
    let bytes = read_manifest_bytes_at(dir, session_dir, &mut buf)?;
    parse_manifest(&SessionDir::new(session_dir).manifest(), bytes)
}

/// Parses and validates manifest bytes read from `path`.
pub fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<Manifest> {
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| Error::Manifest {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    manifest.validate().map_err(|reason| Error::Manifest {
        path: path.to_owned(),
        reason,
    })?;
    Ok(manifest)
}

/// Writes a manifest atomically (mode 0600). Prefer [`update_manifest`] for
/// read-modify-write so concurrent writers do not lose each other's changes.
pub fn write_manifest(session_dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = SessionDir::new(session_dir).manifest();
    fsutil::write_atomic(&path, manifest.to_json().as_bytes(), 0o600)
        .map_err(|e| Error::write(&path, e))
}

/// An exclusive hold on a Session's manifest lock (`session.json.lock`),
/// released when dropped. Holders write with [`write_manifest`]; calling
/// [`update_manifest`] while holding it would wait for ourselves.
pub struct ManifestLock {
    file: std::fs::File,
    locked: bool,
}

impl Drop for ManifestLock {
    fn drop(&mut self) {
        if self.locked {
            let _ = FileExt::unlock(&self.file);
        }
    }
}

/// Takes a Session's manifest lock, waiting for any other holder. Where the
/// filesystem cannot lock, this carries on unlocked: writes stay atomic.
pub fn lock_manifest(session_dir: &Path) -> Result<ManifestLock> {
    let lock_path = SessionDir::new(session_dir).manifest_lock();
    let file = fsutil::open_lock_file(&lock_path).map_err(|e| Error::write(&lock_path, e))?;
    let locked = FileExt::lock_exclusive(&file).is_ok();
    Ok(ManifestLock { file, locked })
}

/// Reads, changes and writes a manifest under an exclusive lock on
/// `session.json.lock`, refreshing `updatedAt`. `change` returns whether it
/// changed anything; nothing is written when it did not.
pub fn update_manifest<T>(
    session_dir: &Path,
    change: impl FnOnce(&mut Manifest) -> Result<(bool, T)>,
) -> Result<(Manifest, T)> {
    let _lock = lock_manifest(session_dir)?;
    let mut manifest = read_manifest(session_dir)?;
    let (changed, value) = change(&mut manifest)?;
    if changed {
        manifest.updated_at = crate::time::now_iso();
        write_manifest(session_dir, &manifest)?;
    }
    Ok((manifest, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample;
    use rstest::rstest;

    #[rstest]
    #[case(Status::Running, true, false, true, false)]
    #[case(Status::Exiting, true, false, false, false)]
    #[case(Status::Destroying, true, false, false, false)]
    #[case(Status::Exited, false, true, false, true)]
    #[case(Status::Failed, false, true, false, true)]
    #[case(Status::Destroyed, false, true, false, true)]
    fn status_policy(
        #[case] s: Status,
        #[case] active: bool,
        #[case] terminal: bool,
        #[case] commandable: bool,
        #[case] collectable: bool,
    ) {
        assert_eq!(
            (
                s.is_active(),
                s.is_terminal(),
                s.is_commandable(),
                s.is_collectable()
            ),
            (active, terminal, commandable, collectable)
        );
    }

    #[test]
    fn serialises_exactly_the_05_keys_with_nulls_for_pids_and_exit() {
        let mut m = sample();
        m.host_pid = None;
        let v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = [
            "version",
            "sessionId",
            "createdAt",
            "updatedAt",
            "status",
            "command",
            "cwd",
            "shell",
            "term",
            "cols",
            "rows",
            "creationCols",
            "creationRows",
            "hostPid",
            "childPid",
            "exitCode",
            "exitSignal",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert!(v["hostPid"].is_null());
    }

    #[test]
    fn update_writes_only_on_change_and_refreshes_updated_at() {
        let tmp = tempfile::tempdir().unwrap();
        write_manifest(tmp.path(), &sample()).unwrap();
        let before = std::fs::read(SessionDir::new(tmp.path()).manifest()).unwrap();
        update_manifest(tmp.path(), |_| Ok((false, ()))).unwrap();
        assert_eq!(
            std::fs::read(SessionDir::new(tmp.path()).manifest()).unwrap(),
            before
        );
        let (m, ()) = update_manifest(tmp.path(), |m| {
            m.status = Status::Exited;
            Ok((true, ()))
        })
        .unwrap();
        assert_eq!(read_manifest(tmp.path()).unwrap(), m);
        assert_ne!(m.updated_at, sample().updated_at);
    }

    /// The sample manifest's JSON with `edit` applied to it.
    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        edit(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    /// `json` with its one `@@` replaced by `bytes` (which need not be
    /// UTF-8, so no `Value` can carry them).
    fn with_bytes(json: Vec<u8>, bytes: &[u8]) -> Vec<u8> {
        let at = json
            .windows(2)
            .position(|w| w == b"@@")
            .expect("a @@ to replace");
        [&json[..at], bytes, &json[at + 2..]].concat()
    }

    /// The scans' view accepts exactly what the full parse accepts.
    #[rstest]
    #[case::valid(edited(|_| {}))]
    #[case::escaped_strings(edited(|v| { v["cwd"] = "/t\\mp\n".into(); v["name"] = "a\"b".into(); }))]
    #[case::unknown_key_ignored(edited(|v| v["futureKey"] = 1.into()))]
    #[case::optional_nulls(edited(|v| { v["name"] = serde_json::Value::Null; v["env"] = serde_json::Value::Null; }))]
    #[case::env(edited(|v| v["env"] = serde_json::json!({"A": "1"})))]
    #[case::env_not_strings(edited(|v| v["env"] = serde_json::json!({"A": 1})))]
    #[case::missing_cwd(edited(|v| { v.as_object_mut().unwrap().remove("cwd"); }))]
    #[case::missing_created(edited(|v| { v.as_object_mut().unwrap().remove("createdAt"); }))]
    #[case::cwd_number(edited(|v| v["cwd"] = 5.into()))]
    #[case::name_number(edited(|v| v["name"] = 5.into()))]
    #[case::command_empty(edited(|v| v["command"] = serde_json::json!([])))]
    #[case::command_not_strings(edited(|v| v["command"] = serde_json::json!([1])))]
    #[case::command_string(edited(|v| v["command"] = "sh".into()))]
    #[case::version_2(edited(|v| v["version"] = 2.into()))]
    #[case::cols_zero(edited(|v| v["cols"] = 0.into()))]
    #[case::cols_too_big(edited(|v| v["cols"] = 70000.into()))]
    #[case::bad_status(edited(|v| v["status"] = "sleeping".into()))]
    #[case::bad_origin(edited(|v| v["failureOrigin"] = "meteor".into()))]
    #[case::bad_id(edited(|v| v["sessionId"] = "../x".into()))]
    #[case::pid_negative(edited(|v| v["hostPid"] = (-1).into()))]
    #[case::exit_signal_number(edited(|v| v["exitSignal"] = 9.into()))]
    #[case::duplicate_key(br#"{"version": 1, "version": 1}"#.to_vec())]
    #[case::not_json(b"{".to_vec())]
    #[case::not_an_object(b"[]".to_vec())]
    #[case::non_ascii_text(edited(|v| v["name"] = "documents / 文档 é".into()))]
    #[case::invalid_utf8_in_an_ignored_key(with_bytes(edited(|v| v["futureKey"] = "@@".into()), b"\xff\xfe"))]
    #[case::invalid_utf8_in_cwd(with_bytes(edited(|v| v["cwd"] = "@@".into()), b"\xff"))]
    fn the_scan_view_accepts_what_the_full_parse_accepts(#[case] bytes: Vec<u8>) {
        let full = parse_manifest(Path::new("session.json"), &bytes);
        let view = ManifestView::parse(&bytes);
        assert_eq!(
            full.as_ref()
                .ok()
                .map(|m| (m.status, m.updated_at.as_str())),
            view.as_ref().map(|v| (v.status, &*v.updated_at)),
            "{}: full {full:?}, view {view:?}",
            String::from_utf8_lossy(&bytes)
        );
    }

    #[test]
    fn invalid_manifests_are_manifest_validation_errors() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(SessionDir::new(tmp.path()).manifest(), br#"{"version":2}"#).unwrap();
        assert_eq!(
            read_manifest(tmp.path()).unwrap_err().code(),
            agent_tty_protocol::ErrorCode::ManifestValidationError
        );
    }
}
