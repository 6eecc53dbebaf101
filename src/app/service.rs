//! `qroute serve`'s service: the router (local or over the queue), the job workers with
//! their telemetry writer, and the HTTP state, assembled from the configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::AppError;
use super::router::{Executors, Via};
use crate::api::{ApiConfig, ApiLimits, AppState, Jobs, JobsConfig};
use crate::config::Config;
use crate::exec::RunOptions;
use crate::route::Router;
use crate::telemetry::{TelemetryError, TelemetryWriter, WriterOptions};

/// Job execution of a service (`POST /v1/jobs`).
#[derive(Debug, Clone)]
pub struct JobsSpec {
    /// Worker threads: jobs running at once (with a queue, jobs waiting on workers at once).
    pub workers: usize,
    /// Jobs that may wait for a worker.
    pub queue: usize,
    /// Finished jobs remembered.
    pub retention: usize,
    /// Telemetry directory of every attempt.
    pub telemetry: PathBuf,
}

/// What a service serves.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// The model set directory, watched and reloaded.
    pub model: PathBuf,
    /// Request limits.
    pub limits: ApiLimits,
    /// Job execution; `None`: routing only.
    pub jobs: Option<JobsSpec>,
    /// How jobs run.
    pub run: RunOptions,
    /// Where they run.
    pub via: Via,
}

/// An assembled service: serve [`Service::app`] with [`crate::api::serve`], then call
/// [`Service::finish`].
pub struct Service {
    /// The HTTP state.
    pub state: AppState,
    /// The router, for its model version.
    pub router: Arc<Router>,
    jobs: Option<Arc<Jobs>>,
    _executors: Executors,
    _watcher: Option<crate::route::ModelWatcher>,
}

impl Service {
    /// Assembles the service of `spec` from `config` (`config_path` names it in errors).
    pub fn build(
        config: &Config,
        config_path: Option<&Path>,
        spec: ServiceSpec,
    ) -> crate::Result<Service> {
        let api = ApiConfig::check(&config.api).map_err(|e| AppError::config(config_path, e))?;
        let executors = Executors::build(
            &spec.model,
            config,
            config_path,
            spec.via,
            spec.run.isolation,
        )?;
        let router = executors.router.clone();
        let watcher = router.watch_models(spec.model.clone());
        let jobs = match &spec.jobs {
            Some(j) => {
                let writer = TelemetryWriter::open(&j.telemetry, WriterOptions::default())?;
                let jobs = Jobs::start(
                    router.clone(),
                    executors.isolated.clone(),
                    Arc::new(writer),
                    JobsConfig {
                        workers: j.workers,
                        queue: j.queue,
                        retention: j.retention,
                        run: executors.options(spec.run.clone()),
                    },
                )
                .map_err(|e| AppError::Invalid(format!("cannot start the job workers: {e}")))?;
                Some(Arc::new(jobs))
            }
            None => None,
        };
        let mut state = AppState::new(router.clone(), spec.model, spec.limits).with_api(api);
        if let Some(j) = &jobs {
            state = state.with_jobs(j.clone());
        }
        Ok(Service {
            state,
            router,
            jobs,
            _executors: executors,
            _watcher: watcher,
        })
    }

    /// The axum application.
    pub fn app(&self) -> axum::Router {
        crate::api::app(self.state.clone())
    }

    /// After the server stopped: gives running jobs up to `grace` to end and flushes their
    /// telemetry; returns how many were still running at the bound (abandoned).
    pub fn finish(self, grace: Duration) -> Result<usize, TelemetryError> {
        match self.jobs {
            Some(j) => j.shutdown(grace),
            None => Ok(0),
        }
    }

    /// Whether jobs are executed.
    pub fn runs_jobs(&self) -> bool {
        self.jobs.is_some()
    }
}

/// Resolves on Ctrl-C or SIGTERM: the shutdown of [`crate::api::serve`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown signal received");
}
