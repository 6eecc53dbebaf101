//! `qroute replay`: reads traces, runs the library's replay, writes the experiment folder.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use qroute::model::ModelSet;
use qroute::model::artifact::Hyperparameters;
use qroute::replay::sim::{Arrivals, DriftSpec, LoadSpec, default_drift_backend, drift, load};
use qroute::replay::{
    ModelSource, Policy, ReplaySpec, all_policies, prepare, replay_prepared, write_drift_report,
    write_load_report, write_report, write_results,
};
use qroute::telemetry::read_dir;
use serde::Serialize;

/// Arguments of `qroute replay`.
#[derive(Args, Debug)]
pub(crate) struct ReplayArgs {
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
    strategies: Vec<String>,
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

#[derive(Serialize)]
struct ConfigFile<'a> {
    command: String,
    qroute_version: &'static str,
    traces: Vec<String>,
    train: Vec<String>,
    model: Option<String>,
    strategies: Vec<String>,
    seed: u64,
    folds: usize,
    deadline_s: Option<f64>,
    rows: u64,
    circuits: usize,
    model_versions: &'a [String],
    load: Option<LoadSpec>,
    drift: Option<DriftSpec>,
}

/// `qroute replay`.
pub(crate) fn replay_cmd(
    args: &ReplayArgs,
    router: qroute::route::RouterConfig,
) -> anyhow::Result<ExitCode> {
    let policies: Vec<Policy> = if args.strategies.is_empty() {
        all_policies()
    } else {
        args.strategies
            .iter()
            .map(|s| s.parse::<Policy>().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?
    };
    if args.out.join("report.md").exists() && !args.force {
        bail!(
            "{} already holds a replay (report.md); choose another --out or pass --force",
            args.out.display()
        );
    }
    if let Some(d) = args.deadline
        && !(d.is_finite() && d > 0.0)
    {
        bail!("--deadline must be a positive number of seconds, got {d}");
    }
    let mut bad = 0;
    let mut read = |dirs: &[PathBuf]| -> anyhow::Result<Vec<qroute::telemetry::ExecutionRecord>> {
        let mut rows = Vec::new();
        for d in dirs {
            let r =
                read_dir(d).with_context(|| format!("cannot read telemetry {}", d.display()))?;
            for (f, why) in &r.bad_files {
                eprintln!("error: {}: {why} (skipped)", f.display());
                bad += 1;
            }
            rows.extend(r.records);
        }
        Ok(rows)
    };
    let traces = read(&args.traces)?;
    let models = match &args.model {
        Some(p) => ModelSource::Model(Box::new(
            ModelSet::load(p)
                .with_context(|| format!("cannot load the model set {}", p.display()))?,
        )),
        None => ModelSource::Train {
            records: read(&args.train)?,
            hyper: Hyperparameters {
                seed: args.seed,
                ..Hyperparameters::default()
            },
            folds: args.folds,
        },
    };
    let spec = ReplaySpec {
        traces,
        models,
        policies: policies.clone(),
        router,
        seed: args.seed,
        deadline_ms: args.deadline.map(|d| d * 1e3),
    };
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar.set_message(if args.model.is_some() {
        "replaying".to_string()
    } else {
        format!("training {} fold(s) and replaying", args.folds)
    });
    let prep = prepare(&spec, |m| bar.set_message(m.to_string()))?;
    bar.set_message("replaying");
    let r = replay_prepared(&spec, &prep)?;
    let load_spec = match (args.load_rate, args.load_trace) {
        (Some(rate), _) => Some(LoadSpec {
            arrivals: Arrivals::Poisson(rate),
            slots: args.slots,
        }),
        (None, Some(x)) => Some(LoadSpec {
            arrivals: Arrivals::Trace(x),
            slots: args.slots,
        }),
        (None, None) => None,
    };
    let loaded = match &load_spec {
        Some(l) => {
            bar.set_message("simulating load");
            Some(load(&spec, &prep, l)?)
        }
        None => None,
    };
    let drift_spec = match &args.drift_backend {
        Some(b) => Some(DriftSpec {
            backend: if b == "auto" {
                default_drift_backend(&r, args.drift_at)
                    .context("no backend to drift: the replay chose none")?
            } else {
                b.clone()
            },
            factor: args.drift_factor,
            at: args.drift_at,
            window: args.drift_window,
        }),
        None => None,
    };
    let drifted = match &drift_spec {
        Some(d) => {
            bar.set_message(format!("drifting {}", d.backend));
            Some(drift(&spec, &prep, d)?)
        }
        None => None,
    };
    bar.finish_and_clear();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    // As a user would type it, whatever path the binary was started from.
    let command = std::iter::once("qroute".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let config = ConfigFile {
        command: command.clone(),
        qroute_version: env!("CARGO_PKG_VERSION"),
        traces: args
            .traces
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        train: args.train.iter().map(|p| p.display().to_string()).collect(),
        model: args.model.as_ref().map(|p| p.display().to_string()),
        strategies: policies.iter().map(|p| p.to_string()).collect(),
        seed: args.seed,
        folds: args.folds,
        deadline_s: args.deadline,
        rows: r.rows,
        circuits: r.circuits.len(),
        model_versions: &r.model_versions,
        load: load_spec,
        drift: drift_spec.clone(),
    };
    let write = |name: &str, text: String| -> anyhow::Result<()> {
        let p = args.out.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    write(
        "config.toml",
        toml::to_string(&config).context("config.toml")?,
    )?;
    let results = args.out.join("results.parquet");
    write_results(&r, &results).with_context(|| format!("cannot write {}", results.display()))?;
    let mut report = write_report(&r, &command);
    if let (Some(l), Some(res)) = (&load_spec, &loaded) {
        report.push_str(&write_load_report(l, res));
        write(
            "load.json",
            serde_json::to_string_pretty(res).context("load.json")?,
        )?;
    }
    if let (Some(d), Some(res)) = (&drift_spec, &drifted) {
        report.push_str(&write_drift_report(d, res));
        write(
            "drift.json",
            serde_json::to_string_pretty(res).context("drift.json")?,
        )?;
    }
    #[cfg(feature = "plots")]
    match qroute::replay::plot::write_plots(
        &args.out,
        &r,
        loaded.as_deref(),
        drift_spec.as_ref().zip(drifted.as_deref()),
    ) {
        Ok(names) => report.push_str(&qroute::replay::plot::figures_markdown(&names)),
        Err(e) => {
            eprintln!("warning: no figures: {e}");
            report.push_str(&format!("\n(No figures: {e}.)\n"));
        }
    }
    write("report.md", report)?;
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
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
