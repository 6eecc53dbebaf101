//! `qroute queue status`.

use std::process::ExitCode;

use qroute::app::params::QueueCommand;
use qroute::backend::Isolation;
use qroute::config::Config;

pub(crate) fn run(cmd: &QueueCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let QueueCommand::Status { queue, output } = cmd;
    let qc = queue.params().check()?;
    let registry = config.registry(&Isolation::InProcess)?;
    let names: Vec<String> = registry.iter().map(|b| b.name().to_string()).collect();
    let s = qroute::queue::status(&qc, &mut qc.connect(), &names)?;
    super::show(output.json(), &s, || qroute::app::render::queue_status(&s))?;
    Ok(ExitCode::SUCCESS)
}
