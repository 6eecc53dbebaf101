//! One file per command: its flags, one library call, and printing. What flags several
//! commands share lives here.

#[cfg(feature = "server")]
pub(crate) mod api_key;
pub(crate) mod backends;
pub(crate) mod collect;
pub(crate) mod executor;
pub(crate) mod features;
pub(crate) mod generate;
pub(crate) mod plan;
#[cfg(feature = "redis")]
pub(crate) mod queue;
pub(crate) mod replay;
pub(crate) mod route;
pub(crate) mod run;
#[cfg(feature = "server")]
pub(crate) mod serve;
pub(crate) mod simulate;
pub(crate) mod telemetry;
pub(crate) mod train;
#[cfg(feature = "redis")]
pub(crate) mod worker;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use qroute::app::router::Via;
use qroute::exec::{IsolationPolicy, RunOptions};
use qroute::route::Constraints;

/// 0 when everything went well, else 1 (2 is for errors that stop a command).
pub(crate) fn code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A positive number of seconds given to `flag`.
pub(crate) fn seconds(flag: &'static str, v: f64) -> anyhow::Result<Duration> {
    Ok(qroute::bounds::positive(flag, v)?)
}

/// The flag Ctrl-C sets: long commands stop between jobs and keep what they did.
pub(crate) fn stop_on_ctrl_c() -> anyhow::Result<&'static AtomicBool> {
    static STOP: AtomicBool = AtomicBool::new(false);
    ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C handler")?;
    Ok(&STOP)
}

/// A progress bar of `len` steps with elapsed time, ETA and a message.
pub(crate) fn bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Jobs of `paths`; the files that did not parse are named on stderr and counted.
pub(crate) fn load_jobs(paths: &[PathBuf]) -> anyhow::Result<(Vec<qroute::route::Job>, usize)> {
    let loaded = qroute::app::jobs::load(paths)?;
    for e in &loaded.errors {
        eprintln!("error: {e}");
    }
    Ok((loaded.jobs, loaded.errors.len()))
}

/// Per-circuit settings and the model set, shared by `route`, `run` and `plan`.
#[derive(clap::Args, Debug)]
pub(crate) struct CircuitArgs {
    /// Least acceptable fidelity, in [0, 1]; 1 refuses approximate backends that may
    /// truncate.
    #[arg(long)]
    pub(crate) min_fidelity: Option<f64>,
    /// Shots per circuit.
    #[arg(long, default_value_t = 1024)]
    pub(crate) shots: u64,
    /// Model set directory.
    #[arg(long, env = "QROUTE_MODEL", default_value = "models/default")]
    pub(crate) model: PathBuf,
}

impl CircuitArgs {
    /// The constraints of the flags (unchecked: the caller adds its own, then checks).
    pub(crate) fn constraints(&self) -> Constraints {
        Constraints {
            shots: Some(self.shots),
            min_fidelity: self.min_fidelity,
            ..Constraints::default()
        }
    }
}

/// How circuits are executed, shared by `run`, `plan --execute` and `serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct ExecArgs {
    /// Telemetry directory for every attempt.
    #[arg(long, default_value = "telemetry/runs")]
    pub(crate) telemetry: PathBuf,
    /// Wall-clock limit per attempt in an executor process, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) timeout: f64,
    /// Where jobs run: `auto` (in-process when predicted far below the timeout and memory
    /// limit, else an executor process), `process` or `in-process`.
    #[arg(long, value_enum, default_value_t = IsolationArg::Auto)]
    pub(crate) isolation: IsolationArg,
    /// Seed of every run.
    #[arg(long, short = 's', default_value_t = 0)]
    pub(crate) seed: u64,
    #[cfg(feature = "redis")]
    #[command(flatten)]
    pub(crate) queue: queue::RedisArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IsolationArg {
    Auto,
    Process,
    InProcess,
}

impl ExecArgs {
    /// How `what` runs jobs; refuses a timeout that is not a positive number.
    pub(crate) fn options(&self, what: &str) -> anyhow::Result<RunOptions> {
        Ok(RunOptions {
            timeout: seconds("--timeout", self.timeout)?,
            seed: self.seed,
            run_id: qroute::app::run_id(what),
            isolation: match self.isolation {
                IsolationArg::Auto => IsolationPolicy::default(),
                IsolationArg::Process => IsolationPolicy::Always,
                IsolationArg::InProcess => IsolationPolicy::Never,
            },
            baseline: Some("statevector".into()),
        })
    }

    /// Where jobs run: on the Redis queue with --redis, else here.
    pub(crate) fn via(&self) -> anyhow::Result<Via> {
        #[cfg(feature = "redis")]
        if let Some(q) = self.queue.check()? {
            return Ok(Via::Queue(Box::new(q)));
        }
        Ok(Via::Here {
            exe: qroute::app::process_isolation()?,
        })
    }
}
