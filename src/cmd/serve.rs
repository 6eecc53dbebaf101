//! `qroute serve`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use qroute::api::{ApiLimits, ServeOptions};
use qroute::app::service::{JobsSpec, Service, ServiceSpec};
use qroute::config::Config;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
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
    exec: super::ExecArgs,
}

pub(crate) fn run(args: &Args, config: &Config, path: Option<&Path>) -> anyhow::Result<ExitCode> {
    qroute::app::logging::init();
    let grace = super::seconds("--shutdown-grace", args.shutdown_grace)?;
    if args.max_connections == 0 || args.max_connections_per_client == 0 {
        anyhow::bail!("--max-connections and --max-connections-per-client must be at least 1");
    }
    let options = ServeOptions {
        header_read_timeout: super::seconds("--header-timeout", args.header_timeout)?,
        max_connections: args.max_connections,
        max_connections_per_client: args.max_connections_per_client,
    };
    let spec = ServiceSpec {
        model: args.model.clone(),
        limits: ApiLimits {
            max_body_bytes: args.max_body_bytes,
            max_qubits: args.max_qubits,
            max_gates: args.max_gates,
        },
        jobs: (args.job_workers > 0).then(|| JobsSpec {
            workers: args.job_workers,
            queue: args.job_queue,
            retention: args.job_retention,
            telemetry: args.exec.telemetry.clone(),
        }),
        run: args.exec.options("serve")?,
        via: args.exec.via()?,
    };
    let service = Service::build(config, path, spec)?;
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
            service.router.model_version()
        );
        let stop = qroute::app::service::shutdown_signal();
        qroute::api::serve(listener, service.app(), options, stop)
            .await
            .context("server failed")
    })?;
    if service.runs_jobs() {
        eprintln!("finishing running jobs (up to {} s)", grace.as_secs_f64());
    }
    let left = service.finish(grace).context("cannot flush telemetry")?;
    if left > 0 {
        eprintln!("{left} job(s) still running at the bound were abandoned");
    }
    eprintln!("qroute stopped");
    Ok(ExitCode::SUCCESS)
}
