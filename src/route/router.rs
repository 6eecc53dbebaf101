//! [`Router`]: eligibility, then a strategy; online correction, load and circuit breakers.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use super::cache::{Key, PredictionCache};
use super::online::BackendState;
use super::stats::{CostStats, Load, RealtimeStats, RouterStats, Tally};
use super::{
    Constraints, Estimate, Recommendation, RemoteLoad, RouteError, RouterConfig, Strategy,
};
use crate::backend::{Availability, Backend, BackendOptions, Ineligible, Registry, RunSpec};
use crate::circuit::Circuit;
use crate::features::{FEATURE_SCHEMA, Feature, Features, NUM_FEATURES};
use crate::model::expected::{expected_ms, normal_cdf};
use crate::model::{ModelSet, Prediction, Row, terms};
use crate::rng::Rng;
use crate::telemetry::{ExecutionRecord, Status};

/// A model set with the registry's backends mapped onto it.
#[derive(Debug)]
struct Loaded {
    set: ModelSet,
    /// For each registry backend, its index in `set`.
    index: Vec<Option<usize>>,
    version: String,
    /// Predictions of `set`, by feature vector.
    cache: PredictionCache,
}

impl Loaded {
    fn new(set: ModelSet, registry: &Registry, cache: usize) -> Loaded {
        let index = registry.iter().map(|b| set.index_of(b.name())).collect();
        let sum = &set.meta.payload.blake3;
        let version = format!("{}:{}", set.meta.name, &sum[..sum.len().min(12)]);
        let cache = PredictionCache::new(cache, set.backends.len());
        Loaded {
            set,
            index,
            version,
            cache,
        }
    }
}

/// One backend's shared state as one decision sees it.
struct Live {
    /// `Err`: why its circuit breaker keeps it out.
    admitted: Result<(), String>,
    /// Online correction factor.
    factor: f64,
    /// Expected wait before a new job starts, ms (`Err`: no worker serves its queue).
    queue_ms: Result<f64, String>,
}

struct State {
    backends: Vec<BackendState>,
    rng: Rng,
    tally: Tally,
}

/// Routes circuits among a registry's backends with a model set. Cheap to share: every method
/// takes `&self`, so one router serves many threads.
pub struct Router {
    registry: Registry,
    config: RouterConfig,
    models: RwLock<Arc<Loaded>>,
    state: Mutex<State>,
    /// Availability of each backend, asked once.
    availability: Vec<Option<String>>,
    /// A circuit with no operations: eligibility from features alone.
    no_ops: Circuit,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("registry", &self.registry)
            .field("config", &self.config)
            .field("models", &self.model_version())
            .finish()
    }
}

/// Work in flight on a backend: counted in the expected queue wait of `adaptive` until
/// dropped.
#[derive(Debug)]
pub struct InFlight<'a> {
    router: &'a Router,
    backend: usize,
    ms: f64,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut st = self.router.lock();
        let b = &mut st.backends[self.backend];
        b.in_flight = b.in_flight.saturating_sub(1);
        b.in_flight_ms = if b.in_flight == 0 {
            0.0
        } else {
            (b.in_flight_ms - self.ms).max(0.0)
        };
    }
}

/// A running [`Router::watch_models`]; stops the watcher when dropped.
#[derive(Debug)]
pub struct ModelWatcher {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ModelWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// Probability that `a` finishes before `b` when both log latencies are normal.
fn p_faster(a: &Estimate, b: &Estimate) -> f64 {
    let sd = (a.log_sd * a.log_sd + b.log_sd * b.log_sd).sqrt();
    let d = b.expected_ms.ln() - a.expected_ms.ln();
    if sd <= 0.0 {
        return if d > 0.0 {
            1.0
        } else if d < 0.0 {
            0.0
        } else {
            0.5
        };
    }
    normal_cdf(d / sd)
}

fn ms(x: f64) -> String {
    crate::display::human_ms(x)
}

impl Router {
    /// A router over `registry` with `models`. Backends without a model are never chosen
    /// (they are listed as ineligible, "no model"); models of backends not in the registry
    /// are ignored.
    pub fn new(models: ModelSet, registry: Registry, config: RouterConfig) -> Router {
        let loaded = Loaded::new(models, &registry, config.prediction_cache);
        let availability = registry
            .iter()
            .map(|b| match b.availability() {
                Availability::Available => None,
                Availability::Unavailable(why) => Some(why),
            })
            .collect();
        let state = State {
            backends: vec![BackendState::default(); registry.len()],
            rng: Rng::new(config.seed),
            tally: Tally::new(config.telemetry_retention),
        };
        let mut state = state;
        state.tally.routing.models_loaded = loaded.index.iter().flatten().count();
        state.tally.routing.model_version = loaded.version.clone();
        Router {
            registry,
            config,
            models: RwLock::new(Arc::new(loaded)),
            state: Mutex::new(state),
            availability,
            no_ops: Circuit::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn loaded(&self) -> Arc<Loaded> {
        self.models
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Its configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// Its backends.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The model set in use (`name:checksum`).
    pub fn model_version(&self) -> String {
        self.loaded().version.clone()
    }

    /// What the model set in use predicts for one backend (no eligibility check, no online
    /// correction); `None` when it has no model of it.
    pub fn predict_backend(
        &self,
        backend: &str,
        features: &Features,
        shots: u64,
        cores: u32,
    ) -> Option<Prediction> {
        FEATURE_SCHEMA.check(features).ok()?;
        let loaded = self.loaded();
        let m = loaded.set.index_of(backend)?;
        let x = &features.values[..NUM_FEATURES];
        Some(loaded.set.backends[m].predict(x, &terms(x), shots, cores))
    }

    /// Replaces the model set; decisions already under way finish with the old one. The
    /// online corrections are reset (they corrected the old models).
    pub fn swap_models(&self, models: ModelSet) {
        let loaded = Arc::new(Loaded::new(
            models,
            &self.registry,
            self.config.prediction_cache,
        ));
        let mut st = self.lock();
        for b in &mut st.backends {
            b.correction = Default::default();
        }
        st.tally.routing.model_swaps += 1;
        st.tally.routing.models_loaded = loaded.index.iter().flatten().count();
        st.tally.routing.model_version = loaded.version.clone();
        *self.models.write().unwrap_or_else(|p| p.into_inner()) = loaded;
    }

    /// Loads the model set in `dir` and swaps it in; on any error the current one stays.
    pub fn reload_models(&self, dir: &std::path::Path) -> Result<String, crate::model::ModelError> {
        let set = ModelSet::load(dir)?;
        self.swap_models(set);
        Ok(self.model_version())
    }

    /// Watches the model set in `dir`: every `model_update_frequency` it reads `meta.json`,
    /// and when that changed it loads the set and swaps it in. A set that fails to load is
    /// not retried until `meta.json` changes again; the current one stays and the error is in
    /// [`RouterStats`] (`routing.model_error`). `None` when the
    /// configuration sets no frequency. The watcher stops when dropped.
    pub fn watch_models(self: &Arc<Self>, dir: PathBuf) -> Option<ModelWatcher> {
        let every = self.config.model_update_frequency?;
        let stop = Arc::new(AtomicBool::new(false));
        let router = Arc::downgrade(self);
        let flag = stop.clone();
        // What is loaded now is what the router was given: remember the file as it is before
        // returning, so a change made right after this call is seen.
        let meta = dir.join("meta.json");
        let mut seen = std::fs::read(&meta).ok();
        let handle = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::park_timeout(every);
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let Some(router) = router.upgrade() else {
                    break;
                };
                let now = std::fs::read(&meta).ok();
                if now.is_none() || now == seen {
                    continue;
                }
                seen = now;
                let error = router.reload_models(&dir).err().map(|e| e.to_string());
                router.lock().tally.routing.model_error = error;
            }
        });
        Some(ModelWatcher {
            stop,
            handle: Some(handle),
        })
    }

    /// Recommends a backend from features alone. Eligibility that needs the circuit itself
    /// (opaque gates) is checked by [`Router::recommend_circuit`].
    pub fn recommend(
        &self,
        features: &Features,
        constraints: &Constraints,
    ) -> Result<Recommendation, RouteError> {
        self.decide(&self.no_ops, features, constraints)
    }

    /// Recommends a backend for a circuit and its features.
    pub fn recommend_circuit(
        &self,
        circuit: &Circuit,
        features: &Features,
        constraints: &Constraints,
    ) -> Result<Recommendation, RouteError> {
        self.decide(circuit, features, constraints)
    }

    /// The run settings a backend is checked (and run) under for these constraints.
    pub fn run_spec(&self, c: &Constraints) -> RunSpec {
        RunSpec {
            shots: c.shots.unwrap_or(1024),
            seed: 0,
            memory_budget: c.memory_budget,
            threads: c.cores.unwrap_or(1) as usize,
            timeout: c.deadline,
            options: BackendOptions {
                min_fidelity: c.min_fidelity.or(self.config.min_fidelity),
                ..Default::default()
            },
        }
    }

    /// Every backend's estimate for the circuit (unranked), and the refused ones with why.
    #[allow(clippy::too_many_arguments)]
    fn estimate_all(
        &self,
        loaded: &Loaded,
        circuit: &Circuit,
        features: &Features,
        c: &Constraints,
        strategy: Strategy,
    ) -> (Vec<(usize, Estimate)>, Vec<Ineligible>) {
        let spec = self.run_spec(c);
        let shots = spec.shots;
        let cores = spec.threads.max(1) as u32;
        let x = &features.values[..NUM_FEATURES];
        // Terms and the row copy are made on the first prediction the cache does not hold.
        let t = std::cell::OnceCell::new();
        let row = std::cell::OnceCell::new();
        let key = Key { x, shots, cores };
        let deadline_ms = c.deadline.map(|d| d.as_secs_f64() * 1e3);
        let max_cost = c.max_cost.or(self.config.cost_threshold);
        let adaptive = strategy == Strategy::Adaptive;
        let now = Instant::now();

        // What the shared state says of each backend, read under the lock once; the
        // predictions below run without it, so concurrent requests do not queue on them.
        let live: Vec<Live> = {
            let mut st = self.lock();
            st.backends
                .iter_mut()
                .map(|b| Live {
                    admitted: b.breaker.admits(now).map_err(|wait| {
                        format!(
                            "circuit breaker {} after {} consecutive failures; next trial in \
                             {:.1} s",
                            b.breaker.describe(),
                            b.breaker.consecutive_failures,
                            wait.as_secs_f64()
                        )
                    }),
                    factor: b.correction.factor(),
                    queue_ms: b.queue_ms(self.config.slots),
                })
                .collect()
        };
        let mut ineligible = Vec::new();
        let mut cands: Vec<(usize, Estimate)> = Vec::with_capacity(self.registry.len());
        for (i, b) in self.registry.iter().enumerate() {
            let refuse = |reason: String| Ineligible {
                backend: b.name().to_string(),
                reason,
            };
            if c.exclude.iter().any(|e| e == b.name()) {
                ineligible.push(refuse("excluded by the request".into()));
                continue;
            }
            if let Some(why) = &self.availability[i] {
                ineligible.push(refuse(format!("unavailable: {why}")));
                continue;
            }
            let Some(m) = loaded.index[i] else {
                ineligible.push(refuse(format!(
                    "no model for it in {} (retrain with telemetry of it)",
                    loaded.set.meta.name
                )));
                continue;
            };
            if let Err(why) = &live[i].admitted {
                ineligible.push(refuse(why.clone()));
                continue;
            }
            let queue_ms = match &live[i].queue_ms {
                Ok(q) => *q,
                Err(why) => {
                    ineligible.push(refuse(why.clone()));
                    continue;
                }
            };
            if let Err(e) = b.check(circuit, features, &spec) {
                ineligible.push(e);
                continue;
            }
            let p: Prediction = loaded.cache.get_or_insert(key, m, || {
                let row = row.get_or_init(|| Row::new(x));
                loaded.set.backends[m].predict_row(x, row, t.get_or_init(|| terms(x)), shots, cores)
            });
            let (factor, queue_ms) = if adaptive {
                (live[i].factor, queue_ms)
            } else {
                (1.0, 0.0)
            };
            let latency_ms = p.latency_ms * factor;
            let fidelity = fidelity_of(b.as_ref(), circuit, features, &spec);
            let est = Estimate {
                backend: b.name().to_string(),
                latency_ms,
                low_ms: p.low_ms * factor,
                high_ms: p.high_ms * factor,
                model_ms: p.latency_ms,
                queue_ms,
                risk: p.risk,
                expected_ms: queue_ms
                    + expected_ms(latency_ms, p.log_sd, p.risk, self.config.risk_penalty_ms),
                cost: p.cost * factor,
                fidelity,
                in_domain: p.in_domain,
                meets_deadline: deadline_ms.is_none_or(|d| latency_ms + queue_ms <= d),
                within_budget: max_cost.is_none_or(|m| p.cost * factor <= m),
                score: 0.0,
                log_sd: p.log_sd,
            };
            cands.push((i, est));
        }
        (cands, ineligible)
    }

    /// What every eligible backend is predicted to do with the circuit, unranked (in
    /// registry order), and the refused backends with why ([`RouteError::NoBackend`] when
    /// none is eligible). Under `adaptive` the online
    /// corrections and queue waits are included. Not counted as a decision.
    pub fn estimates(
        &self,
        circuit: &Circuit,
        features: &Features,
        c: &Constraints,
    ) -> Result<(Vec<Estimate>, Vec<Ineligible>), RouteError> {
        c.check()?;
        FEATURE_SCHEMA
            .check(features)
            .map_err(crate::model::ModelError::from)?;
        let strategy = c.strategy.unwrap_or(self.config.strategy);
        let loaded = self.loaded();
        let (cands, ineligible) = self.estimate_all(&loaded, circuit, features, c, strategy);
        if cands.is_empty() {
            return Err(RouteError::NoBackend { ineligible });
        }
        Ok((cands.into_iter().map(|(_, e)| e).collect(), ineligible))
    }

    fn decide(
        &self,
        circuit: &Circuit,
        features: &Features,
        c: &Constraints,
    ) -> Result<Recommendation, RouteError> {
        c.check()?;
        FEATURE_SCHEMA
            .check(features)
            .map_err(crate::model::ModelError::from)?;
        let strategy = c.strategy.unwrap_or(self.config.strategy);
        let loaded = self.loaded();
        let (mut cands, ineligible) = self.estimate_all(&loaded, circuit, features, c, strategy);
        if cands.is_empty() {
            return Err(RouteError::NoBackend { ineligible });
        }

        // Scores, lower is better.
        // Balanced: each of latency and cost as a ratio to the best candidate's, on a log
        // scale, weighted — the weighted geometric mean latency^w_p × cost^w_c, relative.
        // A free backend's cost counts as a millionth of the dearest one's.
        let min_t = cands
            .iter()
            .map(|(_, e)| e.expected_ms)
            .fold(f64::INFINITY, f64::min);
        let max_c = cands.iter().map(|(_, e)| e.cost).fold(0.0, f64::max);
        let eps = (max_c * 1e-6).max(f64::MIN_POSITIVE);
        let min_c = cands
            .iter()
            .map(|(_, e)| e.cost + eps)
            .fold(f64::INFINITY, f64::min);
        for (_, e) in &mut cands {
            let rel_t = (e.expected_ms / min_t).ln();
            e.score = match strategy {
                Strategy::Performance => e.expected_ms,
                // Cost first; among equal costs the faster (a tie-break far below any price).
                Strategy::Cost => e.cost + eps * 1e-6 * rel_t,
                _ => {
                    self.config.performance_weight * rel_t
                        + self.config.cost_weight * ((e.cost + eps) / min_c).ln()
                }
            };
        }
        // Candidates meeting the constraints first, then by score.
        cands.sort_by(|(_, a), (_, b)| {
            let fa = !(a.meets_deadline && a.within_budget);
            let fb = !(b.meets_deadline && b.within_budget);
            fa.cmp(&fb).then(a.score.total_cmp(&b.score))
        });

        let mut pick = 0;
        let mut reason = String::new();
        let mut rule_fallback = false;
        let mut explored = false;
        if matches!(strategy, Strategy::Predictive | Strategy::Adaptive) {
            let rule = rule_choice(features, &cands);
            let best = &cands[0].1;
            if let Some(r) = rule
                && r != 0
            {
                let re = &cands[r].1;
                let ok = re.meets_deadline && re.within_budget;
                let conf = p_faster(best, re);
                if !best.in_domain && ok {
                    pick = r;
                    rule_fallback = true;
                    reason = format!(
                        "the circuit lies outside {}'s training range, so the rule-based choice \
                         {} is taken",
                        best.backend, re.backend
                    );
                } else if conf < self.config.min_confidence && ok {
                    pick = r;
                    rule_fallback = true;
                    reason = format!(
                        "the model is unsure that {} ({}) beats the rule-based {} ({}): \
                         P = {:.2} < {:.2}, so the rule's choice is taken",
                        best.backend,
                        ms(best.latency_ms),
                        re.backend,
                        ms(re.latency_ms),
                        conf,
                        self.config.min_confidence
                    );
                }
            }
        }
        if strategy == Strategy::Adaptive && !rule_fallback && self.config.explore_rate > 0.0 {
            let best_ms = cands[pick].1.expected_ms;
            let limit = best_ms * self.config.explore_max_slowdown;
            let near: Vec<usize> = (0..cands.len())
                .filter(|&k| {
                    k != pick
                        && cands[k].1.meets_deadline
                        && cands[k].1.within_budget
                        && cands[k].1.expected_ms <= limit
                })
                .collect();
            let mut st = self.lock();
            if !near.is_empty() && st.rng.f64() < self.config.explore_rate {
                let k = *st.rng.pick(&near);
                reason = format!(
                    "exploring {} (predicted {}, within {}× of the best {}) to keep its \
                     predictions honest",
                    cands[k].1.backend,
                    ms(cands[k].1.latency_ms),
                    self.config.explore_max_slowdown,
                    cands[pick].1.backend
                );
                pick = k;
                explored = true;
            }
        }
        let chosen = cands[pick].1.clone();
        let constraints_met = chosen.meets_deadline && chosen.within_budget;
        let others: Vec<&Estimate> = cands
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != pick)
            .map(|(_, (_, e))| e)
            .collect();
        let confidence = others
            .iter()
            .map(|o| p_faster(&chosen, o))
            .fold(1.0f64, f64::min);
        if reason.is_empty() {
            reason = explain(strategy, &chosen, others.first().copied(), &self.config);
        }
        if !constraints_met {
            let miss = match (chosen.meets_deadline, chosen.within_budget) {
                (false, false) => "the deadline and the cost limit",
                (false, true) => "the deadline",
                _ => "the cost limit",
            };
            reason = format!("no backend is predicted to meet {miss}; {reason}");
        }
        if !chosen.in_domain && !rule_fallback {
            reason.push_str(" (outside the model's training range: treat with care)");
        }
        self.lock()
            .tally
            .decided(&chosen.backend, strategy.as_str(), rule_fallback, explored);
        let alternatives = cands
            .into_iter()
            .enumerate()
            .filter(|&(k, _)| k != pick)
            .map(|(_, (_, e))| e)
            .collect();
        Ok(Recommendation {
            backend: chosen.backend.clone(),
            strategy,
            reason,
            confidence,
            chosen,
            alternatives,
            ineligible,
            constraints_met,
            rule_fallback,
            explored,
            model_version: loaded.version.clone(),
        })
    }

    /// Marks the recommended job as started: it counts in its backend's expected queue wait
    /// until the returned guard is dropped, and a half-open circuit breaker lets no second
    /// trial through meanwhile.
    pub fn begin(&self, rec: &Recommendation) -> Option<InFlight<'_>> {
        let i = self.registry.iter().position(|b| b.name() == rec.backend)?;
        let mut st = self.lock();
        let b = &mut st.backends[i];
        b.in_flight += 1;
        b.in_flight_ms += rec.chosen.latency_ms;
        b.breaker.dispatched();
        Some(InFlight {
            router: self,
            backend: i,
            ms: rec.chosen.latency_ms,
        })
    }

    /// Tells the router what `backend`'s shared queue holds now (`None`: it runs here, not
    /// behind a queue). Under `adaptive` the expected wait follows it; a queue no live worker
    /// reads makes the backend ineligible. Returns false for an unknown backend.
    pub fn set_remote_load(&self, backend: &str, load: Option<RemoteLoad>) -> bool {
        let Some(i) = self.registry.iter().position(|b| b.name() == backend) else {
            return false;
        };
        self.lock().backends[i].remote = load;
        true
    }

    /// Feeds back one finished attempt: online correction (successful runs), circuit breaker
    /// (failures and timeouts count; refusals do not), and statistics.
    pub fn observe(&self, rec: &ExecutionRecord) {
        let Some(i) = self.registry.iter().position(|b| b.name() == rec.backend) else {
            self.lock().tally.observed(rec);
            return;
        };
        let loaded = self.loaded();
        let residual = match (rec.status, rec.wall_ms, loaded.index[i]) {
            (Status::Ok, Some(wall), Some(m))
                if wall > 0.0 && FEATURE_SCHEMA.check(&rec.features).is_ok() =>
            {
                let x = &rec.features.values[..NUM_FEATURES];
                let (mu, _) = loaded.set.backends[m].log_latency(x, &terms(x));
                Some(wall.ln() - mu)
            }
            _ => None,
        };
        let now = Instant::now();
        let mut st = self.lock();
        let b = &mut st.backends[i];
        if let Some(r) = residual {
            b.correction.update(r, self.config.prediction_horizon);
        }
        match rec.status {
            Status::Ok => b.breaker.record(
                true,
                now,
                self.config.breaker_failures,
                self.config.breaker_cooldown,
            ),
            Status::Failed | Status::Timeout => b.breaker.record(
                false,
                now,
                self.config.breaker_failures,
                self.config.breaker_cooldown,
            ),
            Status::Ineligible => {}
        }
        st.tally.observed(rec);
    }

    /// A snapshot of the statistics.
    pub fn stats(&self) -> RouterStats {
        let now = Instant::now();
        let mut st = self.lock();
        let mut load = std::collections::BTreeMap::new();
        let mut active = Vec::new();
        for (i, b) in self.registry.iter().enumerate() {
            let s = &mut st.backends[i];
            if self.availability[i].is_none() && s.breaker.admits(now).is_ok() {
                active.push(b.name().to_string());
            }
            load.insert(
                b.name().to_string(),
                Load {
                    in_flight: s.in_flight,
                    queue_ms: s.queue_ms(self.config.slots).unwrap_or(f64::INFINITY),
                    remote: s.remote,
                    breaker: s.breaker.describe().to_string(),
                    correction: s.correction.factor(),
                },
            );
        }
        let (debug, average_response_ms) = st.tally.debug();
        let t = &st.tally;
        let budget = self.config.budget;
        let mut routing = t.routing.clone();
        routing.prediction_cache = self.loaded().cache.stats();
        RouterStats {
            routing,
            cost: CostStats {
                total: t.total_cost,
                circuits: t.circuits,
                per_circuit: if t.circuits > 0 {
                    t.total_cost / t.circuits as f64
                } else {
                    0.0
                },
                budget,
                budget_utilisation: budget.filter(|b| *b > 0.0).map(|b| t.total_cost / b),
            },
            realtime: RealtimeStats {
                load,
                active_backends: active,
                observed: t.observed,
                average_response_ms,
            },
            debug,
        }
    }
}

/// The rule-based choice among the candidates: prism-auto's when it is one, else "stabilizer
/// if Clifford, else statevector" (what Qiskit Aer's automatic method does).
fn rule_choice(features: &Features, cands: &[(usize, Estimate)]) -> Option<usize> {
    let find = |n: &str| cands.iter().position(|(_, e)| e.backend == n);
    find("prism-auto").or_else(|| {
        if features[Feature::IsClifford] == 1.0 {
            find("stabilizer").or_else(|| find("statevector"))
        } else {
            find("statevector")
        }
    })
}

/// 1 for an exact backend, or an approximate one that will not truncate this circuit;
/// `None` when it may.
fn fidelity_of(
    b: &dyn Backend,
    circuit: &Circuit,
    features: &Features,
    spec: &RunSpec,
) -> Option<f64> {
    if !b.capabilities().approximate {
        return Some(1.0);
    }
    let mut exact = spec.clone();
    exact.options.min_fidelity = Some(1.0);
    b.check(circuit, features, &exact).ok().map(|()| 1.0)
}

fn explain(
    strategy: Strategy,
    c: &Estimate,
    next: Option<&Estimate>,
    cfg: &RouterConfig,
) -> String {
    // Pushed piece by piece: `format!` with float arguments was a tenth of a decision.
    use crate::display::{push_fixed, push_ms, push_sci3};
    let mut s = String::with_capacity(192);
    let interval = |s: &mut String| {
        push_ms(s, c.latency_ms);
        s.push_str(" (90%: ");
        push_ms(s, c.low_ms);
        s.push('–');
        push_ms(s, c.high_ms);
        s.push(')');
    };
    s.push_str(&c.backend);
    let Some(n) = next else {
        s.push_str(" is the only eligible backend; predicted ");
        interval(&mut s);
        return s;
    };
    match strategy {
        Strategy::Cost => {
            s.push_str(" is the cheapest: ");
            push_sci3(&mut s, c.cost);
            s.push_str(" against ");
            push_sci3(&mut s, n.cost);
            s.push_str(" on ");
            s.push_str(&n.backend);
            s.push_str("; predicted ");
            interval(&mut s);
        }
        Strategy::Performance => {
            s.push_str(" is fastest: predicted ");
            interval(&mut s);
            s.push_str(", ");
            push_fixed(&mut s, n.expected_ms / c.expected_ms, 1);
            s.push_str("× faster than ");
            s.push_str(&n.backend);
            s.push_str(" (");
            push_ms(&mut s, n.latency_ms);
            s.push(')');
        }
        _ => {
            s.push_str(" has the best ");
            push_fixed(&mut s, cfg.performance_weight * 100.0, 0);
            s.push('/');
            push_fixed(&mut s, cfg.cost_weight * 100.0, 0);
            s.push_str(" latency/cost score: predicted ");
            interval(&mut s);
            s.push_str(" at ");
            push_sci3(&mut s, c.cost);
            s.push_str("; next ");
            s.push_str(&n.backend);
            s.push_str(" (");
            push_ms(&mut s, n.latency_ms);
            s.push_str(", ");
            push_sci3(&mut s, n.cost);
            s.push(')');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(backend: &str, latency_ms: f64, cost: f64) -> Estimate {
        Estimate {
            backend: backend.into(),
            latency_ms,
            low_ms: latency_ms * 0.5,
            high_ms: latency_ms * 2.0,
            model_ms: latency_ms,
            queue_ms: 0.0,
            risk: 0.0,
            expected_ms: latency_ms,
            cost,
            fidelity: Some(1.0),
            in_domain: true,
            meets_deadline: true,
            within_budget: true,
            score: 0.0,
            log_sd: 0.1,
        }
    }

    #[test]
    fn reasons_read_as_sentences_with_their_numbers() {
        let cfg = RouterConfig::default();
        let (a, b) = (
            estimate("mps-64", 0.0123, 2.5e-9),
            estimate("statevector", 42.0, 1.25e-6),
        );
        let cases = [
            (
                Strategy::Performance,
                Some(&b),
                "mps-64 is fastest: predicted 12.3 µs (90%: 6.15 µs–24.6 µs), 3414.6× faster \
                 than statevector (42.0 ms)",
            ),
            (
                Strategy::Cost,
                Some(&b),
                "mps-64 is the cheapest: 2.500e-9 against 1.250e-6 on statevector; predicted \
                 12.3 µs (90%: 6.15 µs–24.6 µs)",
            ),
            (
                Strategy::Balanced,
                Some(&b),
                "mps-64 has the best 70/30 latency/cost score: predicted 12.3 µs (90%: 6.15 \
                 µs–24.6 µs) at 2.500e-9; next statevector (42.0 ms, 1.250e-6)",
            ),
            (
                Strategy::Performance,
                None,
                "mps-64 is the only eligible backend; predicted 12.3 µs (90%: 6.15 µs–24.6 µs)",
            ),
        ];
        for (strategy, next, want) in cases {
            assert_eq!(explain(strategy, &a, next, &cfg), want, "{strategy}");
        }
    }
}
