//! `qroute plan`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use qroute::app::router::Executors;
use qroute::config::Config;
use qroute::exec::plan::execute;
use qroute::plan::{Objective, PlanRequest, Slots, plan};
use qroute::telemetry::{TelemetryWriter, WriterOptions};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// OpenQASM 2 files or directories (searched recursively for *.qasm).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Backend slots: how many jobs each backend runs at once, e.g. `statevector=2,mps-64=1`.
    #[arg(long)]
    slots: Slots,
    /// What to minimise.
    #[arg(long, value_enum, default_value_t = Objective::Makespan)]
    objective: Objective,
    /// When the whole batch must be done, seconds.
    #[arg(long)]
    deadline: Option<f64>,
    /// Most the whole batch may cost.
    #[arg(long)]
    budget: Option<f64>,
    #[command(flatten)]
    circuit: super::CircuitArgs,
    /// Run the plan (one worker per slot, with rebalancing) and compare.
    #[arg(long)]
    execute: bool,
    #[command(flatten)]
    run: super::run::RunArgs,
}

pub(crate) fn run(args: &Args, config: &Config, path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let deadline = args
        .deadline
        .map(|d| super::seconds("--deadline", d))
        .transpose()?;
    if let Some(b) = args.budget
        && !(b.is_finite() && b >= 0.0)
    {
        anyhow::bail!("--budget must be a number ≥ 0, got {b}");
    }
    let opts = args.run.exec.options("plan")?;
    let via = qroute::app::router::Via::Here {
        exe: qroute::app::process_isolation()?,
    };
    // Executor processes only when the plan is run.
    let policy = if args.execute {
        opts.isolation
    } else {
        qroute::exec::IsolationPolicy::Never
    };
    let ex = Executors::build(&args.circuit.model, config, path, via, policy)?;
    let constraints = args.circuit.constraints();
    constraints.check()?;
    let (jobs, bad) = super::load_jobs(&args.files)?;
    let req = PlanRequest {
        slots: args.slots.clone(),
        objective: args.objective,
        deadline,
        budget: args.budget,
        constraints: constraints.clone(),
    };
    let p = plan(&ex.router, &jobs, &req)?;
    let mut executed = None;
    if args.execute {
        let writer = TelemetryWriter::open(&args.run.exec.telemetry, WriterOptions::default())?;
        let runner = ex.runner(Some(&writer), opts);
        executed = Some(execute(&p, &jobs, &runner, &constraints)?);
        writer.close()?;
    }
    if args.run.json {
        let all = serde_json::json!({ "plan": p, "executed": executed });
        outln!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        out!("{}", qroute::app::render::plan(&p, executed.as_ref()));
    }
    let failed = executed.as_ref().map_or(0, |x| x.failed);
    Ok(super::code(
        bad == 0 && p.unplaceable.is_empty() && failed == 0,
    ))
}
