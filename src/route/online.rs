//! What the router learns per backend while it runs: the online correction of the model's
//! latency, the circuit breaker, and the work in flight.

use std::time::{Duration, Instant};

/// Exponential moving average of ln(actual / predicted).
#[derive(Debug, Clone, Default)]
pub(crate) struct Correction {
    /// Current average (0: no correction).
    pub(crate) log_ratio: f64,
    /// Observations folded in.
    pub(crate) n: u64,
}

impl Correction {
    /// Folds in one observed log ratio; the first `span` observations are averaged evenly, so
    /// a new router does not trust its first observation with weight α alone.
    pub(crate) fn update(&mut self, log_ratio: f64, span: u32) {
        self.n += 1;
        let alpha = (2.0 / (span as f64 + 1.0)).max(1.0 / self.n as f64);
        self.log_ratio += alpha * (log_ratio - self.log_ratio);
    }

    /// Folds in a censored observation: a run stopped at its timeout or hedging cutoff took
    /// at least its time, so its log ratio is at least `lower`. That says something only when
    /// the bound is above the current average, and then it moves the average up (as if the
    /// run had ended at the bound: the least the run can have taken). Ignoring such runs left
    /// a backend that had turned slow chosen, and given up at its cutoff, job after job.
    pub(crate) fn update_censored(&mut self, lower: f64, span: u32) {
        if lower > self.log_ratio {
            self.update(lower, span);
        }
    }

    /// The factor predictions are multiplied by.
    pub(crate) fn factor(&self) -> f64 {
        self.log_ratio.exp()
    }
}

/// A circuit breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BreakerState {
    /// Traffic flows.
    Closed,
    /// No traffic until the instant.
    Open { until: Instant },
    /// One trial is allowed; its outcome closes or reopens the breaker.
    HalfOpen { trial_out: bool },
}

/// Opens after `k` consecutive failures; after the cooldown lets one trial through.
#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    pub(crate) state: BreakerState,
    pub(crate) consecutive_failures: u32,
    pub(crate) opened: u64,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            state: BreakerState::Closed,
            consecutive_failures: 0,
            opened: 0,
        }
    }
}

impl Breaker {
    /// Whether a job may be routed here now; `Err` says when it reopens. Moves an open
    /// breaker whose cooldown has passed to half-open.
    pub(crate) fn admits(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            BreakerState::Closed => Ok(()),
            BreakerState::Open { until } if now >= until => {
                self.state = BreakerState::HalfOpen { trial_out: false };
                Ok(())
            }
            BreakerState::Open { until } => Err(until - now),
            BreakerState::HalfOpen { trial_out: false } => Ok(()),
            BreakerState::HalfOpen { trial_out: true } => Err(Duration::ZERO),
        }
    }

    /// A job was sent here.
    pub(crate) fn dispatched(&mut self) {
        if let BreakerState::HalfOpen { trial_out } = &mut self.state {
            *trial_out = true;
        }
    }

    /// A job sent here finished.
    pub(crate) fn record(&mut self, ok: bool, now: Instant, k: u32, cooldown: Duration) {
        if ok {
            self.consecutive_failures = 0;
            self.state = BreakerState::Closed;
            return;
        }
        self.consecutive_failures += 1;
        let reopen = matches!(self.state, BreakerState::HalfOpen { .. });
        if reopen || (self.state == BreakerState::Closed && self.consecutive_failures >= k) {
            self.state = BreakerState::Open {
                until: now + cooldown,
            };
            self.opened += 1;
        }
    }

    /// Its state as a word.
    pub(crate) fn describe(&self) -> &'static str {
        match self.state {
            BreakerState::Closed => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen { .. } => "half-open",
        }
    }
}

use super::RemoteLoad;

/// Everything the router tracks for one backend.
#[derive(Debug, Clone, Default)]
pub(crate) struct BackendState {
    pub(crate) correction: Correction,
    pub(crate) breaker: Breaker,
    /// Jobs started and not finished.
    pub(crate) in_flight: usize,
    /// Their predicted durations, ms.
    pub(crate) in_flight_ms: f64,
    /// Its shared queue, when jobs run on workers elsewhere.
    pub(crate) remote: Option<RemoteLoad>,
}

impl BackendState {
    /// Expected wait before a new job starts, ms: this router's own work in flight spread
    /// over `slots`, or — when the backend is served through a shared queue — the larger of
    /// that over the workers' capacity and the queue's whole backlog (every router's jobs)
    /// at the workers' mean service time. `Err` when no live worker serves the queue.
    pub(crate) fn queue_ms(&self, slots: usize) -> Result<f64, String> {
        let Some(r) = &self.remote else {
            return Ok(self.in_flight_ms / slots as f64);
        };
        if r.capacity == 0 {
            return Err("no live worker reads its queue".into());
        }
        let cap = r.capacity as f64;
        let own = self.in_flight_ms / cap;
        let service = r
            .service_ms
            .or_else(|| (self.in_flight > 0).then(|| self.in_flight_ms / self.in_flight as f64))
            .unwrap_or(0.0);
        Ok(own.max(r.backlog as f64 * service / cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_queue_wait_is_backlog_times_service_over_capacity() {
        let mut b = BackendState {
            in_flight: 1,
            in_flight_ms: 40.0,
            ..BackendState::default()
        };
        assert_eq!(b.queue_ms(2), Ok(20.0));
        b.remote = Some(RemoteLoad {
            backlog: 10,
            pending: 2,
            capacity: 4,
            service_ms: Some(8.0),
        });
        assert_eq!(b.queue_ms(2), Ok(20.0));
        b.in_flight_ms = 400.0;
        assert_eq!(b.queue_ms(2), Ok(100.0));
        b.remote = Some(RemoteLoad {
            capacity: 0,
            ..RemoteLoad::default()
        });
        assert!(b.queue_ms(2).is_err());
    }

    #[test]
    fn correction_converges_to_a_constant_ratio() {
        let mut c = Correction::default();
        for _ in 0..200 {
            c.update(2f64.ln(), 20);
        }
        assert!((c.factor() - 2.0).abs() < 1e-9);
        // The first observation is taken whole, not at weight α.
        let mut c = Correction::default();
        c.update(1.0, 20);
        assert_eq!(c.log_ratio, 1.0);
    }

    #[test]
    fn breaker_opens_half_opens_and_closes() {
        let t0 = Instant::now();
        let cd = Duration::from_secs(10);
        let mut b = Breaker::default();
        b.record(false, t0, 2, cd);
        assert!(b.admits(t0).is_ok());
        b.record(false, t0, 2, cd);
        assert_eq!(b.admits(t0), Err(cd));
        // After the cooldown one trial goes through, a second waits for it.
        let t1 = t0 + cd;
        assert!(b.admits(t1).is_ok());
        b.dispatched();
        assert!(b.admits(t1).is_err());
        // A failed trial reopens at once; a successful one closes.
        b.record(false, t1, 2, cd);
        assert_eq!(b.describe(), "open");
        let t2 = t1 + cd;
        assert!(b.admits(t2).is_ok());
        b.dispatched();
        b.record(true, t2, 2, cd);
        assert_eq!(b.describe(), "closed");
        assert_eq!(b.opened, 2);
    }
}
