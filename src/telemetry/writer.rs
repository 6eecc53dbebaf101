//! The Parquet writer: buffered, flushed by row count or interval, crash-safe.
//!
//! Rows go through a bounded channel to one writer thread (a full channel blocks the sender:
//! back-pressure, never a silent drop), which batches them into Arrow record batches; an
//! encoder thread compresses and writes each batch while the next one is being built. Each flush writes one file per date under
//! `<dir>/date=YYYY-MM-DD/`, first as `.part-…parquet.tmp`, fsynced, then linked to
//! `part-<host>-<pid>-<start µs>-<seq>.parquet` (never replacing a file) and the directory
//! fsynced: a reader sees a file only when
//! it is complete, and a crash loses at most the rows not yet flushed.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::record::ExecutionRecord;
use super::schema::{TELEMETRY_SCHEMA_VERSION, VERSION_KEY, to_batch};
use super::{TelemetryError, host_name};

/// How the writer batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// Rows that trigger a flush (and the row-group size). Default 8192.
    pub batch_rows: usize,
    /// Longest time a row waits before a flush. Default 5 s.
    pub flush_interval: Duration,
    /// Rows the channel holds before `write` blocks. Default 65,536.
    pub channel_capacity: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            batch_rows: 8192,
            flush_interval: Duration::from_secs(5),
            channel_capacity: 65_536,
        }
    }
}

enum Msg {
    Row(Box<ExecutionRecord>),
    Flush(SyncSender<Result<(), String>>),
}

/// What a writer wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Rows written.
    pub rows: u64,
    /// Files completed.
    pub files: Vec<PathBuf>,
}

/// A handle to the writer thread; cloneable senders make it usable from many threads.
#[derive(Debug)]
pub struct TelemetryWriter {
    tx: Option<SyncSender<Msg>>,
    handle: Option<JoinHandle<Result<WriterStats, String>>>,
    dir: PathBuf,
}

impl TelemetryWriter {
    /// Starts a writer into `dir` (created if missing).
    pub fn open(
        dir: impl Into<PathBuf>,
        opts: WriterOptions,
    ) -> Result<TelemetryWriter, TelemetryError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| TelemetryError::io(&dir, e))?;
        let (tx, rx) = sync_channel(opts.channel_capacity.max(1));
        let d = dir.clone();
        let handle = std::thread::Builder::new()
            .name("qroute-telemetry".into())
            .spawn(move || run(d, opts, rx))
            .map_err(|e| TelemetryError::io(&dir, e))?;
        Ok(TelemetryWriter {
            tx: Some(tx),
            handle: Some(handle),
            dir,
        })
    }

    fn dead(&self) -> TelemetryError {
        TelemetryError::Writer {
            dir: self.dir.clone(),
            message: "the writer thread has stopped (an earlier write failed)".into(),
        }
    }

    /// Queues one row; blocks while the queue is full.
    pub fn write(&self, r: ExecutionRecord) -> Result<(), TelemetryError> {
        let tx = self.tx.as_ref().ok_or_else(|| self.dead())?;
        tx.send(Msg::Row(Box::new(r))).map_err(|_| self.dead())
    }

    /// Writes every queued row to disk now.
    pub fn flush(&self) -> Result<(), TelemetryError> {
        let tx = self.tx.as_ref().ok_or_else(|| self.dead())?;
        let (ack, done) = sync_channel(1);
        tx.send(Msg::Flush(ack)).map_err(|_| self.dead())?;
        done.recv()
            .map_err(|_| self.dead())?
            .map_err(|message| TelemetryError::Writer {
                dir: self.dir.clone(),
                message,
            })
    }

    /// Flushes and stops the writer.
    pub fn close(mut self) -> Result<WriterStats, TelemetryError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<WriterStats, TelemetryError> {
        drop(self.tx.take());
        match self.handle.take() {
            Some(h) => {
                h.join()
                    .map_err(|_| self.dead())?
                    .map_err(|message| TelemetryError::Writer {
                        dir: self.dir.clone(),
                        message,
                    })
            }
            None => Ok(WriterStats::default()),
        }
    }
}

impl Drop for TelemetryWriter {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// One file for the encoder thread: a partition directory and its rows as a batch.
struct Job {
    part: PathBuf,
    batch: RecordBatch,
}

/// Encodes and publishes files, one per job, answering each with its path or error.
fn encode(rx: Receiver<Job>, done: SyncSender<Result<PathBuf, String>>, batch_rows: usize) {
    let host = host_name();
    // The writer's start time makes its names unique forever: a later writer with the same
    // host and pid (a restarted container) must never reuse the name of a file that a
    // compaction merged, since the merged file names the files it replaces.
    let pid = format!("{}-{}", std::process::id(), now_us());
    let mut seq = 0u64;
    for job in rx {
        let r = write_file(&job.part, &job.batch, &host, &pid, &mut seq, batch_rows);
        let failed = r.is_err();
        if done.send(r).is_err() || failed {
            return;
        }
    }
}

/// The writer thread: batches rows and turns them into Arrow batches while the encoder
/// thread compresses and writes the previous ones.
fn run(dir: PathBuf, opts: WriterOptions, rx: Receiver<Msg>) -> Result<WriterStats, String> {
    let (job_tx, job_rx) = sync_channel::<Job>(2);
    let (done_tx, done_rx) = sync_channel(4);
    let batch_rows = opts.batch_rows;
    let encoder = std::thread::Builder::new()
        .name("qroute-telemetry-encode".into())
        .spawn(move || encode(job_rx, done_tx, batch_rows))
        .map_err(|e| format!("cannot start the encoder thread: {e}"))?;
    let mut w = Pipeline {
        dir,
        jobs: Some(job_tx),
        done: done_rx,
        outstanding: 0,
        stats: WriterStats::default(),
    };
    let result = w.serve(&opts, rx);
    drop(w.jobs.take());
    let _ = encoder.join();
    result.map(|()| w.stats)
}

struct Pipeline {
    dir: PathBuf,
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Result<PathBuf, String>>,
    /// Jobs sent and not yet answered.
    outstanding: usize,
    stats: WriterStats,
}

impl Pipeline {
    fn serve(&mut self, opts: &WriterOptions, rx: Receiver<Msg>) -> Result<(), String> {
        let mut buf: Vec<ExecutionRecord> = Vec::with_capacity(opts.batch_rows);
        let mut oldest: Option<Instant> = None;
        loop {
            let wait = match oldest {
                Some(t) => opts.flush_interval.saturating_sub(t.elapsed()),
                None => Duration::from_secs(3600),
            };
            match rx.recv_timeout(wait) {
                Ok(Msg::Row(r)) => {
                    oldest.get_or_insert_with(Instant::now);
                    buf.push(*r);
                    if buf.len() >= opts.batch_rows {
                        self.submit(&mut buf)?;
                        oldest = None;
                    }
                }
                Ok(Msg::Flush(ack)) => {
                    let r = self.submit(&mut buf).and_then(|()| self.wait(0));
                    oldest = None;
                    let _ = ack.send(r.clone());
                    r?;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.submit(&mut buf)?;
                    oldest = None;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.submit(&mut buf)?;
                    return self.wait(0);
                }
            }
        }
    }

    /// Sends the buffered rows to the encoder, one job per date, and empties the buffer.
    fn submit(&mut self, buf: &mut Vec<ExecutionRecord>) -> Result<(), String> {
        if buf.is_empty() {
            return Ok(());
        }
        // Rows usually share one date: group them without copying the rows.
        let mut by_date: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in buf.iter().enumerate() {
            by_date.entry(date_of(r.ts_us)).or_default().push(i);
        }
        for (date, idx) in by_date {
            let batch = if idx.len() == buf.len() {
                to_batch(buf)
            } else {
                let rows: Vec<ExecutionRecord> = idx.iter().map(|&i| buf[i].clone()).collect();
                to_batch(&rows)
            }
            .map_err(|e| format!("{}: {e}", self.dir.display()))?;
            // At most two jobs wait: a slow disk slows the writer, which slows `write`.
            self.wait(2)?;
            let part = self.dir.join(format!("date={date}"));
            let sent = self
                .jobs
                .as_ref()
                .is_some_and(|j| j.send(Job { part, batch }).is_ok());
            if !sent {
                // The encoder stops only after answering with its error: report that one.
                self.wait(0)?;
                return Err("the encoder has stopped".into());
            }
            self.outstanding += 1;
        }
        self.stats.rows += buf.len() as u64;
        buf.clear();
        Ok(())
    }

    /// Collects answers until at most `left` jobs are outstanding.
    fn wait(&mut self, left: usize) -> Result<(), String> {
        while self.outstanding > left {
            let r = self
                .done
                .recv()
                .map_err(|_| "the encoder stopped without answering".to_string())?;
            self.outstanding -= 1;
            self.stats.files.push(r?);
        }
        // Answers that are already there, without blocking.
        while let Ok(r) = self.done.try_recv() {
            self.outstanding -= 1;
            self.stats.files.push(r?);
        }
        Ok(())
    }
}

/// How every telemetry file is written: zstd, `row_group_rows` per row group, the schema
/// version and `extra` in the key-value metadata.
pub(crate) fn parquet_properties(row_group_rows: usize, extra: Vec<KeyValue>) -> WriterProperties {
    let mut kv = vec![KeyValue::new(
        VERSION_KEY.to_string(),
        TELEMETRY_SCHEMA_VERSION.to_string(),
    )];
    kv.extend(extra);
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        // zstd already shrinks repeated strings; dictionaries cost a third of the encoding
        // time and made 8k-row files larger (82 KB vs 46 KB in the writer bench).
        .set_dictionary_enabled(false)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .set_key_value_metadata(Some(kv))
        .build()
}

/// Microseconds since the Unix epoch, now.
pub(crate) fn now_us() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
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

/// `YYYY-MM-DD` (UTC) of a timestamp in microseconds.
pub fn date_of(ts_us: i64) -> String {
    // Howard Hinnant's civil-from-days.
    let z = ts_us.div_euclid(86_400_000_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

fn write_file(
    part: &Path,
    batch: &RecordBatch,
    host: &str,
    pid: &str,
    seq: &mut u64,
    batch_rows: usize,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(part).map_err(|e| format!("{}: {e}", part.display()))?;
    let tmp = part.join(format!(".part-{host}-{pid}-{seq:06}.parquet.tmp"));
    let ctx = |e: &dyn std::fmt::Display| format!("{}: {e}", tmp.display());
    let file = File::create(&tmp).map_err(|e| ctx(&e))?;
    let props = parquet_properties(batch_rows, Vec::new());
    let handle = file.try_clone().map_err(|e| ctx(&e))?;
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(|e| ctx(&e))?;
    w.write(batch).map_err(|e| ctx(&e))?;
    // `close` writes the footer; then the bytes go to disk before the file gets its name.
    w.close().map_err(|e| ctx(&e))?;
    handle.sync_all().map_err(|e| ctx(&e))?;
    drop(handle);
    loop {
        let name = format!("part-{host}-{pid}-{seq:06}.parquet");
        *seq += 1;
        if let Some(done) = publish(&tmp, &part.join(name)).map_err(|e| ctx(&e))? {
            return Ok(done);
        }
    }
}
