//! `qroute replay`'s experiment folder: traces read, routing policies replayed (optionally
//! under load and drift), and everything written to one folder: `config.toml` (what ran, with
//! versions), `results.parquet`, `report.md`, `load.json`, `drift.json` and figures.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::AppError;
use crate::model::artifact::Hyperparameters;
use crate::replay::sim::{Arrivals, DriftResult, DriftSpec, LoadResult, LoadSpec};
use crate::replay::{
    ModelSource, Policy, Replay, ReplaySpec, all_policies, prepare, replay_prepared, sim,
    write_drift_report, write_load_report, write_report, write_results,
};
use crate::route::RouterConfig;
use crate::telemetry::{ExecutionRecord, read_dirs};

/// Where the routing models of a replay come from.
#[derive(Debug, Clone)]
pub enum Models {
    /// A saved model set; refused when it was trained on a replayed family.
    Set(PathBuf),
    /// Telemetry to train one model set per fold of the replayed families, without the fold.
    Train {
        /// Telemetry directories.
        telemetry: Vec<PathBuf>,
        /// Folds of families.
        folds: usize,
    },
}

/// Drift mode, as asked: the backend may be left to the replay.
#[derive(Debug, Clone)]
pub struct DriftRequest {
    /// The backend that slows down; `None`: the one the first router strategy spent the most
    /// time on.
    pub backend: Option<String>,
    /// How much slower.
    pub factor: f64,
    /// Share of the circuits (trace order) after which it starts.
    pub at: f64,
    /// Circuits in the rolling window of recovery.
    pub window: usize,
}

/// One experiment.
#[derive(Debug, Clone)]
pub struct ExperimentSpec {
    /// Full-information trace directories.
    pub traces: Vec<PathBuf>,
    /// The models.
    pub models: Models,
    /// Policies to compare.
    pub policies: Vec<Policy>,
    /// Seed of `random`, the folds and training.
    pub seed: u64,
    /// Circuits longer than this count as deadline misses, seconds.
    pub deadline_s: Option<f64>,
    /// Load mode.
    pub load: Option<LoadSpec>,
    /// Drift mode.
    pub drift: Option<DriftRequest>,
    /// The folder.
    pub out: PathBuf,
    /// Replace an earlier replay in the folder.
    pub force: bool,
    /// The command as typed, recorded in `config.toml` and the report.
    pub command: String,
}

/// What an experiment wrote.
#[derive(Debug)]
pub struct Experiment {
    /// The replay.
    pub replay: Replay,
    /// Telemetry files that could not be read (skipped), with why.
    pub bad_files: Vec<(PathBuf, String)>,
    /// Why there are no figures, when there are none.
    pub no_figures: Option<String>,
}

/// `config.toml` of an experiment folder.
#[derive(Serialize)]
struct ConfigFile<'a> {
    command: &'a str,
    qroute_version: &'static str,
    traces: Vec<String>,
    train: Vec<String>,
    model: Option<String>,
    strategies: Vec<String>,
    seed: u64,
    folds: Option<usize>,
    deadline_s: Option<f64>,
    rows: u64,
    circuits: usize,
    model_versions: &'a [String],
    load: Option<LoadSpec>,
    drift: Option<DriftSpec>,
}

fn shown(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

/// Runs the experiment of `spec` with the router settings `router` and writes its folder;
/// `progress` hears what it is doing.
pub fn run(
    spec: &ExperimentSpec,
    router: RouterConfig,
    mut progress: impl FnMut(&str),
) -> crate::Result<Experiment> {
    if spec.out.join("report.md").exists() && !spec.force {
        return Err(AppError::ExperimentExists(spec.out.clone()).into());
    }
    if let Some(d) = spec.deadline_s {
        crate::bounds::positive("the deadline", d)?;
    }
    let mut bad_files = Vec::new();
    let mut read = |dirs: &[PathBuf]| -> crate::Result<Vec<ExecutionRecord>> {
        let r = read_dirs(dirs)?;
        bad_files.extend(r.bad_files);
        Ok(r.records)
    };
    let traces = read(&spec.traces)?;
    let (models, folds) = match &spec.models {
        Models::Set(p) => (ModelSource::Model(Box::new(super::router::models(p)?)), 0),
        Models::Train { telemetry, folds } => (
            ModelSource::Train {
                records: read(telemetry)?,
                hyper: Hyperparameters {
                    seed: spec.seed,
                    ..Hyperparameters::default()
                },
                folds: *folds,
            },
            *folds,
        ),
    };
    let replay_spec = ReplaySpec {
        traces,
        models,
        policies: spec.policies.clone(),
        router,
        seed: spec.seed,
        deadline_ms: spec.deadline_s.map(|d| d * 1e3),
    };
    progress(if folds > 0 {
        "training per fold and replaying"
    } else {
        "replaying"
    });
    let prep = prepare(&replay_spec, &mut progress)?;
    progress("replaying");
    let replay = replay_prepared(&replay_spec, &prep)?;
    // Load simulates whole runs on their recorded times: the hedged variants are left out of
    // it. Drift scores them (a drifted run overruns its cutoff).
    let unhedged = ReplaySpec {
        policies: (spec.policies.iter())
            .filter(|p| !matches!(p, Policy::Hedged(_)))
            .cloned()
            .collect(),
        ..replay_spec.clone()
    };
    let loaded = match &spec.load {
        Some(l) => {
            progress("simulating load");
            Some(sim::load(&unhedged, &prep, l)?)
        }
        None => None,
    };
    let drift_spec = match &spec.drift {
        Some(d) => Some(DriftSpec {
            backend: match &d.backend {
                Some(b) => b.clone(),
                None => sim::default_drift_backend(&replay, d.at).ok_or_else(|| {
                    AppError::Invalid("no backend to drift: the replay chose none".into())
                })?,
            },
            factor: d.factor,
            at: d.at,
            window: d.window,
        }),
        None => None,
    };
    let drifted = match &drift_spec {
        Some(d) => {
            progress(&format!("drifting {}", d.backend));
            Some(sim::drift(&replay_spec, &prep, d)?)
        }
        None => None,
    };
    let no_figures = write_folder(
        spec,
        folds,
        &replay,
        loaded.as_deref(),
        drift_spec.as_ref().zip(drifted.as_deref()),
    )?;
    Ok(Experiment {
        replay,
        bad_files,
        no_figures,
    })
}

/// Writes the folder; returns why there are no figures, when there are none.
fn write_folder(
    spec: &ExperimentSpec,
    folds: usize,
    r: &Replay,
    loaded: Option<&[LoadResult]>,
    drifted: Option<(&DriftSpec, &[DriftResult])>,
) -> crate::Result<Option<String>> {
    let out = &spec.out;
    std::fs::create_dir_all(out).map_err(|e| AppError::io("create", out, e))?;
    let write = |name: &str, text: String| -> Result<(), AppError> {
        let p = out.join(name);
        std::fs::write(&p, text).map_err(|e| AppError::io("write", &p, e))
    };
    let (model, train) = match &spec.models {
        Models::Set(p) => (Some(p.display().to_string()), Vec::new()),
        Models::Train { telemetry, .. } => (None, shown(telemetry)),
    };
    let config = ConfigFile {
        command: &spec.command,
        qroute_version: env!("CARGO_PKG_VERSION"),
        traces: shown(&spec.traces),
        train,
        model,
        strategies: spec.policies.iter().map(|p| p.to_string()).collect(),
        seed: spec.seed,
        folds: (folds > 0).then_some(folds),
        deadline_s: spec.deadline_s,
        rows: r.rows,
        circuits: r.circuits.len(),
        model_versions: &r.model_versions,
        load: spec.load,
        drift: drifted.map(|(d, _)| d.clone()),
    };
    let toml = toml::to_string(&config)
        .map_err(|e| AppError::Invalid(format!("cannot write config.toml: {e}")))?;
    write("config.toml", toml)?;
    let results = out.join("results.parquet");
    write_results(r, &results).map_err(|e| AppError::io("write", &results, e))?;
    let mut report = write_report(r, &spec.command);
    if let (Some(l), Some(res)) = (&spec.load, loaded) {
        report.push_str(&write_load_report(l, res));
        write("load.json", json(res))?;
    }
    if let Some((d, res)) = drifted {
        report.push_str(&write_drift_report(d, res));
        write("drift.json", json(res))?;
    }
    let no_figures = figures(out, r, loaded, drifted, &mut report);
    write("report.md", report)?;
    Ok(no_figures)
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    // Replay results are plain numbers and strings: serialising them cannot fail.
    serde_json::to_string_pretty(v).unwrap_or_default()
}

#[cfg(feature = "plots")]
fn figures(
    out: &Path,
    r: &Replay,
    loaded: Option<&[LoadResult]>,
    drifted: Option<(&DriftSpec, &[DriftResult])>,
    report: &mut String,
) -> Option<String> {
    match crate::replay::plot::write_plots(out, r, loaded, drifted) {
        Ok(names) => {
            report.push_str(&crate::replay::plot::figures_markdown(&names));
            None
        }
        Err(e) => {
            report.push_str(&format!("\n(No figures: {e}.)\n"));
            Some(e.to_string())
        }
    }
}

#[cfg(not(feature = "plots"))]
fn figures(
    _: &Path,
    _: &Replay,
    _: Option<&[LoadResult]>,
    _: Option<(&DriftSpec, &[DriftResult])>,
    _: &mut String,
) -> Option<String> {
    Some("built without the `plots` feature".into())
}

/// Replay recorded full-information traces under routing policies: what each would have cost
/// in time and money, against the oracle.
///
/// Each choice is scored with what that backend recorded for the circuit; a failed or
/// timed-out choice costs its lost time plus a retry on the fastest backend. The model never
/// sees the families it routes: --train fits one model set per fold of families without that
/// fold; --model is refused when it was trained on a replayed family. Writes
/// OUT/config.toml, OUT/results.parquet and OUT/report.md. Method: docs/replay.md.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct ReplayParams {
    /// Full-information traces: telemetry directories where each circuit ran on every
    /// backend (as `qroute collect` records).
    #[cfg_attr(feature = "cli", arg(long, required = true, num_args = 1..))]
    pub traces: Vec<PathBuf>,
    /// Train the routing models on this telemetry, one model set per fold of the replayed
    /// families, each without its fold (leave-family-out).
    #[cfg_attr(
        feature = "cli",
        arg(long, num_args = 1.., conflicts_with = "model", required_unless_present = "model")
    )]
    pub train: Vec<PathBuf>,
    /// Route with this model set; refused when it was trained on a replayed family.
    #[cfg_attr(feature = "cli", arg(long))]
    pub model: Option<PathBuf>,
    /// Policies, comma-separated: oracle, random, round-robin, `always:<backend>`, rules-aer,
    /// prism-auto, performance, cost, balanced, predictive, adaptive (default: all but
    /// always:).
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub strategies: Vec<Policy>,
    /// Output folder, e.g. experiments/2026-11-23-mine.
    #[cfg_attr(feature = "cli", arg(long))]
    pub out: PathBuf,
    /// Replace the output folder's files when it holds an earlier replay.
    #[cfg_attr(feature = "cli", arg(long))]
    pub force: bool,
    /// Seed of `random`, the folds and training.
    #[cfg_attr(feature = "cli", arg(long, short = 's', default_value_t = 0))]
    pub seed: u64,
    /// Folds of families with --train.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 5))]
    pub folds: usize,
    /// Count circuits taking longer than this many seconds as deadline misses.
    #[cfg_attr(feature = "cli", arg(long))]
    pub deadline: Option<f64>,
    /// Load mode: circuits arrive as a seeded Poisson stream of this many per second and
    /// queue for --slots servers per backend (a discrete-event simulation on the recorded
    /// service times).
    #[cfg_attr(feature = "cli", arg(long, conflicts_with = "load_trace"))]
    pub load_rate: Option<f64>,
    /// Load mode with arrivals spaced as the trace's timestamps, this many times faster.
    #[cfg_attr(feature = "cli", arg(long))]
    pub load_trace: Option<f64>,
    /// Servers per backend in load mode.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1))]
    pub slots: usize,
    /// Drift mode: from --drift-at on, every recorded time of this backend is --drift-factor
    /// times longer ("auto": the backend the first router strategy spent the most time on).
    #[cfg_attr(feature = "cli", arg(long))]
    pub drift_backend: Option<String>,
    /// How much slower the drifted backend becomes.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 4.0))]
    pub drift_factor: f64,
    /// Share of the circuits (trace order) after which the drift starts.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 0.5))]
    pub drift_at: f64,
    /// Circuits in the rolling window of drift recovery.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 25))]
    pub drift_window: usize,
}

impl ReplayParams {
    /// The experiment, recorded as `command` (what the user typed).
    pub fn check(&self, command: String) -> crate::Result<ExperimentSpec> {
        if let Some(d) = self.deadline {
            super::params::seconds("--deadline", d)?;
        }
        let arrivals = match (self.load_rate, self.load_trace) {
            (Some(rate), _) => Some(Arrivals::Poisson(rate)),
            (None, Some(x)) => Some(Arrivals::Trace(x)),
            (None, None) => None,
        };
        Ok(ExperimentSpec {
            traces: self.traces.clone(),
            models: match &self.model {
                Some(p) => Models::Set(p.clone()),
                None => Models::Train {
                    telemetry: self.train.clone(),
                    folds: self.folds,
                },
            },
            policies: if self.strategies.is_empty() {
                all_policies()
            } else {
                self.strategies.clone()
            },
            seed: self.seed,
            deadline_s: self.deadline,
            load: arrivals.map(|arrivals| LoadSpec {
                arrivals,
                slots: self.slots,
            }),
            drift: self.drift_backend.as_ref().map(|b| DriftRequest {
                backend: (b != "auto").then(|| b.clone()),
                factor: self.drift_factor,
                at: self.drift_at,
                window: self.drift_window,
            }),
            out: self.out.clone(),
            force: self.force,
            command,
        })
    }
}
