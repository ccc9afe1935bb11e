//! Which render profile a capture uses: `--profile` (the command's or the
//! global one: they are the same flag) > `AGENT_TTY_PROFILE` > the Home's
//! `config.json` `defaultProfile` > `reference-dark` (contract §1.2). The
//! host resolves all but the default into the invocation's context.

use agent_tty_plugin_api::{ErrorCode, Invocation, PluginError};
use agent_tty_term::profile::DEFAULT_PROFILE;
use serde_json::json;

/// The profile name asked for, checked for length only (1..=100
/// characters); `invalid` is the error for a bad length.
pub(crate) fn requested(inv: &Invocation, invalid: &str) -> Result<String, PluginError> {
    let name = inv
        .value("profile")
        .map(str::to_owned)
        .or_else(|| inv.context.profile.clone())
        .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
    let len = name.chars().count();
    if len == 0 || len > 100 {
        return Err(
            PluginError::new(ErrorCode::InvalidInput, invalid).with_details(
                json!({ "profile": name, "issue": "a profile name is 1 to 100 characters" }),
            ),
        );
    }
    Ok(name)
}

pub(crate) use agent_tty_term::profile::resolve;
