//! Models: training is deterministic and honest about what it held out, model sets
//! round-trip, a frozen v2 set still loads, a frozen v1 set (feature schema v1) is refused
//! clearly, and wrong versions or corrupt payloads fail clearly.

mod common;

use std::path::{Path, PathBuf};

use qroute::circuit::qasm::parse_file;
use qroute::features::extract;
use qroute::model::artifact::{Hyperparameters, ModeCriterion};
use qroute::model::{LatencyMode, ModelError, ModelSet};
use qroute::train::{TrainSpec, train};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model_v2")
}

fn fixture_v1() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model_v1")
}

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("telemetry/reference")
}

fn copy_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["meta.json", "model.bin"] {
        std::fs::copy(fixture().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

fn small_spec(holdout: &[&str], seed: u64) -> TrainSpec {
    let mut hyper = Hyperparameters {
        seed,
        folds: 3,
        ..Hyperparameters::default()
    };
    hyper.forest.n_trees = 10;
    hyper.risk_forest.n_trees = 5;
    TrainSpec {
        telemetry: vec![reference()],
        name: "test".into(),
        holdout_families: holdout.iter().map(|s| s.to_string()).collect(),
        hyper,
    }
}

/// #30: a set of feature schema v1 (format 1) cannot read v2 features; it is refused by
/// version, with what to do.
#[test]
fn issue_30_frozen_v1_model_set_is_refused_clearly() {
    let e = ModelSet::load(&fixture_v1()).unwrap_err();
    assert!(
        matches!(
            e,
            ModelError::FormatVersion {
                found: 1,
                expected: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("retrain with `qroute train`"), "{e}");
}

#[test]
fn frozen_v2_model_set_loads_and_predicts() {
    let set = ModelSet::load(&fixture()).unwrap();
    assert_eq!(set.meta.format_version, 2);
    assert_eq!(set.meta.feature_schema_version, 2);
    assert!(set.index_of("statevector").is_some());
    // Every backend carries a calibration on a work term.
    for b in &set.backends {
        assert!(
            b.calibration.term_name().starts_with("ln_")
                && b.calibration.term_name().ends_with("_work"),
            "{}: {}",
            b.name,
            b.calibration.term_name()
        );
    }
    let c = parse_file(common::corpus_dir().join("mqtbench/qft_8.qasm")).unwrap();
    let preds = set.predict(&extract(&c), 1024, 1).unwrap();
    assert_eq!(preds.len(), set.backends.len());
    for p in preds {
        assert!(p.latency_ms.is_finite() && p.latency_ms > 0.0, "{p:?}");
        assert!(
            p.low_ms <= p.latency_ms && p.latency_ms <= p.high_ms,
            "{p:?}"
        );
        assert!((0.0..=1.0).contains(&p.risk), "{p:?}");
        assert!(p.cost >= 0.0);
    }
}

#[test]
fn a_saved_model_set_loads_back_equal() {
    let mut set = ModelSet::load(&fixture()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    set.save(dir.path()).unwrap();
    assert_eq!(ModelSet::load(dir.path()).unwrap(), set);
}

/// #33: the set compiled into the crate is the shipped `models/default`, checked alike.
#[test]
fn the_compiled_in_model_set_is_models_default() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
    assert_eq!(ModelSet::shipped().unwrap(), ModelSet::load(&dir).unwrap());
}

fn edit_meta(dir: &Path, from: &str, to: &str) {
    let p = dir.join("meta.json");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn another_format_version_fails_by_version() {
    let dir = copy_fixture();
    edit_meta(dir.path(), "\"format_version\": 2", "\"format_version\": 3");
    let e = ModelSet::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            e,
            ModelError::FormatVersion {
                found: 3,
                expected: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("retrain with `qroute train`"), "{e}");
}

#[test]
fn another_feature_schema_fails_by_version() {
    let dir = copy_fixture();
    edit_meta(
        dir.path(),
        "\"feature_schema_version\": 2",
        "\"feature_schema_version\": 7",
    );
    let e = ModelSet::load(dir.path()).unwrap_err();
    assert!(
        matches!(e, ModelError::FeatureVersion { found: 7, .. }),
        "{e}"
    );
}

#[test]
fn a_flipped_payload_byte_fails_the_checksum() {
    let dir = copy_fixture();
    let p = dir.path().join("model.bin");
    let mut b = std::fs::read(&p).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    std::fs::write(&p, b).unwrap();
    let e = ModelSet::load(dir.path()).unwrap_err();
    assert!(matches!(e, ModelError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("BLAKE3"), "{e}");
}

#[test]
fn a_truncated_payload_with_a_matching_checksum_fails_to_decode() {
    let dir = copy_fixture();
    let p = dir.path().join("model.bin");
    let b = std::fs::read(&p).unwrap();
    let cut = &b[..b.len() - 100];
    std::fs::write(&p, cut).unwrap();
    let meta = std::fs::read_to_string(dir.path().join("meta.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&meta).unwrap();
    v["payload"]["bytes"] = cut.len().into();
    v["payload"]["blake3"] = blake3::hash(cut).to_hex().to_string().into();
    std::fs::write(dir.path().join("meta.json"), v.to_string()).unwrap();
    let e = ModelSet::load(dir.path()).unwrap_err();
    assert!(matches!(e, ModelError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains(" at byte "), "names where: {e}");
}

#[test]
fn broken_meta_json_names_line_and_column() {
    let dir = copy_fixture();
    edit_meta(dir.path(), "\"backends\": [", "\"backends\": [,");
    let e = ModelSet::load(dir.path()).unwrap_err();
    match &e {
        ModelError::Meta { line, column, .. } => assert!(*line > 1 && *column > 1, "{e}"),
        other => panic!("{other}"),
    }
    let missing = ModelSet::load(Path::new("/nonexistent/model")).unwrap_err();
    assert!(
        missing.to_string().contains("/nonexistent/model/meta.json"),
        "{missing}"
    );
}

#[test]
fn training_is_deterministic_and_evaluates_held_out_families_only() {
    let a = train(&small_spec(&["ghz"], 5), |_| {}).unwrap();
    let b = train(&small_spec(&["ghz"], 5), |_| {}).unwrap();
    assert_eq!(a.backends, b.backends, "same seed, same models");
    assert_eq!(a.meta.metrics, b.meta.metrics);
    assert_eq!(a.meta.training.fingerprint, b.meta.training.fingerprint);
    assert!(!a.meta.training.families.contains(&"ghz".to_string()));
    let hold = a.meta.metrics.holdout.as_ref().expect("holdout evaluation");
    assert_eq!(hold.families, 1);
    assert!(hold.circuits > 0);
    let cv = &a.meta.metrics.cv;
    assert_eq!(cv.families as usize, a.meta.training.families.len());
    // Another seed grows other forests.
    let c = train(&small_spec(&["ghz"], 6), |_| {}).unwrap();
    assert_ne!(a.backends, c.backends);
    // The regret of the models and of each rule is a ratio to the best: never below 1.
    for r in std::iter::once(&cv.selection.model).chain(&cv.selection.baselines) {
        assert!(r.regret >= 1.0 - 1e-12, "{r:?}");
    }
    // The largest losses: each a real loss, largest first, within the total lost.
    let s = &cv.selection;
    assert!(s.largest_losses.len() <= qroute::train::eval::LARGEST_LOSSES);
    assert_eq!(s.model.regret > 1.0, !s.largest_losses.is_empty());
    let gaps: Vec<f64> = s
        .largest_losses
        .iter()
        .map(|l| l.took_ms - l.best_ms)
        .collect();
    assert!(gaps.iter().all(|&g| g > 0.0), "{gaps:?}");
    assert!(gaps.windows(2).all(|w| w[0] >= w[1]), "{gaps:?}");
    assert!(gaps.iter().sum::<f64>() <= s.lost_ms * (1.0 + 1e-12));
    let report = qroute::train::report::render(&a);
    assert!(report.contains("## Cross-validation (leave family out)"));
    assert!(report.contains("## Held-out families (ghz)"));
    assert!(report.contains("Where the models' choices lost the most time"));
    // The reference sweep ran every finishing attempt twice: its noise is measured, and a
    // perfect model of the mean times, though not perfect against noisy runs, beats
    // choosing by a single run.
    let r = cv.repeatability.as_ref().expect("repeatability");
    assert!(r.circuits > 0 && r.circuits <= s.circuits);
    assert!(r.sigma_ln > 0.0);
    for ceiling in [&r.run_vs_run, &r.true_means] {
        assert!(ceiling.top1 < 1.0 && ceiling.regret > 1.0, "{ceiling:?}");
    }
    assert!(r.true_means.top1 > r.run_vs_run.top1, "{r:?}");
    assert_eq!(r.median_ape.len(), a.backends.len());
    assert!(report.contains("How far the measurements agree with themselves"));
}

#[test]
fn the_residual_choice_with_weight_zero_predicts_the_regression() {
    let mut spec = small_spec(&[], 5);
    spec.hyper.mode_criterion = ModeCriterion::Residual;
    spec.hyper.residual_weight = 0.0;
    let set = train(&spec, |_| {}).unwrap();
    let c = parse_file(common::corpus_dir().join("mqtbench/qft_8.qasm")).unwrap();
    let f = extract(&c);
    let t = qroute::model::linear::terms(&f.values);
    for m in &set.backends {
        assert_eq!(m.mode, LatencyMode::Residual, "{}", m.name);
        let (mu, _) = m.log_latency(&f.values, &t);
        assert!((mu - m.linear.predict(&t)).abs() < 1e-12, "{}", m.name);
    }
}

#[test]
fn an_unknown_holdout_family_is_refused_by_name() {
    let e = train(&small_spec(&["no_such_family"], 0), |_| {}).unwrap_err();
    assert!(
        e.to_string()
            .contains("holdout family `no_such_family` is not in the telemetry"),
        "{e}"
    );
}

#[test]
fn fewer_than_two_folds_or_a_residual_weight_outside_0_1_is_refused() {
    let mut spec = small_spec(&[], 0);
    spec.hyper.folds = 1;
    let e = train(&spec, |_| {}).unwrap_err();
    assert!(
        e.to_string()
            .contains("1 fold(s): leave-family-out cross-validation needs at least 2"),
        "{e}"
    );
    let mut spec = small_spec(&[], 0);
    spec.hyper.residual_weight = 1.5;
    let e = train(&spec, |_| {}).unwrap_err();
    assert!(
        e.to_string()
            .contains("residual weight 1.5: must be in [0, 1]"),
        "{e}"
    );
}
