//! Running circuits: the [`Runner`] (route, run in this process or an executor process,
//! retry on the next backend, record every attempt and feed it back to the router) and the
//! execution of a batch plan over its slots ([`plan::execute`]).
//!
//! Above `route` and `plan` (it executes their choices) and the one place that both runs
//! circuits and writes their telemetry for them.

pub mod plan;
mod runner;

pub use runner::{Attempt, IsolationPolicy, JobReport, RunOptions, Runner};
