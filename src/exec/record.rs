//! The one execute-and-record path: a circuit run on a backend, and the telemetry record of
//! that attempt completed with the backend, host, settings, start time and how it ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::backend::{Backend, BackendError, Outcome, RunSpec};
use crate::circuit::Circuit;
use crate::features::Features;
use crate::telemetry::ExecutionRecord;

/// Whether the backend's eligibility is checked before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Check first; a refusal is recorded as an ineligible attempt and nothing runs (the
    /// full-information sweep).
    First,
    /// Already checked (the router did, or the job's submitter).
    Done,
}

/// One attempt and its record.
#[derive(Debug)]
pub struct Recorded {
    /// The record: `Ok` with times, memory, cost and fidelity, or the status and error.
    pub record: ExecutionRecord,
    /// What the backend returned.
    pub result: Result<Outcome, BackendError>,
    /// Wall time around the call, the simulation and any process round trip included.
    pub elapsed: Duration,
}

/// Runs `circuit` (whose features are `features`) on `backend` under `spec` and completes
/// `base` — the attempt's identity and routing fields ([`ExecutionRecord::attempt`]) — into
/// its record, stamped now on `host`. Nothing is written: the caller writes the record where
/// it keeps telemetry (or leaves it to a remote worker).
pub fn execute_and_record(
    backend: &dyn Backend,
    circuit: &Circuit,
    features: &Features,
    spec: &RunSpec,
    check: Check,
    base: ExecutionRecord,
    host: &str,
) -> Recorded {
    let mut record = base.on(backend, spec, host, crate::time::now_us());
    let started = Instant::now();
    let result = match check {
        Check::First => match backend.check_circuit(circuit, features, spec) {
            Ok(_) => backend.execute(circuit, spec),
            Err(e) => Err(BackendError::Ineligible(e)),
        },
        Check::Done => backend.execute(circuit, spec),
    };
    let elapsed = started.elapsed();
    record.set_result(&result, backend.price(), spec);
    if let Ok(out) = &result
        && let Some(adapter) = out.metadata.get("adapter")
    {
        record.backend_version = format!("{} ({adapter})", record.backend_version);
    }
    Recorded {
        record,
        result,
        elapsed,
    }
}

/// A run for a watched thread.
type Job = Box<dyn FnOnce() + Send>;

/// Watched threads between runs, each waiting for its next one. A finished run's thread is
/// reused rather than a thread spawned per run: a fresh thread starts with a cold malloc
/// arena, and the page faults of its first allocations (lowering the circuit, the counts of
/// 1,024 shots) were most of `qroute run datasets/demo`'s per-job overhead beyond the
/// simulation — converting 1,024 outcomes took 300–460 µs on a fresh thread. At most as
/// many threads as [`WATCHED`] slots are ever busy at once, so at most that many wait here.
static IDLE: std::sync::Mutex<Vec<std::sync::mpsc::Sender<Job>>> =
    std::sync::Mutex::new(Vec::new());

/// Runs `job` on an idle watched thread, or on a new one (which then stays for later runs).
fn on_watched_thread(mut job: Job) -> std::io::Result<()> {
    loop {
        let idle = IDLE.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            // A thread that died (a run panicked) hands the job back.
            Some(thread) => match thread.send(job) {
                Ok(()) => return Ok(()),
                Err(returned) => job = returned.0,
            },
            None => break,
        }
    }
    std::thread::Builder::new()
        .name("qroute-watched".into())
        .spawn(move || {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            job();
            loop {
                IDLE.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(tx.clone());
                // `tx` lives here, so the channel never closes: the thread waits for good.
                match rx.recv() {
                    Ok(next) => next(),
                    Err(_) => return,
                }
            }
        })
        .map(|_| ())
}

/// In-process runs on a watched thread: running, or given up at their cutoff and still
/// finishing.
static WATCHED: AtomicUsize = AtomicUsize::new(0);

/// Releases a [`WATCHED`] slot when the run's thread ends, however it ends.
struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        WATCHED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// This machine's cores, asked once: `available_parallelism` reads the cgroup's files on
/// every call, which was 9.6% of the overhead bench's time on `ghz_20` (perf).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// [`execute_and_record`] in this process on a thread of its own, given up at `cutoff`: the
/// attempt is then recorded as `hedged` at the cutoff and returned at once, while the run —
/// prism-q cannot be stopped mid-run — finishes on its thread and its result is dropped.
///
/// Why not an executor process, which can be killed: for the short jobs that run in-process,
/// a process round trip costs about 2 ms a job against 0.3 ms here (`qroute run
/// datasets/demo`: the batch took 81 ms with every job in a process, 31.5 ms in-process).
/// What a left-behind run may take is bounded: `None` when as many watched threads are alive
/// as the machine has cores, and the caller runs the job in an executor process instead.
pub fn execute_watched(
    backend: &Arc<dyn Backend>,
    circuit: &Circuit,
    features: &Features,
    spec: &RunSpec,
    base: ExecutionRecord,
    host: &str,
    cutoff: Duration,
) -> Option<Recorded> {
    let cores = cores();
    WATCHED
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < cores).then_some(n + 1)
        })
        .ok()?;
    let slot = Slot;
    let mut spec = spec.clone();
    spec.cutoff = Some(cutoff);
    let (tx, rx) = std::sync::mpsc::channel();
    let given_up = base.clone();
    let run = (
        backend.clone(),
        circuit.clone(),
        features.clone(),
        spec.clone(),
    );
    let at = host.to_string();
    let started = Instant::now();
    let spawned = on_watched_thread(Box::new(move || {
        let _slot = slot;
        let (backend, circuit, features, spec) = run;
        let done = execute_and_record(
            backend.as_ref(),
            &circuit,
            &features,
            &spec,
            Check::Done,
            base,
            &at,
        );
        // The receiver is gone when the run was given up: its result goes nowhere.
        let _ = tx.send(done);
    }));
    if spawned.is_err() {
        // The slot went with the closure that was not run.
        return None;
    }
    let failed = |e: BackendError| {
        let mut record = given_up.on(backend.as_ref(), &spec, host, crate::time::now_us());
        let result = Err(e);
        record.set_result(&result, backend.price(), &spec);
        Recorded {
            record,
            result,
            elapsed: started.elapsed(),
        }
    };
    Some(match rx.recv_timeout(cutoff) {
        Ok(done) => done,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => failed(BackendError::Timeout {
            backend: backend.name().to_string(),
            timeout: cutoff,
        }),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => failed(BackendError::Executor {
            backend: backend.name().to_string(),
            detail: "the run's thread ended without a result (it panicked)".into(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Status;
    use crate::backend::registry::builtin;
    use crate::circuit::qasm::parse_str;

    fn run(check: Check, text: &str) -> Recorded {
        let c = parse_str(text).unwrap();
        let f = crate::features::extract(&c);
        let b = builtin("stabilizer", crate::config::default_price()).unwrap();
        let spec = RunSpec {
            shots: 16,
            seed: 1,
            memory_budget: None,
            threads: 1,
            timeout: None,
            cutoff: None,
            options: Default::default(),
        };
        let base = ExecutionRecord::attempt("run", "job", c.id().to_string(), f.clone(), "x");
        execute_and_record(b.as_ref(), &c, &f, &spec, check, base, "host")
    }

    #[test]
    fn a_refusal_is_recorded_as_ineligible_and_nothing_runs() {
        let t =
            "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[1]; creg c[1]; t q[0]; measure q -> c;";
        let r = run(Check::First, t);
        assert_eq!(r.record.status, Status::Ineligible);
        assert!(r.record.wall_ms.is_none() && r.record.cost.is_none());
        let why = r.record.error_message.unwrap_or_default();
        assert!(why.contains("Clifford"), "{why}");
        assert!(matches!(r.result, Err(BackendError::Ineligible(_))));
    }

    #[test]
    fn a_run_fills_in_the_record_around_its_identity() {
        let bell = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c[2]; h q[0]; \
                    cx q[0], q[1]; measure q -> c;";
        let r = run(Check::First, bell);
        let rec = &r.record;
        assert_eq!(rec.status, Status::Ok);
        assert_eq!((rec.run_id.as_str(), rec.job_id.as_str()), ("run", "job"));
        assert_eq!((rec.host.as_str(), rec.shots, rec.seed), ("host", 16, 1));
        assert_eq!(rec.backend_kind, "stabilizer");
        assert!(rec.ts_us > 0 && rec.wall_ms.is_some() && rec.cost.is_some());
        let counts = &r.result.as_ref().unwrap().counts;
        assert_eq!(counts.values().sum::<u64>(), 16);
        assert!(counts.keys().all(|k| k == "00" || k == "11"), "{counts:?}");
    }
}
