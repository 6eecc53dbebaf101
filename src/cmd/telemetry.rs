//! `qroute telemetry summary`, `compact` and `upgrade`.

use std::process::ExitCode;

use qroute::app::params::TelemetryCommand;

pub(crate) fn run(command: &TelemetryCommand) -> anyhow::Result<ExitCode> {
    let done = command.run()?;
    for (file, why) in &done.bad_files {
        eprintln!("error: {}: {why}{}", file.display(), done.skipped);
    }
    out!("{}", done.text);
    Ok(super::code(done.bad_files.is_empty()))
}
