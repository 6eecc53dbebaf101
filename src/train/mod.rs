//! Training: telemetry → per (circuit, backend) observations → models, evaluated by
//! leave-family-out cross-validation before the final fit on all training families.
//!
//! Censoring: a timed-out attempt only says the true time exceeds the timeout. Dropping it
//! would teach the models that the backend is fast exactly where it is slowest, so a
//! (circuit, backend) pair with no success but a timeout is trained at
//! `censor_factor × timeout` (2× by default: a conservative stand-in above the bound), is
//! left out of the latency error metrics (its true value is unknown), and counts as a
//! failure for the risk model.
//!
//! Feature `train`: reads telemetry and writes [`crate::model`]'s types; an embedding host
//! that only routes compiles none of it. [`eval`] scores predictions and routing on held-out
//! families, [`noise`] measures how repeatable the timings are, [`report`] writes
//! `report.md`.

pub mod eval;
pub mod noise;
pub mod report;
mod tobit;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::features::{FEATURE_SCHEMA, NUM_FEATURES};
use crate::model::artifact::{
    Hyperparameters, ModeCriterion, ModelMeta, PayloadInfo, TrainingInfo,
};
use crate::model::calibrated::softplus;
use crate::model::forest::{Forest, ForestParams};
use crate::model::linear::{Linear, WORK_TERMS, terms};
use crate::model::{BackendModel, Calibration, LatencyMode, ModelError, ModelSet};
use crate::rng::Rng;
use crate::telemetry::{ExecutionRecord, HostScale, Status};
use eval::{CvPred, Metrics};

/// What to train.
#[derive(Debug, Clone)]
pub struct TrainSpec {
    /// Telemetry directories.
    pub telemetry: Vec<PathBuf>,
    /// Name written in the metadata.
    pub name: String,
    /// Families kept out of training and cross-validation, evaluated at the end.
    pub holdout_families: Vec<String>,
    /// How to fit.
    pub hyper: Hyperparameters,
}

/// One circuit of the training data.
#[derive(Debug, Clone)]
pub(crate) struct Circuit {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) family: String,
    pub(crate) x: Vec<f64>,
    /// Earliest attempt, µs since the epoch.
    pub(crate) first_ts_us: i64,
    /// Shots of its attempts.
    pub(crate) shots: u64,
}

/// Every attempt of one circuit on one backend, summarised.
#[derive(Debug, Clone, Default)]
pub(crate) struct Obs {
    pub(crate) attempts: u32,
    pub(crate) ineligible: u32,
    /// Wall times of successes whose fidelity estimate meets the minimum.
    pub(crate) ok_ms: Vec<f64>,
    /// Wall times of successes below the minimum fidelity.
    pub(crate) approx_ms: Vec<f64>,
    pub(crate) timeouts: u32,
    pub(crate) timeout_ms: f64,
    pub(crate) failures: u32,
    pub(crate) fail_ms: Vec<f64>,
    /// Recorded costs of its attempts.
    pub(crate) costs: Vec<f64>,
}

/// How a choice of backend turned out for one circuit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Outcome {
    /// The backend refused the circuit.
    Ineligible,
    /// It succeeded in this median time.
    Ok(f64),
    /// It did not give a usable result; this much time was lost.
    Lost(f64),
}

/// The median ([`crate::stats::median`]), NaN when there is none.
pub(crate) fn median(v: &[f64]) -> f64 {
    crate::stats::median(v).unwrap_or(f64::NAN)
}

impl Obs {
    pub(crate) fn eligible(&self) -> bool {
        self.attempts > self.ineligible
    }

    /// ln(ms) to train on and whether it is censored.
    pub(crate) fn latency_target(&self, censor_factor: f64) -> Option<(f64, bool)> {
        let all_ok: Vec<f64> = self.ok_ms.iter().chain(&self.approx_ms).copied().collect();
        if !all_ok.is_empty() {
            Some((median(&all_ok).max(1e-3).ln(), false))
        } else if self.timeouts > 0 {
            Some(((censor_factor * self.timeout_ms).max(1e-3).ln(), true))
        } else {
            None
        }
    }

    /// Share of eligible attempts that gave no usable result: failed, timed out, or fell
    /// below the fidelity floor (a truncated MPS: the job must run again, as after a failure).
    pub(crate) fn risk_target(&self) -> Option<f64> {
        let n = self.attempts - self.ineligible;
        (n > 0).then(|| {
            (self.timeouts + self.failures + self.approx_ms.len() as u32) as f64 / n as f64
        })
    }

    pub(crate) fn outcome(&self) -> Outcome {
        if !self.eligible() {
            Outcome::Ineligible
        } else if !self.ok_ms.is_empty() {
            Outcome::Ok(median(&self.ok_ms))
        } else if self.timeouts > 0 {
            Outcome::Lost(self.timeout_ms)
        } else if !self.approx_ms.is_empty() {
            Outcome::Lost(median(&self.approx_ms))
        } else {
            Outcome::Lost(if self.fail_ms.is_empty() {
                0.0
            } else {
                median(&self.fail_ms)
            })
        }
    }
}

/// Telemetry arranged by circuit and backend.
#[derive(Debug, Clone)]
pub(crate) struct Dataset {
    pub(crate) circuits: Vec<Circuit>,
    pub(crate) backends: Vec<String>,
    /// `obs[circuit][backend]`.
    pub(crate) obs: Vec<Vec<Obs>>,
    pub(crate) rows: u64,
    pub(crate) fingerprint: String,
    /// Backends left out: never succeeded, or too few observations to fit.
    pub(crate) unmodelled: Vec<String>,
    /// The host speed every time was put on ([`HostScale`]); `None`: times as measured.
    pub(crate) scale: Option<HostScale>,
}

impl Dataset {
    /// Keeps the backends `keep` accepts; the others are listed as unmodelled.
    pub(crate) fn retain_backends(&mut self, keep: impl Fn(usize) -> bool) {
        let keep: Vec<bool> = (0..self.backends.len()).map(keep).collect();
        for (b, name) in self.backends.iter().enumerate() {
            if !keep[b] {
                self.unmodelled.push(name.clone());
            }
        }
        self.unmodelled.sort();
        let mut k = keep.iter();
        self.backends.retain(|_| *k.next().unwrap_or(&true));
        for row in &mut self.obs {
            let mut k = keep.iter();
            row.retain(|_| *k.next().unwrap_or(&true));
        }
    }

    /// The dataset of `records`, their times (wall and timeout) put on `scale` when given.
    pub(crate) fn from_records(
        records: &[ExecutionRecord],
        min_fidelity: f64,
        scale: Option<HostScale>,
    ) -> Result<Dataset, ModelError> {
        let mut by_circuit: BTreeMap<&str, usize> = BTreeMap::new();
        let mut circuits = Vec::new();
        let all_backends: BTreeSet<&str> = records.iter().map(|r| r.backend.as_str()).collect();
        let succeeded: BTreeSet<&str> = records
            .iter()
            .filter(|r| r.status == Status::Ok)
            .map(|r| r.backend.as_str())
            .collect();
        let backends: Vec<String> = succeeded.iter().map(|s| s.to_string()).collect();
        let unmodelled = all_backends
            .difference(&succeeded)
            .map(|s| s.to_string())
            .collect();
        let bi: BTreeMap<&str, usize> = backends
            .iter()
            .enumerate()
            .map(|(i, b)| (b.as_str(), i))
            .collect();
        let mut obs: Vec<Vec<Obs>> = Vec::new();
        let mut hasher = blake3::Hasher::new();
        let mut keys: Vec<String> = Vec::with_capacity(records.len());
        for r in records {
            if r.features.schema_version != FEATURE_SCHEMA.version {
                return Err(ModelError::Data(format!(
                    "telemetry of circuit `{}` has features of schema v{}, but this build \
                     computes v{}: `qroute telemetry upgrade DIR --circuits CIRCUITS... --out \
                     NEW` recomputes them from the circuit files",
                    r.circuit_name, r.features.schema_version, FEATURE_SCHEMA.version
                )));
            }
            if r.features.values.len() != NUM_FEATURES {
                return Err(ModelError::Data(format!(
                    "job {}: {} feature values, expected {NUM_FEATURES}",
                    r.job_id,
                    r.features.values.len()
                )));
            }
            keys.push(format!(
                "{}|{}|{}|{}|{:?}",
                r.circuit_id,
                r.backend,
                r.job_id,
                r.status.as_str(),
                r.wall_ms
            ));
            let Some(&b) = bi.get(r.backend.as_str()) else {
                continue;
            };
            let c = *by_circuit.entry(&r.circuit_id).or_insert_with(|| {
                circuits.push(Circuit {
                    id: r.circuit_id.clone(),
                    name: r.circuit_name.clone(),
                    family: r.family.clone().unwrap_or_else(|| "unknown".into()),
                    x: r.features.values.clone(),
                    first_ts_us: r.ts_us,
                    shots: r.shots,
                });
                obs.push(vec![Obs::default(); backends.len()]);
                circuits.len() - 1
            });
            circuits[c].first_ts_us = circuits[c].first_ts_us.min(r.ts_us);
            let o = &mut obs[c][b];
            o.attempts += 1;
            if let Some(cost) = r.cost {
                o.costs.push(cost);
            }
            let speed = scale.map_or(1.0, |s| s.factor(r));
            let wall = r.wall_ms.unwrap_or(0.0) * speed;
            match r.status {
                Status::Ok => {
                    if r.fidelity_estimate.unwrap_or(1.0) >= min_fidelity {
                        o.ok_ms.push(wall);
                    } else {
                        o.approx_ms.push(wall);
                    }
                }
                // A hedged run was cut at its cutoff: censored there, as a timeout is.
                Status::Timeout | Status::Hedged => {
                    o.timeouts += 1;
                    o.timeout_ms = o.timeout_ms.max(r.timeout_ms.map_or(wall, |t| t * speed));
                }
                Status::Failed => {
                    o.failures += 1;
                    o.fail_ms.push(wall);
                }
                Status::Ineligible => o.ineligible += 1,
            }
        }
        if circuits.is_empty() {
            return Err(ModelError::Data(
                "no successful execution in the telemetry: nothing to learn from".into(),
            ));
        }
        keys.sort_unstable();
        for k in &keys {
            hasher.update(k.as_bytes());
            hasher.update(b"\n");
        }
        Ok(Dataset {
            circuits,
            backends,
            obs,
            rows: records.len() as u64,
            fingerprint: hasher.finalize().to_hex()[..32].to_string(),
            unmodelled,
            scale,
        })
    }
}

/// The fitted models of one backend, every variant (for cross-validation).
pub(crate) struct Fitted {
    pub(crate) linear: Linear,
    pub(crate) direct: Forest,
    pub(crate) residual: Forest,
    /// The law in the best-fitting work estimate ([`calibrate`]).
    pub(crate) calibrated: Calibration,
    pub(crate) calibrated_residual: Forest,
    pub(crate) risk: Forest,
}

/// Slopes a calibrated law may take past its knee: time grows with an engine's work
/// estimate, and not faster than its square.
const SLOPE_RANGE: (f64, f64) = (0.0, 2.0);

/// Knees tried, as log2 of the work: every second power of two up to 2^40.
const KNEES_LOG2: std::ops::RangeInclusive<u32> = 0..=20;

/// The calibration ([`Calibration`]) that fits best (least σ of the censored fit) over every
/// work term and knee; `rows` are (terms, ln ms, censored), a censored value being
/// `ln(censor_factor × timeout)`. `None` when nothing can be fitted.
fn calibrate(rows: &[(&[f64], f64, bool)], censor_factor: f64) -> Option<Calibration> {
    let shift = censor_factor.max(1e-9).ln();
    let mut best: Option<(f64, Calibration)> = None;
    let mut points: Vec<tobit::Point> = Vec::with_capacity(rows.len());
    for &k in &WORK_TERMS {
        for knee in KNEES_LOG2.map(|j| f64::from(2 * j) * std::f64::consts::LN_2) {
            points.clear();
            points.extend(
                rows.iter()
                    .map(|&(t, y, c)| (softplus(t[k] - knee), if c { y - shift } else { y }, c)),
            );
            if let Some(f) = tobit::fit(&points, SLOPE_RANGE)
                && best.as_ref().is_none_or(|b| f.sigma < b.0)
            {
                best = Some((
                    f.sigma,
                    Calibration {
                        term: k,
                        knee,
                        intercept: f.intercept,
                        slope: f.slope,
                    },
                ));
            }
        }
    }
    best.map(|b| b.1)
}

fn seed_for(base: u64, backend: &str, fold: usize) -> u64 {
    let h = blake3::hash(backend.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    base ^ u64::from_le_bytes(b) ^ (fold as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Fits every model of backend `b` on circuits `train`.
pub(crate) fn fit_backend(
    ds: &Dataset,
    train: &[usize],
    b: usize,
    h: &Hyperparameters,
    fold: usize,
) -> Result<Option<Fitted>, ModelError> {
    let name = &ds.backends[b];
    let mut xs = Vec::new();
    let mut ts = Vec::new();
    let mut ys = Vec::new();
    let mut cens = Vec::new();
    let mut rx = Vec::new();
    let mut ry = Vec::new();
    for &c in train {
        let o = &ds.obs[c][b];
        let x = &ds.circuits[c].x;
        if let Some((y, censored)) = o.latency_target(h.censor_factor) {
            xs.push(x.clone());
            ts.push(terms(x).to_vec());
            ys.push(y);
            cens.push(censored);
        }
        if let Some(r) = o.risk_target() {
            rx.push(x.clone());
            ry.push(r);
        }
    }
    if ys.len() < 2 || ry.is_empty() {
        return Ok(None);
    }
    let seed = seed_for(h.seed, name, fold);
    let linear = Linear::fit(&ts, &ys, h.ridge_alpha)?;
    let fp = ForestParams { seed, ..h.forest };
    let direct = Forest::fit(&xs, &ys, &fp)?;
    // A forest on what a base law leaves, shrunk by `residual_weight`.
    let residual_of = |predict: &dyn Fn(&[f64]) -> f64| {
        let resid: Vec<f64> = ys.iter().zip(&ts).map(|(y, t)| y - predict(t)).collect();
        Forest::fit(&xs, &resid, &fp).map(|mut f| {
            f.scale(h.residual_weight);
            f
        })
    };
    let residual = residual_of(&|t| linear.predict(t))?;
    let rows: Vec<(&[f64], f64, bool)> = ts
        .iter()
        .zip(&ys)
        .zip(&cens)
        .map(|((t, &y), &c)| (t.as_slice(), y, c))
        .collect();
    // Without a fit (every observation censored) the floor is the mean observation.
    let calibrated = calibrate(&rows, h.censor_factor).unwrap_or(Calibration {
        term: WORK_TERMS[0],
        knee: 0.0,
        intercept: ys.iter().sum::<f64>() / ys.len() as f64,
        slope: 0.0,
    });
    let calibrated_residual = residual_of(&|t| calibrated.predict(t))?;
    let risk = Forest::fit(
        &rx,
        &ry,
        &ForestParams {
            seed: seed ^ 1,
            ..h.risk_forest
        },
    )?;
    Ok(Some(Fitted {
        linear,
        direct,
        residual,
        calibrated,
        calibrated_residual,
        risk,
    }))
}

/// Every mode's prediction for a feature row, held out of `f`'s training.
pub(crate) fn predict_modes(f: &Fitted, x: &[f64]) -> CvPred {
    let t = terms(x);
    let lin = f.linear.predict(&t);
    let cal = f.calibrated.predict(&t);
    let (direct, direct_sd) = f.direct.predict_spread(x);
    let (resid, resid_sd) = f.residual.predict_spread(x);
    let (cal_resid, cal_resid_sd) = f.calibrated_residual.predict_spread(x);
    let mut log_ms = [0.0; LatencyMode::ALL.len()];
    let mut spread = [0.0; LatencyMode::ALL.len()];
    for (i, m) in LatencyMode::ALL.iter().enumerate() {
        (log_ms[i], spread[i]) = match m {
            LatencyMode::Forest => (direct, direct_sd),
            LatencyMode::Linear => (lin, 0.0),
            LatencyMode::Residual => (lin + resid, resid_sd),
            LatencyMode::Calibrated => (cal, 0.0),
            LatencyMode::CalibratedResidual => (cal + cal_resid, cal_resid_sd),
        };
    }
    CvPred {
        log_ms,
        spread,
        risk: f.risk.predict(x),
    }
}

/// Cost = intercept + a·core-seconds + b·shots, per backend, from successes.
fn fit_cost(records: &[ExecutionRecord], backend: &str) -> Result<Linear, ModelError> {
    let mut rows = Vec::new();
    let mut y = Vec::new();
    for r in records {
        if r.backend == backend
            && r.status == Status::Ok
            && let (Some(c), Some(w)) = (r.cost, r.wall_ms)
        {
            rows.push(vec![w / 1000.0 * r.threads.max(1) as f64, r.shots as f64]);
            y.push(c);
        }
    }
    if rows.is_empty() {
        return Ok(Linear {
            intercept: 0.0,
            coef: vec![0.0, 0.0],
        });
    }
    Linear::fit(&rows, &y, 1e-9)
}

/// Progress of a training run, for a progress display.
#[derive(Debug, Clone)]
pub enum Step {
    /// Telemetry read.
    Read {
        /// Rows.
        rows: u64,
        /// Unreadable files, and why.
        bad_files: Vec<(PathBuf, String)>,
    },
    /// Total fits to do.
    Planned(usize),
    /// One backend fitted on one fold (or the final fit).
    Fitted,
}

/// Trains a model set: reads the telemetry, cross-validates by family, fits on every
/// training family, evaluates the held-out families.
pub fn train(spec: &TrainSpec, mut progress: impl FnMut(Step)) -> crate::Result<ModelSet> {
    let crate::telemetry::ReadReport {
        records, bad_files, ..
    } = crate::telemetry::read_dirs(&spec.telemetry)?;
    progress(Step::Read {
        rows: records.len() as u64,
        bad_files,
    });
    Ok(train_records(&records, spec, progress)?)
}

/// [`train`] on records already read (`spec.telemetry` is only recorded in the metadata).
pub fn train_records(
    records: &[ExecutionRecord],
    spec: &TrainSpec,
    mut progress: impl FnMut(Step),
) -> Result<ModelSet, ModelError> {
    let h = &spec.hyper;
    if !(0.0..=1.0).contains(&h.residual_weight) {
        return Err(ModelError::Data(format!(
            "residual weight {}: must be in [0, 1]",
            h.residual_weight
        )));
    }
    if h.folds < 2 {
        return Err(ModelError::Data(format!(
            "{} fold(s): leave-family-out cross-validation needs at least 2",
            h.folds
        )));
    }
    // Times from hosts of different speed, on the scale of the rows' median host.
    let mut ds = Dataset::from_records(records, h.min_fidelity, HostScale::of(records))?;
    // A backend with fewer than two latency observations among the training circuits cannot
    // be modelled: it is listed as unmodelled instead of failing the whole set.
    let observed: Vec<usize> = (0..ds.backends.len())
        .map(|b| {
            (0..ds.circuits.len())
                .filter(|&c| {
                    !spec.holdout_families.contains(&ds.circuits[c].family)
                        && ds.obs[c][b].latency_target(h.censor_factor).is_some()
                })
                .count()
        })
        .collect();
    ds.retain_backends(|b| observed[b] >= 2);
    if ds.backends.is_empty() {
        return Err(ModelError::Data(
            "no backend has two or more observations in the training families".into(),
        ));
    }
    let holdout: BTreeSet<&str> = spec.holdout_families.iter().map(String::as_str).collect();
    let families: BTreeSet<&str> = ds.circuits.iter().map(|c| c.family.as_str()).collect();
    for f in &holdout {
        if !families.contains(f) {
            return Err(ModelError::Data(format!(
                "holdout family `{f}` is not in the telemetry (families: {})",
                families.iter().copied().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let pool: Vec<usize> = (0..ds.circuits.len())
        .filter(|&c| !holdout.contains(ds.circuits[c].family.as_str()))
        .collect();
    let test: Vec<usize> = (0..ds.circuits.len())
        .filter(|&c| holdout.contains(ds.circuits[c].family.as_str()))
        .collect();

    let mut train_families: Vec<&str> = families
        .iter()
        .copied()
        .filter(|f| !holdout.contains(f))
        .collect();
    if train_families.len() < 2 {
        return Err(ModelError::Data(format!(
            "{} training famil{}: leave-family-out validation needs at least 2",
            train_families.len(),
            if train_families.len() == 1 {
                "y"
            } else {
                "ies"
            }
        )));
    }
    let folds = h.folds.clamp(2, train_families.len());
    Rng::new(h.seed).shuffle(&mut train_families);
    let fold_of: BTreeMap<&str, usize> = train_families
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i % folds))
        .collect();
    let nb = ds.backends.len();
    progress(Step::Planned(nb * (folds + 1)));

    // Cross-validation: every pool circuit predicted by models that never saw its family.
    let mut cv: Vec<Vec<Option<CvPred>>> = vec![vec![None; nb]; ds.circuits.len()];
    for fold in 0..folds {
        let (tr, te): (Vec<usize>, Vec<usize>) = pool
            .iter()
            .partition(|&&c| fold_of[ds.circuits[c].family.as_str()] != fold);
        for (b, _) in ds.backends.iter().enumerate() {
            if let Some(f) = fit_backend(&ds, &tr, b, h, fold + 1)? {
                for &c in &te {
                    cv[c][b] = Some(predict_modes(&f, &ds.circuits[c].x));
                }
            }
            progress(Step::Fitted);
        }
    }
    let mut modes = eval::choose_modes(&ds, &pool, &cv, h.mode_criterion);
    let fold: Vec<usize> = ds
        .circuits
        .iter()
        .map(|c| fold_of.get(c.family.as_str()).copied().unwrap_or(0))
        .collect();
    if h.mode_criterion == ModeCriterion::Regret {
        modes = lower_regret(&ds, &pool, &cv, modes, &fold, folds, h);
    }
    let cv_sigma = eval::fold_sigmas(&ds, &pool, &cv, &modes, &fold, folds);
    let cv_eval = eval::evaluate(&ds, &pool, &cv, &modes, &cv_sigma, h);

    // The final models, on every training family.
    let mut backends = Vec::with_capacity(nb);
    let mut holdout_preds: Vec<Vec<Option<CvPred>>> = vec![vec![None; nb]; ds.circuits.len()];
    let mut holdout_sigma = vec![vec![1.0; nb]; ds.circuits.len()];
    for b in 0..nb {
        let name = &ds.backends[b];
        let f = fit_backend(&ds, &pool, b, h, 0)?.ok_or_else(|| {
            ModelError::Data(format!(
                "backend `{name}`: fewer than 2 observations in the training families"
            ))
        })?;
        let mode = modes[b];
        let mut domain_min = vec![f64::INFINITY; NUM_FEATURES];
        let mut domain_max = vec![f64::NEG_INFINITY; NUM_FEATURES];
        for &c in &pool {
            if ds.obs[c][b].latency_target(h.censor_factor).is_some() {
                for (i, v) in ds.circuits[c].x.iter().enumerate() {
                    domain_min[i] = domain_min[i].min(*v);
                    domain_max[i] = domain_max[i].max(*v);
                }
            }
        }
        let log_sigma = cv_eval
            .backends
            .iter()
            .find(|m| &m.backend == name)
            .and_then(|m| m.log_rmse)
            .unwrap_or(1.0);
        for &c in &test {
            holdout_preds[c][b] = Some(predict_modes(&f, &ds.circuits[c].x));
            holdout_sigma[c][b] = log_sigma;
        }
        backends.push(BackendModel {
            name: name.clone(),
            mode,
            linear: f.linear,
            calibration: f.calibrated,
            forest: match mode {
                LatencyMode::Residual => f.residual,
                LatencyMode::CalibratedResidual => f.calibrated_residual,
                _ => f.direct,
            },
            log_sigma,
            risk: f.risk,
            cost: fit_cost(records, name)?,
            domain_min,
            domain_max,
        });
        progress(Step::Fitted);
    }
    let holdout_eval = (!test.is_empty())
        .then(|| eval::evaluate(&ds, &test, &holdout_preds, &modes, &holdout_sigma, h));
    let mut train_fams: Vec<String> = train_families.iter().map(|s| s.to_string()).collect();
    train_fams.sort();
    let meta = ModelMeta {
        format_version: crate::model::FORMAT_VERSION,
        feature_schema_version: FEATURE_SCHEMA.version,
        name: spec.name.clone(),
        created_at: now_rfc3339(),
        qroute_version: env!("CARGO_PKG_VERSION").into(),
        backends: ds.backends.clone(),
        training: TrainingInfo {
            telemetry: spec
                .telemetry
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            fingerprint: ds.fingerprint.clone(),
            rows: ds.rows,
            circuits: pool.len() as u64,
            families: train_fams,
            holdout_families: spec.holdout_families.clone(),
            reference_calibration_ms: ds.scale.map(|s| s.reference_ms()),
        },
        hyperparameters: h.clone(),
        metrics: Metrics {
            cv: cv_eval,
            holdout: holdout_eval,
            unmodelled_backends: ds.unmodelled.clone(),
        },
        payload: PayloadInfo {
            file: String::new(),
            bytes: 0,
            blake3: String::new(),
        },
    };
    Ok(ModelSet { meta, backends })
}

/// Coordinate descent on the held-out regret: per backend in turn, the mode that lowers it
/// most, until a full pass changes nothing (at most four passes).
fn lower_regret(
    ds: &Dataset,
    pool: &[usize],
    cv: &[Vec<Option<CvPred>>],
    mut modes: Vec<LatencyMode>,
    fold: &[usize],
    folds: usize,
    h: &Hyperparameters,
) -> Vec<LatencyMode> {
    let regret = |modes: &[LatencyMode]| {
        let sigma = eval::fold_sigmas(ds, pool, cv, modes, fold, folds);
        eval::model_regret(ds, pool, cv, modes, &sigma, h)
    };
    let mut best = regret(&modes);
    for _ in 0..4 {
        let mut changed = false;
        for b in 0..modes.len() {
            for m in LatencyMode::ALL {
                if m == modes[b] {
                    continue;
                }
                let mut trial = modes.clone();
                trial[b] = m;
                let r = regret(&trial);
                if r < best - 1e-9 {
                    (best, modes, changed) = (r, trial, true);
                }
            }
        }
        if !changed {
            break;
        }
    }
    modes
}

fn now_rfc3339() -> String {
    crate::time::rfc3339_of(crate::time::now_us())
}
