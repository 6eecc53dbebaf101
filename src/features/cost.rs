//! Analytic work estimates per simulator family (schema v2), accumulated op by op in the same
//! pass as the structural features.
//!
//! Structural features alone do not extrapolate: a forest sees "many two-qubit gates" on an
//! unseen circuit and answers with a typical time, where one engine's work grows as 2^n and
//! another's as bond³. These estimates give each engine family a number that grows the way its
//! work does, so a model can calibrate ln(time) against ln(work) and extend the line beyond the
//! circuits it saw. Each is defined in `docs/features.md` with the engine behaviour it models
//! (prism-q 0.37's state vector, MPS, sparse, factored, stabilizer and tensor-network engines).
//!
//! Exponential sums are kept as plain `f64`s with exponents capped at [`MAX_LOG2`], so every
//! estimate stays finite on any circuit (2^960 is already beyond every engine).

use crate::circuit::{Gate, Op, OpKind};

/// Largest log2 any term of a work sum reaches.
pub(super) const MAX_LOG2: u32 = 960;

/// Bond caps of the MPS estimates: those of the built-in `mps-64` and `mps-256` backends.
pub(super) const MPS_CHI: [f64; 2] = [64.0, 256.0];

/// Fixed work per (gate, spanned cut) in the MPS estimate, besides bond³ (prism-q's
/// dispatcher charges the same overhead per spanned cut).
const MPS_CUT_OVERHEAD: f64 = 256.0;

/// Above this many qubits the tensor-network width skips greedy elimination (quadratic in
/// the qubits) and keeps the linear-order bound.
const ELIMINATION_MAX_QUBITS: usize = 256;

/// No fused block open on a qubit.
const NONE: u32 = u32::MAX;

/// Running sums of the estimates.
pub(super) struct CostPass {
    n: usize,
    /// Per qubit: the fused block open on it (id, partner; partner [`NONE`] for a
    /// single-qubit block).
    open: Vec<(u32, u32)>,
    next_block: u32,
    fused_ops: u64,
    /// MPS: per qubit, the two-qubit block it last took part in (0 = none).
    qubit_block: Vec<u32>,
    /// MPS: per cut, the block that last crossed it and that block's rank (the same at
    /// both caps).
    cut_block: Vec<u32>,
    rank: Vec<f64>,
    /// MPS per bond cap ([`MPS_CHI`]).
    mps: [Bonds; 2],
    mps_next: u32,
    /// log2 of the non-zero amplitude bound.
    sparse_log2: u32,
    sparse_work: f64,
    factored_work: f64,
    gate_qubits: u64,
    measurements: u64,
}

/// The MPS estimate at one bond cap, per cut.
struct Bonds {
    /// min(exact bound, χ).
    limit: Vec<f64>,
    /// Whether χ, not the exact bound, sets the limit.
    capped: Vec<bool>,
    bond: Vec<f64>,
    /// The bond before the current block.
    base: Vec<f64>,
    /// The largest bond any gate wanted (above the limit: truncated).
    peak: Vec<f64>,
    /// Work charged to the cut.
    work: Vec<f64>,
}

/// The estimates of one circuit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Costs {
    pub(super) fused_ops: f64,
    pub(super) log2_sv_work: f64,
    pub(super) log2_mps_work: [f64; 2],
    pub(super) mps_saturation: [f64; 2],
    pub(super) log2_sparse_work: f64,
    pub(super) log2_factored_work: f64,
    pub(super) log2_stabilizer_work: f64,
}

/// 2^min(k, [`MAX_LOG2`]), exactly, from the exponent bits of an f64 (this and one pass over
/// a gate's cuts for both bond caps took a 10k-gate random circuit on 40 qubits from 1.58 to
/// 1.02 ms, `cargo bench --bench features`).
#[inline]
fn exp2(k: u32) -> f64 {
    f64::from_bits((u64::from(k.min(MAX_LOG2)) + 1023) << 52)
}

/// The Schmidt rank across any cut of a multi-qubit gate, as the MPS estimate counts it:
/// 2 for a gate that is a sum of two products (controlled gates, `rzz`, `rxx`), 4 otherwise.
fn operator_rank(op: &Op<'_>) -> f64 {
    match op.kind {
        OpKind::Gate(g) => match g {
            Gate::Swap | Gate::Cswap => 4.0,
            _ => 2.0,
        },
        _ => 4.0,
    }
}

/// How many factors of 2 a gate can multiply the non-zero amplitudes by: 0 for a diagonal
/// gate or a permutation (up to phases) of basis states, else the qubits it can branch.
fn branching(op: &Op<'_>) -> u32 {
    match op.kind {
        OpKind::Gate(g) => {
            if g.info().diagonal {
                return 0;
            }
            use Gate::*;
            match g {
                X | Y | Cx | BigCx | Cy | Swap | Ccx | Cswap | Rccx | Rc3x | C3x | C4x => 0,
                Rxx => 2,
                _ => 1,
            }
        }
        OpKind::Opaque(_) => op.qubits.len() as u32,
        _ => 0,
    }
}

impl CostPass {
    pub(super) fn new(n: usize) -> CostPass {
        let cuts = n.saturating_sub(1);
        let exact: Vec<f64> = (0..cuts)
            .map(|c| exp2((c + 1).min(n - c - 1) as u32))
            .collect();
        let bonds = |chi: f64| Bonds {
            limit: exact.iter().map(|&e| e.min(chi)).collect(),
            capped: exact.iter().map(|&e| chi < e).collect(),
            bond: vec![1.0; cuts],
            base: vec![1.0; cuts],
            peak: vec![1.0; cuts],
            work: vec![0.0; cuts],
        };
        CostPass {
            n,
            open: vec![(NONE, NONE); n],
            next_block: 0,
            fused_ops: 0,
            qubit_block: vec![0; n],
            cut_block: vec![0; cuts],
            rank: vec![1.0; cuts],
            mps: MPS_CHI.map(bonds),
            mps_next: 1,
            sparse_log2: 0,
            sparse_work: 0.0,
            factored_work: 0.0,
            gate_qubits: 0,
            measurements: 0,
        }
    }

    /// Accounts one op (barriers excluded); `component` is the size of the interaction-graph
    /// component its qubits belong to once it has been applied.
    #[inline]
    pub(super) fn op(&mut self, op: &Op<'_>, component: u32) {
        self.fuse(op);
        let gate = op.is_gate();
        if gate {
            self.gate_qubits += op.qubits.len() as u64;
            if op.qubits.len() >= 2 {
                self.mps(op);
            }
            self.sparse_log2 = (self.sparse_log2 + branching(op)).min(self.n as u32);
            self.sparse_work += exp2(self.sparse_log2);
        } else {
            // Measure or reset: a tableau row reduction over n rows.
            self.measurements += 1;
        }
        self.factored_work += exp2(component);
    }

    /// Fusion, approximately as prism-q's state vector fuses before it sweeps: a run of
    /// single-qubit gates on one qubit is one op, and a two-qubit gate absorbs the runs just
    /// before it on its qubits, the runs after it, and the next two-qubit gates on the same
    /// pair. Anything else (three or more qubits, measure, reset, a condition) is one op and
    /// closes the blocks on its qubits.
    #[inline]
    fn fuse(&mut self, op: &Op<'_>) {
        let plain = op.is_gate() && op.condition.is_none();
        match (plain, op.qubits) {
            (true, &[q]) => {
                let q = q as usize;
                if self.open[q].0 == NONE {
                    self.fused_ops += 1;
                    self.open[q] = (self.new_block(), NONE);
                }
            }
            (true, &[a, b]) => {
                let (oa, ob) = (self.open[a as usize], self.open[b as usize]);
                if oa.0 != NONE && oa.0 == ob.0 && oa.1 == b {
                    return;
                }
                // Single-qubit runs just before it merge into it.
                for o in [oa, ob] {
                    if o.0 != NONE && o.1 == NONE {
                        self.fused_ops -= 1;
                    }
                }
                self.fused_ops += 1;
                let id = self.new_block();
                self.open[a as usize] = (id, b);
                self.open[b as usize] = (id, a);
            }
            _ => {
                self.fused_ops += 1;
                for &q in op.qubits {
                    self.open[q as usize] = (NONE, NONE);
                }
            }
        }
    }

    fn new_block(&mut self) -> u32 {
        self.next_block += 1;
        self.next_block - 1
    }

    /// Bond growth of a gate on two or more qubits, at every cut between its outermost
    /// qubits: consecutive gates on one pair form a block whose rank is capped at 4; a new
    /// block multiplies the bond it finds by its rank; the bond is capped by the exact bound
    /// 2^min(left, right) and by χ (a cap below the exact bound truncates: the cut
    /// saturates). Work per spanned cut: overhead + bond³.
    fn mps(&mut self, op: &Op<'_>) {
        let lo = *op.qubits.iter().min().unwrap_or(&0) as usize;
        let hi = *op.qubits.iter().max().unwrap_or(&0) as usize;
        let rank = operator_rank(op);
        let pair = op.qubits.len() == 2;
        let current = self.qubit_block[lo];
        let continues = pair
            && current != 0
            && self.qubit_block[hi] == current
            && self.cut_block[lo..hi].iter().all(|&b| b == current);
        let block = if continues {
            current
        } else {
            self.mps_next += 1;
            self.mps_next - 1
        };
        self.cut_block[lo..hi].fill(block);
        let ranks = &mut self.rank[lo..hi];
        if continues {
            ranks.iter_mut().for_each(|r| *r = (*r * rank).min(4.0));
        } else {
            ranks.fill(rank);
        }
        for m in &mut self.mps {
            if !continues {
                m.base[lo..hi].copy_from_slice(&m.bond[lo..hi]);
            }
            let cuts = m.bond[lo..hi]
                .iter_mut()
                .zip(&m.base[lo..hi])
                .zip(&m.limit[lo..hi])
                .zip(m.peak[lo..hi].iter_mut().zip(&mut m.work[lo..hi]))
                .zip(ranks.iter());
            for ((((bond, &base), &limit), (peak, work)), &r) in cuts {
                let want = base * r;
                *peak = peak.max(want);
                let b = want.min(limit);
                *bond = b;
                *work += MPS_CUT_OVERHEAD + b * b * b;
            }
        }
        for &q in op.qubits {
            self.qubit_block[q as usize] = if pair { block } else { 0 };
        }
    }

    /// The estimates, once every op has been seen.
    pub(super) fn finish(self) -> Costs {
        let nf = self.n as f64;
        let log2 = |w: f64| (1.0 + w).log2();
        let saturation = |m: &Bonds| {
            let cuts = m.limit.len();
            let hit = (0..cuts)
                .filter(|&c| m.capped[c] && m.peak[c] > m.limit[c])
                .count();
            if cuts == 0 {
                0.0
            } else {
                hit as f64 / cuts as f64
            }
        };
        Costs {
            fused_ops: self.fused_ops as f64,
            log2_sv_work: if self.fused_ops == 0 {
                0.0
            } else {
                (self.fused_ops as f64).log2() + nf.min(f64::from(MAX_LOG2))
            },
            log2_mps_work: self.mps.each_ref().map(|m| log2(m.work.iter().sum())),
            mps_saturation: self.mps.each_ref().map(saturation),
            log2_sparse_work: log2(self.sparse_work),
            log2_factored_work: log2(self.factored_work),
            log2_stabilizer_work: log2(
                nf * self.gate_qubits as f64 + nf * nf * self.measurements as f64,
            ),
        }
    }
}

/// An upper bound on the treewidth of the interaction graph (`edges` as (a, b), a < b, over
/// `n` qubits): the smaller of the vertex separation along the qubit order (at each cut, the
/// qubits left of it with a partner right of it) and, up to [`ELIMINATION_MAX_QUBITS`]
/// qubits, the width of a greedy min-degree elimination. 0 for a graph with no edge.
pub(super) fn tn_width(n: usize, edges: impl Iterator<Item = (u32, u32)> + Clone) -> u32 {
    // Vertex separation along the qubit order.
    let mut reach: Vec<u32> = (0..n as u32).collect();
    let mut any = false;
    for (a, b) in edges.clone() {
        any = true;
        reach[a as usize] = reach[a as usize].max(b);
    }
    if !any {
        return 0;
    }
    let mut ends = vec![0i64; n + 1];
    for (v, &r) in reach.iter().enumerate() {
        if r as usize > v {
            ends[v] += 1;
            ends[r as usize] -= 1;
        }
    }
    let (mut open, mut separation) = (0i64, 0i64);
    for e in &ends[..n] {
        open += e;
        separation = separation.max(open);
    }
    let separation = separation as u32;
    if n > ELIMINATION_MAX_QUBITS {
        return separation;
    }
    // Greedy min-degree elimination on bit rows.
    let words = n.div_ceil(64);
    let mut adj = vec![0u64; n * words];
    for (a, b) in edges {
        let (a, b) = (a as usize, b as usize);
        adj[a * words + b / 64] |= 1 << (b % 64);
        adj[b * words + a / 64] |= 1 << (a % 64);
    }
    let mut alive = vec![true; n];
    let degree = |adj: &[u64], v: usize| -> u32 {
        adj[v * words..(v + 1) * words]
            .iter()
            .map(|w| w.count_ones())
            .sum()
    };
    let mut width = 0;
    let mut row = vec![0u64; words];
    for _ in 0..n {
        let Some(v) = (0..n)
            .filter(|&v| alive[v])
            .min_by_key(|&v| degree(&adj, v))
        else {
            break;
        };
        width = width.max(degree(&adj, v));
        if width >= separation {
            return separation;
        }
        alive[v] = false;
        row.copy_from_slice(&adj[v * words..(v + 1) * words]);
        for (wi, &w) in row.iter().enumerate() {
            let mut bits = w;
            while bits != 0 {
                let u = wi * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                // u's neighbours gain v's other neighbours; v leaves every row.
                for (k, &r) in row.iter().enumerate() {
                    adj[u * words + k] |= r;
                }
                adj[u * words + u / 64] &= !(1 << (u % 64));
                adj[u * words + v / 64] &= !(1 << (v % 64));
            }
        }
        adj[v * words..(v + 1) * words].fill(0);
    }
    width.min(separation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn width(n: usize, edges: &[(u32, u32)]) -> u32 {
        tn_width(n, edges.iter().copied())
    }

    #[test]
    fn widths_of_known_graphs() {
        assert_eq!(width(5, &[]), 0);
        // A path has treewidth 1, a cycle 2, a star 1 (greedy elimination finds it where the
        // separation along this order is 4), a complete graph on k vertices k − 1.
        assert_eq!(width(6, &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]), 1);
        assert_eq!(width(5, &[(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)]), 2);
        assert_eq!(width(5, &[(0, 4), (1, 4), (2, 4), (3, 4)]), 1);
        let k5: Vec<(u32, u32)> = (0..5)
            .flat_map(|a| (a + 1..5).map(move |b| (a, b)))
            .collect();
        assert_eq!(width(5, &k5), 4);
        // A 4×4 grid (treewidth 4) in row-major order.
        let mut grid = Vec::new();
        for r in 0..4u32 {
            for c in 0..4u32 {
                let v = r * 4 + c;
                if c < 3 {
                    grid.push((v, v + 1));
                }
                if r < 3 {
                    grid.push((v, v + 4));
                }
            }
        }
        assert_eq!(width(16, &grid), 4);
    }
}
