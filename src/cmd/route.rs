//! `qroute route`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use qroute::config::Config;
use qroute::route::{Constraints, Strategy};

/// What `route` and `run` share.
#[derive(clap::Args, Debug)]
pub(crate) struct RouteArgs {
    /// OpenQASM 2 files or directories (searched recursively for *.qasm).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Strategy (default: the configuration's, else `predictive`).
    #[arg(long, value_enum)]
    pub(crate) strategy: Option<Strategy>,
    /// Most a circuit may cost.
    #[arg(long)]
    pub(crate) max_cost: Option<f64>,
    /// Latest acceptable finish per circuit, seconds.
    #[arg(long)]
    pub(crate) deadline: Option<f64>,
    #[command(flatten)]
    pub(crate) circuit: super::CircuitArgs,
}

impl RouteArgs {
    /// The constraints of the flags, checked once before any circuit is routed.
    pub(crate) fn constraints(&self) -> anyhow::Result<Constraints> {
        let c = Constraints {
            strategy: self.strategy,
            deadline: self
                .deadline
                .map(|d| super::seconds("--deadline", d))
                .transpose()?,
            max_cost: self.max_cost,
            ..self.circuit.constraints()
        };
        c.check()?;
        Ok(c)
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    route: RouteArgs,
    /// Output format: `table` or `json`.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Output of `qroute route`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// A table and one reason per circuit.
    Table,
    /// Every recommendation in full.
    Json,
}

pub(crate) fn run(args: &Args, config: &Config, path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let router = qroute::app::router::router(&args.route.circuit.model, config, path)?;
    let constraints = args.route.constraints()?;
    let (jobs, bad) = super::load_jobs(&args.route.files)?;
    let routed = qroute::app::route::recommend_all(&router, &jobs, &constraints);
    let refused = routed.iter().filter(|r| r.result.is_err()).count();
    for r in &routed {
        if let Err(e) = &r.result {
            eprintln!("error: {}: {e}", r.name);
        }
    }
    match args.format {
        Format::Json => {
            let json: Vec<_> = routed.iter().map(|r| r.to_json()).collect();
            outln!("{}", serde_json::to_string_pretty(&json)?);
        }
        Format::Table => {
            out!("{}", qroute::app::render::route_table(&routed));
            outln!(
                "\nmodel set {}, strategy {}",
                router.model_version(),
                constraints.strategy.unwrap_or(router.config().strategy)
            );
        }
    }
    Ok(super::code(bad + refused == 0))
}
