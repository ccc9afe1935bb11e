//! One integration-test binary (so the suite links once), a module per area.

mod e2e {
    mod agent_loop;
    mod batch;
    mod capture;
    mod capture_look;
    mod citations;
    mod compat;
    mod completions;
    mod contract;
    mod dashboard;
    mod doctor;
    mod envelopes;
    mod envelopes_new_commands;
    mod example;
    mod foundation;
    mod gc;
    mod glyphs;
    mod host_checkpoints;
    mod host_protocol;
    mod hostile_files;
    mod install;
    mod interop;
    mod lists;
    mod names;
    mod nothing_silent;
    mod papercuts;
    mod permissions;
    mod plugin_loading;
    mod registry;
    mod remote;
    mod run_matrix;
    mod security;
    mod security_bounds;
    mod sessions;
    mod skills;
    mod strict05;
    mod takeover_and_changes;
    mod terminal_host;
    mod well_known;
}
