//! `qroute eval` (#30): a model set scored on full-information telemetry of families it was
//! not trained on — every strategy, the default one hedged, prism-auto and Aer's rule, with regret, geo-mean slowdown,
//! circuits over 2× and 10× their best, and the worst losses; a set that saw the families is
//! refused.

use std::path::Path;

use qroute::app::eval::EvalParams;
use qroute::app::params::Output;
use qroute::model::artifact::Hyperparameters;
use qroute::route::RouterConfig;
use qroute::telemetry::{TelemetryWriter, WriterOptions, read_dir};
use qroute::train::{TrainSpec, train};

fn reference() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("telemetry/reference")
}

/// telemetry/reference's rows of `families`, written to `dir`.
fn traces_of(families: &[&str], dir: &Path) {
    let w = TelemetryWriter::open(dir, WriterOptions::default()).unwrap();
    for r in read_dir(&reference()).unwrap().records {
        if r.family.as_deref().is_some_and(|f| families.contains(&f)) {
            w.write(&r).unwrap();
        }
    }
    w.close().unwrap();
}

fn params(traces: &Path, model: &Path) -> EvalParams {
    EvalParams {
        traces: vec![traces.to_path_buf()],
        model: model.to_path_buf(),
        worst: 5,
        output: Output {
            format: qroute::app::params::Format::Table,
            json: false,
        },
    }
}

#[test]
fn issue_30_eval_scores_every_policy_on_unseen_families_and_names_the_worst_losses() {
    let held = ["qwalk", "ghz"];
    let dir = tempfile::tempdir().unwrap();
    let mut hyper = Hyperparameters {
        folds: 2,
        ..Hyperparameters::default()
    };
    hyper.forest.n_trees = 10;
    hyper.risk_forest.n_trees = 5;
    let mut set = train(
        &TrainSpec {
            telemetry: vec![reference()],
            name: "eval-test".into(),
            holdout_families: held.iter().map(|s| s.to_string()).collect(),
            hyper,
        },
        |_| {},
    )
    .unwrap();
    let model = dir.path().join("model");
    set.save(&model).unwrap();
    let traces = dir.path().join("traces");
    traces_of(&held, &traces);

    let e = params(&traces, &model)
        .run(RouterConfig::default())
        .unwrap();
    let r = &e.replay;
    assert!(r.circuits.len() > 20, "{} circuits", r.circuits.len());
    assert!(r.circuits.iter().all(|c| held.contains(&c.family.as_str())));
    let names: Vec<&str> = r.results.iter().map(|p| p.policy.as_str()).collect();
    for want in [
        "performance",
        "cost",
        "balanced",
        "predictive",
        "adaptive",
        "performance+hedge",
        "prism-auto",
        "rules-aer",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    let n = r.circuits.len() as u64;
    for p in &r.results {
        assert!(p.regret >= 1.0 - 1e-9, "{p:?}");
        assert!(p.slowdown_geo_mean >= 1.0 - 1e-9, "{p:?}");
        assert!(p.over_10x <= p.over_2x && p.over_2x <= n, "{p:?}");
        assert!((0.0..=1.0).contains(&p.within_10pct), "{p:?}");
    }
    // The worst losses: the configured strategy's, largest first, each a real loss.
    assert!(!e.worst.is_empty() && e.worst.len() <= 5);
    let loss = |i: usize| {
        let c = &r.choices[i];
        c.time_ms - r.circuits[c.circuit].oracle_ms
    };
    assert!(e.worst.windows(2).all(|w| loss(w[0]) >= loss(w[1])));
    assert!(e.worst.iter().all(|&i| loss(i) > 0.0));
    let strategy = RouterConfig::default().strategy.to_string();
    let pi = names.iter().position(|&n| n == strategy).unwrap();
    assert!(e.worst.iter().all(|&i| r.choices[i].policy == pi));
    let text = qroute::app::render::evaluated(&e);
    assert!(
        text.contains("geo-mean") && text.contains("worst losses of"),
        "{text}"
    );
    let json = serde_json::to_value(&e).unwrap();
    assert!(json["replay"]["results"][0]["slowdown_geo_mean"].is_number());
}

#[test]
fn issue_30_eval_refuses_a_model_set_that_saw_the_families() {
    let dir = tempfile::tempdir().unwrap();
    let traces = dir.path().join("traces");
    traces_of(&["ghz"], &traces);
    // The frozen v2 set was trained on every reference family.
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model_v2");
    let e = params(&traces, &model)
        .run(RouterConfig::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("ghz") && e.contains("inflated"), "{e}");
    let e = EvalParams {
        worst: 1_000_000,
        ..params(&traces, &model)
    }
    .run(RouterConfig::default())
    .unwrap_err()
    .to_string();
    assert!(e.contains("--worst"), "{e}");
}
