//! What qroute writes is read by the user's data tools (#30, #32): Python's polars, pandas and
//! duckdb read the telemetry (the compacted reference, schema v1, and a writer's fresh,
//! partitioned output, schema v2 with typed columns) with the same rows, columns and types as
//! qroute's own reader, and a model set's meta.json.
//! polars is deliberately not a crate dependency (README, "Dependencies").

mod common;

use std::path::Path;
use std::process::Command;

use qroute::telemetry::{TelemetryWriter, WriterOptions, read_dir};

/// Runs `script` with `args`; its stdout, trimmed.
fn python(python: &str, script: &str, args: &[&Path]) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const TELEMETRY: &str = r#"
import glob, sys, polars as pl, duckdb, pandas as pd
d, version = sys.argv[1], sys.argv[2]
df = pl.scan_parquet(d + "/**/*.parquet", hive_partitioning=True).collect()
assert str(df.schema["ts"]) == "Datetime(time_unit='us', time_zone='UTC')", df.schema["ts"]
assert df.schema["wall_ms"] == pl.Float64 and df.schema["shots"] == pl.UInt64
assert "log2_sv_work" in df.columns and "tn_width" in df.columns
if version == "2":
    # Counts and flags typed as such, repeated text categorical, the host's speed recorded.
    assert df.schema["num_qubits"] == pl.UInt64, df.schema["num_qubits"]
    assert df.schema["is_clifford"] == pl.Boolean, df.schema["is_clifford"]
    assert df.schema["backend"] == pl.Categorical, df.schema["backend"]
    assert df.schema["host_calibration_ms"] == pl.Float64
else:
    assert df.schema["num_qubits"] == pl.Float64 and "host_calibration_ms" not in df.columns
n, circuits, ok = duckdb.sql(
    f"SELECT count(*), count(DISTINCT circuit_id), count(*) FILTER (WHERE status = 'ok') "
    f"FROM read_parquet('{d}/**/*.parquet', hive_partitioning = true)"
).fetchall()[0]
pdf = pd.concat([pd.read_parquet(f) for f in glob.glob(d + "/**/*.parquet", recursive=True)])
assert len(pdf) == n and (pdf["status"] == "ok").sum() == ok
print(df.height, n, circuits, ok, df["circuit_id"].n_unique(), sorted(df["feature_schema_version"].unique().to_list()))
"#;

/// polars, pandas and duckdb count the rows, circuits and successes of `dir` (telemetry of
/// schema `version`) as qroute's reader does.
fn reads_like_qroute(py: &str, dir: &Path, version: &str) {
    let rows = read_dir(dir).unwrap().records;
    let circuits: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.circuit_id.as_str()).collect();
    let ok = rows
        .iter()
        .filter(|r| r.status == qroute::telemetry::Status::Ok)
        .count();
    let (n, c) = (rows.len(), circuits.len());
    assert_eq!(
        python(py, TELEMETRY, &[dir, Path::new(version)]),
        format!("{n} {n} {c} {ok} {c} [2]")
    );
}

#[test]
fn polars_pandas_and_duckdb_read_the_reference_telemetry_as_qroute_does() {
    let Some(py) = common::dataframe_python() else {
        return;
    };
    reads_like_qroute(
        &py,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("telemetry/reference"),
        "1",
    );
}

#[test]
fn polars_pandas_and_duckdb_read_a_writers_fresh_partitions() {
    let Some(py) = common::dataframe_python() else {
        return;
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("telemetry/reference");
    let dir = tempfile::tempdir().unwrap();
    // Small batches: several files in each of the three date partitions, not compacted.
    let w = TelemetryWriter::open(
        dir.path(),
        WriterOptions {
            batch_rows: 500,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    for r in read_dir(&src).unwrap().records.iter().step_by(3) {
        w.write(r).unwrap();
    }
    let stats = w.close().unwrap();
    assert!(stats.files.len() >= 3, "{} files", stats.files.len());
    reads_like_qroute(&py, dir.path(), "2");
}

#[test]
fn polars_pandas_and_duckdb_read_a_model_sets_metadata() {
    let Some(py) = common::dataframe_python() else {
        return;
    };
    let meta = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default/meta.json");
    let script = r#"
import sys, polars as pl, duckdb
m = pl.read_json(sys.argv[1])
v, s, name = duckdb.sql(f"SELECT format_version, feature_schema_version, name FROM read_json_auto('{sys.argv[1]}')").fetchall()[0]
print(m["format_version"][0], m["feature_schema_version"][0], v, s, name, len(m["backends"][0]))
"#;
    let set = qroute::model::ModelSet::load(meta.parent().unwrap()).unwrap();
    assert_eq!(
        python(&py, script, &[&meta]),
        format!(
            "{f} {s} {f} {s} {} {}",
            set.meta.name,
            set.backends.len(),
            f = set.meta.format_version,
            s = set.meta.feature_schema_version
        )
    );
}
