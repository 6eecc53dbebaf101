//! `qroute simulate`.

use std::process::ExitCode;

use qroute::app::simulate::SimulateParams;
use qroute::config::Config;

pub(crate) fn run(args: &SimulateParams, config: &Config) -> anyhow::Result<ExitCode> {
    match args.run(config)? {
        Ok(sim) => {
            out!("{}", sim.render(args.top));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
