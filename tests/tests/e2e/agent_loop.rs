//! End-to-end tests: agent_loop.
