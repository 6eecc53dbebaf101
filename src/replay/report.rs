//! A replay's output files: `results.parquet` (one row per circuit and policy) and
//! `report.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;

use super::Replay;
use crate::display::human_ms;

/// Version of the `results.parquet` columns (key `qroute.replay_version`).
pub const RESULTS_VERSION: u32 = 1;

/// Writes `results.parquet`: circuit_id, circuit_name, family, fold, policy, backend,
/// time_ms, oracle_ms, cost, lost, predicted_ms.
pub fn write_results(replay: &Replay, path: &Path) -> std::io::Result<()> {
    let c = |i: usize| &replay.circuits[replay.choices[i].circuit];
    let n = replay.choices.len();
    let strings = |f: &dyn Fn(usize) -> String| -> ArrayRef {
        Arc::new(StringArray::from((0..n).map(f).collect::<Vec<_>>()))
    };
    let columns: Vec<ArrayRef> = vec![
        strings(&|i| c(i).id.clone()),
        strings(&|i| c(i).name.clone()),
        strings(&|i| c(i).family.clone()),
        Arc::new(UInt32Array::from(
            (0..n).map(|i| c(i).fold as u32).collect::<Vec<_>>(),
        )),
        strings(&|i| replay.results[replay.choices[i].policy].policy.clone()),
        strings(&|i| replay.choices[i].backend.clone()),
        Arc::new(Float64Array::from(
            replay.choices.iter().map(|x| x.time_ms).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            (0..n).map(|i| c(i).oracle_ms).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            replay.choices.iter().map(|x| x.cost).collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            replay.choices.iter().map(|x| x.lost).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            replay
                .choices
                .iter()
                .map(|x| x.predicted_ms)
                .collect::<Vec<_>>(),
        )),
    ];
    let schema = Arc::new(Schema::new(vec![
        Field::new("circuit_id", DataType::Utf8, false),
        Field::new("circuit_name", DataType::Utf8, false),
        Field::new("family", DataType::Utf8, false),
        Field::new("fold", DataType::UInt32, false),
        Field::new("policy", DataType::Utf8, false),
        Field::new("backend", DataType::Utf8, false),
        Field::new("time_ms", DataType::Float64, false),
        Field::new("oracle_ms", DataType::Float64, false),
        Field::new("cost", DataType::Float64, false),
        Field::new("lost", DataType::Boolean, false),
        Field::new("predicted_ms", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(std::io::Error::other)?;
    let props = crate::telemetry::writer::parquet_properties(
        65_536,
        vec![KeyValue::new(
            "qroute.replay_version".to_string(),
            RESULTS_VERSION.to_string(),
        )],
    );
    let file = std::fs::File::create(path)?;
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(std::io::Error::other)?;
    w.write(&batch).map_err(std::io::Error::other)?;
    w.close().map_err(std::io::Error::other)?;
    Ok(())
}

/// Renders `report.md`; `command` is the command line that made it.
pub fn write_report(replay: &Replay, command: &str) -> String {
    let mut s = String::new();
    let hedge = &replay.hedge;
    let families: std::collections::BTreeSet<&str> =
        replay.circuits.iter().map(|c| c.family.as_str()).collect();
    let _ = writeln!(s, "# Replay report\n");
    let _ = writeln!(
        s,
        "Made by `{command}`.\n\n{} telemetry rows; {} circuits of {} families scored ({} left \
         out: no backend finished them); backends: {}. Routing models: {}.\n",
        replay.rows,
        replay.circuits.len(),
        families.len(),
        replay.unscorable,
        replay.backends.join(", "),
        replay.model_versions.join(", ")
    );
    let _ = writeln!(
        s,
        "Each policy's choice is scored with what that backend recorded for the circuit (median \
         successful wall time and cost); a choice that timed out, failed or fell below the \
         fidelity floor costs the time it lost plus a retry on the fastest backend. Regret = \
         total time / the oracle's. The models never saw the families they route. A \
         `+hedge` policy gives a run up at its cutoff ({}× the top of its 90% interval, at least \
         {} ms) for the next-best backend of another family, at most {} time(s) per circuit: \
         the time until the cutoff is lost and the alternative's recorded time added \
         (docs/replay.md).\n",
        hedge.factor, hedge.floor_ms, hedge.max
    );
    let mut order: Vec<usize> = (0..replay.results.len()).collect();
    order.sort_by(|&a, &b| {
        replay.results[a]
            .regret
            .total_cmp(&replay.results[b].regret)
    });
    let _ = writeln!(s, "## Policies\n");
    let _ = writeln!(
        s,
        "| policy | total time | regret | to the best backend | cost | slowdown p50 / p95 / p99 | lost | hedged | deadline misses |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---|---:|---:|---:|");
    for &i in &order {
        let r = &replay.results[i];
        let _ = writeln!(
            s,
            "| {} | {} | {:.3} | {:.1}% | {:.3e} | {:.2} / {:.2} / {:.2} | {} | {} | {} |",
            r.policy,
            human_ms(r.total_ms),
            r.regret,
            100.0 * r.best_share,
            r.total_cost,
            r.slowdown_p50,
            r.slowdown_p95,
            r.slowdown_p99,
            r.lost,
            r.hedged,
            r.deadline_misses
        );
    }
    let _ = writeln!(s, "\n## Regret per family\n");
    let _ = write!(s, "| family |");
    for &i in &order {
        let _ = write!(s, " {} |", replay.results[i].policy);
    }
    let _ = write!(s, "\n|---|");
    for _ in &order {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s);
    for f in &families {
        let _ = write!(s, "| {f} |");
        for &i in &order {
            let (t, o) = replay.results[i]
                .per_family
                .get(*f)
                .copied()
                .unwrap_or((0.0, 0.0));
            let _ = write!(s, " {:.2} |", t / o.max(1e-9));
        }
        let _ = writeln!(s);
    }
    // Predicted against recorded, per backend, for what the routers chose.
    let mut err: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for c in &replay.choices {
        if let (Some(p), false) = (c.predicted_ms, c.lost) {
            err.entry(c.backend.as_str())
                .or_default()
                .push((p - c.time_ms).abs() / c.time_ms.max(1e-9));
        }
    }
    if !err.is_empty() {
        let _ = writeln!(
            s,
            "\n## Predicted against recorded time of the routers' choices\n"
        );
        let _ = writeln!(s, "| backend | choices | median APE | p90 APE |");
        let _ = writeln!(s, "|---|---:|---:|---:|");
        for (b, mut v) in err {
            v.sort_by(f64::total_cmp);
            let _ = writeln!(
                s,
                "| {b} | {} | {:.0}% | {:.0}% |",
                v.len(),
                100.0 * super::percentile(&v, 0.5),
                100.0 * super::percentile(&v, 0.9)
            );
        }
    }
    s
}

/// Renders the load-mode section of `report.md`.
pub fn write_load_report(
    spec: &super::sim::LoadSpec,
    results: &[super::sim::LoadResult],
) -> String {
    let mut s = String::new();
    let arrivals = match spec.arrivals {
        super::sim::Arrivals::Poisson(r) => format!("a Poisson stream of {r} circuits/s"),
        super::sim::Arrivals::Trace(x) => format!("the trace's own spacing, {x}× faster"),
    };
    let _ = writeln!(
        s,
        "\n## Under load\n\nCircuits arrive as {arrivals}; every backend has {} slot(s) and a \
         FIFO queue; service times are the recorded ones (a lost attempt holds its backend for \
         the time it lost, then the circuit queues on the fastest backend). Completion = \
         arrival to result. Adaptive sees the work in flight; the others do not.\n",
        spec.slots
    );
    let _ = writeln!(
        s,
        "| policy | mean completion | p95 completion | mean wait | makespan | busiest backends (utilisation) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---|");
    let mut order: Vec<&super::sim::LoadResult> = results.iter().collect();
    order.sort_by(|a, b| a.mean_completion_ms.total_cmp(&b.mean_completion_ms));
    for r in order {
        let mut u: Vec<(&String, &f64)> = r.utilisation.iter().filter(|(_, u)| **u > 0.0).collect();
        u.sort_by(|a, b| b.1.total_cmp(a.1));
        let busiest: Vec<String> = u
            .iter()
            .take(3)
            .map(|(b, x)| format!("{b} {:.0}%", 100.0 * **x))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r.policy,
            human_ms(r.mean_completion_ms),
            human_ms(r.p95_completion_ms),
            human_ms(r.mean_wait_ms),
            human_ms(r.makespan_ms),
            busiest.join(", ")
        );
    }
    s
}

/// Renders the drift-mode section of `report.md`.
pub fn write_drift_report(
    spec: &super::sim::DriftSpec,
    results: &[super::sim::DriftResult],
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n## Drift\n\nFrom {:.0}% of the circuits on (trace order), every recorded time of \
         `{}` is {}× longer. Slowdown is against the drifted oracle (geometric means). Recovery: circuits after \
         the drift until the policy's rolling slowdown ({} circuits) is back within 25% \
         of its level before the drift for good (— when it never is).\n",
        100.0 * spec.at,
        spec.backend,
        spec.factor,
        spec.window
    );
    let _ = writeln!(
        s,
        "| policy | slowdown before | slowdown after | sent to `{}` after | recovery (circuits) | recovery (time) | excess time after |",
        spec.backend
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.2} | {:.1}% | {} | {} | {} |",
            r.policy,
            r.before,
            r.after,
            100.0 * r.drifted_share_after,
            r.recovery_circuits
                .map_or("—".to_string(), |c| c.to_string()),
            r.recovery_ms.map_or("—".to_string(), human_ms),
            human_ms(r.excess_ms)
        );
    }
    s
}
