//! The `qroute` command line: argument parsing, one library call per command ([`qroute::app`]
//! and the layers below it), and printing.

#![forbid(unsafe_code)]

/// Writing to stdout failed: the reader closed the pipe (`qroute route DIR | head`), or the
/// disk is full. `main` ends quietly on a closed pipe, as a command in a pipeline should.
#[derive(Debug)]
struct StdoutError(std::io::Error);

impl std::fmt::Display for StdoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write to stdout: {}", self.0)
    }
}

impl std::error::Error for StdoutError {}

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

#[derive(Subcommand)]
enum Command {
    /// Print the feature vector (schema v1) of OpenQASM 2 circuits.
    ///
    /// FILES may be files or directories (searched recursively for *.qasm). A file that fails
    /// to parse is reported as `file:line:col: message` and the others are still printed; the
    /// exit code is then 1. Feature definitions: docs/features.md.
    Features(cmd::features::Args),
    /// Generate a seeded circuit and write it as OpenQASM 2.
    Gen(cmd::generate::Args),
    /// List the configured backends: name, kind, limits, price, and whether each is available.
    Backends(cmd::backends::Args),
    /// Run one OpenQASM 2 file on one backend and print the top counts, time, memory and
    /// fidelity.
    ///
    /// The run happens in a `qroute executor` child process, so a timeout or an out-of-memory
    /// run kills the child, not this command (use --in-process to skip that).
    Simulate(cmd::simulate::Args),
    /// Run every circuit on every backend and record each attempt as telemetry (Parquet).
    ///
    /// A full-information sweep: ineligible and timed-out attempts are recorded too (a
    /// timeout row carries the timeout). The order is seeded (see --order); a (circuit,
    /// backend) that timed out or was refused is not repeated. Rerunning with the same
    /// arguments resumes: attempts already in DIR are skipped. Ctrl-C stops after the running
    /// attempt, flushes what was recorded and prints a summary. At the end the files of
    /// DIR are compacted (as `qroute telemetry compact`). Columns: docs/telemetry.md.
    Collect(cmd::collect::Args),
    /// Train latency, risk and cost models per backend from telemetry, evaluate them on
    /// circuit families they did not see, and write the model set with its report.
    ///
    /// Writes OUT/meta.json (versions, training fingerprint, hyperparameters, metrics),
    /// OUT/model.bin (checksummed) and OUT/report.md. Every reported number comes from
    /// leave-family-out cross-validation or from --holdout-families. How the models work:
    /// docs/models.md.
    Train(cmd::train::Args),
    /// Recommend a backend for each circuit, with why, the predicted time and its interval,
    /// cost and confidence; nothing is run.
    ///
    /// Eligibility first (Clifford-only, memory, qubit limits, availability), then the
    /// strategy ranks the rest with the model set (default models/default). `--format json`
    /// prints every recommendation in full: ranked alternatives and refused backends with
    /// reasons. How strategies score: docs/routing.md.
    Route(cmd::route::Args),
    /// Route each circuit, run it, and record every attempt as telemetry.
    ///
    /// Prints per circuit the backend, where it ran (in this process when predicted far
    /// below its timeout and memory, else in an executor process), predicted and actual time
    /// and cost, then a summary against always-statevector as the model predicts it. A failed
    /// or timed-out attempt is retried on the next eligible backend (bounded, with backoff);
    /// a backend failing repeatedly is skipped by its circuit breaker. Ctrl-C stops after the
    /// running circuit and flushes the telemetry.
    Run(cmd::run::Args),
    /// Plan a batch over backend slots to finish soonest (makespan) or cost least, within a
    /// deadline and budget; with --execute, run it and compare predicted with actual.
    ///
    /// Jobs go in decreasing order of predicted duration (LPT), each to the slot where it
    /// finishes first (makespan) or to the cheapest backend that meets the deadline (cost),
    /// never spending beyond what the budget leaves for the remaining jobs; local search then
    /// shortens the plan. Executing runs one worker per slot; a free slot takes queued work
    /// from a slower backend when that finishes it sooner.
    Plan(cmd::plan::Args),
    /// Replay recorded full-information traces under routing policies: what each would have
    /// cost in time and money, against the oracle.
    ///
    /// Each choice is scored with what that backend recorded for the circuit; a failed or
    /// timed-out choice costs its lost time plus a retry on the fastest backend. The model
    /// never sees the families it routes: --train fits one model set per fold of families
    /// without that fold; --model is refused when it was trained on a replayed family.
    /// Writes OUT/config.toml, OUT/results.parquet and OUT/report.md. Method:
    /// docs/replay.md.
    Replay(cmd::replay::Args),
    /// Serve routing recommendations and job execution over HTTP/JSON (POST /v1/route,
    /// POST /v1/plan, POST /v1/jobs, GET /v1/jobs/{id}, GET /v1/backends, GET /v1/stats,
    /// POST /v1/models/reload, GET /healthz, GET /readyz, GET /metrics, GET /openapi.json).
    ///
    /// Listens on loopback by default. API keys, rate limits and the request timeout come
    /// from `[api]` in qroute.toml (`qroute api-key` makes a key); without keys the API is
    /// open. Jobs are routed and run by --job-workers threads, every attempt written to
    /// --telemetry. Stops on Ctrl-C or SIGTERM: no new connections or jobs, requests in
    /// flight answered, running jobs given --shutdown-grace to end, telemetry flushed. The
    /// model set is reloaded when its meta.json changes (`model_update_frequency` in
    /// qroute.toml) or on POST /v1/models/reload; a set that fails to load leaves the current
    /// one serving. Logs go to stderr, filtered by RUST_LOG (default `info`).
    #[cfg(feature = "server")]
    Serve(cmd::serve::Args),
    /// Serve backends' job streams on Redis: run each job in an executor process, write its
    /// result, record telemetry.
    ///
    /// One stream per backend (`qroute:jobs:<backend>`) read in the consumer group
    /// `workers`. A job pending on a worker that stopped heartbeating is claimed by another
    /// after --visibility-timeout; one delivered --max-deliveries times without a result goes
    /// to the dead-letter stream `qroute:dead` with its last error. Results are written once
    /// per job id. Ctrl-C or SIGTERM: no new jobs, running ones finish, telemetry flushed.
    /// Guide: docs/distributed.md.
    #[cfg(feature = "redis")]
    Worker(cmd::worker::Args),
    /// Inspect the Redis job queue.
    #[cfg(feature = "redis")]
    Queue {
        #[command(subcommand)]
        command: cmd::queue::Command,
    },
    /// Make a new API key for `qroute serve`: prints the key, and on stderr the
    /// `[[api.key]]` entry (its SHA-256, never the key) to add to qroute.toml.
    #[cfg(feature = "server")]
    ApiKey(cmd::api_key::Args),
    /// Inspect a telemetry directory.
    #[command(subcommand)]
    Telemetry(cmd::telemetry::Command),
    /// Serve executor-protocol requests on stdin/stdout (started by qroute itself).
    #[command(hide = true)]
    Executor(cmd::executor::Args),
}

fn main() -> ExitCode {
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
    let config = || qroute::app::load_config(path);
    match cli.command {
        Command::Features(args) => cmd::features::run(&args),
        Command::Gen(args) => cmd::generate::run(args),
        Command::Backends(args) => cmd::backends::run(&args, &config()?),
        Command::Simulate(args) => cmd::simulate::run(&args, &config()?),
        Command::Collect(args) => cmd::collect::run(args, &config()?),
        Command::Train(args) => cmd::train::run(args),
        Command::Route(args) => cmd::route::run(&args, &config()?, path),
        Command::Run(args) => cmd::run::run(&args, &config()?, path),
        Command::Plan(args) => cmd::plan::run(&args, &config()?, path),
        Command::Replay(args) => cmd::replay::run(&args, &config()?, path),
        #[cfg(feature = "server")]
        Command::Serve(args) => cmd::serve::run(&args, &config()?, path),
        #[cfg(feature = "redis")]
        Command::Worker(args) => cmd::worker::run(&args, &config()?),
        #[cfg(feature = "redis")]
        Command::Queue { command } => cmd::queue::run(&command, &config()?),
        #[cfg(feature = "server")]
        Command::ApiKey(args) => cmd::api_key::run(&args),
        Command::Telemetry(command) => cmd::telemetry::run(command),
        Command::Executor(args) => cmd::executor::run(&args),
    }
}
