//! prism-q's simulators, each its own routing target.
//!
//! | name | prism-q backend |
//! |---|---|
//! | `statevector` | dense state vector |
//! | `stabilizer` | stabilizer tableau (Clifford only) |
//! | `factored-stabilizer` | tableaux per independent block (Clifford only) |
//! | `sparse` | sparse state vector |
//! | `mps-<bond>` | matrix product state with that bond cap (`mps-64`, `mps-256`) |
//! | `product` | per-qubit product state (no entangling gates) |
//! | `tensor-network` | deferred tensor-network contraction |
//! | `factored` | dynamically split state |
//! | `prism-auto` | prism-q's own rule-based dispatch among the above |

mod lower;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use prism_q::{BackendKind as PKind, Exactness, Limits, PrismError, ThreadPool, simulate};

pub use lower::{LowerError, lower};

use super::{
    Backend, BackendError, BackendKind, Capabilities, CircuitFacts, Fidelity, Ineligible, Outcome,
    Price, RunSpec, check_common, human_bytes,
};
use crate::circuit::Circuit;
use crate::features::Feature;

/// The prism-q version qroute is built against.
pub const PRISM_VERSION: &str = "0.37";

/// Which prism-q simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrismTarget {
    /// Dense state vector.
    Statevector,
    /// Stabilizer tableau.
    Stabilizer,
    /// Tableaux per independent block.
    FactoredStabilizer,
    /// Sparse state vector.
    Sparse,
    /// Matrix product state with a bond cap.
    Mps {
        /// Largest bond dimension kept.
        max_bond: usize,
    },
    /// Product state.
    Product,
    /// Tensor network.
    TensorNetwork,
    /// Dynamically split state.
    Factored,
    /// prism-q's own choice.
    Auto,
}

impl PrismTarget {
    /// The stable routing name.
    pub fn name(self) -> String {
        match self {
            PrismTarget::Statevector => "statevector".into(),
            PrismTarget::Stabilizer => "stabilizer".into(),
            PrismTarget::FactoredStabilizer => "factored-stabilizer".into(),
            PrismTarget::Sparse => "sparse".into(),
            PrismTarget::Mps { max_bond } => format!("mps-{max_bond}"),
            PrismTarget::Product => "product".into(),
            PrismTarget::TensorNetwork => "tensor-network".into(),
            PrismTarget::Factored => "factored".into(),
            PrismTarget::Auto => "prism-auto".into(),
        }
    }

    /// Parses a routing name (`mps-<bond>` with any bond from 1 to 65536).
    pub fn from_name(name: &str) -> Option<PrismTarget> {
        Some(match name {
            "statevector" => PrismTarget::Statevector,
            "stabilizer" => PrismTarget::Stabilizer,
            "factored-stabilizer" => PrismTarget::FactoredStabilizer,
            "sparse" => PrismTarget::Sparse,
            "product" => PrismTarget::Product,
            "tensor-network" => PrismTarget::TensorNetwork,
            "factored" => PrismTarget::Factored,
            "prism-auto" => PrismTarget::Auto,
            _ => {
                let bond: usize = name.strip_prefix("mps-")?.parse().ok()?;
                if !(1..=65536).contains(&bond) {
                    return None;
                }
                PrismTarget::Mps { max_bond: bond }
            }
        })
    }

    /// The default targets: every simulator, MPS at bond 64 and 256, and prism-auto.
    pub fn defaults() -> Vec<PrismTarget> {
        vec![
            PrismTarget::Statevector,
            PrismTarget::Stabilizer,
            PrismTarget::FactoredStabilizer,
            PrismTarget::Sparse,
            PrismTarget::Mps { max_bond: 64 },
            PrismTarget::Mps { max_bond: 256 },
            PrismTarget::Product,
            PrismTarget::TensorNetwork,
            PrismTarget::Factored,
            PrismTarget::Auto,
        ]
    }

    fn kind(self) -> BackendKind {
        match self {
            PrismTarget::Statevector => BackendKind::Statevector,
            PrismTarget::Stabilizer => BackendKind::Stabilizer,
            PrismTarget::FactoredStabilizer => BackendKind::FactoredStabilizer,
            PrismTarget::Sparse => BackendKind::Sparse,
            PrismTarget::Mps { .. } => BackendKind::Mps,
            PrismTarget::Product => BackendKind::Product,
            PrismTarget::TensorNetwork => BackendKind::TensorNetwork,
            PrismTarget::Factored => BackendKind::Factored,
            PrismTarget::Auto => BackendKind::PrismAuto,
        }
    }

    fn prism_kind(self, spec: &RunSpec) -> PKind {
        match self {
            PrismTarget::Statevector => PKind::Statevector,
            PrismTarget::Stabilizer => PKind::Stabilizer,
            PrismTarget::FactoredStabilizer => PKind::FactoredStabilizer,
            PrismTarget::Sparse => PKind::Sparse,
            PrismTarget::Mps { max_bond } => PKind::Mps {
                max_bond_dim: spec.options.max_bond_dim.unwrap_or(max_bond),
            },
            PrismTarget::Product => PKind::ProductState,
            PrismTarget::TensorNetwork => PKind::TensorNetwork,
            PrismTarget::Factored => PKind::Factored,
            PrismTarget::Auto => PKind::Auto,
        }
    }
}

/// One prism-q simulator as a [`Backend`].
#[derive(Debug, Clone)]
pub struct PrismBackend {
    target: PrismTarget,
    name: String,
    price: Price,
}

impl PrismBackend {
    /// The backend for `target` with `price`.
    pub fn new(target: PrismTarget, price: Price) -> PrismBackend {
        PrismBackend {
            target,
            name: target.name(),
            price,
        }
    }

    /// Which simulator.
    pub fn target(&self) -> PrismTarget {
        self.target
    }

    /// The exact output distribution (length `2^n`, qubit 0 the least significant bit of the
    /// index) of the circuit with its measurements, resets and conditions applied as the
    /// simulator runs them once with `seed`. For tests and cross-checks.
    pub fn probabilities(
        &self,
        circuit: &Circuit,
        spec: &RunSpec,
    ) -> Result<Vec<f64>, BackendError> {
        let pc = lower(circuit).map_err(|e| self.sim_error(e.to_string()))?;
        let run = || {
            simulate(&pc)
                .backend(self.target.prism_kind(spec))
                .limits(limits(spec))
                .seed(spec.seed)
                .run()
        };
        let out = in_pool(spec.threads, run).map_err(|e| self.prism_error(e))?;
        out.probabilities
            .map(|p| p.to_vec())
            .ok_or_else(|| self.sim_error("the backend exposes no probabilities".into()))
    }

    fn sim_error(&self, message: String) -> BackendError {
        BackendError::Simulation {
            backend: self.name.clone(),
            message,
        }
    }

    fn prism_error(&self, e: PrismError) -> BackendError {
        match e {
            PrismError::ResourceLimit { .. } => BackendError::OutOfMemory {
                backend: self.name.clone(),
                detail: e.to_string(),
            },
            PrismError::IncompatibleBackend { .. } => BackendError::Ineligible(Ineligible {
                backend: self.name.clone(),
                reason: e.to_string(),
            }),
            _ => self.sim_error(e.to_string()),
        }
    }

    fn ineligible(&self, reason: String) -> Ineligible {
        Ineligible {
            backend: self.name.clone(),
            reason,
        }
    }
}

/// The memory a run is held to: the request's budget, else half of this machine's memory
/// (prism-q's own default). The router's state-vector check uses it and it is handed to
/// prism-q explicitly, so that the engine's caps derive from the very number the router
/// checked: eligible means it runs (#32). (A budget given to prism-q overrides its
/// `PRISM_MAX_*` variables: qroute's setting is the one that counts.)
fn budget(spec: &RunSpec) -> Option<u64> {
    spec.memory_budget
        .or_else(|| machine_memory().map(|m| m / 2))
}

/// Where the budget of [`budget`] came from, for an error that names the setting.
fn budget_source(spec: &RunSpec) -> &'static str {
    if spec.memory_budget.is_none() {
        " (half of this machine's memory; a run's memory budget sets it)"
    } else {
        ""
    }
}

/// Bytes per basis state of the tensor network's dense distribution: an amplitude and a
/// probability (prism-q's `tensor_probability_qubits` cap).
const TN_DENSE_BYTES_PER_STATE: u64 = 24;

/// The widest dense distribution that fits in `budget` bytes, as prism-q derives its cap
/// from the budget it is given.
fn tn_dense_qubits(budget: u64) -> u32 {
    (budget / TN_DENSE_BYTES_PER_STATE)
        .checked_ilog2()
        .unwrap_or(0)
}

/// Total memory of this machine in bytes (from /proc/meminfo), when known.
pub fn machine_memory() -> Option<u64> {
    static MEM: OnceLock<Option<u64>> = OnceLock::new();
    *MEM.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    })
}

fn limits(spec: &RunSpec) -> Limits {
    let mut l = Limits::new();
    l.memory_budget_bytes = budget(spec);
    l
}

/// Runs `f` on a cached rayon pool of `threads` workers (0: rayon's default width).
fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let pool = {
        let mut pools = POOLS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match pools.get(&threads) {
            Some(p) => Some(p.clone()),
            None => match ThreadPool::with_threads(threads) {
                Ok(p) => {
                    let p = Arc::new(p);
                    pools.insert(threads, p.clone());
                    Some(p)
                }
                Err(_) => None,
            },
        }
    };
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// A prism-q count key (bit 0 first) as a bitstring with bit 0 rightmost.
fn bitstring(key: &[u64], num_bits: usize) -> String {
    let mut s = String::with_capacity(num_bits);
    for i in (0..num_bits).rev() {
        let w = key.get(i / 64).copied().unwrap_or(0);
        s.push(if (w >> (i % 64)) & 1 == 1 { '1' } else { '0' });
    }
    s
}

/// prism-q's counts as qroute's: keys as bitstrings, in order. Built by sorting a vector
/// and merging equal keys (bits past `num_bits`) rather than inserting one by one: the
/// conversion is most of the per-job overhead beyond the simulation on circuits with ~1,000
/// distinct outcomes of 1,024 shots (`qroute run datasets/demo`: median job overhead 179 µs
/// with 1,024 shots against 51 µs with one), and the sorted build cut the run's median job
/// overhead from 94 to 79 µs (six alternating runs each). Sorting the keys as numbers (the
/// bitstrings' order) and making each outcome's string once, after merging, took the overhead
/// bench's median over the demo circuits from 304 to 265 µs (three alternating rounds).
fn bitstring_counts(counts: HashMap<Vec<u64>, u64>, num_bits: usize) -> BTreeMap<String, u64> {
    // Each key made `num_bits` wide once (padded, bits past it cleared), so that keys compare
    // as numbers with the high word first and equal outcomes are equal keys.
    let words = num_bits.div_ceil(64);
    let mut v: Vec<(Vec<u64>, u64)> = counts
        .into_iter()
        .map(|(mut key, n)| {
            key.resize(words, 0);
            if let Some(top) = key.last_mut()
                && !num_bits.is_multiple_of(64)
            {
                *top &= (1u64 << (num_bits % 64)) - 1;
            }
            (key, n)
        })
        .collect();
    v.sort_unstable_by(|a, b| a.0.iter().rev().cmp(b.0.iter().rev()));
    let mut merged: Vec<(Vec<u64>, u64)> = Vec::with_capacity(v.len());
    for (key, n) in v {
        match merged.last_mut() {
            Some(last) if last.0 == key => last.1 += n,
            _ => merged.push((key, n)),
        }
    }
    merged
        .into_iter()
        .map(|(key, n)| (bitstring(&key, num_bits), n))
        .collect()
}

impl Backend for PrismBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> BackendKind {
        self.target.kind()
    }

    fn check(&self, facts: &CircuitFacts<'_>, spec: &RunSpec) -> Result<Fidelity, Ineligible> {
        check_common(&self.name, &self.capabilities(), facts)?;
        let features = facts.features;
        let n = features[Feature::NumQubits];
        match self.target {
            PrismTarget::Statevector => {
                let need = features[Feature::DenseMemoryBytes];
                if let Some(b) = budget(spec)
                    && need > b as f64
                {
                    return Err(self.ineligible(format!(
                        "needs {} for {n} qubits, memory budget {}{}",
                        human_bytes(need),
                        human_bytes(b as f64),
                        budget_source(spec)
                    )));
                }
            }
            PrismTarget::TensorNetwork => {
                // prism-q's tensor network contracts the dense distribution up to the width
                // its memory budget allows (its `tensor_probability_qubits` cap) and refuses a
                // run past it. Sampling past it goes qubit by qubit (a contraction per qubit
                // per shot) with no check of the peak against the budget; in
                // telemetry/reference and reference-v2 that failed or hit the 20 s timeout on
                // every one of its 160 attempts (30 to 200 qubits, 1,024 shots), so it is not
                // offered either.
                if let Some(b) = budget(spec) {
                    let cap = tn_dense_qubits(b);
                    if n > cap as f64 {
                        return Err(self.ineligible(format!(
                            "needs {} for the distribution of {n} qubits, memory budget {}{} \
                             (at most {cap} qubits)",
                            human_bytes(TN_DENSE_BYTES_PER_STATE as f64 * n.exp2()),
                            human_bytes(b as f64),
                            budget_source(spec)
                        )));
                    }
                }
            }
            PrismTarget::Product => {
                let multi = features[Feature::Gates2q] + features[Feature::Gates3qPlus];
                if multi > 0.0 {
                    return Err(self.ineligible(format!(
                        "circuit has {multi} multi-qubit gate(s); product states take none"
                    )));
                }
            }
            PrismTarget::Mps { max_bond } => {
                let bond = spec.options.max_bond_dim.unwrap_or(max_bond);
                let need = features[Feature::Log2BondBound];
                if need > (bond as f64).log2() {
                    if spec.options.min_fidelity.is_some_and(|f| f >= 1.0) {
                        return Err(self.ineligible(format!(
                            "an exact result may need bond dimension up to 2^{need}, cap is \
                             {bond}"
                        )));
                    }
                    return Ok(Fidelity::MayTruncate);
                }
            }
            _ => {}
        }
        Ok(Fidelity::Exact)
    }

    fn execute(&self, circuit: &Circuit, spec: &RunSpec) -> Result<Outcome, BackendError> {
        let pc = lower(circuit).map_err(|e| self.sim_error(e.to_string()))?;
        let kind = self.target.prism_kind(spec);
        let lim = limits(spec);
        let wall0 = Instant::now();
        let cpu0 = cpu_time::ProcessTime::try_now().ok();
        let result = in_pool(spec.threads, || {
            let sim = simulate(&pc).backend(kind).limits(lim).seed(spec.seed);
            if spec.shots > 0 {
                sim.sample_counts(spec.shots as usize)
                    .map(|c| (Some((c.counts, c.num_classical_bits)), c.metadata))
            } else {
                sim.run().map(|o| (None, o.metadata))
            }
        });
        let wall = wall0.elapsed();
        let cpu = cpu0.and_then(|c| c.try_elapsed().ok()).unwrap_or_default();
        let (counts, md) = result.map_err(|e| self.prism_error(e))?;
        let out_counts = counts.map_or_else(BTreeMap::new, |(c, nbits)| bitstring_counts(c, nbits));
        let fidelity = match md.exactness {
            Exactness::Exact => 1.0,
            Exactness::Approximate {
                fidelity_lower_bound: Some(f),
            } => f,
            Exactness::Approximate {
                fidelity_lower_bound: None,
            } => match md.bond {
                Some(b) if b.peak < b.cap => 1.0,
                _ => 0.0,
            },
            _ => 0.0,
        };
        if let Some(min) = spec.options.min_fidelity
            && fidelity < min
        {
            return Err(self.sim_error(format!(
                "fidelity lower bound {fidelity:.6} is below the requested {min}"
            )));
        }
        let mut metadata = BTreeMap::new();
        metadata.insert("engine".into(), format!("{:?}", md.backend));
        metadata.insert("route".into(), format!("{:?}", md.reason));
        metadata.insert("version".into(), format!("prism-q {PRISM_VERSION}"));
        if let Some(b) = md.bond {
            metadata.insert("bond_peak".into(), b.peak.to_string());
            metadata.insert("bond_cap".into(), b.cap.to_string());
        }
        if !md.blocks.is_empty() {
            metadata.insert("blocks".into(), format!("{:?}", md.blocks));
        }
        Ok(Outcome {
            counts: out_counts,
            wall,
            cpu,
            peak_memory: None,
            fidelity,
            metadata,
        })
    }

    fn price(&self) -> Price {
        self.price
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_qubits: None,
            clifford_only: matches!(
                self.target,
                PrismTarget::Stabilizer | PrismTarget::FactoredStabilizer
            ),
            gates: None,
            dynamic_circuits: true,
            approximate: matches!(self.target, PrismTarget::Mps { .. } | PrismTarget::Auto),
        }
    }

    fn version(&self) -> String {
        format!("prism-q {PRISM_VERSION}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_become_ordered_bitstrings_and_keys_past_the_bits_merge() {
        let counts: HashMap<Vec<u64>, u64> = [
            (vec![0b01], 3),
            (vec![0b10], 4),
            // Bit 2 is past the two classical bits: the same outcome as 0b01.
            (vec![0b101], 5),
            (vec![0, 1], 1),
        ]
        .into_iter()
        .collect();
        let got = bitstring_counts(counts, 2);
        let want: BTreeMap<String, u64> = [("00".into(), 1), ("01".into(), 8), ("10".into(), 4)]
            .into_iter()
            .collect();
        assert_eq!(got, want);
        assert_eq!(bitstring(&[0, 1], 66), format!("01{}", "0".repeat(64)));
        // Past 64 bits the high word orders first, and bits past 66 merge too.
        let wide: HashMap<Vec<u64>, u64> = [
            (vec![u64::MAX, 0], 1),
            (vec![0, 1], 2),
            (vec![0, 0b101], 3),
            (vec![1], 4),
        ]
        .into_iter()
        .collect();
        let got: Vec<(String, u64)> = bitstring_counts(wide, 66).into_iter().collect();
        let ones = "1".repeat(64);
        let want = vec![
            (format!("00{}1", "0".repeat(63)), 4),
            (format!("00{ones}"), 1),
            (format!("01{}", "0".repeat(64)), 5),
        ];
        assert_eq!(got, want);
    }
}
