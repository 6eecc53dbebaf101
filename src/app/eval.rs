//! `qroute eval`: a model set scored on full-information telemetry it was not trained on.
//!
//! A user collects telemetry of their own circuits on every backend (`qroute collect
//! --backends all`) and asks how a model set would have routed them: per router strategy,
//! the configured strategy hedged (`+hedge`), and for prism-auto and Aer's Clifford rule, the routed total against the fastest backend
//! per circuit (regret), the geometric mean of the per-circuit slowdown, the circuits more
//! than 2× and 10× their best, and the share within 10%; then the circuits where the default
//! strategy lost the most time. Choices are scored by the recorded outcomes as
//! [`crate::replay`] scores them; a model set trained on a family of the traces is refused
//! (its score would be inflated).

use std::path::PathBuf;

use super::params::Output;
use crate::replay::{ModelSource, Policy, Replay, ReplaySpec, replay};
use crate::route::{RouterConfig, Strategy};

/// Score a model set on full-information telemetry it was not trained on: per router
/// strategy, the configured one also hedged, and for prism-auto and Aer's rule (stabilizer if Clifford, else state vector),
/// the regret (routed total / fastest-per-circuit total), geo-mean slowdown, circuits over
/// 2× and 10× their best and the share within 10%, then the worst losses of the configured
/// strategy. Nothing runs: choices are scored with the recorded times.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct EvalParams {
    /// Full-information telemetry: directories where each circuit ran on every backend (as
    /// `qroute collect --backends all` records).
    #[cfg_attr(feature = "cli", arg(long, required = true, num_args = 1..))]
    pub traces: Vec<PathBuf>,
    /// Model set (default: models/default, else the set compiled into qroute).
    #[cfg_attr(feature = "cli", arg(long, default_value = super::router::DEFAULT_MODEL))]
    pub model: PathBuf,
    /// Worst losses to list.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 10))]
    pub worst: usize,
    /// How to print.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub output: Output,
}

/// A scored model set.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluated {
    /// The replay of every policy.
    pub replay: Replay,
    /// The strategy whose worst losses are listed.
    pub strategy: Strategy,
    /// Its worst losses, largest first: indices into `replay.choices`.
    pub worst: Vec<usize>,
    /// Unreadable telemetry files (skipped), and why.
    #[serde(skip)]
    pub bad_files: Vec<(PathBuf, String)>,
}

impl EvalParams {
    /// Reads the traces and the model set and scores every policy.
    pub fn run(&self, router: RouterConfig) -> crate::Result<Evaluated> {
        crate::bounds::at_most("--worst", self.worst as u64, 10_000)?;
        let crate::telemetry::ReadReport {
            records: traces,
            bad_files,
            ..
        } = crate::telemetry::read_dirs(&self.traces)?;
        if traces.is_empty() {
            let why = bad_files.first().map_or(String::new(), |(p, why)| {
                format!(
                    " ({} unreadable, e.g. {}: {why})",
                    bad_files.len(),
                    p.display()
                )
            });
            return Err(super::AppError::Invalid(format!(
                "no telemetry rows in {}{why}",
                self.traces
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
        let strategy = router.strategy;
        let mut policies: Vec<Policy> = Strategy::ALL.iter().map(|&s| Policy::Router(s)).collect();
        // The configured strategy also hedged (#31): given up at its cutoff for the next-best
        // backend of another family, scored with the recorded times of both.
        policies.extend([
            Policy::Hedged(strategy),
            Policy::PrismAuto,
            Policy::RulesAer,
        ]);
        let spec = ReplaySpec {
            traces,
            models: ModelSource::Model(Box::new(super::router::models(&self.model)?)),
            policies,
            router,
            seed: 0,
            deadline_ms: None,
        };
        let replay = replay(&spec, |_| {})?;
        let pi = Strategy::ALL
            .iter()
            .position(|&s| s == strategy)
            .unwrap_or(0);
        let mut worst: Vec<usize> = (0..replay.choices.len())
            .filter(|&i| replay.choices[i].policy == pi)
            .collect();
        let loss = |i: usize| {
            let c = &replay.choices[i];
            c.time_ms - replay.circuits[c.circuit].oracle_ms
        };
        worst.sort_by(|&a, &b| loss(b).total_cmp(&loss(a)));
        worst.retain(|&i| loss(i) > 0.0);
        worst.truncate(self.worst);
        Ok(Evaluated {
            replay,
            strategy,
            worst,
            bad_files,
        })
    }
}
