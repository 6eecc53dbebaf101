//! The `qroute` command line: argument parsing, one library call per command ([`qroute::app`]
//! and the layers below it), and printing.

#![forbid(unsafe_code)]

/// Writing to stdout failed: the reader closed the pipe (`qroute route DIR | head`), or the
/// disk is full. `main` ends quietly on a closed pipe, as a command in a pipeline should.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to stdout: {0}")]
struct StdoutError(std::io::Error);

/// `print!` that returns a [`StdoutError`] instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($t)*).map_err($crate::StdoutError)?
    }};
}

/// `println!` that returns a [`StdoutError`] instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($t)*).map_err($crate::StdoutError)?
    }};
}

mod cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use qroute::app;

/// Predictive router and planner for quantum-circuit execution.
#[derive(Parser)]
#[command(version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Configuration file (default: ./qroute.toml when it exists, else built-in defaults).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// Each command's help is the doc comment of its parameters in `qroute::app`.
#[derive(Subcommand)]
enum Command {
    Features(app::params::FeaturesParams),
    Gen(app::params::GenParams),
    Backends(app::params::BackendsParams),
    Simulate(app::simulate::SimulateParams),
    Collect(app::collect::CollectParams),
    Train(app::train::TrainParams),
    Eval(app::eval::EvalParams),
    Route(app::params::RouteCommand),
    Run(app::batch::BatchParams),
    Plan(app::plan::PlanParams),
    Replay(app::experiment::ReplayParams),
    #[cfg(feature = "server")]
    Serve(app::service::ServeParams),
    #[cfg(feature = "redis")]
    Worker(app::worker::WorkerParams),
    /// Inspect the Redis job queue.
    #[cfg(feature = "redis")]
    #[command(subcommand)]
    Queue(app::params::QueueCommand),
    #[cfg(feature = "server")]
    ApiKey(app::params::ApiKeyParams),
    /// Inspect a telemetry directory.
    #[command(subcommand)]
    Telemetry(app::params::TelemetryCommand),
    #[command(hide = true)]
    Executor(app::params::ExecutorParams),
}

fn main() -> ExitCode {
    #[cfg(all(unix, feature = "gpu"))]
    app::quiet_gpu_driver();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<StdoutError>()
                    .is_some_and(|s| s.0.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let path = cli.config.as_deref();
    let config = || app::load_config(path);
    match cli.command {
        Command::Features(args) => cmd::features::run(&args),
        Command::Gen(args) => cmd::generate::run(&args),
        Command::Backends(args) => cmd::backends::run(&args, &config()?),
        Command::Simulate(args) => cmd::simulate::run(&args, &config()?),
        Command::Collect(args) => cmd::collect::run(&args, &config()?),
        Command::Train(args) => cmd::train::run(&args),
        Command::Eval(args) => cmd::eval::run(&args, &config()?, path),
        Command::Route(args) => cmd::route::run(&args, &config()?, path),
        Command::Run(args) => cmd::run::run(&args, &config()?, path),
        Command::Plan(args) => cmd::plan::run(&args, &config()?, path),
        Command::Replay(args) => cmd::replay::run(&args, &config()?, path),
        #[cfg(feature = "server")]
        Command::Serve(args) => cmd::serve::run(&args, &config()?, path),
        #[cfg(feature = "redis")]
        Command::Worker(args) => cmd::worker::run(&args, &config()?),
        #[cfg(feature = "redis")]
        Command::Queue(command) => cmd::queue::run(&command, &config()?),
        #[cfg(feature = "server")]
        Command::ApiKey(args) => cmd::api_key::run(&args),
        Command::Telemetry(command) => cmd::telemetry::run(&command),
        Command::Executor(args) => cmd::executor::run(&args),
    }
}

/// clap checks its definitions (duplicate or conflicting flags, such as a flattened
/// `--format` twice) only in debug builds, and the tests run in release.
#[cfg(test)]
#[test]
fn the_command_line_is_well_formed() {
    <Cli as clap::CommandFactory>::command().debug_assert();
}
