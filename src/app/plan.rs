//! `qroute plan`: a batch placed on backend slots, and with `--execute` run as placed.

use std::path::{Path, PathBuf};

use super::params::{CircuitParams, RunParams, invalid, seconds};
use super::router::{Executors, Via};
use crate::circuit::qasm::{ParseError, ParseWarning};
use crate::config::Config;
use crate::exec::IsolationPolicy;
use crate::exec::plan::{Executed, execute};
use crate::plan::{Objective, Plan, PlanRequest, Slots, plan};
use crate::telemetry::{TelemetryWriter, WriterOptions};

/// Plan a batch over backend slots to finish soonest (makespan) or cost least, within a
/// deadline and budget; with --execute, run it and compare predicted with actual.
///
/// Jobs go in decreasing order of predicted duration (LPT), each to the slot where it
/// finishes first (makespan) or to the cheapest backend that meets the deadline (cost), never
/// spending beyond what the budget leaves for the remaining jobs; local search then shortens
/// the plan. Executing runs one worker per slot; a free slot takes queued work from a slower
/// backend when that finishes it sooner.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct PlanParams {
    /// OpenQASM 2 files or directories (searched recursively for *.qasm).
    #[cfg_attr(feature = "cli", arg(required = true))]
    pub files: Vec<PathBuf>,
    /// Backend slots: how many jobs each backend runs at once, e.g. `statevector=2,mps-64=1`.
    #[cfg_attr(feature = "cli", arg(long))]
    pub slots: Slots,
    /// What to minimise.
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value_t = Objective::Makespan))]
    pub objective: Objective,
    /// When the whole batch must be done, seconds.
    #[cfg_attr(feature = "cli", arg(long))]
    pub deadline: Option<f64>,
    /// Most the whole batch may cost.
    #[cfg_attr(feature = "cli", arg(long))]
    pub budget: Option<f64>,
    /// Fidelity, shots and models.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub circuit: CircuitParams,
    /// Run the plan (one worker per slot, with rebalancing) and compare.
    #[cfg_attr(feature = "cli", arg(long))]
    pub execute: bool,
    /// How the plan runs with --execute.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub run: RunParams,
}

impl PlanParams {
    /// The planning request, checked.
    pub fn request(&self) -> crate::Result<PlanRequest> {
        if let Some(b) = self.budget
            && !(b.is_finite() && b >= 0.0)
        {
            return Err(invalid(
                "--budget",
                format_args!("must be a number ≥ 0, got {b}"),
            ));
        }
        Ok(PlanRequest {
            slots: self.slots.clone(),
            objective: self.objective,
            deadline: self
                .deadline
                .map(|d| seconds("--deadline", d))
                .transpose()?,
            budget: self.budget,
            constraints: self.circuit.constraints()?,
        })
    }
}

/// A plan, and what running it did.
#[derive(Debug)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// What running it did, with `execute`.
    pub executed: Option<Executed>,
    /// The files that did not parse (left out).
    pub bad_files: Vec<ParseError>,
    /// What parsed but is worth a warning.
    pub warnings: Vec<ParseWarning>,
}

impl Planned {
    /// Every file parsed, every job placed and, when run, succeeded.
    pub fn all_ok(&self) -> bool {
        let failed = self.executed.as_ref().map_or(0, |x| x.failed);
        self.bad_files.is_empty() && self.plan.unplaceable.is_empty() && failed == 0
    }
}

impl PlanParams {
    /// Plans the circuit files over `config`'s backends and, with `execute`, runs the plan
    /// (every attempt written to the telemetry directory).
    pub fn run(&self, config: &Config, config_path: Option<&Path>) -> crate::Result<Planned> {
        let req = self.request()?;
        let opts = self.run.exec.options("plan")?;
        let via = Via::Here {
            exe: super::process_isolation()?,
        };
        // Executor processes only when the plan is run.
        let policy = match self.execute {
            true => opts.isolation,
            false => IsolationPolicy::Never,
        };
        let ex = Executors::build(&self.circuit.model, config, config_path, via, policy)?;
        let loaded = super::jobs::load(&self.files)?;
        let p = plan(&ex.router, &loaded.jobs, &req)?;
        let mut executed = None;
        if self.execute {
            let writer = TelemetryWriter::open(&self.run.exec.telemetry, WriterOptions::default())?;
            let runner = ex.runner(Some(&writer), opts);
            executed = Some(execute(&p, &loaded.jobs, &runner, &req.constraints)?);
            writer.close()?;
        }
        Ok(Planned {
            plan: p,
            executed,
            bad_files: loaded.errors,
            warnings: loaded.warnings,
        })
    }
}
