//! Per-job cost of running in an executor process instead of in-process, on circuits whose
//! simulation takes microseconds (so the difference is the overhead: request, OpenQASM round
//! trip, pipe, response). Target: the process adds at most 2 ms per job.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use qroute::backend::prism::{PrismBackend, PrismTarget};
use qroute::backend::process::ProcessBackend;
use qroute::backend::{Backend, RunSpec};
use qroute::circuit::qasm::parse_file;
use qroute::config::default_price;

#[path = "common.rs"]
mod common;

fn bench(c: &mut Criterion) {
    let spec = RunSpec {
        shots: 1024,
        seed: 1,
        timeout: Some(Duration::from_secs(60)),
        ..RunSpec::default()
    };
    let mut group = c.benchmark_group("executor");
    for (file, target) in [
        ("mqtbench/ghz_5.qasm", PrismTarget::Statevector),
        ("mqtbench/qft_8.qasm", PrismTarget::Statevector),
        (
            "clifford/cliff_layered_n100_d10.qasm",
            PrismTarget::Stabilizer,
        ),
    ] {
        let Ok(circuit) = parse_file(common::corpus_dir().join(file)) else {
            continue;
        };
        let inner: Arc<dyn Backend> = Arc::new(PrismBackend::new(target, default_price()));
        let process = ProcessBackend::builtin(env!("CARGO_BIN_EXE_qroute"), inner.clone(), None);
        process.prewarm(1).expect("executor starts");
        let name = file.rsplit('/').next().unwrap_or(file);
        group.bench_function(format!("in_process/{name}"), |b| {
            b.iter(|| inner.execute(&circuit, &spec).unwrap())
        });
        group.bench_function(format!("process/{name}"), |b| {
            b.iter(|| process.execute(&circuit, &spec).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
