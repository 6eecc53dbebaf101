//! Executors: the routing targets.
//!
//! A [`Backend`] takes the one IR, [`Circuit`], and returns an [`Outcome`]: counts keyed by
//! classical bitstring, timings, peak memory and a fidelity estimate. The trait asks for the
//! minimum — a name, a kind, an eligibility check and `execute` — and has defaults for the rest.
//! Built-in implementations are siblings of this file: [`prism`] (prism-q's nine simulators and
//! its own `Auto` dispatch) and [`process`], which runs a backend in isolated child processes
//! speaking the executor protocol ([`protocol`], `docs/executor-protocol.md`) — qroute's own
//! `qroute executor` or any external plugin. [`registry`] builds the configured set.
//!
//! # Bit order of counts
//! A count key is a string of `num_clbits` characters `0`/`1`, **classical bit 0 rightmost**
//! (Qiskit's order): measuring `x q[0]; measure q -> c;` on two qubits gives `"01"`. prism-q
//! reports bits LSB-first; the adapter reverses them.

#[cfg(feature = "gpu")]
pub mod gpu;
pub mod prism;
pub mod process;
pub mod protocol;
pub mod registry;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::circuit::Circuit;
use crate::features::{Feature, Features};

pub use crate::display::human_bytes;
pub use registry::{Isolation, Registry};

/// What family of executor a backend is; used in telemetry and eligibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BackendKind {
    /// Dense state vector.
    Statevector,
    /// Stabilizer tableau (Clifford only).
    Stabilizer,
    /// Stabilizer tableaux per independent block (Clifford only).
    FactoredStabilizer,
    /// Sparse state vector.
    Sparse,
    /// Matrix product state with a bond cap.
    Mps,
    /// Per-qubit product state (no entangling gates).
    Product,
    /// Tensor network contraction.
    TensorNetwork,
    /// Dynamically split state.
    Factored,
    /// prism-q's rule-based choice among its backends.
    PrismAuto,
    /// The GPU state vector.
    Gpu,
    /// An external program speaking the executor protocol.
    External,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&s)
    }
}

/// How a backend is priced. Every execution has a cost:
/// `per_task + per_shot · shots + per_core_second · cores · wall seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Price {
    /// Per second of each core the job holds.
    pub per_core_second: f64,
    /// Per shot.
    pub per_shot: f64,
    /// Per job.
    pub per_task: f64,
}

impl Price {
    /// The cost of a job that held `cores` cores for `wall` and took `shots` shots.
    pub fn cost(&self, wall: Duration, cores: usize, shots: u64) -> f64 {
        self.per_task
            + self.per_shot * shots as f64
            + self.per_core_second * cores as f64 * wall.as_secs_f64()
    }
}

/// Options only some backends read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BackendOptions {
    /// MPS bond-dimension cap (overrides the backend's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bond_dim: Option<usize>,
    /// Smallest acceptable fidelity (lower bound) for approximate backends, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_fidelity: Option<f64>,
    /// Floating-point precision for backends that offer a choice (the GPU: f32 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
}

/// Floating-point precision of a state vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Precision {
    /// 32-bit floats.
    #[default]
    F32,
    /// 64-bit floats.
    F64,
}

/// How to run one circuit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Shots to sample (0: no counts).
    pub shots: u64,
    /// Seed of every random choice of the run.
    pub seed: u64,
    /// Memory the run may use, in bytes (`None`: no budget beyond the machine's).
    pub memory_budget: Option<u64>,
    /// Threads the run may use (0: the backend's default).
    pub threads: usize,
    /// Wall-clock limit (enforced by executor processes; in-process runs cannot be cancelled).
    #[serde(with = "opt_duration_secs")]
    pub timeout: Option<Duration>,
    /// Hedging cutoff (#31): a run that can be stopped — in an executor process, on a worker
    /// — and is still going here is stopped, and its status is `hedged` (its time so far a
    /// censored observation) rather than `timeout`, so that another backend takes the job.
    /// Only a cutoff before `timeout` matters; in-process runs ignore it (the runner watches
    /// them on a thread instead).
    #[serde(
        default,
        with = "opt_duration_secs",
        skip_serializing_if = "Option::is_none"
    )]
    pub cutoff: Option<Duration>,
    /// Backend-specific options.
    #[serde(default)]
    pub options: BackendOptions,
}

impl RunSpec {
    /// When a stoppable run is stopped: the earlier of the timeout and the cutoff.
    pub fn limit(&self) -> Option<Duration> {
        match (self.timeout, self.cutoff) {
            (Some(t), Some(k)) => Some(t.min(k)),
            (t, k) => t.or(k),
        }
    }

    /// Whether a run stopped at [`RunSpec::limit`] was stopped by its hedging cutoff.
    pub fn cut_short(&self) -> bool {
        self.cutoff
            .is_some_and(|k| self.timeout.is_none_or(|t| k < t))
    }
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            shots: 1024,
            seed: 0,
            memory_budget: None,
            threads: 1,
            timeout: None,
            cutoff: None,
            options: BackendOptions::default(),
        }
    }
}

/// An optional duration as seconds (f64) in JSON; also used by `route::Constraints`.
pub(crate) mod opt_duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let v: Option<f64> = Option::deserialize(d)?;
        match v {
            Some(x) => crate::bounds::seconds(x)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid timeout {x}"))),
            None => Ok(None),
        }
    }
}

/// What one execution produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Shots per classical bitstring (classical bit 0 rightmost; see the module docs).
    pub counts: BTreeMap<String, u64>,
    /// Wall-clock time of the simulation itself.
    #[serde(with = "duration_secs")]
    pub wall: Duration,
    /// CPU time (all threads) of the simulation.
    #[serde(with = "duration_secs")]
    pub cpu: Duration,
    /// Peak resident memory of the process that ran it, in bytes, when measured.
    pub peak_memory: Option<u64>,
    /// 1.0 when exact; a lower bound on the fidelity for approximate backends.
    pub fidelity: f64,
    /// Backend details: engine that ran, version, adapter, bond dimension reached, ...
    pub metadata: BTreeMap<String, String>,
}

mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let x = f64::deserialize(d)?;
        crate::bounds::seconds(x)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid duration {x}")))
    }
}

/// Why a backend will not take a circuit. The message carries the numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{backend}: {reason}")]
pub struct Ineligible {
    /// The backend.
    pub backend: String,
    /// Why, e.g. "needs 16 GiB, memory budget 8 GiB" or "gate t is not Clifford".
    pub reason: String,
}

/// An execution that did not produce an outcome.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The circuit is not for this backend.
    #[error(transparent)]
    Ineligible(#[from] Ineligible),
    /// The run went past its timeout and was killed.
    #[error("{backend}: timed out after {:.3} s", timeout.as_secs_f64())]
    Timeout {
        /// The backend.
        backend: String,
        /// The limit.
        timeout: Duration,
    },
    /// The run hit its memory cap.
    #[error("{backend}: out of memory ({detail})")]
    OutOfMemory {
        /// The backend.
        backend: String,
        /// What was known.
        detail: String,
    },
    /// The executor process died, or an external program misbehaved.
    #[error("{backend}: executor failed: {detail}")]
    Executor {
        /// The backend.
        backend: String,
        /// What happened.
        detail: String,
    },
    /// The simulator reported an error.
    #[error("{backend}: {message}")]
    Simulation {
        /// The backend.
        backend: String,
        /// Its message.
        message: String,
    },
    /// The backend is not available on this machine.
    #[error("{backend} is unavailable: {reason}")]
    Unavailable {
        /// The backend.
        backend: String,
        /// Why.
        reason: String,
    },
}

impl BackendError {
    /// The message without the backend name in front (for the executor protocol, whose
    /// parent adds its own).
    pub fn detail(&self) -> String {
        match self {
            BackendError::Ineligible(i) => i.reason.clone(),
            BackendError::Timeout { timeout, .. } => {
                format!("timed out after {:.3} s", timeout.as_secs_f64())
            }
            BackendError::OutOfMemory { detail, .. } | BackendError::Executor { detail, .. } => {
                detail.clone()
            }
            BackendError::Simulation { message, .. } => message.clone(),
            BackendError::Unavailable { reason, .. } => reason.clone(),
        }
    }

    /// A short machine-readable name of the error's kind (for telemetry).
    pub fn kind(&self) -> &'static str {
        match self {
            BackendError::Ineligible(_) => "ineligible",
            BackendError::Timeout { .. } => "timeout",
            BackendError::OutOfMemory { .. } => "out_of_memory",
            BackendError::Executor { .. } => "executor",
            BackendError::Simulation { .. } => "simulation",
            BackendError::Unavailable { .. } => "unavailable",
        }
    }
}

/// Whether a backend can run at all here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Availability {
    /// Ready.
    Available,
    /// Not usable, and why.
    Unavailable(String),
}

/// Static facts about a backend, for `qroute backends` and the router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    /// Most qubits it takes (`None`: limited by memory only).
    pub max_qubits: Option<u32>,
    /// Only Clifford circuits.
    pub clifford_only: bool,
    /// Gates it accepts (`None`: every gate of the table).
    pub gates: Option<Vec<String>>,
    /// Supports mid-circuit measurement, reset and `if`.
    pub dynamic_circuits: bool,
    /// Results may be approximate (fidelity below 1).
    pub approximate: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            max_qubits: None,
            clifford_only: false,
            gates: None,
            dynamic_circuits: true,
            approximate: false,
        }
    }
}

/// What an eligibility check reads of a circuit: its features, and the one fact they do not
/// hold, an opaque gate it applies (which no backend can run). The router makes one per
/// decision, from the circuit when it has one and from the features alone when not.
#[derive(Debug, Clone, Copy)]
pub struct CircuitFacts<'a> {
    /// The circuit's features.
    pub features: &'a Features,
    /// The first opaque gate (declared, never defined) the circuit applies.
    pub opaque_gate: Option<&'a str>,
}

impl<'a> CircuitFacts<'a> {
    /// The facts of `circuit`, whose features are `features`.
    pub fn of(circuit: &'a Circuit, features: &'a Features) -> CircuitFacts<'a> {
        // Only a declared opaque gate can be applied: without one there is nothing to scan.
        let opaque_gate = if circuit.opaque_gates().is_empty() {
            None
        } else {
            circuit.ops().find_map(|op| match op.kind {
                crate::circuit::OpKind::Opaque(i) => circuit
                    .opaque_gates()
                    .get(i as usize)
                    .map(|o| o.name.as_str()),
                _ => None,
            })
        };
        CircuitFacts {
            features,
            opaque_gate,
        }
    }

    /// Facts known from features alone (a circuit described, not given).
    pub fn from_features(features: &'a Features) -> CircuitFacts<'a> {
        CircuitFacts {
            features,
            opaque_gate: None,
        }
    }
}

/// What a backend that accepts a circuit promises of its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fidelity {
    /// Exact: an exact method, or an approximate one that will not truncate this circuit.
    Exact,
    /// An approximate method that may truncate: the result's fidelity is only bounded below
    /// (and the run fails when the bound is under the requested minimum).
    MayTruncate,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It produced an outcome.
    Ok,
    /// It failed (simulation error, crash, out of memory).
    Failed,
    /// It was killed at its timeout; `timeout_ms` says when (a censored observation).
    Timeout,
    /// The backend refused it before running.
    Ineligible,
    /// It was given up at its hedging cutoff for another backend (`[router]` `hedge_factor`);
    /// `timeout_ms` holds the cutoff: a censored observation, not a failure of the backend.
    Hedged,
}

impl Status {
    /// The name stored in telemetry.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Ineligible => "ineligible",
            Status::Hedged => "hedged",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "ok" => Status::Ok,
            "failed" => Status::Failed,
            "timeout" => Status::Timeout,
            "ineligible" => Status::Ineligible,
            "hedged" => Status::Hedged,
            _ => return None,
        })
    }
}

/// An executor: a routing target.
///
/// Implement `name`, `kind`, `check` and `execute`; the rest have defaults.
pub trait Backend: Send + Sync {
    /// The stable routing name (`statevector`, `mps-64`, `external:aer-mps`, ...).
    fn name(&self) -> &str;

    /// The family.
    fn kind(&self) -> BackendKind;

    /// Whether this backend will take the circuit under `spec`, and whether its result will
    /// be exact; a refusal's reason carries numbers. Called once per backend per decision,
    /// from features and [`CircuitFacts`] only: it must not need the operations.
    fn check(&self, facts: &CircuitFacts<'_>, spec: &RunSpec) -> Result<Fidelity, Ineligible>;

    /// [`Backend::check`] of a parsed circuit.
    fn check_circuit(
        &self,
        circuit: &Circuit,
        features: &Features,
        spec: &RunSpec,
    ) -> Result<Fidelity, Ineligible> {
        self.check(&CircuitFacts::of(circuit, features), spec)
    }

    /// Runs the circuit. Blocks until done; cannot be cancelled (use [`process`] for that).
    fn execute(&self, circuit: &Circuit, spec: &RunSpec) -> Result<Outcome, BackendError>;

    /// What it costs.
    fn price(&self) -> Price {
        Price::default()
    }

    /// Whether it can run here.
    fn availability(&self) -> Availability {
        Availability::Available
    }

    /// Its limits and abilities.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Whether its executions are recorded in telemetry where they run (by a queue's
    /// worker), so that a caller does not record them a second time.
    fn records_remotely(&self) -> bool {
        false
    }

    /// Version of the engine behind it.
    fn version(&self) -> String {
        String::new()
    }

    /// The device it runs on, where that is worth saying: a GPU adapter's name, with a
    /// software rasteriser named as such. `None` for the CPU engines.
    fn device(&self) -> Option<String> {
        None
    }
}

/// Common eligibility, phrased with numbers: no opaque gates, the backend's qubit limit,
/// Clifford-only, and dynamic-circuit support.
pub fn check_common(
    name: &str,
    caps: &Capabilities,
    facts: &CircuitFacts<'_>,
) -> Result<(), Ineligible> {
    let features = facts.features;
    if let Some(o) = facts.opaque_gate {
        return Err(Ineligible {
            backend: name.to_string(),
            reason: format!("opaque gate `{o}` has no definition and cannot be executed"),
        });
    }
    let n = features[Feature::NumQubits];
    if let Some(max) = caps.max_qubits
        && n > max as f64
    {
        return Err(Ineligible {
            backend: name.to_string(),
            reason: format!("circuit has {n} qubits, backend takes at most {max}"),
        });
    }
    if caps.clifford_only && features[Feature::IsClifford] != 1.0 {
        return Err(Ineligible {
            backend: name.to_string(),
            reason: format!(
                "circuit has {} non-Clifford gate(s); backend is Clifford-only",
                features[Feature::NonCliffordCount]
            ),
        });
    }
    if !caps.dynamic_circuits
        && (features[Feature::HasMidCircuitMeasurement] == 1.0
            || features[Feature::HasReset] == 1.0
            || features[Feature::HasConditional] == 1.0)
    {
        return Err(Ineligible {
            backend: name.to_string(),
            reason: "mid-circuit measurement, reset or `if` is not supported".to_string(),
        });
    }
    Ok(())
}
