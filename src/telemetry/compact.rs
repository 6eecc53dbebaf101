//! `qroute telemetry compact`: merges the small files of each partition into one.
//!
//! Readers never see a row twice nor miss one while a compaction runs, and a crash at any
//! point loses nothing:
//!
//! 1. the merged file is written under a hidden temporary name (readers skip it), fsynced;
//! 2. it is linked to its final name (never replacing a file), with the names of the files it replaces in its Parquet
//!    metadata (`qroute.compacted_from`), and the directory is fsynced;
//! 3. only then are those files deleted.
//!
//! Steps 2 and 3 run under an exclusive lock on `<dir>/.compact.swap`; readers list and open
//! their files under its shared side (a directory listing is not atomic: unlocked, it could
//! miss both a merged file appearing behind its position and a source vanishing ahead of it),
//! then read from the open files (see [`reader`](super::reader)). If a compaction dies between
//! 2 and 3, both copies exist: a reader skips every file that a present compacted file names,
//! so it counts those rows once. A compaction that died between 2 and 3 is finished by the next
//! one, which first deletes the files already merged. One compaction runs at a time per
//! directory (an OS lock on `<dir>/.compact.lock`, released if the process dies); writers may
//! keep writing, since a compaction only takes files that existed when it started.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;

use super::reader::{COMPACTED_FROM_KEY, OpenFile, snapshot, swap_lock};
use super::writer::{properties_of, publish};
use super::{TelemetryError, host_name};
use crate::time::now_us;

/// How files are merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactOptions {
    /// Rows per row group of a merged file. Default 65,536.
    pub row_group_rows: usize,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            row_group_rows: 65_536,
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Partitions (directories) that had files.
    pub partitions: usize,
    /// Files merged (and deleted).
    pub merged_files: usize,
    /// Merged files written.
    pub written: Vec<PathBuf>,
    /// Rows in the merged files.
    pub rows: u64,
    /// Bytes of the files merged.
    pub bytes_before: u64,
    /// Bytes of the merged files.
    pub bytes_after: u64,
    /// Files an interrupted compaction had merged but not deleted, deleted now.
    pub leftovers_removed: usize,
    /// Temporary files of writers or compactions that died, deleted
    /// ([`super::writer::reclaim_temporaries`]).
    pub temporaries_removed: usize,
    /// Files left alone because they cannot be read, and why.
    pub bad_files: Vec<(PathBuf, String)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TelemetryError + '_ {
    move |e| TelemetryError::io(path, e)
}

fn fail(dir: &Path, message: String) -> TelemetryError {
    TelemetryError::Writer {
        dir: dir.to_path_buf(),
        message,
    }
}

fn sync_dir(dir: &Path) -> Result<(), TelemetryError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Merges, in every directory under `dir`, all readable telemetry files into one.
pub fn compact(dir: &Path, opts: &CompactOptions) -> Result<CompactReport, TelemetryError> {
    // A missing directory is named as such, not as its lock file.
    std::fs::read_dir(dir).map_err(io(dir))?;
    let lock_path = dir.join(".compact.lock");
    let lock = File::create(&lock_path).map_err(io(&lock_path))?;
    lock.try_lock().map_err(|_| {
        fail(
            dir,
            "another `qroute telemetry compact` is running on this directory".into(),
        )
    })?;
    let temporaries_removed =
        super::writer::reclaim_temporaries(dir).map_err(|e| TelemetryError::io(dir, e))?;
    let snap = snapshot(dir)?;
    let mut report = CompactReport {
        bad_files: snap.bad_files,
        temporaries_removed,
        ..CompactReport::default()
    };
    let swap = swap_lock(dir, true)?;
    for path in &snap.covered {
        match std::fs::remove_file(path) {
            Ok(()) => report.leftovers_removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(TelemetryError::io(path, e)),
        }
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
    }
    let mut by_dir: BTreeMap<PathBuf, Vec<OpenFile>> = BTreeMap::new();
    for f in snap.files {
        let parent = f.path.parent().unwrap_or(Path::new("")).to_path_buf();
        by_dir.entry(parent).or_default().push(f);
    }
    drop(swap);
    report.partitions = by_dir.len();
    for (part, files) in by_dir {
        // Rows of one schema version per merged file: a partition holding v1 and v2 files
        // becomes one file of each.
        let mut by_version: BTreeMap<u32, Vec<OpenFile>> = BTreeMap::new();
        for f in files {
            by_version.entry(f.version).or_default().push(f);
        }
        for (version, files) in by_version {
            if files.len() < 2 {
                continue;
            }
            merge(dir, &part, version, files, opts, &mut report)?;
        }
    }
    drop(lock);
    Ok(report)
}

fn merge(
    dir: &Path,
    part: &Path,
    version: u32,
    files: Vec<OpenFile>,
    opts: &CompactOptions,
    report: &mut CompactReport,
) -> Result<(), TelemetryError> {
    let mut names = Vec::with_capacity(files.len());
    let mut sources = Vec::with_capacity(files.len());
    let mut batches = Vec::new();
    let mut rows = 0u64;
    let mut bytes = 0u64;
    for f in files {
        let path = f.path.clone();
        let size = std::fs::metadata(&path).map_err(io(&path))?.len();
        let expected = f.num_rows();
        match f.batches() {
            Ok(b) => {
                let got: u64 = b.iter().map(|b| b.num_rows() as u64).sum();
                if got != expected {
                    report.bad_files.push((
                        path,
                        format!("footer says {expected} rows, {got} were read"),
                    ));
                    continue;
                }
                rows += got;
                bytes += size;
                batches.extend(b);
                names.push(
                    path.file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                        .to_string(),
                );
                sources.push(path);
            }
            Err(why) => report.bad_files.push((path, why)),
        }
    }
    if sources.len() < 2 {
        return Ok(());
    }
    let Some(schema) = batches.first().map(|b| b.schema()) else {
        return Ok(());
    };
    let name = |n: u32| {
        format!(
            "part-{}-{}-{}-c{n}.parquet",
            host_name(),
            std::process::id(),
            now_us()
        )
    };
    let tmp = part.join(format!(".{}.tmp", name(0)));
    let props = properties_of(
        version,
        opts.row_group_rows,
        vec![KeyValue::new(
            COMPACTED_FROM_KEY.to_string(),
            serde_json::to_string(&names).unwrap_or_default(),
        )],
    );
    let written = (|| -> Result<u64, String> {
        let file = File::create(&tmp).map_err(|e| e.to_string())?;
        let handle = file.try_clone().map_err(|e| e.to_string())?;
        let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| e.to_string())?;
        for b in &batches {
            w.write(b).map_err(|e| e.to_string())?;
        }
        w.close().map_err(|e| e.to_string())?;
        handle.sync_all().map_err(|e| e.to_string())?;
        Ok(handle.metadata().map_err(|e| e.to_string())?.len())
    })();
    let size = match written {
        Ok(size) => size,
        Err(why) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(part, format!("{}: {why}", tmp.display())));
        }
    };
    // Readers list and open under the shared side of this lock: none lists while the
    // merged file appears and its sources disappear.
    let swap = swap_lock(dir, true)?;
    let mut n = 0;
    let done = loop {
        if let Some(done) = publish(&tmp, &part.join(name(n))).map_err(io(&tmp))? {
            break done;
        }
        n += 1;
    };
    for s in &sources {
        match std::fs::remove_file(s) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(TelemetryError::io(s, e)),
        }
    }
    sync_dir(part)?;
    drop(swap);
    report.merged_files += sources.len();
    report.rows += rows;
    report.bytes_before += bytes;
    report.bytes_after += size;
    report.written.push(done);
    Ok(())
}
