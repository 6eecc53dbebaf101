//! `qroute features`.

use std::path::PathBuf;
use std::process::ExitCode;

use qroute::features::{self, FeatureRow, OutputFormat};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// OpenQASM 2 files or directories.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format: `table` (features as rows, one column per file), `json`, or `csv`.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let (jobs, failed) = super::load_jobs(&args.files)?;
    let rows: Vec<FeatureRow> = jobs
        .into_iter()
        .map(|j| FeatureRow {
            circuit_id: j.circuit.id(),
            file: j.name,
            features: j.features,
        })
        .collect();
    // An empty table says nothing; csv and json stay well-formed for a reader.
    if !rows.is_empty() || args.format != OutputFormat::Table {
        out!("{}", features::render(&rows, args.format));
    }
    if failed > 0 {
        eprintln!("{failed} of {} file(s) failed", failed + rows.len());
    }
    Ok(super::code(failed == 0))
}
