//! [`Job`]: a circuit to route, plan or run, with its features and corpus tags.

use crate::circuit::Circuit;
use crate::features::Features;

/// One circuit to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// File name or label.
    pub name: String,
    /// The circuit.
    pub circuit: Circuit,
    /// Its features.
    pub features: Features,
    /// Where it came from, when known.
    pub source: Option<String>,
    /// Its family, when known.
    pub family: Option<String>,
}

impl Job {
    /// A job for a parsed circuit, its features computed.
    pub fn new(name: impl Into<String>, circuit: Circuit) -> Job {
        Job {
            name: name.into(),
            features: crate::features::extract(&circuit),
            circuit,
            source: None,
            family: None,
        }
    }
}
