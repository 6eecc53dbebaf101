//! Serving the application on a TCP listener: HTTP/1.1 with a header-read timeout, a bound on
//! open connections (in all and per client address), each request tagged with its client's
//! address, and a graceful shutdown.
//!
//! `axum::serve` has neither a header-read timeout nor a connection limit: 2,000 connections
//! that each sent half a request line stayed open for minutes, and with the process's file
//! descriptors spent `/healthz` stopped answering (#28). Here a connection that has not sent
//! a whole request head within [`ServeOptions::header_read_timeout`] (or is idle that long
//! between requests) is closed, a client address may hold at most
//! [`ServeOptions::max_connections_per_client`] connections and the server
//! [`ServeOptions::max_connections`]; one over either is closed at once, so the others keep
//! being served.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How connections are accepted and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// Longest wait for a request's head (request line and headers), from the first byte or,
    /// on a kept-alive connection, from the end of the previous response. Default 10 s.
    pub header_read_timeout: Duration,
    /// Most open connections. Default 1,024.
    pub max_connections: usize,
    /// Most open connections from one client address. Default 64.
    pub max_connections_per_client: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_client: 64,
        }
    }
}

/// Open connections, in all and per client address.
#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// A connection's place in [`Open`], given back when it closes.
struct Slot {
    open: Arc<Mutex<Open>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut o = self.open.lock().unwrap_or_else(|p| p.into_inner());
        o.total -= 1;
        if let Some(n) = o.by_client.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                o.by_client.remove(&self.ip);
            }
        }
    }
}

/// A slot for a connection from `ip`, or `None` over a limit.
fn admit(open: &Arc<Mutex<Open>>, ip: IpAddr, opts: &ServeOptions) -> Option<Slot> {
    let mut o = open.lock().unwrap_or_else(|p| p.into_inner());
    let mine = o.by_client.get(&ip).copied().unwrap_or(0);
    if o.total >= opts.max_connections || mine >= opts.max_connections_per_client {
        return None;
    }
    o.total += 1;
    *o.by_client.entry(ip).or_default() += 1;
    Some(Slot {
        open: open.clone(),
        ip,
    })
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets every
/// open connection finish its request in flight, and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let open: Arc<Mutex<Open>> = Arc::default();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or memory: give the open connections time to close
                    // rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // Reap finished connection tasks as they end, so the set stays small.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let Some(slot) = admit(&open, addr.ip(), &opts) else {
            // Dropping the stream closes it: over the limit, nothing is read or kept.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let _slot = slot;
            let svc = TowerToHyperService::new(app.map_request(
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(addr));
                    req.map(axum::body::Body::new)
                },
            ));
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop.wait_for(|s| *s) => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_and_given_back() {
        let open: Arc<Mutex<Open>> = Arc::default();
        let opts = ServeOptions {
            max_connections: 3,
            max_connections_per_client: 2,
            ..ServeOptions::default()
        };
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let a1 = admit(&open, a, &opts).unwrap();
        let _a2 = admit(&open, a, &opts).unwrap();
        assert!(admit(&open, a, &opts).is_none(), "per client");
        let b1 = admit(&open, b, &opts).unwrap();
        assert!(admit(&open, b, &opts).is_none(), "in all");
        drop(b1);
        drop(a1);
        let a3 = admit(&open, a, &opts);
        assert!(a3.is_some());
        assert_eq!(open.lock().unwrap().total, 2);
        drop(a3);
        assert_eq!(open.lock().unwrap().total, 1);
        assert_eq!(
            open.lock().unwrap().by_client.get(&b),
            None,
            "emptied entries go"
        );
    }
}
