//! `qroute serve`: the HTTP routing API on a tokio runtime, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use qroute::api::{ApiConfig, ApiLimits, AppState, Jobs, JobsConfig, ServeOptions, app};
use qroute::backend::Registry;
use qroute::config::Config;
use qroute::telemetry::{TelemetryWriter, WriterOptions};

/// Arguments of `qroute serve`.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Address to listen on (loopback by default; expose it behind a proxy with TLS).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Model set directory (reloaded from here by POST /v1/models/reload).
    #[arg(long, env = "QROUTE_MODEL", default_value = "models/default")]
    model: PathBuf,
    /// Largest request body, bytes.
    #[arg(long, default_value_t = ApiLimits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Most qubits of a circuit to route.
    #[arg(long, default_value_t = ApiLimits::default().max_qubits)]
    max_qubits: u32,
    /// Most operations of a circuit to route.
    #[arg(long, default_value_t = ApiLimits::default().max_gates)]
    max_gates: u64,
    /// Threads executing POST /v1/jobs (jobs running at once; with --redis, jobs waiting on
    /// workers at once); 0 disables job execution.
    #[arg(long, default_value_t = 1)]
    job_workers: usize,
    /// Jobs that may wait for a worker; beyond this POST /v1/jobs answers 503.
    #[arg(long, default_value_t = 256)]
    job_queue: usize,
    /// Finished jobs remembered for GET /v1/jobs/{id}.
    #[arg(long, default_value_t = 10_000)]
    job_retention: usize,
    /// On SIGTERM or Ctrl-C, how long running jobs may take to finish, seconds.
    #[arg(long, default_value_t = 30.0)]
    shutdown_grace: f64,
    /// Longest wait for a request's head (and for the next request on an idle connection),
    /// seconds; a slower connection is closed.
    #[arg(long, default_value_t = ServeOptions::default().header_read_timeout.as_secs_f64())]
    header_timeout: f64,
    /// Most open connections; one more is closed at once.
    #[arg(long, default_value_t = ServeOptions::default().max_connections)]
    max_connections: usize,
    /// Most open connections from one client address.
    #[arg(long, default_value_t = ServeOptions::default().max_connections_per_client)]
    max_connections_per_client: usize,
    #[command(flatten)]
    exec: super::route::ExecArgs,
}

/// `qroute serve`.
pub(crate) fn serve_cmd(
    args: &ServeArgs,
    config: &Config,
    config_path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let api =
        ApiConfig::check(&config.api).with_context(|| super::route::invalid_config(config_path))?;
    let grace =
        super::route::seconds("--shutdown-grace", Some(args.shutdown_grace))?.unwrap_or_default();
    let header_read_timeout =
        super::route::seconds("--header-timeout", Some(args.header_timeout))?.unwrap_or_default();
    if args.max_connections == 0 || args.max_connections_per_client == 0 {
        anyhow::bail!("--max-connections and --max-connections-per-client must be at least 1");
    }
    let serve_options = ServeOptions {
        header_read_timeout,
        max_connections: args.max_connections,
        max_connections_per_client: args.max_connections_per_client,
    };
    let mut run = super::route::run_options(&args.exec, "serve")?;
    // With --redis every backend runs behind the queue: the job threads wait on workers.
    #[cfg(feature = "redis")]
    let (router, _monitor) = match args.exec.queue.check()? {
        Some(q) => {
            let (r, m) = super::queue::queued_router(&args.model, config, config_path, &q)?;
            run.isolation = qroute::route::run::IsolationPolicy::Never;
            (r, Some(m))
        }
        None => (
            Arc::new(super::route::router(&args.model, config, config_path)?),
            None,
        ),
    };
    #[cfg(not(feature = "redis"))]
    let router = Arc::new(super::route::router(&args.model, config, config_path)?);
    let _watcher = router.watch_models(args.model.clone());
    let jobs = if args.job_workers > 0 {
        let isolated = if run.isolation == qroute::route::run::IsolationPolicy::Never {
            None
        } else {
            Some(Arc::new(Registry::from_config(
                config,
                &super::process_isolation()?,
            )?))
        };
        let writer = Arc::new(
            TelemetryWriter::open(&args.exec.telemetry, WriterOptions::default()).with_context(
                || {
                    format!(
                        "cannot write telemetry to {}",
                        args.exec.telemetry.display()
                    )
                },
            )?,
        );
        let jobs = Jobs::start(
            router.clone(),
            isolated,
            writer,
            JobsConfig {
                workers: args.job_workers,
                queue: args.job_queue,
                retention: args.job_retention,
                run,
            },
        )
        .context("cannot start the job workers")?;
        Some(Arc::new(jobs))
    } else {
        None
    };
    let mut state = AppState::new(
        router.clone(),
        args.model.clone(),
        ApiLimits {
            max_body_bytes: args.max_body_bytes,
            max_qubits: args.max_qubits,
            max_gates: args.max_gates,
        },
    )
    .with_api(api);
    if let Some(j) = &jobs {
        state = state.with_jobs(j.clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        eprintln!(
            "qroute serving on http://{} (model set {})",
            listener.local_addr().unwrap_or(args.addr),
            router.model_version()
        );
        qroute::api::serve(listener, app(state), serve_options, shutdown())
            .await
            .context("server failed")
    })?;
    if let Some(j) = jobs {
        eprintln!("finishing running jobs (up to {} s)", grace.as_secs_f64());
        let left = j.shutdown(grace).context("cannot flush telemetry")?;
        if left > 0 {
            eprintln!("{left} job(s) still running at the bound were abandoned");
        }
    }
    eprintln!("qroute stopped");
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `qroute api-key`.
#[derive(Args, Debug)]
pub(crate) struct ApiKeyArgs {
    /// The key's name in the configuration.
    #[arg(long, default_value = "default")]
    name: String,
    /// What it may do: route, jobs, admin (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "route")]
    scopes: Vec<String>,
}

/// `qroute api-key`: a new random key, and the `[[api.key]]` entry that accepts it.
pub(crate) fn api_key_cmd(args: &ApiKeyArgs) -> anyhow::Result<ExitCode> {
    for s in &args.scopes {
        s.parse::<qroute::api::auth::Scope>()
            .map_err(|e| anyhow::anyhow!("--scopes: {e}"))?;
    }
    let key = qroute::api::auth::new_key().context("cannot read the system's random source")?;
    eprintln!("the key (give it to the client; it is not stored anywhere):");
    outln!("{key}");
    eprintln!("\nadd to qroute.toml:");
    let scopes: Vec<String> = args.scopes.iter().map(|s| format!("\"{s}\"")).collect();
    eprintln!(
        "[[api.key]]\nname = \"{}\"\nsha256 = \"{}\"\nscopes = [{}]",
        args.name,
        qroute::api::auth::hash_key(&key),
        scopes.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
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
}
