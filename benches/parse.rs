//! Parse throughput in gates per second: the largest corpus files, a 1M-gate circuit, and
//! the largest Qiskit export of tests/fixtures/qasm3 in OpenQASM 3 beside its version-2 twin.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qroute::circuit::qasm;
use qroute::features;

#[path = "common.rs"]
mod common;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    let mut inputs: Vec<(String, String)> = common::LARGEST
        .iter()
        .filter_map(|f| {
            let path = common::corpus_dir().join(f);
            std::fs::read_to_string(&path)
                .ok()
                .map(|t| (f.to_string(), t))
        })
        .collect();
    inputs.push((
        "generated_random_1M".into(),
        qasm::to_qasm(&common::million_gates()),
    ));
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qasm3");
    for version in ["v3", "v2"] {
        let name = format!("qwalk_6.{version}.qasm");
        if let Ok(text) = std::fs::read_to_string(fixtures.join(&name)) {
            inputs.push((format!("qasm3_fixture/{name}"), text));
        }
    }
    for (name, text) in &inputs {
        let circuit = qasm::parse_str(text).expect("bench input parses");
        let gates = features::extract(&circuit)[features::Feature::GateCount];
        group.throughput(Throughput::Elements(gates as u64));
        group.bench_function(name.as_str(), |b| {
            b.iter(|| qasm::parse_str(std::hint::black_box(text)).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
