//! Routing: one decision with features in hand over 5 backends (target ≤ 10 µs p50 on one
//! core), and parse + features + route of a 10k-gate circuit (target ≤ 1 ms).

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use qroute::backend::Registry;
use qroute::backend::registry::builtin;
use qroute::circuit::generate::{GenKind, GenSpec, generate};
use qroute::circuit::qasm::{parse_file, parse_str, to_qasm};
use qroute::config::default_price;
use qroute::features::{Features, extract};
use qroute::model::ModelSet;
use qroute::route::{Constraints, Router, RouterConfig, Strategy};

#[path = "common.rs"]
mod common;

const FIVE: [&str; 5] = [
    "statevector",
    "stabilizer",
    "mps-64",
    "prism-auto",
    "sparse",
];

/// A router over the five backends; `cache`: its prediction cache's entries.
fn five_backend_router(cache: usize) -> Router {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
    let models = ModelSet::load(&dir).expect("models/default");
    let reg = Registry::new(
        FIVE.iter()
            .map(|n| builtin(n, default_price()).expect("built-in"))
            .collect(),
    );
    let config = RouterConfig {
        prediction_cache: cache,
        ..RouterConfig::default()
    };
    Router::new(models, reg, config)
}

fn bench(c: &mut Criterion) {
    // The decision measured in full: every backend predicted each time (the benches cycle
    // through a few circuits, which a cache would answer from memory after the first round).
    let router = five_backend_router(0);
    let cached = five_backend_router(1024);
    let rows: Vec<Features> = [
        "mqtbench/qft_8.qasm",
        "mqtbench/ghz_12.qasm",
        "mqtbench/qaoa_6.qasm",
        "clifford/cliff_brick1d_n50_d10.qasm",
    ]
    .iter()
    .filter_map(|f| parse_file(common::corpus_dir().join(f)).ok())
    .map(|c| extract(&c))
    .collect();
    let mut group = c.benchmark_group("route");
    // The last: the same decision when the circuit's predictions are kept (a sweep, a
    // repeated request).
    for (strategy, router, suffix) in [
        (Strategy::Performance, &router, ""),
        (Strategy::Predictive, &router, ""),
        (Strategy::Adaptive, &router, ""),
        (Strategy::Predictive, &cached, "_cached"),
    ] {
        let constraints = Constraints {
            strategy: Some(strategy),
            ..Constraints::default()
        };
        let mut i = 0;
        group.bench_function(format!("recommend_5_backends_{strategy}{suffix}"), |b| {
            b.iter(|| {
                i = (i + 1) % rows.len();
                router
                    .recommend(std::hint::black_box(&rows[i]), &constraints)
                    .expect("eligible backends")
                    .chosen
                    .latency_ms
            })
        });
    }
    // 16 qubits × 2,000 layers of random 1–3-qubit gates ≈ 10k gates.
    let spec = GenSpec {
        kind: GenKind::Random,
        qubits: 16,
        depth: Some(1_250),
        seed: 1,
    };
    let text = to_qasm(&generate(&spec.check().expect("valid spec")));
    let gates = parse_str(&text).expect("parses").len();
    let constraints = Constraints::default();
    // The three steps alone, to see where the time goes.
    group.bench_function(format!("parse_{gates}_ops"), |b| {
        b.iter(|| {
            parse_str(std::hint::black_box(&text))
                .expect("parses")
                .len()
        })
    });
    let parsed = parse_str(&text).expect("parses");
    group.bench_function(format!("features_{gates}_ops"), |b| {
        b.iter(|| extract(std::hint::black_box(&parsed)).values[0])
    });
    let f = extract(&parsed);
    group.bench_function("recommend_circuit_5_backends", |b| {
        b.iter(|| {
            router
                .recommend_circuit(&parsed, std::hint::black_box(&f), &constraints)
                .expect("eligible backends")
                .chosen
                .latency_ms
        })
    });
    // The three together, on that circuit and on a real one of the same size: MQT Bench's
    // quantum walk on 15 qubits (11,708 gates).
    let real = std::fs::read_to_string(common::corpus_dir().join("mqtbench/qwalk_15.qasm"))
        .expect("corpus file");
    for (name, src) in [
        (format!("parse_features_route_{gates}_ops"), &text),
        ("parse_features_route_qwalk_15".to_string(), &real),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let circuit = parse_str(std::hint::black_box(src)).expect("parses");
                let f = extract(&circuit);
                router
                    .recommend_circuit(&circuit, &f, &constraints)
                    .expect("eligible backends")
                    .chosen
                    .latency_ms
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
