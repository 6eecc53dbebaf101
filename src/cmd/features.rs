//! `qroute features`.

use std::process::ExitCode;

use qroute::app::params::FeaturesParams;
use qroute::features::OutputFormat;

pub(crate) fn run(args: &FeaturesParams) -> anyhow::Result<ExitCode> {
    let loaded = qroute::app::jobs::load(&args.files)?;
    super::show_parse(&loaded.errors, &loaded.warnings);
    let failed = loaded.errors.len();
    let rows = loaded.feature_rows();
    // An empty table says nothing; csv and json stay well-formed for a reader.
    if !rows.is_empty() || args.format != OutputFormat::Table {
        out!("{}", qroute::features::render(&rows, args.format));
    }
    if failed > 0 {
        eprintln!("{failed} of {} file(s) failed", failed + rows.len());
    }
    Ok(super::code(failed == 0))
}
