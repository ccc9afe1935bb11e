//! Which render profile a capture uses: `--profile` (the command's or the
//! global one: they are the same flag) > `AGENT_TTY_PROFILE` > the Home's
//! `config.json` `defaultProfile` > `reference-dark` (contract §1.2). The
//! host resolves all but the default into the invocation's context.

use agent_tty_core::profile::{RenderProfile, DEFAULT_PROFILE, PROFILES};
use agent_tty_plugin_api::{ErrorCode, Invocation, PluginError};
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

/// The profile called `name`, or `INVALID_INPUT` naming the ones there are.
pub(crate) fn resolve(name: &str) -> Result<&'static RenderProfile, PluginError> {
    RenderProfile::named(name).ok_or_else(|| {
        let known: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
        PluginError::new(
            ErrorCode::InvalidInput,
            format!(
                "Unknown render profile \"{}\"; use one of: {}.",
                name.escape_debug(),
                known.join(", ")
            ),
        )
        .with_details(json!({ "profile": name, "known": known }))
    })
}

/// `name` made safe for a file name: runs of anything but `A-Za-z0-9._-`
/// become `-`, and `-` is trimmed from both ends (agent-tty 0.5's rule).
pub(crate) fn file_safe(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::file_safe;

    #[test]
    fn profile_names_become_file_safe() {
        assert_eq!(file_safe("reference-dark"), "reference-dark");
        assert_eq!(file_safe("  my profile/../x "), "my-profile-..-x");
        assert_eq!(file_safe("é"), "");
    }
}
