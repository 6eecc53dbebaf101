//! Text of what the commands return: tables and summaries a terminal shows. Every number is
//! measured unless its label says predicted.

use std::path::Path;
use std::time::Duration;

use super::route::Routed;
use crate::display::{Align, human_ms, table};
use crate::exec::JobReport;
use crate::exec::collect::CollectSummary;
use crate::exec::plan::Executed;
use crate::plan::Plan;

/// A circuit's file name without its directories.
pub fn short(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map_or(name.to_string(), |n| n.to_string_lossy().into_owned())
}

/// The most frequent outcome and its share of the shots (`-` without shots); a bitstring
/// over 16 bits is shown by its ends.
pub fn top_outcome(counts: &std::collections::BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum();
    // The first of the most frequent, in bitstring order: the same answer on every run.
    let Some((bits, n)) = counts
        .iter()
        .fold(None::<(&String, u64)>, |best, (k, &v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((k, v)),
        })
    else {
        return "-".into();
    };
    let shown = if bits.len() > 16 {
        format!("{}…{}", &bits[..6], &bits[bits.len() - 6..])
    } else {
        bits.clone()
    };
    let pct = 100.0 * n as f64 / total.max(1) as f64;
    match pct >= 1.0 {
        true => format!("{shown} {pct:.0}%"),
        false => format!("{shown} {pct:.1}%"),
    }
}

/// Per job: backends tried, where the last ran, predicted and actual time, cost, the top
/// outcome, status.
pub fn run_table(reports: &[JobReport]) -> String {
    let mut rows = vec![vec![
        "circuit".to_string(),
        "backend".into(),
        "where".into(),
        "predicted".into(),
        "actual".into(),
        "cost".into(),
        "top outcome".into(),
        "status".into(),
    ]];
    for r in reports {
        let tried: Vec<&str> = r.attempts.iter().map(|a| a.backend.as_str()).collect();
        let last = r.attempts.last();
        rows.push(vec![
            short(&r.name),
            if tried.is_empty() {
                "-".into()
            } else {
                tried.join(" → ")
            },
            last.map_or("-".into(), |a| {
                if a.isolated { "process" } else { "in-process" }.to_string()
            }),
            last.map_or("-".into(), |a| human_ms(a.predicted_ms)),
            last.and_then(|a| a.wall_ms).map_or("-".into(), human_ms),
            last.and_then(|a| a.cost)
                .map_or("-".into(), |c| format!("{c:.2e}")),
            r.outcome
                .as_ref()
                .map_or("-".into(), |o| top_outcome(&o.counts)),
            match (r.success(), &r.error) {
                (Some(_), _) if r.attempts.len() > 1 => "ok after fallback".into(),
                (Some(_), _) => "ok".into(),
                (None, Some(e)) => format!("failed: {e}"),
                (None, None) => "failed".into(),
            },
        ]);
    }
    table(&rows, Align::FirstLeft)
}

/// A batch in a few lines: measured time and cost against the prediction, the baseline
/// backend as the model predicts it, the overhead by place, fallbacks.
pub fn run_summary(reports: &[JobReport], elapsed: Duration) -> String {
    let ok: Vec<_> = reports.iter().filter_map(|r| r.success()).collect();
    let actual: f64 = ok.iter().filter_map(|a| a.wall_ms).sum();
    let predicted: f64 = ok.iter().map(|a| a.predicted_ms).sum();
    let cost: f64 = reports
        .iter()
        .flat_map(|r| &r.attempts)
        .filter_map(|a| a.cost)
        .sum();
    let mut s = format!(
        "{} of {} circuit(s) ran in {}: simulation time {} actual, {} predicted; cost {:.3e}\n",
        ok.len(),
        reports.len(),
        human_ms(elapsed.as_secs_f64() * 1e3),
        human_ms(actual),
        human_ms(predicted),
        cost
    );
    // The same circuits on the baseline (what a user of prism-q alone gets), as the model
    // predicts it: a prediction, labelled so, over the circuits the baseline can take.
    let both: Vec<(f64, f64)> = reports
        .iter()
        .filter_map(|r| Some((r.success()?.wall_ms?, r.baseline_ms?)))
        .collect();
    let refused = ok.len() - both.len();
    if !both.is_empty() {
        let (a, b): (f64, f64) = both
            .iter()
            .fold((0.0, 0.0), |(x, y), (a, b)| (x + a, y + b));
        let base = super::BASELINE;
        s.push_str(&format!(
            "{base} (baseline): predicted {} on the {} circuit(s) it can take; routed, they \
             took {} measured: {} than {base} as predicted{}\n",
            human_ms(b),
            both.len(),
            human_ms(a),
            speedup(a, b),
            if refused > 0 {
                format!("; {base} cannot take the other {refused}")
            } else {
                String::new()
            },
        ));
    }
    for (isolated, label) in [(false, "in-process"), (true, "executor process")] {
        let v: Vec<f64> = ok
            .iter()
            .filter(|a| a.isolated == isolated)
            .map(|a| a.overhead_ms)
            .collect();
        if !v.is_empty() {
            s.push_str(&format!(
                "{label}: {} job(s), mean overhead beyond the simulation {}\n",
                v.len(),
                human_ms(v.iter().sum::<f64>() / v.len() as f64)
            ));
        }
    }
    let fallbacks = reports.iter().filter(|r| r.attempts.len() > 1).count();
    if fallbacks > 0 {
        s.push_str(&format!(
            "{fallbacks} circuit(s) needed a fallback backend\n"
        ));
    }
    s
}

/// A plan: its assignments, what could not be placed, its totals and why; with the executed
/// run, actual against predicted.
pub fn plan(p: &Plan, executed: Option<&Executed>) -> String {
    use std::fmt::Write as _;
    let mut rows = vec![vec![
        "circuit".to_string(),
        "backend".into(),
        "slot".into(),
        "start".into(),
        "predicted".into(),
        "cost".into(),
    ]];
    for a in &p.assignments {
        rows.push(vec![
            short(&a.name),
            a.backend.clone(),
            a.slot.to_string(),
            human_ms(a.start_ms),
            human_ms(a.duration_ms),
            format!("{:.2e}", a.cost),
        ]);
    }
    let mut s = table(&rows, Align::FirstLeft);
    for (_, name, why) in &p.unplaceable {
        let reasons: Vec<String> = why.iter().map(|i| i.to_string()).collect();
        let _ = writeln!(
            s,
            "{}: no slot backend can run it: {}",
            short(name),
            reasons.join("; ")
        );
    }
    let _ = writeln!(
        s,
        "\n{} plan: makespan {} predicted, cost {:.3e}{}{}",
        p.objective,
        human_ms(p.makespan_ms),
        p.cost,
        if p.meets_deadline {
            ""
        } else {
            "; misses the deadline"
        },
        if p.within_budget {
            ""
        } else {
            "; over the budget"
        }
    );
    for w in &p.why {
        let _ = writeln!(s, "- {w}");
    }
    if let Some(x) = executed {
        let _ = writeln!(
            s,
            "executed: makespan {} actual against {} predicted; cost {:.3e} actual against \
             {:.3e} predicted; {} job(s) rebalanced, {} failed",
            human_ms(x.actual_makespan_ms),
            human_ms(x.predicted_makespan_ms),
            x.actual_cost,
            x.predicted_cost,
            x.rebalanced,
            x.failed
        );
    }
    s
}

/// A collection sweep in one line.
pub fn collect_summary(summary: &CollectSummary, out: &Path) -> String {
    format!(
        "recorded {} attempt(s) in {}: {} ok, {} failed, {} timeout, {} ineligible; {} not \
         repeated after a timeout or refusal; {}{} already there; {} duplicate circuit file(s) \
         skipped{}",
        summary.ok + summary.failed + summary.timeout + summary.ineligible,
        out.display(),
        summary.ok,
        summary.failed,
        summary.timeout,
        summary.ineligible,
        summary.skipped,
        match summary.skipped_long {
            0 => String::new(),
            n => format!("{n} not repeated past --repeat-long after a run of 1 s or more; "),
        },
        summary.done_before,
        summary.duplicates,
        if summary.interrupted > 0 {
            format!(
                "; interrupted with {} left (rerun to resume)",
                summary.interrupted
            )
        } else {
            String::new()
        }
    )
}

/// The Redis queue's state: per backend, per worker, dead letters and counters.
#[cfg(feature = "redis")]
pub fn queue_status(s: &crate::queue::QueueStatus) -> String {
    use std::fmt::Write as _;
    let mut rows = vec![vec![
        "backend".to_string(),
        "backlog".into(),
        "pending".into(),
        "workers".into(),
        "capacity".into(),
        "service".into(),
    ]];
    for b in &s.backends {
        rows.push(vec![
            b.backend.clone(),
            b.load.backlog.to_string(),
            b.load.pending.to_string(),
            b.workers.to_string(),
            b.load.capacity.to_string(),
            b.load.service_ms.map_or("-".into(), human_ms),
        ]);
    }
    let mut out = table(&rows, Align::FirstLeft);
    out.push('\n');
    for w in &s.workers {
        let _ = writeln!(
            out,
            "worker {} on {}: {} ({} at once), {} executed, last heartbeat {} ms ago",
            w.name,
            w.host,
            w.backends.join(","),
            w.concurrency,
            w.executed,
            w.beat_age_ms
        );
    }
    let counters: Vec<String> = s.counters.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        out,
        "dead letters: {}; counters: {}",
        s.dead_letters,
        if counters.is_empty() {
            "none yet".into()
        } else {
            counters.join(", ")
        }
    );
    out
}

/// `qroute route`'s text: the table, then the model set and strategy that decided.
pub fn routed(r: &super::route::RoutedFiles) -> String {
    format!(
        "{}\nmodel set {}, strategy {}\n",
        route_table(&r.routed),
        r.model_version,
        r.strategy
    )
}

/// Recommendations as a table (circuit, backend, predicted time and its 90% interval, cost,
/// confidence), then one reason per circuit. Refused circuits are left out.
pub fn route_table(routed: &[Routed]) -> String {
    use std::fmt::Write as _;
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
    let mut reasons = String::new();
    for r in routed {
        let Ok(rec) = &r.result else { continue };
        let e = &rec.chosen;
        rows.push(vec![
            short(&r.name),
            rec.backend.clone(),
            human_ms(e.latency_ms),
            format!("{}–{}", human_ms(e.low_ms), human_ms(e.high_ms)),
            format!("{:.2e}", e.cost),
            format!("{:.2}", rec.confidence),
        ]);
        let _ = writeln!(reasons, "{}: {}", short(&r.name), rec.reason);
    }
    format!("{}\n{reasons}", table(&rows, Align::FirstLeft))
}

/// `qroute telemetry summary` of `records`: per backend statuses and times, then how far the
/// repeated runs agree with each other (the ceiling any model is scored under).
pub fn telemetry_summary(records: &[crate::telemetry::ExecutionRecord]) -> String {
    let summary = crate::telemetry::summary::summarize(records);
    let mut s = crate::telemetry::summary::render(&summary);
    let floor = crate::model::artifact::Hyperparameters::default().min_fidelity;
    let repeat = match crate::train::noise::of_records(records, floor, 0) {
        Ok(Some(r)) => r.to_string(),
        Ok(None) => "repeatability: no circuit ran at least twice on every backend that \
                     succeeded (collect with --repeat 2 or more)"
            .to_string(),
        Err(e) => format!("repeatability: {e}"),
    };
    s.push_str(&repeat);
    s.push('\n');
    s
}

/// A compaction: what was merged, and the space it saved.
pub fn compacted(r: &crate::telemetry::compact::CompactReport) -> String {
    use crate::display::human_bytes;
    let mut s = format!(
        "compacted {} file(s) with {} row(s) into {} file(s) in {} partition(s): {} -> {}",
        r.merged_files,
        r.rows,
        r.written.len(),
        r.partitions,
        human_bytes(r.bytes_before as f64),
        human_bytes(r.bytes_after as f64),
    );
    if r.leftovers_removed > 0 {
        s += &format!(
            "\n{} file(s) already merged by an interrupted compaction removed",
            r.leftovers_removed
        );
    }
    s
}

/// What `qroute telemetry upgrade` did.
pub fn upgraded(r: &super::upgrade::Upgraded) -> String {
    format!(
        "{} row(s) written to {} ({} with features recomputed from {} circuit file(s){}; \
         feature schema v{})\n",
        r.rows,
        r.out.display(),
        r.recomputed,
        r.circuit_files,
        match r.bad_circuits.len() {
            0 => String::new(),
            n => format!(", {n} of which did not parse, e.g. {}", r.bad_circuits[0]),
        },
        crate::features::FEATURE_SCHEMA.version
    )
}

/// A sweep and its compaction; a failed compaction is the caller's warning to show.
pub fn collected(c: &super::collect::Collected, out: &Path) -> String {
    let mut s = collect_summary(&c.summary, out);
    if let Ok(r) = &c.compaction
        && r.merged_files > 0
    {
        s += &format!("\n{}", compacted(r));
    }
    s
}

/// A batch run: its table, its summary, and where its telemetry went.
pub fn ran(r: &super::batch::Ran) -> String {
    let reports = &r.batch.reports;
    let written = if r.queued {
        "recorded by the workers".to_string()
    } else {
        format!("{} row(s) in {}", r.rows, r.telemetry.display())
    };
    format!(
        "{}\n{}{}telemetry: {written} (model set {})",
        run_table(reports),
        run_summary(reports, r.elapsed),
        r.baseline
            .as_ref()
            .map(|b| baseline_measured(reports, b))
            .unwrap_or_default(),
        r.model_version
    )
}

/// `a` against `b` as "N× faster" or "N× slower".
fn speedup(a: f64, b: f64) -> String {
    if a <= b {
        format!("{:.1}× faster", b / a.max(1e-9))
    } else {
        format!("{:.1}× slower", a / b.max(1e-9))
    }
}

/// The routed batch against the same batch run on the baseline backend, both measured, over
/// the circuits both ran; those the baseline could not take or did not finish are counted.
pub fn baseline_measured(routed: &[JobReport], base: &super::batch::Baseline) -> String {
    let by_name: std::collections::HashMap<&str, &JobReport> =
        routed.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut both = (0usize, 0.0f64, 0.0f64);
    let (mut refused, mut failed) = (0usize, 0usize);
    for b in &base.batch.reports {
        let Some(r) = by_name.get(b.name.as_str()) else {
            continue;
        };
        match (r.success().and_then(|a| a.wall_ms), b.success()) {
            (Some(a), Some(x)) => {
                both.0 += 1;
                both.1 += a;
                both.2 += x.wall_ms.unwrap_or(0.0);
            }
            _ if b.attempts.is_empty() => refused += 1,
            _ => failed += 1,
        }
    }
    let name = &base.backend;
    let mut s = if both.0 == 0 {
        format!("{name} (baseline, measured): no circuit ran on both")
    } else {
        let (n, a, b) = both;
        format!(
            "{name} (baseline, measured): {} on the {n} circuit(s) both ran; routed, they took \
             {}: {}",
            human_ms(b),
            human_ms(a),
            speedup(a, b)
        )
    };
    if refused > 0 {
        s += &format!("; {name} cannot take {refused}");
    }
    if failed > 0 {
        s += &format!("; {failed} failed on one side");
    }
    s.push('\n');
    s
}

/// A trained model set: where it went and its leave-family-out routing scores.
pub fn trained(t: &super::train::Trained, out: &Path) -> String {
    let sel = &t.set.meta.metrics.cv.selection;
    format!(
        "{} backends trained in {:.1} s -> {} (report: {})\nleave-family-out: regret {:.3}, \
         geo-mean slowdown {:.2}, {} circuit(s) > 10× their best, top-1 {:.1}%, within 10% of \
         best {:.1}% over {} circuits",
        t.set.backends.len(),
        t.elapsed.as_secs_f64(),
        out.display(),
        t.report.display(),
        sel.model.regret,
        sel.model.geo_mean_slowdown,
        sel.model.over_10x,
        100.0 * sel.model.top1,
        100.0 * sel.model.within_10pct,
        sel.circuits
    )
}

/// A replay experiment: the circuits scored and each policy, best first.
pub fn replayed(x: &super::experiment::Experiment, out: &Path) -> String {
    let r = &x.replay;
    let mut s = format!(
        "{} circuits replayed ({} left out: no backend finished them) -> {}",
        r.circuits.len(),
        r.unscorable,
        out.display()
    );
    let mut order: Vec<&crate::replay::PolicyResult> = r.results.iter().collect();
    order.sort_by(|a, b| a.regret.total_cmp(&b.regret));
    for p in order {
        s += &format!(
            "\n  {:<14} regret {:>7.3}  best backend {:>5.1}%  slowdown p95 {:>8.2}",
            p.policy,
            p.regret,
            100.0 * p.best_share,
            p.slowdown_p95
        );
    }
    s
}

/// `qroute eval`: each policy's scores, then the configured strategy's worst losses.
pub fn evaluated(e: &super::eval::Evaluated) -> String {
    use crate::display::human_ms;
    let r = &e.replay;
    let mut s = format!(
        "{} circuit(s) scored ({} left out: no backend finished them), model set {}\n\n\
         {:<18} {:>8} {:>10} {:>7} {:>8} {:>11} {:>5}\n",
        r.circuits.len(),
        r.unscorable,
        r.model_versions.join(", "),
        "policy",
        "regret",
        "geo-mean",
        "> 2×",
        "> 10×",
        "within 10%",
        "lost"
    );
    for p in &r.results {
        s += &format!(
            "{:<18} {:>8.3} {:>10.2} {:>7} {:>8} {:>10.1}% {:>5}\n",
            p.policy,
            p.regret,
            p.slowdown_geo_mean,
            p.over_2x,
            p.over_10x,
            100.0 * p.within_10pct,
            p.lost
        );
    }
    if e.worst.is_empty() {
        return s;
    }
    s += &format!(
        "\nworst losses of {}:\n{:<36} {:<16} {:>10} {:>10} {:<16} {:>10}\n",
        e.strategy, "circuit", "chosen", "predicted", "took", "best", "its time"
    );
    for &i in &e.worst {
        let c = &r.choices[i];
        let circ = &r.circuits[c.circuit];
        s += &format!(
            "{:<36} {:<16} {:>10} {:>10} {:<16} {:>10}\n",
            short(&circ.name),
            format!("{}{}", c.backend, if c.lost { " (lost)" } else { "" }),
            c.predicted_ms.map_or("-".into(), human_ms),
            human_ms(c.time_ms),
            circ.oracle_backend,
            human_ms(circ.oracle_ms)
        );
    }
    s
}

/// What a Redis worker says when it starts.
#[cfg(feature = "redis")]
pub fn worker_started(o: &crate::queue::WorkerOptions, url: &str) -> String {
    format!(
        "qroute worker {} serving {} on {url} ({} at once); Ctrl-C or SIGTERM stops after the \
         running jobs",
        o.name,
        o.backends.join(", "),
        o.concurrency
    )
}

/// What a Redis worker did, when it stops.
#[cfg(feature = "redis")]
pub fn worker_stopped(done: &super::worker::Stopped) -> String {
    let s = &done.stats;
    format!(
        "stopped: {} executed, {} results written ({} failed runs), {} duplicates, {} \
         reclaimed, {} dead-lettered; telemetry: {} row(s) in {}",
        s.executed,
        s.completed,
        s.failed,
        s.duplicates,
        s.reclaimed,
        s.dead,
        done.rows,
        done.telemetry.display()
    )
}
