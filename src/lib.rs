//! qroute: a predictive router and planner for quantum-circuit execution.
//!
//! qroute reads circuits (OpenQASM 2) into one IR, [`circuit::Circuit`], and computes one
//! fixed-length feature vector per circuit, [`features::Features`]. Every other part — the
//! executors, telemetry, models and the router — reads those two types.
//!
//! ```
//! use qroute::circuit::qasm;
//! use qroute::features::{self, Feature};
//!
//! let circuit = qasm::parse_str(r#"
//!     OPENQASM 2.0;
//!     include "qelib1.inc";
//!     qreg q[3]; creg c[3];
//!     h q[0]; cx q[0], q[1]; cx q[1], q[2]; t q[2];
//!     measure q -> c;
//! "#)?;
//! let f = features::extract(&circuit);
//! assert_eq!(f[Feature::NumQubits], 3.0);
//! assert_eq!(f[Feature::Gates2q], 2.0);
//! assert_eq!(f[Feature::TCount], 1.0);
//! assert_eq!(f[Feature::IsClifford], 0.0);
//! # Ok::<(), qroute::Error>(())
//! ```
//!
//! Cargo features (all on by default): `cli` builds the `qroute` binary; `telemetry` records
//! executions in Parquet and runs circuits (`telemetry`, `exec`); `train` fits and evaluates
//! model sets, replays them, and assembles the commands (`app`, `replay`); `server` the HTTP
//! routing API (`api`, `qroute serve`); `redis` distributed execution (`queue`); `gpu` the
//! wgpu state vector; `plots` replay figures. A host program that only routes turns default
//! features off and compiles no Parquet and no training code.

#![forbid(unsafe_code)]

#[cfg(feature = "server")]
pub mod api;
#[cfg(feature = "train")]
pub mod app;
pub mod backend;
pub mod bounds;
pub mod circuit;
pub mod config;
pub mod display;
mod error;
#[cfg(feature = "telemetry")]
pub mod exec;
pub mod features;
pub mod model;
pub mod plan;
#[cfg(feature = "redis")]
pub mod queue;
#[cfg(feature = "train")]
pub mod replay;
pub mod rng;
pub mod route;
pub mod stats;
#[cfg(feature = "telemetry")]
pub mod telemetry;
pub mod time;
#[cfg(feature = "train")]
pub mod train;

pub use error::{Error, Result, UnknownName};
