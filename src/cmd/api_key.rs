//! `qroute api-key`: a new random key, and the `[[api.key]]` entry that accepts it.

use std::process::ExitCode;

use anyhow::Context;
use qroute::api::auth::{config_entry, new_key};
use qroute::app::params::ApiKeyParams;

pub(crate) fn run(args: &ApiKeyParams) -> anyhow::Result<ExitCode> {
    let key = new_key().context("cannot read the system's random source")?;
    eprintln!("the key (give it to the client; it is not stored anywhere):");
    outln!("{key}");
    eprintln!(
        "\nadd to qroute.toml:\n{}",
        config_entry(&args.name, &key, &args.scopes)
    );
    Ok(ExitCode::SUCCESS)
}
