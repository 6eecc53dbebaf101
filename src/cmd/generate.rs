//! `qroute gen`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use qroute::circuit::generate::{GenKind, GenSpec, generate};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Which circuit.
    #[arg(value_enum)]
    kind: GenKind,
    /// Number of qubits.
    #[arg(long, short = 'n')]
    qubits: u32,
    /// Number of layers (random, clifford, brickwork, qaoa, hea). Default: 10 for random,
    /// the qubit count for clifford and brickwork, 2 for qaoa, 3 for hea.
    #[arg(long, short = 'd')]
    depth: Option<u32>,
    /// Seed for every random choice; the same seed gives the same circuit.
    #[arg(long, short = 's', default_value_t = 0)]
    seed: u64,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let spec = GenSpec {
        kind: args.kind,
        qubits: args.qubits,
        depth: args.depth,
        seed: args.seed,
    }
    .check()?;
    let text = qroute::circuit::qasm::to_qasm(&generate(&spec));
    match args.output {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
