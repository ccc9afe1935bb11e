//! Where a command runs: `[user@]host[:port]`, or a named remote from the
//! remotes file.
//!
//! A target is checked before it ever reaches ssh: a host or user that began
//! with `-` would be read by ssh as an option (`-oProxyCommand=…` runs a
//! local command), so only the characters a host name, an address or a user
//! name can hold are accepted.

use agent_tty_plugin_api::PluginError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt;

/// A machine to reach over ssh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The login name; ssh's default (its config, then the local user) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A host name, an ssh config alias, or an address (IPv6 without brackets).
    pub host: String,
    /// The port; ssh's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl Target {
    /// Parses `[user@]host[:port]` (an IPv6 address in brackets: `[::1]:22`).
    pub fn parse(text: &str) -> Result<Target, PluginError> {
        let bad = |why: &str| {
            PluginError::usage(format!(
                "remote {:?} is not a named remote (`agent-tty remote list`) nor \
                 [user@]host[:port]: {why}",
                text
            ))
            .with_details(json!({ "remote": text }))
        };
        let (user, rest) = match text.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, text),
        };
        if let Some(u) = user {
            let ok = !u.is_empty()
                && !u.starts_with('-')
                && u.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return Err(bad(
                    "the user name may hold letters, digits, `.`, `_` and `-`",
                ));
            }
        }
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (addr, after) = inner
                .split_once(']')
                .ok_or_else(|| bad("a `[` without its `]`"))?;
            if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                return Err(bad("only an IPv6 address goes in brackets"));
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after `]`"))?),
            };
            (addr, port)
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        let host_ok = !host.is_empty()
            && !host.starts_with(['-', '.'])
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
        if !host_ok {
            return Err(bad(
                "the host may hold letters, digits, `.`, `_` and `-` and may not start with `-`",
            ));
        }
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                _ => return Err(bad("the port must be a number from 1 to 65535")),
            },
        };
        Ok(Target {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

/// A remote with a name (`remote add`), as stored in the remotes file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedRemote {
    /// Its name: letters, digits, `.`, `_`, `-`; never `local`.
    pub name: String,
    /// The machine.
    pub target: Target,
    /// The Home on that machine (`--home` there); its default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    /// The agent-tty binary there; `agent-tty` on its PATH, then
    /// `~/.local/bin/agent-tty` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_tty: Option<String>,
}

/// The name `home list --remotes` gives this machine's rows.
pub const LOCAL_MACHINE: &str = "local";

/// Checks a remote's name.
pub fn validate_name(name: &str) -> Result<(), PluginError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name != LOCAL_MACHINE
        && !name.starts_with(['-', '.'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(PluginError::usage(format!(
            "a remote's name is 1 to 64 letters, digits, `.`, `_` or `-`, not starting with \
             `-` or `.`, and not `{LOCAL_MACHINE}` (got {name:?})"
        ))
        .with_details(json!({ "name": name })))
    }
}

/// What `--remote` (or `AGENT_TTY_REMOTE`, or a Home's `remote` key) named,
/// resolved: the remote as stored, or an ad-hoc one for `[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The name it is shown under (`machine` in `home list`): the named
    /// remote's name, else the target as typed.
    pub label: String,
    /// Its settings.
    pub spec: NamedRemote,
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_plugin_api::ErrorCode;
    use rstest::rstest;

    #[rstest]
    #[case::host("box", None, "box", None)]
    #[case::user_host_port("me@box.lan:2222", Some("me"), "box.lan", Some(2222))]
    #[case::ipv4("127.0.0.1:22", None, "127.0.0.1", Some(22))]
    #[case::ipv6("root@[::1]:2200", Some("root"), "::1", Some(2200))]
    fn parses(
        #[case] text: &str,
        #[case] user: Option<&str>,
        #[case] host: &str,
        #[case] port: Option<u16>,
    ) {
        let t = Target::parse(text).unwrap();
        assert_eq!(
            (t.user.as_deref(), t.host.as_str(), t.port),
            (user, host, port)
        );
        assert_eq!(t.to_string(), text);
    }

    #[rstest]
    #[case::option_injection("-oProxyCommand=touch%20x")]
    #[case::user_option("-l@box")]
    #[case::empty("")]
    #[case::space("my box")]
    #[case::port_zero("box:0")]
    #[case::port_big("box:65536")]
    #[case::port_sign("box:+22")]
    #[case::unclosed("[::1")]
    #[case::shell("box;id")]
    fn refuses(#[case] text: &str) {
        let e = Target::parse(text).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{e}");
    }

    #[rstest]
    #[case::ok("build-box.1", true)]
    #[case::local("local", false)]
    #[case::dash("-x", false)]
    #[case::slash("a/b", false)]
    fn names(#[case] name: &str, #[case] ok: bool) {
        assert_eq!(validate_name(name).is_ok(), ok);
    }
}
