//! What each `qroute` command does, assembled from the layers below, for every front end:
//! the binary, the Python package, a host program. Configuration → registry → router →
//! runner or service; circuit files with their corpus tags; batches with stop and progress;
//! collection, training and replay experiment folders with everything they write.
//!
//! Nothing here parses arguments or prints: a function takes checked values and returns what
//! happened, and a front end shows it. Long work takes a stop flag and a progress callback.
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! use std::time::Duration;
//! use qroute::app::{self, batch, jobs, router::{Executors, Via}};
//! use qroute::route::Constraints;
//! use qroute::exec::{IsolationPolicy, RunOptions};
//!
//! let config = app::load_config(None)?;
//! let via = Via::Here { exe: app::process_isolation()? };
//! let policy = IsolationPolicy::default();
//! let ex = Executors::build("models/default".as_ref(), &config, None, via, policy)?;
//! let loaded = jobs::load(&["datasets/demo".into()])?;
//! let opts = RunOptions {
//!     timeout: Duration::from_secs(60),
//!     seed: 0,
//!     run_id: app::run_id("example"),
//!     isolation: policy,
//!     baseline: None,
//! };
//! let runner = ex.runner(None, opts);
//! let stop = AtomicBool::new(false);
//! let done = batch::run(&runner, &loaded.jobs, &Constraints::default(), 1, &stop, |_| {})?;
//! println!("{} circuits ran, {} not run", done.reports.len(), done.not_run);
//! # Ok::<(), qroute::Error>(())
//! ```

pub mod backends;
pub mod batch;
pub mod collect;
pub mod eval;
pub mod executor;
pub mod experiment;
pub mod jobs;
#[cfg(any(feature = "server", feature = "redis"))]
pub mod logging;
pub mod params;
pub mod plan;
pub mod render;
pub mod route;
pub mod router;
#[cfg(feature = "server")]
pub mod service;
pub mod session;
pub mod simulate;
pub mod train;
pub mod upgrade;
#[cfg(feature = "redis")]
pub mod worker;

use std::path::{Path, PathBuf};

use crate::backend::Isolation;
use crate::config::Config;

/// Mesa's Vulkan device-select layer looks for a Wayland display when the GPU backend probes
/// its adapter, and on a machine without one libwayland prints "XDG_RUNTIME_DIR is invalid or
/// not set" twice per command (#32). qroute picks its adapter itself, so there it sets Mesa's
/// switch for the layer, `NODEVICE_SELECT=1`. The environment cannot be changed safely once
/// threads may run (and `unsafe` is forbidden in qroute), so the process replaces itself with
/// the switch set: one `exec` (2–4 ms on the 2-core CI machine, measured over 50 runs of
/// `qroute --version`), only when neither variable is set. For a binary's `main`, first
/// thing; a host that embeds qroute in its own process has no use for it.
#[cfg(all(unix, feature = "gpu"))]
pub fn quiet_gpu_driver() {
    use std::os::unix::process::CommandExt;
    if ["NODEVICE_SELECT", "XDG_RUNTIME_DIR"]
        .iter()
        .any(|k| std::env::var_os(k).is_some())
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        cmd.arg0(arg0);
    }
    // `exec` returns only when it failed; then the noise is all that is lost.
    let _ = cmd.args(args).env("NODEVICE_SELECT", "1").exec();
}

/// The backend `run` compares a batch with: prism-q's own rule-based dispatch, which is what
/// a user gets without qroute (always-statevector was a baseline nobody would choose, #32).
pub const BASELINE: &str = "prism-auto";

/// What assembling or running a command can fail on beyond the layers' own errors.
///
/// As in the other modules' errors, a cause is kept in its field and said in the message,
/// and not also returned by `source()`: a front end printing the chain would say it twice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A file or directory could not be written, read or created.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done (`write`, `create`, ...).
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The model set could not be loaded.
    #[error("cannot load the model set {}: {source}", path.display())]
    ModelSet {
        /// Its directory.
        path: PathBuf,
        /// Why.
        source: crate::model::ModelError,
    },
    /// The configuration's contents are out of range.
    #[error("invalid configuration {}: {source}", shown_config(path.as_deref()))]
    InvalidConfig {
        /// The file, when one was read.
        path: Option<PathBuf>,
        /// What is wrong.
        source: Box<crate::Error>,
    },
    /// The paths hold no circuit file.
    #[error("no *.qasm files found in the given paths")]
    NoCircuits,
    /// A backend name that is not configured.
    #[error("unknown backend `{name}` (configured: {configured})")]
    UnknownBackend {
        /// The name given.
        name: String,
        /// The configured names, comma-separated.
        configured: String,
    },
    /// The running executable cannot be found, so no executor process can be started.
    #[error("cannot find the qroute executable: {0}")]
    CurrentExe(std::io::Error),
    /// An experiment folder already holds a replay.
    #[error("{} already holds a replay (report.md); choose another folder or replace it", .0.display())]
    ExperimentExists(PathBuf),
    /// The Redis queue cannot be read when a router over it starts.
    #[cfg(feature = "redis")]
    #[error("cannot read the queue at {url}: {source}")]
    QueueUnreachable {
        /// The queue's URL.
        url: String,
        /// Why.
        source: crate::queue::QueueError,
    },
    /// The HTTP service could not start or failed while serving.
    #[cfg(feature = "server")]
    #[error("cannot {what}: {source}")]
    Serve {
        /// What failed (`listen on 127.0.0.1:8080`, ...).
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// A value given to a command is out of range.
    #[error("{0}")]
    Invalid(String),
}

fn shown_config(path: Option<&Path>) -> String {
    path.map_or("qroute.toml".into(), |p| p.display().to_string())
}

impl AppError {
    pub(crate) fn io(what: &'static str, path: &Path, source: std::io::Error) -> AppError {
        AppError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn config(path: Option<&Path>, source: impl Into<crate::Error>) -> AppError {
        AppError::InvalidConfig {
            path: path.map(Path::to_path_buf),
            source: Box::new(source.into()),
        }
    }
}

/// The configuration at `path`; without one, `./qroute.toml` when it exists, else the
/// built-in defaults.
pub fn load_config(path: Option<&Path>) -> crate::Result<Config> {
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

/// Executor processes started from the running executable (`qroute executor`). A front end
/// that is not the `qroute` binary names the binary with [`Isolation::Process`] instead.
pub fn process_isolation() -> Result<Isolation, AppError> {
    let exe = std::env::current_exe().map_err(AppError::CurrentExe)?;
    Ok(Isolation::Process { exe: exe.into() })
}

/// A label unique to this run of `what` on this host, for telemetry's `run_id`.
pub fn run_id(what: &str) -> String {
    format!(
        "{what}-{}-{}",
        crate::telemetry::host_name(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros())
    )
}
