//! Telemetry writer throughput: rows per second into Parquet with zstd, 8k-row batches
//! (target ≥ 1M rows/s), for one row repeated and for the rows of telemetry/reference.

use criterion::{Bencher, Criterion, Throughput, criterion_group, criterion_main};
use parquet::arrow::ArrowWriter;
use qroute::circuit::qasm::parse_file;
use qroute::features::extract;
use qroute::telemetry::reader::read_dir;
use qroute::telemetry::schema::to_batch;
use qroute::telemetry::writer::parquet_properties;
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

/// Times writing `rows` through a fresh writer into a fresh directory, close included.
fn write_all(b: &mut Bencher<'_>, rows: &[ExecutionRecord]) {
    b.iter_batched(
        || tempfile::tempdir().expect("tempdir"),
        |dir| {
            let w = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
            for r in rows {
                w.write(r).unwrap();
            }
            w.close().unwrap();
            dir
        },
        criterion::BatchSize::LargeInput,
    )
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
        host_calibration_ms: Some(98.5),
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
    group.bench_function("8k_batches_zstd", |b| write_all(b, &rows));
    // The same with the rows of telemetry/reference, cycled: real features, times and errors
    // compress far less well than one row repeated, and zstd works accordingly harder.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("telemetry/reference");
    let reference = read_dir(&dir).expect("telemetry/reference").records;
    let real: Vec<ExecutionRecord> = (0..ROWS as usize)
        .map(|i| {
            let mut r = reference[i % reference.len()].clone();
            r.job_id = format!("{}-{i}", r.job_id);
            r
        })
        .collect();
    group.bench_function("8k_batches_zstd_reference_rows", |b| write_all(b, &real));
    // The writer's two stages alone, for one batch: rows to Arrow, Arrow to a Parquet file.
    group.throughput(Throughput::Elements(8192));
    let first = &rows[..8192];
    group.bench_function("stage_to_batch_8k", |b| b.iter(|| to_batch(first).unwrap()));
    let batch = to_batch(first).unwrap();
    group.bench_function("stage_encode_8k", |b| {
        b.iter(|| {
            let props = parquet_properties(8192, Vec::new());
            let mut w = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).unwrap();
            w.write(&batch).unwrap();
            w.into_inner().unwrap().len()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
