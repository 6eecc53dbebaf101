//! The statements of OpenQASM 3's gate-model subset that version 2 does not have: `qubit` and
//! `bit` declarations, `c[0] = measure q[0];`, `if`/`else` with a braced body or on one bit,
//! `gphase`, `stdgates.inc`; and the refusal, with its position, of everything else a
//! version-3 program may hold.

use super::{Arg, Callable, FileParser, Result};
use crate::circuit::qasm::ParseErrorKind;
use crate::circuit::qasm::lexer::Tok;
use crate::circuit::{Condition, Gate, OpKind};

/// The widest register whose value an `if` with an `else` may test: its `else` body is copied
/// once for every other value (255 at 8 bits).
pub(crate) const ELSE_MAX_BITS: u32 = 8;

/// One operation of an `else` body, to copy: kind, qubits, parameters, bit written.
type BodyOp = (OpKind, Vec<u32>, Vec<f64>, Option<u32>);

/// The gates of OpenQASM 3's `stdgates.inc` that the gate table has under the same name.
/// (`phase`, `cphase` and `CX` are its other names for `p`, `cp` and the built-in.)
pub(super) fn in_stdgates(g: Gate) -> bool {
    use Gate::*;
    matches!(
        g,
        P | X
            | Y
            | Z
            | H
            | S
            | Sdg
            | T
            | Tdg
            | Sx
            | Rx
            | Ry
            | Rz
            | Cx
            | Cy
            | Cz
            | Cp
            | Crx
            | Cry
            | Crz
            | Ch
            | Swap
            | Ccx
            | Cswap
            | Cu
            | Id
            | U1
            | U2
            | U3
    )
}

/// What a version-3 keyword outside the subset is, for the refusal; `None` for a word that
/// may be a gate or register name.
pub(super) fn refused(word: &str) -> Option<String> {
    Some(match word {
        "for" | "while" => format!("`{word}` loops"),
        "def" | "return" => "subroutines (`def`)".into(),
        "defcal" | "cal" | "defcalgrammar" => "pulse-level calibrations".into(),
        "delay" | "box" | "stretch" | "duration" | "durationof" => {
            format!("timing (`{word}`)")
        }
        "input" | "output" => format!("`{word}` parameters"),
        "let" => "aliases (`let`)".into(),
        "const" | "int" | "uint" | "float" | "angle" | "bool" | "complex" | "array" => {
            format!("classical variables (`{word}`)")
        }
        "break" | "continue" | "end" | "switch" | "case" | "default" => {
            format!("classical control flow (`{word}`)")
        }
        "extern" => "`extern` functions".into(),
        "ctrl" | "negctrl" | "inv" | "pow" => format!("gate modifiers (`{word} @`)"),
        "else" => "`else` without its `if`".into(),
        _ => return None,
    })
}

impl<'s> FileParser<'s, '_> {
    /// A statement only version 3 has, read or refused; `None` for those both versions share.
    pub(super) fn statement3(&mut self) -> Option<Result<()>> {
        let word = self.text(&self.tok);
        Some(match word {
            "qubit" => self.declaration(true),
            "bit" => self.declaration(false),
            "if" => self.conditional3(),
            "gphase" => self.gphase(),
            _ if self.st.cregs.contains_key(word) => self.measure_assign(),
            _ => {
                let what = refused(word)?;
                Err(self.error(&self.tok, ParseErrorKind::Unsupported { what }))
            }
        })
    }

    /// `qubit q;`, `qubit[n] q;`, `bit c;`, `bit[n] c;`.
    fn declaration(&mut self, quantum: bool) -> Result<()> {
        let kw = self.advance()?;
        let size = if self.eat(Tok::LBracket)? {
            let s = self.uint("a register size")?;
            self.expect(Tok::RBracket, "`]`")?;
            s
        } else {
            (1, kw)
        };
        let name_tok = self.expect(Tok::Ident, "a register name")?;
        if self.tok.kind() == Tok::Assign {
            return Err(self.error(
                &self.tok,
                ParseErrorKind::Unsupported {
                    what: "initialised declarations".into(),
                },
            ));
        }
        self.expect(Tok::Semi, "`;`")?;
        self.declare(quantum, name_tok, size.0, size.1)
    }

    /// `c[0] = measure q[0];` or `c = measure q;`.
    fn measure_assign(&mut self) -> Result<()> {
        let (c, _) = self.argument(false)?;
        if self.tok.kind() != Tok::Assign {
            return Err(self.unexpected("`=` (a bit is assigned a measurement)"));
        }
        self.advance()?;
        if !self.is_keyword("measure") {
            return Err(self.error(
                &self.tok,
                ParseErrorKind::Unsupported {
                    what: "classical assignment other than `= measure`".into(),
                },
            ));
        }
        let stmt = self.advance()?;
        let (q, qt) = self.argument(true)?;
        self.expect(Tok::Semi, "`;`")?;
        // `bit b;` and `qubit a;` declare one bit and one qubit: `b = measure q[0];` and
        // `c[0] = measure a;` measure a bit into a bit.
        let circuit = &self.st.circuit;
        let (q, c) = match (q, c) {
            (Arg::Bit(..), Arg::Reg(r)) if circuit.cregs()[r as usize].size == 1 => {
                (q, Arg::Bit(circuit.cregs()[r as usize].offset, r, 0))
            }
            (Arg::Reg(r), Arg::Bit(..)) if circuit.qregs()[r as usize].size == 1 => {
                (Arg::Bit(circuit.qregs()[r as usize].offset, r, 0), c)
            }
            other => other,
        };
        self.measure_into(&stmt, q, &qt, c)
    }

    /// `gphase(θ);`: a global phase, which changes no probability and no count; read and
    /// dropped.
    fn gphase(&mut self) -> Result<()> {
        let stmt = self.advance()?;
        self.top_params()?;
        self.expect(Tok::Semi, "`;` (a global phase takes no qubits)")?;
        if self.st.params.len() != 1 {
            return Err(self.error(
                &stmt,
                ParseErrorKind::ParamCount {
                    gate: "gphase".into(),
                    expected: 1,
                    found: self.st.params.len(),
                },
            ));
        }
        Ok(())
    }

    /// `if (c == n) body`, `if (c[i]) body`, `if (c[i] == 0) body` (`true`/`false` too), and
    /// for a one-bit register `b` also `if (b) body`; body is one statement or `{ ... }`.
    fn conditional3(&mut self) -> Result<()> {
        let (creg, _) = self.condition_register()?;
        let size = self.st.circuit.cregs()[creg as usize].size;
        // A one-bit register reads as a register (`if (b)` is `if (b == 1)`, as version 2
        // writes it); one bit of a wider register is a one-bit condition.
        let (value, bit) = if self.tok.kind() == Tok::LBracket {
            let bit = self.bit_index(creg)? as u32;
            let value = self.bit_value()?;
            (value, (size > 1).then_some(bit))
        } else if size == 1 {
            (self.bit_value()?, None)
        } else {
            self.expect(Tok::EqEq, "`==`")?;
            (self.uint("an integer")?.0, None)
        };
        self.expect(Tok::RParen, "`)`")?;
        let cond = Condition { creg, value, bit };
        let wrote = self.conditioned_body(cond)?;
        if self.is_keyword("else") {
            if wrote {
                return Err(self.error(
                    &self.tok,
                    ParseErrorKind::Unsupported {
                        what: "`else` after an `if` whose body measures into a bit the \
                               condition reads (the `else` would read the new value)"
                            .into(),
                    },
                ));
            }
            // The negation of a one-bit condition is one; a register's `!=` is not in the IR,
            // so the body is copied under each other value the register can hold.
            if bit.is_none() && size > 1 {
                return self.register_else(cond, size);
            }
            self.advance()?;
            self.conditioned_body(Condition {
                value: 1 - value,
                ..cond
            })?;
        }
        Ok(())
    }

    /// `else body` after `if (c == n)` on a register of `size` bits: the body under
    /// `c == v` for every other value v, each copy once. Exactly one copy runs, since the
    /// register holds one value and no copy may write it; that bounds the register at
    /// [`ELSE_MAX_BITS`] bits (255 copies), and the copies count as parse work as written
    /// ones do.
    fn register_else(&mut self, cond: Condition, size: u32) -> Result<()> {
        if size > ELSE_MAX_BITS {
            return Err(self.error(
                &self.tok,
                ParseErrorKind::Unsupported {
                    what: format!(
                        "`else` after a condition on the value of a register of more than \
                         {ELSE_MAX_BITS} bits (this one has {size})"
                    ),
                },
            ));
        }
        let at = self.advance()?;
        let mut others = (0..1u64 << size).filter(|&v| v != cond.value);
        let Some(first) = others.next() else {
            return Ok(());
        };
        let before = self.st.circuit.len();
        if self.conditioned_body(Condition {
            value: first,
            ..cond
        })? {
            return Err(self.error(
                &at,
                ParseErrorKind::Unsupported {
                    what: "an `else` body that measures into the register its `if` reads \
                           (after a condition on the register's value)"
                        .into(),
                },
            ));
        }
        let body: Vec<BodyOp> = self
            .st
            .circuit
            .ops()
            .skip(before)
            .map(|op| (op.kind, op.qubits.to_vec(), op.params.to_vec(), op.clbit))
            .collect();
        for value in others {
            self.st.condition = Some(Condition { value, ..cond });
            for (kind, qubits, params, clbit) in &body {
                let pushed = self.push_op(&at, *kind, qubits, params, *clbit);
                if pushed.is_err() {
                    self.st.condition = None;
                    return pushed;
                }
            }
        }
        self.st.condition = None;
        Ok(())
    }

    /// One statement or `{ ... }`, each under `cond`. The IR conditions each operation on
    /// its own, reading the register when it runs, so a block that writes a bit its condition
    /// reads would change the condition for what follows: such a statement must be the
    /// block's last. Returns whether the body wrote a bit the condition reads.
    fn conditioned_body(&mut self, cond: Condition) -> Result<bool> {
        self.st.condition = Some(cond);
        let r = if self.eat(Tok::LBrace)? {
            let mut r = Ok(false);
            while let Ok(false) = r
                && self.tok.kind() != Tok::RBrace
            {
                r = self.conditioned_writes(cond);
            }
            match r {
                Ok(true) if self.tok.kind() != Tok::RBrace => Err(self.error(
                    &self.tok,
                    ParseErrorKind::Unsupported {
                        what: "a statement after a measurement into a bit its `if` reads (the \
                               condition would be read again after it)"
                            .into(),
                    },
                )),
                r => r.and_then(|wrote| self.expect(Tok::RBrace, "`}`").map(|_| wrote)),
            }
        } else {
            self.conditioned_writes(cond)
        };
        self.st.condition = None;
        r
    }

    /// One statement under `cond`; whether it measured into a bit `cond` reads.
    fn conditioned_writes(&mut self, cond: Condition) -> Result<bool> {
        let before = self.st.circuit.len();
        self.conditioned()?;
        let reg = &self.st.circuit.cregs()[cond.creg as usize];
        let read = match cond.bit {
            Some(b) => reg.offset + b..reg.offset + b + 1,
            None => reg.offset..reg.offset + reg.size,
        };
        Ok(self
            .st
            .circuit
            .ops()
            .skip(before)
            .any(|op| op.clbit.is_some_and(|c| read.contains(&c))))
    }

    /// `[i]` after a bit register's name: the index, checked against the register.
    pub(super) fn bit_index(&mut self, creg: u32) -> Result<u64> {
        self.expect(Tok::LBracket, "`[`")?;
        let (index, it) = self.uint("an index")?;
        self.expect(Tok::RBracket, "`]`")?;
        self.check_index(&self.st.circuit.cregs()[creg as usize], index, &it)?;
        Ok(index)
    }

    /// After a bit in a condition: nothing (true), `== 1`, `== 0`, `== true`, `== false`.
    pub(super) fn bit_value(&mut self) -> Result<u64> {
        if !self.eat(Tok::EqEq)? {
            return Ok(1);
        }
        if self.tok.kind() == Tok::Ident {
            let v = match self.text(&self.tok) {
                "true" => 1,
                "false" => 0,
                _ => return Err(self.unexpected("`0`, `1`, `true` or `false`")),
            };
            self.advance()?;
            return Ok(v);
        }
        if self.tok.kind() == Tok::Int && matches!(self.text(&self.tok), "0" | "1") {
            return Ok(self.uint("`0` or `1`")?.0);
        }
        Err(self.unexpected("`0`, `1`, `true` or `false`"))
    }

    /// One statement under `if`: a gate call, a measurement (either spelling) or `reset`.
    fn conditioned(&mut self) -> Result<()> {
        if self.tok.kind() != Tok::Ident {
            return Err(self.unexpected("a gate call, measurement or `reset` under `if`"));
        }
        let word = self.text(&self.tok);
        if let Some(what) = refused(word) {
            return Err(self.error(&self.tok, ParseErrorKind::Unsupported { what }));
        }
        match word {
            "if" | "qubit" | "bit" | "qreg" | "creg" | "gate" | "opaque" | "include"
            | "barrier" => Err(self.unexpected("a gate call, measurement or `reset` under `if`")),
            "gphase" => self.gphase(),
            _ if self.st.cregs.contains_key(word) => self.measure_assign(),
            _ => self.quantum_op(self.word(&self.tok), true),
        }
    }

    /// `include "stdgates.inc";` in version 3: its gates, by their names and other names.
    pub(super) fn include_stdgates(&mut self) {
        if self.st.stdgates {
            return;
        }
        for &g in crate::circuit::gate::ALL_GATES
            .iter()
            .filter(|&&g| in_stdgates(g))
        {
            self.st
                .gates
                .insert(g.name().to_string(), Callable::Builtin(g));
        }
        self.st
            .gates
            .insert("phase".into(), Callable::Builtin(Gate::P));
        self.st
            .gates
            .insert("cphase".into(), Callable::Builtin(Gate::Cp));
        self.st.stdgates = true;
    }

    /// A version-3 definition of a gate the table has under that name and shape (Qiskit
    /// defines `sxdg`, `rzz`, `rxx`, ... that way, since `stdgates.inc` lacks them): calls
    /// use the table's gate, as the same circuit written in version 2 does, so both versions
    /// of a circuit have the same features.
    pub(super) fn standard_definition(
        &self,
        name: &str,
        params: usize,
        arity: usize,
    ) -> Option<Gate> {
        if !self.st.v3 {
            return None;
        }
        Gate::from_name(name)
            .filter(|g| g.info().qelib1 && g.num_params() == params && g.arity() == arity)
    }
}

#[cfg(test)]
mod tests {
    use super::{in_stdgates, refused};
    use crate::circuit::gate::ALL_GATES;
    use crate::circuit::qasm::{ParseErrorKind, parse_str};

    #[test]
    fn stdgates_has_its_29_table_gates_and_refusals_name_the_construct() {
        assert_eq!(ALL_GATES.iter().filter(|&&g| in_stdgates(g)).count(), 29);
        assert_eq!(refused("while").as_deref(), Some("`while` loops"));
        assert_eq!(refused("inv").as_deref(), Some("gate modifiers (`inv @`)"));
        assert_eq!(refused("q"), None);
    }

    #[test]
    fn declarations_and_measurement_assignment() {
        let c =
            parse_str("OPENQASM 3;\nqubit[3] q;\nqubit r;\nbit[3] c;\nc = measure q;\n").unwrap();
        assert_eq!((c.num_qubits(), c.num_clbits()), (4, 3));
        assert_eq!(c.ops().len(), 3);
        let e = parse_str("OPENQASM 3.0;\nqubit[0] q;\n").unwrap_err();
        assert!(
            matches!(e.kind, ParseErrorKind::EmptyRegister { .. }),
            "{e}"
        );
        let e = parse_str("OPENQASM 3.0;\nbit[2] c = \"00\";\n").unwrap_err();
        assert!(matches!(e.kind, ParseErrorKind::Unsupported { .. }), "{e}");
        assert_eq!((e.line, e.col), (2, 10));
    }
}
