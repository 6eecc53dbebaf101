//! `qroute simulate`.

use std::path::PathBuf;
use std::process::ExitCode;

use qroute::backend::{BackendOptions, Isolation, Precision, RunSpec};
use qroute::config::Config;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Backend name (see `qroute backends`).
    #[arg(long, short = 'b')]
    backend: String,
    /// Shots to sample.
    #[arg(long, default_value_t = 1024)]
    shots: u64,
    /// Seed of the run.
    #[arg(long, short = 's', default_value_t = 0)]
    seed: u64,
    /// Kill the run after this many seconds.
    #[arg(long)]
    timeout: Option<f64>,
    /// Threads the simulator may use (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Memory budget in bytes (default: the machine's memory).
    #[arg(long)]
    memory_budget: Option<u64>,
    /// Floating-point precision, for backends that offer a choice (gpu: f32 by default;
    /// f64 needs an adapter with SHADER_F64).
    #[arg(long, value_enum)]
    precision: Option<Precision>,
    /// Run inside this process (no timeout, no isolation).
    #[arg(long)]
    in_process: bool,
    /// How many bitstrings to show.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// The circuit.
    file: PathBuf,
}

pub(crate) fn run(args: &Args, config: &Config) -> anyhow::Result<ExitCode> {
    let isolation = if args.in_process {
        Isolation::InProcess
    } else {
        qroute::app::process_isolation()?
    };
    let reg = config.registry(&isolation)?;
    let spec = RunSpec {
        shots: args.shots,
        seed: args.seed,
        memory_budget: args.memory_budget,
        threads: args.threads,
        timeout: args
            .timeout
            .map(|t| super::seconds("--timeout", t))
            .transpose()?,
        options: BackendOptions {
            precision: args.precision,
            ..Default::default()
        },
    };
    match qroute::app::simulate::run(&reg, &args.backend, &spec, &args.file)? {
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
