//! Replay on the recorded reference traces: the oracle is the lower bound, every policy is
//! scored with recorded results only, the model never routes a family it was trained on, and
//! the experiment folder holds what it promises.

mod common;

use std::path::Path;

use qroute::model::ModelSet;
use qroute::model::artifact::Hyperparameters;
use qroute::replay::sim::{Arrivals, DriftSpec, LoadSpec, default_drift_backend, drift, load};
use qroute::replay::{
    ModelSource, Policy, ReplayError, ReplaySpec, all_policies, prepare, replay, replay_prepared,
};
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
        let strategy = name.trim_end_matches("+hedge");
        let routed =
            ["performance", "cost", "balanced", "predictive", "adaptive"].contains(&strategy);
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
    let e = "fastest".parse::<Policy>().unwrap_err().to_string();
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

fn spec_for(rows: Vec<ExecutionRecord>, policies: Vec<Policy>) -> ReplaySpec {
    ReplaySpec {
        traces: rows.clone(),
        models: ModelSource::Train {
            records: rows,
            hyper: small_hyper(),
            folds: 2,
        },
        policies,
        router: RouterConfig::default(),
        seed: 4,
        deadline_ms: None,
    }
}

#[test]
fn load_mode_without_contention_reproduces_the_replay_and_queues_under_load() {
    // Load mode simulates whole runs: the hedged variants are replay's alone.
    let mut policies: Vec<Policy> = all_policies()
        .into_iter()
        .filter(|p| !matches!(p, Policy::Hedged(_)))
        .collect();
    policies.push("always:statevector".parse().unwrap());
    let spec = spec_for(traces(), policies);
    let hedged = spec_for(traces(), vec!["performance+hedge".parse().unwrap()]);
    let e = load(
        &hedged,
        &prepare(&hedged, |_| {}).unwrap(),
        &LoadSpec {
            arrivals: Arrivals::Poisson(1.0),
            slots: 1,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("does not simulate hedging"), "{e}");
    let prep = prepare(&spec, |_| {}).unwrap();
    let r = replay_prepared(&spec, &prep).unwrap();
    let n = r.circuits.len() as f64;
    // Arrivals a day apart on average: nobody waits, and each policy's completions are the
    // replay's recorded times (up to rounding: completion = finish - arrival on a clock
    // that reaches 10^10 ms).
    let idle = load(
        &spec,
        &prep,
        &LoadSpec {
            arrivals: Arrivals::Poisson(1e-5),
            slots: 1,
        },
    )
    .unwrap();
    assert_eq!(idle.len(), spec.policies.len());
    for (l, p) in idle.iter().zip(&r.results) {
        assert_eq!(l.policy, p.policy);
        assert_eq!(l.mean_wait_ms, 0.0, "{}", l.policy);
        let total = l.mean_completion_ms * n;
        assert!(
            (total - p.total_ms).abs() <= 1e-6 * p.total_ms,
            "{}: {total} vs {}",
            l.policy,
            p.total_ms
        );
    }
    // Fifty circuits a second on one slot per backend: queues form, the oracle's choices are
    // still never slower on average than sending everything to one backend, and utilisation
    // is a share.
    let busy = load(
        &spec,
        &prep,
        &LoadSpec {
            arrivals: Arrivals::Poisson(50.0),
            slots: 1,
        },
    )
    .unwrap();
    let by = |name: &str| busy.iter().find(|l| l.policy == name).unwrap();
    assert!(by("always:statevector").mean_wait_ms > 0.0);
    assert!(by("oracle").mean_completion_ms <= by("always:statevector").mean_completion_ms);
    for l in &busy {
        assert!(l.p95_completion_ms >= 0.0 && l.makespan_ms > 0.0);
        assert!(
            l.utilisation
                .values()
                .all(|u| (0.0..=1.0 + 1e-9).contains(u)),
            "{l:?}"
        );
    }
    // Two slots never make the single backend slower.
    let two = load(
        &spec,
        &prep,
        &LoadSpec {
            arrivals: Arrivals::Poisson(50.0),
            slots: 2,
        },
    )
    .unwrap();
    let by2 = |name: &str| two.iter().find(|l| l.policy == name).unwrap();
    assert!(
        by2("always:statevector").mean_completion_ms <= by("always:statevector").mean_completion_ms
    );
    assert!(
        load(
            &spec,
            &prep,
            &LoadSpec {
                arrivals: Arrivals::Poisson(0.0),
                slots: 1
            }
        )
        .is_err()
    );
}

#[test]
fn drift_slows_one_backend_and_adaptive_moves_away_from_it() {
    let rows = traces();
    let probe = spec_for(rows.clone(), vec!["predictive".parse().unwrap()]);
    let busiest =
        default_drift_backend(&replay(&probe, |_| {}).unwrap(), 0.5).expect("a chosen backend");
    let policies: Vec<Policy> = [
        "oracle".to_string(),
        format!("always:{busiest}"),
        "predictive".into(),
        "adaptive".into(),
    ]
    .iter()
    .map(|p| p.parse().unwrap())
    .collect();
    let spec = spec_for(rows, policies);
    let prep = prepare(&spec, |_| {}).unwrap();
    let d = DriftSpec {
        backend: busiest.clone(),
        factor: 50.0,
        at: 0.5,
        window: 10,
    };
    let res = drift(&spec, &prep, &d).unwrap();
    let by = |name: &str| res.iter().find(|r| r.policy == name).unwrap();
    // The oracle knows the drift: it is the lower bound before and after.
    assert!((by("oracle").before - 1.0).abs() < 1e-12);
    assert!((by("oracle").after - 1.0).abs() < 1e-12);
    assert_eq!(by("oracle").recovery_circuits, Some(0));
    // Always sending to a backend 50× slower gets much worse and never recovers.
    let always = by(&format!("always:{busiest}"));
    assert!(always.after > 5.0 * always.before, "{always:?}");
    assert!(always.drifted_share_after > 0.5);
    assert_eq!(always.recovery_circuits, None);
    // Adaptive learns the slowdown from what it observes; the static router cannot.
    assert!(
        by("adaptive").drifted_share_after < by("predictive").drifted_share_after,
        "{:?} vs {:?}",
        by("adaptive"),
        by("predictive")
    );
    assert_eq!(always.rolling.len(), prep.len());
    // Bad settings are named.
    let e = drift(
        &spec,
        &prep,
        &DriftSpec {
            backend: "warp-drive".into(),
            ..d.clone()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("warp-drive"), "{e}");
    assert!(
        drift(
            &spec,
            &prep,
            &DriftSpec {
                at: 1.0,
                ..d.clone()
            }
        )
        .is_err()
    );
    assert!(drift(&spec, &prep, &DriftSpec { factor: -1.0, ..d }).is_err());
}

/// Issue 31: under a drift, a hedged policy gives up the drifted runs that pass their cutoff,
/// where the same strategy unhedged waits them out.
#[test]
fn issue_31_hedging_bounds_what_a_drift_costs() {
    let rows = traces();
    let probe = spec_for(rows.clone(), vec!["predictive".parse().unwrap()]);
    let busiest =
        default_drift_backend(&replay(&probe, |_| {}).unwrap(), 0.5).expect("a chosen backend");
    let policies: Vec<Policy> = ["predictive", "predictive+hedge"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    let mut spec = spec_for(rows, policies);
    spec.router.hedge.factor = 1.0;
    spec.router.hedge.floor_ms = 0.0;
    let prep = prepare(&spec, |_| {}).unwrap();
    let d = DriftSpec {
        backend: busiest,
        factor: 1000.0,
        at: 0.5,
        window: 10,
    };
    let res = drift(&spec, &prep, &d).unwrap();
    let (plain, hedged) = (&res[0], &res[1]);
    assert_eq!(hedged.policy, "predictive+hedge");
    // The same choices: the same share still sent to the drifted backend.
    assert_eq!(plain.drifted_share_after, hedged.drifted_share_after);
    assert!(plain.drifted_share_after > 0.0, "{plain:?}");
    assert!(hedged.after < plain.after, "{hedged:?} vs {plain:?}");
    assert!(
        hedged.excess_ms < plain.excess_ms,
        "{hedged:?} vs {plain:?}"
    );
}

#[cfg(feature = "plots")]
#[test]
fn figures_are_written_as_svg_and_png() {
    let policies: Vec<Policy> = ["oracle", "prism-auto", "predictive", "adaptive"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    let spec = spec_for(traces(), policies);
    let prep = prepare(&spec, |_| {}).unwrap();
    let r = replay_prepared(&spec, &prep).unwrap();
    let l = load(
        &spec,
        &prep,
        &LoadSpec {
            arrivals: Arrivals::Poisson(20.0),
            slots: 1,
        },
    )
    .unwrap();
    let d = DriftSpec {
        backend: "prism-auto".into(),
        factor: 10.0,
        at: 0.5,
        window: 10,
    };
    let dr = drift(&spec, &prep, &d).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let names = match qroute::replay::plot::write_plots(dir.path(), &r, Some(&l), Some((&d, &dr))) {
        Ok(n) => n,
        // Without a font no figure can carry text. CI installs one and sets
        // QROUTE_REQUIRE_FONT=1, so there the figures must be drawn (it relied on `CI`,
        // which .ci/run does not set; #29).
        Err(e @ qroute::replay::plot::PlotError::NoFont) => {
            assert!(
                std::env::var("QROUTE_REQUIRE_FONT").as_deref() != Ok("1"),
                "QROUTE_REQUIRE_FONT=1: {e}"
            );
            eprintln!("skipping the figures: {e}; set QROUTE_REQUIRE_FONT=1 to fail instead");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        names,
        [
            "regret",
            "slowdown_cdf",
            "predicted_vs_recorded",
            "load_completion",
            "drift"
        ]
    );
    for n in &names {
        let svg = std::fs::read_to_string(dir.path().join(format!("{n}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{n}");
        let png = std::fs::read(dir.path().join(format!("{n}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{n}");
    }
    // The policies are named in the figures that compare them.
    let regret = std::fs::read_to_string(dir.path().join("regret.svg")).unwrap();
    for p in ["oracle", "prism-auto", "predictive", "adaptive"] {
        assert!(regret.contains(p), "{p}");
    }
    let md = qroute::replay::plot::figures_markdown(&names);
    assert!(md.contains("![Regret per policy](regret.svg)"));
}

/// Issue 31: a `+hedge` policy is scored as its strategy except where the chosen run passed
/// its cutoff; there it hands the circuit to a backend of another family.
#[test]
fn issue_31_hedged_policies_differ_only_where_a_run_overran() {
    let rows = traces();
    let mut router = RouterConfig::default();
    // A tight cutoff, so that this small set has overruns to hedge.
    router.hedge.factor = 1.0;
    router.hedge.floor_ms = 0.0;
    let policies: Vec<Policy> = ["performance", "performance+hedge"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(policies[1].to_string(), "performance+hedge");
    let spec = ReplaySpec {
        traces: rows.clone(),
        models: ModelSource::Train {
            records: rows,
            hyper: small_hyper(),
            folds: 2,
        },
        policies,
        router,
        seed: 3,
        deadline_ms: None,
    };
    let r = replay(&spec, |_| {}).unwrap();
    let of = |p: usize| -> Vec<&qroute::replay::Choice> {
        r.choices.iter().filter(|c| c.policy == p).collect()
    };
    let (plain, hedged) = (of(0), of(1));
    let mut n = 0;
    for (a, b) in plain.iter().zip(&hedged) {
        assert_eq!((a.circuit, &a.backend), (b.circuit, &b.backend));
        match &b.hedged_to {
            None => assert_eq!(a.time_ms, b.time_ms, "{}", r.circuits[a.circuit].name),
            Some(to) => {
                n += 1;
                let family = qroute::route::hedge::family;
                assert_ne!(family(to), family(&b.backend));
            }
        }
    }
    assert!(
        n > 0,
        "a cutoff at the top of the interval is passed somewhere"
    );
    assert_eq!(r.results[1].hedged, n);
    assert_eq!(r.results[0].hedged, 0);
}
