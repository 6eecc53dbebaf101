//! What a user gives a command, as given: unchecked numbers and paths from the command line, a
//! Python call or a host program. Each `check` (or a method named after what it returns)
//! refuses what is out of range with the flag's name and returns the valid value the `app`
//! functions take, so every front end checks the same way.
//!
//! With the `cli` feature the structs are also clap argument groups: `qroute <command>
//! --help` shows the doc comments and defaults written here, and nowhere else. The
//! parameters of a single command live beside the function it calls (`collect`, `train`,
//! `experiment`, `service`, `worker`, `simulate`); here are those several commands share.

use std::path::PathBuf;
use std::time::Duration;

use super::AppError;
use super::router::Via;
use crate::exec::{IsolationPolicy, RunOptions};
use crate::route::{Constraints, Strategy};

/// A positive number of seconds given as `flag`.
pub(crate) fn seconds(flag: &'static str, v: f64) -> crate::Result<Duration> {
    Ok(crate::bounds::positive(flag, v)?)
}

/// An out-of-range value of `flag`.
pub(crate) fn invalid(flag: &str, why: impl std::fmt::Display) -> crate::Error {
    AppError::Invalid(format!("{flag} {why}")).into()
}

/// Per-circuit settings and the model set, shared by `route`, `run` and `plan`.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct CircuitParams {
    /// Least acceptable fidelity, in [0, 1]; 1 refuses approximate backends that may
    /// truncate.
    #[cfg_attr(feature = "cli", arg(long))]
    pub min_fidelity: Option<f64>,
    /// Shots per circuit.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1024))]
    pub shots: u64,
    /// Model set directory (by default models/default, or the set compiled into qroute when
    /// there is none there).
    #[cfg_attr(
        feature = "cli",
        arg(long, env = "QROUTE_MODEL", default_value = super::router::DEFAULT_MODEL)
    )]
    pub model: PathBuf,
}

impl CircuitParams {
    /// The constraints of these settings, checked.
    pub fn constraints(&self) -> crate::Result<Constraints> {
        let c = Constraints {
            shots: Some(self.shots),
            min_fidelity: self.min_fidelity,
            ..Constraints::default()
        };
        c.check()?;
        Ok(c)
    }
}

/// What `route` and `run` share: the circuits and what each decision must respect.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct RouteParams {
    /// OpenQASM 2 files or directories (searched recursively for *.qasm).
    #[cfg_attr(feature = "cli", arg(required = true))]
    pub files: Vec<PathBuf>,
    /// Strategy (default: the configuration's, else `performance`).
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub strategy: Option<Strategy>,
    /// Most a circuit may cost.
    #[cfg_attr(feature = "cli", arg(long))]
    pub max_cost: Option<f64>,
    /// Latest acceptable finish per circuit, seconds.
    #[cfg_attr(feature = "cli", arg(long))]
    pub deadline: Option<f64>,
    /// Fidelity, shots and models.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub circuit: CircuitParams,
}

impl RouteParams {
    /// The constraints, checked once before any circuit is routed.
    pub fn constraints(&self) -> crate::Result<Constraints> {
        ConstraintParams {
            strategy: self.strategy,
            shots: self.circuit.shots,
            max_cost: self.max_cost,
            deadline: self.deadline,
            min_fidelity: self.circuit.min_fidelity,
            exclude: Vec::new(),
        }
        .check()
    }
}

/// What each routing decision must respect, as `route`, `run` and a host program (the Python
/// package) give it: unchecked numbers.
#[derive(Debug, Clone)]
pub struct ConstraintParams {
    /// Strategy (default: the configuration's).
    pub strategy: Option<Strategy>,
    /// Shots per circuit.
    pub shots: u64,
    /// Most a circuit may cost.
    pub max_cost: Option<f64>,
    /// Latest acceptable finish per circuit, seconds.
    pub deadline: Option<f64>,
    /// Least acceptable fidelity, in [0, 1].
    pub min_fidelity: Option<f64>,
    /// Backends not to consider.
    pub exclude: Vec<String>,
}

impl ConstraintParams {
    /// The constraints; a value out of range is refused by its flag's name.
    pub fn check(self) -> crate::Result<Constraints> {
        let c = Constraints {
            strategy: self.strategy,
            deadline: self
                .deadline
                .map(|d| seconds("--deadline", d))
                .transpose()?,
            max_cost: self.max_cost,
            shots: Some(self.shots),
            min_fidelity: self.min_fidelity,
            exclude: self.exclude,
            ..Constraints::default()
        };
        c.check()?;
        Ok(c)
    }
}

/// Where jobs run: in this process or an executor process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum IsolationChoice {
    /// In this process when predicted far below the timeout and memory limit, else in an
    /// executor process.
    Auto,
    /// Always in an executor process.
    Process,
    /// Always in this process (no timeout).
    InProcess,
}

/// How circuits are executed, shared by `run`, `plan --execute` and `serve`.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct ExecParams {
    /// Telemetry directory for every attempt.
    #[cfg_attr(feature = "cli", arg(long, default_value = "telemetry/runs"))]
    pub telemetry: PathBuf,
    /// Wall-clock limit per attempt in an executor process, seconds.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 60.0))]
    pub timeout: f64,
    /// Where jobs run: `auto` (in-process when predicted far below the timeout and memory
    /// limit, else an executor process), `process` or `in-process`.
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value_t = IsolationChoice::Auto))]
    pub isolation: IsolationChoice,
    /// Seed of every run.
    #[cfg_attr(feature = "cli", arg(long, short = 's', default_value_t = 0))]
    pub seed: u64,
    /// The Redis queue to run on instead of here.
    #[cfg(feature = "redis")]
    #[cfg_attr(feature = "cli", command(flatten))]
    pub queue: RedisParams,
}

impl ExecParams {
    /// How `what` runs jobs; refuses a timeout that is not a positive number.
    pub fn options(&self, what: &str) -> crate::Result<RunOptions> {
        Ok(RunOptions {
            timeout: seconds("--timeout", self.timeout)?,
            seed: self.seed,
            run_id: super::run_id(what),
            isolation: match self.isolation {
                IsolationChoice::Auto => IsolationPolicy::default(),
                IsolationChoice::Process => IsolationPolicy::Always,
                IsolationChoice::InProcess => IsolationPolicy::Never,
            },
            baseline: Some(super::BASELINE.into()),
        })
    }

    /// Where jobs run: on the Redis queue when one is given, else here.
    pub fn via(&self) -> crate::Result<Via> {
        #[cfg(feature = "redis")]
        if let Some(q) = self.queue.check()? {
            return Ok(Via::Queue(Box::new(q)));
        }
        Ok(Via::Here {
            exe: super::process_isolation()?,
        })
    }
}

/// What `run` and `plan --execute` add to execution: output and queue depth.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct RunParams {
    /// Where and how jobs run.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub exec: ExecParams,
    /// How to print: `table` or `json`.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub output: Output,
    /// Jobs waiting on the queue at once (with --redis; without it jobs run one by one).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 64))]
    pub in_flight: usize,
}

/// Where a Redis queue is, for `worker` and `queue status`.
#[cfg(feature = "redis")]
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct QueueAt {
    /// Redis URL, e.g. redis://127.0.0.1:6379 (or rediss:// for TLS).
    #[cfg_attr(feature = "cli", arg(long, env = "QROUTE_REDIS"))]
    pub redis: String,
    /// Prefix of every Redis key (separate queues on one Redis).
    #[cfg_attr(feature = "cli", arg(long, default_value = "qroute"))]
    pub queue_prefix: String,
}

#[cfg(feature = "redis")]
impl QueueAt {
    /// The queue's settings, with the defaults for the rest.
    pub fn params(&self) -> crate::queue::QueueParams {
        let mut p = crate::queue::QueueParams::new(&self.redis);
        p.prefix = self.queue_prefix.clone();
        p
    }
}

/// `--redis` of `run` and `serve`: route to the queue instead of running here.
#[cfg(feature = "redis")]
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct RedisParams {
    /// Redis URL: enqueue each job on its backend's stream for `qroute worker`s instead of
    /// running it here (e.g. redis://127.0.0.1:6379).
    #[cfg_attr(feature = "cli", arg(long, env = "QROUTE_REDIS"))]
    pub redis: Option<String>,
    /// Prefix of every Redis key (with --redis).
    #[cfg_attr(feature = "cli", arg(long, default_value = "qroute"))]
    pub queue_prefix: String,
    /// Jobs a backend's stream may hold (with --redis); beyond it another backend is tried.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 100_000))]
    pub max_queue_len: u64,
    /// How long to wait for a job's result (with --redis), seconds.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 3600.0))]
    pub result_wait: f64,
}

#[cfg(feature = "redis")]
impl RedisParams {
    /// The checked queue settings, when a queue is given.
    pub fn check(&self) -> crate::Result<Option<crate::queue::QueueConfig>> {
        let Some(url) = &self.redis else {
            return Ok(None);
        };
        let mut p = crate::queue::QueueParams::new(url);
        p.prefix = self.queue_prefix.clone();
        p.max_len = self.max_queue_len;
        p.result_wait = seconds("--result-wait", self.result_wait)?;
        Ok(Some(p.check()?))
    }
}

/// How a command shows its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// Tables and lines for a reader.
    #[default]
    Table,
    /// Everything in full, as JSON.
    Json,
}

/// `--format table|json` of every command that prints a result (`--json`, the older spelling
/// of some commands, still works).
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Output {
    /// Output format: `table` or `json` (everything in full).
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value_t = Format::Table))]
    pub format: Format,
    /// The same as `--format json`.
    #[cfg_attr(feature = "cli", arg(long, hide = true))]
    pub json: bool,
}

impl Output {
    /// Whether to print JSON.
    pub fn json(&self) -> bool {
        self.json || self.format == Format::Json
    }
}

/// Recommend a backend for each circuit, with why, the predicted time and its interval,
/// cost and confidence; nothing is run.
///
/// Eligibility first (Clifford-only, memory, qubit limits, availability), then the strategy
/// ranks the rest with the model set (default models/default). `--format json` prints every
/// recommendation in full: ranked alternatives and refused backends with reasons. How
/// strategies score: docs/routing.md.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct RouteCommand {
    /// The circuits and their constraints.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub route: RouteParams,
    /// How to print: `table` (one reason per circuit) or `json` (every recommendation in
    /// full, with ranked alternatives and refused backends).
    #[cfg_attr(feature = "cli", command(flatten))]
    pub output: Output,
}

/// Print the feature vector (schema v2) of OpenQASM 2 circuits.
///
/// FILES may be files or directories (searched recursively for *.qasm). A file that fails to
/// parse is reported as `file:line:col: message` and the others are still printed; the exit
/// code is then 1. Feature definitions: docs/features.md.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct FeaturesParams {
    /// OpenQASM 2 files or directories.
    #[cfg_attr(feature = "cli", arg(required = true))]
    pub files: Vec<PathBuf>,
    /// Output format: `table` (features as rows, one column per file), `json`, or `csv`.
    #[cfg_attr(
        feature = "cli",
        arg(long, value_enum, default_value_t = crate::features::OutputFormat::Table)
    )]
    pub format: crate::features::OutputFormat,
}

/// Generate a seeded circuit and write it as OpenQASM 2.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct GenParams {
    /// The circuit.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub spec: crate::circuit::generate::GenSpec,
    /// Write to this file instead of standard output.
    #[cfg_attr(feature = "cli", arg(long, short = 'o'))]
    pub output: Option<PathBuf>,
}

/// List the configured backends: name, kind, limits, price, and whether each is available.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct BackendsParams {
    /// How to print: `table` or `json`.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub output: Output,
}

/// Make a new API key for `qroute serve`: prints the key, and on stderr the `[[api.key]]`
/// entry (its SHA-256, never the key) to add to qroute.toml.
#[cfg(feature = "server")]
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct ApiKeyParams {
    /// The key's name in the configuration.
    #[cfg_attr(feature = "cli", arg(long, default_value = "default"))]
    pub name: String,
    /// What it may do: route, jobs, admin (comma-separated).
    #[cfg_attr(
        feature = "cli",
        arg(long, value_delimiter = ',', default_value = "route")
    )]
    pub scopes: Vec<crate::api::auth::Scope>,
}

/// Serve executor-protocol requests on stdin/stdout (started by qroute itself).
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct ExecutorParams {
    /// Address-space cap of this process, bytes.
    #[cfg_attr(feature = "cli", arg(long))]
    pub memory_cap: Option<u64>,
}

/// Inspect a telemetry directory.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Subcommand))]
pub enum TelemetryCommand {
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
        #[cfg_attr(feature = "cli", arg(long, default_value_t = 65_536))]
        row_group_rows: usize,
    },
    /// Copy telemetry written with an older feature schema into a new directory, each row's
    /// features recomputed from its circuit file (matched by canonical circuit id; every
    /// other column unchanged). A model of the current schema refuses older rows.
    Upgrade(super::upgrade::UpgradeParams),
}

/// What a telemetry command did: its text for stdout, the files it could not read (for
/// stderr, with `skipped` after each reason).
#[derive(Debug, Clone)]
pub struct TelemetryDone {
    /// Text for stdout.
    pub text: String,
    /// Unreadable files and why.
    pub bad_files: Vec<(PathBuf, String)>,
    /// What happened to an unreadable file (` (left alone)`), or empty.
    pub skipped: &'static str,
}

impl TelemetryCommand {
    /// Runs the command.
    pub fn run(&self) -> crate::Result<TelemetryDone> {
        use crate::telemetry::compact::{CompactOptions, compact};
        let (text, bad_files, skipped) = match self {
            TelemetryCommand::Summary { dir } => {
                let report = crate::telemetry::read_dir(dir)?;
                (
                    super::render::telemetry_summary(&report.records),
                    report.bad_files,
                    "",
                )
            }
            TelemetryCommand::Compact {
                dir,
                row_group_rows,
            } => {
                let opts = CompactOptions {
                    row_group_rows: *row_group_rows,
                };
                let r = compact(dir, &opts)?;
                let text = format!("{}\n", super::render::compacted(&r));
                (text, r.bad_files, " (left alone)")
            }
            TelemetryCommand::Upgrade(p) => {
                let r = p.run()?;
                (super::render::upgraded(&r), r.bad_files, " (left out)")
            }
        };
        Ok(TelemetryDone {
            text,
            bad_files,
            skipped,
        })
    }
}

/// Inspect the Redis job queue.
#[cfg(feature = "redis")]
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Subcommand))]
pub enum QueueCommand {
    /// Backlog, pending jobs and live workers per backend; dead letters and counters.
    Status {
        /// The queue.
        #[cfg_attr(feature = "cli", command(flatten))]
        queue: QueueAt,
        /// How to print: `table` or `json`.
        #[cfg_attr(feature = "cli", command(flatten))]
        output: Output,
    },
}
