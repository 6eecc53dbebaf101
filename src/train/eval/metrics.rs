//! Held-out latency metrics per backend (median APE, mean ln error with timeouts one-sided,
//! rank correlation, calibration of σ) and the per-backend choice of latency mode.

use super::{BackendMetrics, CvPred};
use crate::model::LatencyMode;
use crate::model::artifact::ModeCriterion;
use crate::stats::{quantile, spearman};
use crate::train::Dataset;

pub(super) fn mode_index(m: LatencyMode) -> usize {
    LatencyMode::ALL.iter().position(|&x| x == m).unwrap_or(0)
}

/// (predicted, target, censored) ln latency of backend `b` over `circuits` under mode `m`:
/// a censored target is the timeout, which the true time exceeds.
pub(super) fn held_out<'a>(
    ds: &'a Dataset,
    circuits: &'a [usize],
    preds: &'a [Vec<Option<CvPred>>],
    b: usize,
    m: usize,
) -> impl Iterator<Item = (f64, f64, bool)> + 'a {
    circuits.iter().filter_map(move |&c| {
        let p = preds[c][b]?;
        let (y, censored) = ds.obs[c][b].latency_target(1.0)?;
        Some((p.log_ms[m], y, censored))
    })
}

/// (predicted, actual) ln-latency pairs of backend `b` over `circuits` under mode `m`.
pub(super) fn pairs(
    ds: &Dataset,
    circuits: &[usize],
    preds: &[Vec<Option<CvPred>>],
    b: usize,
    m: usize,
) -> Vec<(f64, f64)> {
    held_out(ds, circuits, preds, b, m)
        .filter(|&(_, _, censored)| !censored)
        .map(|(p, y, _)| (p, y))
        .collect()
}

pub(super) fn median_ape(pairs: &[(f64, f64)]) -> Option<f64> {
    let mut ape: Vec<f64> = pairs
        .iter()
        .map(|(p, y)| (p.exp() - y.exp()).abs() / y.exp())
        .collect();
    quantile(&mut ape, 0.5)
}

/// The absolute ln errors of backend `b`'s held-out pairs under mode `m`, timeouts included:
/// a timed-out pair only says the time exceeds the timeout, so its error is how far the
/// prediction falls below the timeout (zero above it).
fn log_errors(
    ds: &Dataset,
    circuits: &[usize],
    preds: &[Vec<Option<CvPred>>],
    b: usize,
    m: usize,
) -> Vec<f64> {
    held_out(ds, circuits, preds, b, m)
        .map(|(p, y, censored)| {
            if censored {
                (y - p).max(0.0)
            } else {
                (p - y).abs()
            }
        })
        .collect()
}

/// Per backend, the mode `criterion` picks from the held-out predictions (for
/// [`ModeCriterion::Regret`], its starting point: the tail choice).
pub(crate) fn choose_modes(
    ds: &Dataset,
    circuits: &[usize],
    preds: &[Vec<Option<CvPred>>],
    criterion: ModeCriterion,
) -> Vec<LatencyMode> {
    (0..ds.backends.len())
        .map(|b| {
            let mut best = (f64::INFINITY, LatencyMode::Residual);
            for (m, mode) in LatencyMode::ALL.iter().enumerate() {
                let err = match criterion {
                    ModeCriterion::MedianApe => median_ape(&pairs(ds, circuits, preds, b, m)),
                    ModeCriterion::MeanLogError => {
                        let errs = log_errors(ds, circuits, preds, b, m);
                        (!errs.is_empty()).then(|| errs.iter().sum::<f64>() / errs.len() as f64)
                    }
                    // The 90th percentile: how far off the worst tenth is.
                    ModeCriterion::Tail | ModeCriterion::Regret => {
                        quantile(&mut log_errors(ds, circuits, preds, b, m), 0.9)
                    }
                    ModeCriterion::Residual => return LatencyMode::Residual,
                };
                if let Some(e) = err
                    && e < best.0
                {
                    best = (e, *mode);
                }
            }
            best.1
        })
        .collect()
}

pub(super) fn backend_metrics(
    ds: &Dataset,
    circuits: &[usize],
    preds: &[Vec<Option<CvPred>>],
    b: usize,
    mode: LatencyMode,
) -> BackendMetrics {
    let m = mode_index(mode);
    let ps = pairs(ds, circuits, preds, b, m);
    let mut ape: Vec<f64> = ps
        .iter()
        .map(|(p, y)| (p.exp() - y.exp()).abs() / y.exp())
        .collect();
    let n = ps.len() as f64;
    let mean_y = ps.iter().map(|p| p.1).sum::<f64>() / n;
    let ss_res: f64 = ps.iter().map(|(p, y)| (y - p).powi(2)).sum();
    let ss_tot: f64 = ps.iter().map(|(_, y)| (y - mean_y).powi(2)).sum();
    let (pv, yv): (Vec<f64>, Vec<f64>) = ps.iter().copied().unzip();
    let mut risk_pairs = Vec::new();
    let mut censored = 0;
    for &c in circuits {
        let o = &ds.obs[c][b];
        if let (Some(p), Some(r)) = (preds[c][b], o.risk_target()) {
            risk_pairs.push((p.risk, r));
        }
        if preds[c][b].is_some() && matches!(o.latency_target(1.0), Some((_, true))) {
            censored += 1;
        }
    }
    let rn = risk_pairs.len() as f64;
    let rate = risk_pairs.iter().map(|p| p.1).sum::<f64>() / rn;
    let finite = |x: f64| x.is_finite().then_some(x);
    BackendMetrics {
        backend: ds.backends[b].clone(),
        mode,
        observations: ps.len() as u64,
        censored,
        median_ape: quantile(&mut ape, 0.5),
        p90_ape: quantile(&mut ape, 0.9),
        r2_log: (ps.len() >= 3 && ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot),
        log_rmse: finite((ss_res / n).sqrt()),
        spearman: spearman(&pv, &yv),
        mode_median_ape: LatencyMode::ALL
            .iter()
            .enumerate()
            .filter_map(|(i, md)| {
                median_ape(&pairs(ds, circuits, preds, b, i)).map(|e| (md.as_str().to_string(), e))
            })
            .collect(),
        risk_brier: finite(risk_pairs.iter().map(|(p, r)| (p - r).powi(2)).sum::<f64>() / rn),
        risk_brier_base: finite(
            risk_pairs
                .iter()
                .map(|(_, r)| (rate - r).powi(2))
                .sum::<f64>()
                / rn,
        ),
    }
}

/// Per circuit and backend, σ of a held-out prediction's ln latency as the router takes it
/// (the larger of the forest's spread and this), without the circuit's own fold: the root
/// mean square error of the chosen mode over the held-out circuits of the other folds (1
/// when there are none). `fold[c]` is circuit `c`'s fold (ignored outside `circuits`).
pub(crate) fn fold_sigmas(
    ds: &Dataset,
    circuits: &[usize],
    preds: &[Vec<Option<CvPred>>],
    modes: &[LatencyMode],
    fold: &[usize],
    folds: usize,
) -> Vec<Vec<f64>> {
    let mut out = vec![vec![1.0; ds.backends.len()]; ds.circuits.len()];
    for k in 0..folds {
        let others: Vec<usize> = circuits.iter().copied().filter(|&c| fold[c] != k).collect();
        for (b, &mode) in modes.iter().enumerate() {
            let ps = pairs(ds, &others, preds, b, mode_index(mode));
            if ps.is_empty() {
                continue;
            }
            let rmse =
                (ps.iter().map(|(p, y)| (p - y).powi(2)).sum::<f64>() / ps.len() as f64).sqrt();
            for &c in circuits.iter().filter(|&&c| fold[c] == k) {
                out[c][b] = rmse;
            }
        }
    }
    out
}
