//! Telemetry: every execution attempt as a row of Parquet.
//!
//! [`ExecutionRecord`] is one row; [`schema`] its Arrow schema (version
//! [`TELEMETRY_SCHEMA_VERSION`], stored in each file's metadata); [`TelemetryWriter`] writes
//! crash-safe, date-partitioned files; [`reader`] reads a directory tree back, naming files it
//! cannot read instead of failing; [`compact`] merges small files without a reader ever seeing
//! a row twice or missing one; [`speed`] puts times from hosts of different speed on one
//! scale. Column definitions: `docs/telemetry.md`.

pub mod compact;
pub mod reader;
pub mod record;
pub mod schema;
pub mod speed;
pub mod summary;
pub mod writer;

use std::path::{Path, PathBuf};

pub use reader::{ReadReport, read_dir, read_dirs};
pub use record::{ExecutionRecord, Status};
pub use schema::TELEMETRY_SCHEMA_VERSION;
pub use speed::HostScale;
pub use writer::{TelemetryWriter, WriterOptions, WriterStats};

/// A telemetry directory or writer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// A file or directory could not be used.
    #[error("{path}: {error}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why. Not marked as the error's source: the message already holds it, and `main`
        /// prints the chain, which would say it twice.
        error: std::io::Error,
    },
    /// A telemetry file cannot be read: not Parquet, another schema version, damaged.
    #[error("{}: {why}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The writer failed.
    #[error("telemetry writer for {dir}: {message}")]
    Writer {
        /// Its directory.
        dir: PathBuf,
        /// What happened.
        message: String,
    },
}

impl TelemetryError {
    fn io(path: &Path, error: std::io::Error) -> TelemetryError {
        TelemetryError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// This machine's name (from /proc or the environment), for telemetry and file names;
/// characters other than letters, digits, `-` and `_` become `_`.
pub fn host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into());
    let clean: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "unknown".into()
    } else {
        clean
    }
}
