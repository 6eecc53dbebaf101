//! The Arrow schema of telemetry, version 1, and conversion between records and batches.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float64Type, TimestampMicrosecondType, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::record::{ExecutionRecord, Status};
use crate::features::{FEATURE_NAMES, FEATURE_SCHEMA, Features};

/// Version of the telemetry schema; stored in each Parquet file's key-value metadata under
/// [`VERSION_KEY`].
pub const TELEMETRY_SCHEMA_VERSION: u32 = 1;

/// Key-value metadata key holding [`TELEMETRY_SCHEMA_VERSION`].
pub const VERSION_KEY: &str = "qroute.telemetry_schema_version";

/// A batch that does not hold telemetry of this version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn f64col(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}

/// The Arrow schema, with the version in its metadata.
pub fn schema() -> Arc<Schema> {
    let mut fields = vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        utf8("run_id", false),
        utf8("job_id", false),
        utf8("circuit_id", false),
        utf8("circuit_name", false),
        utf8("source", true),
        utf8("family", true),
        Field::new("feature_schema_version", DataType::UInt32, false),
    ];
    fields.extend(
        FEATURE_NAMES
            .iter()
            .map(|n| Field::new(*n, DataType::Float64, false)),
    );
    fields.extend([
        utf8("backend", false),
        utf8("backend_kind", false),
        utf8("backend_version", false),
        utf8("host", false),
        Field::new("threads", DataType::UInt32, false),
        Field::new("shots", DataType::UInt64, false),
        Field::new("seed", DataType::UInt64, false),
        f64col("timeout_ms"),
        f64col("wall_ms"),
        f64col("cpu_ms"),
        Field::new("peak_mem_bytes", DataType::UInt64, true),
        f64col("cost"),
        utf8("status", false),
        utf8("error_kind", true),
        utf8("error_message", true),
        f64col("fidelity_estimate"),
        f64col("queue_wait_ms"),
        utf8("strategy", true),
        f64col("predicted_ms"),
        f64col("predicted_cost"),
        utf8("model_version", true),
    ]);
    let meta = HashMap::from([(
        VERSION_KEY.to_string(),
        TELEMETRY_SCHEMA_VERSION.to_string(),
    )]);
    Arc::new(Schema::new(fields).with_metadata(meta))
}

fn strings<'a>(
    rs: &'a [ExecutionRecord],
    f: impl Fn(&'a ExecutionRecord) -> Option<&'a str>,
) -> ArrayRef {
    Arc::new(rs.iter().map(f).collect::<StringArray>())
}

fn floats(rs: &[ExecutionRecord], f: impl Fn(&ExecutionRecord) -> Option<f64>) -> ArrayRef {
    Arc::new(rs.iter().map(f).collect::<Float64Array>())
}

/// Records as one batch.
pub fn to_batch(rs: &[ExecutionRecord]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(
            rs.iter()
                .map(|r| Some(r.ts_us))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        strings(rs, |r| Some(&r.run_id)),
        strings(rs, |r| Some(&r.job_id)),
        strings(rs, |r| Some(&r.circuit_id)),
        strings(rs, |r| Some(&r.circuit_name)),
        strings(rs, |r| r.source.as_deref()),
        strings(rs, |r| r.family.as_deref()),
        Arc::new(
            rs.iter()
                .map(|r| Some(r.features.schema_version))
                .collect::<UInt32Array>(),
        ),
    ];
    // One pass over the rows for all feature columns: each row's values are contiguous.
    let mut features: Vec<Vec<f64>> = (0..FEATURE_NAMES.len())
        .map(|_| Vec::with_capacity(rs.len()))
        .collect();
    for r in rs {
        if r.features.values.len() != FEATURE_NAMES.len() {
            return Err(arrow_schema::ArrowError::InvalidArgumentError(format!(
                "job {}: {} feature values, the feature schema has {}",
                r.job_id,
                r.features.values.len(),
                FEATURE_NAMES.len()
            )));
        }
        for (col, v) in features.iter_mut().zip(&r.features.values) {
            col.push(*v);
        }
    }
    cols.extend(
        features
            .into_iter()
            .map(|v| Arc::new(Float64Array::from(v)) as ArrayRef),
    );
    cols.extend([
        strings(rs, |r| Some(&r.backend)),
        strings(rs, |r| Some(&r.backend_kind)),
        strings(rs, |r| Some(&r.backend_version)),
        strings(rs, |r| Some(&r.host)),
        Arc::new(rs.iter().map(|r| Some(r.threads)).collect::<UInt32Array>()) as ArrayRef,
        Arc::new(rs.iter().map(|r| Some(r.shots)).collect::<UInt64Array>()),
        Arc::new(rs.iter().map(|r| Some(r.seed)).collect::<UInt64Array>()),
        floats(rs, |r| r.timeout_ms),
        floats(rs, |r| r.wall_ms),
        floats(rs, |r| r.cpu_ms),
        Arc::new(rs.iter().map(|r| r.peak_mem_bytes).collect::<UInt64Array>()),
        floats(rs, |r| r.cost),
        strings(rs, |r| Some(r.status.as_str())),
        strings(rs, |r| r.error_kind.as_deref()),
        strings(rs, |r| r.error_message.as_deref()),
        floats(rs, |r| r.fidelity_estimate),
        floats(rs, |r| r.queue_wait_ms),
        strings(rs, |r| r.strategy.as_deref()),
        floats(rs, |r| r.predicted_ms),
        floats(rs, |r| r.predicted_cost),
        strings(rs, |r| r.model_version.as_deref()),
    ]);
    RecordBatch::try_new(schema(), cols)
}

struct Cols<'a>(&'a RecordBatch);

impl<'a> Cols<'a> {
    fn col(&self, name: &str) -> Result<&'a ArrayRef, SchemaError> {
        self.0
            .column_by_name(name)
            .ok_or_else(|| SchemaError(format!("missing column `{name}`")))
    }
    fn str(&self, name: &str, i: usize) -> Result<Option<String>, SchemaError> {
        let c = self.col(name)?;
        let a = c
            .as_string_opt::<i32>()
            .ok_or_else(|| SchemaError(format!("column `{name}` is not a string")))?;
        Ok((!a.is_null(i)).then(|| a.value(i).to_string()))
    }
    fn req_str(&self, name: &str, i: usize) -> Result<String, SchemaError> {
        self.str(name, i)?
            .ok_or_else(|| SchemaError(format!("column `{name}` is null in row {i}")))
    }
    fn prim<T: ArrowPrimitiveType>(
        &self,
        name: &str,
        i: usize,
    ) -> Result<Option<T::Native>, SchemaError> {
        let a = self
            .col(name)?
            .as_primitive_opt::<T>()
            .ok_or_else(|| SchemaError(format!("column `{name}` is not {}", T::DATA_TYPE)))?;
        Ok((!a.is_null(i)).then(|| a.value(i)))
    }
    fn f64(&self, name: &str, i: usize) -> Result<Option<f64>, SchemaError> {
        self.prim::<Float64Type>(name, i)
    }
    fn u64(&self, name: &str, i: usize) -> Result<Option<u64>, SchemaError> {
        self.prim::<UInt64Type>(name, i)
    }
    fn u32(&self, name: &str, i: usize) -> Result<u32, SchemaError> {
        self.prim::<UInt32Type>(name, i)?
            .ok_or_else(|| SchemaError(format!("column `{name}` is null in row {i}")))
    }
}

/// Rows of a batch as records. Fails (naming the column) when the batch is not telemetry of
/// this schema version.
pub fn from_batch(b: &RecordBatch) -> Result<Vec<ExecutionRecord>, SchemaError> {
    let c = Cols(b);
    let ts = c
        .col("ts")?
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| SchemaError("column `ts` is not a microsecond timestamp".into()))?;
    let mut out = Vec::with_capacity(b.num_rows());
    for i in 0..b.num_rows() {
        let version = c.u32("feature_schema_version", i)?;
        FEATURE_SCHEMA
            .check_version(version)
            .map_err(|e| SchemaError(e.to_string()))?;
        let mut values = Vec::with_capacity(FEATURE_NAMES.len());
        for n in FEATURE_NAMES {
            values.push(c.f64(n, i)?.unwrap_or(f64::NAN));
        }
        let status = c.req_str("status", i)?;
        out.push(ExecutionRecord {
            ts_us: ts.value(i),
            run_id: c.req_str("run_id", i)?,
            job_id: c.req_str("job_id", i)?,
            circuit_id: c.req_str("circuit_id", i)?,
            circuit_name: c.req_str("circuit_name", i)?,
            source: c.str("source", i)?,
            family: c.str("family", i)?,
            features: Features {
                schema_version: version,
                values,
            },
            backend: c.req_str("backend", i)?,
            backend_kind: c.req_str("backend_kind", i)?,
            backend_version: c.req_str("backend_version", i)?,
            host: c.req_str("host", i)?,
            threads: c.u32("threads", i)?,
            shots: c.u64("shots", i)?.unwrap_or(0),
            seed: c.u64("seed", i)?.unwrap_or(0),
            timeout_ms: c.f64("timeout_ms", i)?,
            wall_ms: c.f64("wall_ms", i)?,
            cpu_ms: c.f64("cpu_ms", i)?,
            peak_mem_bytes: c.u64("peak_mem_bytes", i)?,
            cost: c.f64("cost", i)?,
            status: Status::parse(&status)
                .ok_or_else(|| SchemaError(format!("unknown status `{status}` in row {i}")))?,
            error_kind: c.str("error_kind", i)?,
            error_message: c.str("error_message", i)?,
            fidelity_estimate: c.f64("fidelity_estimate", i)?,
            queue_wait_ms: c.f64("queue_wait_ms", i)?,
            strategy: c.str("strategy", i)?,
            predicted_ms: c.f64("predicted_ms", i)?,
            predicted_cost: c.f64("predicted_cost", i)?,
            model_version: c.str("model_version", i)?,
        });
    }
    Ok(out)
}
