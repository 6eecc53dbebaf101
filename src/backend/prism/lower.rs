//! Lowering qroute's IR into prism-q's circuit type.
//!
//! Every gate of the table has a lowering. Gates prism-q has natively go across as they are;
//! the rest become prism-q's controlled / multi-controlled matrices or short decompositions.
//! Clifford gates are always lowered to prism-q's named Clifford gates (H, S, CX, ...) — even
//! `rz(pi/2)` or `cp(pi)` — because prism-q's stabilizer backends accept only those names.

use std::sync::OnceLock;

use num_complex::Complex64;
use prism_q::circuit::{ClassicalCondition, guarded};
use prism_q::{Gate as PGate, Instruction};
use smallvec::SmallVec;

use crate::circuit::{Circuit, Gate, GateMatrix, OpKind};

/// Why a circuit cannot be lowered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    /// An `opaque` gate has no definition to run.
    #[error("opaque gate `{name}` has no definition and cannot be executed")]
    Opaque {
        /// Its name.
        name: String,
    },
}

type Targets = SmallVec<[usize; 4]>;

fn targets(qs: &[usize]) -> Targets {
    qs.iter().copied().collect()
}

/// Lowers the whole circuit.
pub fn lower(circuit: &Circuit) -> Result<prism_q::Circuit, LowerError> {
    let mut out =
        prism_q::Circuit::new(circuit.num_qubits() as usize, circuit.num_clbits() as usize);
    let mut body: Vec<Instruction> = Vec::with_capacity(8);
    let mut qs: Vec<usize> = Vec::with_capacity(8);
    for op in circuit.ops() {
        body.clear();
        qs.clear();
        qs.extend(op.qubits.iter().map(|&q| q as usize));
        match op.kind {
            OpKind::Gate(g) => lower_gate(g, op.params, &qs, &mut body),
            OpKind::Opaque(i) => {
                return Err(LowerError::Opaque {
                    name: circuit.opaque_gates()[i as usize].name.clone(),
                });
            }
            OpKind::Measure => body.push(Instruction::Measure {
                qubit: qs[0],
                classical_bit: op.clbit.unwrap_or(0) as usize,
            }),
            OpKind::Reset => body.push(Instruction::Reset { qubit: qs[0] }),
            OpKind::Barrier => body.push(Instruction::Barrier {
                qubits: targets(&qs),
            }),
        }
        match op.condition {
            None => out.instructions.append(&mut body),
            Some(cond) => {
                let reg = &circuit.cregs()[cond.creg as usize];
                let condition = match cond.bit {
                    Some(b) if cond.value == 1 => {
                        ClassicalCondition::BitIsOne((reg.offset + b) as usize)
                    }
                    Some(b) => ClassicalCondition::BitIsZero((reg.offset + b) as usize),
                    None => ClassicalCondition::RegisterEquals {
                        offset: reg.offset as usize,
                        size: reg.size as usize,
                        value: cond.value,
                    },
                };
                // A value that does not fit the register can never be read.
                if cond.bit.is_none() && reg.size < 64 && cond.value >> reg.size != 0 {
                    continue;
                }
                let body = std::mem::take(&mut body);
                if let Some(instr) = guarded(condition, body) {
                    out.instructions.push(instr);
                }
            }
        }
    }
    Ok(out)
}

fn g1(body: &mut Vec<Instruction>, gate: PGate, q: usize) {
    body.push(Instruction::Gate {
        gate,
        targets: targets(&[q]),
    });
}

fn g2(body: &mut Vec<Instruction>, gate: PGate, a: usize, b: usize) {
    body.push(Instruction::Gate {
        gate,
        targets: targets(&[a, b]),
    });
}

fn mat2(m: &GateMatrix) -> [[Complex64; 2]; 2] {
    [[m.get(0, 0), m.get(0, 1)], [m.get(1, 0), m.get(1, 1)]]
}

/// Appends the prism-q instructions for one gate.
pub(crate) fn lower_gate(g: Gate, params: &[f64], qs: &[usize], body: &mut Vec<Instruction>) {
    use Gate::*;
    match g {
        // Named gates prism-q has.
        X => g1(body, PGate::X, qs[0]),
        Y => g1(body, PGate::Y, qs[0]),
        Z => g1(body, PGate::Z, qs[0]),
        H => g1(body, PGate::H, qs[0]),
        S => g1(body, PGate::S, qs[0]),
        Sdg => g1(body, PGate::Sdg, qs[0]),
        T => g1(body, PGate::T, qs[0]),
        Tdg => g1(body, PGate::Tdg, qs[0]),
        Sx => g1(body, PGate::SX, qs[0]),
        Sxdg => g1(body, PGate::SXdg, qs[0]),
        Id | U0 => g1(body, PGate::Id, qs[0]),
        Cx | BigCx => g2(body, PGate::Cx, qs[0], qs[1]),
        Cz => g2(body, PGate::Cz, qs[0], qs[1]),
        Swap => g2(body, PGate::Swap, qs[0], qs[1]),
        Cy => controlled_pauli(body, PGate::Y, qs[0], qs[1]),
        // Parameterised single-qubit gates: named Cliffords when they are Clifford.
        Rx | Ry | Rz | P | U1 | U2 | U3 | U | BigU => {
            if g.is_clifford(params) {
                clifford_1q(body, &g.matrix(params), qs[0]);
            } else {
                let gate = match g {
                    Rx => PGate::Rx(params[0]),
                    Ry => PGate::Ry(params[0]),
                    Rz => PGate::Rz(params[0]),
                    P | U1 => PGate::P(params[0]),
                    _ => PGate::Fused(Box::new(mat2(&g.matrix(params)))),
                };
                g1(body, gate, qs[0]);
            }
        }
        // Controlled single-qubit gates.
        Ch | Csx | Crx | Cry | Crz | Cu1 | Cp | Cu3 | Cu => {
            let base = match g {
                Ch => H.matrix(&[]),
                Csx => Sx.matrix(&[]),
                Crx => Rx.matrix(params),
                Cry => Ry.matrix(params),
                Crz => Rz.matrix(params),
                Cu1 | Cp => P.matrix(params),
                _ => {
                    // cu3 and cu: the matrix's target block is the controlled 2x2.
                    let m = g.matrix(params);
                    GateMatrix::new(1, vec![m.get(1, 1), m.get(1, 3), m.get(3, 1), m.get(3, 3)])
                }
            };
            match phase_pauli(&base) {
                Some((quarter, pauli)) => {
                    // C(i^k P) = S^k on the control, then C(P).
                    let phase = [None, Some(PGate::S), Some(PGate::Z), Some(PGate::Sdg)];
                    if let Some(p) = &phase[quarter] {
                        g1(body, p.clone(), qs[0]);
                    }
                    if let Some(p) = pauli {
                        controlled_pauli(body, p, qs[0], qs[1]);
                    }
                }
                None => g2(body, PGate::cu(mat2(&base)), qs[0], qs[1]),
            }
        }
        Rzz | Rxx => {
            let (a, b) = (qs[0], qs[1]);
            let x_basis = g == Rxx;
            if x_basis {
                g1(body, PGate::H, a);
                g1(body, PGate::H, b);
            }
            if g.is_clifford(params) {
                // rzz(θ) = cx a,b; rz(θ) b; cx a,b
                g2(body, PGate::Cx, a, b);
                clifford_1q(body, &Rz.matrix(params), b);
                g2(body, PGate::Cx, a, b);
            } else {
                g2(body, PGate::Rzz(params[0]), a, b);
            }
            if x_basis {
                g1(body, PGate::H, a);
                g1(body, PGate::H, b);
            }
        }
        Ccx => mcx(body, mat2(&X.matrix(&[])), qs),
        C3x | C4x => mcx(body, mat2(&X.matrix(&[])), qs),
        C3sqrtx => mcx(body, mat2(&Sx.matrix(&[])), qs),
        Cswap => {
            let (c, a, b) = (qs[0], qs[1], qs[2]);
            g2(body, PGate::Cx, b, a);
            mcx(body, mat2(&X.matrix(&[])), &[c, a, b]);
            g2(body, PGate::Cx, b, a);
        }
        Rccx | Rc3x => {
            for (sub, ops) in g.definition().unwrap_or(&[]) {
                let mapped: Vec<usize> = ops.iter().map(|&i| qs[i]).collect();
                lower_gate(*sub, &[], &mapped, body);
            }
        }
    }
}

fn mcx(body: &mut Vec<Instruction>, m: [[Complex64; 2]; 2], qs: &[usize]) {
    body.push(Instruction::Gate {
        gate: PGate::mcu(m, (qs.len() - 1) as u8),
        targets: targets(qs),
    });
}

/// `C(P)` for a Pauli P with control `c` and target `t`, as named Clifford gates.
fn controlled_pauli(body: &mut Vec<Instruction>, p: PGate, c: usize, t: usize) {
    match p {
        PGate::X => g2(body, PGate::Cx, c, t),
        PGate::Z => g2(body, PGate::Cz, c, t),
        PGate::Y => {
            // cy = (I ⊗ S) · cx · (I ⊗ S†)
            g1(body, PGate::Sdg, t);
            g2(body, PGate::Cx, c, t);
            g1(body, PGate::S, t);
        }
        _ => {}
    }
}

/// `Some((k, P))` when `m = i^k · P` for a Pauli `P` (`None` = identity).
fn phase_pauli(m: &GateMatrix) -> Option<(usize, Option<PGate>)> {
    let i = Complex64::new(0.0, 1.0);
    for (pauli, pm) in [
        (None, Gate::Id.matrix(&[])),
        (Some(PGate::X), Gate::X.matrix(&[])),
        (Some(PGate::Y), Gate::Y.matrix(&[])),
        (Some(PGate::Z), Gate::Z.matrix(&[])),
    ] {
        let mut phase = Complex64::new(1.0, 0.0);
        for k in 0..4 {
            let close = m
                .as_slice()
                .iter()
                .zip(pm.as_slice())
                .all(|(a, b)| (a - phase * b).norm() < 1e-9);
            if close {
                return Some((k, pauli));
            }
            phase *= i;
        }
    }
    None
}

/// The 24 single-qubit Cliffords as words in prism-q's named gates, shortest first.
fn clifford_table() -> &'static [(GateMatrix, Vec<PGate>)] {
    static TABLE: OnceLock<Vec<(GateMatrix, Vec<PGate>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let named: [(PGate, Gate); 9] = [
            (PGate::Id, Gate::Id),
            (PGate::X, Gate::X),
            (PGate::Y, Gate::Y),
            (PGate::Z, Gate::Z),
            (PGate::H, Gate::H),
            (PGate::S, Gate::S),
            (PGate::Sdg, Gate::Sdg),
            (PGate::SX, Gate::Sx),
            (PGate::SXdg, Gate::Sxdg),
        ];
        let mut table: Vec<(GateMatrix, Vec<PGate>)> = Vec::new();
        let mut frontier: Vec<(GateMatrix, Vec<PGate>)> = vec![(GateMatrix::identity(1), vec![])];
        // Breadth-first over words; a word is applied left to right.
        while table.len() < 24 && !frontier.is_empty() {
            let mut next = Vec::new();
            for (m, word) in &frontier {
                if !table.iter().any(|(t, _)| t.equal_up_to_phase(m, 1e-9)) {
                    table.push((m.clone(), word.clone()));
                }
                for (pg, g) in &named {
                    let nm = g.matrix(&[]).mul(m);
                    if !table.iter().any(|(t, _)| t.equal_up_to_phase(&nm, 1e-9))
                        && !next
                            .iter()
                            .any(|(t, _): &(GateMatrix, Vec<PGate>)| t.equal_up_to_phase(&nm, 1e-9))
                    {
                        let mut w = word.clone();
                        w.push(pg.clone());
                        next.push((nm, w));
                    }
                }
            }
            frontier = next;
        }
        table
    })
}

/// Appends named Clifford gates equal (up to phase) to the 2x2 Clifford `m`.
fn clifford_1q(body: &mut Vec<Instruction>, m: &GateMatrix, q: usize) {
    match clifford_table()
        .iter()
        .find(|(t, _)| t.equal_up_to_phase(m, 1e-9))
    {
        Some((_, word)) => {
            for g in word {
                g1(body, g.clone(), q);
            }
        }
        // Not reachable for a Clifford matrix; keep the exact matrix rather than fail.
        None => g1(body, PGate::Fused(Box::new(mat2(m))), q),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_all_24_single_qubit_cliffords() {
        assert_eq!(clifford_table().len(), 24);
        assert!(clifford_table().iter().all(|(_, w)| w.len() <= 3));
    }
}
