//! `qroute backends`.

use std::process::ExitCode;

use qroute::app::backends::{list, render};

use qroute::config::Config;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args, config: &Config) -> anyhow::Result<ExitCode> {
    let reg = config.registry(&qroute::app::process_isolation()?)?;
    let backends = list(&reg);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&backends)?);
    } else {
        out!("{}", render(&backends));
    }
    Ok(ExitCode::SUCCESS)
}
