//! `report.md` beside a model set: its held-out evaluation, readable on its own.

use std::fmt::Write;

use super::eval::{Evaluation, RuleScore};
use super::noise::Repeatability;
use crate::display::human_ms;
use crate::model::artifact::ModeCriterion;
use crate::model::{LatencyMode, ModelSet};

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn num(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.3}"))
}

fn rule_row(out: &mut String, r: &RuleScore) {
    let _ = writeln!(
        out,
        "| {} | {:.3} | {:.2} | {} | {} | {:.1}% | {:.1}% |",
        r.name,
        r.regret,
        r.geo_mean_slowdown,
        r.over_2x,
        r.over_10x,
        100.0 * r.top1,
        100.0 * r.within_10pct
    );
}

fn repeatability(out: &mut String, r: &Repeatability) {
    let _ = writeln!(
        out,
        "\nHow far the measurements agree with themselves ({} circuits whose every successful \
         backend ran at least twice; no model involved). One run's ln time scatters around the \
         true value with σ = {:.2} (a typical run {:.0}% off). Choosing by one run and scoring \
         on the other, and a perfect model of each pair's mean time scored against runs \
         re-drawn with that noise (median APE {:.0}%; the taken means are noisy too, so this \
         ceiling is if anything high), bound what any model can score here:\n\n\
         | reference | regret | geo-mean slowdown | > 2× best | > 10× best | top-1 | within 10% of best |\n|---|---:|---:|---:|---:|---:|---:|",
        r.circuits,
        r.sigma_ln,
        100.0 * r.typical_run_error(),
        100.0 * r.true_means_median_ape
    );
    rule_row(out, &r.run_vs_run);
    rule_row(out, &r.true_means);
    let apes = r
        .median_ape
        .iter()
        .map(|(b, a)| format!("{b} {:.0}%", 100.0 * a))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        out,
        "\nMedian APE of one run's time as a prediction of the other's: {apes}."
    );
}

/// Each backend's calibrated law, fitted on every training family.
fn calibrations(out: &mut String, set: &ModelSet) {
    let _ = writeln!(
        out,
        "## Calibrated laws\n\nPer backend, ln ms = ln floor + slope · softplus(ln work − ln \
         knee) in the work estimate that fitted best (docs/models.md); used where the mode is \
         `calibrated` or `calibrated_residual`.\n\n| backend | mode | work term | knee (log2 \
         work) | floor | slope |\n|---|---|---|---:|---:|---:|"
    );
    for b in &set.backends {
        let c = &b.calibration;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {} | {:.3} |",
            b.name,
            b.mode.as_str(),
            c.term_name(),
            c.knee / std::f64::consts::LN_2,
            human_ms(c.intercept.exp()),
            c.slope
        );
    }
    let _ = writeln!(out);
}

fn evaluation(out: &mut String, e: &Evaluation) {
    let _ = writeln!(
        out,
        "{} circuits from {} families.\n\n### Latency, per backend\n\n\
         | backend | mode | measured | censored | median APE | p90 APE | R² (ln) | Spearman | risk Brier (base) | median APE forest / linear / residual / calibrated / calibrated_residual |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---|",
        e.circuits, e.families
    );
    for b in &e.backends {
        let modes = LatencyMode::ALL
            .iter()
            .map(|m| pct(b.mode_median_ape.get(m.as_str()).copied()))
            .collect::<Vec<_>>()
            .join(" / ");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} |",
            b.backend,
            b.mode.as_str(),
            b.observations,
            b.censored,
            pct(b.median_ape),
            pct(b.p90_ape),
            num(b.r2_log),
            num(b.spearman),
            num(b.risk_brier),
            num(b.risk_brier_base),
            modes
        );
    }
    let s = &e.selection;
    let _ = writeln!(
        out,
        "\n### Routing, per circuit\n\n{} circuits scored ({} without any successful backend \
         are not).\n\n| rule | regret | geo-mean slowdown | > 2× best | > 10× best | top-1 | within 10% of best |\n|---|---:|---:|---:|---:|---:|---:|",
        s.circuits, s.unscorable
    );
    let mut rows = vec![&s.model];
    rows.extend(s.baselines.iter());
    for r in rows {
        rule_row(out, r);
    }
    if let Some(r) = &e.repeatability {
        repeatability(out, r);
    }
    if s.largest_losses.is_empty() {
        return;
    }
    let top: f64 = s.largest_losses.iter().map(|l| l.took_ms - l.best_ms).sum();
    let _ = writeln!(
        out,
        "\nWhere the models' choices lost the most time against the best backend: {} lost in \
         all, {:.0}% of it on these {} circuits. A lost run (failed, timed out or below the \
         fidelity floor) took the time lost plus the best backend's.\n\n| circuit | chosen | \
         outcome | took | best backend | its time |\n|---|---|---|---:|---|---:|",
        human_ms(s.lost_ms),
        100.0 * top / s.lost_ms.max(f64::MIN_POSITIVE),
        s.largest_losses.len()
    );
    for l in &s.largest_losses {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            l.circuit,
            l.chosen.as_deref().unwrap_or("(none eligible)"),
            if l.lost { "lost" } else { "ok" },
            human_ms(l.took_ms),
            l.best,
            human_ms(l.best_ms)
        );
    }
}

/// The report of a model set.
pub fn render(set: &ModelSet) -> String {
    let meta = &set.meta;
    let h = &meta.hyperparameters;
    let t = &meta.training;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Model set `{}`\n\nTrained {} by qroute {} (model format {}, feature schema {}) from \
         {} telemetry rows ({}), {} circuits in {} families; fingerprint `{}`.\n",
        meta.name,
        meta.created_at,
        meta.qroute_version,
        meta.format_version,
        meta.feature_schema_version,
        t.rows,
        t.telemetry.join(", "),
        t.circuits,
        t.families.len(),
        t.fingerprint
    );
    let _ = writeln!(
        out,
        "Per backend: ln(wall time) by a ridge regression on engineered terms, a random forest \
         ({} trees, depth ≤ {}, leaves ≥ {}, {} features tried per split), the regression \
         plus a forest on its residuals, a calibrated law in one engine's work estimate \
         (floor plus power of the work past a knee, fitted with timeouts as censored \
         observations), or that law plus a forest on its residuals{} — {} (column `mode`); a \
         risk forest ({} trees, depth ≤ {}) on the share of attempts that failed or timed \
         out; cost by regression on core-seconds and shots. Except in the calibrated law, a \
         timed-out attempt is trained as {}× its timeout (its true time is above the \
         timeout); it is left out of the latency errors below.\n",
        h.forest.n_trees,
        h.forest.max_depth,
        h.forest.min_samples_leaf,
        h.forest.features_per_split,
        if h.residual_weight == 1.0 {
            String::new()
        } else {
            format!(" (scaled by {})", h.residual_weight)
        },
        match h.mode_criterion {
            ModeCriterion::MedianApe => "whichever had the lowest held-out median error",
            ModeCriterion::MeanLogError => {
                "whichever had the lowest held-out mean absolute error of ln latency \
                 (a timeout counts only when predicted below it)"
            }
            ModeCriterion::Residual => "the regression plus its residual forest for every backend",
            ModeCriterion::Tail => {
                "whichever had the lowest held-out 90th percentile of the absolute ln error \
                 (a timeout counts only when predicted below it)"
            }
            ModeCriterion::Regret => {
                "chosen, from the lowest held-out 90th percentile of the absolute ln error, \
                 per backend in turn to lower the held-out routing regret of the whole set"
            }
        },
        h.risk_forest.n_trees,
        h.risk_forest.max_depth,
        h.censor_factor
    );
    let _ = writeln!(
        out,
        "Every number below comes from circuits of families the models did not see: \
         {}-fold leave-family-out cross-validation (folds are whole families, seed {}). \
         Routing picks, among the backends that accept a circuit, the least expected \
         time against a {} ms timeout, as the router does: ln latency normal with σ the \
         larger of the forest's spread and the backend's held-out error on the other folds, \
         a run past the timeout or failing (predicted risk) lost, and a lost run costing \
         twice the timeout. A choice that timed out, failed or fell below fidelity {} costs \
         the time lost plus the best backend's time; regret = Σ time of choices / Σ time of \
         the best backend.\n",
        h.folds, h.seed, h.risk_penalty_ms, h.min_fidelity
    );
    if !meta.metrics.unmodelled_backends.is_empty() {
        let _ = writeln!(
            out,
            "Not modelled (fewer than two measured or timed-out circuits in the training families): {}.\n",
            meta.metrics.unmodelled_backends.join(", ")
        );
    }
    calibrations(&mut out, set);
    let _ = writeln!(out, "## Cross-validation (leave family out)\n");
    evaluation(&mut out, &meta.metrics.cv);
    if let Some(hold) = &meta.metrics.holdout {
        let _ = writeln!(
            out,
            "\n## Held-out families ({})\n\nTrained on every other family, evaluated once.\n",
            t.holdout_families.join(", ")
        );
        evaluation(&mut out, hold);
    }
    let _ = writeln!(
        out,
        "\n## Families in training\n\n{}",
        t.families.join(", ")
    );
    out
}
