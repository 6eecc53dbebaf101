//! [`Session`]: qroute for a host program — circuits given as OpenQASM text, routed and run in
//! this process, every result returned. The Python package (`python/`) is one such host: each
//! `qroute.route` and `qroute.run` call is one call here, so it routes exactly as `qroute
//! route` does and runs as `qroute run --isolation in-process` does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::AppError;
use super::batch::Batch;
use super::route::{Routed, recommend_all};
use super::router::{Executors, Via};
use crate::backend::Isolation;
use crate::circuit::qasm::{ParseError, ParseWarning, QasmParser};
use crate::config::Config;
use crate::exec::{IsolationPolicy, RunOptions};
use crate::route::{Constraints, Job, Router};

/// One circuit: OpenQASM 2.0 or 3 text, or a file of it.
#[derive(Debug, Clone)]
pub enum Source {
    /// Text, with the name its errors and results carry (a label such as a Qiskit circuit's
    /// name); its `include`s resolve from the current directory.
    Text {
        /// The name.
        name: String,
        /// The text.
        text: String,
    },
    /// A file, named by its path; its `include`s resolve from its directory.
    File(PathBuf),
}

/// How a [`Session::run`] runs its jobs.
#[derive(Debug, Clone)]
pub struct SessionRun {
    /// Seed of every run (the same seed gives the same counts on the same backend).
    pub seed: u64,
    /// Jobs run at once (each on its own thread; 1: one by one, in order).
    pub threads: usize,
    /// Telemetry directory every attempt is written to; none: nothing is written (the router
    /// still learns from each run for the session's life).
    pub telemetry: Option<PathBuf>,
    /// Wall-clock limit of each attempt in an executor process (a session opened with an
    /// executor); a job in this process cannot be stopped.
    pub timeout: std::time::Duration,
}

impl Default for SessionRun {
    fn default() -> Self {
        SessionRun {
            seed: 0,
            threads: 1,
            telemetry: None,
            timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// A router over the configured backends in this process, with the model set loaded once.
pub struct Session {
    executors: Executors,
    parser: QasmParser,
    policy: IsolationPolicy,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("model_version", &self.executors.router.model_version())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session with the model set at `model` (by default `models/default`, or the set
    /// compiled in when there is none there) and the configuration at `config` (by default
    /// `./qroute.toml` when it exists, else the built-in one).
    ///
    /// A host process is not the `qroute` binary, so by default jobs run in this process,
    /// where none can be stopped. Given `executor`, a `qroute` binary, jobs run as `qroute
    /// run` runs them: in executor processes of it unless predicted far below the timeout.
    pub fn open(
        model: Option<&Path>,
        config: Option<&Path>,
        executor: Option<&Path>,
    ) -> crate::Result<Session> {
        let cfg: Config = super::load_config(config)?;
        let model = model.unwrap_or(Path::new(super::router::DEFAULT_MODEL));
        let (exe, policy) = match executor {
            Some(exe) => {
                if !exe.is_file() {
                    return Err(AppError::Invalid(format!(
                        "executor {} is not a file",
                        exe.display()
                    ))
                    .into());
                }
                let exe = Isolation::Process {
                    exe: exe.as_os_str().to_owned(),
                };
                (exe, IsolationPolicy::default())
            }
            None => (Isolation::InProcess, IsolationPolicy::Never),
        };
        let executors = Executors::build(model, &cfg, config, Via::Here { exe }, policy)?;
        Ok(Session {
            executors,
            parser: QasmParser::new(),
            policy,
        })
    }

    /// The router.
    pub fn router(&self) -> &Arc<Router> {
        &self.executors.router
    }

    /// Each source parsed into a job (features computed). The first that does not parse is
    /// returned as its error, positioned in the text (`name:line:col: message`).
    pub fn jobs(&self, sources: &[Source]) -> Result<(Vec<Job>, Vec<ParseWarning>), ParseError> {
        let mut jobs = Vec::with_capacity(sources.len());
        let mut warnings = Vec::new();
        for s in sources {
            let (name, (circuit, w)) = match s {
                Source::Text { name, text } => {
                    let named = |mut e: ParseError| {
                        e.file.get_or_insert_with(|| Arc::new(PathBuf::from(name)));
                        e
                    };
                    let parsed = self.parser.parse_str_warned(text).map_err(named)?;
                    (name.clone(), parsed)
                }
                Source::File(path) => (
                    path.display().to_string(),
                    self.parser.parse_file_warned(path)?,
                ),
            };
            warnings.extend(w.into_iter().map(|mut w| {
                w.file.get_or_insert_with(|| PathBuf::from(&name));
                w
            }));
            jobs.push(Job::new(name, circuit));
        }
        Ok((jobs, warnings))
    }

    /// A recommendation for each job under `constraints` (checked first); nothing runs.
    pub fn route(&self, jobs: &[Job], constraints: &Constraints) -> crate::Result<Vec<Routed>> {
        constraints.check()?;
        Ok(recommend_all(&self.executors.router, jobs, constraints))
    }

    /// Routes and runs every job, with the runner's fallback on failure; returns each job's
    /// report (its counts among them) in the jobs' order. A telemetry directory that cannot be
    /// written is an error before anything runs.
    pub fn run(
        &self,
        jobs: &[Job],
        constraints: &Constraints,
        how: &SessionRun,
    ) -> crate::Result<Batch> {
        constraints.check()?;
        if how.threads == 0 {
            return Err(AppError::Invalid("threads must be at least 1".into()).into());
        }
        if how.timeout.is_zero() {
            return Err(AppError::Invalid("timeout must be positive".into()).into());
        }
        let writer = how
            .telemetry
            .as_ref()
            .map(|dir| crate::telemetry::TelemetryWriter::open(dir, Default::default()))
            .transpose()?;
        let opts = RunOptions {
            timeout: how.timeout,
            seed: how.seed,
            run_id: super::run_id("session"),
            isolation: self.policy,
            baseline: None,
        };
        let runner = self.executors.runner(writer.as_ref(), opts);
        let never = AtomicBool::new(false);
        let batch = super::batch::run(&runner, jobs, constraints, how.threads, &never, |_| {});
        if let Some(w) = writer {
            w.close()?;
        }
        Ok(batch?)
    }
}
