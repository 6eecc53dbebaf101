//! Feature extraction throughput in gates per second: the largest corpus files, a random
//! circuit of about 10,000 gates on 40 qubits (#30: ≤ 1 ms with the work estimates of schema
//! v2) and a 1M-gate circuit.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qroute::circuit::qasm;
use qroute::features::{self, Feature};

#[path = "common.rs"]
mod common;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("features");
    let mut inputs: Vec<(String, qroute::circuit::Circuit)> = common::LARGEST
        .iter()
        .filter_map(|f| {
            qasm::parse_file(common::corpus_dir().join(f))
                .ok()
                .map(|c| (f.to_string(), c))
        })
        .collect();
    inputs.push((
        "generated_random_10k_40q".into(),
        common::random_circuit(40, 500),
    ));
    inputs.push(("generated_random_1M".into(), common::million_gates()));
    for (name, circuit) in &inputs {
        let gates = features::extract(circuit)[Feature::GateCount];
        group.throughput(Throughput::Elements(gates as u64));
        group.bench_function(name.as_str(), |b| {
            b.iter(|| features::extract(std::hint::black_box(circuit)))
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
