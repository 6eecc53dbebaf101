//! qroute's own per-job overhead (#31): parse, features, route, dispatch, result and
//! telemetry — everything but the simulation — on each `datasets/demo` circuit, run the way
//! `qroute run` runs it (isolation chosen per job, executor processes kept warm, every attempt
//! written to a telemetry directory). Each sample is a job's wall time from OpenQASM text to
//! its report minus the simulation time its backend measured. Target: the median over the
//! demo circuits of their median overhead ≤ 50 µs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use qroute::app::router::{Executors, Via};
use qroute::backend::Isolation;
use qroute::circuit::qasm::QasmParser;
use qroute::config::Config;
use qroute::exec::{IsolationPolicy, RunOptions};
use qroute::route::{Constraints, Job};
use qroute::telemetry::TelemetryWriter;

fn demo_circuits() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/demo");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("datasets/demo")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "qasm"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (stem, std::fs::read_to_string(&p).expect("a demo circuit"))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = Isolation::Process {
        exe: env!("CARGO_BIN_EXE_qroute").into(),
    };
    let policy = IsolationPolicy::default();
    let executors = Executors::build(
        &root.join("models/default"),
        &Config::default(),
        None,
        Via::Here { exe },
        policy,
    )
    .expect("the default model set and built-in backends");
    let telemetry = tempfile::tempdir().expect("a temporary directory");
    let writer = TelemetryWriter::open(telemetry.path(), Default::default()).expect("telemetry");
    let runner = executors.runner(
        Some(&writer),
        RunOptions {
            timeout: Duration::from_secs(60),
            seed: 1,
            run_id: "bench-overhead".into(),
            isolation: policy,
            baseline: None,
        },
    );
    let parser = QasmParser::new();
    let constraints = Constraints::default();
    let mut group = c.benchmark_group("overhead");
    for (name, text) in demo_circuits() {
        let mut n = 0;
        group.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                let mut beyond = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let circuit = parser.parse_str(&text).expect("a demo circuit parses");
                    let job = Job::new(name.as_str(), circuit);
                    let report = runner.run(n, &job, &constraints).expect("telemetry");
                    let elapsed = t0.elapsed();
                    n += 1;
                    let outcome = report.outcome.expect("every demo circuit runs");
                    beyond += elapsed.saturating_sub(outcome.wall);
                }
                beyond
            })
        });
    }
    group.finish();
    writer.close().expect("telemetry flushed");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
