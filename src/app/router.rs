//! The router every command builds, and what runs beside it: executor processes, or the Redis
//! queue and its monitor. One assembly for `route`, `run`, `plan`, `serve` and library users.

use std::path::Path;
use std::sync::Arc;

use super::AppError;
use crate::backend::{Isolation, Registry};
use crate::config::Config;
use crate::exec::{IsolationPolicy, RunOptions, Runner};
use crate::model::ModelSet;
use crate::route::{Router, RouterConfig};
use crate::telemetry::TelemetryWriter;

/// Where `--model` points when it is not given.
pub const DEFAULT_MODEL: &str = "models/default";

/// The model set at `model`, loaded with its directory named in the error. The default path
/// with no model set there (a binary run outside the checkout, #33) gives the set compiled
/// into the binary, [`ModelSet::shipped`].
pub fn models(model: &Path) -> Result<ModelSet, AppError> {
    let default = model == Path::new(DEFAULT_MODEL) && !model.join("meta.json").exists();
    let loaded = match default {
        true => ModelSet::shipped(),
        false => ModelSet::load(model),
    };
    loaded.map_err(|source| AppError::ModelSet {
        path: model.to_path_buf(),
        source,
    })
}

/// The router over the configuration's backends, in this process, with the model set at
/// `model` and the configuration's `[router]` (`config_path` names the file in errors).
pub fn router(model: &Path, config: &Config, config_path: Option<&Path>) -> crate::Result<Router> {
    let registry = config.registry(&Isolation::InProcess)?;
    router_over(model, config, config_path, registry)
}

/// The router over `registry`, with the model set at `model` and the configuration's
/// `[router]`.
pub fn router_over(
    model: &Path,
    config: &Config,
    config_path: Option<&Path>,
    registry: Registry,
) -> crate::Result<Router> {
    let models = models(model)?;
    Ok(Router::new(
        models,
        registry,
        settings(config, config_path)?,
    ))
}

/// The configuration's `[router]`, checked (`config_path` names the file in errors).
pub fn settings(config: &Config, config_path: Option<&Path>) -> Result<RouterConfig, AppError> {
    config
        .router
        .check()
        .map_err(|e| AppError::config(config_path, e))
}

/// Where routed jobs run.
#[derive(Debug, Clone)]
pub enum Via {
    /// In this process or in executor processes started from `exe` (see
    /// [`IsolationPolicy`]).
    Here {
        /// How executor processes are started (usually [`super::process_isolation`]).
        exe: Isolation,
    },
    /// On the Redis queue's backend streams, run by `qroute worker`s.
    #[cfg(feature = "redis")]
    Queue(Box<crate::queue::QueueConfig>),
}

/// A router and the backends that execute its choices.
pub struct Executors {
    /// The router; shared with a service and the model watcher.
    pub router: Arc<Router>,
    /// The same backends in executor processes (none behind a queue, or when every job runs
    /// in this process).
    pub isolated: Option<Arc<Registry>>,
    /// Whether every backend runs behind the Redis queue (its workers record telemetry).
    pub queued: bool,
    /// Feeds the queue's load to the router while it lives.
    #[cfg(feature = "redis")]
    _monitor: Option<crate::queue::Monitor>,
}

impl Executors {
    /// The router over the model set at `model` and the backends `via` runs on; `policy` is
    /// where jobs run when they run here.
    pub fn build(
        model: &Path,
        config: &Config,
        config_path: Option<&Path>,
        via: Via,
        policy: IsolationPolicy,
    ) -> crate::Result<Executors> {
        match via {
            Via::Here { exe } => {
                let router = Arc::new(router(model, config, config_path)?);
                let isolated = if policy == IsolationPolicy::Never {
                    None
                } else {
                    Some(Arc::new(config.registry(&exe)?))
                };
                Ok(Executors {
                    router,
                    isolated,
                    queued: false,
                    #[cfg(feature = "redis")]
                    _monitor: None,
                })
            }
            #[cfg(feature = "redis")]
            Via::Queue(queue) => {
                let local = config.registry(&Isolation::InProcess)?;
                let remote = crate::queue::remote_registry(&local, &queue);
                let router = Arc::new(router_over(model, config, config_path, remote)?);
                let url = queue.params().url.clone();
                let monitor = crate::queue::Monitor::start(
                    *queue,
                    router.clone(),
                    std::time::Duration::from_millis(250),
                )
                .map_err(|source| AppError::QueueUnreachable { url, source })?;
                Ok(Executors {
                    router,
                    isolated: None,
                    queued: true,
                    _monitor: Some(monitor),
                })
            }
        }
    }

    /// Run options with where jobs run fixed by the assembly: behind a queue every attempt
    /// "runs here" by waiting on a worker.
    pub fn options(&self, mut opts: RunOptions) -> RunOptions {
        if self.queued {
            opts.isolation = IsolationPolicy::Never;
        }
        opts
    }

    /// A runner over these executors, recording to `writer` when given.
    pub fn runner<'a>(
        &'a self,
        writer: Option<&'a TelemetryWriter>,
        opts: RunOptions,
    ) -> Runner<'a> {
        Runner::new(
            &self.router,
            self.isolated.as_deref(),
            writer,
            self.options(opts),
        )
    }
}
