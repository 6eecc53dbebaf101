//! Circuit files to jobs: discovered, parsed, their features computed and their corpus tags
//! (source, family) attached.

use std::path::PathBuf;

use super::AppError;
use crate::circuit::files::{corpus_tags, discover};
use crate::circuit::qasm::{ParseError, ParseWarning, QasmParser};
use crate::route::Job;

/// The jobs of some paths, and the files that did not parse.
#[derive(Debug)]
pub struct Loaded {
    /// One job per circuit file that parsed, in discovery order.
    pub jobs: Vec<Job>,
    /// The files that did not, with position and message.
    pub errors: Vec<ParseError>,
    /// What parsed but is worth a warning (a file without its `OPENQASM` header).
    pub warnings: Vec<ParseWarning>,
}

/// Every `*.qasm` file under `paths` (files as given, directories searched recursively) as a
/// job; a file that fails to parse is kept in [`Loaded::errors`], the others still load.
/// Refused when no file is found.
pub fn load(paths: &[PathBuf]) -> crate::Result<Loaded> {
    let files = discover(paths)?;
    if files.is_empty() {
        return Err(AppError::NoCircuits.into());
    }
    let mut loaded = Loaded {
        jobs: Vec::with_capacity(files.len()),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let parser = QasmParser::new();
    for p in files {
        match parser.parse_file_warned(&p) {
            Ok((c, warnings)) => {
                loaded.warnings.extend(warnings);
                let (source, family) = corpus_tags(&p);
                let mut job = Job::new(p.display().to_string(), c);
                job.source = source;
                job.family = family;
                loaded.jobs.push(job);
            }
            Err(e) => loaded.errors.push(e),
        }
    }
    Ok(loaded)
}

impl Loaded {
    /// The jobs as rows of `qroute features`: id, file and feature vector.
    pub fn feature_rows(self) -> Vec<crate::features::FeatureRow> {
        let row = |j: Job| crate::features::FeatureRow {
            circuit_id: j.circuit.id(),
            file: j.name,
            features: j.features,
        };
        self.jobs.into_iter().map(row).collect()
    }
}
