//! The one circuit IR every part of qroute reads.
//!
//! A [`Circuit`] is a flat list of operations over numbered qubits and classical bits. Registers
//! are kept only as names for ranges of those numbers (for writing OpenQASM back and for
//! conditions); executors and feature extraction see flat indices. Gates come from the
//! [gate table](gate); user-defined OpenQASM gates are inlined by the parser, so an executor
//! never meets one. `opaque` gates stay as [`OpKind::Opaque`] and executors refuse them.
//!
//! Operations are stored in contiguous arrays (one array of operation headers, one of qubit
//! arguments, one of parameters), so a million-gate circuit is three allocations.
//!
//! ```
//! use qroute::circuit::{Circuit, Gate};
//! let mut c = Circuit::new();
//! let q = c.add_qreg("q", 2)?;
//! let m = c.add_creg("c", 2)?;
//! c.gate(Gate::H, &[q.start], &[])?;
//! c.gate(Gate::Cx, &[q.start, q.start + 1], &[])?;
//! c.measure(q.start, m.start)?;
//! c.measure(q.start + 1, m.start + 1)?;
//! assert_eq!(c.ops().count(), 4);
//! assert_eq!(c.id().to_string().len(), 32);
//! # Ok::<(), qroute::circuit::CircuitError>(())
//! ```

pub mod files;
pub mod gate;
pub mod generate;
mod hash;
pub mod qasm;

use std::ops::Range;

pub use gate::{GATES, Gate, GateInfo, GateMatrix};
pub use hash::CircuitId;

/// The largest number of qubits (or classical bits) a circuit may have: indices are `u32`.
pub const MAX_WIRES: u32 = u32::MAX / 2;

/// An error building a circuit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CircuitError {
    /// A qubit index past the last qubit.
    #[error("qubit {qubit} is out of range: the circuit has {num_qubits} qubits")]
    QubitOutOfRange {
        /// The index given.
        qubit: u32,
        /// Qubits in the circuit.
        num_qubits: u32,
    },
    /// A classical bit index past the last bit.
    #[error("classical bit {clbit} is out of range: the circuit has {num_clbits} bits")]
    ClbitOutOfRange {
        /// The index given.
        clbit: u32,
        /// Classical bits in the circuit.
        num_clbits: u32,
    },
    /// The same qubit twice in one gate.
    #[error("gate {gate} uses qubit {qubit} more than once")]
    DuplicateQubit {
        /// Gate name.
        gate: String,
        /// The repeated qubit.
        qubit: u32,
    },
    /// Wrong number of qubits for a gate.
    #[error("gate {gate} takes {expected} qubits, got {found}")]
    WrongArity {
        /// Gate name.
        gate: String,
        /// Its arity.
        expected: usize,
        /// Qubits given.
        found: usize,
    },
    /// Wrong number of parameters for a gate.
    #[error("gate {gate} takes {expected} parameters, got {found}")]
    WrongParamCount {
        /// Gate name.
        gate: String,
        /// Its parameter count.
        expected: usize,
        /// Parameters given.
        found: usize,
    },
    /// A parameter that is NaN or infinite.
    #[error("parameter {index} of gate {gate} is not finite ({value})")]
    NonFiniteParam {
        /// Gate name.
        gate: String,
        /// Which parameter.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A register name used twice.
    #[error("register {name} is already defined")]
    DuplicateRegister {
        /// The name.
        name: String,
    },
    /// Too many qubits or bits in total.
    #[error(
        "{what} register {name}[{size}] would make {total} {what} bits, over the limit of {limit}"
    )]
    TooLarge {
        /// "quantum" or "classical".
        what: &'static str,
        /// Register name.
        name: String,
        /// Register size.
        size: u64,
        /// Total after adding it.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// A condition naming a classical register that does not exist.
    #[error("condition names classical register #{creg}, but there are {num_cregs}")]
    UnknownCreg {
        /// The index given.
        creg: u32,
        /// Registers defined.
        num_cregs: usize,
    },
    /// A one-bit condition on a bit the register lacks, or comparing it with more than 1.
    #[error("condition on bit {bit} of a {size}-bit register compares it with {value}")]
    BadBitCondition {
        /// The bit's index in the register.
        bit: u32,
        /// The register's size.
        size: u32,
        /// The value compared with.
        value: u64,
    },
    /// An opaque gate index that was never declared.
    #[error("opaque gate #{index} was never declared")]
    UnknownOpaque {
        /// The index given.
        index: u32,
    },
}

/// A named range of qubits or classical bits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Register {
    /// The register's name in OpenQASM.
    pub name: String,
    /// Index of its first bit.
    pub offset: u32,
    /// Number of bits.
    pub size: u32,
}

impl Register {
    /// The flat indices this register covers.
    pub fn range(&self) -> Range<u32> {
        self.offset..self.offset + self.size
    }
}

/// A gate declared `opaque`: known by name and shape, with no definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpaqueGate {
    /// Its name.
    pub name: String,
    /// Number of parameters.
    pub num_params: usize,
    /// Number of qubits.
    pub arity: usize,
}

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpKind {
    /// A gate from the table.
    Gate(Gate),
    /// An opaque gate: index into [`Circuit::opaque_gates`].
    Opaque(u32),
    /// Measure one qubit into one classical bit.
    Measure,
    /// Reset one qubit to |0⟩.
    Reset,
    /// A barrier over its qubits (no effect on the state).
    Barrier,
}

/// `if (creg == value)`: the operation runs only when the register reads `value`, with the
/// register's first bit as the least significant bit. With `bit`, `if (creg[bit] == value)`:
/// only that bit of the register is read, and `value` is 0 or 1 (OpenQASM 3's `if (c[0])`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Condition {
    /// Index into [`Circuit::cregs`].
    pub creg: u32,
    /// The value compared with.
    pub value: u64,
    /// The one bit of the register read (its index in the register), if only one is.
    pub bit: Option<u32>,
}

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq)]
struct OpData {
    kind: OpKind,
    qubits_start: u32,
    qubits_len: u32,
    params_start: u32,
    params_len: u32,
    clbit: u32,
    condition: u32,
}

/// One operation of a circuit, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Op<'a> {
    /// What it does.
    pub kind: OpKind,
    /// Qubits it acts on (for a gate, in operand order).
    pub qubits: &'a [u32],
    /// Gate parameters (radians).
    pub params: &'a [f64],
    /// For a measurement, the classical bit written.
    pub clbit: Option<u32>,
    /// The classical condition, if any.
    pub condition: Option<Condition>,
}

impl Op<'_> {
    /// The gate, when this is a gate from the table.
    pub fn gate(&self) -> Option<Gate> {
        match self.kind {
            OpKind::Gate(g) => Some(g),
            _ => None,
        }
    }

    /// Whether this is a unitary gate (table or opaque).
    pub fn is_gate(&self) -> bool {
        matches!(self.kind, OpKind::Gate(_) | OpKind::Opaque(_))
    }
}

/// A quantum circuit: registers and a flat list of operations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Circuit {
    num_qubits: u32,
    num_clbits: u32,
    qregs: Vec<Register>,
    cregs: Vec<Register>,
    opaque_gates: Vec<OpaqueGate>,
    ops: Vec<OpData>,
    qubit_args: Vec<u32>,
    params: Vec<f64>,
    conditions: Vec<Condition>,
}

impl Circuit {
    /// An empty circuit with no registers.
    pub fn new() -> Circuit {
        Circuit::default()
    }

    /// Number of qubits.
    pub fn num_qubits(&self) -> u32 {
        self.num_qubits
    }

    /// Number of classical bits.
    pub fn num_clbits(&self) -> u32 {
        self.num_clbits
    }

    /// Quantum registers, in declaration order.
    pub fn qregs(&self) -> &[Register] {
        &self.qregs
    }

    /// Classical registers, in declaration order.
    pub fn cregs(&self) -> &[Register] {
        &self.cregs
    }

    /// Declared opaque gates.
    pub fn opaque_gates(&self) -> &[OpaqueGate] {
        &self.opaque_gates
    }

    /// Number of operations (gates, measurements, resets, barriers).
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are no operations.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The operations in program order.
    pub fn ops(&self) -> impl ExactSizeIterator<Item = Op<'_>> + '_ {
        self.ops.iter().map(move |d| self.view(d))
    }

    /// The operation at `index`.
    pub fn op(&self, index: usize) -> Option<Op<'_>> {
        self.ops.get(index).map(|d| self.view(d))
    }

    #[inline]
    fn view<'a>(&'a self, d: &OpData) -> Op<'a> {
        let qs = d.qubits_start as usize;
        let ps = d.params_start as usize;
        Op {
            kind: d.kind,
            qubits: &self.qubit_args[qs..qs + d.qubits_len as usize],
            params: &self.params[ps..ps + d.params_len as usize],
            clbit: (d.clbit != NONE).then_some(d.clbit),
            condition: (d.condition != NONE).then(|| self.conditions[d.condition as usize]),
        }
    }

    /// Adds a quantum register of `size` qubits; returns the indices it covers.
    pub fn add_qreg(&mut self, name: &str, size: u32) -> Result<Range<u32>, CircuitError> {
        check_fresh(&self.qregs, name)?;
        self.add_qreg_named_by_caller(name, size)
    }

    /// [`Circuit::add_qreg`] for a caller that has checked the name is not taken (the parser
    /// keeps every name in a hash map): the linear search for a repeat would make a file of
    /// many registers quadratic to read (#28).
    pub(crate) fn add_qreg_named_by_caller(
        &mut self,
        name: &str,
        size: u32,
    ) -> Result<Range<u32>, CircuitError> {
        let offset = self.num_qubits;
        let total = add_register(&mut self.qregs, "quantum", name, offset, size)?;
        self.num_qubits = total;
        Ok(offset..total)
    }

    /// Adds a classical register of `size` bits; returns the indices it covers.
    pub fn add_creg(&mut self, name: &str, size: u32) -> Result<Range<u32>, CircuitError> {
        check_fresh(&self.cregs, name)?;
        self.add_creg_named_by_caller(name, size)
    }

    /// [`Circuit::add_creg`] for a caller that has checked the name is not taken.
    pub(crate) fn add_creg_named_by_caller(
        &mut self,
        name: &str,
        size: u32,
    ) -> Result<Range<u32>, CircuitError> {
        let offset = self.num_clbits;
        let total = add_register(&mut self.cregs, "classical", name, offset, size)?;
        self.num_clbits = total;
        Ok(offset..total)
    }

    /// Declares an opaque gate; returns the index that [`OpKind::Opaque`] takes.
    pub fn declare_opaque(&mut self, name: &str, num_params: usize, arity: usize) -> u32 {
        self.opaque_gates.push(OpaqueGate {
            name: name.to_string(),
            num_params,
            arity,
        });
        (self.opaque_gates.len() - 1) as u32
    }

    /// Appends a gate from the table.
    pub fn gate(&mut self, gate: Gate, qubits: &[u32], params: &[f64]) -> Result<(), CircuitError> {
        self.push(OpKind::Gate(gate), qubits, params, None, None)
    }

    /// Appends a measurement of `qubit` into `clbit`.
    pub fn measure(&mut self, qubit: u32, clbit: u32) -> Result<(), CircuitError> {
        self.push(OpKind::Measure, &[qubit], &[], Some(clbit), None)
    }

    /// Appends a reset of `qubit`.
    pub fn reset(&mut self, qubit: u32) -> Result<(), CircuitError> {
        self.push(OpKind::Reset, &[qubit], &[], None, None)
    }

    /// Appends a barrier over `qubits`.
    pub fn barrier(&mut self, qubits: &[u32]) -> Result<(), CircuitError> {
        self.push(OpKind::Barrier, qubits, &[], None, None)
    }

    /// Appends any operation, checking its shape: qubits and bits in range, distinct qubits,
    /// the gate's arity and parameter count, finite parameters, a known condition register.
    pub fn push(
        &mut self,
        kind: OpKind,
        qubits: &[u32],
        params: &[f64],
        clbit: Option<u32>,
        condition: Option<Condition>,
    ) -> Result<(), CircuitError> {
        self.validate(kind, qubits, params, clbit, condition)?;
        self.push_checked_by_caller(kind, qubits, params, clbit, condition);
        Ok(())
    }

    fn validate(
        &self,
        kind: OpKind,
        qubits: &[u32],
        params: &[f64],
        clbit: Option<u32>,
        condition: Option<Condition>,
    ) -> Result<(), CircuitError> {
        for &q in qubits {
            if q >= self.num_qubits {
                return Err(CircuitError::QubitOutOfRange {
                    qubit: q,
                    num_qubits: self.num_qubits,
                });
            }
        }
        let shape = match kind {
            OpKind::Gate(g) => Some((g.name(), g.arity(), g.num_params())),
            OpKind::Opaque(i) => {
                let o = self
                    .opaque_gates
                    .get(i as usize)
                    .ok_or(CircuitError::UnknownOpaque { index: i })?;
                Some((o.name.as_str(), o.arity, o.num_params))
            }
            OpKind::Measure => Some(("measure", 1, 0)),
            OpKind::Reset => Some(("reset", 1, 0)),
            OpKind::Barrier => None,
        };
        if let Some((name, arity, nparams)) = shape {
            if qubits.len() != arity {
                return Err(CircuitError::WrongArity {
                    gate: name.to_string(),
                    expected: arity,
                    found: qubits.len(),
                });
            }
            if params.len() != nparams {
                return Err(CircuitError::WrongParamCount {
                    gate: name.to_string(),
                    expected: nparams,
                    found: params.len(),
                });
            }
            if let Some((index, &value)) = params.iter().enumerate().find(|(_, p)| !p.is_finite()) {
                return Err(CircuitError::NonFiniteParam {
                    gate: name.to_string(),
                    index,
                    value,
                });
            }
            for (i, &q) in qubits.iter().enumerate() {
                if qubits[..i].contains(&q) {
                    return Err(CircuitError::DuplicateQubit {
                        gate: name.to_string(),
                        qubit: q,
                    });
                }
            }
        }
        match (kind, clbit) {
            (OpKind::Measure, Some(c)) if c < self.num_clbits => {}
            (OpKind::Measure, c) => {
                return Err(CircuitError::ClbitOutOfRange {
                    clbit: c.unwrap_or(NONE),
                    num_clbits: self.num_clbits,
                });
            }
            (_, None) => {}
            (_, Some(c)) => {
                return Err(CircuitError::ClbitOutOfRange {
                    clbit: c,
                    num_clbits: self.num_clbits,
                });
            }
        }
        if let Some(cond) = condition
            && cond.creg as usize >= self.cregs.len()
        {
            return Err(CircuitError::UnknownCreg {
                creg: cond.creg,
                num_cregs: self.cregs.len(),
            });
        }
        if let Some(cond) = condition
            && let Some(bit) = cond.bit
        {
            let size = self.cregs[cond.creg as usize].size;
            if bit >= size || cond.value > 1 {
                return Err(CircuitError::BadBitCondition {
                    bit,
                    size,
                    value: cond.value,
                });
            }
        }
        Ok(())
    }

    /// Appends an operation the caller has already checked (the parser, which has every fact
    /// `push` checks at hand). Checked again in debug builds.
    #[inline]
    pub(crate) fn push_checked_by_caller(
        &mut self,
        kind: OpKind,
        qubits: &[u32],
        params: &[f64],
        clbit: Option<u32>,
        condition: Option<Condition>,
    ) {
        debug_assert_eq!(
            self.validate(kind, qubits, params, clbit, condition),
            Ok(())
        );
        let condition = match condition {
            None => NONE,
            Some(cond) => {
                if self.conditions.last() != Some(&cond) {
                    self.conditions.push(cond);
                }
                (self.conditions.len() - 1) as u32
            }
        };
        self.ops.push(OpData {
            kind,
            qubits_start: self.qubit_args.len() as u32,
            qubits_len: qubits.len() as u32,
            params_start: self.params.len() as u32,
            params_len: params.len() as u32,
            clbit: clbit.unwrap_or(NONE),
            condition,
        });
        // Element by element: for one to three qubits a `memcpy` call costs more than the
        // copy.
        self.qubit_args.extend(qubits.iter().copied());
        self.params
            .extend(params.iter().map(|&p| if p == 0.0 { 0.0 } else { p }));
    }

    /// Reserves room for `ops` more operations with about `args` qubit arguments.
    pub fn reserve(&mut self, ops: usize, args: usize) {
        self.ops.reserve(ops);
        self.qubit_args.reserve(args);
    }
}

fn check_fresh(regs: &[Register], name: &str) -> Result<(), CircuitError> {
    if regs.iter().any(|r| r.name == name) {
        return Err(CircuitError::DuplicateRegister {
            name: name.to_string(),
        });
    }
    Ok(())
}

fn add_register(
    regs: &mut Vec<Register>,
    what: &'static str,
    name: &str,
    offset: u32,
    size: u32,
) -> Result<u32, CircuitError> {
    let total = offset as u64 + size as u64;
    if total > MAX_WIRES as u64 {
        return Err(CircuitError::TooLarge {
            what,
            name: name.to_string(),
            size: size as u64,
            total,
            limit: MAX_WIRES as u64,
        });
    }
    regs.push(Register {
        name: name.to_string(),
        offset,
        size,
    });
    Ok(total as u32)
}
