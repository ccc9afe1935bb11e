//! WebM (todo)
use super::frames::Pacing;
use super::Generated;
use agent_tty_core::event_log::Event;
use agent_tty_core::manifest::Manifest;
use agent_tty_core::profile::RenderProfile;
/// x
pub fn export(
    _m: &Manifest,
    _e: &[Event],
    _p: &'static RenderProfile,
    _pa: &Pacing,
) -> Result<Generated, String> {
    Err("todo".into())
}
