//! The gate table: every gate qroute knows, kept as data.
//!
//! Each [`Gate`] has one row in [`GATES`]: its OpenQASM name, arity, parameter count, whether it
//! is diagonal, whether it is a Clifford gate, and whether it belongs to `qelib1.inc` (the
//! OpenQASM 2 primitives `U` and `CX` do not; they exist without any include). The unitary of a
//! gate comes from [`Gate::matrix`].
//!
//! # Matrix convention
//! A gate on `k` operands has a `2^k × 2^k` matrix, row-major. Bit `j` of a row or column index
//! is the state of operand `j`: operand 0 is the least significant bit. This is Qiskit's
//! convention, so `cx a, b` (control `a` = operand 0) maps index `0b01` to `0b11`. For controlled
//! gates the controls are the first operands and the target(s) follow.

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_PI_2, FRAC_PI_4};
use std::sync::OnceLock;

use num_complex::Complex64;

/// Whether a gate is a Clifford gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cliffordness {
    /// Clifford for every parameter value (the gate has no parameters).
    Always,
    /// Never Clifford.
    Never,
    /// Clifford for some parameter values: decided from the matrix by [`Gate::is_clifford`].
    Depends,
}

/// One row of the gate table.
#[derive(Debug, Clone, Copy)]
pub struct GateInfo {
    /// The gate's OpenQASM 2 name.
    pub name: &'static str,
    /// Number of qubit operands.
    pub arity: u8,
    /// Number of real parameters.
    pub num_params: u8,
    /// Whether the matrix is diagonal for every parameter value.
    pub diagonal: bool,
    /// Whether the gate is Clifford.
    pub clifford: Cliffordness,
    /// Defined by `include "qelib1.inc"` (Qiskit's extended version); `false` for `U` and `CX`.
    pub qelib1: bool,
}

/// A name of one to eight bytes as an integer (its bytes little-endian, zero above), so that
/// names compare and match as integers; 0 for an empty or longer name. Identifiers hold no
/// NUL byte, so two identifiers have the same word only when they are the same.
pub(crate) const fn name_word(name: &[u8]) -> u64 {
    if name.is_empty() || name.len() > 8 {
        return 0;
    }
    let mut w = 0u64;
    let mut i = 0;
    while i < name.len() {
        w |= (name[i] as u64) << (8 * i);
        i += 1;
    }
    w
}

macro_rules! gates {
    ($( $variant:ident => $name:literal, $arity:literal, $params:literal, $diag:literal, $cliff:ident, $qelib:literal; )*) => {
        /// A gate of the table. The discriminant indexes [`GATES`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #[allow(missing_docs)]
        pub enum Gate { $( $variant, )* }

        /// The gate table, indexed by `Gate as usize`.
        pub static GATES: &[GateInfo] = &[
            $( GateInfo { name: $name, arity: $arity, num_params: $params, diagonal: $diag,
                          clifford: Cliffordness::$cliff, qelib1: $qelib }, )*
        ];

        /// Every gate, in table order.
        pub static ALL_GATES: &[Gate] = &[ $( Gate::$variant, )* ];

        /// Each gate's name as a [`name_word`].
        #[allow(non_upper_case_globals)]
        mod words {
            $( pub(super) const $variant: u64 = super::name_word($name.as_bytes()); )*
        }

        impl Gate {
            /// Looks a gate up by its OpenQASM name (`U` and `CX` included).
            pub fn from_name(name: &str) -> Option<Gate> {
                // The check makes a name with NUL bytes (same word as without them) no gate.
                Gate::from_word(name_word(name.as_bytes())).filter(|g| g.name() == name)
            }

            /// Looks a gate up by its name's [`name_word`] in a hash map built on first use
            /// (FxHash of the word: one multiplication, then one probe).
            #[inline]
            pub(crate) fn from_word(word: u64) -> Option<Gate> {
                static BY_WORD: std::sync::LazyLock<rustc_hash::FxHashMap<u64, Gate>> =
                    std::sync::LazyLock::new(|| {
                        [ $( (words::$variant, Gate::$variant), )* ].into_iter().collect()
                    });
                BY_WORD.get(&word).copied()
            }
        }
    };
}

gates! {
    // OpenQASM 2 primitives.
    BigU    => "U",       1, 3, false, Depends, false;
    BigCx   => "CX",      2, 0, false, Always,  false;
    // qelib1.inc, Qiskit's extended version, in its order.
    U3      => "u3",      1, 3, false, Depends, true;
    U2      => "u2",      1, 2, false, Depends, true;
    U1      => "u1",      1, 1, true,  Depends, true;
    Cx      => "cx",      2, 0, false, Always,  true;
    Id      => "id",      1, 0, true,  Always,  true;
    U0      => "u0",      1, 1, true,  Always,  true;
    U       => "u",       1, 3, false, Depends, true;
    P       => "p",       1, 1, true,  Depends, true;
    X       => "x",       1, 0, false, Always,  true;
    Y       => "y",       1, 0, false, Always,  true;
    Z       => "z",       1, 0, true,  Always,  true;
    H       => "h",       1, 0, false, Always,  true;
    S       => "s",       1, 0, true,  Always,  true;
    Sdg     => "sdg",     1, 0, true,  Always,  true;
    T       => "t",       1, 0, true,  Never,   true;
    Tdg     => "tdg",     1, 0, true,  Never,   true;
    Rx      => "rx",      1, 1, false, Depends, true;
    Ry      => "ry",      1, 1, false, Depends, true;
    Rz      => "rz",      1, 1, true,  Depends, true;
    Sx      => "sx",      1, 0, false, Always,  true;
    Sxdg    => "sxdg",    1, 0, false, Always,  true;
    Cz      => "cz",      2, 0, true,  Always,  true;
    Cy      => "cy",      2, 0, false, Always,  true;
    Swap    => "swap",    2, 0, false, Always,  true;
    Ch      => "ch",      2, 0, false, Never,   true;
    Ccx     => "ccx",     3, 0, false, Never,   true;
    Cswap   => "cswap",   3, 0, false, Never,   true;
    Crx     => "crx",     2, 1, false, Depends, true;
    Cry     => "cry",     2, 1, false, Depends, true;
    Crz     => "crz",     2, 1, true,  Depends, true;
    Cu1     => "cu1",     2, 1, true,  Depends, true;
    Cp      => "cp",      2, 1, true,  Depends, true;
    Cu3     => "cu3",     2, 3, false, Depends, true;
    Csx     => "csx",     2, 0, false, Never,   true;
    Cu      => "cu",      2, 4, false, Depends, true;
    Rxx     => "rxx",     2, 1, false, Depends, true;
    Rzz     => "rzz",     2, 1, true,  Depends, true;
    Rccx    => "rccx",    3, 0, false, Never,   true;
    Rc3x    => "rc3x",    4, 0, false, Never,   true;
    C3x     => "c3x",     4, 0, false, Never,   true;
    C3sqrtx => "c3sqrtx", 4, 0, false, Never,   true;
    C4x     => "c4x",     5, 0, false, Never,   true;
}

/// The largest arity of any gate in the table.
pub const MAX_GATE_ARITY: usize = 5;

/// Tolerance used when deciding whether an angle is a multiple of π/2 and when comparing
/// matrix entries in the Clifford check.
const ANGLE_TOL: f64 = 1e-9;

impl Gate {
    /// This gate's row of the table.
    #[inline]
    pub fn info(self) -> &'static GateInfo {
        &GATES[self as usize]
    }

    /// The OpenQASM name.
    #[inline]
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Number of qubit operands.
    #[inline]
    pub fn arity(self) -> usize {
        self.info().arity as usize
    }

    /// Number of parameters.
    #[inline]
    pub fn num_params(self) -> usize {
        self.info().num_params as usize
    }

    /// The gate this one is an alias of, so that aliases hash alike: `U`, `u` → `u3`;
    /// `CX` → `cx`; `p` → `u1`; `cp` → `cu1`. Their matrices are identical.
    pub fn canonical(self) -> Gate {
        match self {
            Gate::BigU | Gate::U => Gate::U3,
            Gate::BigCx => Gate::Cx,
            Gate::P => Gate::U1,
            Gate::Cp => Gate::Cu1,
            g => g,
        }
    }

    /// Whether this gate with these parameters is a Clifford operation (up to global phase).
    ///
    /// Gates without parameters use the table. For parameterised gates the answer comes from
    /// the matrix: `U` is Clifford iff `U P U†` is a Pauli operator (up to phase) for every
    /// single-qubit `X` and `Z`. When every angle is a multiple of π/2 the answer is cached per
    /// combination of angles mod 2π, so a rotation by a multiple of π/2 costs a table lookup.
    #[inline]
    pub fn is_clifford(self, params: &[f64]) -> bool {
        match self.info().clifford {
            Cliffordness::Always => true,
            Cliffordness::Never => false,
            Cliffordness::Depends => self.is_clifford_at(params),
        }
    }

    /// [`Gate::is_clifford`] of a gate that is Clifford for some parameters only.
    fn is_clifford_at(self, params: &[f64]) -> bool {
        let mut key = 0usize;
        for &p in params {
            match quarter_turns(p) {
                Some(k) => key = key * 4 + k,
                None => {
                    return match self {
                        // θ sets the entries' magnitudes (cos θ/2, sin θ/2), which a Clifford
                        // keeps at 0, 2^-1/2 or 1; with θ a quarter turn only the matrix can
                        // tell.
                        Gate::U3 | Gate::U | Gate::BigU | Gate::Cu3 | Gate::Cu => {
                            quarter_turns(params[0]).is_some()
                                && matrix_is_clifford(&self.matrix(params))
                        }
                        // One-angle rotations (and u2) are Clifford only at quarter turns.
                        _ => false,
                    };
                }
            }
        }
        quarter_turn_table(self)[key]
    }

    /// Whether this gate counts towards the T count: `t`, `tdg`, or a single-qubit phase
    /// rotation (`rz`, `p`, `u1`) by an odd multiple of π/4.
    pub fn is_t_like(self, params: &[f64]) -> bool {
        match self {
            Gate::T | Gate::Tdg => true,
            Gate::Rz | Gate::P | Gate::U1 => {
                near_integer(params[0] / FRAC_PI_4).is_some_and(|k| k.rem_euclid(2) == 1)
            }
            _ => false,
        }
    }

    /// The gate's unitary matrix (see the module docs for the bit order).
    ///
    /// `params` must hold [`Gate::num_params`] values; missing ones read as 0.
    pub fn matrix(self, params: &[f64]) -> GateMatrix {
        let p = |i: usize| params.get(i).copied().unwrap_or(0.0);
        match self {
            Gate::BigU | Gate::U3 | Gate::U => u_matrix(p(0), p(1), p(2)),
            Gate::U2 => u_matrix(FRAC_PI_2, p(0), p(1)),
            Gate::U1 | Gate::P => phase_matrix(p(0)),
            Gate::Id | Gate::U0 => GateMatrix::identity(1),
            Gate::X => GateMatrix::from_real(1, &[0.0, 1.0, 1.0, 0.0]),
            Gate::Y => {
                GateMatrix::new(1, vec![c(0.0, 0.0), c(0.0, -1.0), c(0.0, 1.0), c(0.0, 0.0)])
            }
            Gate::Z => GateMatrix::from_real(1, &[1.0, 0.0, 0.0, -1.0]),
            Gate::H => GateMatrix::from_real(
                1,
                &[FRAC_1_SQRT_2, FRAC_1_SQRT_2, FRAC_1_SQRT_2, -FRAC_1_SQRT_2],
            ),
            Gate::S => phase_matrix(FRAC_PI_2),
            Gate::Sdg => phase_matrix(-FRAC_PI_2),
            Gate::T => phase_matrix(FRAC_PI_4),
            Gate::Tdg => phase_matrix(-FRAC_PI_4),
            Gate::Rx => {
                let (s, co) = (p(0) / 2.0).sin_cos();
                GateMatrix::new(1, vec![c(co, 0.0), c(0.0, -s), c(0.0, -s), c(co, 0.0)])
            }
            Gate::Ry => {
                let (s, co) = (p(0) / 2.0).sin_cos();
                GateMatrix::from_real(1, &[co, -s, s, co])
            }
            Gate::Rz => {
                let h = p(0) / 2.0;
                GateMatrix::diagonal(&[Complex64::cis(-h), Complex64::cis(h)])
            }
            Gate::Sx => sx_matrix(false),
            Gate::Sxdg => sx_matrix(true),
            Gate::Cx | Gate::BigCx => Gate::X.matrix(&[]).controlled(1),
            Gate::Cz => Gate::Z.matrix(&[]).controlled(1),
            Gate::Cy => Gate::Y.matrix(&[]).controlled(1),
            Gate::Ch => Gate::H.matrix(&[]).controlled(1),
            Gate::Swap => swap_matrix(),
            Gate::Ccx => Gate::X.matrix(&[]).controlled(2),
            Gate::Cswap => swap_matrix().controlled(1),
            Gate::Crx => Gate::Rx.matrix(params).controlled(1),
            Gate::Cry => Gate::Ry.matrix(params).controlled(1),
            Gate::Crz => Gate::Rz.matrix(params).controlled(1),
            Gate::Cu1 | Gate::Cp => phase_matrix(p(0)).controlled(1),
            Gate::Cu3 => u_matrix(p(0), p(1), p(2)).controlled(1),
            Gate::Cu => {
                let mut m = u_matrix(p(0), p(1), p(2));
                let g = Complex64::cis(p(3));
                m.data.iter_mut().for_each(|z| *z *= g);
                m.controlled(1)
            }
            Gate::Csx => sx_matrix(false).controlled(1),
            Gate::Rxx => {
                let (s, co) = (p(0) / 2.0).sin_cos();
                let mut m = GateMatrix::zeros(2);
                for r in 0..4 {
                    m.set(r, r, c(co, 0.0));
                    m.set(r, r ^ 3, c(0.0, -s));
                }
                m
            }
            Gate::Rzz => {
                let h = p(0) / 2.0;
                let (even, odd) = (Complex64::cis(-h), Complex64::cis(h));
                GateMatrix::diagonal(&[even, odd, odd, even])
            }
            Gate::Rccx => compose(3, RCCX_DEFINITION),
            Gate::Rc3x => compose(4, RC3X_DEFINITION),
            Gate::C3x => Gate::X.matrix(&[]).controlled(3),
            Gate::C3sqrtx => sx_matrix(false).controlled(3),
            Gate::C4x => Gate::X.matrix(&[]).controlled(4),
        }
    }
}

/// `Some(k)` when `angle` is `k·π/2` (mod 2π), within tolerance.
#[inline]
fn quarter_turns(angle: f64) -> Option<usize> {
    near_integer(angle / FRAC_PI_2).map(|k| k.rem_euclid(4) as usize)
}

/// `Some(k)` when `r` is the integer `k` within tolerance, for |r| < 10^15 (well inside the
/// range where an f64 holds every integer exactly).
#[inline]
fn near_integer(r: f64) -> Option<i64> {
    // NaN fails this test too.
    if r.abs() < 1e15 {
        // The nearest integer, ties away from zero as `f64::round` does; the cast is one
        // instruction where `round` is a library call on baseline x86-64.
        let k = (r + 0.5f64.copysign(r)) as i64;
        ((r - k as f64).abs() < ANGLE_TOL * r.abs().max(1.0)).then_some(k)
    } else {
        None
    }
}

/// For a parameterised gate: Clifford or not for every combination of parameters that are
/// multiples of π/2, indexed by the base-4 number of the quarter turns. Computed once.
fn quarter_turn_table(gate: Gate) -> &'static [bool] {
    static TABLES: OnceLock<Vec<Vec<bool>>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        ALL_GATES
            .iter()
            .map(|&g| {
                if g.info().clifford != Cliffordness::Depends {
                    return Vec::new();
                }
                let n = g.num_params();
                (0..4usize.pow(n as u32))
                    .map(|key| {
                        let params: Vec<f64> = (0..n)
                            .map(|i| {
                                let k = (key / 4usize.pow((n - 1 - i) as u32)) % 4;
                                k as f64 * FRAC_PI_2
                            })
                            .collect();
                        matrix_is_clifford(&g.matrix(&params))
                    })
                    .collect()
            })
            .collect()
    });
    &tables[gate as usize]
}

fn c(re: f64, im: f64) -> Complex64 {
    Complex64::new(re, im)
}

fn u_matrix(theta: f64, phi: f64, lambda: f64) -> GateMatrix {
    let (s, co) = (theta / 2.0).sin_cos();
    GateMatrix::new(
        1,
        vec![
            c(co, 0.0),
            -Complex64::cis(lambda) * s,
            Complex64::cis(phi) * s,
            Complex64::cis(phi + lambda) * co,
        ],
    )
}

fn phase_matrix(lambda: f64) -> GateMatrix {
    GateMatrix::diagonal(&[c(1.0, 0.0), Complex64::cis(lambda)])
}

fn sx_matrix(dagger: bool) -> GateMatrix {
    let (a, b) = if dagger {
        (c(0.5, -0.5), c(0.5, 0.5))
    } else {
        (c(0.5, 0.5), c(0.5, -0.5))
    };
    GateMatrix::new(1, vec![a, b, b, a])
}

fn swap_matrix() -> GateMatrix {
    GateMatrix::from_real(
        2,
        &[
            1.0, 0.0, 0.0, 0.0, //
            0.0, 0.0, 1.0, 0.0, //
            0.0, 1.0, 0.0, 0.0, //
            0.0, 0.0, 0.0, 1.0,
        ],
    )
}

/// Qiskit's `qelib1.inc` definition of the relative-phase Toffoli `rccx a,b,c`:
/// `h c; t c; cx b,c; tdg c; cx a,c; t c; cx b,c; tdg c; h c;` (operands by position).
static RCCX_DEFINITION: &[(Gate, &[usize])] = &[
    (Gate::H, &[2]),
    (Gate::T, &[2]),
    (Gate::Cx, &[1, 2]),
    (Gate::Tdg, &[2]),
    (Gate::Cx, &[0, 2]),
    (Gate::T, &[2]),
    (Gate::Cx, &[1, 2]),
    (Gate::Tdg, &[2]),
    (Gate::H, &[2]),
];

/// Qiskit's `qelib1.inc` definition of the relative-phase 3-controlled X `rc3x a,b,c,d`.
static RC3X_DEFINITION: &[(Gate, &[usize])] = &[
    (Gate::H, &[3]),
    (Gate::T, &[3]),
    (Gate::Cx, &[2, 3]),
    (Gate::Tdg, &[3]),
    (Gate::H, &[3]),
    (Gate::Cx, &[0, 3]),
    (Gate::T, &[3]),
    (Gate::Cx, &[1, 3]),
    (Gate::Tdg, &[3]),
    (Gate::Cx, &[0, 3]),
    (Gate::T, &[3]),
    (Gate::Cx, &[1, 3]),
    (Gate::Tdg, &[3]),
    (Gate::H, &[3]),
    (Gate::T, &[3]),
    (Gate::Cx, &[2, 3]),
    (Gate::Tdg, &[3]),
    (Gate::H, &[3]),
];

impl Gate {
    /// For gates defined only by a sequence of other gates (`rccx`, `rc3x`): that sequence,
    /// each entry a parameterless gate and the positions of its operands among this gate's.
    /// Executors without the gate apply the sequence; its matrix is built from it.
    pub fn definition(self) -> Option<&'static [(Gate, &'static [usize])]> {
        match self {
            Gate::Rccx => Some(RCCX_DEFINITION),
            Gate::Rc3x => Some(RC3X_DEFINITION),
            _ => None,
        }
    }
}

/// The unitary of a sequence of parameterless gates on `n` qubits (first gate applied first).
fn compose(n: usize, seq: &[(Gate, &[usize])]) -> GateMatrix {
    let mut u = GateMatrix::identity(n);
    for (g, ops) in seq {
        u.apply(&g.matrix(&[]), ops);
    }
    u
}

/// A square complex matrix acting on `arity` qubits (see the module docs for the bit order).
#[derive(Debug, Clone, PartialEq)]
pub struct GateMatrix {
    arity: usize,
    data: Vec<Complex64>,
}

impl GateMatrix {
    /// A matrix from row-major entries; `data.len()` must be `4^arity`.
    pub fn new(arity: usize, data: Vec<Complex64>) -> GateMatrix {
        assert_eq!(
            data.len(),
            1 << (2 * arity),
            "matrix size does not match arity"
        );
        GateMatrix { arity, data }
    }

    fn from_real(arity: usize, data: &[f64]) -> GateMatrix {
        GateMatrix::new(arity, data.iter().map(|&x| c(x, 0.0)).collect())
    }

    /// The zero matrix on `arity` qubits.
    pub fn zeros(arity: usize) -> GateMatrix {
        GateMatrix {
            arity,
            data: vec![Complex64::new(0.0, 0.0); 1 << (2 * arity)],
        }
    }

    /// The identity on `arity` qubits.
    pub fn identity(arity: usize) -> GateMatrix {
        let mut m = GateMatrix::zeros(arity);
        for i in 0..m.dim() {
            m.set(i, i, c(1.0, 0.0));
        }
        m
    }

    fn diagonal(diag: &[Complex64]) -> GateMatrix {
        let arity = diag.len().trailing_zeros() as usize;
        let mut m = GateMatrix::zeros(arity);
        for (i, &d) in diag.iter().enumerate() {
            m.set(i, i, d);
        }
        m
    }

    /// Number of qubits it acts on.
    pub fn arity(&self) -> usize {
        self.arity
    }

    /// Rows (= columns): `2^arity`.
    pub fn dim(&self) -> usize {
        1 << self.arity
    }

    /// Entry at row `r`, column `c`.
    #[inline]
    pub fn get(&self, r: usize, c: usize) -> Complex64 {
        self.data[r * self.dim() + c]
    }

    /// Sets the entry at row `r`, column `c`.
    #[inline]
    pub fn set(&mut self, r: usize, c: usize, v: Complex64) {
        let d = self.dim();
        self.data[r * d + c] = v;
    }

    /// Row-major entries.
    pub fn as_slice(&self) -> &[Complex64] {
        &self.data
    }

    /// This matrix with `n` control qubits prepended: the controls become operands
    /// `0..n` and this matrix acts on the following operands when all controls are 1.
    pub fn controlled(&self, n: usize) -> GateMatrix {
        let arity = self.arity + n;
        let mut m = GateMatrix::identity(arity);
        let ctrl = (1usize << n) - 1;
        for r in 0..self.dim() {
            for col in 0..self.dim() {
                m.set((r << n) | ctrl, (col << n) | ctrl, self.get(r, col));
            }
        }
        m
    }

    /// Matrix product `self · other`.
    pub fn mul(&self, other: &GateMatrix) -> GateMatrix {
        assert_eq!(self.arity, other.arity);
        let d = self.dim();
        let mut out = GateMatrix::zeros(self.arity);
        for r in 0..d {
            for k in 0..d {
                let a = self.get(r, k);
                if a == Complex64::new(0.0, 0.0) {
                    continue;
                }
                for col in 0..d {
                    out.data[r * d + col] += a * other.data[k * d + col];
                }
            }
        }
        out
    }

    /// Conjugate transpose.
    pub fn adjoint(&self) -> GateMatrix {
        let d = self.dim();
        let mut out = GateMatrix::zeros(self.arity);
        for r in 0..d {
            for col in 0..d {
                out.set(col, r, self.get(r, col).conj());
            }
        }
        out
    }

    /// Left-multiplies this matrix by `gate` acting on the given operands of this matrix's
    /// qubits: `self ← G_ops · self`. Used to build unitaries of short gate sequences.
    pub fn apply(&mut self, gate: &GateMatrix, operands: &[usize]) {
        assert_eq!(gate.arity, operands.len());
        let d = self.dim();
        let gd = gate.dim();
        let mask: usize = operands.iter().map(|&q| 1usize << q).sum();
        let mut idx = vec![0usize; gd];
        let mut amp = vec![Complex64::new(0.0, 0.0); gd];
        for col in 0..d {
            for base in 0..d {
                if base & mask != 0 {
                    continue;
                }
                for (local, slot) in idx.iter_mut().enumerate() {
                    let mut i = base;
                    for (j, &q) in operands.iter().enumerate() {
                        if local >> j & 1 == 1 {
                            i |= 1 << q;
                        }
                    }
                    *slot = i;
                }
                for (a, &i) in amp.iter_mut().zip(&idx) {
                    *a = self.data[i * d + col];
                }
                for (r, &i) in idx.iter().enumerate() {
                    let mut acc = Complex64::new(0.0, 0.0);
                    for (k, a) in amp.iter().enumerate() {
                        acc += gate.get(r, k) * a;
                    }
                    self.data[i * d + col] = acc;
                }
            }
        }
    }

    /// Whether `self = e^{iφ} · other` for some global phase φ, within `tol` per entry.
    pub fn equal_up_to_phase(&self, other: &GateMatrix, tol: f64) -> bool {
        if self.arity != other.arity {
            return false;
        }
        let Some((i, _)) = other
            .data
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.norm().total_cmp(&b.1.norm()))
        else {
            return true;
        };
        if other.data[i].norm() < tol {
            return self.data.iter().all(|z| z.norm() < tol);
        }
        let phase = self.data[i] / other.data[i];
        if (phase.norm() - 1.0).abs() > tol {
            return false;
        }
        self.data
            .iter()
            .zip(&other.data)
            .all(|(a, b)| (a - phase * b).norm() < tol)
    }
}

/// Whether `u` maps every Pauli operator to a Pauli operator (up to phase) under conjugation.
pub fn matrix_is_clifford(u: &GateMatrix) -> bool {
    // Columns of a Clifford are stabilizer states: every nonzero entry has magnitude 2^{-k/2}.
    // A cheap test that rejects most non-Clifford matrices before the full check.
    let plausible = u.data.iter().all(|z| {
        let m2 = z.norm_sqr();
        m2 < ANGLE_TOL || {
            let l = -m2.log2();
            (l - l.round()).abs() < 1e-6
        }
    });
    if !plausible {
        return false;
    }
    let n = u.arity;
    let adj = u.adjoint();
    for q in 0..n {
        for pauli in [Gate::X, Gate::Z] {
            let mut p = GateMatrix::identity(n);
            p.apply(&pauli.matrix(&[]), &[q]);
            let conj = u.mul(&p).mul(&adj);
            if !is_pauli(&conj) {
                return false;
            }
        }
    }
    true
}

/// Whether `m` equals `phase · Z^z X^x` for some bit masks `x`, `z` and a unit phase.
fn is_pauli(m: &GateMatrix) -> bool {
    let d = m.dim();
    let Some(x) = (0..d).find(|&col| m.get(0, col).norm() > 0.5) else {
        return false;
    };
    let phase = m.get(0, x);
    if (phase.norm() - 1.0).abs() > 1e-6 {
        return false;
    }
    let mut z = 0usize;
    for j in 0..m.arity {
        let r = 1 << j;
        let ratio = m.get(r, r ^ x) / phase;
        if (ratio - c(-1.0, 0.0)).norm() < 1e-6 {
            z |= r;
        }
    }
    for r in 0..d {
        for col in 0..d {
            let expect = if col == r ^ x {
                let sign = if (r & z).count_ones() % 2 == 1 {
                    -1.0
                } else {
                    1.0
                };
                phase * sign
            } else {
                c(0.0, 0.0)
            };
            if (m.get(r, col) - expect).norm() > 1e-6 {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn is_unitary(m: &GateMatrix) -> bool {
        m.mul(&m.adjoint())
            .equal_up_to_phase(&GateMatrix::identity(m.arity()), 1e-12)
            && (m.mul(&m.adjoint()).get(0, 0) - c(1.0, 0.0)).norm() < 1e-12
    }

    /// The hashed lookup answers every gate's word with that gate and any other word, of
    /// names near the gates' and of random ones, with none.
    #[test]
    fn word_lookup_finds_every_gate_and_nothing_else() {
        let words: Vec<u64> = ALL_GATES
            .iter()
            .map(|g| name_word(g.name().as_bytes()))
            .collect();
        for (g, w) in ALL_GATES.iter().zip(&words) {
            assert_eq!(Gate::from_word(*w), Some(*g), "{}", g.name());
        }
        let mut rng = crate::rng::Rng::new(5);
        let mut others = vec![0u64];
        for w in &words {
            // One byte changed, one dropped or added.
            for k in 0..8 {
                others.push(w ^ (1 << (8 * k + rng.below(7))));
            }
            others.push(w >> 8);
            others.push(w << 8 | u64::from(b'x'));
        }
        for _ in 0..100_000 {
            let len = 1 + rng.below(8) as usize;
            let name: Vec<u8> = (0..len).map(|_| b'a' + rng.below(26) as u8).collect();
            others.push(name_word(&name));
        }
        for w in others.into_iter().filter(|w| !words.contains(w)) {
            assert_eq!(Gate::from_word(w), None, "{w:#x}");
        }
    }

    #[test]
    fn names_that_only_look_like_gates_are_not_gates() {
        for name in [
            "",
            "c",
            "cxx",
            "xc",
            "CCX",
            "u 3",
            "c3sqrtxx",
            "c3sqrtx\0",
            "cu1\0",
        ] {
            assert_eq!(Gate::from_name(name), None, "{name:?}");
        }
        assert_eq!(name_word(b"abcdefghi"), 0);
        // The parser tries a statement as a gate call before its keywords.
        for kw in [
            "include", "qreg", "creg", "gate", "opaque", "barrier", "if", "OPENQASM", "measure",
            "reset",
        ] {
            assert_eq!(Gate::from_name(kw), None, "{kw}");
        }
        assert_ne!(name_word(b"abcdefgh"), name_word(b"abcdefg"));
    }

    #[test]
    fn every_gate_matrix_is_unitary_with_its_arity() {
        let params = [0.3, -1.1, 2.7, 0.4];
        for &g in ALL_GATES {
            let m = g.matrix(&params[..g.num_params()]);
            assert_eq!(m.arity(), g.arity(), "{}", g.name());
            assert!(is_unitary(&m), "{} is not unitary", g.name());
        }
    }

    #[test]
    fn table_flags_match_matrices() {
        let params = [0.3, -1.1, 2.7, 0.4];
        for &g in ALL_GATES {
            let m = g.matrix(&params[..g.num_params()]);
            let diag = (0..m.dim())
                .all(|r| (0..m.dim()).all(|col| r == col || m.get(r, col).norm() < 1e-12));
            assert_eq!(diag, g.info().diagonal, "diagonal flag of {}", g.name());
            match g.info().clifford {
                Cliffordness::Always => assert!(matrix_is_clifford(&m), "{}", g.name()),
                Cliffordness::Never => assert!(!matrix_is_clifford(&m), "{}", g.name()),
                Cliffordness::Depends => {
                    assert!(!g.is_clifford(&params[..g.num_params()]), "{}", g.name())
                }
            }
            assert_eq!(Gate::from_name(g.name()), Some(g));
            assert_ne!(name_word(g.name().as_bytes()), 0, "{}", g.name());
        }
    }

    #[test]
    fn rotations_by_quarter_turns_are_clifford() {
        for k in -8..8 {
            let a = k as f64 * FRAC_PI_2;
            for g in [
                Gate::Rx,
                Gate::Ry,
                Gate::Rz,
                Gate::P,
                Gate::U1,
                Gate::Rzz,
                Gate::Rxx,
            ] {
                assert!(g.is_clifford(&[a]), "{}({a})", g.name());
            }
            assert!(!Gate::Rz.is_clifford(&[a + FRAC_PI_4]));
            // cp(π/2) is a controlled S, not Clifford; cp(π) is CZ.
            assert_eq!(Gate::Cp.is_clifford(&[a]), k % 2 == 0);
        }
        // u3(0, π/4, -π/4) is the identity although no angle is a quarter turn.
        assert!(Gate::U3.is_clifford(&[0.0, FRAC_PI_4, -FRAC_PI_4]));
        assert!(Gate::U3.is_clifford(&[FRAC_PI_2, 0.0, PI]));
    }

    #[test]
    fn near_integer_agrees_with_round() {
        let mut rng = crate::rng::Rng::new(9);
        for _ in 0..20_000 {
            // Integers, values a hair off them, and arbitrary values, at every scale to 1e14.
            let scale = 10f64.powi(rng.below(15) as i32);
            let base = ((rng.f64() - 0.5) * scale).round();
            let r = match rng.below(3) {
                0 => base,
                1 => base + (rng.f64() - 0.5) * 1e-10,
                _ => base + rng.f64() - 0.5,
            };
            let k = r.round();
            let want = ((r - k).abs() < ANGLE_TOL * r.abs().max(1.0)).then_some(k as i64);
            assert_eq!(near_integer(r), want, "{r}");
        }
        assert_eq!(near_integer(-2.0), Some(-2));
        assert_eq!(near_integer(0.5), None);
        assert_eq!(near_integer(2e15), None);
        assert_eq!(near_integer(f64::NAN), None);
        // rz(5π/4) is a T-like rotation, rz(3π/2) a Clifford one.
        assert!(Gate::Rz.is_t_like(&[5.0 * FRAC_PI_4]));
        assert!(!Gate::Rz.is_t_like(&[-3.0 * FRAC_PI_2]));
        assert!(Gate::Rz.is_t_like(&[-3.0 * FRAC_PI_4]));
    }

    #[test]
    fn fast_clifford_answer_matches_the_matrix() {
        let mut rng = crate::rng::Rng::new(5);
        let quarter = [0.0, FRAC_PI_2, PI, -FRAC_PI_2, 2.0 * PI];
        for &g in ALL_GATES {
            if g.info().clifford != Cliffordness::Depends {
                continue;
            }
            for _ in 0..300 {
                // Mix quarter turns and arbitrary angles in every position.
                let params: Vec<f64> = (0..g.num_params())
                    .map(|_| {
                        if rng.below(2) == 0 {
                            quarter[rng.below(5) as usize]
                        } else {
                            (rng.f64() - 0.5) * 20.0
                        }
                    })
                    .collect();
                assert_eq!(
                    g.is_clifford(&params),
                    matrix_is_clifford(&g.matrix(&params)),
                    "{}{params:?}",
                    g.name()
                );
            }
        }
    }

    #[test]
    fn known_identities() {
        let x = Gate::X.matrix(&[]);
        let sx = Gate::Sx.matrix(&[]);
        assert!(sx.mul(&sx).equal_up_to_phase(&x, 1e-12));
        let t = Gate::T.matrix(&[]);
        assert!(t.mul(&t).equal_up_to_phase(&Gate::S.matrix(&[]), 1e-12));
        let c3 = Gate::C3sqrtx.matrix(&[]);
        assert!(c3.mul(&c3).equal_up_to_phase(&Gate::C3x.matrix(&[]), 1e-12));
        assert!(
            Gate::Rz
                .matrix(&[0.7])
                .equal_up_to_phase(&Gate::U1.matrix(&[0.7]), 1e-12)
        );
        // cx with control operand 0: |01> (index 1) -> |11> (index 3).
        assert_eq!(Gate::Cx.matrix(&[]).get(3, 1), c(1.0, 0.0));
        // The relative-phase Toffolis permute like their exact counterparts.
        for (rel, exact) in [(Gate::Rccx, Gate::Ccx), (Gate::Rc3x, Gate::C3x)] {
            let (a, b) = (rel.matrix(&[]), exact.matrix(&[]));
            for (p, q) in a.as_slice().iter().zip(b.as_slice()) {
                assert!((p.norm() - q.norm()).abs() < 1e-12, "{}", rel.name());
            }
        }
    }
}
