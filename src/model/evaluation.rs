//! What a model set records of its evaluation in `meta.json`: latency metrics per backend,
//! routing regret against the best backend and fixed rules, the measurements' repeatability.
//! Data only: loading a model set needs these types, computing them is training's
//! (`eval`, `noise`, feature `train`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::LatencyMode;

/// Latency and risk metrics of one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendMetrics {
    /// Backend.
    pub backend: String,
    /// Latency mode chosen by validation.
    pub mode: LatencyMode,
    /// Held-out (circuit, backend) pairs with a measured time.
    pub observations: u64,
    /// Held-out pairs that only timed out (censored: not in the error metrics).
    pub censored: u64,
    /// Median absolute percentage error of latency.
    pub median_ape: Option<f64>,
    /// 90th percentile of it.
    pub p90_ape: Option<f64>,
    /// R² of ln latency.
    pub r2_log: Option<f64>,
    /// Root mean square error of ln latency.
    pub log_rmse: Option<f64>,
    /// Spearman rank correlation of predicted and actual latency.
    pub spearman: Option<f64>,
    /// Median APE of each mode, which chose `mode`.
    pub mode_median_ape: BTreeMap<String, f64>,
    /// Brier score of the failure/timeout risk.
    pub risk_brier: Option<f64>,
    /// Brier score of always predicting the held-out failure rate.
    pub risk_brier_base: Option<f64>,
}

/// One routing rule's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleScore {
    /// Rule.
    pub name: String,
    /// Σ time of its choices / Σ time of the best backends.
    pub regret: f64,
    /// Share of circuits where it chose the best backend.
    pub top1: f64,
    /// Share where its choice took at most 10% longer than the best.
    pub within_10pct: f64,
    /// Geometric mean over circuits of its choice's time / the best time (#30; 0 in sets
    /// made before it existed).
    #[serde(default)]
    pub geo_mean_slowdown: f64,
    /// Circuits where its choice took more than twice the best time.
    #[serde(default)]
    pub over_2x: u64,
    /// Circuits where its choice took more than ten times the best time.
    #[serde(default)]
    pub over_10x: u64,
}

/// A circuit on which the models' choice took longer than the best backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loss {
    /// Circuit name.
    pub circuit: String,
    /// The backend taken: the models' choice, or prism-auto when theirs refused the circuit
    /// (as for every rule); `None` when neither could take it.
    pub chosen: Option<String>,
    /// Whether the choice failed, timed out or fell below the fidelity floor.
    pub lost: bool,
    /// What the choice cost, ms: its time, or the time lost plus the best backend's.
    pub took_ms: f64,
    /// The fastest backend that succeeded.
    pub best: String,
    /// Its time, ms.
    pub best_ms: f64,
}

/// How many of the models' largest losses an evaluation keeps.
pub const LARGEST_LOSSES: usize = 10;

/// Per-circuit routing quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Circuits scored.
    pub circuits: u64,
    /// Circuits without any success (not scored).
    pub unscorable: u64,
    /// The models' choice.
    pub model: RuleScore,
    /// Fixed rules: always one backend, prism-auto, Aer's automatic method.
    pub baselines: Vec<RuleScore>,
    /// The circuits where the models' choice lost the most time against the best backend,
    /// largest first (at most [`LARGEST_LOSSES`]; absent from model sets made before it).
    #[serde(default)]
    pub largest_losses: Vec<Loss>,
    /// Σ (time of the models' choice − time of the best) over every scored circuit, ms.
    #[serde(default)]
    pub lost_ms: f64,
}

/// An evaluation on held-out circuits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Circuits evaluated.
    pub circuits: u64,
    /// Their families.
    pub families: u64,
    /// Per backend.
    pub backends: Vec<BackendMetrics>,
    /// Per circuit.
    pub selection: Selection,
    /// How far the measurements agree with themselves: the ceiling their noise puts on any
    /// model (absent from model sets made before it, and when no circuit ran twice).
    #[serde(default)]
    pub repeatability: Option<Repeatability>,
}

/// Everything measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Leave-family-out cross-validation over the training families.
    pub cv: Evaluation,
    /// Families held out of training (`--holdout-families`).
    pub holdout: Option<Evaluation>,
    /// Backends in the telemetry without a model: never succeeded, or fewer than two measured
    /// or timed-out circuits in the training families.
    pub unmodelled_backends: Vec<String>,
}

/// The median of |z| for a standard normal z: σ = median |deviation| / this.
pub(crate) const NORMAL_MEDIAN_ABS: f64 = 0.674_489_750_196_081_7;

/// The evaluation's view of measurement noise over the circuits it scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeatability {
    /// Scored circuits where every backend that succeeded has at least two runs.
    pub circuits: u64,
    /// Standard deviation of one run's ln time around its pair's true value, estimated
    /// robustly from the run pairs (median |ln a − ln b| / (0.6745 √2)).
    pub sigma_ln: f64,
    /// Choosing by one run, scored on the other.
    pub run_vs_run: RuleScore,
    /// A perfect model of the mean times, scored against re-drawn runs.
    pub true_means: RuleScore,
    /// That perfect model's median APE of latency against the re-drawn times.
    pub true_means_median_ape: f64,
    /// Per backend, the median APE of one run's time as a prediction of another's.
    pub median_ape: BTreeMap<String, f64>,
}

impl Repeatability {
    /// How far off a typical run is: exp(median |ln(run / true value)|) − 1.
    pub fn typical_run_error(&self) -> f64 {
        (self.sigma_ln * NORMAL_MEDIAN_ABS).exp_m1()
    }
}

impl std::fmt::Display for Repeatability {
    /// One paragraph for a terminal.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (a, b) = (&self.run_vs_run, &self.true_means);
        write!(
            f,
            "repeatability over {} circuit{} whose every successful backend ran at least twice: \
             one run's ln time scatters with sigma {:.2}; choosing the backend by one run, scored \
             on another: top-1 {:.1}%, regret {:.3}; a perfect model of the mean times \
             (simulated): top-1 {:.1}%, regret {:.3}, median APE {:.0}%",
            self.circuits,
            if self.circuits == 1 { "" } else { "s" },
            self.sigma_ln,
            100.0 * a.top1,
            a.regret,
            100.0 * b.top1,
            b.regret,
            100.0 * self.true_means_median_ape
        )
    }
}
