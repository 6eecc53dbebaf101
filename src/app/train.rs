//! `qroute train`: fit and evaluate a model set, save it with its report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::AppError;
use crate::model::ModelSet;
use crate::model::artifact::Hyperparameters;
use crate::model::train::{Step, TrainSpec, train};

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
    std::fs::write(&report, crate::model::report::render(&set.meta))
        .map_err(|e| AppError::io("write", &report, e))?;
    Ok(Trained {
        set,
        report,
        bad_files,
        elapsed: started.elapsed(),
    })
}
