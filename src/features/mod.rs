//! Circuit features: the one fixed-length vector every model reads.
//!
//! [`extract`] computes [`Features`] from a [`Circuit`](crate::circuit::Circuit) in one pass over its operations. The
//! names, order and meaning of the values form a schema with a version ([`FEATURE_SCHEMA`]);
//! the exact definition of every feature is in `docs/features.md`, and a test keeps that table
//! and [`Feature`] in step. A model records the schema version it was trained on and refuses
//! features of another ([`FeatureSchema::check`]).

mod extract;
mod render;

use std::fmt;
use std::ops::Index;

use serde::{Deserialize, Serialize};

pub use extract::extract;
pub use render::{FeatureRow, OutputFormat, render};

macro_rules! features {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// One feature of schema v1; its discriminant is its position in [`Features::values`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Feature { $( $(#[$doc])* $variant, )* }

        /// Feature names in vector order.
        pub const FEATURE_NAMES: &[&str] = &[ $( $name, )* ];

        /// Every feature in vector order.
        pub const ALL_FEATURES: &[Feature] = &[ $( Feature::$variant, )* ];
    };
}

features! {
    /// Qubits in all quantum registers.
    NumQubits => "num_qubits",
    /// Bits in all classical registers.
    NumClbits => "num_clbits",
    /// Unitary gates (table and opaque); measure, reset and barrier excluded.
    GateCount => "gate_count",
    /// Depth as Qiskit counts it (barriers excluded, measure/reset included, bits are wires).
    Depth => "depth",
    /// Gates on one qubit.
    Gates1q => "gates_1q",
    /// Gates on two qubits.
    Gates2q => "gates_2q",
    /// Gates on three or more qubits.
    Gates3qPlus => "gates_3q_plus",
    /// Measurements.
    MeasureCount => "measure_count",
    /// Resets.
    ResetCount => "reset_count",
    /// Operations under `if`.
    ConditionalCount => "conditional_count",
    /// 1 when a measured qubit is later acted on by a gate or reset.
    HasMidCircuitMeasurement => "has_mid_circuit_measurement",
    /// 1 when there is a reset.
    HasReset => "has_reset",
    /// 1 when there is an `if`.
    HasConditional => "has_conditional",
    /// Gates that are not Clifford.
    NonCliffordCount => "non_clifford_count",
    /// t, tdg and rz/p/u1 by odd multiples of π/4.
    TCount => "t_count",
    /// 1 when every gate is Clifford.
    IsClifford => "is_clifford",
    /// Gates with at least one parameter.
    ParamGateCount => "param_gate_count",
    /// Gates whose matrix is diagonal.
    DiagonalGateCount => "diagonal_gate_count",
    /// SupermarQ program communication.
    ProgramCommunication => "program_communication",
    /// SupermarQ critical depth.
    CriticalDepth => "critical_depth",
    /// SupermarQ entanglement ratio.
    EntanglementRatio => "entanglement_ratio",
    /// SupermarQ parallelism.
    Parallelism => "parallelism",
    /// SupermarQ liveness.
    Liveness => "liveness",
    /// SupermarQ measurement.
    Measurement => "measurement",
    /// Distinct qubit pairs that share a multi-qubit gate.
    InteractionEdges => "interaction_edges",
    /// Largest number of partners of one qubit.
    InteractionMaxDegree => "interaction_max_degree",
    /// Connected components of the interaction graph (isolated qubits count).
    InteractionComponents => "interaction_components",
    /// Qubits in the largest connected component.
    LargestComponent => "largest_component",
    /// Depth counting only multi-qubit gates.
    MultiQubitDepth => "multi_qubit_depth",
    /// Largest distance between the outermost qubits of one multi-qubit gate.
    MaxGateSpan => "max_gate_span",
    /// Most multi-qubit gates crossing one cut of the qubit line.
    MaxCutCrossings => "max_cut_crossings",
    /// Upper bound on log2 of the bond dimension an exact MPS needs.
    Log2BondBound => "log2_bond_bound",
    /// Bytes of a dense complex128 state vector: 16 · 2^num_qubits.
    DenseMemoryBytes => "dense_memory_bytes",
}

/// Number of features in schema v1.
pub const NUM_FEATURES: usize = FEATURE_NAMES.len();

impl Feature {
    /// The feature's name in the schema.
    pub fn name(self) -> &'static str {
        FEATURE_NAMES[self as usize]
    }

    /// Looks a feature up by name (hashed: a request names every feature).
    pub fn from_name(name: &str) -> Option<Feature> {
        static BY_NAME: std::sync::LazyLock<rustc_hash::FxHashMap<&str, Feature>> =
            std::sync::LazyLock::new(|| {
                FEATURE_NAMES
                    .iter()
                    .copied()
                    .zip(ALL_FEATURES.iter().copied())
                    .collect()
            });
        BY_NAME.get(name).copied()
    }
}

/// A feature schema: a version and the names, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSchema {
    /// Bumped whenever a name, an order or a definition changes.
    pub version: u32,
    /// Names in vector order.
    pub names: &'static [&'static str],
}

/// The schema this build computes.
pub const FEATURE_SCHEMA: FeatureSchema = FeatureSchema {
    version: 1,
    names: FEATURE_NAMES,
};

/// Features of one schema offered to something built for another.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("features have schema version {found}, but this needs version {expected}")]
pub struct SchemaMismatch {
    /// The version required.
    pub expected: u32,
    /// The version offered.
    pub found: u32,
}

impl FeatureSchema {
    /// Accepts features of this schema's version only.
    pub fn check(&self, features: &Features) -> Result<(), SchemaMismatch> {
        self.check_version(features.schema_version)
    }

    /// Accepts this schema's version only.
    pub fn check_version(&self, version: u32) -> Result<(), SchemaMismatch> {
        if version == self.version {
            Ok(())
        } else {
            Err(SchemaMismatch {
                expected: self.version,
                found: version,
            })
        }
    }
}

/// A circuit's feature vector, tagged with its schema version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// The schema the values follow.
    pub schema_version: u32,
    /// Values in [`FEATURE_NAMES`] order.
    pub values: Vec<f64>,
}

impl Features {
    /// Features from values in schema order; `None` when there are not [`NUM_FEATURES`].
    pub fn from_values(values: Vec<f64>) -> Option<Features> {
        (values.len() == NUM_FEATURES).then_some(Features {
            schema_version: FEATURE_SCHEMA.version,
            values,
        })
    }

    /// The value of one feature.
    #[inline]
    pub fn get(&self, f: Feature) -> f64 {
        self.values[f as usize]
    }

    /// `(name, value)` pairs in schema order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        FEATURE_NAMES
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }
}

impl Index<Feature> for Features {
    type Output = f64;
    fn index(&self, f: Feature) -> &f64 {
        &self.values[f as usize]
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
