//! End-to-end tests: sessions.
