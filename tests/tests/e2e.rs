//! One integration-test binary (so the suite links once), a module per area.

mod e2e {
    mod agent_loop;
    mod batch;
    mod contract;
    mod capture;
    mod dashboard;
    mod doctor;
    mod envelopes_new_commands;
    mod foundation;
    mod gc;
    mod interop;
    mod registry;
    mod security;
    mod sessions;
    mod skills;
}
