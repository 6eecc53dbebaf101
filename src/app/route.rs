//! `qroute route`: a recommendation for each job, nothing run.

use std::path::Path;

use serde_json::{Value, json};

use super::params::RouteParams;
use crate::circuit::qasm::{ParseError, ParseWarning};
use crate::config::Config;
use crate::route::{Constraints, Job, Recommendation, RouteError, Router, Strategy};

/// One job's recommendation, or why there is none.
#[derive(Debug)]
pub struct Routed {
    /// The job's name.
    pub name: String,
    /// The recommendation.
    pub result: Result<Recommendation, RouteError>,
}

impl Routed {
    /// `{"circuit", "recommendation"}` or `{"circuit", "error"}`.
    pub fn to_json(&self) -> Value {
        match &self.result {
            Ok(rec) => json!({ "circuit": self.name, "recommendation": rec }),
            Err(e) => json!({ "circuit": self.name, "error": e.to_string() }),
        }
    }
}

/// Routes every job under `constraints`; a refused job keeps its error, the others still route.
pub fn recommend_all(router: &Router, jobs: &[Job], constraints: &Constraints) -> Vec<Routed> {
    jobs.iter()
        .map(|job| Routed {
            name: job.name.clone(),
            result: router.recommend_circuit(&job.circuit, &job.features, constraints),
        })
        .collect()
}

/// Every circuit file's recommendation, and what they were routed with.
#[derive(Debug)]
pub struct RoutedFiles {
    /// One per circuit file that parsed, in discovery order.
    pub routed: Vec<Routed>,
    /// The files that did not parse.
    pub bad_files: Vec<ParseError>,
    /// What parsed but is worth a warning.
    pub warnings: Vec<ParseWarning>,
    /// The model set's version.
    pub model_version: String,
    /// The strategy that decided.
    pub strategy: Strategy,
}

impl RoutedFiles {
    /// Files that did not parse plus circuits no backend may take.
    pub fn failures(&self) -> usize {
        let refused = self.routed.iter().filter(|r| r.result.is_err()).count();
        self.bad_files.len() + refused
    }

    /// What `--format json` prints: every recommendation in full.
    pub fn to_json(&self) -> serde_json::Value {
        self.routed.iter().map(|r| r.to_json()).collect()
    }
}

impl RouteParams {
    /// `qroute route`: each circuit file routed by `config`'s router with the model set, under
    /// the constraints; nothing runs.
    pub fn route(&self, config: &Config, config_path: Option<&Path>) -> crate::Result<RoutedFiles> {
        let router = super::router::router(&self.circuit.model, config, config_path)?;
        let constraints = self.constraints()?;
        let loaded = super::jobs::load(&self.files)?;
        Ok(RoutedFiles {
            routed: recommend_all(&router, &loaded.jobs, &constraints),
            bad_files: loaded.errors,
            warnings: loaded.warnings,
            model_version: router.model_version(),
            strategy: constraints.strategy.unwrap_or(router.config().strategy),
        })
    }
}
