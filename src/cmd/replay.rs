//! `qroute replay`.

use std::path::Path;
use std::process::ExitCode;

use qroute::app::experiment::ReplayParams;
use qroute::config::Config;

pub(crate) fn run(
    args: &ReplayParams,
    config: &Config,
    path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let router = qroute::app::router::settings(config, path)?;
    // As a user would type it, whatever path the binary was started from.
    let typed = std::iter::once("qroute".to_string()).chain(std::env::args().skip(1));
    let spec = args.check(typed.collect::<Vec<_>>().join(" "))?;
    let bar = super::bar(false);
    let x = qroute::app::experiment::run(&spec, router, |m| bar.set_message(m.to_string()))?;
    bar.finish_and_clear();
    for (f, why) in &x.bad_files {
        eprintln!("error: {}: {why} (skipped)", f.display());
    }
    if let Some(why) = &x.no_figures {
        eprintln!("warning: no figures: {why}");
    }
    outln!("{}", qroute::app::render::replayed(&x, &args.out));
    Ok(super::code(x.bad_files.is_empty()))
}
