//! `qroute telemetry summary` and `qroute telemetry compact`.

use std::path::PathBuf;
use std::process::ExitCode;

use qroute::display::human_bytes;
use qroute::telemetry::compact::{CompactOptions, compact};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Rows, circuits, time span, and per backend: attempts by status, success rate, and
    /// p50/p95 wall time of successful attempts. Unreadable files are named on stderr.
    Summary {
        /// Telemetry directory.
        dir: PathBuf,
    },
    /// Merge the small files of each date partition into one file. Safe while writers write
    /// and readers read: no reader ever sees a row twice or misses one, and a crash loses
    /// nothing (how: docs/telemetry.md). Unreadable files are left alone and named.
    Compact {
        /// Telemetry directory.
        dir: PathBuf,
        /// Rows per Parquet row group in merged files.
        #[arg(long, default_value_t = 65_536)]
        row_group_rows: usize,
    },
}

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Summary { dir } => {
            let report = qroute::telemetry::read_dir(&dir)?;
            for (file, why) in &report.bad_files {
                eprintln!("error: {}: {why}", file.display());
            }
            out!(
                "{}",
                qroute::app::render::telemetry_summary(&report.records)
            );
            Ok(super::code(report.bad_files.is_empty()))
        }
        Command::Compact {
            dir,
            row_group_rows,
        } => {
            let r = compact(&dir, &CompactOptions { row_group_rows })?;
            for (file, why) in &r.bad_files {
                eprintln!("error: {}: {why} (left alone)", file.display());
            }
            outln!(
                "{} file(s) with {} row(s) merged into {} file(s) in {} partition(s): {} -> {}",
                r.merged_files,
                r.rows,
                r.written.len(),
                r.partitions,
                human_bytes(r.bytes_before as f64),
                human_bytes(r.bytes_after as f64),
            );
            if r.leftovers_removed > 0 {
                outln!(
                    "{} file(s) already merged by an interrupted compaction removed",
                    r.leftovers_removed
                );
            }
            Ok(super::code(r.bad_files.is_empty()))
        }
    }
}
