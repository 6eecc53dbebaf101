//! `qroute route`: a recommendation for each job, nothing run.

use serde_json::{Value, json};

use crate::route::{Constraints, Job, Recommendation, RouteError, Router};

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
