//! `qroute serve`: the HTTP routing API on a tokio runtime, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use qroute::api::{ApiLimits, AppState, app};
use qroute::config::Config;

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
}

/// `qroute serve`.
pub(crate) fn serve_cmd(
    args: &ServeArgs,
    config: &Config,
    config_path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let router = Arc::new(super::route::router(&args.model, config, config_path)?);
    let _watcher = router.watch_models(args.model.clone());
    let state = AppState::new(
        router.clone(),
        args.model.clone(),
        ApiLimits {
            max_body_bytes: args.max_body_bytes,
            max_qubits: args.max_qubits,
            max_gates: args.max_gates,
        },
    );
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
        axum::serve(listener, app(state))
            .with_graceful_shutdown(shutdown())
            .await
            .context("server failed")
    })?;
    eprintln!("qroute stopped");
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
