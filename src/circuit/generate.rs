//! Seeded circuit generators.
//!
//! Every generator is a pure function of its [`GenSpec`]: the same kind, size, depth and seed
//! give the same circuit, on every machine, forever (see [`crate::rng`]). Every circuit gets a
//! register `q`, a register `c` of the same size and a final `measure q -> c`.

use std::f64::consts::{FRAC_PI_2, PI};

use crate::circuit::{Circuit, CircuitError, Gate};
use crate::rng::Rng;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum GenKind {
    /// GHZ state: h, then a chain of cx.
    Ghz,
    /// Quantum Fourier transform (with the final swaps) on |0…0⟩.
    Qft,
    /// W state (MQT Bench's construction).
    Wstate,
    /// Like Qiskit's `random_circuit`: per layer, qubits shuffled into groups of 1–3, each
    /// group gets a random qelib1 gate of that arity with angles uniform in [0, 2π).
    Random,
    /// Random Clifford layers: a random single-qubit Clifford on every qubit, then about n/4
    /// random cx/cz/cy/swap on random pairs.
    Clifford,
    /// 1D brickwork: random u3 on every qubit, then cx on (even, odd) pairs, alternating.
    Brickwork,
    /// QAOA for MaxCut on a ring: h, then per layer rzz(2γ) on ring edges and rx(2β).
    Qaoa,
    /// Hardware-efficient ansatz: per layer ry, rz on every qubit and a linear cx chain, then
    /// a final ry, rz layer.
    Hea,
}

impl GenKind {
    /// Whether the kind takes a depth (number of layers).
    pub fn has_depth(self) -> bool {
        !matches!(self, GenKind::Ghz | GenKind::Qft | GenKind::Wstate)
    }

    fn default_depth(self, qubits: u32) -> u32 {
        match self {
            GenKind::Random => 10,
            GenKind::Clifford | GenKind::Brickwork => qubits.max(1),
            GenKind::Qaoa => 2,
            GenKind::Hea => 3,
            GenKind::Ghz | GenKind::Qft | GenKind::Wstate => 0,
        }
    }
}

/// Unchecked generator parameters, as a user gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct GenSpec {
    /// Which circuit.
    #[cfg_attr(feature = "cli", arg(value_enum))]
    pub kind: GenKind,
    /// Number of qubits.
    #[cfg_attr(feature = "cli", arg(long, short = 'n'))]
    pub qubits: u32,
    /// Number of layers (random, clifford, brickwork, qaoa, hea). Default: 10 for random,
    /// the qubit count for clifford and brickwork, 2 for qaoa, 3 for hea.
    #[cfg_attr(feature = "cli", arg(long, short = 'd'))]
    pub depth: Option<u32>,
    /// Seed for every random choice; the same seed gives the same circuit.
    #[cfg_attr(feature = "cli", arg(long, short = 's', default_value_t = 0))]
    pub seed: u64,
}

/// Generator parameters that passed [`GenSpec::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedGenSpec {
    kind: GenKind,
    qubits: u32,
    depth: u32,
    seed: u64,
}

/// Most qubits a generator accepts.
pub const MAX_GEN_QUBITS: u32 = 1 << 20;
/// Most gates a generated circuit may have (qubits × depth, roughly).
pub const MAX_GEN_GATES: u64 = 100_000_000;

/// Generator parameters that make no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    /// Zero qubits, or more than [`MAX_GEN_QUBITS`].
    #[error("--qubits must be between 1 and {MAX_GEN_QUBITS}, got {qubits}")]
    Qubits {
        /// Given.
        qubits: u32,
    },
    /// A depth for a kind that has none.
    #[error("{kind:?} circuits have no depth parameter; leave out --depth")]
    NoDepth {
        /// The kind.
        kind: GenKind,
    },
    /// Depth zero, or a circuit over [`MAX_GEN_GATES`].
    #[error(
        "--depth {depth} with {qubits} qubits is out of range (1 to {MAX_GEN_GATES} gates in all)"
    )]
    Depth {
        /// Given.
        depth: u32,
        /// Given.
        qubits: u32,
    },
}

impl GenSpec {
    /// Validates the parameters.
    pub fn check(self) -> Result<CheckedGenSpec, GenError> {
        if self.qubits == 0 || self.qubits > MAX_GEN_QUBITS {
            return Err(GenError::Qubits {
                qubits: self.qubits,
            });
        }
        if !self.kind.has_depth() && self.depth.is_some() {
            return Err(GenError::NoDepth { kind: self.kind });
        }
        let depth = self
            .depth
            .unwrap_or_else(|| self.kind.default_depth(self.qubits));
        if self.kind.has_depth()
            && (depth == 0 || depth as u64 * self.qubits as u64 * 3 > MAX_GEN_GATES)
        {
            return Err(GenError::Depth {
                depth,
                qubits: self.qubits,
            });
        }
        Ok(CheckedGenSpec {
            kind: self.kind,
            qubits: self.qubits,
            depth,
            seed: self.seed,
        })
    }
}

/// Generates the circuit.
pub fn generate(spec: &CheckedGenSpec) -> Circuit {
    // Every gate below is applied to distinct in-range qubits with finite angles, so the
    // builder cannot refuse one; a refusal would be a bug in this file.
    build(spec).expect("generators only emit well-formed operations")
}

fn build(spec: &CheckedGenSpec) -> Result<Circuit, CircuitError> {
    let n = spec.qubits;
    let mut rng = Rng::new(spec.seed);
    let mut c = Circuit::new();
    c.add_qreg("q", n)?;
    c.add_creg("c", n)?;
    let angle = |rng: &mut Rng| rng.f64() * 2.0 * PI;
    match spec.kind {
        GenKind::Ghz => {
            c.gate(Gate::H, &[0], &[])?;
            for q in 1..n {
                c.gate(Gate::Cx, &[q - 1, q], &[])?;
            }
        }
        GenKind::Qft => {
            for j in 0..n {
                c.gate(Gate::H, &[j], &[])?;
                for k in j + 1..n {
                    let lambda = PI / f64::powi(2.0, (k - j) as i32);
                    c.gate(Gate::Cp, &[k, j], &[lambda])?;
                }
            }
            for j in 0..n / 2 {
                c.gate(Gate::Swap, &[j, n - 1 - j], &[])?;
            }
        }
        GenKind::Wstate => {
            c.gate(Gate::X, &[n - 1], &[])?;
            for m in 1..n {
                let theta = (1.0 / (n - m + 1) as f64).sqrt().acos();
                let (a, b) = (n - m - 1, n - m);
                c.gate(Gate::Ry, &[a], &[-theta])?;
                c.gate(Gate::Cz, &[b, a], &[])?;
                c.gate(Gate::Ry, &[a], &[theta])?;
            }
            for m in 1..n {
                c.gate(Gate::Cx, &[n - m - 1, n - m], &[])?;
            }
        }
        GenKind::Random => {
            let by_arity: Vec<Vec<Gate>> = (1..=3)
                .map(|k| {
                    crate::circuit::gate::ALL_GATES
                        .iter()
                        .copied()
                        .filter(|g| g.info().qelib1 && g.arity() == k)
                        .collect()
                })
                .collect();
            let mut order: Vec<u32> = (0..n).collect();
            let mut params = Vec::with_capacity(4);
            for _ in 0..spec.depth {
                rng.shuffle(&mut order);
                let mut rest = &order[..];
                while !rest.is_empty() {
                    let k = 1 + rng.below(3.min(rest.len()) as u64) as usize;
                    let (group, tail) = rest.split_at(k);
                    rest = tail;
                    let g = *rng.pick(&by_arity[k - 1]);
                    params.clear();
                    for _ in 0..g.num_params() {
                        params.push(angle(&mut rng));
                    }
                    c.gate(g, group, &params)?;
                }
            }
        }
        GenKind::Clifford => {
            const ONE: [Gate; 9] = [
                Gate::H,
                Gate::S,
                Gate::Sdg,
                Gate::X,
                Gate::Y,
                Gate::Z,
                Gate::Sx,
                Gate::Sxdg,
                Gate::Id,
            ];
            const TWO: [Gate; 4] = [Gate::Cx, Gate::Cz, Gate::Cy, Gate::Swap];
            for _ in 0..spec.depth {
                for q in 0..n {
                    c.gate(*rng.pick(&ONE), &[q], &[])?;
                }
                if n >= 2 {
                    for _ in 0..(n / 4).max(1) {
                        let a = rng.below(n as u64) as u32;
                        let b = (a + 1 + rng.below(n as u64 - 1) as u32) % n;
                        c.gate(*rng.pick(&TWO), &[a, b], &[])?;
                    }
                }
            }
        }
        GenKind::Brickwork => {
            for layer in 0..spec.depth {
                for q in 0..n {
                    let (t, p, l) = (angle(&mut rng), angle(&mut rng), angle(&mut rng));
                    c.gate(Gate::U3, &[q], &[t, p, l])?;
                }
                let mut a = layer % 2;
                while a + 1 < n {
                    c.gate(Gate::Cx, &[a, a + 1], &[])?;
                    a += 2;
                }
            }
        }
        GenKind::Qaoa => {
            for q in 0..n {
                c.gate(Gate::H, &[q], &[])?;
            }
            for _ in 0..spec.depth {
                let gamma = rng.f64() * PI;
                let beta = rng.f64() * FRAC_PI_2;
                if n >= 2 {
                    // A ring of two qubits has one edge.
                    let edges = if n == 2 { 1 } else { n };
                    for i in 0..edges {
                        c.gate(Gate::Rzz, &[i, (i + 1) % n], &[2.0 * gamma])?;
                    }
                }
                for q in 0..n {
                    c.gate(Gate::Rx, &[q], &[2.0 * beta])?;
                }
            }
        }
        GenKind::Hea => {
            for layer in 0..=spec.depth {
                for q in 0..n {
                    c.gate(Gate::Ry, &[q], &[angle(&mut rng)])?;
                    c.gate(Gate::Rz, &[q], &[angle(&mut rng)])?;
                }
                if layer < spec.depth {
                    for q in 1..n {
                        c.gate(Gate::Cx, &[q - 1, q], &[])?;
                    }
                }
            }
        }
    }
    for q in 0..n {
        c.measure(q, q)?;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::{GateMatrix, OpKind};
    use num_complex::Complex64;

    /// The state the circuit's gates prepare from |0…0⟩ (tiny circuits only).
    fn state(c: &Circuit) -> Vec<Complex64> {
        let n = c.num_qubits() as usize;
        let mut u = GateMatrix::identity(n);
        for op in c.ops() {
            if let OpKind::Gate(g) = op.kind {
                let qs: Vec<usize> = op.qubits.iter().map(|&q| q as usize).collect();
                u.apply(&g.matrix(op.params), &qs);
            }
        }
        (0..u.dim()).map(|r| u.get(r, 0)).collect()
    }

    fn spec(kind: GenKind, qubits: u32) -> CheckedGenSpec {
        GenSpec {
            kind,
            qubits,
            depth: None,
            seed: 1,
        }
        .check()
        .unwrap()
    }

    #[test]
    fn ghz_and_w_prepare_their_states() {
        for n in 1..=6u32 {
            let ghz = state(&generate(&spec(GenKind::Ghz, n)));
            let last = (1usize << n) - 1;
            for (i, a) in ghz.iter().enumerate() {
                let want = if i == 0 || i == last {
                    0.5f64.sqrt()
                } else {
                    0.0
                };
                assert!((a.norm() - want).abs() < 1e-12, "ghz n={n} i={i}");
            }
            let w = state(&generate(&spec(GenKind::Wstate, n)));
            for (i, a) in w.iter().enumerate() {
                let want = if i.count_ones() == 1 {
                    (1.0 / n as f64).sqrt()
                } else {
                    0.0
                };
                assert!((a.norm() - want).abs() < 1e-12, "w n={n} i={i}: {a}");
            }
        }
    }

    #[test]
    fn qft_of_zero_is_uniform() {
        let s = state(&generate(&spec(GenKind::Qft, 5)));
        for a in s {
            assert!((a - Complex64::new(32f64.sqrt().recip(), 0.0)).norm() < 1e-12);
        }
    }

    #[test]
    fn generators_are_deterministic_and_seed_sensitive() {
        for kind in [
            GenKind::Random,
            GenKind::Clifford,
            GenKind::Brickwork,
            GenKind::Qaoa,
            GenKind::Hea,
        ] {
            let a = generate(&spec(kind, 7));
            assert_eq!(a, generate(&spec(kind, 7)), "{kind:?}");
            let other = GenSpec {
                kind,
                qubits: 7,
                depth: None,
                seed: 2,
            }
            .check()
            .unwrap();
            assert_ne!(a, generate(&other), "{kind:?}");
        }
    }

    #[test]
    fn bad_specs_are_refused() {
        let bad = |kind, qubits, depth| {
            GenSpec {
                kind,
                qubits,
                depth,
                seed: 0,
            }
            .check()
        };
        assert_eq!(
            bad(GenKind::Ghz, 0, None),
            Err(GenError::Qubits { qubits: 0 })
        );
        assert!(matches!(
            bad(GenKind::Ghz, 3, Some(2)),
            Err(GenError::NoDepth { .. })
        ));
        assert!(matches!(
            bad(GenKind::Random, 3, Some(0)),
            Err(GenError::Depth { .. })
        ));
    }
}
