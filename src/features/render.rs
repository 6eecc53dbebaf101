//! Feature vectors as a table, JSON or CSV (what `qroute features` prints).

use std::fmt::Write as _;

use serde::Serialize;

use super::{FEATURE_NAMES, FEATURE_SCHEMA, Feature, Features};
use crate::circuit::CircuitId;
use crate::display::{self, Align, human_bytes};

/// How to print features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum OutputFormat {
    /// Up to four circuits: one row per feature, one column per circuit. More: one row per
    /// circuit with the main features (csv and json have all of them).
    #[default]
    Table,
    /// A JSON array of objects `{file, circuit_id, schema_version, features: {name: value}}`.
    Json,
    /// A header `file,circuit_id,<feature names>` and one line per circuit.
    Csv,
}

/// One circuit's features with where they came from.
#[derive(Debug, Clone)]
pub struct FeatureRow {
    /// The file (or other label) the circuit came from.
    pub file: String,
    /// Its canonical id.
    pub circuit_id: CircuitId,
    /// Its features.
    pub features: Features,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    file: &'a str,
    circuit_id: String,
    schema_version: u32,
    features: serde_json::Map<String, serde_json::Value>,
}

/// Renders rows in the chosen format; the text ends with a newline.
pub fn render(rows: &[FeatureRow], format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table(rows),
        OutputFormat::Json => {
            let out: Vec<JsonRow<'_>> = rows
                .iter()
                .map(|r| JsonRow {
                    file: &r.file,
                    circuit_id: r.circuit_id.to_string(),
                    schema_version: r.features.schema_version,
                    features: r
                        .features
                        .iter()
                        .map(|(k, v)| (k.to_string(), number(v)))
                        .collect(),
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&out).unwrap_or_else(|_| "[]".into());
            s.push('\n');
            s
        }
        OutputFormat::Csv => {
            let mut s = String::from("file,circuit_id");
            for n in FEATURE_NAMES {
                s.push(',');
                s.push_str(n);
            }
            s.push('\n');
            for r in rows {
                s.push_str(&csv_field(&r.file));
                let _ = write!(s, ",{}", r.circuit_id);
                for v in &r.features.values {
                    let _ = write!(s, ",{}", fmt_value(*v));
                }
                s.push('\n');
            }
            s
        }
    }
}

/// Integers print without a fraction; reals with up to 6 significant decimals.
fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 1e15 {
        format!("{v:e}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Value::from(v)
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Above this many circuits the table shows a summary row per circuit.
const TRANSPOSED_MAX: usize = 4;

/// Columns of the summary table.
const SUMMARY: &[(Feature, &str)] = &[
    (Feature::NumQubits, "qubits"),
    (Feature::GateCount, "gates"),
    (Feature::Gates2q, "2q"),
    (Feature::Gates3qPlus, "3q+"),
    (Feature::Depth, "depth"),
    (Feature::IsClifford, "clifford"),
    (Feature::TCount, "t"),
    (Feature::Log2BondBound, "log2_bond"),
    (Feature::DenseMemoryBytes, "dense_mem"),
];

fn table(rows: &[FeatureRow]) -> String {
    if rows.len() > TRANSPOSED_MAX {
        return summary_table(rows);
    }
    let mut header = vec![format!("feature (schema v{})", FEATURE_SCHEMA.version)];
    header.extend(rows.iter().map(|r| r.file.clone()));
    let mut lines: Vec<Vec<String>> = vec![header];
    let mut ids = vec!["circuit_id".to_string()];
    ids.extend(rows.iter().map(|r| r.circuit_id.to_string()));
    lines.push(ids);
    for (i, name) in FEATURE_NAMES.iter().enumerate() {
        let mut line = vec![name.to_string()];
        line.extend(rows.iter().map(|r| fmt_value(r.features.values[i])));
        lines.push(line);
    }
    align(&lines)
}

fn summary_table(rows: &[FeatureRow]) -> String {
    let mut header = vec!["file".to_string()];
    header.extend(SUMMARY.iter().map(|(_, h)| h.to_string()));
    let mut lines = vec![header];
    for r in rows {
        let mut line = vec![r.file.clone()];
        for (f, _) in SUMMARY {
            let v = r.features[*f];
            line.push(match f {
                Feature::IsClifford => (if v == 1.0 { "yes" } else { "no" }).to_string(),
                Feature::DenseMemoryBytes => human_bytes(v),
                _ => fmt_value(v),
            });
        }
        lines.push(line);
    }
    let mut s = align(&lines);
    let _ = writeln!(
        s,
        "{} circuits; all {} features: --format csv or --format json",
        rows.len(),
        FEATURE_NAMES.len()
    );
    s
}

fn align(lines: &[Vec<String>]) -> String {
    display::table(lines, Align::FirstLeft)
}
