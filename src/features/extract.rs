//! One pass over a circuit that computes every feature of schema v2.

use rustc_hash::FxHashSet;

use super::cost::{CostPass, tn_width};
use super::{FEATURE_SCHEMA, Feature, Features, NUM_FEATURES};
use crate::circuit::{Circuit, OpKind};

/// One ASAP level in a wire's key (see `key` in [`extract`]): levels count in the high 32 bits.
const ONE_LEVEL: u64 = 1 << 32;

/// Above this many qubits the interaction graph's edge set is hashed instead of a bit matrix.
const BITSET_MAX_QUBITS: usize = 4096;

/// The interaction graph, built edge by edge.
struct Interactions {
    n: usize,
    bits: Vec<u64>,
    hashed: FxHashSet<u64>,
    degree: Vec<u32>,
    parent: Vec<u32>,
    size: Vec<u32>,
    edges: u64,
}

impl Interactions {
    fn new(n: usize) -> Interactions {
        let bits = if n <= BITSET_MAX_QUBITS {
            vec![0u64; (n * n).div_ceil(64)]
        } else {
            Vec::new()
        };
        Interactions {
            n,
            bits,
            hashed: FxHashSet::default(),
            degree: vec![0; n],
            parent: (0..n as u32).collect(),
            size: vec![1; n],
            edges: 0,
        }
    }

    #[inline]
    fn add(&mut self, a: u32, b: u32) {
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        let new = if self.n <= BITSET_MAX_QUBITS {
            let i = a as usize * self.n + b as usize;
            let (w, m) = (i / 64, 1u64 << (i % 64));
            let fresh = self.bits[w] & m == 0;
            self.bits[w] |= m;
            fresh
        } else {
            self.hashed.insert((a as u64) << 32 | b as u64)
        };
        if new {
            self.edges += 1;
            self.degree[a as usize] += 1;
            self.degree[b as usize] += 1;
            self.union(a, b);
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
    }

    /// Size of the component `q` is in.
    #[inline]
    fn component_size(&mut self, q: u32) -> u32 {
        let r = self.find(q);
        self.size[r as usize]
    }

    /// Every edge (a, b), a < b.
    fn edge_list(&self) -> Vec<(u32, u32)> {
        if self.n > BITSET_MAX_QUBITS {
            return self
                .hashed
                .iter()
                .map(|&k| ((k >> 32) as u32, k as u32))
                .collect();
        }
        let mut out = Vec::with_capacity(self.edges as usize);
        for (w, &word) in self.bits.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                out.push(((i / self.n) as u32, (i % self.n) as u32));
            }
        }
        out
    }

    /// (components, largest component size)
    fn components(&mut self) -> (u64, u64) {
        let mut count = 0;
        let mut largest = 0;
        for q in 0..self.n as u32 {
            if self.find(q) == q {
                count += 1;
                largest = largest.max(self.size[q as usize] as u64);
            }
        }
        (count, largest)
    }
}

/// Computes the features of `circuit` (schema v2; see `docs/features.md`).
pub fn extract(circuit: &Circuit) -> Features {
    let n = circuit.num_qubits() as usize;
    let nc = circuit.num_clbits() as usize;
    let cregs = circuit.cregs();

    // Per wire (qubits, then bits): ASAP level in the high 32 bits, and in the low 32 the
    // number of multi-qubit gates on the deepest path that ends there. One key orders both:
    // the largest key over some wires is the deepest level, and among the paths that reach it
    // the one with the most multi-qubit gates. (Neither count reaches 2^32: that many
    // operations would not fit a `Circuit`'s u32 operand offsets.)
    let mut key = vec![0u64; n + nc];
    let mut mq_level = vec![0u32; n];
    // Level of a measurement on each qubit not yet followed by anything (0 = none).
    let mut pending_measure = vec![0u32; n];
    // Qubits with such a measurement.
    let mut pending = 0u32;
    let mut mcm_layers: Vec<bool> = Vec::new();
    let mut graph = Interactions::new(n);
    let mut cost = CostPass::new(n);
    // Cut c lies between qubits c and c+1.
    let mut cross_diff = vec![0i64; n + 1];
    let mut bond_diff = vec![0i64; n + 1];

    let mut gate_count = 0u64;
    let (mut g1, mut g2, mut g3) = (0u64, 0u64, 0u64);
    let (mut measures, mut resets, mut conditionals) = (0u64, 0u64, 0u64);
    let (mut non_clifford, mut t_count, mut param_gates, mut diagonal) = (0u64, 0u64, 0u64, 0u64);
    let mut mid_circuit = false;
    let mut layer_ops = 0u64;
    let mut occupied = 0u64;
    let mut max_span = 0u64;
    // Wires an operation with a bit or a condition occupies (qubits, then n + bit).
    let mut wide: Vec<u32> = Vec::with_capacity(8);

    for op in circuit.ops() {
        if op.kind == OpKind::Barrier {
            // As in Qiskit's depth: a barrier adds no layer but lines its qubits up.
            let top = deepest(&key, op.qubits);
            for &q in op.qubits {
                key[q as usize] = top;
            }
            continue;
        }
        let arity = op.qubits.len();
        match op.kind {
            OpKind::Gate(g) => {
                gate_count += 1;
                let info = g.info();
                if info.num_params > 0 {
                    param_gates += 1;
                }
                if info.diagonal {
                    diagonal += 1;
                }
                if !g.is_clifford(op.params) {
                    non_clifford += 1;
                    if g.is_t_like(op.params) {
                        t_count += 1;
                    }
                }
            }
            OpKind::Opaque(_) => {
                gate_count += 1;
                non_clifford += 1;
                param_gates += u64::from(!op.params.is_empty());
            }
            OpKind::Measure => measures += 1,
            OpKind::Reset => resets += 1,
            OpKind::Barrier => {}
        }
        let is_gate = op.is_gate();
        let multi = is_gate && arity >= 2;
        if is_gate {
            match arity {
                1 => g1 += 1,
                2 => g2 += 1,
                _ => g3 += 1,
            }
        }

        // Wires this operation occupies: for a gate, just its qubits.
        let wires: &[u32] = if op.clbit.is_none() && op.condition.is_none() {
            op.qubits
        } else {
            wide.clear();
            wide.extend_from_slice(op.qubits);
            if let Some(c) = op.clbit {
                wide.push(n as u32 + c);
            }
            if let Some(cond) = op.condition {
                conditionals += 1;
                let r = &cregs[cond.creg as usize];
                match cond.bit {
                    None => wide.extend(r.range().map(|c| n as u32 + c)),
                    Some(b) => wide.push(n as u32 + r.offset + b),
                }
            }
            &wide
        };
        // One level deeper, with one more multi-qubit gate on the path if this is one.
        let k = deepest(&key, wires) + ONE_LEVEL + u64::from(multi);
        for &w in wires {
            key[w as usize] = k;
        }
        let l = (k / ONE_LEVEL) as u32;
        layer_ops += 1;
        occupied += arity as u64;

        // Mid-circuit measurement: a measured qubit touched again by a gate or reset.
        match op.kind {
            OpKind::Measure => {
                let q = op.qubits[0] as usize;
                pending += u32::from(pending_measure[q] == 0);
                pending_measure[q] = l;
            }
            _ => {
                // Most circuits measure only at the end: nothing to look for before that.
                if pending > 0 {
                    for &q in op.qubits {
                        let m = pending_measure[q as usize];
                        if m > 0 {
                            mid_circuit = true;
                            mark(&mut mcm_layers, m);
                            pending_measure[q as usize] = 0;
                            pending -= 1;
                        }
                    }
                }
                if op.kind == OpKind::Reset {
                    mark(&mut mcm_layers, l);
                }
            }
        }

        if multi {
            let m = op
                .qubits
                .iter()
                .map(|&q| mq_level[q as usize])
                .max()
                .unwrap_or(0)
                + 1;
            let (mut lo, mut hi) = (u32::MAX, 0u32);
            for (i, &a) in op.qubits.iter().enumerate() {
                mq_level[a as usize] = m;
                lo = lo.min(a);
                hi = hi.max(a);
                for &b in &op.qubits[i + 1..] {
                    graph.add(a, b);
                }
            }
            max_span = max_span.max((hi - lo) as u64);
            // The gate crosses cuts lo..hi-1; it can raise the Schmidt rank across each of
            // them by at most 4^floor(k/2) for k qubits (one factor of 4 per qubit on the
            // smaller side), i.e. 2*floor(k/2) bits of bond dimension.
            cross_diff[lo as usize] += 1;
            cross_diff[hi as usize] -= 1;
            let w = 2 * (arity / 2) as i64;
            bond_diff[lo as usize] += w;
            bond_diff[hi as usize] -= w;
        }
        let component = op.qubits.first().map_or(1, |&q| graph.component_size(q));
        cost.op(&op, component);
    }

    let last = key.iter().copied().max().unwrap_or(0);
    let depth = (last / ONE_LEVEL) as f64;
    let critical_2q = (last as u32) as f64;
    let multi_total = (g2 + g3) as f64;
    let (components, largest) = graph.components();

    let (mut max_cross, mut max_bond) = (0i64, 0i64);
    let (mut cross, mut bond) = (0i64, 0i64);
    for c in 0..n.saturating_sub(1) {
        cross += cross_diff[c];
        bond += bond_diff[c];
        max_cross = max_cross.max(cross);
        let side = (c + 1).min(n - c - 1) as i64;
        max_bond = max_bond.max(bond.min(side));
    }

    let nf = n as f64;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let mut v = [0.0f64; NUM_FEATURES];
    let mut set = |f: Feature, x: f64| v[f as usize] = x;
    set(Feature::NumQubits, nf);
    set(Feature::NumClbits, nc as f64);
    set(Feature::GateCount, gate_count as f64);
    set(Feature::Depth, depth);
    set(Feature::Gates1q, g1 as f64);
    set(Feature::Gates2q, g2 as f64);
    set(Feature::Gates3qPlus, g3 as f64);
    set(Feature::MeasureCount, measures as f64);
    set(Feature::ResetCount, resets as f64);
    set(Feature::ConditionalCount, conditionals as f64);
    set(Feature::HasMidCircuitMeasurement, flag(mid_circuit));
    set(Feature::HasReset, flag(resets > 0));
    set(Feature::HasConditional, flag(conditionals > 0));
    set(Feature::NonCliffordCount, non_clifford as f64);
    set(Feature::TCount, t_count as f64);
    set(Feature::IsClifford, flag(non_clifford == 0));
    set(Feature::ParamGateCount, param_gates as f64);
    set(Feature::DiagonalGateCount, diagonal as f64);
    set(
        Feature::ProgramCommunication,
        ratio(2.0 * graph.edges as f64, nf * (nf - 1.0)),
    );
    set(Feature::CriticalDepth, ratio(critical_2q, multi_total));
    set(
        Feature::EntanglementRatio,
        ratio(multi_total, gate_count as f64),
    );
    set(
        Feature::Parallelism,
        if n > 1 && depth > 0.0 {
            ((layer_ops as f64 / depth - 1.0) / (nf - 1.0)).clamp(0.0, 1.0)
        } else {
            0.0
        },
    );
    set(Feature::Liveness, ratio(occupied as f64, nf * depth));
    set(
        Feature::Measurement,
        ratio(mcm_layers.iter().filter(|&&b| b).count() as f64, depth),
    );
    set(Feature::InteractionEdges, graph.edges as f64);
    set(
        Feature::InteractionMaxDegree,
        graph.degree.iter().copied().max().unwrap_or(0) as f64,
    );
    set(Feature::InteractionComponents, components as f64);
    set(Feature::LargestComponent, largest as f64);
    set(
        Feature::MultiQubitDepth,
        mq_level.iter().copied().max().unwrap_or(0) as f64,
    );
    set(Feature::MaxGateSpan, max_span as f64);
    set(Feature::MaxCutCrossings, max_cross as f64);
    set(Feature::Log2BondBound, max_bond as f64);
    set(Feature::DenseMemoryBytes, 16.0 * nf.exp2());
    let costs = cost.finish();
    set(Feature::FusedOps, costs.fused_ops);
    set(Feature::Log2SvWork, costs.log2_sv_work);
    set(Feature::Log2Mps64Work, costs.log2_mps_work[0]);
    set(Feature::Mps64Saturation, costs.mps_saturation[0]);
    set(Feature::Log2Mps256Work, costs.log2_mps_work[1]);
    set(Feature::Mps256Saturation, costs.mps_saturation[1]);
    set(Feature::Log2SparseWork, costs.log2_sparse_work);
    set(Feature::Log2FactoredWork, costs.log2_factored_work);
    set(Feature::Log2StabilizerWork, costs.log2_stabilizer_work);
    set(
        Feature::TnWidth,
        f64::from(tn_width(n, graph.edge_list().into_iter())),
    );
    Features {
        schema_version: FEATURE_SCHEMA.version,
        values: v.to_vec(),
    }
}

/// The largest key over `wires`: see `key` in [`extract`].
#[inline]
fn deepest(key: &[u64], wires: &[u32]) -> u64 {
    wires.iter().map(|&w| key[w as usize]).max().unwrap_or(0)
}

#[inline]
fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

#[inline]
fn mark(layers: &mut Vec<bool>, l: u32) {
    let i = l as usize;
    if layers.len() <= i {
        layers.resize(i + 1, false);
    }
    layers[i] = true;
}
