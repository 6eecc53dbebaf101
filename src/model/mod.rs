//! Models, for inference: per backend, predicted latency (with an interval), failure/timeout
//! risk and cost from a circuit's features.
//!
//! [`artifact`] stores a [`ModelSet`] as `meta.json` plus a checksummed binary payload;
//! prediction walks flattened forests ([`forest`]) and allocates nothing; [`evaluation`]
//! holds the metrics `meta.json` carries. Fitting and evaluation are `crate::train` (feature
//! `train`), which reads telemetry; nothing here does. How each part is made and why:
//! `docs/models.md`.

pub mod artifact;
pub mod calibrated;
pub mod evaluation;
pub mod expected;
pub mod forest;
pub mod linear;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::features::{FEATURE_SCHEMA, Features, NUM_FEATURES};
pub use artifact::{FORMAT_VERSION, ModelMeta};
pub use calibrated::Calibration;
pub use forest::{Forest, ForestParams, Row};
pub use linear::{Linear, N_TERMS, terms};

/// A model could not be trained, saved or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why. Not marked as the error's source: the message already holds it, and `main`
        /// prints the chain, which would say it twice.
        error: std::io::Error,
    },
    /// `meta.json` is not valid.
    #[error("{path}:{line}:{column}: {message}")]
    Meta {
        /// The file.
        path: PathBuf,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The model set was written in another format version.
    #[error(
        "{path}: model format version {found}, this qroute reads version {expected}: retrain with `qroute train`"
    )]
    FormatVersion {
        /// The meta file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// The models were trained on another feature schema.
    #[error(
        "{path}: trained on feature schema version {found}, this qroute computes version {expected}: retrain with `qroute train`"
    )]
    FeatureVersion {
        /// The meta file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build computes.
        expected: u32,
    },
    /// The payload does not match its checksum or cannot be decoded.
    #[error("{path}: corrupt model payload: {message}")]
    Corrupt {
        /// The payload file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Fitting failed.
    #[error("cannot fit the {what}: {message}")]
    Fit {
        /// Which model.
        what: String,
        /// Why.
        message: String,
    },
    /// Training cannot start.
    #[error("{0}")]
    Data(String),
    /// A feature vector of another schema.
    #[error(transparent)]
    Schema(#[from] crate::features::SchemaMismatch),
}

/// How a backend's latency model combines its regression and its forest (chosen per backend
/// by cross-validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyMode {
    /// The forest alone on log latency.
    Forest,
    /// The regression alone.
    Linear,
    /// The regression plus a forest fitted on its residuals.
    Residual,
    /// ln(time) against the ln of one work estimate ([`Calibration`]), fitted with timeouts
    /// as censored observations: it extrapolates as the work does.
    Calibrated,
    /// The calibrated line plus a forest fitted on its residuals (bounded: a forest's output
    /// stays within the residuals it saw).
    CalibratedResidual,
}

impl LatencyMode {
    /// Every mode, in a fixed order.
    pub const ALL: [LatencyMode; 5] = [
        LatencyMode::Forest,
        LatencyMode::Linear,
        LatencyMode::Residual,
        LatencyMode::Calibrated,
        LatencyMode::CalibratedResidual,
    ];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            LatencyMode::Forest => "forest",
            LatencyMode::Linear => "linear",
            LatencyMode::Residual => "residual",
            LatencyMode::Calibrated => "calibrated",
            LatencyMode::CalibratedResidual => "calibrated_residual",
        }
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(c: u8) -> Option<LatencyMode> {
        LatencyMode::ALL.get(c as usize).copied()
    }
}

/// The models of one backend.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendModel {
    /// Backend name.
    pub name: String,
    /// How latency is predicted.
    pub mode: LatencyMode,
    /// Regression of ln(wall ms) on the engineered terms.
    pub linear: Linear,
    /// ln(wall ms) against one work estimate (modes `calibrated`, `calibrated_residual`).
    pub calibration: Calibration,
    /// Forest on ln(wall ms) (mode `forest`) or on the regression's residual (`residual`,
    /// `calibrated_residual`).
    pub forest: Forest,
    /// Standard deviation of ln(actual/predicted) on held-out families.
    pub log_sigma: f64,
    /// Forest on the share of attempts that failed or timed out.
    pub risk: Forest,
    /// Regression of cost on core-seconds and shots.
    pub cost: Linear,
    /// Smallest value of each feature in the training data.
    pub domain_min: Vec<f64>,
    /// Largest value of each feature in the training data.
    pub domain_max: Vec<f64>,
}

/// Features that decide whether a circuit lies inside a backend's training domain.
pub const DOMAIN_FEATURES: [crate::features::Feature; 4] = [
    crate::features::Feature::NumQubits,
    crate::features::Feature::GateCount,
    crate::features::Feature::Depth,
    crate::features::Feature::Log2BondBound,
];

/// z of a two-sided 90% interval.
const Z90: f64 = 1.644_853_626_951_472_2;

/// What a backend's models predict for one circuit.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Prediction {
    /// Expected wall time, ms (the exponential of the predicted log).
    pub latency_ms: f64,
    /// Lower end of the 90% interval, ms.
    pub low_ms: f64,
    /// Upper end of the 90% interval, ms.
    pub high_ms: f64,
    /// Standard deviation of the log prediction: the larger of the forest's spread and the
    /// backend's held-out error.
    pub log_sd: f64,
    /// Predicted share of attempts that fail or time out.
    pub risk: f64,
    /// Expected cost.
    pub cost: f64,
    /// Whether the circuit lies inside the training range of [`DOMAIN_FEATURES`].
    pub in_domain: bool,
}

impl BackendModel {
    /// ln(wall ms) and the forest's spread, from a feature row and its terms.
    #[inline]
    pub fn log_latency(&self, x: &[f64], t: &[f64; N_TERMS]) -> (f64, f64) {
        assert!(x.len() >= self.forest.n_features(), "feature row too short");
        self.log_latency_row(&Row::new(x), t)
    }

    #[inline]
    fn log_latency_row(&self, row: &Row, t: &[f64; N_TERMS]) -> (f64, f64) {
        match self.mode {
            LatencyMode::Forest => self.forest.predict_spread_row(row),
            LatencyMode::Linear => (self.linear.predict(t), 0.0),
            LatencyMode::Calibrated => (self.calibration.predict(t), 0.0),
            LatencyMode::Residual => {
                let (r, s) = self.forest.predict_spread_row(row);
                (self.linear.predict(t) + r, s)
            }
            LatencyMode::CalibratedResidual => {
                let (r, s) = self.forest.predict_spread_row(row);
                (self.calibration.predict(t) + r, s)
            }
        }
    }

    /// Everything predicted for one feature row.
    #[inline]
    pub fn predict(&self, x: &[f64], t: &[f64; N_TERMS], shots: u64, cores: u32) -> Prediction {
        self.predict_row(x, &Row::new(x), t, shots, cores)
    }

    /// [`BackendModel::predict`] with the row already copied (`Row::new(x)`): one copy
    /// serves every forest of every backend.
    ///
    /// # Panics
    /// When `x` or the row is shorter than the features the models read.
    #[inline]
    pub fn predict_row(
        &self,
        x: &[f64],
        row: &Row,
        t: &[f64; N_TERMS],
        shots: u64,
        cores: u32,
    ) -> Prediction {
        let (mu, spread) = self.log_latency_row(row, t);
        let sd = spread.max(self.log_sigma);
        let latency_ms = mu.exp();
        let core_s = latency_ms / 1000.0 * cores as f64;
        Prediction {
            latency_ms,
            low_ms: (mu - Z90 * sd).exp(),
            high_ms: (mu + Z90 * sd).exp(),
            log_sd: sd,
            risk: self.risk.predict_row(row).clamp(0.0, 1.0),
            cost: self.cost.predict(&[core_s, shots as f64]).max(0.0),
            in_domain: DOMAIN_FEATURES.iter().all(|&f| {
                let i = f as usize;
                x[i] >= self.domain_min[i] && x[i] <= self.domain_max[i]
            }),
        }
    }
}

/// A versioned set of per-backend models.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSet {
    /// Metadata (versions, training data, hyperparameters, metrics).
    pub meta: ModelMeta,
    /// One entry per backend, in `meta.backends` order.
    pub backends: Vec<BackendModel>,
}

impl ModelSet {
    /// Index of a backend's models.
    pub fn index_of(&self, backend: &str) -> Option<usize> {
        self.backends.iter().position(|b| b.name == backend)
    }

    /// Predicts every backend for one circuit into `out` (one entry per backend, in
    /// order); allocates nothing.
    ///
    /// # Panics
    /// When `out` is shorter than the number of backends.
    pub fn predict_into(
        &self,
        features: &Features,
        shots: u64,
        cores: u32,
        out: &mut [Prediction],
    ) -> Result<(), ModelError> {
        FEATURE_SCHEMA.check(features)?;
        let x = &features.values[..NUM_FEATURES];
        let t = terms(x);
        let row = Row::new(x);
        for (m, o) in self.backends.iter().zip(out.iter_mut()) {
            *o = m.predict_row(x, &row, &t, shots, cores);
        }
        Ok(())
    }

    /// Predicts every backend for one circuit.
    pub fn predict(
        &self,
        features: &Features,
        shots: u64,
        cores: u32,
    ) -> Result<Vec<Prediction>, ModelError> {
        let mut out = vec![Prediction::default(); self.backends.len()];
        self.predict_into(features, shots, cores, &mut out)?;
        Ok(out)
    }

    /// Keeps only the named backends (in their current order).
    pub fn retain_backends(&mut self, names: &[&str]) {
        self.backends.retain(|b| names.contains(&b.name.as_str()));
        self.meta.backends = self.backends.iter().map(|b| b.name.clone()).collect();
    }
}
