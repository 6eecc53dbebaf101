//! `qroute route`.

use std::path::Path;
use std::process::ExitCode;

use qroute::app::params::RouteCommand;
use qroute::config::Config;

pub(crate) fn run(
    args: &RouteCommand,
    config: &Config,
    path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let r = args.route.route(config, path)?;
    super::show_parse(&r.bad_files, &r.warnings);
    for (name, e) in r
        .routed
        .iter()
        .filter_map(|r| Some((&r.name, r.result.as_ref().err()?)))
    {
        eprintln!("error: {name}: {e}");
    }
    super::show(args.output.json(), &r.to_json(), || {
        qroute::app::render::routed(&r)
    })?;
    Ok(super::code(r.failures() == 0))
}
