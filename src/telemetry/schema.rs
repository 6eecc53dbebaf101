//! The Arrow schema of telemetry, version 1, and conversion between records and batches.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder, UInt64Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float64Type, TimestampMicrosecondType, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, Float64Array, PrimitiveArray, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::record::{ExecutionRecord, Status};
use crate::features::{FEATURE_NAMES, FEATURE_SCHEMA, Features, NUM_FEATURES_V1};

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

/// Rows appended one at a time into Arrow builders, in schema order; [`finish`] makes the
/// batch. The writer appends each row as it arrives, so a batch is ready when its last row is.
///
/// [`finish`]: BatchBuilder::finish
#[derive(Debug)]
pub struct BatchBuilder {
    capacity: usize,
    rows: usize,
    ts: Vec<i64>,
    run_id: StringBuilder,
    job_id: StringBuilder,
    circuit_id: StringBuilder,
    circuit_name: StringBuilder,
    source: StringBuilder,
    family: StringBuilder,
    feature_version: Vec<u32>,
    features: Vec<Vec<f64>>,
    backend: StringBuilder,
    backend_kind: StringBuilder,
    backend_version: StringBuilder,
    host: StringBuilder,
    threads: Vec<u32>,
    shots: Vec<u64>,
    seed: Vec<u64>,
    timeout_ms: Float64Builder,
    wall_ms: Float64Builder,
    cpu_ms: Float64Builder,
    peak_mem_bytes: UInt64Builder,
    cost: Float64Builder,
    status: StringBuilder,
    error_kind: StringBuilder,
    error_message: StringBuilder,
    fidelity_estimate: Float64Builder,
    queue_wait_ms: Float64Builder,
    strategy: StringBuilder,
    predicted_ms: Float64Builder,
    predicted_cost: Float64Builder,
    model_version: StringBuilder,
}

impl BatchBuilder {
    /// An empty builder sized for `rows` rows.
    pub fn with_capacity(rows: usize) -> BatchBuilder {
        // Ids and names are a few dozen bytes; optional text is usually absent.
        let text = |bytes: usize| StringBuilder::with_capacity(rows, rows * bytes);
        let float = || Float64Builder::with_capacity(rows);
        BatchBuilder {
            capacity: rows,
            rows: 0,
            ts: Vec::with_capacity(rows),
            run_id: text(40),
            job_id: text(48),
            circuit_id: text(32),
            circuit_name: text(48),
            source: text(16),
            family: text(16),
            feature_version: Vec::with_capacity(rows),
            features: (0..FEATURE_NAMES.len())
                .map(|_| Vec::with_capacity(rows))
                .collect(),
            backend: text(16),
            backend_kind: text(16),
            backend_version: text(16),
            host: text(16),
            threads: Vec::with_capacity(rows),
            shots: Vec::with_capacity(rows),
            seed: Vec::with_capacity(rows),
            timeout_ms: float(),
            wall_ms: float(),
            cpu_ms: float(),
            peak_mem_bytes: UInt64Builder::with_capacity(rows),
            cost: float(),
            status: text(8),
            error_kind: text(0),
            error_message: text(0),
            fidelity_estimate: float(),
            queue_wait_ms: float(),
            strategy: text(0),
            predicted_ms: float(),
            predicted_cost: float(),
            model_version: text(0),
        }
    }

    /// Rows appended since the last [`finish`](BatchBuilder::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was appended since the last [`finish`](BatchBuilder::finish).
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row; a row that does not fit the schema is refused and nothing of it is
    /// kept.
    pub fn append(&mut self, r: &ExecutionRecord) -> Result<(), SchemaError> {
        if r.features.values.len() != FEATURE_NAMES.len() {
            return Err(SchemaError(format!(
                "job {}: {} feature values, the feature schema has {}",
                r.job_id,
                r.features.values.len(),
                FEATURE_NAMES.len()
            )));
        }
        self.rows += 1;
        self.ts.push(r.ts_us);
        self.run_id.append_value(&r.run_id);
        self.job_id.append_value(&r.job_id);
        self.circuit_id.append_value(&r.circuit_id);
        self.circuit_name.append_value(&r.circuit_name);
        self.source.append_option(r.source.as_deref());
        self.family.append_option(r.family.as_deref());
        self.feature_version.push(r.features.schema_version);
        for (col, v) in self.features.iter_mut().zip(&r.features.values) {
            col.push(*v);
        }
        self.backend.append_value(&r.backend);
        self.backend_kind.append_value(&r.backend_kind);
        self.backend_version.append_value(&r.backend_version);
        self.host.append_value(&r.host);
        self.threads.push(r.threads);
        self.shots.push(r.shots);
        self.seed.push(r.seed);
        self.timeout_ms.append_option(r.timeout_ms);
        self.wall_ms.append_option(r.wall_ms);
        self.cpu_ms.append_option(r.cpu_ms);
        self.peak_mem_bytes.append_option(r.peak_mem_bytes);
        self.cost.append_option(r.cost);
        self.status.append_value(r.status.as_str());
        self.error_kind.append_option(r.error_kind.as_deref());
        self.error_message.append_option(r.error_message.as_deref());
        self.fidelity_estimate.append_option(r.fidelity_estimate);
        self.queue_wait_ms.append_option(r.queue_wait_ms);
        self.strategy.append_option(r.strategy.as_deref());
        self.predicted_ms.append_option(r.predicted_ms);
        self.predicted_cost.append_option(r.predicted_cost);
        self.model_version.append_option(r.model_version.as_deref());
        Ok(())
    }

    /// The rows appended so far as a batch; the builder starts again empty, with the same
    /// capacity.
    ///
    /// Fails only when the columns disagree, which `append` never leaves them in (a thread
    /// that panicked halfway through an append could).
    pub fn finish(&mut self) -> Result<RecordBatch, SchemaError> {
        let b = std::mem::replace(self, BatchBuilder::with_capacity(self.capacity));
        b.into_batch()
    }

    fn into_batch(self) -> Result<RecordBatch, SchemaError> {
        fn text(mut b: StringBuilder) -> ArrayRef {
            Arc::new(b.finish())
        }
        fn float(mut b: Float64Builder) -> ArrayRef {
            Arc::new(b.finish())
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(TimestampMicrosecondArray::from(self.ts).with_timezone("UTC")),
            text(self.run_id),
            text(self.job_id),
            text(self.circuit_id),
            text(self.circuit_name),
            text(self.source),
            text(self.family),
            Arc::new(UInt32Array::from(self.feature_version)),
        ];
        cols.extend(
            self.features
                .into_iter()
                .map(|v| Arc::new(Float64Array::from(v)) as ArrayRef),
        );
        let mut peak = self.peak_mem_bytes;
        cols.extend([
            text(self.backend),
            text(self.backend_kind),
            text(self.backend_version),
            text(self.host),
            Arc::new(UInt32Array::from(self.threads)) as ArrayRef,
            Arc::new(UInt64Array::from(self.shots)),
            Arc::new(UInt64Array::from(self.seed)),
            float(self.timeout_ms),
            float(self.wall_ms),
            float(self.cpu_ms),
            Arc::new(peak.finish()),
            float(self.cost),
            text(self.status),
            text(self.error_kind),
            text(self.error_message),
            float(self.fidelity_estimate),
            float(self.queue_wait_ms),
            text(self.strategy),
            float(self.predicted_ms),
            float(self.predicted_cost),
            text(self.model_version),
        ]);
        RecordBatch::try_new(schema(), cols).map_err(|e| SchemaError(e.to_string()))
    }
}

/// Records as one batch.
pub fn to_batch(rs: &[ExecutionRecord]) -> Result<RecordBatch, SchemaError> {
    let mut b = BatchBuilder::with_capacity(rs.len());
    for r in rs {
        b.append(r)?;
    }
    b.into_batch()
}

fn col<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, SchemaError> {
    b.column_by_name(name)
        .ok_or_else(|| SchemaError(format!("missing column `{name}`")))
}

/// A text column, looked up once per batch.
struct Text<'a> {
    name: &'static str,
    a: &'a StringArray,
}

impl<'a> Text<'a> {
    fn of(b: &'a RecordBatch, name: &'static str) -> Result<Text<'a>, SchemaError> {
        let a = col(b, name)?
            .as_string_opt::<i32>()
            .ok_or_else(|| SchemaError(format!("column `{name}` is not a string")))?;
        Ok(Text { name, a })
    }
    fn get(&self, i: usize) -> Option<String> {
        (!self.a.is_null(i)).then(|| self.a.value(i).to_string())
    }
    fn req(&self, i: usize) -> Result<String, SchemaError> {
        self.get(i)
            .ok_or_else(|| SchemaError(format!("column `{}` is null in row {i}", self.name)))
    }
}

/// A primitive column, looked up once per batch.
fn prim<'a, T: ArrowPrimitiveType>(
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a PrimitiveArray<T>, SchemaError> {
    col(b, name)?
        .as_primitive_opt::<T>()
        .ok_or_else(|| SchemaError(format!("column `{name}` is not {}", T::DATA_TYPE)))
}

fn opt<T: ArrowPrimitiveType>(a: &PrimitiveArray<T>, i: usize) -> Option<T::Native> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// Rows of a batch as records. Fails (naming the column) when the batch is not telemetry of
/// this schema version.
pub fn from_batch(b: &RecordBatch) -> Result<Vec<ExecutionRecord>, SchemaError> {
    let ts = col(b, "ts")?
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| SchemaError("column `ts` is not a microsecond timestamp".into()))?;
    let versions = prim::<UInt32Type>(b, "feature_schema_version")?;
    // A file written with feature schema v1 has only the first v1 columns (v2 appended the
    // work estimates); its rows keep version 1 and are refused by a v2 model with a clear
    // message (`qroute telemetry upgrade` recomputes them from the circuit files).
    let v1_only = b.schema().index_of(FEATURE_NAMES[NUM_FEATURES_V1]).is_err();
    let features = FEATURE_NAMES[..if v1_only {
        NUM_FEATURES_V1
    } else {
        FEATURE_NAMES.len()
    }]
        .iter()
        .map(|n| prim::<Float64Type>(b, n))
        .collect::<Result<Vec<_>, _>>()?;
    let text = |name| Text::of(b, name);
    let (run_id, job_id, circuit_id, circuit_name) = (
        text("run_id")?,
        text("job_id")?,
        text("circuit_id")?,
        text("circuit_name")?,
    );
    let (source, family, status, error_kind, error_message) = (
        text("source")?,
        text("family")?,
        text("status")?,
        text("error_kind")?,
        text("error_message")?,
    );
    let (backend, backend_kind, backend_version, host) = (
        text("backend")?,
        text("backend_kind")?,
        text("backend_version")?,
        text("host")?,
    );
    let (strategy, model_version) = (text("strategy")?, text("model_version")?);
    let threads = prim::<UInt32Type>(b, "threads")?;
    let (shots, seed, peak_mem_bytes) = (
        prim::<UInt64Type>(b, "shots")?,
        prim::<UInt64Type>(b, "seed")?,
        prim::<UInt64Type>(b, "peak_mem_bytes")?,
    );
    let f64s = |name| prim::<Float64Type>(b, name);
    let (timeout_ms, wall_ms, cpu_ms, cost) = (
        f64s("timeout_ms")?,
        f64s("wall_ms")?,
        f64s("cpu_ms")?,
        f64s("cost")?,
    );
    let (fidelity_estimate, queue_wait_ms, predicted_ms, predicted_cost) = (
        f64s("fidelity_estimate")?,
        f64s("queue_wait_ms")?,
        f64s("predicted_ms")?,
        f64s("predicted_cost")?,
    );
    let required = |a: &UInt32Array, name: &str, i: usize| {
        opt(a, i).ok_or_else(|| SchemaError(format!("column `{name}` is null in row {i}")))
    };
    let mut out = Vec::with_capacity(b.num_rows());
    for i in 0..b.num_rows() {
        let version = required(versions, "feature_schema_version", i)?;
        let expected = if v1_only { 1 } else { FEATURE_SCHEMA.version };
        if version != expected {
            return Err(SchemaError(format!(
                "row {i} says feature schema {version}, but the file has the columns of {expected}"
            )));
        }
        let values = features
            .iter()
            .map(|a| opt(a, i).unwrap_or(f64::NAN))
            .collect();
        let status = status.req(i)?;
        out.push(ExecutionRecord {
            ts_us: ts.value(i),
            run_id: run_id.req(i)?,
            job_id: job_id.req(i)?,
            circuit_id: circuit_id.req(i)?,
            circuit_name: circuit_name.req(i)?,
            source: source.get(i),
            family: family.get(i),
            features: Features {
                schema_version: version,
                values,
            },
            backend: backend.req(i)?,
            backend_kind: backend_kind.req(i)?,
            backend_version: backend_version.req(i)?,
            host: host.req(i)?,
            threads: required(threads, "threads", i)?,
            shots: opt(shots, i).unwrap_or(0),
            seed: opt(seed, i).unwrap_or(0),
            timeout_ms: opt(timeout_ms, i),
            wall_ms: opt(wall_ms, i),
            cpu_ms: opt(cpu_ms, i),
            peak_mem_bytes: opt(peak_mem_bytes, i),
            cost: opt(cost, i),
            status: Status::parse(&status)
                .ok_or_else(|| SchemaError(format!("unknown status `{status}` in row {i}")))?,
            error_kind: error_kind.get(i),
            error_message: error_message.get(i),
            fidelity_estimate: opt(fidelity_estimate, i),
            queue_wait_ms: opt(queue_wait_ms, i),
            strategy: strategy.get(i),
            predicted_ms: opt(predicted_ms, i),
            predicted_cost: opt(predicted_cost, i),
            model_version: model_version.get(i),
        });
    }
    Ok(out)
}
