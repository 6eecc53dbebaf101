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
    super::show_warnings(&r.warnings);
    super::show_bad_files(&r.bad_files);
    for (name, e) in r
        .routed
        .iter()
        .filter_map(|r| Some((&r.name, r.result.as_ref().err()?)))
    {
        eprintln!("error: {name}: {e}");
    }
    let json: Vec<_> = r.routed.iter().map(|r| r.to_json()).collect();
    super::show(args.output.json(), &json, || {
        let table = qroute::app::render::route_table(&r.routed);
        format!(
            "{table}\nmodel set {}, strategy {}\n",
            r.model_version, r.strategy
        )
    })?;
    Ok(super::code(r.failures() == 0))
}
