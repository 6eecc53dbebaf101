//! `qroute serve`'s service: the router (local or over the queue), the job workers with
//! their telemetry writer, and the HTTP state, assembled from the configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::AppError;
use super::params::{ExecParams, invalid, seconds};
use super::router::{Executors, Via};
use crate::api::{ApiConfig, ApiLimits, AppState, Jobs, JobsConfig, ServeOptions};
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

/// Serve routing recommendations and job execution over HTTP/JSON (POST /v1/route, POST
/// /v1/plan, POST /v1/jobs, GET /v1/jobs/{id}, GET /v1/backends, GET /v1/stats, POST
/// /v1/models/reload, GET /healthz, GET /readyz, GET /metrics, GET /openapi.json).
///
/// Listens on loopback by default. API keys, rate limits and the request timeout come from
/// `[api]` in qroute.toml (`qroute api-key` makes a key); without keys the API is open. Jobs
/// are routed and run by --job-workers threads, every attempt written to --telemetry. Stops
/// on Ctrl-C or SIGTERM: no new connections or jobs, requests in flight answered, running
/// jobs given --shutdown-grace to end, telemetry flushed. The model set is reloaded when its
/// meta.json changes (`model_update_frequency` in qroute.toml) or on POST
/// /v1/models/reload; a set that fails to load leaves the current one serving. Logs go to
/// stderr, filtered by RUST_LOG (default `info`).
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct ServeParams {
    /// Address to listen on (loopback by default; expose it behind a proxy with TLS).
    #[cfg_attr(feature = "cli", arg(long, default_value = "127.0.0.1:8080"))]
    pub addr: SocketAddr,
    /// Model set directory, reloaded from here by POST /v1/models/reload (by default
    /// models/default, or the set compiled into qroute when there is none there).
    #[cfg_attr(
        feature = "cli",
        arg(long, env = "QROUTE_MODEL", default_value = super::router::DEFAULT_MODEL)
    )]
    pub model: PathBuf,
    /// Largest request body, bytes.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = ApiLimits::default().max_body_bytes))]
    pub max_body_bytes: usize,
    /// Most qubits of a circuit to route.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = ApiLimits::default().max_qubits))]
    pub max_qubits: u32,
    /// Most operations of a circuit to route.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = ApiLimits::default().max_gates))]
    pub max_gates: u64,
    /// Threads executing POST /v1/jobs (jobs running at once; with --redis, jobs waiting on
    /// workers at once); 0 disables job execution.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1))]
    pub job_workers: usize,
    /// Jobs that may wait for a worker; beyond this POST /v1/jobs answers 503.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 256))]
    pub job_queue: usize,
    /// Finished jobs remembered for GET /v1/jobs/{id}.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 10_000))]
    pub job_retention: usize,
    /// On SIGTERM or Ctrl-C, how long running jobs may take to finish, seconds.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 30.0))]
    pub shutdown_grace: f64,
    /// Longest wait for a request's head (and for the next request on an idle connection),
    /// seconds; a slower connection is closed.
    #[cfg_attr(
        feature = "cli",
        arg(long, default_value_t = ServeOptions::default().header_read_timeout.as_secs_f64())
    )]
    pub header_timeout: f64,
    /// Most open connections; one more is closed at once.
    #[cfg_attr(
        feature = "cli",
        arg(long, default_value_t = ServeOptions::default().max_connections)
    )]
    pub max_connections: usize,
    /// Most open connections from one client address.
    #[cfg_attr(
        feature = "cli",
        arg(long, default_value_t = ServeOptions::default().max_connections_per_client)
    )]
    pub max_connections_per_client: usize,
    /// How jobs run.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub exec: ExecParams,
}

/// A service's settings, checked: what to build, how to serve it, how long to wait at the end.
#[derive(Debug, Clone)]
pub struct Serving {
    /// What [`Service::build`] builds.
    pub spec: ServiceSpec,
    /// How [`crate::api::serve`] serves it.
    pub options: ServeOptions,
    /// How long running jobs may take to finish at shutdown.
    pub grace: Duration,
}

impl ServeParams {
    /// The service's settings, every number checked.
    pub fn check(&self) -> crate::Result<Serving> {
        let grace = seconds("--shutdown-grace", self.shutdown_grace)?;
        if self.max_connections == 0 || self.max_connections_per_client == 0 {
            return Err(invalid(
                "--max-connections and --max-connections-per-client",
                "must be at least 1",
            ));
        }
        let options = ServeOptions {
            header_read_timeout: seconds("--header-timeout", self.header_timeout)?,
            max_connections: self.max_connections,
            max_connections_per_client: self.max_connections_per_client,
        };
        let spec = ServiceSpec {
            model: self.model.clone(),
            limits: ApiLimits {
                max_body_bytes: self.max_body_bytes,
                max_qubits: self.max_qubits,
                max_gates: self.max_gates,
            },
            jobs: (self.job_workers > 0).then(|| JobsSpec {
                workers: self.job_workers,
                queue: self.job_queue,
                retention: self.job_retention,
                telemetry: self.exec.telemetry.clone(),
            }),
            run: self.exec.options("serve")?,
            via: self.exec.via()?,
        };
        Ok(Serving {
            spec,
            options,
            grace,
        })
    }
}

/// What a service says while it starts and stops.
#[derive(Debug)]
pub enum ServeEvent {
    /// It listens.
    Listening {
        /// The address bound.
        addr: SocketAddr,
        /// The model set serving.
        model_version: String,
    },
    /// A stop signal came; running jobs get this long to end.
    Draining {
        /// The bound.
        grace: Duration,
    },
}

impl ServeParams {
    /// `qroute serve`: builds the service, serves it on a multi-threaded runtime until Ctrl-C
    /// or SIGTERM, then drains its jobs and flushes their telemetry. Returns how many jobs
    /// were still running at the bound (abandoned).
    pub fn serve(
        &self,
        config: &Config,
        config_path: Option<&Path>,
        mut events: impl FnMut(ServeEvent),
    ) -> crate::Result<usize> {
        let s = self.check()?;
        let service = Service::build(config, config_path, s.spec)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| AppError::Serve {
                what: "start the async runtime".into(),
                source: e,
            })?;
        let addr = self.addr;
        rt.block_on(async {
            let listener =
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| AppError::Serve {
                        what: format!("listen on {addr}"),
                        source: e,
                    })?;
            events(ServeEvent::Listening {
                addr: listener.local_addr().unwrap_or(addr),
                model_version: service.router.model_version(),
            });
            crate::api::serve(listener, service.app(), s.options, shutdown_signal())
                .await
                .map_err(|e| AppError::Serve {
                    what: "serve".into(),
                    source: e,
                })
        })?;
        if service.runs_jobs() {
            events(ServeEvent::Draining { grace: s.grace });
        }
        Ok(service.finish(s.grace)?)
    }
}
