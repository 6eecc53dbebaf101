//! Counterfactual replay: how routing policies would have done on recorded full-information
//! traces (every circuit recorded on every backend).
//!
//! Each policy chooses a backend per circuit; the choice is scored with what that backend
//! actually recorded for the circuit: its median successful wall time and cost, or — when it
//! timed out, failed or fell below the fidelity floor — the time it lost plus a retry on the
//! best backend (the oracle's time and cost). Circuits no backend finished are left out of
//! every score. Policies: `oracle`, `random` (seeded), `round-robin`, `always:<backend>`,
//! `rules-aer`, `prism-auto`, and every router strategy. A rule whose backend refused the
//! circuit falls back to prism-auto, then statevector, then the oracle's choice.
//!
//! The model that routes never saw the replayed circuits' families: given a model set, the
//! replay refuses when its training families overlap the traces' (unless every trace is newer
//! than the model); given training telemetry, it trains one model set per fold of families
//! and replays each fold with the model trained without it.

#[cfg(feature = "plots")]
pub mod plot;
mod report;
pub mod sim;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

pub use report::{
    RESULTS_VERSION, write_drift_report, write_load_report, write_report, write_results,
};

use crate::backend::{
    Backend, BackendError, BackendKind, CircuitFacts, Fidelity, Ineligible, Outcome as RunOutcome,
    Registry, RunSpec,
};
use crate::circuit::Circuit as Ir;
use crate::features::{Feature, Features};
use crate::model::artifact::Hyperparameters;
use crate::model::{ModelError, ModelSet};
use crate::rng::Rng;
use crate::route::{Constraints, Router, RouterConfig, Strategy};
use crate::telemetry::{ExecutionRecord, HostScale, Status};
use crate::time::rfc3339_of;
use crate::train::{Dataset, Outcome, TrainSpec, median, train_records};

/// One way of choosing backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// The backend that was fastest (the lower bound).
    Oracle,
    /// A uniformly drawn eligible backend (seeded).
    Random,
    /// Eligible backends in turn.
    RoundRobin,
    /// Always this backend.
    Always(String),
    /// Stabilizer if Clifford, else statevector (Qiskit Aer's automatic method).
    RulesAer,
    /// prism-q's own rule-based choice, as recorded.
    PrismAuto,
    /// A router strategy with the model.
    Router(Strategy),
    /// A router strategy whose runs are given up at their cutoff for the next-best backend
    /// of another family ([`crate::route::Hedge`], `[router]` settings): `<strategy>+hedge`.
    Hedged(Strategy),
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::Oracle => f.write_str("oracle"),
            Policy::Random => f.write_str("random"),
            Policy::RoundRobin => f.write_str("round-robin"),
            Policy::Always(b) => write!(f, "always:{b}"),
            Policy::RulesAer => f.write_str("rules-aer"),
            Policy::PrismAuto => f.write_str("prism-auto"),
            Policy::Router(s) => write!(f, "{s}"),
            Policy::Hedged(s) => write!(f, "{s}+hedge"),
        }
    }
}

impl FromStr for Policy {
    type Err = crate::UnknownName;

    fn from_str(s: &str) -> Result<Policy, crate::UnknownName> {
        Ok(match s {
            "oracle" => Policy::Oracle,
            "random" => Policy::Random,
            "round-robin" => Policy::RoundRobin,
            "rules-aer" => Policy::RulesAer,
            "prism-auto" => Policy::PrismAuto,
            _ => {
                if let Some(strategy) = s.strip_suffix("+hedge")
                    && let Ok(strategy) = strategy.parse()
                {
                    Policy::Hedged(strategy)
                } else if let Some(b) = s.strip_prefix("always:") {
                    if b.is_empty() {
                        return Err(crate::UnknownName::new(
                            "policy",
                            s,
                            "a backend name after `always:`",
                        ));
                    }
                    Policy::Always(b.to_string())
                } else {
                    Policy::Router(s.parse().map_err(|_| {
                        crate::UnknownName::new(
                            "policy",
                            s,
                            format!(
                                "oracle, random, round-robin, always:<backend>, rules-aer, \
                                 prism-auto, {}, each of those with +hedge",
                                Strategy::ALL.map(Strategy::as_str).join(", ")
                            ),
                        )
                    })?)
                }
            }
        })
    }
}

/// Every policy, the router strategies and their hedged variants included.
pub fn all_policies() -> Vec<Policy> {
    let mut v = vec![
        Policy::Oracle,
        Policy::Random,
        Policy::RoundRobin,
        Policy::RulesAer,
        Policy::PrismAuto,
    ];
    v.extend(Strategy::ALL.map(Policy::Router));
    v.extend(Strategy::ALL.map(Policy::Hedged));
    v
}

/// Where the routing models come from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// A trained model set; refused when it saw the replayed families.
    Model(Box<ModelSet>),
    /// Training telemetry: one model set per fold of the replayed families, trained without
    /// that fold.
    Train {
        /// The rows.
        records: Vec<ExecutionRecord>,
        /// Hyperparameters of each fit.
        hyper: Hyperparameters,
        /// Folds of families.
        folds: usize,
    },
}

/// What to replay.
#[derive(Debug, Clone)]
pub struct ReplaySpec {
    /// The traces.
    pub traces: Vec<ExecutionRecord>,
    /// The models.
    pub models: ModelSource,
    /// Policies to compare.
    pub policies: Vec<Policy>,
    /// Router settings of the router strategies.
    pub router: RouterConfig,
    /// Seed of `random` and of the folds.
    pub seed: u64,
    /// A circuit taking longer than this is a deadline miss, ms.
    pub deadline_ms: Option<f64>,
}

/// A replay that cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The model saw circuits it would be scored on.
    #[error(
        "the model set was trained on famil{} {} that the traces replay, and the traces are not \
         newer than it: its scores would be inflated. Replay other families, or pass --train to \
         train one model per fold without the replayed families",
        if families.len() == 1 { "y" } else { "ies" },
        families.join(", ")
    )]
    Leakage {
        /// Families in both.
        families: Vec<String>,
    },
    /// Training or reading failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Nothing to score.
    #[error("{0}")]
    Data(String),
    /// A policy names a backend the traces do not have.
    #[error("policy `{policy}`: backend `{backend}` is not in the traces (they have {known})")]
    UnknownBackend {
        /// The policy.
        policy: String,
        /// The backend.
        backend: String,
        /// Backends in the traces.
        known: String,
    },
}

/// One circuit of the replay.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayedCircuit {
    /// Circuit id.
    pub id: String,
    /// File name.
    pub name: String,
    /// Family.
    pub family: String,
    /// The fastest backend.
    pub oracle_backend: String,
    /// Its time, ms.
    pub oracle_ms: f64,
    /// Fold it was replayed in (0 with a given model set).
    pub fold: usize,
}

/// One policy's choice for one circuit.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// Index into [`Replay::circuits`].
    pub circuit: usize,
    /// Index into [`Replay::results`].
    pub policy: usize,
    /// Backend chosen.
    pub backend: String,
    /// Recorded time of that choice, ms (a lost attempt plus a retry on the best).
    pub time_ms: f64,
    /// Recorded cost of that choice.
    pub cost: f64,
    /// Whether the chosen backend did not give a usable result.
    pub lost: bool,
    /// The model's predicted time, when a router chose, ms.
    pub predicted_ms: Option<f64>,
    /// Under a hedged policy, the backend that finished when the chosen one was given up.
    pub hedged_to: Option<String>,
}

/// How one policy did.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    /// Its name.
    pub policy: String,
    /// Total recorded time, ms.
    pub total_ms: f64,
    /// Total time / the oracle's.
    pub regret: f64,
    /// Share of circuits sent to the fastest backend.
    pub best_share: f64,
    /// Total recorded cost.
    pub total_cost: f64,
    /// Median per-circuit slowdown against the oracle.
    pub slowdown_p50: f64,
    /// 95th percentile of the slowdown.
    pub slowdown_p95: f64,
    /// 99th percentile of the slowdown.
    pub slowdown_p99: f64,
    /// Geometric mean of the per-circuit slowdown.
    pub slowdown_geo_mean: f64,
    /// Circuits more than twice as slow as on the fastest backend.
    pub over_2x: u64,
    /// Circuits more than ten times as slow as on the fastest backend.
    pub over_10x: u64,
    /// Share of circuits at most 10% slower than on the fastest backend.
    pub within_10pct: f64,
    /// Circuits over the deadline.
    pub deadline_misses: u64,
    /// Choices that did not give a usable result.
    pub lost: u64,
    /// Circuits whose first backend was given up at its cutoff (hedged policies).
    pub hedged: u64,
    /// Per family: (total ms, oracle total ms).
    pub per_family: BTreeMap<String, (f64, f64)>,
}

/// A finished replay.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    /// Scored circuits, in replay order.
    pub circuits: Vec<ReplayedCircuit>,
    /// Every choice.
    pub choices: Vec<Choice>,
    /// Per policy.
    pub results: Vec<PolicyResult>,
    /// Circuits no backend finished (left out).
    pub unscorable: usize,
    /// Backends in the traces.
    pub backends: Vec<String>,
    /// Model sets that routed (one per fold).
    pub model_versions: Vec<String>,
    /// Telemetry rows replayed.
    pub rows: u64,
    /// The cutoff rule of the `+hedge` policies.
    pub hedge: crate::route::Hedge,
}

/// A backend known only from the traces: it accepts what the router asks (refusals come
/// from the traces, as exclusions) and cannot run anything.
struct Recorded(String);

impl Backend for Recorded {
    fn name(&self) -> &str {
        &self.0
    }
    fn kind(&self) -> BackendKind {
        BackendKind::External
    }
    fn check(&self, _: &CircuitFacts<'_>, _: &RunSpec) -> Result<Fidelity, Ineligible> {
        Ok(Fidelity::Exact)
    }
    fn execute(&self, _: &Ir, _: &RunSpec) -> Result<RunOutcome, BackendError> {
        Err(BackendError::Unavailable {
            backend: self.0.clone(),
            reason: "a replayed backend only has its recorded results".into(),
        })
    }
}

/// The quantile `q` of sorted values ([`crate::stats::quantile_sorted`]), NaN when empty.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    crate::stats::quantile_sorted(sorted, q).unwrap_or(f64::NAN)
}

/// Traces arranged for replay, with the model sets that route them: made once, then replayed,
/// load-simulated or drifted ([`replay_prepared`], [`sim::load`], [`sim::drift`]).
pub struct Prepared {
    ds: Dataset,
    /// Per circuit: the fastest backend and its time.
    oracle: Vec<Option<(usize, f64)>>,
    /// Scorable circuits, oldest first (the order the adaptive router learns in).
    order: Vec<usize>,
    unscorable: usize,
    fold_models: Vec<ModelSet>,
    fold_of: BTreeMap<String, usize>,
    rows: u64,
}

impl Prepared {
    /// Scorable circuits.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is scorable (never, for a prepared replay).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Backends in the traces.
    pub fn backends(&self) -> &[String] {
        &self.ds.backends
    }

    /// Model sets that route (one per fold), as `name:hash`.
    pub fn model_versions(&self) -> Vec<String> {
        self.fold_models
            .iter()
            .map(|m| match m.meta.payload.blake3.get(..12) {
                Some(h) => format!("{}:{h}", m.meta.name),
                // Trained in memory for this replay: it has no stored payload to hash.
                None => m.meta.name.clone(),
            })
            .collect()
    }

    fn fold(&self, c: usize) -> usize {
        self.fold_of[self.ds.circuits[c].family.as_str()]
    }

    fn eligible(&self, c: usize) -> Vec<usize> {
        (0..self.ds.backends.len())
            .filter(|&b| self.ds.obs[c][b].eligible())
            .collect()
    }

    fn features(&self, c: usize) -> Result<Features, ReplayError> {
        let circ = &self.ds.circuits[c];
        Features::from_values(circ.x.clone()).ok_or_else(|| {
            ReplayError::Data(format!(
                "circuit {}: its features do not match this build's schema",
                circ.name
            ))
        })
    }

    /// Features of every scorable circuit, in replay order.
    fn ordered_features(&self) -> Result<Vec<Features>, ReplayError> {
        self.order.iter().map(|&c| self.features(c)).collect()
    }

    /// One router per (router policy, fold): adaptive ones learn within their fold.
    fn routers(
        &self,
        policies: &[Policy],
        config: &RouterConfig,
    ) -> BTreeMap<(usize, usize), Router> {
        let registry = Registry::new(
            self.ds
                .backends
                .iter()
                .map(|b| Arc::new(Recorded(b.clone())) as Arc<dyn Backend>)
                .collect(),
        );
        let mut out = BTreeMap::new();
        for (pi, p) in policies.iter().enumerate() {
            if let Policy::Router(_) | Policy::Hedged(_) = p {
                for (fold, m) in self.fold_models.iter().enumerate() {
                    out.insert(
                        (pi, fold),
                        Router::new(m.clone(), registry.clone(), config.clone()),
                    );
                }
            }
        }
        out
    }
}

/// Chooses backends for circuits under each policy.
struct Chooser<'a> {
    prep: &'a Prepared,
    policies: &'a [Policy],
    routers: &'a BTreeMap<(usize, usize), Router>,
    rng: Rng,
    turn: usize,
}

impl<'a> Chooser<'a> {
    fn new(
        prep: &'a Prepared,
        policies: &'a [Policy],
        routers: &'a BTreeMap<(usize, usize), Router>,
        seed: u64,
    ) -> Chooser<'a> {
        Chooser {
            prep,
            policies,
            routers,
            rng: Rng::new(seed),
            turn: 0,
        }
    }

    fn router(&self, pi: usize, c: usize) -> Option<&'a Router> {
        self.routers.get(&(pi, self.prep.fold(c)))
    }

    /// Policy `pi`'s backend for circuit `c`, with the router's recommendation when one
    /// chose.
    fn choose(
        &mut self,
        pi: usize,
        c: usize,
        features: &Features,
    ) -> (usize, Option<crate::route::Recommendation>) {
        let ds = &self.prep.ds;
        let nb = ds.backends.len();
        let (ob, _) = self.prep.oracle[c].expect("scorable");
        let eligible = self.prep.eligible(c);
        let by_name = |n: &str| ds.backends.iter().position(|b| b == n);
        // Rules fall back when their backend refused the circuit.
        let rule = |first: Option<usize>| -> usize {
            [first, by_name("prism-auto"), by_name("statevector")]
                .into_iter()
                .flatten()
                .find(|b| eligible.contains(b))
                .unwrap_or(ob)
        };
        match &self.policies[pi] {
            Policy::Oracle => (ob, None),
            Policy::Random => (
                eligible[self.rng.below(eligible.len() as u64) as usize],
                None,
            ),
            Policy::RoundRobin => {
                self.turn += 1;
                (eligible[self.turn % eligible.len()], None)
            }
            Policy::Always(name) => (rule(by_name(name)), None),
            Policy::PrismAuto => (rule(by_name("prism-auto")), None),
            Policy::RulesAer => (
                rule(if features[Feature::IsClifford] == 1.0 {
                    by_name("stabilizer")
                } else {
                    by_name("statevector")
                }),
                None,
            ),
            Policy::Router(strategy) | Policy::Hedged(strategy) => {
                let router = self
                    .router(pi, c)
                    .expect("a router per router policy and fold");
                let constraints = Constraints {
                    strategy: Some(*strategy),
                    shots: Some(ds.circuits[c].shots),
                    exclude: (0..nb)
                        .filter(|b| !eligible.contains(b))
                        .map(|b| ds.backends[b].clone())
                        .collect(),
                    ..Constraints::default()
                };
                match router.recommend(features, &constraints) {
                    Ok(rec) => (by_name(&rec.backend).unwrap_or(ob), Some(rec)),
                    // No modelled backend can take it: prism-auto's rule.
                    Err(_) => (rule(by_name("prism-auto")), None),
                }
            }
        }
    }
}

/// Arranges the traces and trains or checks the routing models. `progress` is told each
/// finished fold (for a progress bar).
pub fn prepare(spec: &ReplaySpec, mut progress: impl FnMut(&str)) -> Result<Prepared, ReplayError> {
    // Every time on one host speed: the model set's when it records one (its predictions are
    // for that speed), else the median of the rows the models are trained on.
    let scale = match &spec.models {
        ModelSource::Model(set) => set
            .meta
            .training
            .reference_calibration_ms
            .and_then(HostScale::new)
            .or_else(|| HostScale::of(&spec.traces)),
        ModelSource::Train { records, .. } => HostScale::of(records),
    };
    let ds = Dataset::from_records(&spec.traces, 0.99, scale)?;
    let nb = ds.backends.len();
    for p in &spec.policies {
        if let Policy::Always(b) = p
            && !ds.backends.contains(b)
        {
            return Err(ReplayError::UnknownBackend {
                policy: p.to_string(),
                backend: b.clone(),
                known: ds.backends.join(", "),
            });
        }
    }
    let oracle: Vec<Option<(usize, f64)>> = (0..ds.circuits.len())
        .map(|c| {
            (0..nb)
                .filter_map(|b| match ds.obs[c][b].outcome() {
                    Outcome::Ok(ms) => Some((b, ms)),
                    _ => None,
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
        })
        .collect();
    let mut order: Vec<usize> = (0..ds.circuits.len())
        .filter(|&c| oracle[c].is_some())
        .collect();
    let unscorable = ds.circuits.len() - order.len();
    if order.is_empty() {
        return Err(ReplayError::Data(
            "no circuit in the traces finished on any backend: nothing to score".into(),
        ));
    }
    order.sort_by_key(|&c| (ds.circuits[c].first_ts_us, c));

    // Folds: which model routes which circuit.
    let families: BTreeSet<&str> = order
        .iter()
        .map(|&c| ds.circuits[c].family.as_str())
        .collect();
    let mut fold_models: Vec<ModelSet> = Vec::new();
    let fold_of: BTreeMap<&str, usize> = match &spec.models {
        ModelSource::Model(set) => {
            let trained: BTreeSet<&str> = set
                .meta
                .training
                .families
                .iter()
                .map(String::as_str)
                .collect();
            let overlap: Vec<String> = families
                .intersection(&trained)
                .map(|s| s.to_string())
                .collect();
            let newest_first = order
                .iter()
                .map(|&c| ds.circuits[c].first_ts_us)
                .min()
                .unwrap_or(0);
            if !overlap.is_empty() && rfc3339_of(newest_first) <= set.meta.created_at {
                return Err(ReplayError::Leakage { families: overlap });
            }
            fold_models.push((**set).clone());
            families.iter().map(|f| (*f, 0)).collect()
        }
        ModelSource::Train {
            records,
            hyper,
            folds,
        } => {
            let mut fams: Vec<&str> = families.iter().copied().collect();
            let k = (*folds).clamp(2, fams.len().max(2));
            Rng::new(spec.seed).shuffle(&mut fams);
            let fold_of: BTreeMap<&str, usize> =
                fams.iter().enumerate().map(|(i, f)| (*f, i % k)).collect();
            for fold in 0..k {
                let held: BTreeSet<&str> = fold_of
                    .iter()
                    .filter(|(_, v)| **v == fold)
                    .map(|(f, _)| *f)
                    .collect();
                // The held-out circuits by id too: a circuit recorded under another family
                // name elsewhere in the training telemetry is still held out.
                let replayed_held: BTreeSet<&str> = order
                    .iter()
                    .filter(|&&c| held.contains(ds.circuits[c].family.as_str()))
                    .map(|&c| ds.circuits[c].id.as_str())
                    .collect();
                let rows: Vec<ExecutionRecord> = records
                    .iter()
                    .filter(|r| {
                        !held.contains(r.family.as_deref().unwrap_or("unknown"))
                            && !replayed_held.contains(r.circuit_id.as_str())
                    })
                    .map(|r| scale.map_or_else(|| r.clone(), |s| s.normalise(r)))
                    .collect();
                let train_spec = TrainSpec {
                    telemetry: Vec::new(),
                    name: format!("replay-fold-{fold}"),
                    holdout_families: Vec::new(),
                    hyper: hyper.clone(),
                };
                let set = train_records(&rows, &train_spec, |_| {})?;
                let leaked: Vec<String> = set
                    .meta
                    .training
                    .families
                    .iter()
                    .filter(|f| held.contains(f.as_str()))
                    .cloned()
                    .collect();
                debug_assert!(leaked.is_empty(), "fold {fold} trained on {leaked:?}");
                fold_models.push(set);
                progress(&format!("fold {} of {k} trained", fold + 1));
            }
            fold_of
        }
    };

    let fold_of = fold_of
        .into_iter()
        .map(|(f, k)| (f.to_string(), k))
        .collect();
    Ok(Prepared {
        ds,
        oracle,
        order,
        unscorable,
        fold_models,
        fold_of,
        rows: spec.traces.len() as u64,
    })
}

/// Runs a replay. `progress` is told each finished fold (for a progress bar).
pub fn replay(spec: &ReplaySpec, progress: impl FnMut(&str)) -> Result<Replay, ReplayError> {
    let prep = prepare(spec, progress)?;
    replay_prepared(spec, &prep)
}

/// Scores every policy of `spec` on prepared traces, one circuit at a time in trace order.
pub fn replay_prepared(spec: &ReplaySpec, prep: &Prepared) -> Result<Replay, ReplayError> {
    let ds = &prep.ds;
    let routers = prep.routers(&spec.policies, &spec.router);
    let mut chooser = Chooser::new(prep, &spec.policies, &routers, spec.seed);
    let mut results: Vec<PolicyResult> = spec
        .policies
        .iter()
        .map(|p| PolicyResult {
            policy: p.to_string(),
            total_ms: 0.0,
            regret: 0.0,
            best_share: 0.0,
            total_cost: 0.0,
            slowdown_p50: 0.0,
            slowdown_p95: 0.0,
            slowdown_p99: 0.0,
            slowdown_geo_mean: 0.0,
            over_2x: 0,
            over_10x: 0,
            within_10pct: 0.0,
            deadline_misses: 0,
            lost: 0,
            hedged: 0,
            per_family: BTreeMap::new(),
        })
        .collect();
    let mut circuits = Vec::with_capacity(prep.order.len());
    let mut choices = Vec::new();
    let mut slowdowns: Vec<Vec<f64>> = vec![Vec::new(); spec.policies.len()];
    let mut best_hits = vec![0u64; spec.policies.len()];
    let mut slow = vec![crate::stats::Slowdowns::default(); spec.policies.len()];
    let mut oracle_total = 0.0;
    for &c in &prep.order {
        let circ = &ds.circuits[c];
        let (ob, oms) = prep.oracle[c].expect("scorable");
        let ocost = median_or_zero(&ds.obs[c][ob].costs);
        let ci = circuits.len();
        circuits.push(ReplayedCircuit {
            id: circ.id.clone(),
            name: circ.name.clone(),
            family: circ.family.clone(),
            oracle_backend: ds.backends[ob].clone(),
            oracle_ms: oms,
            fold: prep.fold(c),
        });
        oracle_total += oms;
        let features = prep.features(c)?;
        for pi in 0..spec.policies.len() {
            let (b, rec) = chooser.choose(pi, c, &features);
            let scored = match (&spec.policies[pi], &rec) {
                (Policy::Hedged(_), Some(rec)) => {
                    hedged(prep, c, rec, b, &spec.router.hedge, (oms, ocost), &|_| 1.0)
                }
                _ => unhedged(&ds.obs[c][b], (oms, ocost), 1.0),
            };
            // As a live router is used: the job is in flight until its result is observed.
            if let (Some(router), Some(rec)) = (chooser.router(pi, c), &rec) {
                let _in_flight = router.begin(rec);
                if let Policy::Router(Strategy::Adaptive) | Policy::Hedged(Strategy::Adaptive) =
                    spec.policies[pi]
                {
                    let hedge = &spec.router.hedge;
                    feed(router, prep, c, b, rec, &scored, hedge, &features, &|_| 1.0);
                }
            }
            let (time_ms, cost, lost) = (scored.time_ms, scored.cost, scored.lost);
            let r = &mut results[pi];
            r.hedged += scored.hedged_to.is_some() as u64;
            r.total_ms += time_ms;
            r.total_cost += cost;
            r.lost += lost as u64;
            if spec.deadline_ms.is_some_and(|d| time_ms > d) {
                r.deadline_misses += 1;
            }
            let fam = r.per_family.entry(circ.family.clone()).or_default();
            fam.0 += time_ms;
            fam.1 += oms;
            best_hits[pi] += (b == ob) as u64;
            slowdowns[pi].push(time_ms / oms.max(1e-9));
            slow[pi].add(time_ms, oms.max(1e-9));
            choices.push(Choice {
                circuit: ci,
                policy: pi,
                backend: ds.backends[b].clone(),
                time_ms,
                cost,
                lost,
                predicted_ms: rec.map(|r| r.chosen.latency_ms),
                hedged_to: scored.hedged_to.map(|h| ds.backends[h].clone()),
            });
        }
    }
    let n = prep.order.len() as f64;
    for (pi, r) in results.iter_mut().enumerate() {
        r.regret = r.total_ms / oracle_total.max(1e-9);
        r.best_share = best_hits[pi] as f64 / n;
        let s = &mut slowdowns[pi];
        s.sort_by(f64::total_cmp);
        r.slowdown_p50 = percentile(s, 0.5);
        r.slowdown_p95 = percentile(s, 0.95);
        r.slowdown_p99 = percentile(s, 0.99);
        r.slowdown_geo_mean = slow[pi].geo_mean();
        r.over_2x = slow[pi].over_2x();
        r.over_10x = slow[pi].over_10x();
        r.within_10pct = slow[pi].within_10pct();
    }
    Ok(Replay {
        circuits,
        choices,
        results,
        unscorable: prep.unscorable,
        backends: ds.backends.clone(),
        model_versions: prep.model_versions(),
        rows: prep.rows,
        hedge: spec.router.hedge,
    })
}

/// What one choice cost, by the recorded outcomes.
struct Scored {
    time_ms: f64,
    cost: f64,
    lost: bool,
    /// The backend that finished after a hedge.
    hedged_to: Option<usize>,
}

/// A choice run to its end: its recorded time, or when it was lost the time it lost plus a
/// retry on the fastest backend (`oracle`: that backend's time and cost). `scale` multiplies
/// the backend's recorded time and cost (1 but in a drift, see [`sim::drift`]).
fn unhedged(obs: &crate::train::Obs, oracle: (f64, f64), scale: f64) -> Scored {
    let own = median_or_zero(&obs.costs) * scale;
    let (time_ms, cost, lost) = match obs.outcome() {
        Outcome::Ok(ms) => (ms * scale, own, false),
        Outcome::Lost(ms) => (ms * scale + oracle.0, own + oracle.1, true),
        Outcome::Ineligible => (oracle.0, oracle.1, false),
    };
    Scored {
        time_ms,
        cost,
        lost,
        hedged_to: None,
    }
}

/// A choice under [`crate::route::Hedge`]: a backend whose recorded time (successful or
/// lost) passes its cutoff costs the cutoff (and that share of its recorded cost) and hands
/// the circuit to the best-ranked alternative of another family, at most `hedge.max` times.
/// A backend that finishes, or is lost, within its cutoff is scored as [`unhedged`], so the
/// two differ only where a run overran: the runner's rule without a free slot to race on.
/// `scale(b)` multiplies backend `b`'s recorded time and cost, as in [`unhedged`].
fn hedged(
    prep: &Prepared,
    c: usize,
    rec: &crate::route::Recommendation,
    first: usize,
    hedge: &crate::route::Hedge,
    oracle: (f64, f64),
    scale: &dyn Fn(usize) -> f64,
) -> Scored {
    let ds = &prep.ds;
    let eligible = prep.eligible(c);
    let index = |n: &str| ds.backends.iter().position(|b| b == n);
    let usable = |n: &str| index(n).is_some_and(|i| eligible.contains(&i));
    let (mut spent_ms, mut spent_cost) = (0.0, 0.0);
    let mut tried: Vec<String> = Vec::new();
    let (mut b, mut est) = (first, &rec.chosen);
    loop {
        let name = &ds.backends[b];
        tried.push(name.clone());
        let obs = &ds.obs[c][b];
        let next = (tried.len() <= hedge.max as usize)
            .then(|| hedge.next(rec, name, &tried, usable))
            .flatten();
        let cutoff = hedge.cutoff_ms(est);
        let k = scale(b);
        let overran = match obs.outcome() {
            Outcome::Ok(ms) | Outcome::Lost(ms) => (ms * k > cutoff).then_some(ms * k),
            Outcome::Ineligible => None,
        };
        let (Some(ms), Some(e)) = (overran, next) else {
            let end = unhedged(obs, oracle, k);
            return Scored {
                time_ms: spent_ms + end.time_ms,
                cost: spent_cost + end.cost,
                hedged_to: (tried.len() > 1).then_some(b),
                ..end
            };
        };
        spent_ms += cutoff;
        spent_cost += median_or_zero(&obs.costs) * k * cutoff / ms;
        b = index(&e.backend).expect("usable backends are in the traces");
        est = e;
    }
}

fn median_or_zero(v: &[f64]) -> f64 {
    if v.is_empty() { 0.0 } else { median(v) }
}

/// Feeds an adaptive router what a live runner would have observed of a replayed choice of
/// backend `b` for circuit `c`: its record — or, when it was given up at its cutoff, that
/// record censored at the cutoff (status `hedged`), then the record of the backend that
/// finished (with more than one hedge, the ones between are not fed). `scale(b)` multiplies
/// backend `b`'s recorded time, as in [`unhedged`].
#[allow(clippy::too_many_arguments)]
fn feed(
    router: &crate::route::Router,
    prep: &Prepared,
    c: usize,
    b: usize,
    rec: &crate::route::Recommendation,
    scored: &Scored,
    hedge: &crate::route::Hedge,
    features: &Features,
    scale: &dyn Fn(usize) -> f64,
) {
    let ds = &prep.ds;
    let circ = &ds.circuits[c];
    let mut first = observed(circ, &ds.backends[b], &ds.obs[c][b], features, scale(b));
    match scored.hedged_to {
        Some(h) => {
            first.status = Status::Hedged;
            first.wall_ms = Some(hedge.cutoff_ms(&rec.chosen));
            router.observe(&first);
            let last = observed(circ, &ds.backends[h], &ds.obs[c][h], features, scale(h));
            router.observe(&last);
        }
        None => router.observe(&first),
    }
}

/// The record an adaptive router would have observed for a replayed choice.
fn observed(
    circ: &crate::train::Circuit,
    backend: &str,
    obs: &crate::train::Obs,
    features: &Features,
    slowdown: f64,
) -> ExecutionRecord {
    let (status, wall) = match obs.outcome() {
        Outcome::Ok(ms) => (Status::Ok, Some(ms * slowdown)),
        Outcome::Lost(ms) if obs.timeouts > 0 => (Status::Timeout, Some(ms * slowdown)),
        Outcome::Lost(ms) => (Status::Failed, Some(ms * slowdown)),
        Outcome::Ineligible => (Status::Ineligible, None),
    };
    ExecutionRecord {
        ts_us: circ.first_ts_us,
        circuit_name: circ.name.clone(),
        family: Some(circ.family.clone()),
        shots: circ.shots,
        wall_ms: wall,
        cost: Some(median_or_zero(&obs.costs)),
        status,
        strategy: Some("adaptive".into()),
        ..ExecutionRecord::attempt(
            "replay",
            circ.id.clone(),
            circ.id.clone(),
            features.clone(),
            backend,
        )
    }
}
