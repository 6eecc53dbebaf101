//! `qroute plan`.

use std::path::Path;
use std::process::ExitCode;

use qroute::app::plan::PlanParams;
use qroute::config::Config;

pub(crate) fn run(
    args: &PlanParams,
    config: &Config,
    path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let p = args.run(config, path)?;
    super::show_parse(&p.bad_files, &p.warnings);
    let all = serde_json::json!({ "plan": p.plan, "executed": p.executed });
    super::show(args.run.output.json(), &all, || {
        qroute::app::render::plan(&p.plan, p.executed.as_ref())
    })?;
    Ok(super::code(p.all_ok()))
}
