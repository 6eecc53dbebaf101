//! Held-out evaluation: latency error per backend, and what routing by the models would
//! have cost per circuit against the best backend and against fixed rules.
//!
//! Every number here comes from predictions for circuits whose family the models never saw
//! (leave-family-out cross-validation, or families held out of training entirely).
//!
//! Scoring a choice for one circuit: a backend that succeeded costs its median wall time; one
//! that timed out, failed, or returned a result below the minimum fidelity costs the time
//! it lost plus the best backend's time (the job must run again). The best backend is the
//! fastest success; circuits without any success are not scored. A rule that picks a backend
//! which refuses the circuit falls back to `prism-auto`.
//!
//! `metrics.rs` holds the latency metrics per backend and the choice of latency mode;
//! `rules.rs` the scoring of the models' choice and of fixed rules. Rank correlation and
//! quantiles are [`crate::stats`]'s.

use super::noise;
use super::{Dataset, Outcome};
use crate::features::Feature;
use crate::model::LatencyMode;
use crate::model::artifact::Hyperparameters;

/// Held-out predictions of one backend for one circuit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CvPred {
    /// ln(ms) by each [`LatencyMode`], in [`LatencyMode::ALL`] order.
    pub(crate) log_ms: [f64; LatencyMode::ALL.len()],
    /// The spread of that mode's forest across its trees (0 for the regression alone).
    pub(crate) spread: [f64; LatencyMode::ALL.len()],
    pub(crate) risk: f64,
}

pub use crate::model::evaluation::{
    BackendMetrics, Evaluation, LARGEST_LOSSES, Loss, Metrics, RuleScore, Selection,
};

mod metrics;
mod rules;

pub use crate::stats::spearman;
use metrics::{backend_metrics, mode_index};
pub(crate) use metrics::{choose_modes, fold_sigmas};
use rules::score_rule;
pub(crate) use rules::{Tally, model_choice};

/// Evaluates held-out predictions for `circuits`; `sigma[c][b]` is the held-out error the
/// choice counts as the least σ of a prediction (see [`fold_sigmas`]).
pub(crate) fn evaluate(
    ds: &Dataset,
    circuits: &[usize],
    preds: &[Vec<Option<CvPred>>],
    modes: &[LatencyMode],
    sigma: &[Vec<f64>],
    h: &Hyperparameters,
) -> Evaluation {
    let backends = (0..ds.backends.len())
        .map(|b| backend_metrics(ds, circuits, preds, b, modes[b]))
        .collect();
    let scored = best_per_circuit(ds, circuits);
    let unscorable = (circuits.len() - scored.len()) as u64;
    let mut taken = Vec::with_capacity(scored.len());
    let model = score_rule(
        "qroute models",
        ds,
        &scored,
        |c| model_choice(ds, c, preds, modes, sigma, h.risk_penalty_ms),
        |c, pick, t| taken.push((c, pick, t)),
    );
    let (largest_losses, lost_ms) = losses(ds, &scored, &taken);
    let by_name = |n: &str| ds.backends.iter().position(|b| b == n);
    let mut baselines = Vec::new();
    if let (Some(stab), Some(sv)) = (by_name("stabilizer"), by_name("statevector")) {
        baselines.push(score_rule(
            "rules-aer (stabilizer if Clifford else statevector)",
            ds,
            &scored,
            |c| {
                Some(if ds.circuits[c].x[Feature::IsClifford as usize] == 1.0 {
                    stab
                } else {
                    sv
                })
            },
            |_, _, _| {},
        ));
    }
    for (b, name) in ds.backends.iter().enumerate() {
        let label = if name == "prism-auto" {
            "prism-auto (prism-q's own choice)".to_string()
        } else {
            format!("always {name}")
        };
        baselines.push(score_rule(&label, ds, &scored, |_| Some(b), |_, _, _| {}));
    }
    let families: std::collections::BTreeSet<&str> = circuits
        .iter()
        .map(|&c| ds.circuits[c].family.as_str())
        .collect();
    Evaluation {
        circuits: circuits.len() as u64,
        families: families.len() as u64,
        backends,
        selection: Selection {
            circuits: scored.len() as u64,
            unscorable,
            model,
            baselines,
            largest_losses,
            lost_ms,
        },
        repeatability: noise::repeatability(ds, circuits, h.seed),
    }
}

/// (circuit, time, backend) of the fastest success of each of `circuits` that has one.
fn best_per_circuit(ds: &Dataset, circuits: &[usize]) -> Vec<(usize, f64, usize)> {
    circuits
        .iter()
        .filter_map(|&c| {
            (0..ds.backends.len())
                .filter_map(|b| match ds.obs[c][b].outcome() {
                    Outcome::Ok(ms) => Some((b, ms)),
                    _ => None,
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(b, ms)| (c, ms, b))
        })
        .collect()
}

/// The held-out routing regret of the models' choices alone (what [`evaluate`] reports as
/// `qroute models`).
pub(crate) fn model_regret(
    ds: &Dataset,
    circuits: &[usize],
    preds: &[Vec<Option<CvPred>>],
    modes: &[LatencyMode],
    sigma: &[Vec<f64>],
    h: &Hyperparameters,
) -> f64 {
    let scored = best_per_circuit(ds, circuits);
    score_rule(
        "",
        ds,
        &scored,
        |c| model_choice(ds, c, preds, modes, sigma, h.risk_penalty_ms),
        |_, _, _| {},
    )
    .regret
}

/// The largest losses of the models' choices and their total, ms, from each scored circuit's
/// (circuit, pick, time taken) in `scored` order.
fn losses(
    ds: &Dataset,
    scored: &[(usize, f64, usize)],
    taken: &[(usize, Option<usize>, f64)],
) -> (Vec<Loss>, f64) {
    let mut all: Vec<Loss> = scored
        .iter()
        .zip(taken)
        .filter(|((_, best_ms, _), (_, _, t))| t > best_ms)
        .map(|(&(c, best_ms, best), &(_, pick, t))| Loss {
            circuit: ds.circuits[c].name.clone(),
            chosen: pick.map(|b| ds.backends[b].clone()),
            lost: pick.is_some_and(|b| matches!(ds.obs[c][b].outcome(), Outcome::Lost(_))),
            took_ms: t,
            best: ds.backends[best].clone(),
            best_ms,
        })
        .collect();
    let total = all.iter().map(|l| l.took_ms - l.best_ms).sum();
    all.sort_by(|a, b| (b.took_ms - b.best_ms).total_cmp(&(a.took_ms - a.best_ms)));
    all.truncate(LARGEST_LOSSES);
    (all, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_of_monotone_and_reversed_orders() {
        let a = [1.0, 2.0, 3.0, 10.0];
        assert_eq!(spearman(&a, &[5.0, 6.0, 7.0, 8.0]), Some(1.0));
        assert_eq!(spearman(&a, &[8.0, 7.0, 6.0, 5.0]), Some(-1.0));
        assert_eq!(spearman(&a[..2], &[1.0, 2.0]), None);
    }

    #[test]
    fn the_sigma_of_a_fold_comes_from_the_other_folds_only() {
        use crate::train::{Circuit, Obs};
        // One backend; circuit i measured at 100 ms (the last only timed out), predicted
        // ln(100) + err[i].
        let err = [0.1, 0.3, 0.5, -2.0];
        let ds = Dataset {
            circuits: (0..4)
                .map(|i| Circuit {
                    id: format!("c{i}"),
                    name: format!("c{i}"),
                    family: format!("f{i}"),
                    x: Vec::new(),
                    first_ts_us: 0,
                    shots: 0,
                })
                .collect(),
            backends: vec!["a".into()],
            obs: (0..4)
                .map(|i| {
                    vec![if i < 3 {
                        Obs {
                            attempts: 1,
                            ok_ms: vec![100.0],
                            ..Obs::default()
                        }
                    } else {
                        Obs {
                            attempts: 1,
                            timeouts: 1,
                            timeout_ms: 100.0,
                            ..Obs::default()
                        }
                    }]
                })
                .collect(),
            rows: 0,
            fingerprint: String::new(),
            unmodelled: Vec::new(),
            scale: None,
        };
        let preds: Vec<Vec<Option<CvPred>>> = err
            .iter()
            .map(|e| {
                vec![Some(CvPred {
                    log_ms: [100f64.ln() + e; LatencyMode::ALL.len()],
                    spread: [0.0; LatencyMode::ALL.len()],
                    risk: 0.0,
                })]
            })
            .collect();
        let sigma = fold_sigmas(
            &ds,
            &[0, 1, 2, 3],
            &preds,
            &[LatencyMode::Forest],
            &[0, 1, 2, 0],
            3,
        );
        let rms = |a: f64, b: f64| ((a * a + b * b) / 2.0).sqrt();
        // The timed-out circuit is censored: no error of its own, and its fold's σ is
        // circuit 0's fold's.
        for (c, want) in [
            (0, rms(0.3, 0.5)),
            (1, rms(0.1, 0.5)),
            (2, rms(0.1, 0.3)),
            (3, rms(0.3, 0.5)),
        ] {
            assert!(
                (sigma[c][0] - want).abs() < 1e-12,
                "circuit {c}: {} vs {want}",
                sigma[c][0]
            );
        }
        // A fold with nothing else to learn from falls back to 1.
        let one = fold_sigmas(&ds, &[0], &preds, &[LatencyMode::Forest], &[0, 1, 2, 0], 3);
        assert_eq!(one[0][0], 1.0);
    }
}
