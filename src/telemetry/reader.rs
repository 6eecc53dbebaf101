//! Reading a telemetry directory tree: every complete Parquet file of this schema version;
//! files that cannot be read are named, not fatal.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::TelemetryError;
use super::record::ExecutionRecord;
use super::schema::{TELEMETRY_SCHEMA_VERSION, VERSION_KEY, from_batch};

/// What a read found.
#[derive(Debug, Clone, Default)]
pub struct ReadReport {
    /// Every row of every readable file, in file order.
    pub records: Vec<ExecutionRecord>,
    /// Files read.
    pub files: Vec<PathBuf>,
    /// Files skipped, and why.
    pub bad_files: Vec<(PathBuf, String)>,
}

/// Every `*.parquet` under `dir` (recursively, sorted; temporary `.…tmp` files skipped).
pub fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>, TelemetryError> {
    let mut out = Vec::new();
    walk(dir, &mut out).map_err(|e| TelemetryError::io(dir, e))?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if p.is_dir() {
            walk(&p, out)?;
        } else if !hidden && p.extension().is_some_and(|e| e == "parquet") {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads one file, checking its schema version.
pub fn read_file(path: &Path) -> Result<Vec<ExecutionRecord>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
    let version = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == VERSION_KEY))
        .and_then(|k| k.value.clone());
    match version.as_deref() {
        Some(v) if v == TELEMETRY_SCHEMA_VERSION.to_string() => {}
        Some(v) => {
            return Err(format!(
                "telemetry schema version {v}, this qroute reads version {TELEMETRY_SCHEMA_VERSION}"
            ));
        }
        None => {
            return Err(format!(
                "no `{VERSION_KEY}` in the file's metadata: not qroute telemetry"
            ));
        }
    }
    let reader = builder.build().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        out.extend(from_batch(&batch).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Reads every file under `dir`.
pub fn read_dir(dir: &Path) -> Result<ReadReport, TelemetryError> {
    let mut report = ReadReport::default();
    for f in parquet_files(dir)? {
        match read_file(&f) {
            Ok(rows) => {
                report.records.extend(rows);
                report.files.push(f);
            }
            Err(why) => report.bad_files.push((f, why)),
        }
    }
    Ok(report)
}
