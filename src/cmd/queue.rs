//! `qroute queue status`, and the `--redis` flags of `run` and `serve`.

use std::process::ExitCode;

use qroute::backend::Isolation;
use qroute::config::Config;
use qroute::queue::{QueueConfig, QueueParams, status};

/// Where the queue is.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct QueueArgs {
    /// Redis URL, e.g. redis://127.0.0.1:6379 (or rediss:// for TLS).
    #[arg(long, env = "QROUTE_REDIS")]
    pub(crate) redis: String,
    /// Prefix of every Redis key (separate queues on one Redis).
    #[arg(long, default_value = "qroute")]
    pub(crate) queue_prefix: String,
}

impl QueueArgs {
    pub(crate) fn params(&self) -> QueueParams {
        let mut p = QueueParams::new(&self.redis);
        p.prefix = self.queue_prefix.clone();
        p
    }
}

/// `--redis` of `run` and `serve`: route to the queue instead of running here.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct RedisArgs {
    /// Redis URL: enqueue each job on its backend's stream for `qroute worker`s instead of
    /// running it here (e.g. redis://127.0.0.1:6379).
    #[arg(long, env = "QROUTE_REDIS")]
    pub(crate) redis: Option<String>,
    /// Prefix of every Redis key (with --redis).
    #[arg(long, default_value = "qroute")]
    pub(crate) queue_prefix: String,
    /// Jobs a backend's stream may hold (with --redis); beyond it another backend is tried.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) max_queue_len: u64,
    /// How long to wait for a job's result (with --redis), seconds.
    #[arg(long, default_value_t = 3600.0)]
    pub(crate) result_wait: f64,
}

impl RedisArgs {
    /// The checked queue settings, when --redis is given.
    pub(crate) fn check(&self) -> anyhow::Result<Option<QueueConfig>> {
        let Some(url) = &self.redis else {
            return Ok(None);
        };
        let mut p = QueueParams::new(url);
        p.prefix = self.queue_prefix.clone();
        p.max_len = self.max_queue_len;
        p.result_wait = super::seconds("--result-wait", self.result_wait)?;
        Ok(Some(p.check()?))
    }
}

#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Backlog, pending jobs and live workers per backend; dead letters and counters.
    Status {
        #[command(flatten)]
        queue: QueueArgs,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: &Command, config: &Config) -> anyhow::Result<ExitCode> {
    let Command::Status { queue, json } = cmd;
    let qc = queue.params().check()?;
    let registry = config.registry(&Isolation::InProcess)?;
    let names: Vec<String> = registry.iter().map(|b| b.name().to_string()).collect();
    let s = status(&qc, &mut qc.connect(), &names)?;
    if *json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        out!("{}", qroute::app::render::queue_status(&s));
    }
    Ok(ExitCode::SUCCESS)
}
