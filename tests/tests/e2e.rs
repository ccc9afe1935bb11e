//! One integration-test binary (so the suite links once), a module per area.

mod e2e {
    mod agent_loop;
    mod capture;
    mod dashboard;
    mod foundation;
    mod gc;
    mod registry;
    mod sessions;
}
