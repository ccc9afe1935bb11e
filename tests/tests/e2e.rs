//! One integration-test binary (so the suite links once), a module per area.

mod e2e {
    mod agent_loop;
    mod compat;
    mod dashboard;
    mod example;
    mod foundation;
    mod gc;
    mod install;
    mod permissions;
    mod registry;
    mod sessions;
}
