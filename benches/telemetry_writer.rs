//! Telemetry writer throughput: rows per second into Parquet with zstd, 8k-row batches
//! (target ≥ 1M rows/s).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qroute::circuit::qasm::parse_file;
use qroute::features::extract;
use qroute::telemetry::{ExecutionRecord, Status, TelemetryWriter, WriterOptions};

#[path = "common.rs"]
mod common;

fn row(i: u64, base: &ExecutionRecord) -> ExecutionRecord {
    let mut r = base.clone();
    r.job_id = format!("job-{i}");
    r.seed = i;
    r.ts_us += i as i64;
    r.wall_ms = Some(0.5 + (i % 97) as f64);
    r
}

fn bench(c: &mut Criterion) {
    let circuit = parse_file(common::corpus_dir().join("mqtbench/qft_8.qasm")).expect("corpus");
    let base = ExecutionRecord {
        ts_us: 1_795_435_200_000_000,
        run_id: "bench".into(),
        job_id: String::new(),
        circuit_id: circuit.id().to_string(),
        circuit_name: "mqtbench/qft_8.qasm".into(),
        source: Some("mqtbench".into()),
        family: Some("qft".into()),
        features: extract(&circuit),
        backend: "statevector".into(),
        backend_kind: "statevector".into(),
        backend_version: "prism-q 0.37".into(),
        host: "bench".into(),
        threads: 1,
        shots: 1024,
        seed: 0,
        timeout_ms: Some(20_000.0),
        wall_ms: Some(1.0),
        cpu_ms: Some(1.0),
        peak_mem_bytes: Some(1 << 24),
        cost: Some(1e-6),
        status: Status::Ok,
        error_kind: None,
        error_message: None,
        fidelity_estimate: Some(1.0),
        queue_wait_ms: None,
        strategy: None,
        predicted_ms: None,
        predicted_cost: None,
        model_version: None,
    };
    const ROWS: u64 = 65_536;
    let rows: Vec<ExecutionRecord> = (0..ROWS).map(|i| row(i, &base)).collect();
    let mut group = c.benchmark_group("telemetry_writer");
    group.throughput(Throughput::Elements(ROWS));
    group.bench_function("8k_batches_zstd", |b| {
        b.iter_batched(
            || (tempfile::tempdir().expect("tempdir"), rows.clone()),
            |(dir, rows)| {
                let w = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
                for r in rows {
                    w.write(r).unwrap();
                }
                w.close().unwrap();
                dir
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
