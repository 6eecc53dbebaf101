//! `qroute gen`.

use std::process::ExitCode;

use anyhow::Context;
use qroute::app::params::GenParams;
use qroute::circuit::{generate::generate, qasm::to_qasm};

pub(crate) fn run(args: &GenParams) -> anyhow::Result<ExitCode> {
    let text = to_qasm(&generate(&args.spec.check()?));
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
