//! `qroute backends`.

use std::process::ExitCode;

use qroute::app::backends::{list, render};
use qroute::app::params::BackendsParams;
use qroute::config::Config;

pub(crate) fn run(args: &BackendsParams, config: &Config) -> anyhow::Result<ExitCode> {
    let backends = list(&config.registry(&qroute::app::process_isolation()?)?);
    super::show(args.output.json(), &backends, || render(&backends))?;
    Ok(ExitCode::SUCCESS)
}
