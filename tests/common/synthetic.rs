//! Model sets with chosen predictions, for routing and planning tests.

use std::path::{Path, PathBuf};

use qroute::backend::Registry;
use qroute::backend::registry::builtin;
use qroute::config::default_price;
use qroute::features::NUM_FEATURES;
use qroute::model::{
    BackendModel, Calibration, Forest, ForestParams, LatencyMode, Linear, ModelSet, N_TERMS,
};
use qroute::route::RouterSection;

/// The frozen v2 model set.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model_v2")
}

/// In-process built-in backends by name, at the default price.
pub fn registry(names: &[&str]) -> Registry {
    Registry::new(
        names
            .iter()
            .map(|n| builtin(n, default_price()).unwrap())
            .collect(),
    )
}

/// What a synthetic backend model predicts, whatever the circuit.
#[derive(Clone, Copy)]
pub struct Fixed {
    pub ms: f64,
    pub cost: f64,
    pub risk: f64,
}

pub fn fixed(ms: f64, cost: f64) -> Fixed {
    Fixed {
        ms,
        cost,
        risk: 0.0,
    }
}

/// A model set predicting constants: latency `ms` (with held-out log error `sigma`), `cost`
/// and `risk` per backend. Fitted with the real ridge and forest code on constant targets.
pub fn synthetic(backends: &[(&str, Fixed)], sigma: f64) -> ModelSet {
    let mut set = ModelSet::load(&fixture()).unwrap();
    let n = 40;
    let term_rows: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..N_TERMS).map(|j| (i * 7 + j * 3) as f64 % 5.0).collect())
        .collect();
    let feat_rows: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..NUM_FEATURES).map(|j| (i + j) as f64).collect())
        .collect();
    let cost_rows: Vec<Vec<f64>> = (0..n).map(|i| vec![i as f64, 1024.0]).collect();
    let params = ForestParams {
        n_trees: 3,
        max_depth: 2,
        min_samples_leaf: 1,
        features_per_split: 4,
        seed: 1,
    };
    set.backends = backends
        .iter()
        .map(|(name, f)| BackendModel {
            name: name.to_string(),
            mode: LatencyMode::Linear,
            linear: Linear::fit(&term_rows, &vec![f.ms.ln(); n], 1.0).unwrap(),
            calibration: Calibration {
                term: 7,
                knee: 0.0,
                intercept: f.ms.ln(),
                slope: 0.0,
            },
            forest: Forest::fit(&feat_rows, &vec![0.0; n], &params).unwrap(),
            log_sigma: sigma,
            risk: Forest::fit(&feat_rows, &vec![f.risk; n], &params).unwrap(),
            cost: Linear::fit(&cost_rows, &vec![f.cost; n], 1.0).unwrap(),
            domain_min: vec![f64::NEG_INFINITY; NUM_FEATURES],
            domain_max: vec![f64::INFINITY; NUM_FEATURES],
        })
        .collect();
    set.meta.backends = backends.iter().map(|(n, _)| n.to_string()).collect();
    set.meta.name = "synthetic".into();
    set
}

/// Issue 31's misroute: a 22-qubit Clifford circuit (seconds on a dense state vector, a blink
/// on a tableau), models that say the state vector takes 1 ms and the tableau 50 (both
/// wrong), and a hedging cutoff of max(1 × the top of the interval, 100 ms).
pub fn misrouted_clifford() -> (String, ModelSet, RouterSection) {
    let mut src = String::from("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[22]; creg c[22];");
    for layer in 0..10 {
        for i in 0..22 {
            src += &format!(" h q[{i}]; cx q[{i}], q[{}];", (i + 1 + layer % 21) % 22);
        }
    }
    src += " measure q -> c;";
    let models = synthetic(
        &[
            ("statevector", fixed(1.0, 1.0)),
            ("stabilizer", fixed(50.0, 1.0)),
        ],
        0.05,
    );
    let cfg = RouterSection {
        hedge_factor: Some(1.0),
        hedge_floor_ms: Some(100.0),
        ..Default::default()
    };
    (src, models, cfg)
}
