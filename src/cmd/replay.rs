//! `qroute replay`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use qroute::app::experiment::{DriftRequest, ExperimentSpec, Models};
use qroute::config::Config;
use qroute::replay::sim::{Arrivals, LoadSpec};
use qroute::replay::{Policy, all_policies};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Full-information traces: telemetry directories where each circuit ran on every
    /// backend (as `qroute collect` records).
    #[arg(long, required = true, num_args = 1..)]
    traces: Vec<PathBuf>,
    /// Train the routing models on this telemetry, one model set per fold of the replayed
    /// families, each without its fold (leave-family-out).
    #[arg(long, num_args = 1.., conflicts_with = "model", required_unless_present = "model")]
    train: Vec<PathBuf>,
    /// Route with this model set; refused when it was trained on a replayed family.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Policies, comma-separated: oracle, random, round-robin, always:<backend>, rules-aer,
    /// prism-auto, performance, cost, balanced, predictive, adaptive (default: all but
    /// always:).
    #[arg(long, value_delimiter = ',')]
    strategies: Vec<Policy>,
    /// Output folder, e.g. experiments/2026-11-23-mine.
    #[arg(long)]
    out: PathBuf,
    /// Replace the output folder's files when it holds an earlier replay.
    #[arg(long)]
    force: bool,
    /// Seed of `random`, the folds and training.
    #[arg(long, short = 's', default_value_t = 0)]
    seed: u64,
    /// Folds of families with --train.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Count circuits taking longer than this many seconds as deadline misses.
    #[arg(long)]
    deadline: Option<f64>,
    /// Load mode: circuits arrive as a seeded Poisson stream of this many per second and
    /// queue for --slots servers per backend (a discrete-event simulation on the recorded
    /// service times).
    #[arg(long, conflicts_with = "load_trace")]
    load_rate: Option<f64>,
    /// Load mode with arrivals spaced as the trace's timestamps, this many times faster.
    #[arg(long)]
    load_trace: Option<f64>,
    /// Servers per backend in load mode.
    #[arg(long, default_value_t = 1)]
    slots: usize,
    /// Drift mode: from --drift-at on, every recorded time of this backend is --drift-factor
    /// times longer ("auto": the backend the first router strategy spent the most time on).
    #[arg(long)]
    drift_backend: Option<String>,
    /// How much slower the drifted backend becomes.
    #[arg(long, default_value_t = 4.0)]
    drift_factor: f64,
    /// Share of the circuits (trace order) after which the drift starts.
    #[arg(long, default_value_t = 0.5)]
    drift_at: f64,
    /// Circuits in the rolling window of drift recovery.
    #[arg(long, default_value_t = 25)]
    drift_window: usize,
}

pub(crate) fn run(args: &Args, config: &Config, path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let router = qroute::app::router::settings(config, path)?;
    if let Some(d) = args.deadline {
        super::seconds("--deadline", d)?;
    }
    let arrivals = match (args.load_rate, args.load_trace) {
        (Some(rate), _) => Some(Arrivals::Poisson(rate)),
        (None, Some(x)) => Some(Arrivals::Trace(x)),
        (None, None) => None,
    };
    let spec = ExperimentSpec {
        traces: args.traces.clone(),
        models: match &args.model {
            Some(p) => Models::Set(p.clone()),
            None => Models::Train {
                telemetry: args.train.clone(),
                folds: args.folds,
            },
        },
        policies: if args.strategies.is_empty() {
            all_policies()
        } else {
            args.strategies.clone()
        },
        seed: args.seed,
        deadline_s: args.deadline,
        load: arrivals.map(|arrivals| LoadSpec {
            arrivals,
            slots: args.slots,
        }),
        drift: args.drift_backend.as_ref().map(|b| DriftRequest {
            backend: (b != "auto").then(|| b.clone()),
            factor: args.drift_factor,
            at: args.drift_at,
            window: args.drift_window,
        }),
        out: args.out.clone(),
        force: args.force,
        // As a user would type it, whatever path the binary was started from.
        command: std::iter::once("qroute".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .context("progress template")?,
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let x = qroute::app::experiment::run(&spec, router, |m| bar.set_message(m.to_string()))?;
    bar.finish_and_clear();
    for (f, why) in &x.bad_files {
        eprintln!("error: {}: {why} (skipped)", f.display());
    }
    if let Some(why) = &x.no_figures {
        eprintln!("warning: no figures: {why}");
    }
    let r = &x.replay;
    outln!(
        "{} circuits replayed ({} left out: no backend finished them) -> {}",
        r.circuits.len(),
        r.unscorable,
        args.out.display()
    );
    let mut order: Vec<&qroute::replay::PolicyResult> = r.results.iter().collect();
    order.sort_by(|a, b| a.regret.total_cmp(&b.regret));
    for p in order {
        outln!(
            "  {:<14} regret {:>7.3}  best backend {:>5.1}%  slowdown p95 {:>8.2}",
            p.policy,
            p.regret,
            100.0 * p.best_share,
            p.slowdown_p95
        );
    }
    Ok(super::code(x.bad_files.is_empty()))
}
