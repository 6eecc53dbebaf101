//! Circuit → GPU operations: each gate becomes a 2x2 (with control mask), 4x4 or diagonal
//! operation; runs of uncontrolled single-qubit gates on one qubit are fused into one matrix.

use num_complex::Complex64;

use crate::circuit::{Circuit, Gate, GateMatrix, OpKind};

/// One GPU operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GpuOp {
    /// 0: 2x2 on q0; 1: 4x4 on (q0, q1); 2: diagonal on q0 (and q1 unless 32).
    pub(crate) kind: u32,
    pub(crate) q0: u32,
    pub(crate) q1: u32,
    pub(crate) cmask: u32,
    /// 4, 16 or up to 4 entries (diagonal), row-major.
    pub(crate) m: Vec<Complex64>,
}

/// The compiled circuit: operations, and (qubit, clbit) pairs of its terminal measurements.
#[derive(Debug, Clone, Default)]
pub(crate) struct Program {
    pub(crate) ops: Vec<GpuOp>,
    pub(crate) measures: Vec<(u32, u32)>,
}

fn mask(qs: &[u32]) -> u32 {
    qs.iter().fold(0, |m, &q| m | (1u32 << q))
}

fn block(m: &GateMatrix, ctrl: usize) -> Vec<Complex64> {
    // The target block of a matrix whose first `ctrl` operands are controls: rows and
    // columns with all control bits set.
    let c = (1usize << ctrl) - 1;
    let mut out = Vec::with_capacity(4);
    for r in 0..2 {
        for col in 0..2 {
            out.push(m.get((r << ctrl) | c, (col << ctrl) | c));
        }
    }
    out
}

fn mul2(a: &[Complex64], b: &[Complex64]) -> Vec<Complex64> {
    // a · b for 2x2 row-major.
    vec![
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
    ]
}

struct Builder {
    ops: Vec<GpuOp>,
    /// Per qubit: the product of single-qubit gates not yet emitted.
    pending: Vec<Option<Vec<Complex64>>>,
}

impl Builder {
    fn flush(&mut self, q: u32) {
        if let Some(m) = self.pending[q as usize].take() {
            let diagonal = m[1].norm() == 0.0 && m[2].norm() == 0.0;
            self.ops.push(if diagonal {
                GpuOp {
                    kind: 2,
                    q0: q,
                    q1: 32,
                    cmask: 0,
                    m: vec![m[0], m[3]],
                }
            } else {
                GpuOp {
                    kind: 0,
                    q0: q,
                    q1: 0,
                    cmask: 0,
                    m,
                }
            });
        }
    }

    fn one(&mut self, q: u32, m: Vec<Complex64>) {
        let slot = &mut self.pending[q as usize];
        *slot = Some(match slot.take() {
            Some(prev) => mul2(&m, &prev),
            None => m,
        });
    }

    fn push(&mut self, touched: &[u32], op: GpuOp) {
        for &q in touched {
            self.flush(q);
        }
        self.ops.push(op);
    }

    fn gate(&mut self, g: Gate, params: &[f64], qs: &[u32]) {
        use Gate::*;
        let m = g.matrix(params);
        match g.arity() {
            1 => self.one(qs[0], m.as_slice().to_vec()),
            _ => match g {
                Swap | Rxx | Rzz => {
                    let op = if g.info().diagonal {
                        GpuOp {
                            kind: 2,
                            q0: qs[0],
                            q1: qs[1],
                            cmask: 0,
                            m: (0..4).map(|i| m.get(i, i)).collect(),
                        }
                    } else {
                        GpuOp {
                            kind: 1,
                            q0: qs[0],
                            q1: qs[1],
                            cmask: 0,
                            m: m.as_slice().to_vec(),
                        }
                    };
                    self.push(qs, op);
                }
                Cswap => {
                    let sw = Swap.matrix(&[]);
                    self.push(
                        qs,
                        GpuOp {
                            kind: 1,
                            q0: qs[1],
                            q1: qs[2],
                            cmask: mask(&qs[..1]),
                            m: sw.as_slice().to_vec(),
                        },
                    );
                }
                Rccx | Rc3x => {
                    for (sub, ops) in g.definition().unwrap_or(&[]) {
                        let mapped: Vec<u32> = ops.iter().map(|&i| qs[i]).collect();
                        self.gate(*sub, &[], &mapped);
                    }
                }
                // Every other multi-qubit gate is a controlled single-qubit gate: controls
                // first, target last.
                _ => {
                    let ctrl = qs.len() - 1;
                    let b = block(&m, ctrl);
                    let target = qs[ctrl];
                    let op = if g.info().diagonal {
                        GpuOp {
                            kind: 2,
                            q0: target,
                            q1: 32,
                            cmask: mask(&qs[..ctrl]),
                            m: vec![b[0], b[3]],
                        }
                    } else {
                        GpuOp {
                            kind: 0,
                            q0: target,
                            q1: 0,
                            cmask: mask(&qs[..ctrl]),
                            m: b,
                        }
                    };
                    self.push(qs, op);
                }
            },
        }
    }
}

/// Compiles a circuit the GPU backend accepted (no opaque gates, no mid-circuit measurement,
/// reset or condition; fewer than 32 qubits).
pub(crate) fn compile(circuit: &Circuit) -> Program {
    let n = circuit.num_qubits() as usize;
    let mut b = Builder {
        ops: Vec::new(),
        pending: vec![None; n],
    };
    let mut measures = Vec::new();
    for op in circuit.ops() {
        match op.kind {
            OpKind::Gate(g) => b.gate(g, op.params, op.qubits),
            OpKind::Measure => measures.push((op.qubits[0], op.clbit.unwrap_or(0))),
            _ => {}
        }
    }
    for q in 0..n as u32 {
        b.flush(q);
    }
    Program {
        ops: b.ops,
        measures,
    }
}
