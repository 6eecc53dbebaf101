//! `qroute train`: fit and evaluate a model set, save it with its report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::AppError;
use crate::model::ModelSet;
use crate::model::artifact::{Hyperparameters, ModeCriterion};
use crate::train::{Step, TrainSpec, train};

/// A saved model set.
#[derive(Debug)]
pub struct Trained {
    /// The set as saved.
    pub set: ModelSet,
    /// Its report (`OUT/report.md`).
    pub report: PathBuf,
    /// Telemetry files that could not be read (skipped), with why.
    pub bad_files: Vec<(PathBuf, String)>,
    /// How long training and evaluation took.
    pub elapsed: Duration,
}

/// Trains on `telemetry` with `hyper`, keeping `holdout_families` out entirely, and writes
/// `out/meta.json`, `out/model.bin` and `out/report.md`. The set is named after `out`'s last
/// component. `progress` sees each step, including the files skipped.
pub fn run(
    telemetry: Vec<PathBuf>,
    out: &Path,
    holdout_families: Vec<String>,
    hyper: Hyperparameters,
    mut progress: impl FnMut(&Step),
) -> crate::Result<Trained> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "models".into());
    let spec = TrainSpec {
        telemetry,
        name,
        holdout_families,
        hyper,
    };
    let started = Instant::now();
    let mut bad_files = Vec::new();
    let mut set = train(&spec, |step| {
        progress(&step);
        if let Step::Read { bad_files: b, .. } = step {
            bad_files = b;
        }
    })?;
    set.save(out)?;
    let report = out.join("report.md");
    std::fs::write(&report, crate::train::report::render(&set))
        .map_err(|e| AppError::io("write", &report, e))?;
    Ok(Trained {
        set,
        report,
        bad_files,
        elapsed: started.elapsed(),
    })
}

/// Train latency, risk and cost models per backend from telemetry, evaluate them on circuit
/// families they did not see, and write the model set with its report.
///
/// Writes OUT/meta.json (versions, training fingerprint, hyperparameters, metrics),
/// OUT/model.bin (checksummed) and OUT/report.md. Every reported number comes from
/// leave-family-out cross-validation or from --holdout-families. How the models work:
/// docs/models.md.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct TrainParams {
    /// Telemetry directories (repeatable).
    #[cfg_attr(feature = "cli", arg(long, required = true, num_args = 1..))]
    pub telemetry: Vec<PathBuf>,
    /// Output directory, e.g. models/NAME.
    #[cfg_attr(feature = "cli", arg(long))]
    pub out: PathBuf,
    /// Families kept out of training entirely and evaluated once at the end
    /// (comma-separated, as in the telemetry's `family` column).
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub holdout_families: Vec<String>,
    /// Seed of the folds and the forests.
    #[cfg_attr(feature = "cli", arg(long, short = 's', default_value_t = 0))]
    pub seed: u64,
    /// Trees per latency forest.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 100))]
    pub trees: usize,
    /// Depth limit of the latency forests.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 10))]
    pub max_depth: u16,
    /// Features tried per split in the latency forests (of 33).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 16))]
    pub features_per_split: usize,
    /// Fewest circuits in a leaf of the latency forests.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 5))]
    pub min_leaf: usize,
    /// Trees per failure/timeout risk forest.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 50))]
    pub risk_trees: usize,
    /// Share of the residual forest's correction added to the regression in mode
    /// `residual`, in [0, 1] (a learning rate: the forest's leaves are scaled by it).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1.0))]
    pub residual_weight: f64,
    /// How each backend's latency mode is chosen: per backend by the lowest held-out `tail`
    /// (90th percentile of the absolute ln error), `median-ape` or `mean-log-error`
    /// (timeouts counted one-sided); `regret` (from the tail choice, per backend the mode
    /// that lowers the held-out routing regret); or `residual` for every backend.
    /// docs/models.md compares them.
    #[cfg_attr(feature = "cli", arg(long, default_value = "tail"))]
    pub mode_criterion: ModeCriterion,
    /// Folds of the leave-family-out cross-validation: at least 2, at most one per
    /// training family (more are cut to that).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 5))]
    pub folds: usize,
}

impl TrainParams {
    /// The hyperparameters these settings give (training checks their ranges).
    pub fn hyperparameters(&self) -> Hyperparameters {
        let mut hyper = Hyperparameters {
            seed: self.seed,
            folds: self.folds,
            residual_weight: self.residual_weight,
            mode_criterion: self.mode_criterion,
            ..Default::default()
        };
        hyper.forest.n_trees = self.trees;
        hyper.forest.max_depth = self.max_depth;
        hyper.forest.features_per_split = self.features_per_split;
        hyper.forest.min_samples_leaf = self.min_leaf;
        hyper.risk_forest.n_trees = self.risk_trees;
        hyper
    }
}
