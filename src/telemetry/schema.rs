//! The Arrow schema of telemetry, version 2, and conversion between records and batches;
//! version 1 batches are still read.
//!
//! Version 2 (#32, #34) types every column as what it holds: counts and flags among the
//! features as `UInt64` and `Boolean` (v1 stored every feature as `Float64`), repeated text
//! (run, backend, host, status, ...) as dictionary-encoded strings, every field described in
//! its Arrow metadata (`description`), and adds `host_calibration_ms`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder, StringDictionaryBuilder, UInt64Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float64Type, Int32Type, TimestampMicrosecondType, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, PrimitiveArray, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::record::{ExecutionRecord, Status};
use crate::features::{
    ALL_FEATURES, Domain, FEATURE_NAMES, FEATURE_SCHEMA, Features, MAX_COUNT, NUM_FEATURES_V1,
};

/// Version of the telemetry schema written; stored in each Parquet file's key-value metadata
/// under [`VERSION_KEY`].
pub const TELEMETRY_SCHEMA_VERSION: u32 = 2;

/// The versions a reader takes: this one and version 1 (every feature a `Float64`, text
/// plain, no `host_calibration_ms`).
pub const READABLE_VERSIONS: [u32; 2] = [1, TELEMETRY_SCHEMA_VERSION];

/// Key-value metadata key holding [`TELEMETRY_SCHEMA_VERSION`].
pub const VERSION_KEY: &str = "qroute.telemetry_schema_version";

/// A batch that does not hold telemetry of this version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

/// Text columns with few distinct values, stored dictionary-encoded.
pub const DICTIONARY_COLUMNS: &[&str] = &[
    "run_id",
    "source",
    "family",
    "backend",
    "backend_kind",
    "backend_version",
    "host",
    "status",
    "error_kind",
    "strategy",
    "model_version",
];

fn described(f: Field, description: &str) -> Field {
    f.with_metadata(HashMap::from([(
        "description".to_string(),
        description.to_string(),
    )]))
}

fn utf8(name: &str, nullable: bool, description: &str) -> Field {
    let t = if DICTIONARY_COLUMNS.contains(&name) {
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    } else {
        DataType::Utf8
    };
    described(Field::new(name, t, nullable), description)
}

fn f64col(name: &str, description: &str) -> Field {
    described(Field::new(name, DataType::Float64, true), description)
}

/// The Arrow type a feature's column has: counts `UInt64`, flags `Boolean`, the rest
/// `Float64` (`dense_memory_bytes` outgrows 64 bits past 59 qubits).
fn feature_type(domain: Domain) -> DataType {
    match domain {
        Domain::Count => DataType::UInt64,
        Domain::Flag => DataType::Boolean,
        Domain::Fraction | Domain::Bytes | Domain::Log2 => DataType::Float64,
    }
}

/// The Arrow schema, with the version in its metadata and a description on every field.
pub fn schema() -> Arc<Schema> {
    let mut fields = vec![
        described(
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            "when the attempt started (UTC)",
        ),
        utf8(
            "run_id",
            false,
            "the `qroute collect`/`run`/`serve`/`worker` invocation that made the attempt",
        ),
        utf8(
            "job_id",
            false,
            "the job within the run; attempts of one job share it",
        ),
        utf8(
            "circuit_id",
            false,
            "canonical circuit id (blake3 of the circuit's canonical form)",
        ),
        utf8("circuit_name", false, "file name or label of the circuit"),
        utf8(
            "source",
            true,
            "where the circuit came from (e.g. mqtbench), when known",
        ),
        utf8(
            "family",
            true,
            "the circuit's family (e.g. qft), when known",
        ),
        described(
            Field::new("feature_schema_version", DataType::UInt32, false),
            "version of the feature columns (docs/features.md)",
        ),
    ];
    fields.extend(ALL_FEATURES.iter().map(|&f| {
        described(
            Field::new(f.name(), feature_type(f.domain()), false),
            f.description(),
        )
    }));
    fields.extend([
        utf8("backend", false, "the backend's name in the configuration"),
        utf8(
            "backend_kind",
            false,
            "the backend's engine kind (statevector, mps, ...)",
        ),
        utf8(
            "backend_version",
            false,
            "engine version and details (the adapter, for the GPU)",
        ),
        utf8("host", false, "host name"),
        f64col(
            "host_calibration_ms",
            "wall time of qroute's fixed calibration workload on this host near the row's \
             time, ms (the host's speed; lower is faster); null when not measured",
        ),
        described(
            Field::new("threads", DataType::UInt32, false),
            "threads the run could use",
        ),
        described(
            Field::new("shots", DataType::UInt64, false),
            "shots sampled",
        ),
        described(
            Field::new("seed", DataType::UInt64, false),
            "seed of the run",
        ),
        f64col("timeout_ms", "wall-clock limit the attempt ran under, ms"),
        f64col(
            "wall_ms",
            "wall time of the simulation, ms; for a timeout or hedge, the time until it was \
             stopped (a censored observation)",
        ),
        f64col("cpu_ms", "CPU time of the simulation, all threads, ms"),
        described(
            Field::new("peak_mem_bytes", DataType::UInt64, true),
            "peak resident memory of the process that ran it, bytes",
        ),
        f64col(
            "cost",
            "cost under the backend's price, in the price's own unit (qroute.toml `price = { \
             per_core_second, per_shot, per_task }`, whatever money or credits those are in): \
             per_task + per_shot × shots + per_core_second × cores × wall seconds",
        ),
        utf8(
            "status",
            false,
            "ok, failed, timeout, ineligible, or hedged (given up at its hedging cutoff for \
             another backend: censored, not a failure)",
        ),
        utf8("error_kind", true, "machine-readable error kind"),
        utf8("error_message", true, "the error's message"),
        f64col(
            "fidelity_estimate",
            "1 when exact; a lower bound for an approximate backend",
        ),
        f64col(
            "queue_wait_ms",
            "time the job waited before this attempt, ms",
        ),
        utf8("strategy", true, "routing strategy that chose the backend"),
        f64col("predicted_ms", "the router's predicted wall time, ms"),
        f64col("predicted_cost", "the router's predicted cost"),
        utf8(
            "model_version",
            true,
            "model set that predicted (name:checksum)",
        ),
    ]);
    let meta = HashMap::from([(
        VERSION_KEY.to_string(),
        TELEMETRY_SCHEMA_VERSION.to_string(),
    )]);
    Arc::new(Schema::new(fields).with_metadata(meta))
}

/// A dictionary-encoded text column.
type Dict = StringDictionaryBuilder<Int32Type>;

/// Rows appended one at a time into Arrow builders, in schema order; [`finish`] makes the
/// batch. The writer appends each row as it arrives, so a batch is ready when its last row is.
///
/// [`finish`]: BatchBuilder::finish
pub struct BatchBuilder {
    capacity: usize,
    rows: usize,
    ts: Vec<i64>,
    run_id: Dict,
    job_id: StringBuilder,
    circuit_id: StringBuilder,
    circuit_name: StringBuilder,
    source: Dict,
    family: Dict,
    feature_version: Vec<u32>,
    features: Vec<Vec<f64>>,
    backend: Dict,
    backend_kind: Dict,
    backend_version: Dict,
    host: Dict,
    host_calibration_ms: Float64Builder,
    threads: Vec<u32>,
    shots: Vec<u64>,
    seed: Vec<u64>,
    timeout_ms: Float64Builder,
    wall_ms: Float64Builder,
    cpu_ms: Float64Builder,
    peak_mem_bytes: UInt64Builder,
    cost: Float64Builder,
    status: Dict,
    error_kind: Dict,
    error_message: StringBuilder,
    fidelity_estimate: Float64Builder,
    queue_wait_ms: Float64Builder,
    strategy: Dict,
    predicted_ms: Float64Builder,
    predicted_cost: Float64Builder,
    model_version: Dict,
}

impl std::fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("capacity", &self.capacity)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl BatchBuilder {
    /// An empty builder sized for `rows` rows.
    pub fn with_capacity(rows: usize) -> BatchBuilder {
        // Ids and names are a few dozen bytes; optional text is usually absent.
        let text = |bytes: usize| StringBuilder::with_capacity(rows, rows * bytes);
        // A run has a few distinct values of each: one run, a dozen backends, six statuses.
        let dict = |bytes: usize| Dict::with_capacity(rows, 16, 16 * bytes);
        let float = || Float64Builder::with_capacity(rows);
        BatchBuilder {
            capacity: rows,
            rows: 0,
            ts: Vec::with_capacity(rows),
            run_id: dict(40),
            job_id: text(48),
            circuit_id: text(32),
            circuit_name: text(48),
            source: dict(16),
            family: dict(16),
            feature_version: Vec::with_capacity(rows),
            features: (0..FEATURE_NAMES.len())
                .map(|_| Vec::with_capacity(rows))
                .collect(),
            backend: dict(16),
            backend_kind: dict(16),
            backend_version: dict(16),
            host: dict(16),
            host_calibration_ms: float(),
            threads: Vec::with_capacity(rows),
            shots: Vec::with_capacity(rows),
            seed: Vec::with_capacity(rows),
            timeout_ms: float(),
            wall_ms: float(),
            cpu_ms: float(),
            peak_mem_bytes: UInt64Builder::with_capacity(rows),
            cost: float(),
            status: dict(16),
            error_kind: dict(16),
            error_message: text(0),
            fidelity_estimate: float(),
            queue_wait_ms: float(),
            strategy: dict(16),
            predicted_ms: float(),
            predicted_cost: float(),
            model_version: dict(16),
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
        // Counts and flags are stored as integers and booleans: a value that is not one is
        // refused before anything of the row is kept.
        for (&f, &v) in ALL_FEATURES.iter().zip(&r.features.values) {
            let fits = match f.domain() {
                Domain::Count => (0.0..=MAX_COUNT).contains(&v) && v.fract() == 0.0,
                Domain::Flag => v == 0.0 || v == 1.0,
                Domain::Fraction | Domain::Bytes | Domain::Log2 => !v.is_nan(),
            };
            if !fits {
                return Err(SchemaError(format!(
                    "job {}: feature {} = {v} is not a {}",
                    r.job_id,
                    f.name(),
                    match f.domain() {
                        Domain::Count => "whole number from 0 to 2^53",
                        Domain::Flag => "flag (0 or 1)",
                        _ => "number",
                    }
                )));
            }
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
        self.host_calibration_ms
            .append_option(r.host_calibration_ms);
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
        fn dict(mut b: Dict) -> ArrayRef {
            Arc::new(b.finish())
        }
        fn float(mut b: Float64Builder) -> ArrayRef {
            Arc::new(b.finish())
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(TimestampMicrosecondArray::from(self.ts).with_timezone("UTC")),
            dict(self.run_id),
            text(self.job_id),
            text(self.circuit_id),
            text(self.circuit_name),
            dict(self.source),
            dict(self.family),
            Arc::new(UInt32Array::from(self.feature_version)),
        ];
        cols.extend(
            ALL_FEATURES
                .iter()
                .zip(self.features)
                .map(|(f, v)| -> ArrayRef {
                    match f.domain() {
                        // Whole numbers up to 2^53 (checked in `append`): exact as u64.
                        Domain::Count => Arc::new(UInt64Array::from_iter_values(
                            v.into_iter().map(|x| x as u64),
                        )),
                        Domain::Flag => Arc::new(BooleanArray::from_iter(
                            v.into_iter().map(|x| Some(x == 1.0)),
                        )),
                        Domain::Fraction | Domain::Bytes | Domain::Log2 => {
                            Arc::new(Float64Array::from(v))
                        }
                    }
                }),
        );
        let mut peak = self.peak_mem_bytes;
        cols.extend([
            dict(self.backend),
            dict(self.backend_kind),
            dict(self.backend_version),
            dict(self.host),
            float(self.host_calibration_ms),
            Arc::new(UInt32Array::from(self.threads)) as ArrayRef,
            Arc::new(UInt64Array::from(self.shots)),
            Arc::new(UInt64Array::from(self.seed)),
            float(self.timeout_ms),
            float(self.wall_ms),
            float(self.cpu_ms),
            Arc::new(peak.finish()),
            float(self.cost),
            dict(self.status),
            dict(self.error_kind),
            text(self.error_message),
            float(self.fidelity_estimate),
            float(self.queue_wait_ms),
            dict(self.strategy),
            float(self.predicted_ms),
            float(self.predicted_cost),
            dict(self.model_version),
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

/// A text column, looked up once per batch: plain (v1, and the unique columns of v2) or
/// dictionary-encoded (v2).
enum Text<'a> {
    Plain(&'static str, &'a StringArray),
    Dict(
        &'static str,
        &'a arrow_array::DictionaryArray<Int32Type>,
        &'a StringArray,
    ),
}

impl<'a> Text<'a> {
    fn of(b: &'a RecordBatch, name: &'static str) -> Result<Text<'a>, SchemaError> {
        let c = col(b, name)?;
        if let Some(a) = c.as_string_opt::<i32>() {
            return Ok(Text::Plain(name, a));
        }
        if let Some(d) = c.as_dictionary_opt::<Int32Type>()
            && let Some(values) = d.values().as_string_opt::<i32>()
        {
            return Ok(Text::Dict(name, d, values));
        }
        Err(SchemaError(format!("column `{name}` is not a string")))
    }
    fn get(&self, i: usize) -> Option<String> {
        match self {
            Text::Plain(_, a) => (!a.is_null(i)).then(|| a.value(i).to_string()),
            Text::Dict(_, d, values) => (!d.is_null(i))
                .then(|| d.keys().value(i))
                .and_then(|k| usize::try_from(k).ok())
                .filter(|&k| k < values.len())
                .map(|k| values.value(k).to_string()),
        }
    }
    fn req(&self, i: usize) -> Result<String, SchemaError> {
        let name = match self {
            Text::Plain(n, _) | Text::Dict(n, _, _) => n,
        };
        self.get(i)
            .ok_or_else(|| SchemaError(format!("column `{name}` is null in row {i}")))
    }
}

/// A feature column: `Float64` (v1 and v2's measures), `UInt64` (v2's counts) or `Boolean`
/// (v2's flags), read as the `f64` the feature vector holds.
enum FeatureColumn<'a> {
    Float(&'a Float64Array),
    Count(&'a UInt64Array),
    Flag(&'a BooleanArray),
}

impl<'a> FeatureColumn<'a> {
    fn of(b: &'a RecordBatch, name: &str) -> Result<FeatureColumn<'a>, SchemaError> {
        let c = col(b, name)?;
        if let Some(a) = c.as_primitive_opt::<Float64Type>() {
            Ok(FeatureColumn::Float(a))
        } else if let Some(a) = c.as_primitive_opt::<UInt64Type>() {
            Ok(FeatureColumn::Count(a))
        } else if let Some(a) = c.as_boolean_opt() {
            Ok(FeatureColumn::Flag(a))
        } else {
            Err(SchemaError(format!(
                "feature column `{name}` is {}, not a number",
                c.data_type()
            )))
        }
    }
    fn get(&self, i: usize) -> f64 {
        match self {
            FeatureColumn::Float(a) => opt(*a, i).unwrap_or(f64::NAN),
            FeatureColumn::Count(a) => opt(*a, i).map_or(f64::NAN, |v| v as f64),
            FeatureColumn::Flag(a) => {
                if a.is_null(i) {
                    f64::NAN
                } else {
                    f64::from(u8::from(a.value(i)))
                }
            }
        }
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
        .map(|n| FeatureColumn::of(b, n))
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
    // Version 2 and later; a v1 file has none (not measured).
    let host_calibration_ms = match b.schema().index_of("host_calibration_ms") {
        Ok(_) => Some(f64s("host_calibration_ms")?),
        Err(_) => None,
    };
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
        let values = features.iter().map(|a| a.get(i)).collect();
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
            host_calibration_ms: host_calibration_ms.and_then(|a| opt(a, i)),
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
