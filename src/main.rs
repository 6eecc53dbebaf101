//! The `qroute` command line: argument parsing only; the work is in the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use qroute::circuit::generate::{GenKind, GenSpec, generate};
use qroute::circuit::qasm;
use qroute::features::{self, FeatureRow, OutputFormat};

/// Predictive router and planner for quantum-circuit execution.
#[derive(Parser)]
#[command(version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the feature vector (schema v1) of OpenQASM 2 circuits.
    ///
    /// FILES may be files or directories (searched recursively for *.qasm). A file that fails
    /// to parse is reported as `file:line:col: message` and the others are still printed; the
    /// exit code is then 1. Feature definitions: docs/features.md.
    Features {
        /// OpenQASM 2 files or directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format: `table` (features as rows, one column per file), `json`, or `csv`.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Generate a seeded circuit and write it as OpenQASM 2.
    Gen {
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Features { files, format } => features_cmd(&files, format),
        Command::Gen {
            kind,
            qubits,
            depth,
            seed,
            output,
        } => {
            let spec = GenSpec {
                kind,
                qubits,
                depth,
                seed,
            }
            .check()?;
            let text = qasm::to_qasm(&generate(&spec));
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => std::io::stdout().write_all(text.as_bytes())?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn features_cmd(inputs: &[PathBuf], format: OutputFormat) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for input in inputs {
        collect_qasm(input, &mut files)
            .with_context(|| format!("cannot read {}", input.display()))?;
    }
    let mut rows = Vec::with_capacity(files.len());
    let mut failed = 0usize;
    for file in &files {
        match qasm::parse_file(file) {
            Ok(c) => rows.push(FeatureRow {
                file: file.display().to_string(),
                circuit_id: c.id(),
                features: features::extract(&c),
            }),
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    std::io::stdout().write_all(features::render(&rows, format).as_bytes())?;
    if failed > 0 {
        eprintln!("{failed} of {} file(s) failed", files.len());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// A file as is; a directory's *.qasm files, recursively, in sorted order.
fn collect_qasm(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_qasm(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "qasm") {
            out.push(p);
        }
    }
    Ok(())
}
