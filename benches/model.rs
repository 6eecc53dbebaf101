//! Model inference: every backend for one feature vector (target ≤ 5 µs for 5 backends ×
//! 100 trees), and batch latency predictions per second (target ≥ 1M per core).

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qroute::circuit::qasm::parse_file;
use qroute::features::{Features, extract};
use qroute::model::{ModelSet, Prediction, terms};

#[path = "common.rs"]
mod common;

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
    let full = ModelSet::load(&dir).expect("models/default");
    let rows: Vec<Features> = [
        "mqtbench/qft_8.qasm",
        "mqtbench/ghz_12.qasm",
        "mqtbench/qaoa_6.qasm",
    ]
    .iter()
    .filter_map(|f| parse_file(common::corpus_dir().join(f)).ok())
    .map(|c| extract(&c))
    .collect();
    let mut group = c.benchmark_group("model");
    let mut five = full.clone();
    five.retain_backends(&["statevector", "stabilizer", "mps-64", "prism-auto", "gpu"]);
    for (name, set) in [("all_backends", &full), ("5_backends", &five)] {
        let mut out = vec![Prediction::default(); set.backends.len()];
        let mut i = 0;
        group.bench_function(format!("predict_one_circuit_{name}"), |b| {
            b.iter(|| {
                i = (i + 1) % rows.len();
                set.predict_into(std::hint::black_box(&rows[i]), 1024, 1, &mut out)
                    .unwrap();
                out[0].latency_ms
            })
        });
    }
    // The latency forests alone (the 5 backends x 100 trees), without the risk
    // forests and cost that `predict_into` adds.
    let mut j = 0;
    group.bench_function("latency_forests_5_backends", |b| {
        b.iter(|| {
            j = (j + 1) % rows.len();
            let x = &std::hint::black_box(&rows[j]).values;
            let t = terms(x);
            five.backends
                .iter()
                .map(|m| m.log_latency(x, &t).0)
                .sum::<f64>()
        })
    });
    // Batch: one backend's latency forest over many feature rows.
    let sv = &full.backends[full.index_of("statevector").expect("statevector model")];
    let batch: Vec<Vec<f64>> = (0..1024)
        .map(|k| {
            let mut v = rows[k % rows.len()].values.clone();
            v[0] += (k % 7) as f64;
            v
        })
        .collect();
    group.throughput(Throughput::Elements(batch.len() as u64));
    let forest = &sv.forest;
    let refs: Vec<&[f64]> = batch.iter().map(Vec::as_slice).collect();
    let mut out = vec![0.0; refs.len()];
    group.bench_function("batch_forest_statevector_8_lanes", |b| {
        b.iter(|| {
            forest.predict_batch(std::hint::black_box(&refs), &mut out);
            out[0]
        })
    });
    group.bench_function("batch_latency_statevector", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for x in &batch {
                s += sv.log_latency(x, &terms(x)).0;
            }
            s
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
