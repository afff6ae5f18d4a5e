//! The engine's integration tests, in one binary.

mod conformance;
