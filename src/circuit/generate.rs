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
    /// Clifford+T: `clifford` layers, each followed by one t on a random qubit, so the depth
    /// sets the T count (a few T gates keep the state near a stabilizer state; many do not).
    CliffordT,
    /// QAOA for MaxCut on a random graph of degree about 3 (three random perfect matchings,
    /// long-range edges): h, then per layer rzz(2γ) on every edge and rx(2β).
    QaoaGraph,
    /// Mid-circuit measurement and reset: brickwork layers, each followed by measuring a random
    /// quarter of the qubits into their bits, resetting them and re-preparing them with h.
    Dynamic,
    /// Ripple-carry addition with a carry ancilla per bit (Vedral–Barenco–Ekert): m = (n − 1)/3
    /// bits, b ← a + b for seeded random a and b, carries back to 0; qubits beyond 3m + 1 idle.
    /// A computational-basis computation: sparse and factored engines stay small.
    Adder,
}

impl GenKind {
    /// Whether the kind takes a depth (number of layers).
    pub fn has_depth(self) -> bool {
        !matches!(
            self,
            GenKind::Ghz | GenKind::Qft | GenKind::Wstate | GenKind::Adder
        )
    }

    fn default_depth(self, qubits: u32) -> u32 {
        match self {
            GenKind::Random => 10,
            GenKind::Clifford | GenKind::Brickwork | GenKind::CliffordT | GenKind::Dynamic => {
                qubits.max(1)
            }
            GenKind::Qaoa | GenKind::QaoaGraph => 2,
            GenKind::Hea => 3,
            GenKind::Ghz | GenKind::Qft | GenKind::Wstate | GenKind::Adder => 0,
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

/// One random Clifford layer: a random single-qubit Clifford on every qubit, then about n/4
/// random cx/cz/cy/swap on random pairs.
fn clifford_layer(c: &mut Circuit, rng: &mut Rng, n: u32) -> Result<(), CircuitError> {
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
    Ok(())
}

/// One brickwork layer: random u3 on every qubit, then cx on (even, odd) pairs, or (odd,
/// even) on odd layers.
fn brickwork_layer(c: &mut Circuit, rng: &mut Rng, n: u32, layer: u32) -> Result<(), CircuitError> {
    for q in 0..n {
        let [t, p, l] = [rng.f64(), rng.f64(), rng.f64()].map(|x| x * 2.0 * PI);
        c.gate(Gate::U3, &[q], &[t, p, l])?;
    }
    let mut a = layer % 2;
    while a + 1 < n {
        c.gate(Gate::Cx, &[a, a + 1], &[])?;
        a += 2;
    }
    Ok(())
}

/// The VBE ripple-carry adder on m = (n − 1)/3 bits: qubit 3i is carry c_i, 3i + 1 is a_i,
/// 3i + 2 is b_i, and 3m is b_m (the carry out). Random a and b are prepared with x; the
/// adder leaves b + a in b_0..b_m and every carry at 0. Fewer than 4 qubits: no bits, nothing.
fn adder(c: &mut Circuit, rng: &mut Rng, n: u32) -> Result<(), CircuitError> {
    let m = (n.saturating_sub(1)) / 3;
    let (carry, a, b) = (|i: u32| 3 * i, |i: u32| 3 * i + 1, |i: u32| 3 * i + 2);
    // c_m is b_m: the last carry lands in the sum's top bit.
    let next = |i: u32| if i + 1 == m { 3 * m } else { carry(i + 1) };
    for i in 0..m {
        for q in [a(i), b(i)] {
            if rng.below(2) == 1 {
                c.gate(Gate::X, &[q], &[])?;
            }
        }
    }
    let carry_gate = |c: &mut Circuit, i: u32| -> Result<(), CircuitError> {
        c.gate(Gate::Ccx, &[a(i), b(i), next(i)], &[])?;
        c.gate(Gate::Cx, &[a(i), b(i)], &[])?;
        c.gate(Gate::Ccx, &[carry(i), b(i), next(i)], &[])
    };
    let carry_inverse = |c: &mut Circuit, i: u32| -> Result<(), CircuitError> {
        c.gate(Gate::Ccx, &[carry(i), b(i), next(i)], &[])?;
        c.gate(Gate::Cx, &[a(i), b(i)], &[])?;
        c.gate(Gate::Ccx, &[a(i), b(i), next(i)], &[])
    };
    let sum = |c: &mut Circuit, i: u32| -> Result<(), CircuitError> {
        c.gate(Gate::Cx, &[a(i), b(i)], &[])?;
        c.gate(Gate::Cx, &[carry(i), b(i)], &[])
    };
    if m == 0 {
        return Ok(());
    }
    for i in 0..m {
        carry_gate(c, i)?;
    }
    c.gate(Gate::Cx, &[a(m - 1), b(m - 1)], &[])?;
    sum(c, m - 1)?;
    for i in (0..m - 1).rev() {
        carry_inverse(c, i)?;
        sum(c, i)?;
    }
    Ok(())
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
            for _ in 0..spec.depth {
                clifford_layer(&mut c, &mut rng, n)?;
            }
        }
        GenKind::CliffordT => {
            for _ in 0..spec.depth {
                clifford_layer(&mut c, &mut rng, n)?;
                c.gate(Gate::T, &[rng.below(n as u64) as u32], &[])?;
            }
        }
        GenKind::Brickwork => {
            for layer in 0..spec.depth {
                brickwork_layer(&mut c, &mut rng, n, layer)?;
            }
        }
        GenKind::Dynamic => {
            let mut order: Vec<u32> = (0..n).collect();
            for layer in 0..spec.depth {
                brickwork_layer(&mut c, &mut rng, n, layer)?;
                rng.shuffle(&mut order);
                for &q in &order[..(n as usize / 4).max(1)] {
                    c.measure(q, q)?;
                    c.reset(q)?;
                    c.gate(Gate::H, &[q], &[])?;
                }
            }
        }
        GenKind::QaoaGraph => {
            // Three random perfect matchings (one qubit left out of each when n is odd): a
            // graph of degree about 3 with edges of every length; repeated edges kept.
            let mut edges = Vec::new();
            let mut order: Vec<u32> = (0..n).collect();
            for _ in 0..3 {
                rng.shuffle(&mut order);
                edges.extend(order.chunks_exact(2).map(|p| [p[0], p[1]]));
            }
            for q in 0..n {
                c.gate(Gate::H, &[q], &[])?;
            }
            for _ in 0..spec.depth {
                let gamma = rng.f64() * PI;
                let beta = rng.f64() * FRAC_PI_2;
                for e in &edges {
                    c.gate(Gate::Rzz, e, &[2.0 * gamma])?;
                }
                for q in 0..n {
                    c.gate(Gate::Rx, &[q], &[2.0 * beta])?;
                }
            }
        }
        GenKind::Adder => adder(&mut c, &mut rng, n)?,
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
            GenKind::CliffordT,
            GenKind::QaoaGraph,
            GenKind::Dynamic,
            GenKind::Adder,
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

    /// #34: the adder computes b + a into b (carry out in b_m) and returns every carry to 0,
    /// for several seeded inputs: one basis state with amplitude 1.
    #[test]
    fn the_adder_adds() {
        for seed in 0..6 {
            let c = generate(
                &GenSpec {
                    kind: GenKind::Adder,
                    qubits: 10,
                    depth: None,
                    seed,
                }
                .check()
                .unwrap(),
            );
            // The x gates before the first ccx are the inputs: a_i = 3i + 1, b_i = 3i + 2.
            let (mut a, mut b) = (0u32, 0u32);
            for op in c.ops().take_while(|o| o.gate() == Some(Gate::X)) {
                let q = op.qubits[0];
                let bit = 1 << (q / 3);
                if q % 3 == 1 { a |= bit } else { b |= bit }
            }
            let sum = a + b;
            // Qubit k is bit k of the basis index.
            let mut want = 0usize;
            for i in 0..3 {
                want |= ((a >> i & 1) as usize) << (3 * i + 1);
                want |= ((sum >> i & 1) as usize) << (3 * i + 2);
            }
            want |= ((sum >> 3 & 1) as usize) << 9;
            let psi = state(&c);
            assert!(
                (psi[want].norm() - 1.0).abs() < 1e-9,
                "seed {seed}: {a} + {b}"
            );
        }
    }

    /// #34: the T count of clifford-t is its depth; qaoa-graph has three matchings of
    /// edges per layer, of every length; dynamic measures and resets a quarter of the qubits
    /// per layer, mid-circuit.
    #[test]
    fn the_coverage_families_have_their_shape() {
        use crate::features::{Feature, extract};
        let make = |kind, qubits, depth| {
            generate(
                &GenSpec {
                    kind,
                    qubits,
                    depth: Some(depth),
                    seed: 3,
                }
                .check()
                .unwrap(),
            )
        };
        let ct = extract(&make(GenKind::CliffordT, 12, 5));
        assert_eq!(ct[Feature::TCount], 5.0);
        assert_eq!(ct[Feature::IsClifford], 0.0);
        let q = make(GenKind::QaoaGraph, 16, 2);
        let rzz = q.ops().filter(|o| o.gate() == Some(Gate::Rzz)).count();
        assert_eq!(rzz, 2 * 3 * 8);
        assert!(extract(&q)[Feature::MaxGateSpan] >= 8.0);
        let d = extract(&make(GenKind::Dynamic, 12, 4));
        assert_eq!(d[Feature::ResetCount], 4.0 * 3.0);
        assert_eq!(d[Feature::MeasureCount], 4.0 * 3.0 + 12.0);
        assert_eq!(d[Feature::HasMidCircuitMeasurement], 1.0);
    }
}
