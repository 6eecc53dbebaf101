//! The `qroute` command line: argument parsing only; the work is in the library.

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

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use qroute::backend::registry::builtin;
use qroute::backend::{
    Availability, Backend, BackendOptions, Isolation, Precision, Registry, RunSpec, human_bytes,
};
use qroute::circuit::generate::{GenKind, GenSpec, generate};
use qroute::circuit::qasm;
use qroute::config::{Config, default_price};
use qroute::display::{Align, table};
use qroute::features::{self, FeatureRow, OutputFormat};
use qroute::telemetry::collect::{CollectSpec, JobOrder, Progress, collect};

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
    /// List the configured backends: name, kind, limits, price, and whether each is available.
    Backends {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run one OpenQASM 2 file on one backend and print the top counts, time, memory and
    /// fidelity.
    ///
    /// The run happens in a `qroute executor` child process, so a timeout or an out-of-memory
    /// run kills the child, not this command (use --in-process to skip that).
    Simulate {
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
    },
    /// Run every circuit on every backend and record each attempt as telemetry (Parquet).
    ///
    /// A full-information sweep: ineligible and timed-out attempts are recorded too (a
    /// timeout row carries the timeout). The order is seeded (see --order); a (circuit,
    /// backend) that timed out or was refused is not repeated. Rerunning with the same
    /// arguments resumes: attempts already in DIR are skipped. Ctrl-C stops after the running
    /// attempt, flushes what was recorded and prints a summary. At the end the files of
    /// DIR are compacted (as `qroute telemetry compact`). Columns: docs/telemetry.md.
    Collect {
        /// OpenQASM 2 files or directories (searched recursively for *.qasm).
        #[arg(required = true)]
        circuits: Vec<PathBuf>,
        /// Backends: `all`, or names separated by commas (see `qroute backends`).
        #[arg(long, default_value = "all")]
        backends: String,
        /// Attempts per circuit and backend.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// Shots per attempt.
        #[arg(long, default_value_t = 1024)]
        shots: u64,
        /// Timeout per attempt, seconds.
        #[arg(long, default_value_t = 20.0)]
        timeout: f64,
        /// Threads per attempt.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Seed of the order and of every run.
        #[arg(long, short = 's', default_value_t = 0)]
        seed: u64,
        /// `by-circuit`: one circuit at a time (circuits and backends in a seeded random
        /// order), all its backends and repetitions together, so they are timed under the
        /// same host speed; `shuffled`: first attempts of the whole sweep in a random order,
        /// then second attempts, so a circuit's runs lie far apart. On a host whose speed
        /// drifts, `by-circuit` measures which backend is fastest far more repeatably
        /// (docs/telemetry.md).
        #[arg(long, value_enum, default_value = "by-circuit")]
        order: JobOrder,
        /// Telemetry directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Train latency, risk and cost models per backend from telemetry, evaluate them on
    /// circuit families they did not see, and write the model set with its report.
    ///
    /// Writes OUT/meta.json (versions, training fingerprint, hyperparameters, metrics),
    /// OUT/model.bin (checksummed) and OUT/report.md. Every reported number comes from
    /// leave-family-out cross-validation or from --holdout-families. How the models work:
    /// docs/models.md.
    Train {
        /// Telemetry directories (repeatable).
        #[arg(long, required = true, num_args = 1..)]
        telemetry: Vec<PathBuf>,
        /// Output directory, e.g. models/NAME.
        #[arg(long)]
        out: PathBuf,
        /// Families kept out of training entirely and evaluated once at the end
        /// (comma-separated, as in the telemetry's `family` column).
        #[arg(long, value_delimiter = ',')]
        holdout_families: Vec<String>,
        /// Seed of the folds and the forests.
        #[arg(long, short = 's', default_value_t = 0)]
        seed: u64,
        /// Trees per latency forest.
        #[arg(long, default_value_t = 100)]
        trees: usize,
        /// Depth limit of the latency forests.
        #[arg(long, default_value_t = 10)]
        max_depth: u16,
        /// Features tried per split in the latency forests (of 33).
        #[arg(long, default_value_t = 16)]
        features_per_split: usize,
        /// Fewest circuits in a leaf of the latency forests.
        #[arg(long, default_value_t = 5)]
        min_leaf: usize,
        /// Trees per failure/timeout risk forest.
        #[arg(long, default_value_t = 50)]
        risk_trees: usize,
        /// Share of the residual forest's correction added to the regression in mode
        /// `residual`, in [0, 1] (a learning rate: the forest's leaves are scaled by it).
        #[arg(long, default_value_t = 1.0)]
        residual_weight: f64,
        /// How each backend's latency mode is chosen: per backend by the lowest held-out
        /// `median-ape` or `mean-log-error` (timeouts counted one-sided), or `residual` for
        /// every backend. docs/models.md compares them.
        #[arg(long, default_value = "median-ape")]
        mode_criterion: qroute::model::artifact::ModeCriterion,
        /// Folds of the leave-family-out cross-validation: at least 2, at most one per
        /// training family (more are cut to that).
        #[arg(long, default_value_t = 5)]
        folds: usize,
    },
    /// Recommend a backend for each circuit, with why, the predicted time and its interval,
    /// cost and confidence; nothing is run.
    ///
    /// Eligibility first (Clifford-only, memory, qubit limits, availability), then the
    /// strategy ranks the rest with the model set (default models/default). `--format json`
    /// prints every recommendation in full: ranked alternatives and refused backends with
    /// reasons. How strategies score: docs/routing.md.
    Route {
        #[command(flatten)]
        route: cmd::route::RouteArgs,
        /// Output format: `table` or `json`.
        #[arg(long, value_enum, default_value_t = cmd::route::RouteFormat::Table)]
        format: cmd::route::RouteFormat,
    },
    /// Route each circuit, run it, and record every attempt as telemetry.
    ///
    /// Prints per circuit the backend, where it ran (in this process when predicted far
    /// below its timeout and memory, else in an executor process), predicted and actual time
    /// and cost, then a summary against always-statevector as the model predicts it. A failed
    /// or timed-out attempt is retried on the next eligible backend (bounded, with backoff);
    /// a backend failing repeatedly is skipped by its circuit breaker. Ctrl-C stops after the
    /// running circuit and flushes the telemetry.
    Run {
        #[command(flatten)]
        route: cmd::route::RouteArgs,
        #[command(flatten)]
        run: cmd::route::RunArgs,
    },
    /// Plan a batch over backend slots to finish soonest (makespan) or cost least, within a
    /// deadline and budget; with --execute, run it and compare predicted with actual.
    ///
    /// Jobs go in decreasing order of predicted duration (LPT), each to the slot where it
    /// finishes first (makespan) or to the cheapest backend that meets the deadline (cost),
    /// never spending beyond what the budget leaves for the remaining jobs; local search then
    /// shortens the plan. Executing runs one worker per slot; a free slot takes queued work
    /// from a slower backend when that finishes it sooner.
    Plan {
        #[command(flatten)]
        plan: cmd::route::PlanArgs,
        #[command(flatten)]
        run: cmd::route::RunArgs,
    },
    /// Replay recorded full-information traces under routing policies: what each would have
    /// cost in time and money, against the oracle.
    ///
    /// Each choice is scored with what that backend recorded for the circuit; a failed or
    /// timed-out choice costs its lost time plus a retry on the fastest backend. The model
    /// never sees the families it routes: --train fits one model set per fold of families
    /// without that fold; --model is refused when it was trained on a replayed family.
    /// Writes OUT/config.toml, OUT/results.parquet and OUT/report.md. Method:
    /// docs/replay.md.
    Replay(cmd::replay::ReplayArgs),
    /// Serve routing recommendations and job execution over HTTP/JSON (POST /v1/route,
    /// POST /v1/plan, POST /v1/jobs, GET /v1/jobs/{id}, GET /v1/backends, GET /v1/stats,
    /// POST /v1/models/reload, GET /healthz, GET /readyz, GET /metrics, GET /openapi.json).
    ///
    /// Listens on loopback by default. API keys, rate limits and the request timeout come
    /// from `[api]` in qroute.toml (`qroute api-key` makes a key); without keys the API is
    /// open. Jobs are routed and run by --job-workers threads, every attempt written to
    /// --telemetry. Stops on Ctrl-C or SIGTERM: no new connections or jobs, requests in
    /// flight answered, running jobs given --shutdown-grace to end, telemetry flushed. The model set is reloaded when its meta.json changes
    /// (`model_update_frequency` in qroute.toml) or on POST /v1/models/reload; a set that
    /// fails to load leaves the current one serving.
    #[cfg(feature = "server")]
    Serve(cmd::serve::ServeArgs),
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
    Worker(cmd::queue::WorkerArgs),
    /// Inspect the Redis job queue.
    #[cfg(feature = "redis")]
    Queue {
        #[command(subcommand)]
        command: cmd::queue::QueueCommand,
    },
    /// Make a new API key for `qroute serve`: prints the key, and on stderr the
    /// `[[api.key]]` entry (its SHA-256, never the key) to add to qroute.toml.
    #[cfg(feature = "server")]
    ApiKey(cmd::serve::ApiKeyArgs),
    /// Inspect a telemetry directory.
    #[command(subcommand)]
    Telemetry(TelemetryCommand),
    /// Serve executor-protocol requests on stdin/stdout (started by qroute itself).
    #[command(hide = true)]
    Executor {
        /// Address-space cap of this process, bytes.
        #[arg(long)]
        memory_cap: Option<u64>,
    },
}

#[derive(Subcommand)]
enum TelemetryCommand {
    /// Rows, circuits, time span, and per backend: attempts by status, success rate, and
    /// p50/p95 wall time of successful attempts. Unreadable files are named on stderr.
    Summary {
        /// Telemetry directory.
        dir: PathBuf,
    },
    /// Merge the small files of each date partition into one file. Safe while writers write
    /// and readers read: no reader ever sees a row twice or misses one, and a crash loses
    /// nothing (how: docs/telemetry.md). Unreadable files are left alone and named.
    Compact {
        /// Telemetry directory.
        dir: PathBuf,
        /// Rows per Parquet row group in merged files.
        #[arg(long, default_value_t = 65_536)]
        row_group_rows: usize,
    },
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

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => {
            let default = Path::new("qroute.toml");
            if default.exists() {
                Ok(Config::load(default)?)
            } else {
                Ok(Config::default())
            }
        }
    }
}

fn process_isolation() -> anyhow::Result<Isolation> {
    let exe = std::env::current_exe().context("cannot find the qroute executable")?;
    Ok(Isolation::Process { exe: exe.into() })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config_path = cli.config.clone();
    match cli.command {
        Command::Backends { json } => {
            let config = load_config(config_path.as_deref())?;
            let reg = Registry::from_config(&config, &process_isolation()?)?;
            backends_cmd(&reg, json)
        }
        Command::Simulate {
            backend,
            shots,
            seed,
            timeout,
            threads,
            memory_budget,
            precision,
            in_process,
            top,
            file,
        } => {
            let config = load_config(config_path.as_deref())?;
            let isolation = if in_process {
                Isolation::InProcess
            } else {
                process_isolation()?
            };
            qroute::bounds::shots(shots)?;
            qroute::bounds::threads(threads)?;
            let reg = Registry::from_config(&config, &isolation)?;
            let timeout = cmd::route::seconds("--timeout", timeout)?;
            let spec = RunSpec {
                shots,
                seed,
                memory_budget,
                threads,
                timeout,
                options: BackendOptions {
                    precision,
                    ..Default::default()
                },
            };
            simulate_cmd(&reg, &backend, &spec, &file, top)
        }
        Command::Collect {
            circuits,
            backends,
            repeat,
            shots,
            timeout,
            threads,
            seed,
            order,
            out,
        } => {
            let timeout = cmd::route::seconds("--timeout", Some(timeout))?.unwrap_or_default();
            if repeat == 0 {
                bail!("--repeat must be at least 1");
            }
            let config = load_config(config_path.as_deref())?;
            let reg = Registry::from_config(&config, &process_isolation()?)?;
            let files = qroute::circuit::files::discover(&circuits)?;
            let spec = CollectSpec {
                circuits: files,
                backends: if backends == "all" {
                    Vec::new()
                } else {
                    backends.split(',').map(|s| s.trim().to_string()).collect()
                },
                repeat,
                shots,
                timeout,
                threads,
                seed,
                order,
                out,
                tags: corpus_tags,
            };
            collect_cmd(&spec, &reg)
        }
        Command::Train {
            telemetry,
            out,
            holdout_families,
            seed,
            trees,
            max_depth,
            features_per_split,
            min_leaf,
            risk_trees,
            residual_weight,
            mode_criterion,
            folds,
        } => {
            let mut hyper = qroute::model::artifact::Hyperparameters {
                seed,
                folds,
                ..Default::default()
            };
            hyper.forest.n_trees = trees;
            hyper.forest.max_depth = max_depth;
            hyper.forest.features_per_split = features_per_split;
            hyper.forest.min_samples_leaf = min_leaf;
            hyper.risk_forest.n_trees = risk_trees;
            hyper.residual_weight = residual_weight;
            hyper.mode_criterion = mode_criterion;
            train_cmd(telemetry, out, holdout_families, hyper)
        }
        Command::Telemetry(TelemetryCommand::Summary { dir }) => {
            let report = qroute::telemetry::read_dir(&dir)?;
            for (file, why) in &report.bad_files {
                eprintln!("error: {}: {why}", file.display());
            }
            let summary = qroute::telemetry::summary::summarize(&report.records);
            out!("{}", qroute::telemetry::summary::render(&summary));
            let floor = qroute::model::artifact::Hyperparameters::default().min_fidelity;
            match qroute::model::noise::of_records(&report.records, floor, 0) {
                Ok(Some(r)) => outln!("{r}"),
                Ok(None) => outln!(
                    "repeatability: no circuit ran at least twice on every backend that \
                     succeeded (collect with --repeat 2 or more)"
                ),
                Err(e) => outln!("repeatability: {e}"),
            }
            Ok(if report.bad_files.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Telemetry(TelemetryCommand::Compact {
            dir,
            row_group_rows,
        }) => {
            let opts = qroute::telemetry::compact::CompactOptions { row_group_rows };
            let r = qroute::telemetry::compact::compact(&dir, &opts)?;
            for (file, why) in &r.bad_files {
                eprintln!("error: {}: {why} (left alone)", file.display());
            }
            outln!(
                "{} file(s) with {} row(s) merged into {} file(s) in {} partition(s): {} -> {}",
                r.merged_files,
                r.rows,
                r.written.len(),
                r.partitions,
                qroute::display::human_bytes(r.bytes_before as f64),
                qroute::display::human_bytes(r.bytes_after as f64),
            );
            if r.leftovers_removed > 0 {
                outln!(
                    "{} file(s) already merged by an interrupted compaction removed",
                    r.leftovers_removed
                );
            }
            Ok(if r.bad_files.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Executor { memory_cap } => {
            if let Some(cap) = memory_cap {
                rlimit::setrlimit(rlimit::Resource::AS, cap, cap)
                    .context("cannot set the memory cap")?;
            }
            let resolve =
                |name: &str| -> Option<Arc<dyn Backend>> { builtin(name, default_price()) };
            qroute::backend::process::serve(
                resolve,
                std::io::stdin().lock(),
                std::io::stdout().lock(),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Features { files, format } => features_cmd(&files, format),
        Command::Route { route, format } => {
            let config = load_config(config_path.as_deref())?;
            cmd::route::route_cmd(&route, format, &config, config_path.as_deref())
        }
        #[cfg(feature = "redis")]
        Command::Worker(args) => {
            let config = load_config(config_path.as_deref())?;
            cmd::queue::worker_cmd(&args, &config)
        }
        #[cfg(feature = "redis")]
        Command::Queue { command } => {
            let config = load_config(config_path.as_deref())?;
            cmd::queue::queue_cmd(&command, &config)
        }
        #[cfg(feature = "server")]
        Command::Serve(args) => {
            let config = load_config(config_path.as_deref())?;
            cmd::serve::serve_cmd(&args, &config, config_path.as_deref())
        }
        #[cfg(feature = "server")]
        Command::ApiKey(args) => cmd::serve::api_key_cmd(&args),
        Command::Replay(args) => {
            let config = load_config(config_path.as_deref())?;
            let router = config
                .router
                .check()
                .context("invalid [router] configuration")?;
            cmd::replay::replay_cmd(&args, router)
        }
        Command::Plan { plan, run } => {
            let config = load_config(config_path.as_deref())?;
            cmd::route::plan_cmd(&plan, &run, &config, config_path.as_deref())
        }
        Command::Run { route, run } => {
            let config = load_config(config_path.as_deref())?;
            cmd::route::run_cmd(&route, &run, &config, config_path.as_deref())
        }
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
                None => out!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn features_cmd(inputs: &[PathBuf], format: OutputFormat) -> anyhow::Result<ExitCode> {
    let files = qroute::circuit::files::discover(inputs)?;
    if files.is_empty() {
        bail!("no *.qasm files found in the given paths");
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
    // An empty table says nothing; csv and json stay well-formed for a reader.
    if !rows.is_empty() || format != OutputFormat::Table {
        out!("{}", features::render(&rows, format));
    }
    if failed > 0 {
        eprintln!("{failed} of {} file(s) failed", files.len());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn backends_cmd(reg: &Registry, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let rows: Vec<serde_json::Value> = reg
            .iter()
            .map(|b| {
                serde_json::json!({
                    "name": b.name(),
                    "kind": b.kind().to_string(),
                    "version": b.version(),
                    "capabilities": b.capabilities(),
                    "price": b.price(),
                    "available": b.availability() == Availability::Available,
                    "unavailable_reason": match b.availability() {
                        Availability::Unavailable(r) => Some(r),
                        Availability::Available => None,
                    },
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut lines = vec![vec![
        "name".to_string(),
        "kind".into(),
        "limits".into(),
        "price (core-s / shot / task)".into(),
        "status".into(),
    ]];
    for b in reg.iter() {
        let c = b.capabilities();
        let mut limits = Vec::new();
        if let Some(q) = c.max_qubits {
            limits.push(format!("<= {q} qubits"));
        }
        if c.clifford_only {
            limits.push("Clifford only".into());
        }
        if c.approximate {
            limits.push("approximate".into());
        }
        if b.kind() == qroute::backend::BackendKind::Statevector {
            limits.push("16 B x 2^n memory".into());
        }
        let p = b.price();
        lines.push(vec![
            b.name().to_string(),
            b.kind().to_string(),
            if limits.is_empty() {
                "-".into()
            } else {
                limits.join(", ")
            },
            format!("{} / {} / {}", p.per_core_second, p.per_shot, p.per_task),
            match b.availability() {
                Availability::Available => "available".into(),
                Availability::Unavailable(r) => format!("unavailable: {r}"),
            },
        ]);
    }
    out!("{}", table(&lines, Align::Left));
    Ok(ExitCode::SUCCESS)
}

fn simulate_cmd(
    reg: &Registry,
    name: &str,
    spec: &RunSpec,
    file: &Path,
    top: usize,
) -> anyhow::Result<ExitCode> {
    let Some(backend) = reg.get(name) else {
        let names: Vec<&str> = reg.iter().map(|b| b.name()).collect();
        bail!(
            "unknown backend `{name}` (configured: {})",
            names.join(", ")
        );
    };
    let circuit = qasm::parse_file(file)?;
    let f = features::extract(&circuit);
    if let Err(e) = backend.check(&circuit, &f, spec) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(1));
    }
    let out = match backend.execute(&circuit, spec) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let cores = if spec.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        spec.threads
    };
    let cost = backend.price().cost(out.wall, cores, spec.shots);
    let n = f[features::Feature::NumQubits];
    outln!(
        "circuit      {} ({n} qubits, {} gates, id {})",
        file.display(),
        f[features::Feature::GateCount],
        circuit.id()
    );
    let engine = out.metadata.get("engine").cloned().unwrap_or_default();
    outln!(
        "backend      {} ({}{})",
        backend.name(),
        backend.version(),
        if engine.is_empty() {
            String::new()
        } else {
            format!(", engine {engine}")
        }
    );
    outln!("shots        {} (seed {})", spec.shots, spec.seed);
    outln!("wall time    {:.3} ms", out.wall.as_secs_f64() * 1e3);
    outln!("cpu time     {:.3} ms", out.cpu.as_secs_f64() * 1e3);
    match out.peak_memory {
        Some(m) => outln!("peak memory  {}", human_bytes(m as f64)),
        None => outln!("peak memory  not measured (in-process run)"),
    }
    outln!(
        "fidelity     {}{}",
        out.fidelity,
        if out.fidelity == 1.0 {
            " (exact)"
        } else {
            " (lower bound)"
        }
    );
    outln!("cost         {cost:.9}");
    let mut counts: Vec<(&String, &u64)> = out.counts.iter().collect();
    counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    outln!(
        "counts       top {} of {} outcome(s), classical bit 0 rightmost",
        top.min(counts.len()),
        counts.len()
    );
    let total: u64 = out.counts.values().sum();
    for (bits, c) in counts.iter().take(top) {
        let shown = if bits.is_empty() {
            "(no classical bits)"
        } else {
            bits.as_str()
        };
        outln!(
            "  {shown}  {c:>8}  {:>6.2}%",
            **c as f64 * 100.0 / total.max(1) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Source and family of a corpus-style path: `mqtbench/qft_16.qasm` → (`mqtbench`, `qft`),
/// `clifford/cliff_layered_n100_d10.qasm` → (`clifford`, `cliff_layered`).
fn corpus_tags(path: &Path) -> (Option<String>, Option<String>) {
    let source = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned());
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let family = stem.map(|s| {
        let parts: Vec<&str> = s.split('_').collect();
        let keep: Vec<&str> = parts
            .iter()
            .take_while(|p| {
                let digits = p.trim_start_matches(['n', 'd']);
                digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit())
            })
            .copied()
            .collect();
        keep.join("_")
    });
    (source, family)
}

fn collect_cmd(spec: &CollectSpec, reg: &Registry) -> anyhow::Result<ExitCode> {
    static STOP: AtomicBool = AtomicBool::new(false);
    ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = collect(spec, reg, &STOP, |p| match p {
        Progress::Planned { todo, done_before } => {
            bar.set_length(todo as u64);
            if done_before > 0 {
                bar.println(format!(
                    "resuming: {done_before} attempt(s) already in {}",
                    spec.out.display()
                ));
            }
        }
        Progress::Job {
            circuit,
            backend,
            status,
        } => {
            bar.inc(1);
            let name = Path::new(&circuit)
                .file_name()
                .map_or(circuit.clone(), |n| n.to_string_lossy().into_owned());
            bar.set_message(format!("{name} on {backend}: {}", status.as_str()));
        }
    })?;
    bar.finish_and_clear();
    for bad in &summary.bad_circuits {
        eprintln!("error: {bad}");
    }
    outln!(
        "recorded {} attempt(s) in {}: {} ok, {} failed, {} timeout, {} ineligible; {} not repeated after a timeout or refusal; {} already there; {} duplicate circuit file(s) skipped{}",
        summary.ok + summary.failed + summary.timeout + summary.ineligible,
        spec.out.display(),
        summary.ok,
        summary.failed,
        summary.timeout,
        summary.ineligible,
        summary.skipped,
        summary.done_before,
        summary.duplicates,
        if summary.interrupted > 0 {
            format!(
                "; interrupted with {} left (rerun to resume)",
                summary.interrupted
            )
        } else {
            String::new()
        }
    );
    // One file per partition instead of one per flush; safe beside readers and writers.
    use qroute::telemetry::compact::{CompactOptions, compact};
    match compact(&spec.out, &CompactOptions::default()) {
        Ok(r) if r.merged_files > 0 => outln!(
            "compacted {} file(s) into {} ({} -> {})",
            r.merged_files,
            r.written.len(),
            qroute::display::human_bytes(r.bytes_before as f64),
            qroute::display::human_bytes(r.bytes_after as f64)
        ),
        Ok(_) => {}
        Err(e) => eprintln!(
            "warning: the recorded files were kept as they are, not compacted ({e}); \
             `qroute telemetry compact {}` does it later",
            spec.out.display()
        ),
    }
    Ok(
        if summary.bad_circuits.is_empty() && summary.interrupted == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

fn train_cmd(
    telemetry: Vec<PathBuf>,
    out: PathBuf,
    holdout_families: Vec<String>,
    hyper: qroute::model::artifact::Hyperparameters,
) -> anyhow::Result<ExitCode> {
    use qroute::model::train::{Step, TrainSpec, train};
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "models".into());
    let spec = TrainSpec {
        telemetry,
        name,
        holdout_families,
        hyper,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} fits, ETA {eta}")
            .context("progress template")?
            .progress_chars("=> "),
    );
    bar.set_message("training");
    let started = std::time::Instant::now();
    let mut bad = 0;
    let mut set = train(&spec, |step| match step {
        Step::Read { rows, bad_files } => {
            for (f, why) in &bad_files {
                bar.suspend(|| eprintln!("error: {}: {why} (skipped)", f.display()));
            }
            bad = bad_files.len();
            bar.suspend(|| eprintln!("{rows} telemetry rows read"));
        }
        Step::Planned(n) => bar.set_length(n as u64),
        Step::Fitted => bar.inc(1),
    })?;
    bar.finish_and_clear();
    set.save(&out)?;
    let report = qroute::model::report::render(&set.meta);
    let report_path = out.join("report.md");
    std::fs::write(&report_path, &report)
        .with_context(|| format!("cannot write {}", report_path.display()))?;
    let sel = &set.meta.metrics.cv.selection;
    outln!(
        "{} backends trained in {:.1} s -> {} (report: {})",
        set.backends.len(),
        started.elapsed().as_secs_f64(),
        out.display(),
        report_path.display()
    );
    outln!(
        "leave-family-out: regret {:.3}, top-1 {:.1}%, within 10% of best {:.1}% over {} circuits",
        sel.model.regret,
        100.0 * sel.model.top1,
        100.0 * sel.model.within_10pct,
        sel.circuits
    );
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
