//! `qroute run`.

use std::path::Path;
use std::process::ExitCode;

use qroute::app::batch::{BatchParams, Event};
use qroute::app::render;
use qroute::config::Config;

pub(crate) fn run(
    args: &BatchParams,
    config: &Config,
    path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let bar = super::bar(true);
    let ran = args.run(config, path, super::stop_on_ctrl_c()?, |e| match e {
        Event::Loaded {
            runs,
            errors,
            warnings,
        } => {
            bar.suspend(|| super::show_parse(errors, warnings));
            bar.set_length(runs as u64);
        }
        Event::Started(job) => bar.set_message(render::short(&job.name)),
        Event::Finished(_) => bar.inc(1),
    })?;
    bar.finish_and_clear();
    let done = &ran.batch;
    if done.not_run > 0 {
        eprintln!("interrupted: {} circuit(s) not run", done.not_run);
    }
    super::show(args.run.output.json(), &ran.to_json(), || {
        format!("{}\n", render::ran(&ran))
    })?;
    Ok(super::code(ran.all_ok()))
}
