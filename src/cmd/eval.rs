//! `qroute eval`.

use std::path::Path;
use std::process::ExitCode;

use qroute::app::eval::EvalParams;
use qroute::config::Config;

pub(crate) fn run(
    args: &EvalParams,
    config: &Config,
    path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let e = args.run(qroute::app::router::settings(config, path)?)?;
    for (f, why) in &e.bad_files {
        eprintln!("error: {}: {why} (skipped)", f.display());
    }
    super::show(args.output.json(), &e, || {
        qroute::app::render::evaluated(&e)
    })?;
    Ok(super::code(e.bad_files.is_empty()))
}
