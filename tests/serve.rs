//! `qroute::api::serve` over real loopback sockets (#28): a connection that sends half a
//! request is closed after the header-read timeout, connections over the per-client and total
//! limits are closed at once, and meanwhile another client is answered.
#![cfg(feature = "server")]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::synthetic::{fixture, registry};
use qroute::api::{ApiLimits, AppState, ServeOptions, app, serve};
use qroute::model::ModelSet;
use qroute::route::{Router, RouterConfig};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

// tokio's `io-util` (read/write_all) is not among the crate's tokio features: these two use
// readiness and the non-blocking calls instead of turning it on for the whole build.

/// Reads what is there: `Ok(0)` at end of file.
async fn read(s: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        s.readable().await?;
        match s.try_read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            r => return r,
        }
    }
}

async fn write_all(s: &mut TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        s.writable().await?;
        match s.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn start(opts: ServeOptions) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let router = Arc::new(Router::new(
        ModelSet::load(&fixture()).unwrap(),
        registry(&["statevector", "stabilizer"]),
        RouterConfig::default(),
    ));
    let state = AppState::new(router, fixture(), ApiLimits::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        serve(listener, app(state), opts, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

/// A connection to `addr` from the loopback address `from`.
async fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(format!("{from}:0").parse().unwrap()).unwrap();
    s.connect(addr).await.unwrap()
}

/// Whether the server has closed `s` (a read returns end of file or a reset) within `wait`.
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, read(s, &mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or other answer before the close: keep reading to the end.
            Ok(Ok(_)) => continue,
        }
    }
}

async fn healthz(from: &str, addr: SocketAddr) -> String {
    let mut s = connect_from(from, addr).await;
    write_all(
        &mut s,
        b"GET /healthz HTTP/1.1\r\nHost: q\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match read(&mut s, &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r28_partial_headers_are_timed_out_and_connections_bounded() {
    let opts = ServeOptions {
        header_read_timeout: Duration::from_secs(3),
        max_connections: 24,
        max_connections_per_client: 8,
    };
    let (addr, stop) = start(opts).await;
    // 30 clients on one address each send half a request and wait.
    let mut held = Vec::new();
    for _ in 0..30 {
        let mut s = connect_from("127.0.0.1", addr).await;
        let _ = write_all(&mut s, b"GET /healthz HTTP/1.1\r\nHost: q\r\nX-Slow: ").await;
        held.push(s);
    }
    // Past the per-client limit, the server closed them at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut refused = 0;
    for s in held.iter_mut() {
        if closed_within(s, Duration::from_millis(50)).await {
            refused += 1;
        }
    }
    assert_eq!(refused, 30 - 8, "8 held, the rest closed");
    // Another client is answered meanwhile.
    let t = Instant::now();
    let res = healthz("127.0.0.2", addr).await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // The 8 half requests are closed once the header timeout passes.
    let mut timed_out = 0;
    for s in held.iter_mut() {
        if closed_within(s, Duration::from_secs(5)).await {
            timed_out += 1;
        }
    }
    assert_eq!(timed_out, 30);
    // A connection that sends nothing at all is closed too.
    let mut idle = connect_from("127.0.0.3", addr).await;
    let t = Instant::now();
    assert!(closed_within(&mut idle, Duration::from_secs(6)).await);
    assert!(
        t.elapsed() > Duration::from_secs(2),
        "closed by the timeout: {:?}",
        t.elapsed()
    );
    // And with the slots given back, the first address is served again.
    assert!(healthz("127.0.0.1", addr).await.starts_with("HTTP/1.1 200"));
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r28_the_total_connection_limit_holds_across_addresses() {
    let opts = ServeOptions {
        header_read_timeout: Duration::from_secs(5),
        max_connections: 6,
        max_connections_per_client: 4,
    };
    let (addr, stop) = start(opts).await;
    let mut held = Vec::new();
    for from in ["127.0.0.1", "127.0.0.2", "127.0.0.3"] {
        for _ in 0..4 {
            let mut s = connect_from(from, addr).await;
            let _ = write_all(&mut s, b"GET /healthz HTTP/1.1\r\n").await;
            held.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut closed = 0;
    for s in held.iter_mut() {
        if closed_within(s, Duration::from_millis(50)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 12 - 6);
    drop(held);
    // Once they are gone, a new connection is served (the slots were given back).
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(healthz("127.0.0.4", addr).await.starts_with("HTTP/1.1 200"));
    let _ = stop.send(());
}
