//! The GPU state vector against prism-q's CPU state vector by qubit count, on random circuits
//! of 10 layers (1 thread for the CPU). On the software Vulkan driver this is a record, not a
//! speed claim: a real GPU must beat the CPU above some size, and this bench finds where.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use qroute::backend::gpu::GpuBackend;
use qroute::backend::prism::{PrismBackend, PrismTarget};
use qroute::backend::{Availability, Backend, RunSpec};
use qroute::circuit::generate::{GenKind, GenSpec, generate};
use qroute::config::default_price;

fn bench(c: &mut Criterion) {
    let gpu = GpuBackend::new(default_price());
    if let Availability::Unavailable(why) = gpu.availability() {
        eprintln!("no GPU adapter, skipping: {why}");
        return;
    }
    let cpu = PrismBackend::new(PrismTarget::Statevector, default_price());
    let spec = RunSpec {
        shots: 1024,
        seed: 1,
        threads: 1,
        ..RunSpec::default()
    };
    let mut group = c.benchmark_group("gpu_vs_statevector");
    for n in [8u32, 12, 16, 20] {
        let circuit = generate(
            &GenSpec {
                kind: GenKind::Random,
                qubits: n,
                depth: Some(10),
                seed: 1,
            }
            .check()
            .expect("valid spec"),
        );
        group.bench_with_input(BenchmarkId::new("gpu", n), &circuit, |b, c| {
            b.iter(|| gpu.execute(c, &spec).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("statevector", n), &circuit, |b, c| {
            b.iter(|| cpu.execute(c, &spec).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
