//! `qroute serve`.

use std::path::Path;
use std::process::ExitCode;

use qroute::app::service::{ServeEvent, ServeParams};
use qroute::config::Config;

pub(crate) fn run(
    args: &ServeParams,
    config: &Config,
    path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    qroute::app::logging::init();
    let left = args.serve(config, path, |e| match e {
        ServeEvent::Listening {
            addr,
            model_version,
        } => {
            eprintln!("qroute serving on http://{addr} (model set {model_version})")
        }
        ServeEvent::Draining { grace } => {
            eprintln!("finishing running jobs (up to {} s)", grace.as_secs_f64())
        }
    })?;
    if left > 0 {
        eprintln!("{left} job(s) still running at the bound were abandoned");
    }
    eprintln!("qroute stopped");
    Ok(ExitCode::SUCCESS)
}
