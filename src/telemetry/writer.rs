//! The Parquet writer: buffered, flushed by row count or interval, crash-safe.
//!
//! `write` copies the row into the Arrow column builders of its date under a short lock, on the
//! caller's thread (the caller keeps its record: no per-row hand-off, allocation or free).
//! A full batch goes through a bounded channel to an encoder thread that compresses and writes
//! it while the next one fills, its columns spread over `encode_threads` threads; when that
//! channel is full, `write` blocks (back-pressure, never a silent drop). A timer thread
//! flushes rows older than the flush interval. Each flush writes one file per date under
//! `<dir>/date=YYYY-MM-DD/`, first as `.part-…parquet.tmp`, fsynced, then linked to
//! `part-<host>-<pid>-<start µs>-<seq>.parquet` (never replacing a file) and the directory
//! fsynced: a reader sees a file only when it is complete, and a crash loses at most the rows
//! not yet flushed.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, compute_leaves,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::record::ExecutionRecord;
use super::schema::{BatchBuilder, TELEMETRY_SCHEMA_VERSION, VERSION_KEY};
use super::{TelemetryError, host_name};

/// How the writer batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// Rows that trigger a flush (and the row-group size). Default 8192.
    pub batch_rows: usize,
    /// Longest time a row waits before a flush. Default 5 s.
    pub flush_interval: Duration,
    /// Rows built but not yet written that make `write` block until the disk catches up
    /// (rounded to whole batches, at least one). Default 65,536.
    pub channel_capacity: usize,
    /// Threads that encode and compress one batch's columns side by side (the encoder thread
    /// and `encode_threads - 1` helpers started per file). Batches under 1,024 rows use one.
    /// Default: the available parallelism, at most 4.
    pub encode_threads: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            batch_rows: 8192,
            flush_interval: Duration::from_secs(5),
            channel_capacity: 65_536,
            encode_threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(4),
        }
    }
}

/// What a writer wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Rows written.
    pub rows: u64,
    /// Files completed.
    pub files: Vec<PathBuf>,
}

const DAY_US: i64 = 86_400_000_000;

/// Rows not yet handed to the encoder.
struct Buffer {
    /// Column builders per UTC day (days since the epoch); usually one.
    days: BTreeMap<i64, BatchBuilder>,
    rows: usize,
    oldest: Option<Instant>,
    /// To the encoder; `None` once closed.
    jobs: Option<SyncSender<Job>>,
    /// Files handed to the encoder so far.
    submitted: u64,
}

/// What the encoder has done.
#[derive(Default)]
struct Done {
    completed: u64,
    stats: WriterStats,
    error: Option<String>,
}

struct Shared {
    dir: PathBuf,
    opts: WriterOptions,
    buffer: Mutex<Buffer>,
    /// Wakes the timer (a first row, or closing).
    tick: Condvar,
    done: Mutex<Done>,
    /// Signalled whenever the encoder finishes a file or fails.
    progress: Condvar,
    failed: AtomicBool,
}

/// A handle to the writer; `&TelemetryWriter` is shared by any number of threads.
#[derive(Debug)]
pub struct TelemetryWriter {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    dir: PathBuf,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("dir", &self.dir).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A thread that panicked while holding a lock leaves the state usable: at worst the
    // builders disagree, and the next flush stops the writer with an error.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TelemetryWriter {
    /// Starts a writer into `dir` (created if missing).
    pub fn open(
        dir: impl Into<PathBuf>,
        opts: WriterOptions,
    ) -> Result<TelemetryWriter, TelemetryError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| TelemetryError::io(&dir, e))?;
        // Best effort: a directory the writer can write to but not wholly list (a foreign
        // subdirectory) must not stop the writer; compaction reports such problems.
        let _ = reclaim_temporaries(&dir);
        let batch_rows = opts.batch_rows.max(1);
        let pending = (opts.channel_capacity / batch_rows).max(1);
        let (tx, rx) = sync_channel(pending);
        let shared = Arc::new(Shared {
            dir: dir.clone(),
            opts: WriterOptions { batch_rows, ..opts },
            buffer: Mutex::new(Buffer {
                days: BTreeMap::new(),
                rows: 0,
                oldest: None,
                jobs: Some(tx),
                submitted: 0,
            }),
            tick: Condvar::new(),
            done: Mutex::new(Done::default()),
            progress: Condvar::new(),
            failed: AtomicBool::new(false),
        });
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| TelemetryError::io(&dir, e))
        };
        let s = shared.clone();
        let encoder = spawn("qroute-telemetry-encode", Box::new(move || encode(&s, rx)))?;
        let s = shared.clone();
        let timer = match spawn("qroute-telemetry-timer", Box::new(move || timer(&s))) {
            Ok(t) => t,
            Err(e) => {
                drop(lock(&shared.buffer).jobs.take());
                let _ = encoder.join();
                return Err(e);
            }
        };
        Ok(TelemetryWriter {
            shared,
            threads: vec![timer, encoder],
            dir,
        })
    }

    fn dead(&self) -> TelemetryError {
        let message = lock(&self.shared.done)
            .error
            .clone()
            .unwrap_or_else(|| "the writer is closed".into());
        TelemetryError::Writer {
            dir: self.dir.clone(),
            message: format!("the writer has stopped: {message}"),
        }
    }

    /// Appends (a copy of) one row; blocks while the encoder is that many batches behind. A
    /// row that does not fit the schema is refused with an error, and the writer goes on.
    pub fn write(&self, r: &ExecutionRecord) -> Result<(), TelemetryError> {
        if self.shared.failed.load(Ordering::Relaxed) {
            return Err(self.dead());
        }
        let mut b = lock(&self.shared.buffer);
        let day = r.ts_us.div_euclid(DAY_US);
        let rows = self.shared.opts.batch_rows;
        b.days
            .entry(day)
            .or_insert_with(|| BatchBuilder::with_capacity(rows))
            .append(r)
            .map_err(|e| TelemetryError::Writer {
                dir: self.dir.clone(),
                message: e.to_string(),
            })?;
        b.rows += 1;
        if b.oldest.is_none() {
            b.oldest = Some(Instant::now());
            self.shared.tick.notify_one();
        }
        if b.rows >= rows {
            self.shared.submit(&mut b).map_err(|()| self.dead())?;
        }
        Ok(())
    }

    /// Writes every buffered row to disk now, and waits until it is there.
    pub fn flush(&self) -> Result<(), TelemetryError> {
        let target = {
            let mut b = lock(&self.shared.buffer);
            self.shared.submit(&mut b).map_err(|()| self.dead())?;
            b.submitted
        };
        let mut d = lock(&self.shared.done);
        while d.completed < target && d.error.is_none() {
            d = self
                .shared
                .progress
                .wait(d)
                .unwrap_or_else(|e| e.into_inner());
        }
        match &d.error {
            Some(message) => Err(TelemetryError::Writer {
                dir: self.dir.clone(),
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Flushes and stops the writer.
    pub fn close(mut self) -> Result<WriterStats, TelemetryError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<WriterStats, TelemetryError> {
        if self.threads.is_empty() {
            return Ok(WriterStats::default());
        }
        {
            let mut b = lock(&self.shared.buffer);
            let _ = self.shared.submit(&mut b);
            // Closing the channel ends the encoder once it has written what it holds.
            drop(b.jobs.take());
            self.shared.tick.notify_all();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let d = lock(&self.shared.done);
        match &d.error {
            Some(message) => Err(TelemetryError::Writer {
                dir: self.dir.clone(),
                message: message.clone(),
            }),
            None => Ok(d.stats.clone()),
        }
    }
}

impl Drop for TelemetryWriter {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

impl Shared {
    /// Stops the writer with `message` as its error: later calls fail with it.
    fn fail(&self, message: String) {
        lock(&self.done).error.get_or_insert(message);
        self.failed.store(true, Ordering::Relaxed);
        self.progress.notify_all();
    }

    /// Hands every buffered row to the encoder, one file per date; blocks while the encoder
    /// is full. `Err` when the encoder has stopped (its error is in `done`).
    fn submit(&self, b: &mut Buffer) -> Result<(), ()> {
        b.oldest = None;
        if b.rows == 0 {
            return Ok(());
        }
        b.rows = 0;
        let Some(jobs) = b.jobs.clone() else {
            return Err(());
        };
        for (day, builder) in &mut b.days {
            if builder.is_empty() {
                continue;
            }
            let part = self.dir.join(format!("date={}", date_of(day * DAY_US)));
            let batch = match builder.finish() {
                Ok(batch) => batch,
                Err(e) => {
                    self.fail(format!("{}: {e}", self.dir.display()));
                    return Err(());
                }
            };
            if jobs.send(Job { part, batch }).is_err() {
                return Err(());
            }
            b.submitted += 1;
        }
        // Only the latest day keeps its (empty) builder: earlier days are over.
        if let Some(&last) = b.days.keys().next_back() {
            b.days.retain(|&day, _| day == last);
        }
        Ok(())
    }
}

/// One file for the encoder thread: a partition directory and its rows as a batch.
struct Job {
    part: PathBuf,
    batch: RecordBatch,
}

/// Encodes and publishes files, one per job, until the channel closes or a write fails.
fn encode(shared: &Shared, rx: Receiver<Job>) {
    let host = host_name();
    // The writer's start time makes its names unique forever: a later writer with the same
    // host and pid (a restarted container) must never reuse the name of a file that a
    // compaction merged, since the merged file names the files it replaces.
    let pid = format!("{}-{}", std::process::id(), crate::time::now_us());
    let mut seq = 0u64;
    let batch_rows = shared.opts.batch_rows;
    let threads = shared.opts.encode_threads;
    for job in rx {
        let r = write_file(
            &job.part, &job.batch, &host, &pid, &mut seq, batch_rows, threads,
        );
        let mut d = lock(&shared.done);
        d.completed += 1;
        match r {
            Ok(path) => {
                d.stats.rows += job.batch.num_rows() as u64;
                d.stats.files.push(path);
                drop(d);
                shared.progress.notify_all();
            }
            Err(e) => {
                drop(d);
                shared.fail(e);
                // Dropping the receiver makes every later submit fail instead of blocking.
                return;
            }
        }
    }
}

/// Flushes rows that have waited for the flush interval, until the writer closes.
fn timer(shared: &Shared) {
    let interval = shared.opts.flush_interval;
    let mut b = lock(&shared.buffer);
    while b.jobs.is_some() {
        let wait = match b.oldest {
            Some(t) if t.elapsed() >= interval => {
                if shared.submit(&mut b).is_err() {
                    return;
                }
                continue;
            }
            Some(t) => interval.saturating_sub(t.elapsed()),
            None => Duration::from_secs(3600),
        };
        b = shared
            .tick
            .wait_timeout(b, wait)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// Columns whose chunks carry min/max statistics, for readers that filter on them.
const FILTER_COLUMNS: &[&str] = &["ts", "circuit_id", "backend", "status", "wall_ms"];

/// How every telemetry file is written: zstd, `row_group_rows` per row group, the schema
/// version and `extra` in the key-value metadata.
pub fn parquet_properties(row_group_rows: usize, extra: Vec<KeyValue>) -> WriterProperties {
    properties_of(TELEMETRY_SCHEMA_VERSION, row_group_rows, extra)
}

/// [`parquet_properties`] for rows of schema `version` (compaction keeps its files' version).
pub(crate) fn properties_of(
    version: u32,
    row_group_rows: usize,
    extra: Vec<KeyValue>,
) -> WriterProperties {
    let mut kv = vec![KeyValue::new(VERSION_KEY.to_string(), version.to_string())];
    kv.extend(extra);
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        // zstd already shrinks repeated strings; dictionaries cost a third of the encoding
        // time and made 8k-row files larger (82 KB vs 46 KB in the writer bench).
        .set_dictionary_enabled(false)
        // Min/max statistics took 30% of the encoding time over ~70 columns; they are kept
        // for the columns a reader filters by.
        .set_statistics_enabled(EnabledStatistics::None)
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .set_key_value_metadata(Some(kv));
    for col in FILTER_COLUMNS {
        props =
            props.set_column_statistics_enabled(ColumnPath::from(*col), EnabledStatistics::Chunk);
    }
    // The repeated text columns are dictionary arrays (schema v2); written as dictionary
    // pages they cost the same as plain ones in the writer bench (10.3 vs 11.0 ms per 8k
    // encode) and keep the file's own encoding what its schema says.
    for col in super::schema::DICTIONARY_COLUMNS {
        props = props.set_column_dictionary_enabled(ColumnPath::from(*col), true);
    }
    props.build()
}

/// A temporary file left under its directory by a writer or a compaction that did not finish
/// it is deleted after this long, whoever made it.
pub const STALE_TEMPORARY_AFTER: Duration = Duration::from_secs(3600);

/// Deletes the temporary files (`.part-….tmp`) under `dir` and its partitions that nobody
/// will finish: made on this host by a process that is no longer running, or older than
/// [`STALE_TEMPORARY_AFTER`]. A writer's and a compaction's temporaries are named
/// `.part-<host>-<pid>-…`, so the owner is known. Returns how many were deleted. Called when
/// a writer opens and when a compaction runs, so a crash or a full disk leaves no file that
/// the next run does not reclaim (#28).
pub fn reclaim_temporaries(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    let host = host_name();
    let me = std::process::id();
    let now = std::time::SystemTime::now();
    let mut dirs = vec![dir.to_path_buf()];
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            dirs.push(e.path());
        }
    }
    for d in dirs {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if !(name.starts_with(".part-") && name.ends_with(".tmp") && e.file_type()?.is_file()) {
                continue;
            }
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > STALE_TEMPORARY_AFTER);
            let orphan = match temporary_owner(name) {
                Some((h, pid)) => h == host && pid != me && !process_alive(pid),
                None => false,
            };
            if old || orphan {
                match std::fs::remove_file(e.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(removed)
}

/// (host, pid) of a temporary's name: `.part-<host>-<pid>-<seq>.parquet.tmp` (a writer's) or
/// `.part-<host>-<pid>-<µs>-c<n>.parquet.tmp` (a compaction's); hosts may hold `-`.
fn temporary_owner(name: &str) -> Option<(&str, u32)> {
    let stem = name.strip_prefix(".part-")?.strip_suffix(".parquet.tmp")?;
    let mut parts = stem.rsplitn(4, '-');
    let last = parts.next()?;
    let (pid, host) = if last.starts_with('c') {
        let _us = parts.next()?;
        (parts.next()?, parts.next()?)
    } else {
        let pid = parts.next()?;
        let rest = parts.next()?;
        // rsplitn(4) left `host` split once more when it holds a `-`.
        let host = match parts.next() {
            Some(more) => &stem[..more.len() + 1 + rest.len()],
            None => rest,
        };
        (pid, host)
    };
    Some((host, pid.parse().ok()?))
}

/// Whether process `pid` runs on this host; `true` where that cannot be told.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

/// Gives the complete file `tmp` its final name `done` without ever replacing an existing
/// file, then makes that durable (fsyncs the directory). `None` when `done` exists: the
/// caller picks another name.
pub(crate) fn publish(tmp: &Path, done: &Path) -> std::io::Result<Option<PathBuf>> {
    match std::fs::hard_link(tmp, done) {
        Ok(()) => std::fs::remove_file(tmp)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        // File systems without hard links: check, then rename (not atomic against a
        // concurrent writer of the same name, which unique names already rule out).
        Err(_) => {
            if done.exists() {
                return Ok(None);
            }
            std::fs::rename(tmp, done)?;
        }
    }
    if let Some(dir) = done.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(Some(done.to_path_buf()))
}

pub use crate::time::date_of;

fn write_file(
    part: &Path,
    batch: &RecordBatch,
    host: &str,
    pid: &str,
    seq: &mut u64,
    batch_rows: usize,
    threads: usize,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(part).map_err(|e| format!("{}: {e}", part.display()))?;
    let tmp = part.join(format!(".part-{host}-{pid}-{seq:06}.parquet.tmp"));
    let ctx = |e: &dyn std::fmt::Display| format!("{}: {e}", tmp.display());
    let file = File::create(&tmp).map_err(|e| ctx(&e))?;
    let props = parquet_properties(batch_rows, Vec::new());
    let written = file.try_clone().and_then(|handle| {
        encode_file(file, batch, props, threads).map_err(std::io::Error::other)?;
        // The footer is written; the bytes go to disk before the file gets its name.
        handle.sync_all()
    });
    if let Err(e) = written {
        // A full disk, say: the partial file is not left behind (#28).
        let _ = std::fs::remove_file(&tmp);
        return Err(ctx(&e));
    }
    loop {
        let name = format!("part-{host}-{pid}-{seq:06}.parquet");
        *seq += 1;
        if let Some(done) = publish(&tmp, &part.join(name)).map_err(|e| ctx(&e))? {
            return Ok(done);
        }
    }
}

/// Batches smaller than this are encoded on one thread: their whole encoding takes about as
/// long as starting a helper thread.
const PARALLEL_MIN_ROWS: usize = 1024;

/// Writes `batch` to `file` as one row group (footer included), encoding and compressing its
/// columns on up to `threads` threads (one below [`PARALLEL_MIN_ROWS`] rows); the file is the
/// same whatever the thread count.
fn encode_file(
    file: File,
    batch: &RecordBatch,
    props: WriterProperties,
    threads: usize,
) -> Result<(), ParquetError> {
    let schema = batch.schema();
    let (mut writer, factory) =
        ArrowWriter::try_new(file, schema.clone(), Some(props))?.into_serialized_writer()?;
    let mut leaves = Vec::with_capacity(batch.num_columns());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        leaves.extend(compute_leaves(field, column)?);
    }
    let columns = factory.create_column_writers(0)?;
    let threads = if batch.num_rows() < PARALLEL_MIN_ROWS {
        1
    } else {
        threads.clamp(1, columns.len().max(1))
    };
    // Round robin: neighbouring columns are alike (the feature block, the text block), so
    // every thread gets a similar share of the work.
    let mut groups: Vec<Vec<(usize, ArrowColumnWriter, ArrowLeafColumn)>> =
        (0..threads).map(|_| Vec::new()).collect();
    for (i, (w, leaf)) in columns.into_iter().zip(leaves).enumerate() {
        groups[i % threads].push((i, w, leaf));
    }
    let encode = |group: Vec<(usize, ArrowColumnWriter, ArrowLeafColumn)>| {
        group
            .into_iter()
            .map(|(i, mut w, leaf)| {
                w.write(&leaf)?;
                Ok((i, w.close()?))
            })
            .collect::<Result<Vec<(usize, ArrowColumnChunk)>, ParquetError>>()
    };
    let mut chunks = std::thread::scope(|s| {
        let mut groups = groups.into_iter();
        let mine = groups.next().unwrap_or_default();
        let helpers = groups
            .map(|g| {
                std::thread::Builder::new()
                    .name("qroute-telemetry-columns".into())
                    .spawn_scoped(s, move || encode(g))
                    .map_err(|e| {
                        ParquetError::General(format!("cannot start a column encoder: {e}"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut chunks = encode(mine)?;
        for h in helpers {
            let theirs = h
                .join()
                .map_err(|_| ParquetError::General("a column encoder panicked".into()))??;
            chunks.extend(theirs);
        }
        Ok::<_, ParquetError>(chunks)
    })?;
    chunks.sort_unstable_by_key(|(i, _)| *i);
    let mut row_group = writer.next_row_group()?;
    for (_, chunk) in chunks {
        chunk.append_to_row_group(&mut row_group)?;
    }
    row_group.close()?;
    writer.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::temporary_owner;

    #[test]
    fn temporaries_name_their_owner() {
        assert_eq!(
            temporary_owner(".part-box-42-000007.parquet.tmp"),
            Some(("box", 42))
        );
        assert_eq!(
            temporary_owner(".part-my-build-host-42-000007.parquet.tmp"),
            Some(("my-build-host", 42))
        );
        assert_eq!(
            temporary_owner(".part-my-host-7-1700000000000000-c0.parquet.tmp"),
            Some(("my-host", 7))
        );
        assert_eq!(temporary_owner(".part-x.parquet.tmp"), None);
        assert_eq!(temporary_owner("part-box-42-000007.parquet"), None);
    }
}
