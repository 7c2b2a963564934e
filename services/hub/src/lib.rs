//! The hub as a library, so tests can start the real application in-process: the
//! config file, and the start-up that wires store, scheduler and gateway.

pub mod config;
pub mod startup;
pub mod telemetry;
