//! One integration-test binary (so the suite links once), a module per area.

mod e2e {
    mod agent_loop;
    mod batch;
    mod dashboard;
    mod doctor;
    mod foundation;
    mod gc;
    mod interop;
    mod registry;
    mod sessions;
    mod skills;
}
