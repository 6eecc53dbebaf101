//! `qroute train`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use qroute::model::artifact::{Hyperparameters, ModeCriterion};
use qroute::model::train::Step;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Telemetry directories (repeatable).
    #[arg(long, required = true, num_args = 1..)]
    telemetry: Vec<PathBuf>,
    /// Output directory, e.g. models/NAME.
    #[arg(long)]
    out: PathBuf,
    /// Families kept out of training entirely and evaluated once at the end
    /// (comma-separated, as in the telemetry's `family` column).
    #[arg(long, value_delimiter = ',')]
    holdout_families: Vec<String>,
    /// Seed of the folds and the forests.
    #[arg(long, short = 's', default_value_t = 0)]
    seed: u64,
    /// Trees per latency forest.
    #[arg(long, default_value_t = 100)]
    trees: usize,
    /// Depth limit of the latency forests.
    #[arg(long, default_value_t = 10)]
    max_depth: u16,
    /// Features tried per split in the latency forests (of 33).
    #[arg(long, default_value_t = 16)]
    features_per_split: usize,
    /// Fewest circuits in a leaf of the latency forests.
    #[arg(long, default_value_t = 5)]
    min_leaf: usize,
    /// Trees per failure/timeout risk forest.
    #[arg(long, default_value_t = 50)]
    risk_trees: usize,
    /// Share of the residual forest's correction added to the regression in mode
    /// `residual`, in [0, 1] (a learning rate: the forest's leaves are scaled by it).
    #[arg(long, default_value_t = 1.0)]
    residual_weight: f64,
    /// How each backend's latency mode is chosen: per backend by the lowest held-out
    /// `median-ape` or `mean-log-error` (timeouts counted one-sided), or `residual` for
    /// every backend. docs/models.md compares them.
    #[arg(long, default_value = "median-ape")]
    mode_criterion: ModeCriterion,
    /// Folds of the leave-family-out cross-validation: at least 2, at most one per
    /// training family (more are cut to that).
    #[arg(long, default_value_t = 5)]
    folds: usize,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut hyper = Hyperparameters {
        seed: args.seed,
        folds: args.folds,
        residual_weight: args.residual_weight,
        mode_criterion: args.mode_criterion,
        ..Default::default()
    };
    hyper.forest.n_trees = args.trees;
    hyper.forest.max_depth = args.max_depth;
    hyper.forest.features_per_split = args.features_per_split;
    hyper.forest.min_samples_leaf = args.min_leaf;
    hyper.risk_forest.n_trees = args.risk_trees;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} fits, ETA {eta}")
            .context("progress template")?
            .progress_chars("=> "),
    );
    bar.set_message("training");
    let t = qroute::app::train::run(
        args.telemetry,
        &args.out,
        args.holdout_families,
        hyper,
        |step| match step {
            Step::Read { rows, bad_files } => bar.suspend(|| {
                for (f, why) in bad_files {
                    eprintln!("error: {}: {why} (skipped)", f.display());
                }
                eprintln!("{rows} telemetry rows read");
            }),
            Step::Planned(n) => bar.set_length(*n as u64),
            Step::Fitted => bar.inc(1),
        },
    )?;
    bar.finish_and_clear();
    let sel = &t.set.meta.metrics.cv.selection;
    outln!(
        "{} backends trained in {:.1} s -> {} (report: {})",
        t.set.backends.len(),
        t.elapsed.as_secs_f64(),
        args.out.display(),
        t.report.display()
    );
    outln!(
        "leave-family-out: regret {:.3}, top-1 {:.1}%, within 10% of best {:.1}% over {} circuits",
        sel.model.regret,
        100.0 * sel.model.top1,
        100.0 * sel.model.within_10pct,
        sel.circuits
    );
    Ok(super::code(t.bad_files.is_empty()))
}
