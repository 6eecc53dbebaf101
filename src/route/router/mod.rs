//! [`Router`]: eligibility, then a strategy; online correction, load and circuit breakers.
//!
//! One decision, in order: `eligibility` refuses the backends that cannot take the circuit
//! and predicts the others; `scoring` ranks them under the strategy and may let the
//! rule-based choice or exploration override the best; `explain` says why in a sentence.
//! `models` holds the model set and swaps it while decisions run; `feedback` takes what
//! happened back (corrections, breakers, load, statistics).

mod eligibility;
mod explain;
mod feedback;
mod models;
mod scoring;

use std::sync::Arc;
use std::sync::{Mutex, MutexGuard, RwLock};

use super::online::BackendState;
use super::stats::Tally;
use super::{Constraints, Estimate, Recommendation, RouteError, RouterConfig, Strategy};
use crate::backend::{Availability, CircuitFacts, Ineligible, Registry};
use crate::circuit::Circuit;
use crate::features::{FEATURE_SCHEMA, Features};
use crate::model::ModelSet;
use crate::rng::Rng;

pub use feedback::{InFlight, Observation};
use models::Loaded;
pub use models::ModelWatcher;

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
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Its configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// Its backends.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Recommends a backend from features alone. Eligibility that needs the circuit itself
    /// (opaque gates) is checked by [`Router::recommend_circuit`].
    pub fn recommend(
        &self,
        features: &Features,
        constraints: &Constraints,
    ) -> Result<Recommendation, RouteError> {
        self.decide(&CircuitFacts::from_features(features), constraints)
    }

    /// Recommends a backend for a circuit and its features.
    pub fn recommend_circuit(
        &self,
        circuit: &Circuit,
        features: &Features,
        constraints: &Constraints,
    ) -> Result<Recommendation, RouteError> {
        self.decide(&CircuitFacts::of(circuit, features), constraints)
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
        let facts = CircuitFacts::of(circuit, features);
        let (_, _, cands, ineligible) = self.candidates(&facts, c)?;
        Ok((cands.into_iter().map(|(_, e)| e).collect(), ineligible))
    }

    /// The checked request's strategy, the model set it is decided with, and the eligible
    /// backends' estimates (at least one) with the refused ones.
    #[allow(clippy::type_complexity)]
    fn candidates(
        &self,
        facts: &CircuitFacts<'_>,
        c: &Constraints,
    ) -> Result<
        (
            Strategy,
            Arc<Loaded>,
            Vec<(usize, Estimate)>,
            Vec<Ineligible>,
        ),
        RouteError,
    > {
        c.check()?;
        FEATURE_SCHEMA
            .check(facts.features)
            .map_err(crate::model::ModelError::from)?;
        let strategy = c.strategy.unwrap_or(self.config.strategy);
        let loaded = self.loaded();
        let (cands, ineligible) = self.estimate_all(&loaded, facts, c, strategy);
        if cands.is_empty() {
            return Err(RouteError::NoBackend { ineligible });
        }
        Ok((strategy, loaded, cands, ineligible))
    }

    fn decide(
        &self,
        facts: &CircuitFacts<'_>,
        c: &Constraints,
    ) -> Result<Recommendation, RouteError> {
        let features = facts.features;
        let (strategy, loaded, mut cands, ineligible) = self.candidates(facts, c)?;
        scoring::rank(&mut cands, strategy, &self.config);
        let gate = scoring::gate(features, &cands, strategy, &self.config);
        let rule_fallback = gate.is_some();
        let (mut pick, mut reason) = gate.unwrap_or((0, String::new()));
        let mut explored = false;
        if strategy == Strategy::Adaptive
            && !rule_fallback
            && let Some((k, why)) = self.explore(&cands, pick)
        {
            (pick, reason, explored) = (k, why, true);
        }
        let chosen = cands[pick].1.clone();
        let alternatives: Vec<_> = cands
            .into_iter()
            .enumerate()
            .filter(|&(k, _)| k != pick)
            .map(|(_, (_, e))| e)
            .collect();
        let confidence = alternatives
            .iter()
            .map(|o| scoring::p_faster(&chosen, o))
            .fold(1.0f64, f64::min);
        if reason.is_empty() {
            reason = explain::explain(strategy, &chosen, alternatives.first(), &self.config);
        }
        let reason = explain::qualify(reason, &chosen, rule_fallback);
        self.lock()
            .tally
            .decided(&chosen.backend, strategy.as_str(), rule_fallback, explored);
        Ok(Recommendation {
            backend: chosen.backend.clone(),
            strategy,
            reason,
            confidence,
            constraints_met: chosen.meets_deadline && chosen.within_budget,
            chosen,
            alternatives,
            ineligible,
            rule_fallback,
            explored,
            model_version: loaded.version.clone(),
        })
    }
}
