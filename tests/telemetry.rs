//! Telemetry: records survive Parquet unchanged, files appear only complete, partitions by
//! date, schema versions are checked, unreadable files are named, a frozen v1 file loads,
//! compaction keeps every row exactly once, even for readers running beside it.

mod common;

use std::path::Path;
use std::time::Duration;

use qroute::circuit::qasm::parse_file;
use qroute::features::extract;
use qroute::telemetry::compact::{CompactOptions, compact};
use qroute::telemetry::reader::{parquet_files, read_dir};
use qroute::telemetry::writer::date_of;
use qroute::telemetry::{ExecutionRecord, Status, TelemetryWriter, WriterOptions};

/// 2026-11-23T12:00:00Z in microseconds.
const NOON: i64 = 1_795_435_200_000_000;

fn record(i: u64, file: &str, status: Status, ts_us: i64) -> ExecutionRecord {
    let c = parse_file(common::corpus_dir().join(file)).unwrap();
    let ok = status == Status::Ok;
    ExecutionRecord {
        ts_us,
        run_id: "run-1".into(),
        job_id: format!("job-{i}"),
        circuit_id: c.id().to_string(),
        circuit_name: file.into(),
        source: Some("mqtbench".into()),
        family: i.is_multiple_of(2).then(|| "ghz".into()),
        features: extract(&c),
        backend: "statevector".into(),
        backend_kind: "statevector".into(),
        backend_version: "prism-q 0.37".into(),
        host: "test-host".into(),
        host_calibration_ms: (!i.is_multiple_of(3)).then_some(90.0 + i as f64),
        threads: 1,
        shots: 1024,
        seed: i,
        timeout_ms: Some(20_000.0),
        wall_ms: (status != Status::Ineligible).then_some(1.5 + i as f64),
        cpu_ms: ok.then_some(1.25),
        peak_mem_bytes: ok.then_some(1 << 20),
        cost: ok.then_some(1e-6),
        status,
        error_kind: (!ok).then(|| status.as_str().to_string()),
        error_message: (!ok).then(|| format!("attempt {i} did not finish: \"quoted\", ünïcode")),
        fidelity_estimate: ok.then_some(1.0),
        queue_wait_ms: None,
        strategy: None,
        predicted_ms: None,
        predicted_cost: None,
        model_version: None,
    }
}

fn sample() -> Vec<ExecutionRecord> {
    let statuses = [
        Status::Ok,
        Status::Failed,
        Status::Timeout,
        Status::Ineligible,
    ];
    (0..10)
        .map(|i| {
            let file = if i % 2 == 0 {
                "mqtbench/ghz_5.qasm"
            } else {
                "mqtbench/qft_4.qasm"
            };
            record(i, file, statuses[i as usize % 4], NOON + i as i64)
        })
        .collect()
}

#[test]
fn records_round_trip_through_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let w = TelemetryWriter::open(
        dir.path(),
        WriterOptions {
            batch_rows: 3,
            ..Default::default()
        },
    )
    .unwrap();
    let rows = sample();
    for r in &rows {
        w.write(r).unwrap();
    }
    let stats = w.close().unwrap();
    assert_eq!(stats.rows, 10);
    assert_eq!(stats.files.len(), 4, "3 + 3 + 3 + 1 rows");
    let report = read_dir(dir.path()).unwrap();
    assert!(report.bad_files.is_empty(), "{:?}", report.bad_files);
    assert_eq!(report.records, rows);
    for f in &report.files {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("part-") && name.ends_with(".parquet"),
            "{name}"
        );
        assert_eq!(f.parent().unwrap().file_name().unwrap(), "date=2026-11-23");
    }
}

/// Writes `rows` as one file with `threads` column encoders; returns the file's bytes.
fn one_file(rows: &[ExecutionRecord], threads: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let w = TelemetryWriter::open(
        dir.path(),
        WriterOptions {
            batch_rows: rows.len(),
            encode_threads: threads,
            ..Default::default()
        },
    )
    .unwrap();
    for r in rows {
        w.write(r).unwrap();
    }
    let stats = w.close().unwrap();
    assert_eq!(stats.files.len(), 1);
    let report = read_dir(dir.path()).unwrap();
    assert!(report.bad_files.is_empty(), "{:?}", report.bad_files);
    assert_eq!(report.records, rows, "{threads} encoder threads");
    std::fs::read(&stats.files[0]).unwrap()
}

#[test]
fn columns_encoded_on_several_threads_make_the_same_file() {
    // Above the size where the writer starts helper threads.
    let base = sample();
    let rows: Vec<ExecutionRecord> = (0..3000)
        .map(|i| {
            let mut r = base[i % base.len()].clone();
            r.job_id = format!("job-{i}");
            r.seed = i as u64;
            r.wall_ms = r.wall_ms.map(|w| w + i as f64 / 7.0);
            r
        })
        .collect();
    let one = one_file(&rows, 1);
    for threads in [2, 3, 7] {
        assert!(one == one_file(&rows, threads), "{threads} threads");
    }
}

#[test]
fn rows_are_partitioned_by_utc_date() {
    assert_eq!(date_of(0), "1970-01-01");
    assert_eq!(date_of(NOON), "2026-11-23");
    assert_eq!(date_of(-1), "1969-12-31");
    assert_eq!(date_of(951_782_400_000_000), "2000-02-29");
    let dir = tempfile::tempdir().unwrap();
    let w = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
    w.write(&record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON))
        .unwrap();
    w.write(&record(
        1,
        "mqtbench/ghz_5.qasm",
        Status::Ok,
        NOON + 86_400_000_000,
    ))
    .unwrap();
    w.flush().unwrap();
    let dates: Vec<String> = parquet_files(dir.path())
        .unwrap()
        .iter()
        .map(|f| {
            f.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(dates, ["date=2026-11-23", "date=2026-11-24"]);
    drop(w);
}

#[test]
fn the_interval_flushes_without_being_asked() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WriterOptions {
        flush_interval: Duration::from_millis(100),
        ..Default::default()
    };
    let w = TelemetryWriter::open(dir.path(), opts).unwrap();
    w.write(&record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON))
        .unwrap();
    let mut seen = false;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        if read_dir(dir.path()).unwrap().records.len() == 1 {
            seen = true;
            break;
        }
    }
    assert!(seen, "the row was not flushed by the interval");
    drop(w);
}

#[test]
fn many_threads_write_without_losing_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WriterOptions {
        batch_rows: 500,
        channel_capacity: 64,
        ..Default::default()
    };
    let w = TelemetryWriter::open(dir.path(), opts).unwrap();
    let base = record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (w, base) = (&w, &base);
            s.spawn(move || {
                for i in 0..1000 {
                    let mut r = base.clone();
                    r.job_id = format!("t{t}-{i}");
                    w.write(&r).unwrap();
                }
            });
        }
    });
    w.close().unwrap();
    let report = read_dir(dir.path()).unwrap();
    let mut ids: Vec<String> = report.records.into_iter().map(|r| r.job_id).collect();
    assert_eq!(ids.len(), 4000);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4000, "a row was written twice");
}

#[test]
fn unreadable_and_foreign_files_are_named_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let w = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
    w.write(&record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON))
        .unwrap();
    w.close().unwrap();
    let part = dir.path().join("date=2026-11-23");
    std::fs::write(part.join("part-garbage.parquet"), b"not parquet at all").unwrap();
    // A half-written temporary file is ignored.
    std::fs::write(part.join(".part-x-1-000009.parquet.tmp"), b"PAR1 half").unwrap();
    // A file of a future schema version is refused, by version.
    let batch =
        qroute::telemetry::schema::to_batch(&[record(1, "mqtbench/ghz_5.qasm", Status::Ok, NOON)])
            .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
            qroute::telemetry::schema::VERSION_KEY.to_string(),
            "3".to_string(),
        )]))
        .build();
    let file = std::fs::File::create(part.join("part-future.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let report = read_dir(dir.path()).unwrap();
    assert_eq!(report.records.len(), 1, "the good file");
    assert_eq!(report.bad_files.len(), 2, "{:?}", report.bad_files);
    assert!(report.bad_files[0].0.ends_with("part-future.parquet"));
    assert!(
        report.bad_files[0]
            .1
            .contains("telemetry schema version 3, this qroute reads versions 1 to 2"),
        "{:?}",
        report.bad_files
    );
    assert!(report.bad_files[1].0.ends_with("part-garbage.parquet"));
}

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/telemetry_v1.parquet")
}

/// A file written by the first version of the writer (tests/fixtures/telemetry_v1.parquet,
/// one ok row of ghz_5 on statevector) must keep loading.
#[test]
fn frozen_v1_file_still_loads() {
    // Written once by this commit's writer from `record(0, "mqtbench/ghz_5.qasm", Ok, NOON)`;
    // never regenerate it: it stands for files already on users' disks.
    let path = fixture();
    let rows = qroute::telemetry::reader::read_file(&path).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r.backend.as_str(), r.status, r.shots),
        ("statevector", Status::Ok, 1024)
    );
    assert_eq!(r.features.schema_version, 1);
    assert_eq!(r.features[qroute::features::Feature::NumQubits], 5.0);
    assert_eq!(r.ts_us, NOON);
}

/// A file of telemetry schema v2 (tests/fixtures/telemetry_v2.parquet: one ok row of ghz_5 on
/// statevector with a host calibration) must keep loading.
#[test]
fn frozen_v2_file_still_loads() {
    // Written once from `record(1, "mqtbench/ghz_5.qasm", Ok, NOON)`; never regenerate it.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/telemetry_v2.parquet");
    let rows = qroute::telemetry::reader::read_file(&path).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.features.schema_version, 2);
    assert_eq!(r.features[qroute::features::Feature::NumQubits], 5.0);
    assert_eq!(r.features[qroute::features::Feature::IsClifford], 1.0);
    assert_eq!(r.host_calibration_ms, Some(91.0));
    assert_eq!(r.family, None);
    assert_eq!(r.ts_us, NOON);
}

/// #32 item 5: telemetry v2 stores counts and flags as integers and booleans, repeated text
/// dictionary-encoded, and a description on every column; the rows read back unchanged.
#[test]
fn issue_32_telemetry_v2_columns_are_typed_and_described() {
    use arrow_schema::DataType;
    use qroute::features::{ALL_FEATURES, Domain};
    use qroute::telemetry::schema::{DICTIONARY_COLUMNS, schema};
    let s = schema();
    assert_eq!(s.metadata()[qroute::telemetry::schema::VERSION_KEY], "2");
    for f in s.fields() {
        let d = f.metadata().get("description");
        assert!(
            d.is_some_and(|d| !d.trim().is_empty()),
            "{} has no description",
            f.name()
        );
    }
    for &feat in ALL_FEATURES {
        let t = s.field_with_name(feat.name()).unwrap().data_type().clone();
        let want = match feat.domain() {
            Domain::Count => DataType::UInt64,
            Domain::Flag => DataType::Boolean,
            _ => DataType::Float64,
        };
        assert_eq!(t, want, "{}", feat.name());
    }
    for name in DICTIONARY_COLUMNS {
        assert!(
            matches!(
                s.field_with_name(name).unwrap().data_type(),
                DataType::Dictionary(..)
            ),
            "{name}"
        );
    }
    // Written and read back: the file's own Arrow schema is the typed one.
    let dir = tempfile::tempdir().unwrap();
    let w = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
    let rows = sample();
    for r in &rows {
        w.write(r).unwrap();
    }
    w.close().unwrap();
    let file = parquet_files(dir.path())
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&file).unwrap(),
    )
    .unwrap();
    assert_eq!(
        reader
            .schema()
            .field_with_name("is_clifford")
            .unwrap()
            .data_type(),
        &DataType::Boolean
    );
    assert!(matches!(
        reader
            .schema()
            .field_with_name("backend")
            .unwrap()
            .data_type(),
        DataType::Dictionary(..)
    ));
    let mut back = read_dir(dir.path()).unwrap().records;
    back.sort_by_key(|r| r.seed);
    assert_eq!(back, rows);
}

/// A count feature that is not a whole number cannot be stored as one: the row is refused
/// with the feature named, as any row that does not fit the schema.
#[test]
fn issue_32_a_fractional_count_is_refused_by_name() {
    let mut r = record(1, "mqtbench/ghz_5.qasm", Status::Ok, NOON);
    r.features.values[qroute::features::Feature::GateCount as usize] = 2.5;
    let err = qroute::telemetry::schema::to_batch(&[r]).unwrap_err();
    assert!(err.to_string().contains("gate_count = 2.5"), "{err}");
}

/// Compaction keeps each file's schema version: a partition holding v1 and v2 files keeps
/// every row, readable, in one file per version.
#[test]
fn compaction_of_v1_and_v2_files_keeps_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("date=2026-11-23");
    std::fs::create_dir_all(&part).unwrap();
    std::fs::copy(fixture(), part.join("part-a-1-1-0.parquet")).unwrap();
    std::fs::copy(fixture(), part.join("part-a-1-2-0.parquet")).unwrap();
    let v2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/telemetry_v2.parquet");
    std::fs::copy(&v2, part.join("part-b-1-1-0.parquet")).unwrap();
    std::fs::copy(&v2, part.join("part-b-1-2-0.parquet")).unwrap();
    let report = compact(dir.path(), &CompactOptions::default()).unwrap();
    assert_eq!(report.merged_files, 4);
    assert_eq!(report.written.len(), 2);
    let rows = read_dir(dir.path()).unwrap();
    assert!(rows.bad_files.is_empty(), "{:?}", rows.bad_files);
    let mut versions: Vec<u32> = rows
        .records
        .iter()
        .map(|r| r.features.schema_version)
        .collect();
    versions.sort();
    assert_eq!(versions, [1, 1, 2, 2]);
}

/// #30: v1 rows upgrade to feature schema v2 from their circuit files, matched by circuit id;
/// every other column is unchanged, and a circuit the files lack stops the upgrade.
#[test]
fn issue_30_v1_telemetry_upgrades_to_v2_features() {
    use qroute::app::upgrade::UpgradeParams;
    let src = tempfile::tempdir().unwrap();
    let part = src.path().join("date=2026-11-23");
    std::fs::create_dir_all(&part).unwrap();
    std::fs::copy(fixture(), part.join("part-v1.parquet")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let ghz = common::corpus_dir().join("mqtbench/ghz_5.qasm");
    // A circuit file that does not parse is named and passed over, not fatal.
    let broken = out.path().join("broken.qasm");
    std::fs::write(&broken, "OPENQASM 2.0;\nqreg q[2];\nfoo q[0];\n").unwrap();
    let params = UpgradeParams {
        dir: src.path().to_path_buf(),
        circuits: vec![ghz.clone(), broken],
        out: out.path().join("v2"),
    };
    // Training on the v1 rows is refused, saying how to upgrade them.
    let v1 = read_dir(src.path()).unwrap().records;
    let spec = qroute::train::TrainSpec {
        telemetry: vec![src.path().to_path_buf()],
        name: "v1".into(),
        holdout_families: Vec::new(),
        hyper: Default::default(),
    };
    let e = qroute::train::train_records(&v1, &spec, |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("schema v1") && e.contains("qroute telemetry upgrade"),
        "{e}"
    );
    let done = params.run().unwrap();
    assert_eq!((done.rows, done.recomputed, done.circuit_files), (1, 1, 2));
    assert_eq!(done.bad_circuits.len(), 1);
    assert!(
        done.bad_circuits[0].contains("broken.qasm"),
        "{:?}",
        done.bad_circuits
    );
    let before = &qroute::telemetry::reader::read_file(&fixture()).unwrap()[0];
    let after = read_dir(&out.path().join("v2")).unwrap().records;
    assert_eq!(after.len(), 1);
    let want = extract(&parse_file(&ghz).unwrap());
    assert_eq!(after[0].features, want);
    assert_eq!(after[0].features.schema_version, 2);
    let mut same = after[0].clone();
    same.features = before.features.clone();
    assert_eq!(&same, before, "only the features change");
    // Again into the same place: refused, nothing overwritten.
    let e = params.run().unwrap_err().to_string();
    assert!(e.contains("already holds telemetry"), "{e}");
    // Without the circuit's file: refused, naming it.
    let e = UpgradeParams {
        dir: src.path().to_path_buf(),
        circuits: vec![common::corpus_dir().join("mqtbench/ghz_6.qasm")],
        out: out.path().join("other"),
    }
    .run()
    .unwrap_err()
    .to_string();
    assert!(e.contains("ghz_5"), "{e}");
    assert!(!out.path().join("other").exists(), "nothing written");
}

#[test]
fn summary_counts_statuses_and_percentiles_per_backend() {
    let dir = tempfile::tempdir().unwrap();
    let w = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
    for r in sample() {
        w.write(&r).unwrap();
    }
    w.close().unwrap();
    std::fs::write(dir.path().join("broken.parquet"), b"nope").unwrap();
    let out = std::process::Command::new(common::qroute_exe())
        .args(["telemetry", "summary"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad file makes the exit code 1"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.parquet"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("10 rows, 2 circuits"), "{stdout}");
    // ghz_5 succeeded three times (1.5, 5.5 and 9.5 ms), on its only backend. Put on the host
    // speed of the median calibration (94.5 ms, rows 1, 2, 4, 5, 7, 8), row 4's 5.5 ms
    // measured at 94 ms becomes 5.5 · 94.5 / 94 and row 0 (no calibration) stays 1.5: the
    // first two runs give σ = |ln 1.5 − ln 5.529| / (0.6745 √2) = 1.37, and a choice among
    // one backend is always right.
    assert!(
        stdout.contains(
            "repeatability over 1 circuit whose every successful backend ran at least twice: \
             one run's ln time scatters with sigma 1.37; choosing the backend by one run, \
             scored on another: top-1 100.0%, regret 1.000"
        ),
        "{stdout}"
    );
    // 10 attempts: statuses cycle ok, failed, timeout, ineligible (none hedged); ok rows have
    // wall 1.5 + i
    // for i = 0, 4, 8, so p50 = 5.5 and p95 = 5.5 + 0.9 · 4 = 9.1 (interpolated at position
    // 0.95 · 2, as every percentile qroute prints; src/stats.rs).
    let line = stdout
        .lines()
        .find(|l| l.starts_with("statevector"))
        .unwrap();
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "statevector",
            "10",
            "3",
            "3",
            "2",
            "2",
            "0",
            "37.5%",
            "5.500",
            "9.100"
        ]
    );
}

fn job_ids(dir: &Path) -> Vec<String> {
    let report = read_dir(dir).unwrap();
    assert!(report.bad_files.is_empty(), "{:?}", report.bad_files);
    report.records.into_iter().map(|r| r.job_id).collect()
}

/// Writes `n` rows starting at `from`, one file per `per_file` rows.
fn write_rows(dir: &Path, base: &ExecutionRecord, from: u64, n: u64, per_file: usize) {
    let w = TelemetryWriter::open(
        dir,
        WriterOptions {
            batch_rows: per_file,
            ..Default::default()
        },
    )
    .unwrap();
    for i in from..from + n {
        let mut r = base.clone();
        r.job_id = format!("job-{i:05}");
        w.write(&r).unwrap();
    }
    w.close().unwrap();
}

#[test]
fn compaction_merges_files_and_keeps_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let base = record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON);
    write_rows(dir.path(), &base, 0, 100, 7);
    // Rows of another day land in another partition, compacted on their own.
    write_rows(
        dir.path(),
        &record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON + 86_400_000_000),
        100,
        10,
        3,
    );
    let before = {
        let mut ids = job_ids(dir.path());
        ids.sort();
        ids
    };
    assert_eq!(parquet_files(dir.path()).unwrap().len(), 15 + 4);
    let r = compact(dir.path(), &CompactOptions::default()).unwrap();
    assert_eq!((r.partitions, r.merged_files, r.rows), (2, 19, 110));
    assert_eq!(r.written.len(), 2);
    assert!(r.bytes_after < r.bytes_before, "{r:?}");
    assert_eq!(parquet_files(dir.path()).unwrap(), r.written);
    let mut after = job_ids(dir.path());
    after.sort();
    assert_eq!(before, after);
    // Records are unchanged, not only their ids.
    let again = read_dir(dir.path()).unwrap().records;
    assert!(
        again
            .iter()
            .all(|x| x.features == base.features && x.status == Status::Ok)
    );
    // Compacting a compacted directory changes nothing.
    let r = compact(dir.path(), &CompactOptions::default()).unwrap();
    assert_eq!(r.merged_files, 0);
}

#[test]
fn a_compaction_killed_before_deleting_its_sources_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON);
    write_rows(dir.path(), &base, 0, 50, 10);
    let sources = parquet_files(dir.path()).unwrap();
    let saved: Vec<Vec<u8>> = sources.iter().map(|p| std::fs::read(p).unwrap()).collect();
    compact(dir.path(), &CompactOptions::default()).unwrap();
    // The state of a compaction that died after renaming its file in, before the deletions.
    for (p, bytes) in sources.iter().zip(&saved) {
        std::fs::write(p, bytes).unwrap();
    }
    assert_eq!(parquet_files(dir.path()).unwrap().len(), sources.len() + 1);
    let ids = job_ids(dir.path());
    assert_eq!(ids.len(), 50, "every row once while both copies exist");
    // The next compaction finishes the job.
    let r = compact(dir.path(), &CompactOptions::default()).unwrap();
    assert_eq!(r.leftovers_removed, sources.len());
    assert_eq!(parquet_files(dir.path()).unwrap().len(), 1);
    assert_eq!(job_ids(dir.path()).len(), 50);
}

#[test]
fn readers_during_compaction_never_see_a_row_twice_or_miss_one() {
    let dir = tempfile::tempdir().unwrap();
    let base = record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON);
    const ROUNDS: u64 = 25;
    let written = std::sync::atomic::AtomicU64::new(0);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for round in 0..ROUNDS {
                write_rows(dir.path(), &base, round * 20, 20, 4);
                written.store((round + 1) * 20, std::sync::atomic::Ordering::SeqCst);
                compact(dir.path(), &CompactOptions::default()).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        s.spawn(|| {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) || reads == 0 {
                let on_disk = written.load(std::sync::atomic::Ordering::SeqCst);
                let mut ids = job_ids(dir.path());
                let n = ids.len();
                ids.sort();
                ids.dedup();
                assert_eq!(ids.len(), n, "a row was read twice");
                assert!(
                    n as u64 >= on_disk,
                    "{n} rows read, {on_disk} were on disk before"
                );
                reads += 1;
            }
        });
    });
    assert_eq!(job_ids(dir.path()).len() as u64, ROUNDS * 20);
}

#[test]
fn compaction_leaves_unreadable_files_alone_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let base = record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON);
    write_rows(dir.path(), &base, 0, 20, 5);
    let garbage = dir.path().join("date=2026-11-23/part-garbage.parquet");
    std::fs::write(&garbage, b"not parquet").unwrap();
    let r = compact(dir.path(), &CompactOptions::default()).unwrap();
    assert_eq!(r.merged_files, 4);
    assert_eq!(r.bad_files.len(), 1);
    assert_eq!(r.bad_files[0].0, garbage);
    assert!(garbage.exists());
}

#[test]
fn a_new_writer_never_reuses_the_name_of_a_merged_file() {
    // Two writers of one process (the pid and host of a restarted container are often the
    // same) must not produce a name that a compacted file lists as merged: its rows would be
    // skipped as already counted, or deleted as a leftover.
    let dir = tempfile::tempdir().unwrap();
    let base = record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON);
    write_rows(dir.path(), &base, 0, 10, 5);
    compact(dir.path(), &CompactOptions::default()).unwrap();
    write_rows(dir.path(), &base, 10, 10, 5);
    assert_eq!(job_ids(dir.path()).len(), 20);
    compact(dir.path(), &CompactOptions::default()).unwrap();
    assert_eq!(job_ids(dir.path()).len(), 20);
}

#[test]
fn a_failed_write_is_reported_by_flush_and_stops_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    // The partition cannot be created: a file stands where its directory should be.
    std::fs::write(dir.path().join("date=2026-11-23"), b"in the way").unwrap();
    let w = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
    w.write(&record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON))
        .unwrap();
    let e = w.flush().unwrap_err().to_string();
    assert!(e.contains("date=2026-11-23"), "{e}");
    // The writer has stopped: later calls fail instead of losing rows silently.
    let later = w
        .write(&record(1, "mqtbench/ghz_5.qasm", Status::Ok, NOON))
        .and_then(|()| w.flush());
    assert!(later.is_err());
}

#[test]
fn a_row_that_does_not_fit_the_schema_is_refused_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let w = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
    let mut bad = record(0, "mqtbench/ghz_5.qasm", Status::Ok, NOON);
    bad.features.values.pop();
    let e = w.write(&bad).unwrap_err().to_string();
    assert!(e.contains("feature values"), "{e}");
    w.write(&record(1, "mqtbench/ghz_5.qasm", Status::Ok, NOON))
        .unwrap();
    let stats = w.close().unwrap();
    assert_eq!(stats.rows, 1);
    let report = read_dir(dir.path()).unwrap();
    assert_eq!(report.records.len(), 1);
    assert_eq!(report.records[0].job_id, "job-1");
}

#[test]
fn compacting_a_missing_directory_names_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let e = compact(&missing, &CompactOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}: No such file or directory", missing.display())),
        "{e}"
    );
    assert!(!missing.exists());
}
