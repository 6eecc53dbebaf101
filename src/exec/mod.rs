//! Running circuits and recording each run, with one execute-and-record path
//! ([`execute_and_record`]) under the [`Runner`] (route, run in this process or an executor
//! process, retry on the next backend, feed back to the router), the full-information sweep
//! ([`collect`]), the execution of a batch plan over its slots ([`plan::execute`]) and the
//! Redis worker (`queue`).
//!
//! Above `route` and `plan` (it executes their choices) and the one place that both runs
//! circuits and writes their telemetry for them.

pub mod calibration;
pub mod collect;
pub mod plan;
mod record;
mod runner;

pub use record::{Check, Recorded, execute_and_record, execute_watched};
pub use runner::{Attempt, IsolationPolicy, JobReport, RunOptions, Runner};
