//! Distributed execution on Redis Streams, against a real `redis-server` this harness starts
//! on a free loopback port (and stops): jobs complete exactly once through several workers, a
//! worker killed mid-job has its jobs claimed by another, a poison job is dead-lettered, a
//! Redis restart with AOF loses no job, and `qroute run --redis` routes through the queue.
//!
//! Without `redis-server` on PATH these tests skip; `QROUTE_REQUIRE_REDIS=1` (CI) makes its
//! absence a failure.

#![cfg(feature = "redis")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use qroute::backend::registry::builtin;
use qroute::backend::{Backend, Price, RunSpec};
use qroute::circuit::Circuit;
use qroute::circuit::qasm::parse_str;
use qroute::exec::{IsolationPolicy, RunOptions, Runner};
use qroute::queue::{QueueConfig, QueueParams, RemoteBackend, remote_registry, status};
use qroute::route::{Constraints, Job, Router, Strategy};
use qroute::telemetry::Status;

use common::synthetic::{misrouted_clifford, registry};

/// `QROUTE_REQUIRE_REDIS=1`: fail instead of skipping when `redis-server` is missing.
const ENV_REQUIRE_REDIS: &str = "QROUTE_REQUIRE_REDIS";

struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    aof: bool,
}

impl RedisServer {
    /// A fresh server, or `None` (skip) when redis-server is not installed.
    fn start(aof: bool) -> Option<RedisServer> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok();
        if !found {
            assert!(
                std::env::var(ENV_REQUIRE_REDIS).as_deref() != Ok("1"),
                "redis-server is not installed and {ENV_REQUIRE_REDIS}=1"
            );
            eprintln!("redis-server not found: skipping");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = RedisServer {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
            aof,
        };
        s.spawn();
        Some(s)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", "", "--daemonize", "no", "--logfile", "redis.log"])
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .args(["--appendfsync", "always"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = redis::Client::open(self.url()).unwrap();
        loop {
            let ready = client
                .get_connection()
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ready.is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not answer");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server outright (no shutdown save) and starts it again on its data.
    fn crash_and_restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        self.spawn();
    }

    fn queue(&self, tune: impl FnOnce(&mut QueueParams)) -> QueueConfig {
        let mut p = QueueParams::new(self.url());
        tune(&mut p);
        p.check().unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A `qroute worker` process.
struct WorkerProc {
    child: Child,
    telemetry: PathBuf,
}

impl WorkerProc {
    fn start(redis: &RedisServer, name: &str, backends: &str, extra: &[&str], dir: &Path) -> Self {
        let telemetry = dir.join(name);
        let child = Command::new(common::qroute_exe())
            .args(["worker", "--redis", &redis.url(), "--backends", backends])
            .args(["--name", name])
            .arg("--telemetry")
            .arg(&telemetry)
            .args(extra)
            .env_remove("QROUTE_REDIS")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("qroute worker starts");
        WorkerProc { child, telemetry }
    }

    /// SIGTERM, then waits: the worker finishes its running jobs and flushes telemetry.
    fn stop(self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let out = self.child.wait_with_output().unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn remote(name: &str, queue: &QueueConfig) -> RemoteBackend {
    RemoteBackend::new(builtin(name, Price::default()).unwrap(), queue.clone())
}

fn ghz(n: u32) -> Circuit {
    let mut q =
        format!("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[{n}];\ncreg c[{n}];\nh q[0];\n");
    for i in 1..n {
        q.push_str(&format!("cx q[{}],q[{i}];\n", i - 1));
    }
    q.push_str("measure q -> c;\n");
    parse_str(&q).unwrap()
}

/// A dense circuit slow enough on a state vector (about a second here) that a worker can
/// be caught running it.
fn slow(n: u32, layers: u32) -> Circuit {
    let mut q = format!("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[{n}];\ncreg c[{n}];\n");
    for l in 0..layers {
        for i in 0..n {
            q.push_str(&format!(
                "u3({},{},0.3) q[{i}];\n",
                0.1 + l as f64 * 0.01,
                i as f64 * 0.2
            ));
        }
        for i in 0..n - 1 {
            q.push_str(&format!("cx q[{i}],q[{}];\n", i + 1));
        }
    }
    q.push_str("measure q -> c;\n");
    parse_str(&q).unwrap()
}

fn spec(seed: u64) -> RunSpec {
    RunSpec {
        shots: 64,
        seed,
        timeout: Some(Duration::from_secs(60)),
        ..RunSpec::default()
    }
}

/// A worker `w` serving `backends` (two jobs at once), once its heartbeat is in, and the queue.
fn worker_ready(redis: &RedisServer, backends: &str, dir: &Path) -> (WorkerProc, QueueConfig) {
    let w = WorkerProc::start(redis, "w", backends, &["--concurrency", "2"], dir);
    let queue = redis.queue(|_| {});
    wait_until("the worker's heartbeat", Duration::from_secs(30), || {
        !status(&queue, &mut queue.connect(), &[])
            .unwrap()
            .workers
            .is_empty()
    });
    (w, queue)
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn counter(queue: &QueueConfig, name: &str) -> u64 {
    status(queue, &mut queue.connect(), &[])
        .unwrap()
        .counters
        .get(name)
        .copied()
        .unwrap_or(0)
}

fn assert_ghz_counts(counts: &std::collections::BTreeMap<String, u64>, n: usize, shots: u64) {
    assert_eq!(counts.values().sum::<u64>(), shots);
    for k in counts.keys() {
        assert!(
            *k == "0".repeat(n) || *k == "1".repeat(n),
            "GHZ gave {k}: {counts:?}"
        );
    }
}

#[test]
fn two_hundred_jobs_through_three_workers_complete_exactly_once() {
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    let queue = redis.queue(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let backends = [remote("statevector", &queue), remote("stabilizer", &queue)];
    let mut ids = Vec::new();
    for i in 0..200u64 {
        let b = &backends[(i % 2) as usize];
        let n = 2 + (i % 5) as u32;
        ids.push((b, n, b.submit(&ghz(n), &spec(i)).unwrap()));
    }
    let workers: Vec<WorkerProc> = (0..3)
        .map(|w| {
            WorkerProc::start(
                &redis,
                &format!("w{w}"),
                "statevector,stabilizer",
                &[],
                dir.path(),
            )
        })
        .collect();
    for (b, n, id) in &ids {
        let r = b.wait(id, Duration::from_secs(120)).unwrap();
        assert_eq!(&r.id, id);
        assert_eq!(r.backend, b.name());
        let res = r
            .result
            .unwrap_or_else(|| panic!("job {id} failed: {:?}", r.error));
        assert_ghz_counts(&res.counts, *n as usize, 64);
    }
    let s = status(
        &queue,
        &mut queue.connect(),
        &["statevector".into(), "stabilizer".into()],
    )
    .unwrap();
    assert_eq!(s.counters.get("completed"), Some(&200));
    assert_eq!(s.counters.get("duplicates"), None);
    // No job waited for the visibility timeout: none was left behind by a worker.
    assert_eq!(s.counters.get("reclaimed"), None);
    assert!(
        s.backends
            .iter()
            .all(|b| b.load.backlog == 0 && b.load.pending == 0)
    );
    assert_eq!(s.workers.len(), 3, "{:?}", s.workers);
    let mut rows = 0;
    for w in workers {
        let t = w.telemetry.clone();
        let (st, err) = w.stop();
        assert!(st.success(), "worker failed: {err}");
        rows += qroute::telemetry::read_dir(&t).unwrap().records.len();
    }
    // Each job executed once: one telemetry row per job across the workers.
    assert_eq!(rows, 200);
    let s = status(&queue, &mut queue.connect(), &[]).unwrap();
    assert!(s.workers.is_empty(), "stopped workers left the live set");
}

#[test]
fn a_worker_killed_mid_job_has_its_job_reclaimed_and_completed() {
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    let queue = redis.queue(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let sv = remote("statevector", &queue);
    let jobs: Vec<String> = (0..4)
        .map(|i| sv.submit(&slow(20, 12), &spec(i)).unwrap())
        .collect();
    let vis = ["--visibility-timeout", "1.5"];
    let mut a = WorkerProc::start(&redis, "doomed", "statevector", &vis, dir.path());
    // Wait until it holds a job, then let it run a moment and kill it without warning.
    wait_until_holding(&redis, &queue.stream("statevector"), "doomed");
    std::thread::sleep(Duration::from_millis(200));
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let done_before = counter(&queue, "completed");
    let b = WorkerProc::start(&redis, "rescuer", "statevector", &vis, dir.path());
    let mut redelivered = 0;
    for id in &jobs {
        let r = sv.wait(id, Duration::from_secs(120)).unwrap();
        assert!(r.result.is_some(), "job {id} failed: {:?}", r.error);
        if r.deliveries > 1 {
            assert_eq!(r.worker, "rescuer");
            redelivered += 1;
        }
    }
    assert!(
        redelivered >= 1,
        "no job was reclaimed from the killed worker"
    );
    assert!(counter(&queue, "reclaimed") >= 1);
    assert_eq!(counter(&queue, "completed"), 4);
    assert!(done_before < 4);
    let (st, err) = b.stop();
    assert!(st.success(), "{err}");
}

/// Waits until `worker` holds an entry of `stream` (delivered, not yet acknowledged).
fn wait_until_holding(redis: &RedisServer, stream: &str, worker: &str) {
    let mut con = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    wait_until(
        &format!("{worker} to take a job"),
        Duration::from_secs(30),
        || {
            let v: redis::Value = redis::cmd("XPENDING")
                .arg(stream)
                .arg("workers")
                .arg("-")
                .arg("+")
                .arg(10)
                .arg(worker)
                .query(&mut con)
                .unwrap_or(redis::Value::Nil);
            matches!(v, redis::Value::Array(a) if !a.is_empty())
        },
    );
}

#[test]
fn sigterm_lets_the_running_job_finish() {
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    let queue = redis.queue(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let sv = remote("statevector", &queue);
    let id = sv.submit(&slow(20, 12), &spec(7)).unwrap();
    let w = WorkerProc::start(&redis, "graceful", "statevector", &[], dir.path());
    wait_until_holding(&redis, &queue.stream("statevector"), "graceful");
    let t = w.telemetry.clone();
    let (st, err) = w.stop();
    assert!(st.success(), "{err}");
    assert!(err.contains("1 executed, 1 results written"), "{err}");
    // The result is there at once: the worker wrote it before exiting.
    let r = sv.wait(&id, Duration::from_millis(100)).unwrap();
    assert!(r.result.is_some(), "{:?}", r.error);
    assert_eq!((r.worker.as_str(), r.deliveries), ("graceful", 1));
    assert_eq!(qroute::telemetry::read_dir(&t).unwrap().records.len(), 1);
}

#[test]
fn a_poison_job_ends_in_the_dead_letter_stream() {
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    let queue = redis.queue(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let stream = queue.stream("stabilizer");
    let mut con = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    // Two entries a worker cannot read: broken JSON, and a message version from the future.
    for (id, job) in [
        ("poison-json", "{\"v\": 1, \"id\":"),
        ("poison-version", "{\"v\": 99, \"id\": \"poison-version\"}"),
    ] {
        let _: String = redis::cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("id")
            .arg(id)
            .arg("job")
            .arg(job)
            .query(&mut con)
            .unwrap();
    }
    let stab = remote("stabilizer", &queue);
    let good = stab.submit(&ghz(5), &spec(1)).unwrap();
    let w = WorkerProc::start(
        &redis,
        "w",
        "stabilizer",
        &["--visibility-timeout", "0.3", "--max-deliveries", "2"],
        dir.path(),
    );
    // The good job is not held up by the poison ones.
    let r = stab.wait(&good, Duration::from_secs(60)).unwrap();
    assert_ghz_counts(&r.result.unwrap().counts, 5, 64);
    for (id, why) in [
        ("poison-json", "invalid JSON"),
        ("poison-version", "message version 99 is not 1"),
    ] {
        let r = stab.wait(id, Duration::from_secs(60)).unwrap();
        let e = r.error.expect("a dead-lettered job fails");
        assert_eq!(e.kind, "dead_letter");
        assert!(e.message.contains("after 2 deliveries"), "{}", e.message);
        assert!(e.message.contains(why), "{}", e.message);
    }
    let dead: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg("qroute:dead")
        .arg("-")
        .arg("+")
        .query(&mut con)
        .unwrap();
    let ids: Vec<String> = dead
        .ids
        .iter()
        .map(|e| e.get::<String>("id").unwrap())
        .collect();
    assert_eq!(ids, ["poison-json", "poison-version"]);
    assert!(
        dead.ids[1]
            .get::<String>("error")
            .unwrap()
            .contains("message version 99")
    );
    let len: u64 = redis::cmd("XLEN").arg(&stream).query(&mut con).unwrap();
    assert_eq!(len, 0, "dead-lettered entries leave the job stream");
    let (st, err) = w.stop();
    assert!(st.success(), "{err}");
}

#[test]
fn redis_restarted_mid_run_with_aof_loses_no_job() {
    let Some(mut redis) = RedisServer::start(true) else {
        return;
    };
    let queue = redis.queue(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let sv = Arc::new(remote("statevector", &queue));
    let jobs: Vec<String> = (0..40)
        .map(|i| sv.submit(&slow(14, 6), &spec(i)).unwrap())
        .collect();
    let w = WorkerProc::start(
        &redis,
        "w",
        "statevector",
        &["--concurrency", "2"],
        dir.path(),
    );
    wait_until("some jobs to finish", Duration::from_secs(60), || {
        counter(&queue, "completed") >= 5
    });
    let before = counter(&queue, "completed");
    assert!(
        before < 40,
        "every job finished before the restart: make them slower"
    );
    redis.crash_and_restart();
    for id in &jobs {
        let r = sv.wait(id, Duration::from_secs(120)).unwrap();
        assert!(r.result.is_some(), "job {id} failed: {:?}", r.error);
    }
    let len: u64 = redis::cmd("XLEN")
        .arg(queue.stream("statevector"))
        .query(
            &mut redis::Client::open(redis.url())
                .unwrap()
                .get_connection()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(len, 0);
    let (st, err) = w.stop();
    assert!(st.success(), "{err}");
}

#[test]
fn run_with_redis_routes_every_circuit_through_the_workers() {
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (w, queue) = worker_ready(&redis, "statevector,stabilizer,mps-64,sparse", dir.path());
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/demo");
    let out = Command::new(common::qroute_exe())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--redis", &redis.url(), "--in-flight", "8"])
        .arg("--telemetry")
        .arg(dir.path().join("router"))
        .arg(&demo)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("recorded by the workers"), "{stdout}");
    let circuits = std::fs::read_dir(&demo)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "qasm")
        })
        .count() as u64;
    // Only backends a live worker serves were chosen; each circuit ran once, there.
    assert_eq!(counter(&queue, "completed"), circuits);
    assert_eq!(counter(&queue, "reclaimed"), 0);
    let (st, err) = w.stop();
    assert!(st.success(), "{err}");
    let recorded = qroute::telemetry::read_dir(&dir.path().join("w"))
        .unwrap()
        .records;
    assert_eq!(recorded.len() as u64, circuits);
    assert!(
        recorded.iter().all(
            |r| ["statevector", "stabilizer", "mps-64", "sparse"].contains(&r.backend.as_str())
        )
    );
}

#[test]
fn serve_with_redis_runs_api_jobs_on_the_workers() {
    use std::io::BufReader;
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let queue = redis.queue(|_| {});
    let w = WorkerProc::start(&redis, "w", "stabilizer", &[], dir.path());
    wait_until("the worker's heartbeat", Duration::from_secs(30), || {
        !status(&queue, &mut queue.connect(), &[])
            .unwrap()
            .workers
            .is_empty()
    });
    let mut child = Command::new(common::qroute_exe())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["serve", "--addr", "127.0.0.1:0", "--redis", &redis.url()])
        .arg("--telemetry")
        .arg(dir.path().join("router"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kept open until the end: serve writes to it when it stops.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let addr = common::serving_addr(&mut err);
    let http = |method: &str, path: &str, body: &str| {
        common::json_body(&common::http(&addr, method, path, body))
    };
    // A Clifford circuit: the only backend with a live worker can take it.
    let body = r#"{"name": "ghz", "qasm":"OPENQASM 2.0; include \"qelib1.inc\"; qreg q[3]; creg c[3]; h q[0]; cx q[0], q[1]; cx q[1], q[2]; measure q -> c;"}"#;
    let id = http("POST", "/v1/jobs", body)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let job = loop {
        let v = http("GET", &format!("/v1/jobs/{id}"), "");
        if v["status"] != "queued" && v["status"] != "running" {
            break v;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{v}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["backend"], "stabilizer", "{job}");
    let counts: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(job["counts"].clone()).unwrap();
    assert_ghz_counts(&counts, 3, counts.values().sum());
    assert_eq!(counter(&queue, "completed"), 1);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let (st, e) = w.stop();
    assert!(st.success(), "{e}");
    // The worker recorded the execution; the router did not record it again.
    assert_eq!(
        qroute::telemetry::read_dir(&dir.path().join("w"))
            .unwrap()
            .records
            .len(),
        1
    );
    assert_eq!(
        qroute::telemetry::read_dir(&dir.path().join("router"))
            .map(|r| r.records.len())
            .unwrap_or(0),
        0
    );
}

#[test]
fn an_unreachable_redis_or_an_unknown_backend_fails_fast_and_clearly() {
    // Port 1 on loopback: nothing listens (connection refused).
    let url = "redis://127.0.0.1:1";
    let started = Instant::now();
    let out = Command::new(common::qroute_exe())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--redis", url, "datasets/demo/ghz_20.qasm"])
        .env_remove("QROUTE_REDIS")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot read the queue at redis://127.0.0.1:1"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(common::qroute_exe())
        .args(["worker", "--redis", url, "--backends", "stabilizer"])
        .arg("--telemetry")
        .arg(dir.path())
        .env_remove("QROUTE_REDIS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("create consumer group"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Both gave up after the first-contact bound, not the minute a running worker waits.
    assert!(started.elapsed() < Duration::from_secs(30));
    let out = Command::new(common::qroute_exe())
        .args([
            "worker",
            "--redis",
            url,
            "--backends",
            "stabilizer,warp-drive",
        ])
        .arg("--telemetry")
        .arg(dir.path())
        .env_remove("QROUTE_REDIS")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("unknown backend `warp-drive`"), "{err}");
    let out = Command::new(common::qroute_exe())
        .args(["worker", "--redis", "http://x", "--backends", "stabilizer"])
        .env_remove("QROUTE_REDIS")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid queue setting url"), "{err}");
}

/// #28: a worker's rows are on disk when its jobs are acknowledged (not after the writer's
/// 5 s flush window), so a SIGKILL right after loses none; and a worker that stops reports
/// the rows it wrote.
#[test]
fn r28_worker_rows_are_on_disk_before_the_ack() {
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    let queue = redis.queue(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let sv = remote("statevector", &queue);
    let worker = WorkerProc::start(&redis, "w", "statevector", &[], dir.path());
    let ids: Vec<String> = (0..5)
        .map(|i| sv.submit(&ghz(3), &spec(i)).unwrap())
        .collect();
    for id in &ids {
        sv.wait(id, Duration::from_secs(60)).unwrap();
    }
    // Killed outright at once: every acknowledged job has its row.
    let mut child = worker.child;
    child.kill().unwrap();
    child.wait().unwrap();
    let rows = qroute::telemetry::read_dir(&worker.telemetry)
        .unwrap()
        .records
        .len();
    assert_eq!(rows, ids.len());
    // A worker stopped by SIGTERM counts what it wrote.
    let worker = WorkerProc::start(&redis, "w2", "statevector", &[], dir.path());
    let id = sv.submit(&ghz(3), &spec(9)).unwrap();
    sv.wait(&id, Duration::from_secs(60)).unwrap();
    let (status, err) = worker.stop();
    assert!(status.success(), "{err}");
    assert!(err.contains("telemetry: 1 row(s)"), "{err}");
}

/// Issue 31: behind the queue too, a run still going at its hedging cutoff is stopped on the
/// worker and recorded there as `hedged` (censored at the cutoff), and the job finishes on the
/// next-best backend of another family, whose counts come back.
#[test]
fn issue_31_a_run_overrunning_its_cutoff_on_a_worker_is_hedged() {
    let Some(redis) = RedisServer::start(false) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (w, queue) = worker_ready(&redis, "statevector,stabilizer", dir.path());
    let (src, models, cfg) = misrouted_clifford();
    let job = Job::new("clifford-22", parse_str(&src).unwrap());
    let r = Router::new(
        models,
        remote_registry(&registry(&["statevector", "stabilizer"]), &queue),
        cfg.check().unwrap(),
    );
    let opts = RunOptions {
        timeout: Duration::from_secs(120),
        seed: 1,
        run_id: "t".into(),
        isolation: IsolationPolicy::default(),
        baseline: None,
    };
    let performance = Constraints {
        strategy: Some(Strategy::Performance),
        ..Constraints::default()
    };
    let started = Instant::now();
    let rep = Runner::new(&r, None, None, opts)
        .run(0, &job, &performance)
        .unwrap();
    let took = started.elapsed();
    let tried = common::tried(&rep);
    assert_eq!(
        tried,
        [("statevector", Status::Hedged), ("stabilizer", Status::Ok)]
    );
    let given_up = rep.attempts[0].error.as_deref().unwrap();
    assert!(given_up.contains("hedging cutoff of 100 ms"), "{given_up}");
    let counts = &rep.outcome.as_ref().unwrap().counts;
    assert_eq!(counts.values().sum::<u64>(), 1024);
    assert!(rep.error.is_none(), "{:?}", rep.error);
    // The cutoff plus the tableau's run, not the state vector's seconds (a generous bound for
    // a loaded machine).
    assert!(took < Duration::from_secs(10), "{took:?}");
    let (st, err) = w.stop();
    assert!(st.success(), "{err}");
    // The worker recorded both attempts; the stopped one censored at its cutoff.
    let rows = qroute::telemetry::read_dir(&dir.path().join("w"))
        .unwrap()
        .records;
    let mut seen: Vec<(&str, Status)> = rows
        .iter()
        .map(|r| (r.backend.as_str(), r.status))
        .collect();
    seen.sort_by_key(|(b, _)| b.to_string());
    assert_eq!(
        seen,
        [("stabilizer", Status::Ok), ("statevector", Status::Hedged)]
    );
    let hedged = rows.iter().find(|r| r.status == Status::Hedged).unwrap();
    assert_eq!(hedged.timeout_ms, Some(100.0));
    assert_eq!(hedged.wall_ms, Some(100.0));
}
