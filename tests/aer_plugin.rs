//! The shipped Qiskit Aer plugin, for real: it speaks the protocol, and its counts agree with
//! qroute's own backends on a sample of corpus circuits (seeded two-sample chi-square tests).

mod common;

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use qroute::backend::prism::{PrismBackend, PrismTarget};
use qroute::backend::process::ProcessBackend;
use qroute::backend::{Availability, Backend, RunSpec};
use qroute::circuit::qasm::parse_file;
use qroute::config::default_price;

fn aer(python: &str, method: &str) -> ProcessBackend {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plugins/aer_plugin.py");
    let cmd: Vec<OsString> = vec![
        python.into(),
        script.into(),
        "--method".into(),
        method.into(),
    ];
    ProcessBackend::external(&format!("external:aer-{method}"), cmd, None)
}

#[test]
fn aer_counts_agree_with_qroute_on_corpus_circuits() {
    let Some(python) = common::aer_python() else {
        return;
    };
    let sv = aer(&python, "statevector");
    assert_eq!(sv.availability(), Availability::Available);
    assert!(sv.version().contains("qiskit-aer"), "{}", sv.version());
    let ours: Arc<dyn Backend> =
        Arc::new(PrismBackend::new(PrismTarget::Statevector, default_price()));
    let spec = RunSpec {
        shots: 4000,
        seed: 17,
        timeout: Some(Duration::from_secs(120)),
        ..RunSpec::default()
    };
    let rows: Vec<_> = common::manifest()
        .into_iter()
        .filter(|r| {
            r.num_qubits <= 10 && r.path.starts_with("mqtbench/") && !r.family.starts_with("qaoa")
        })
        .collect();
    let sample: Vec<_> = rows.iter().step_by(rows.len() / 12).collect();
    assert!(sample.len() >= 10);
    for row in sample {
        let c = parse_file(common::corpus_dir().join(&row.path)).unwrap();
        let a = ours.execute(&c, &spec).unwrap();
        let b = sv
            .execute(&c, &spec)
            .unwrap_or_else(|e| panic!("{}: {e}", row.path));
        let (stat, critical) = common::two_sample_chi_square(&a.counts, &b.counts);
        assert!(
            stat < critical,
            "{}: chi2 {stat} >= {critical}\nqroute {:?}\naer {:?}",
            row.path,
            a.counts,
            b.counts
        );
    }
}

#[test]
fn aer_stabilizer_and_mps_methods_run_large_circuits() {
    let Some(python) = common::aer_python() else {
        return;
    };
    let spec = RunSpec {
        shots: 2000,
        seed: 3,
        timeout: Some(Duration::from_secs(120)),
        ..RunSpec::default()
    };
    let cliff =
        parse_file(common::corpus_dir().join("clifford/cliff_layered_n50_d10.qasm")).unwrap();
    let ours = PrismBackend::new(PrismTarget::Stabilizer, default_price())
        .execute(&cliff, &spec)
        .unwrap();
    let theirs = aer(&python, "stabilizer").execute(&cliff, &spec).unwrap();
    let (stat, critical) = common::two_sample_chi_square(&ours.counts, &theirs.counts);
    assert!(stat < critical, "stabilizer: chi2 {stat} >= {critical}");

    let ghz = parse_file(common::corpus_dir().join("mqtbench/ghz_20.qasm")).unwrap();
    let out = aer(&python, "matrix_product_state")
        .execute(&ghz, &spec)
        .unwrap();
    assert_eq!(out.counts.len(), 2, "{:?}", out.counts);
    assert!(out.counts.contains_key(&"0".repeat(20)) && out.counts.contains_key(&"1".repeat(20)));
}
