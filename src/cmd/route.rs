//! `qroute route`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use qroute::app::render::short;
use qroute::config::Config;
use qroute::display::{Align, human_ms, table};
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
    let (jobs, mut bad) = super::load_jobs(&args.route.files)?;
    let mut rows = vec![
        [
            "circuit",
            "backend",
            "predicted",
            "90% interval",
            "cost",
            "confidence",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut reasons = Vec::new();
    let mut json = Vec::new();
    for job in &jobs {
        match router.recommend_circuit(&job.circuit, &job.features, &constraints) {
            Ok(rec) => {
                let e = &rec.chosen;
                rows.push(vec![
                    short(&job.name),
                    rec.backend.clone(),
                    human_ms(e.latency_ms),
                    format!("{}–{}", human_ms(e.low_ms), human_ms(e.high_ms)),
                    format!("{:.2e}", e.cost),
                    format!("{:.2}", rec.confidence),
                ]);
                reasons.push(format!("{}: {}", short(&job.name), rec.reason));
                json.push(serde_json::json!({ "circuit": job.name, "recommendation": rec }));
            }
            Err(e) => {
                eprintln!("error: {}: {e}", job.name);
                json.push(serde_json::json!({ "circuit": job.name, "error": e.to_string() }));
                bad += 1;
            }
        }
    }
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&json)?),
        Format::Table => {
            out!("{}", table(&rows, Align::FirstLeft));
            outln!();
            for r in reasons {
                outln!("{r}");
            }
            outln!(
                "\nmodel set {}, strategy {}",
                router.model_version(),
                constraints.strategy.unwrap_or(router.config().strategy)
            );
        }
    }
    Ok(super::code(bad == 0))
}
