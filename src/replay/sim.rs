//! Replay under load and under drift.
//!
//! **Load**: circuits arrive (a seeded Poisson stream, or spaced as their trace timestamps);
//! each policy sends each to a backend with `slots` servers and a FIFO queue; service times
//! are the recorded ones (a lost attempt occupies its backend for the time it lost, then the
//! circuit queues again on the fastest backend). A discrete-event simulation gives each
//! policy's completion times (arrival to result) and every backend's utilisation. The
//! adaptive strategy sees the work in flight (as in a live router); static ones do not.
//!
//! **Drift**: circuits are routed one after another in trace order; from a chosen point, every
//! recorded time of one backend is multiplied by a factor. Each policy's slowdown against the
//! drifted oracle is tracked (geometric means, as slowdowns span orders of magnitude);
//! recovery is when its rolling slowdown is back within 25% of its level before the drift
//! and stays there.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use serde::Serialize;

use super::{
    Chooser, Policy, Prepared, ReplayError, ReplaySpec, feed, hedged, observed, percentile,
};
use crate::rng::Rng;
use crate::route::{InFlight, Strategy};
use crate::train::Outcome;

/// How circuits arrive in load mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Arrivals {
    /// A Poisson stream of this many circuits per second (seeded).
    Poisson(f64),
    /// Spaced as their first recorded attempts, sped up by this factor.
    Trace(f64),
}

/// Load mode settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LoadSpec {
    /// Arrival process.
    pub arrivals: Arrivals,
    /// Servers per backend.
    pub slots: usize,
}

/// One policy under load.
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    /// The policy.
    pub policy: String,
    /// Mean time from arrival to result, ms.
    pub mean_completion_ms: f64,
    /// 95th percentile of it, ms.
    pub p95_completion_ms: f64,
    /// Mean time waiting in queues, ms.
    pub mean_wait_ms: f64,
    /// When the last circuit finished, ms after the first arrival.
    pub makespan_ms: f64,
    /// Busy time / (slots × makespan), per backend.
    pub utilisation: BTreeMap<String, f64>,
}

/// Drift mode settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftSpec {
    /// The backend that slows down.
    pub backend: String,
    /// By how much.
    pub factor: f64,
    /// From which share of the circuits (in trace order), in (0, 1).
    pub at: f64,
    /// Circuits in the rolling window.
    pub window: usize,
}

/// One policy under drift.
#[derive(Debug, Clone, Serialize)]
pub struct DriftResult {
    /// The policy.
    pub policy: String,
    /// Geometric mean slowdown against the (drifted) oracle before the drift.
    pub before: f64,
    /// Geometric mean slowdown after it.
    pub after: f64,
    /// Share of circuits after the drift sent to the drifted backend.
    pub drifted_share_after: f64,
    /// Circuits after the drift until the rolling slowdown is back within 25% of `before`
    /// for good; `None` when it never is.
    pub recovery_circuits: Option<usize>,
    /// Recorded time spent until then, ms.
    pub recovery_ms: Option<f64>,
    /// Total time after the drift beyond the drifted oracle, ms.
    pub excess_ms: f64,
    /// Rolling geometric mean slowdown after each circuit (for plots).
    pub rolling: Vec<f64>,
}

/// An event of the load simulation: a job finishing on a backend.
#[derive(Debug)]
struct Done {
    at: f64,
    seq: u64,
}

impl PartialEq for Done {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Done {}
impl PartialOrd for Done {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Done {
    // Earliest first in a max-heap.
    fn cmp(&self, o: &Self) -> Ordering {
        o.at.total_cmp(&self.at).then(o.seq.cmp(&self.seq))
    }
}

/// A job in the system.
struct Job<'r> {
    /// Index into the prepared order.
    k: usize,
    backend: usize,
    service_ms: f64,
    /// Whether this attempt is lost (the circuit then queues on the oracle's backend).
    lost: bool,
    /// Whether this is that retry (not the policy's choice, so not observed, as in replay).
    retry: bool,
    guard: Option<InFlight<'r>>,
}

fn arrivals(prep: &Prepared, a: Arrivals, seed: u64) -> Result<Vec<f64>, ReplayError> {
    match a {
        Arrivals::Poisson(rate) if rate.is_finite() && rate > 0.0 => {
            let mut rng = Rng::new(seed ^ 0xa11a);
            let mut t = 0.0;
            Ok(prep
                .order
                .iter()
                .map(|_| {
                    let at = t;
                    // Exponential gaps of mean 1/rate seconds.
                    t += -(1.0 - rng.f64()).ln() / rate * 1e3;
                    at
                })
                .collect())
        }
        Arrivals::Trace(speedup) if speedup.is_finite() && speedup > 0.0 => {
            let t0 = prep.ds.circuits[prep.order[0]].first_ts_us;
            Ok(prep
                .order
                .iter()
                .map(|&c| (prep.ds.circuits[c].first_ts_us - t0) as f64 / 1e3 / speedup)
                .collect())
        }
        _ => Err(ReplayError::Data(format!(
            "arrival rate or speed-up must be a positive number, got {a:?}"
        ))),
    }
}

/// Simulates every policy of `spec` under load.
pub fn load(
    spec: &ReplaySpec,
    prep: &Prepared,
    load: &LoadSpec,
) -> Result<Vec<LoadResult>, ReplayError> {
    unhedged_only(spec, "load")?;
    if load.slots == 0 {
        return Err(ReplayError::Data(
            "load mode needs at least one slot per backend".into(),
        ));
    }
    let times = arrivals(prep, load.arrivals, spec.seed)?;
    let mut config = spec.router.clone();
    config.slots = load.slots;
    let routers = prep.routers(&spec.policies, &config);
    let ds = &prep.ds;
    let nb = ds.backends.len();
    let features = prep.ordered_features()?;
    let mut out = Vec::new();
    for pi in 0..spec.policies.len() {
        let mut chooser = Chooser::new(prep, &spec.policies, &routers, spec.seed);
        let adaptive = matches!(spec.policies[pi], Policy::Router(Strategy::Adaptive));
        let mut queues: Vec<VecDeque<(Job, f64)>> = (0..nb).map(|_| VecDeque::new()).collect();
        let mut busy = vec![0usize; nb];
        let mut busy_ms = vec![0.0; nb];
        let mut running: BTreeMap<u64, Job> = BTreeMap::new();
        let mut events = BinaryHeap::new();
        let mut seq = 0u64;
        let mut done_at = vec![f64::NAN; prep.order.len()];
        let mut waited = vec![0.0; prep.order.len()];
        let mut next = 0usize;
        let mut now;
        // Starts queued jobs on free servers of backend `b` at time `t`.
        macro_rules! start {
            ($b:expr, $t:expr) => {{
                let b = $b;
                while busy[b] < load.slots {
                    let Some((job, queued_at)) = queues[b].pop_front() else {
                        break;
                    };
                    busy[b] += 1;
                    busy_ms[b] += job.service_ms;
                    waited[job.k] += $t - queued_at;
                    seq += 1;
                    events.push(Done {
                        at: $t + job.service_ms,
                        seq,
                    });
                    running.insert(seq, job);
                }
            }};
        }
        loop {
            let arrival = times.get(next).copied();
            let finish = events.peek().map(|d: &Done| d.at);
            match (arrival, finish) {
                (None, None) => break,
                (Some(a), f) if f.is_none_or(|f| a < f) => {
                    now = a;
                    let k = next;
                    next += 1;
                    let c = prep.order[k];
                    let (b, rec) = chooser.choose(pi, c, &features[k]);
                    let guard = match (&rec, chooser.router(pi, c)) {
                        (Some(r), Some(router)) => router.begin(r),
                        _ => None,
                    };
                    let (service_ms, lost) = match ds.obs[c][b].outcome() {
                        Outcome::Ok(ms) => (ms, false),
                        Outcome::Lost(ms) => (ms, true),
                        Outcome::Ineligible => (prep.oracle[c].expect("scorable").1, false),
                    };
                    queues[b].push_back((
                        Job {
                            k,
                            backend: b,
                            service_ms,
                            lost,
                            retry: false,
                            guard,
                        },
                        now,
                    ));
                    start!(b, now);
                }
                (_, Some(_)) => {
                    let d = events.pop().expect("peeked");
                    now = d.at;
                    let job = running.remove(&d.seq).expect("a running job per event");
                    let b = job.backend;
                    busy[b] -= 1;
                    let c = prep.order[job.k];
                    if adaptive
                        && !job.retry
                        && let Some(router) = chooser.router(pi, c)
                    {
                        router.observe(&observed(
                            &ds.circuits[c],
                            &ds.backends[b],
                            &ds.obs[c][b],
                            &features[job.k],
                            1.0,
                        ));
                    }
                    drop(job.guard);
                    if job.lost {
                        let (ob, oms) = prep.oracle[c].expect("scorable");
                        queues[ob].push_back((
                            Job {
                                k: job.k,
                                backend: ob,
                                service_ms: oms,
                                lost: false,
                                retry: true,
                                guard: None,
                            },
                            now,
                        ));
                        start!(ob, now);
                    } else {
                        done_at[job.k] = now;
                    }
                    start!(b, now);
                }
                (Some(_), None) => unreachable!("an arrival without events is taken above"),
            }
        }
        let completion: Vec<f64> = done_at.iter().zip(&times).map(|(d, a)| d - a).collect();
        let makespan = done_at.iter().copied().fold(0.0, f64::max);
        let mut sorted = completion.clone();
        sorted.sort_by(f64::total_cmp);
        let n = completion.len() as f64;
        out.push(LoadResult {
            policy: spec.policies[pi].to_string(),
            mean_completion_ms: completion.iter().sum::<f64>() / n,
            p95_completion_ms: percentile(&sorted, 0.95),
            mean_wait_ms: waited.iter().sum::<f64>() / n,
            makespan_ms: makespan,
            utilisation: ds
                .backends
                .iter()
                .zip(&busy_ms)
                .map(|(name, ms)| (name.clone(), ms / (load.slots as f64 * makespan.max(1e-9))))
                .collect(),
        });
    }
    Ok(out)
}

/// Load simulates whole runs on their recorded times; a hedged policy would be scored as if
/// it never hedged, so it is refused rather than mislabelled.
fn unhedged_only(spec: &ReplaySpec, mode: &str) -> Result<(), ReplayError> {
    match spec
        .policies
        .iter()
        .find(|p| matches!(p, Policy::Hedged(_)))
    {
        Some(p) => Err(ReplayError::Data(format!(
            "{mode} mode does not simulate hedging; leave `{p}` out of its policies"
        ))),
        None => Ok(()),
    }
}

/// Routes every policy of `spec` through a drift of one backend.
pub fn drift(
    spec: &ReplaySpec,
    prep: &Prepared,
    drift: &DriftSpec,
) -> Result<Vec<DriftResult>, ReplayError> {
    let ds = &prep.ds;
    let Some(db) = ds.backends.iter().position(|b| *b == drift.backend) else {
        return Err(ReplayError::UnknownBackend {
            policy: "drift".into(),
            backend: drift.backend.clone(),
            known: ds.backends.join(", "),
        });
    };
    if !(drift.factor.is_finite() && drift.factor > 0.0) {
        return Err(ReplayError::Data(format!(
            "the drift factor must be a positive number, got {}",
            drift.factor
        )));
    }
    if !(drift.at > 0.0 && drift.at < 1.0) {
        return Err(ReplayError::Data(format!(
            "the drift point must be a share of the circuits in (0, 1), got {}",
            drift.at
        )));
    }
    let n = prep.order.len();
    let from = ((n as f64 * drift.at) as usize).clamp(1, n - 1);
    let window = drift.window.max(1);
    let routers = prep.routers(&spec.policies, &spec.router);
    let mut chooser = Chooser::new(prep, &spec.policies, &routers, spec.seed);
    let features = prep.ordered_features()?;
    // Recorded time of backend b for circuit k (drifted from `from` on), and whether lost.
    // How much longer backend b's recorded times are for circuit k.
    let factor = |k: usize, b: usize| {
        if b == db && k >= from {
            drift.factor
        } else {
            1.0
        }
    };
    let time = |k: usize, b: usize| -> Option<(f64, bool)> {
        let c = prep.order[k];
        let f = factor(k, b);
        match ds.obs[c][b].outcome() {
            Outcome::Ok(ms) => Some((ms * f, false)),
            Outcome::Lost(ms) => Some((ms * f, true)),
            Outcome::Ineligible => None,
        }
    };
    // The drifted oracle: the fastest usable backend and its time, per circuit.
    let best: Vec<(usize, f64)> = (0..n)
        .map(|k| {
            (0..ds.backends.len())
                .filter_map(|b| time(k, b).filter(|t| !t.1).map(|t| (b, t.0)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("a scorable circuit has a usable backend")
        })
        .collect();
    let oracle: Vec<f64> = best.iter().map(|b| b.1).collect();
    let mut slow: Vec<Vec<f64>> = vec![Vec::with_capacity(n); spec.policies.len()];
    let mut spent: Vec<Vec<f64>> = vec![Vec::with_capacity(n); spec.policies.len()];
    let mut drifted = vec![0usize; spec.policies.len()];
    for k in 0..n {
        let c = prep.order[k];
        for (pi, policy) in spec.policies.iter().enumerate() {
            // The oracle knows the drift: it is the drifted lower bound.
            // In flight until observed (the end of this iteration), as in a live router.
            let (b, rec, _in_flight) = if *policy == Policy::Oracle {
                (best[k].0, None, None)
            } else {
                let (b, rec) = chooser.choose(pi, c, &features[k]);
                let guard = match (chooser.router(pi, c), &rec) {
                    (Some(router), Some(rec)) => router.begin(rec),
                    _ => None,
                };
                (b, rec, guard)
            };
            let scale = |x: usize| factor(k, x);
            // Hedged on the drifted times: a drifted run overruns its cutoff.
            let scored = match (policy, &rec) {
                (Policy::Hedged(_), Some(rec)) => {
                    let hedge = &spec.router.hedge;
                    Some(hedged(prep, c, rec, b, hedge, (oracle[k], 0.0), &scale))
                }
                _ => None,
            };
            let t = match (&scored, time(k, b)) {
                (Some(s), _) => s.time_ms,
                (None, Some((ms, false))) => ms,
                (None, Some((ms, true))) => ms + oracle[k],
                (None, None) => oracle[k],
            };
            if let (
                Some(router),
                Some(rec),
                Policy::Router(Strategy::Adaptive) | Policy::Hedged(Strategy::Adaptive),
            ) = (chooser.router(pi, c), &rec, policy)
            {
                match &scored {
                    Some(s) => {
                        let hedge = &spec.router.hedge;
                        feed(router, prep, c, b, rec, s, hedge, &features[k], &scale);
                    }
                    None => router.observe(&observed(
                        &ds.circuits[c],
                        &ds.backends[b],
                        &ds.obs[c][b],
                        &features[k],
                        scale(b),
                    )),
                }
            }
            if k >= from && b == db {
                drifted[pi] += 1;
            }
            slow[pi].push(t / oracle[k].max(1e-9));
            spent[pi].push(t);
        }
    }
    // Geometric means: slowdowns span many orders of magnitude, and an arithmetic mean
    // would follow the few worst circuits.
    let gmean = |v: &[f64]| {
        (v.iter().map(|x| x.max(1e-12).ln()).sum::<f64>() / v.len().max(1) as f64).exp()
    };
    Ok(spec
        .policies
        .iter()
        .enumerate()
        .map(|(pi, p)| {
            let s = &slow[pi];
            let rolling: Vec<f64> = (0..n)
                .map(|k| gmean(&s[k.saturating_sub(window - 1)..=k]))
                .collect();
            let before = gmean(&s[..from]);
            let limit = before * 1.25;
            // The last window after the drift that is over the limit; recovered after it.
            let last_bad = (from..n).rev().find(|&k| rolling[k] > limit);
            let recovery_circuits = match last_bad {
                None => Some(0),
                Some(k) if k + 1 < n => Some(k + 1 - from),
                Some(_) => None,
            };
            DriftResult {
                policy: p.to_string(),
                before,
                after: gmean(&s[from..]),
                drifted_share_after: drifted[pi] as f64 / (n - from) as f64,
                recovery_circuits,
                recovery_ms: recovery_circuits
                    .map(|r| spent[pi][from..from + r].iter().fold(0.0, |a, b| a + b)),
                excess_ms: (from..n).fold(0.0, |a, k| a + spent[pi][k] - oracle[k]),
                rolling,
            }
        })
        .collect())
}

/// The backend to drift by default: the one on which the first router policy spent the most
/// recorded time before the drift point in a plain replay (else the fastest backend most
/// often), so that the drift matters.
pub fn default_drift_backend(replay: &super::Replay, at: f64) -> Option<String> {
    let n = replay.circuits.len();
    let from = (n as f64 * at) as usize;
    let router = replay.results.iter().position(|r| {
        r.policy
            .parse::<Policy>()
            .is_ok_and(|p| matches!(p, Policy::Router(_)))
    });
    let mut weight: BTreeMap<&str, f64> = BTreeMap::new();
    match router {
        Some(pi) => {
            for ch in replay
                .choices
                .iter()
                .filter(|c| c.policy == pi && c.circuit < from)
            {
                *weight.entry(ch.backend.as_str()).or_default() += ch.time_ms;
            }
        }
        None => {
            for c in &replay.circuits[..from.min(n)] {
                *weight.entry(c.oracle_backend.as_str()).or_default() += 1.0;
            }
        }
    }
    weight
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(b, _)| b.to_string())
}
