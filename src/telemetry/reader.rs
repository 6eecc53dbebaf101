//! Reading a telemetry directory tree: every complete Parquet file of this schema version;
//! files that cannot be read are named, not fatal.
//!
//! A read is consistent with [compaction](super::compact) running beside it: it lists and
//! opens every file under a shared lock that compaction takes exclusively only while it swaps
//! merged files for their sources ([`SWAP_LOCK`]); an open file stays readable after it is
//! unlinked; files whose rows a present compacted file already holds (a compaction died
//! before deleting them) are skipped; a file that vanished between the listing and its opening
//! makes the read start again from a new listing. So a read never sees a row twice and never
//! misses one that was on disk before it began.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::TelemetryError;
use super::record::ExecutionRecord;
use super::schema::{READABLE_VERSIONS, TELEMETRY_SCHEMA_VERSION, VERSION_KEY, from_batch};

/// Key of a compacted file's metadata listing the files (names in the same directory) whose
/// rows it holds, as a JSON array.
pub const COMPACTED_FROM_KEY: &str = "qroute.compacted_from";

/// Listings a read makes before giving up when compaction keeps removing files under it.
const MAX_LISTINGS: usize = 16;

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
        let entry = entry?;
        let p = entry.path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        let kind = match entry.file_type() {
            Ok(k) => k,
            // Removed since the directory was listed.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if kind.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "parquet") {
            out.push(p);
        }
    }
    Ok(())
}

/// An opened telemetry file whose footer has been read and whose version was checked.
pub(crate) struct OpenFile {
    pub(crate) path: PathBuf,
    /// Its telemetry schema version (one of [`READABLE_VERSIONS`]).
    pub(crate) version: u32,
    builder: ParquetRecordBatchReaderBuilder<File>,
}

impl OpenFile {
    /// Names (in the same directory) of the files whose rows this one holds.
    pub(crate) fn compacted_from(&self) -> Result<Vec<String>, String> {
        match metadata_value(&self.builder, COMPACTED_FROM_KEY) {
            None => Ok(Vec::new()),
            Some(v) => serde_json::from_str(&v)
                .map_err(|e| format!("unreadable `{COMPACTED_FROM_KEY}` metadata: {e}")),
        }
    }

    /// Rows in the file, from its footer.
    pub(crate) fn num_rows(&self) -> u64 {
        self.builder.metadata().file_metadata().num_rows().max(0) as u64
    }

    /// Every batch of the file.
    pub(crate) fn batches(self) -> Result<Vec<RecordBatch>, String> {
        let reader = self.builder.build().map_err(|e| e.to_string())?;
        reader
            .map(|b| b.map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()
    }

    /// Every row of the file.
    pub(crate) fn records(self) -> Result<Vec<ExecutionRecord>, String> {
        let mut out = Vec::new();
        for batch in self.batches()? {
            out.extend(from_batch(&batch).map_err(|e| e.to_string())?);
        }
        Ok(out)
    }
}

fn metadata_value(b: &ParquetRecordBatchReaderBuilder<File>, key: &str) -> Option<String> {
    b.metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == key))
        .and_then(|k| k.value.clone())
}

/// Why a file could not be opened.
pub(crate) enum OpenError {
    /// It no longer exists (compaction removed it after the listing).
    Vanished,
    /// It is not readable telemetry of this version.
    Bad(String),
}

/// Opens one file and checks its schema version.
pub(crate) fn open_file(path: &Path) -> Result<OpenFile, OpenError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OpenError::Vanished),
        Err(e) => return Err(OpenError::Bad(e.to_string())),
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| OpenError::Bad(e.to_string()))?;
    let version = match metadata_value(&builder, VERSION_KEY).as_deref() {
        Some(v) => match v.parse::<u32>() {
            Ok(n) if READABLE_VERSIONS.contains(&n) => n,
            _ => {
                return Err(OpenError::Bad(format!(
                    "telemetry schema version {v}, this qroute reads versions 1 to \
                     {TELEMETRY_SCHEMA_VERSION}"
                )));
            }
        },
        None => {
            return Err(OpenError::Bad(format!(
                "no `{VERSION_KEY}` in the file's metadata: not qroute telemetry"
            )));
        }
    };
    Ok(OpenFile {
        path: path.to_path_buf(),
        version,
        builder,
    })
}

/// Reads one file, checking its schema version.
pub fn read_file(path: &Path) -> Result<Vec<ExecutionRecord>, TelemetryError> {
    let bad = |why: String| TelemetryError::BadFile {
        path: path.to_path_buf(),
        why,
    };
    match open_file(path) {
        Ok(f) => f.records().map_err(bad),
        Err(OpenError::Vanished) => Err(TelemetryError::Io {
            path: path.to_path_buf(),
            error: std::io::Error::from(std::io::ErrorKind::NotFound),
        }),
        Err(OpenError::Bad(why)) => Err(bad(why)),
    }
}

/// The files of one consistent listing: opened, with those a compacted file covers removed.
pub(crate) struct Snapshot {
    pub(crate) files: Vec<OpenFile>,
    pub(crate) bad_files: Vec<(PathBuf, String)>,
    /// Files skipped because a compacted file holds their rows.
    pub(crate) covered: Vec<PathBuf>,
}

/// Name of the lock file (in the telemetry directory) that a compaction holds exclusively
/// while it renames its merged files in and deletes their sources, and a reader holds shared
/// while it lists and opens: a directory listing is not atomic, and without the lock it could
/// miss both a merged file created behind its position and a source deleted ahead of it.
pub const SWAP_LOCK: &str = ".compact.swap";

/// The swap lock of `dir`, taken shared (exclusive when `exclusive`). `None` when the
/// directory is not writable (nothing can compact it then).
pub(crate) fn swap_lock(dir: &Path, exclusive: bool) -> Result<Option<File>, TelemetryError> {
    let path = dir.join(SWAP_LOCK);
    let file = match std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if !exclusive && e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Ok(None);
        }
        Err(e) if !exclusive && e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
            return Ok(None);
        }
        Err(e) => return Err(TelemetryError::io(&path, e)),
    };
    let locked = if exclusive {
        file.lock()
    } else {
        file.lock_shared()
    };
    locked.map_err(|e| TelemetryError::io(&path, e))?;
    Ok(Some(file))
}

/// Lists `dir` and opens every file; starts again when a listed file vanished.
pub(crate) fn snapshot(dir: &Path) -> Result<Snapshot, TelemetryError> {
    // Released when dropped, after every listed file is open.
    let _swap = if dir.is_dir() {
        swap_lock(dir, false)?
    } else {
        None
    };
    'listing: for _ in 0..MAX_LISTINGS {
        let mut files = Vec::new();
        let mut bad_files = Vec::new();
        for path in parquet_files(dir)? {
            match open_file(&path) {
                Ok(f) => files.push(f),
                Err(OpenError::Vanished) => continue 'listing,
                Err(OpenError::Bad(why)) => bad_files.push((path, why)),
            }
        }
        // A file listed in a present compacted file's `compacted_from` (same directory) was
        // merged into it; its deletion was interrupted or has not happened yet.
        let mut covered_set = BTreeSet::new();
        let mut readable = Vec::with_capacity(files.len());
        for f in files {
            match f.compacted_from() {
                Ok(names) => {
                    let parent = f.path.parent().unwrap_or(Path::new(""));
                    covered_set.extend(names.into_iter().map(|n| parent.join(n)));
                    readable.push(f);
                }
                Err(why) => bad_files.push((f.path.clone(), why)),
            }
        }
        let files = readable;
        let (covered, files): (Vec<OpenFile>, Vec<OpenFile>) = files
            .into_iter()
            .partition(|f| covered_set.contains(&f.path));
        return Ok(Snapshot {
            files,
            bad_files,
            covered: covered.into_iter().map(|f| f.path).collect(),
        });
    }
    Err(TelemetryError::Writer {
        dir: dir.to_path_buf(),
        message: format!(
            "files kept vanishing while listing ({MAX_LISTINGS} listings): is something \
             deleting them other than `qroute telemetry compact`?"
        ),
    })
}

/// Reads every file under each of `dirs`, in order: one report for all of them.
pub fn read_dirs(dirs: &[PathBuf]) -> Result<ReadReport, TelemetryError> {
    let mut all = ReadReport::default();
    for d in dirs {
        let r = read_dir(d)?;
        all.records.extend(r.records);
        all.files.extend(r.files);
        all.bad_files.extend(r.bad_files);
    }
    Ok(all)
}

/// Reads every file under `dir`.
pub fn read_dir(dir: &Path) -> Result<ReadReport, TelemetryError> {
    let snap = snapshot(dir)?;
    let mut report = ReadReport {
        bad_files: snap.bad_files,
        ..ReadReport::default()
    };
    for f in snap.files {
        let path = f.path.clone();
        match f.records() {
            Ok(rows) => {
                report.records.extend(rows);
                report.files.push(path);
            }
            Err(why) => report.bad_files.push((path, why)),
        }
    }
    Ok(report)
}
