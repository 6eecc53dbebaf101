//! `qroute telemetry summary`: what a telemetry directory holds, per backend.

use std::collections::BTreeMap;

use super::record::{ExecutionRecord, Status};
use super::writer::date_of;
use crate::display::{Align, table};

/// Per-backend figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackendSummary {
    /// Backend name.
    pub backend: String,
    /// Attempts recorded.
    pub attempts: u64,
    /// By status.
    pub ok: u64,
    /// Failed attempts.
    pub failed: u64,
    /// Timed-out attempts.
    pub timeout: u64,
    /// Ineligible attempts.
    pub ineligible: u64,
    /// Attempts given up at their hedging cutoff.
    pub hedged: u64,
    /// Median wall time of successful attempts, ms.
    pub p50_wall_ms: Option<f64>,
    /// 95th percentile of the same (interpolated, [`crate::stats`]).
    pub p95_wall_ms: Option<f64>,
}

impl BackendSummary {
    /// Successful attempts among those that ran (ineligible ones did not).
    pub fn success_rate(&self) -> Option<f64> {
        let ran = self.ok + self.failed + self.timeout;
        (ran > 0).then(|| self.ok as f64 / ran as f64)
    }
}

/// What a set of records holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Rows.
    pub rows: u64,
    /// Distinct circuits.
    pub circuits: u64,
    /// Earliest and latest timestamp, µs.
    pub span_us: Option<(i64, i64)>,
    /// Per backend, by name.
    pub backends: Vec<BackendSummary>,
}

/// The `p`th percentile of sorted values ([`crate::stats`]: interpolated, as replay's).
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    crate::stats::quantile_sorted(sorted, p / 100.0)
}

/// Summarises records.
pub fn summarize(records: &[ExecutionRecord]) -> Summary {
    let mut by: BTreeMap<&str, (BackendSummary, Vec<f64>)> = BTreeMap::new();
    let mut circuits = std::collections::HashSet::new();
    let mut span: Option<(i64, i64)> = None;
    for r in records {
        circuits.insert(r.circuit_id.as_str());
        span = Some(match span {
            None => (r.ts_us, r.ts_us),
            Some((a, b)) => (a.min(r.ts_us), b.max(r.ts_us)),
        });
        let (s, walls) = by.entry(&r.backend).or_default();
        s.backend = r.backend.clone();
        s.attempts += 1;
        match r.status {
            Status::Ok => {
                s.ok += 1;
                if let Some(w) = r.wall_ms {
                    walls.push(w);
                }
            }
            Status::Failed => s.failed += 1,
            Status::Timeout => s.timeout += 1,
            Status::Ineligible => s.ineligible += 1,
            Status::Hedged => s.hedged += 1,
        }
    }
    let backends = by
        .into_values()
        .map(|(mut s, mut walls)| {
            walls.sort_by(f64::total_cmp);
            s.p50_wall_ms = percentile(&walls, 50.0);
            s.p95_wall_ms = percentile(&walls, 95.0);
            s
        })
        .collect();
    Summary {
        rows: records.len() as u64,
        circuits: circuits.len() as u64,
        span_us: span,
        backends,
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.3}"))
}

/// The summary as text: a header line and a table per backend.
pub fn render(s: &Summary) -> String {
    let mut out = format!("{} rows, {} circuits", s.rows, s.circuits);
    if let Some((a, b)) = s.span_us {
        out.push_str(&format!(
            ", from {} to {} ({:.1} h)",
            date_of(a),
            date_of(b),
            (b - a) as f64 / 3.6e9
        ));
    }
    out.push('\n');
    let mut rows = vec![
        [
            "backend",
            "attempts",
            "ok",
            "failed",
            "timeout",
            "ineligible",
            "hedged",
            "success",
            "p50 ms",
            "p95 ms",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for b in &s.backends {
        rows.push(vec![
            b.backend.clone(),
            b.attempts.to_string(),
            b.ok.to_string(),
            b.failed.to_string(),
            b.timeout.to_string(),
            b.ineligible.to_string(),
            b.hedged.to_string(),
            b.success_rate()
                .map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
            ms(b.p50_wall_ms),
            ms(b.p95_wall_ms),
        ]);
    }
    out.push_str(&table(&rows, Align::FirstLeft));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_as_everywhere_else() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(10.5));
        assert!((percentile(&v, 95.0).unwrap() - 19.05).abs() < 1e-9);
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
