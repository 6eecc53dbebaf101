//! Circuit features: the one fixed-length vector every model reads.
//!
//! [`extract`] computes [`Features`] from a [`Circuit`](crate::circuit::Circuit) in one pass over its operations. The
//! names, order and meaning of the values form a schema with a version ([`FEATURE_SCHEMA`]);
//! the exact definition of every feature is in `docs/features.md`, and a test keeps that table
//! and [`Feature`] in step. A model records the schema version it was trained on and refuses
//! features of another ([`FeatureSchema::check`]).

mod cost;
mod extract;
mod render;

use std::fmt;
use std::ops::Index;

use serde::{Deserialize, Serialize};

pub use extract::extract;
pub use render::{FeatureRow, OutputFormat, render};

macro_rules! features {
    ($( $(#[doc = $doc:literal])* $variant:ident => $name:literal, )*) => {
        /// One feature of schema v2; its discriminant is its position in [`Features::values`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Feature { $( $(#[doc = $doc])* $variant, )* }

        /// Feature names in vector order.
        pub const FEATURE_NAMES: &[&str] = &[ $( $name, )* ];

        /// Each feature's one-line description (its doc comment), in vector order: telemetry
        /// stores it in each column's field metadata.
        const FEATURE_DOCS: &[&str] = &[ $( concat!($($doc,)*), )* ];

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
    /// Ops left after fusion as a state vector fuses (v2).
    FusedOps => "fused_ops",
    /// log2 of a dense state vector's amplitude updates: fused_ops · 2^num_qubits (v2).
    Log2SvWork => "log2_sv_work",
    /// log2 of the MPS work at bond cap 64 (v2).
    Log2Mps64Work => "log2_mps64_work",
    /// Share of cuts where bond cap 64 truncates (v2).
    Mps64Saturation => "mps64_saturation",
    /// log2 of the MPS work at bond cap 256 (v2).
    Log2Mps256Work => "log2_mps256_work",
    /// Share of cuts where bond cap 256 truncates (v2).
    Mps256Saturation => "mps256_saturation",
    /// log2 of the sparse engine's work: the non-zero bound summed over gates (v2).
    Log2SparseWork => "log2_sparse_work",
    /// log2 of the factored engine's work: 2^component size summed over ops (v2).
    Log2FactoredWork => "log2_factored_work",
    /// log2 of the stabilizer tableau's work (v2).
    Log2StabilizerWork => "log2_stabilizer_work",
    /// Upper bound on the treewidth of the interaction graph (v2).
    TnWidth => "tn_width",
}

/// Number of features in schema v2.
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
    version: 2,
    names: FEATURE_NAMES,
};

/// Features in schema v1: the first this many of [`FEATURE_NAMES`] (v2 appended the work
/// estimates). Telemetry written with v1 holds only these.
pub const NUM_FEATURES_V1: usize = 33;

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

/// The values a feature can take, by its definition (docs/features.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// A whole number from 0 to [`MAX_COUNT`].
    Count,
    /// 0 or 1.
    Flag,
    /// A number in [0, 1].
    Fraction,
    /// A positive number (`dense_memory_bytes`: 16 · 2^num_qubits).
    Bytes,
    /// log2 of a work estimate: a number from 0 to [`MAX_LOG2_WORK`].
    Log2,
}

/// Largest log2 work estimate: each term of a work sum is capped at 2^960, and no circuit
/// qroute can read has 2^63 of them.
pub const MAX_LOG2_WORK: f64 = 1024.0;

/// Largest count a feature may hold: 2^53, beyond which an f64 no longer holds every whole
/// number (no circuit qroute can read comes near it).
pub const MAX_COUNT: f64 = 9_007_199_254_740_992.0;

/// Features whose values are outside their definition: what [`Features::check_ranges`] says.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("feature `{name}` is {value}; it must be {expected}")]
pub struct FeatureRangeError {
    /// The feature.
    pub name: &'static str,
    /// The value given.
    pub value: f64,
    /// What it must be.
    pub expected: String,
}

impl Feature {
    /// What it counts or measures, in one line (`docs/features.md` defines it exactly).
    pub fn description(self) -> &'static str {
        FEATURE_DOCS[self as usize].trim()
    }

    /// The values this feature can take.
    pub fn domain(self) -> Domain {
        use Feature::*;
        match self {
            HasMidCircuitMeasurement | HasReset | HasConditional | IsClifford => Domain::Flag,
            ProgramCommunication | CriticalDepth | EntanglementRatio | Parallelism | Liveness
            | Measurement => Domain::Fraction,
            Mps64Saturation | Mps256Saturation => Domain::Fraction,
            DenseMemoryBytes => Domain::Bytes,
            Log2SvWork | Log2Mps64Work | Log2Mps256Work | Log2SparseWork | Log2FactoredWork
            | Log2StabilizerWork => Domain::Log2,
            _ => Domain::Count,
        }
    }
}

impl Features {
    /// Checks every value against its feature's [`Domain`], and the few identities the
    /// definitions fix (`dense_memory_bytes` = 16 · 2^num_qubits; the gate counts by arity
    /// add up to `gate_count`; a flag agrees with its count). Features from [`extract`] always
    /// pass; features from a caller (the HTTP API) are checked before a model sees them, since
    /// a model fed `num_qubits = -5` answers something meaningless with confidence.
    pub fn check_ranges(&self) -> Result<(), FeatureRangeError> {
        let bad = |f: Feature, expected: String| FeatureRangeError {
            name: f.name(),
            value: self[f],
            expected,
        };
        for &f in ALL_FEATURES {
            let v = self[f];
            let ok = v.is_finite()
                && match f.domain() {
                    Domain::Count => (0.0..=MAX_COUNT).contains(&v) && v.fract() == 0.0,
                    Domain::Flag => v == 0.0 || v == 1.0,
                    Domain::Fraction => (0.0..=1.0).contains(&v),
                    Domain::Bytes => v > 0.0,
                    Domain::Log2 => (0.0..=MAX_LOG2_WORK).contains(&v),
                };
            if !ok {
                return Err(bad(
                    f,
                    match f.domain() {
                        Domain::Count => "a whole number from 0 to 2^53".into(),
                        Domain::Flag => "0 or 1".into(),
                        Domain::Fraction => "a number from 0 to 1".into(),
                        Domain::Bytes => "a positive number".into(),
                        Domain::Log2 => format!("a number from 0 to {MAX_LOG2_WORK}"),
                    },
                ));
            }
        }
        use Feature::*;
        let dense = 16.0 * self[NumQubits].exp2();
        if (self[DenseMemoryBytes] - dense).abs() > 1e-9 * dense {
            return Err(bad(
                DenseMemoryBytes,
                format!("16 · 2^num_qubits = {dense:e}"),
            ));
        }
        let by_arity = self[Gates1q] + self[Gates2q] + self[Gates3qPlus];
        if by_arity > self[GateCount] {
            return Err(bad(
                GateCount,
                format!("at least gates_1q + gates_2q + gates_3q_plus = {by_arity}"),
            ));
        }
        for (flag, count) in [
            (HasReset, ResetCount),
            (HasConditional, ConditionalCount),
            (IsClifford, NonCliffordCount),
        ] {
            let expected = if flag == IsClifford {
                self[count] == 0.0
            } else {
                self[count] > 0.0
            };
            if (self[flag] == 1.0) != expected {
                return Err(bad(
                    flag,
                    format!(
                        "{} since {} is {}",
                        u8::from(expected),
                        count.name(),
                        self[count]
                    ),
                ));
            }
        }
        for f in [
            LargestComponent,
            InteractionComponents,
            MaxGateSpan,
            TnWidth,
        ] {
            if self[f] > self[NumQubits] {
                return Err(bad(f, format!("at most num_qubits = {}", self[NumQubits])));
            }
        }
        Ok(())
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
