//! Replay on the recorded reference traces: the oracle is the lower bound, every policy is
//! scored with recorded results only, the model never routes a family it was trained on, and
//! the experiment folder holds what it promises.

mod common;

use std::path::Path;

use qroute::model::ModelSet;
use qroute::model::artifact::Hyperparameters;
use qroute::replay::{ModelSource, Policy, ReplayError, ReplaySpec, all_policies, replay};
use qroute::route::RouterConfig;
use qroute::telemetry::{ExecutionRecord, read_dir};

/// The reference traces of a few families (fast to train on, still several backends each).
fn traces() -> Vec<ExecutionRecord> {
    let keep = [
        "ghz",
        "qft",
        "dj",
        "wstate",
        "cliff_brick1d",
        "graphstate",
        "qaoa",
        "bv",
    ];
    read_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("telemetry/reference"))
        .unwrap()
        .records
        .into_iter()
        .filter(|r| r.family.as_deref().is_some_and(|f| keep.contains(&f)))
        .collect()
}

fn small_hyper() -> Hyperparameters {
    let mut h = Hyperparameters {
        folds: 2,
        ..Hyperparameters::default()
    };
    h.forest.n_trees = 10;
    h.risk_forest.n_trees = 5;
    h
}

#[test]
fn leave_family_out_replay_scores_every_policy_against_the_oracle() {
    let rows = traces();
    let spec = ReplaySpec {
        traces: rows.clone(),
        models: ModelSource::Train {
            records: rows,
            hyper: small_hyper(),
            folds: 2,
        },
        policies: all_policies(),
        router: RouterConfig::default(),
        seed: 3,
        deadline_ms: Some(1000.0),
    };
    let mut folds = 0;
    let r = replay(&spec, |_| folds += 1).unwrap();
    assert_eq!(folds, 2);
    assert_eq!(r.model_versions.len(), 2);
    assert!(r.circuits.len() > 20, "{}", r.circuits.len());
    assert_eq!(r.choices.len(), r.circuits.len() * spec.policies.len());
    let oracle = &r.results[0];
    assert_eq!(oracle.policy, "oracle");
    assert!((oracle.regret - 1.0).abs() < 1e-12);
    assert_eq!(oracle.best_share, 1.0);
    for p in &r.results {
        assert!(
            p.regret >= 1.0 - 1e-12,
            "{} beats the oracle: {}",
            p.policy,
            p.regret
        );
        assert!(p.slowdown_p50 <= p.slowdown_p95 && p.slowdown_p95 <= p.slowdown_p99);
        let fam_total: f64 = p.per_family.values().map(|v| v.0).sum();
        assert!((fam_total - p.total_ms).abs() < 1e-6 * p.total_ms.max(1.0));
    }
    // Router choices carry their prediction; rules do not.
    for c in &r.choices {
        let name = &r.results[c.policy].policy;
        let routed =
            ["performance", "cost", "balanced", "predictive", "adaptive"].contains(&name.as_str());
        assert_eq!(c.predicted_ms.is_some(), routed, "{name}");
    }
    // Seeded: the same replay twice gives the same choices.
    let again = replay(&spec, |_| {}).unwrap();
    let backends = |r: &qroute::replay::Replay| {
        r.choices
            .iter()
            .map(|c| c.backend.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(backends(&r), backends(&again));
    // The output files.
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.parquet");
    qroute::replay::write_results(&r, &results).unwrap();
    assert!(std::fs::metadata(&results).unwrap().len() > 0);
    let report = qroute::replay::write_report(&r, "qroute replay (test)");
    assert!(report.contains("| predictive |") && report.contains("## Regret per family"));
}

#[test]
fn a_model_that_saw_the_replayed_families_is_refused() {
    let rows = traces();
    let models =
        ModelSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default")).unwrap();
    let spec = ReplaySpec {
        traces: rows,
        models: ModelSource::Model(Box::new(models)),
        policies: vec![Policy::Oracle, "predictive".parse().unwrap()],
        router: RouterConfig::default(),
        seed: 0,
        deadline_ms: None,
    };
    match replay(&spec, |_| {}) {
        Err(ReplayError::Leakage { families }) => assert!(families.contains(&"ghz".to_string())),
        other => panic!(
            "expected a leakage refusal, got {:?}",
            other.map(|r| r.results.len())
        ),
    }
}

#[test]
fn policies_parse_and_unknown_backends_are_named() {
    assert_eq!(
        "always:mps-64".parse::<Policy>().unwrap(),
        Policy::Always("mps-64".into())
    );
    assert!("always:".parse::<Policy>().is_err());
    let e = "fastest".parse::<Policy>().unwrap_err();
    assert!(e.contains("round-robin") && e.contains("adaptive"), "{e}");
    let rows = traces();
    let spec = ReplaySpec {
        traces: rows.clone(),
        models: ModelSource::Train {
            records: rows,
            hyper: small_hyper(),
            folds: 2,
        },
        policies: vec![Policy::Always("quantum-annealer".into())],
        router: RouterConfig::default(),
        seed: 0,
        deadline_ms: None,
    };
    let err = replay(&spec, |_| {}).unwrap_err();
    assert!(
        err.to_string()
            .contains("`quantum-annealer` is not in the traces"),
        "{err}"
    );
}
