//! One integration-test binary (so the suite links once), a module per area.

mod e2e {
    mod agent_loop;
    mod batch;
    mod capture;
    mod compat;
    mod contract;
    mod dashboard;
    mod doctor;
    mod envelopes;
    mod envelopes_new_commands;
    mod example;
    mod foundation;
    mod gc;
    mod install;
    mod interop;
    mod permissions;
    mod plugin_loading;
    mod registry;
    mod remote;
    mod security;
    mod sessions;
    mod skills;
    mod terminal_host;
    mod well_known;
}
