//! `qroute api-key`: a new random key, and the `[[api.key]]` entry that accepts it.

use std::process::ExitCode;

use anyhow::Context;
use qroute::api::auth::{Scope, hash_key, new_key};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The key's name in the configuration.
    #[arg(long, default_value = "default")]
    name: String,
    /// What it may do: route, jobs, admin (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "route")]
    scopes: Vec<Scope>,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let key = new_key().context("cannot read the system's random source")?;
    eprintln!("the key (give it to the client; it is not stored anywhere):");
    outln!("{key}");
    eprintln!("\nadd to qroute.toml:");
    let scopes: Vec<String> = args
        .scopes
        .iter()
        .map(|s| format!("\"{}\"", s.name()))
        .collect();
    eprintln!(
        "[[api.key]]\nname = \"{}\"\nsha256 = \"{}\"\nscopes = [{}]",
        args.name,
        hash_key(&key),
        scopes.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
