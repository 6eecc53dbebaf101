//! `qroute telemetry upgrade`: telemetry written with an older feature schema, its features
//! recomputed from the circuit files, into a new directory.
//!
//! A row's features are a cache of its circuit's: a new schema (v2 added the engines' work
//! estimates) cannot be filled in from the old columns, but the circuits can be read again.
//! Rows are matched to files by canonical circuit id, so renamed or re-formatted files still
//! match; every other column is copied unchanged. The source directory is only read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::AppError;
use crate::circuit::qasm::parse_file;
use crate::features::{FEATURE_SCHEMA, extract};
use crate::telemetry::writer::{TelemetryWriter, WriterOptions};

/// What to upgrade.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct UpgradeParams {
    /// Telemetry directory to read (left unchanged).
    pub dir: PathBuf,
    /// Circuit files or directories the telemetry's circuits came from.
    #[cfg_attr(feature = "cli", arg(long, required = true, num_args = 1..))]
    pub circuits: Vec<PathBuf>,
    /// New telemetry directory (must not hold telemetry yet).
    #[cfg_attr(feature = "cli", arg(long))]
    pub out: PathBuf,
}

/// What an upgrade did.
#[derive(Debug, Clone, PartialEq)]
pub struct Upgraded {
    /// Rows written.
    pub rows: u64,
    /// Rows whose features were recomputed.
    pub recomputed: u64,
    /// Circuit files read.
    pub circuit_files: usize,
    /// Unreadable telemetry files (left out), and why.
    pub bad_files: Vec<(PathBuf, String)>,
    /// Circuit files that did not parse (their circuits count as missing), with why.
    pub bad_circuits: Vec<String>,
    /// Where the rows went.
    pub out: PathBuf,
}

impl UpgradeParams {
    /// Reads the telemetry and the circuits, writes every row with current features.
    ///
    /// # Errors
    /// When the output already holds telemetry, or a row's circuit is in none of the files
    /// that parse (the first five such circuits are named; nothing is written).
    pub fn run(&self) -> crate::Result<Upgraded> {
        if has_telemetry(&self.out) {
            return Err(AppError::Invalid(format!(
                "{} already holds telemetry: upgrade into a new directory",
                self.out.display()
            ))
            .into());
        }
        let report = crate::telemetry::read_dir(&self.dir)?;
        let files = crate::circuit::files::discover(&self.circuits)?;
        let mut features = HashMap::with_capacity(files.len());
        let mut bad_circuits = Vec::new();
        for path in &files {
            match parse_file(path) {
                Ok(circuit) => {
                    features.insert(circuit.id().to_string(), extract(&circuit));
                }
                Err(e) => bad_circuits.push(e.to_string()),
            }
        }
        let mut missing: Vec<&str> = report
            .records
            .iter()
            .filter(|r| {
                r.features.schema_version != FEATURE_SCHEMA.version
                    && !features.contains_key(&r.circuit_id)
            })
            .map(|r| r.circuit_name.as_str())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            return Err(AppError::Invalid(format!(
                "{} circuit(s) of the telemetry are in none of the --circuits files (nothing \
                 written): {}{}",
                missing.len(),
                missing[..missing.len().min(5)].join(", "),
                if missing.len() > 5 { ", ..." } else { "" }
            ))
            .into());
        }
        let writer = TelemetryWriter::open(&self.out, WriterOptions::default())?;
        let mut recomputed = 0;
        for r in &report.records {
            let mut r = r.clone();
            if r.features.schema_version != FEATURE_SCHEMA.version {
                r.features = features[&r.circuit_id].clone();
                recomputed += 1;
            }
            writer.write(&r)?;
        }
        let stats = writer.close()?;
        crate::telemetry::compact::compact(&self.out, &Default::default())?;
        Ok(Upgraded {
            rows: stats.rows,
            recomputed,
            circuit_files: files.len(),
            bad_files: report.bad_files,
            bad_circuits,
            out: self.out.clone(),
        })
    }
}

fn has_telemetry(dir: &Path) -> bool {
    crate::telemetry::read_dir(dir).is_ok_and(|r| !r.records.is_empty() || !r.bad_files.is_empty())
}
