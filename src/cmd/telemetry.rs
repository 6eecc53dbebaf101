//! `qroute telemetry summary` and `qroute telemetry compact`.

use std::process::ExitCode;

use qroute::app::params::TelemetryCommand;
use qroute::app::render;
use qroute::telemetry::compact::{CompactOptions, compact};

pub(crate) fn run(command: &TelemetryCommand) -> anyhow::Result<ExitCode> {
    let (text, bad_files, skipped) = match command {
        TelemetryCommand::Summary { dir } => {
            let report = qroute::telemetry::read_dir(dir)?;
            (
                render::telemetry_summary(&report.records),
                report.bad_files,
                "",
            )
        }
        TelemetryCommand::Compact {
            dir,
            row_group_rows,
        } => {
            let r = compact(
                dir,
                &CompactOptions {
                    row_group_rows: *row_group_rows,
                },
            )?;
            (
                format!("{}\n", render::compacted(&r)),
                r.bad_files,
                " (left alone)",
            )
        }
    };
    for (file, why) in &bad_files {
        eprintln!("error: {}: {why}{skipped}", file.display());
    }
    out!("{text}");
    Ok(super::code(bad_files.is_empty()))
}
