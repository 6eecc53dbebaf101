//! Statements that act on the circuit: register declarations, gate calls (the compact fast
//! path and the general one, broadcast over registers), `measure`, `reset`, `barrier`, `if`.

use super::{Arg, Callable, FileParser, KW_MEASURE, KW_RESET, NAMES_SCANNED, Result};
use crate::circuit::gate::name_word;
use crate::circuit::qasm::ParseErrorKind;
use crate::circuit::qasm::fast;
use crate::circuit::qasm::lexer::{Tok, Token, word_at};
use crate::circuit::{Condition, Gate, OpKind};

/// The first index whose value appeared earlier in `xs`: a scan for the short lists almost
/// every call has, a hash set beyond that (a call with thousands of arguments stays linear).
fn first_repeat(xs: &[u32]) -> Option<usize> {
    if xs.len() <= NAMES_SCANNED {
        return (1..xs.len()).find(|&k| xs[..k].contains(&xs[k]));
    }
    let mut seen = rustc_hash::FxHashSet::default();
    seen.reserve(xs.len());
    xs.iter().position(|x| !seen.insert(*x))
}

impl<'s> FileParser<'s, '_> {
    pub(super) fn register(&mut self, quantum: bool) -> Result<()> {
        self.advance()?;
        let name_tok = self.expect(Tok::Ident, "a register name")?;
        self.expect(Tok::LBracket, "`[`")?;
        let (size, size_tok) = self.uint("a register size")?;
        self.expect(Tok::RBracket, "`]`")?;
        self.expect(Tok::Semi, "`;`")?;
        self.declare(quantum, name_tok, size, size_tok)
    }

    /// Declares the register named by `name_tok` (version 2's `qreg`/`creg`, version 3's
    /// `qubit`/`bit`), with every limit checked.
    pub(super) fn declare(
        &mut self,
        quantum: bool,
        name_tok: Token,
        size: u64,
        size_tok: Token,
    ) -> Result<()> {
        let name = self.text(&name_tok);
        if self.st.qregs.contains_key(name) || self.st.cregs.contains_key(name) {
            return Err(self.error(
                &name_tok,
                ParseErrorKind::RegisterRedeclared {
                    name: name.to_string(),
                },
            ));
        }
        let registers = (self.st.circuit.qregs().len() + self.st.circuit.cregs().len()) as u64;
        if registers >= self.st.limits.max_registers {
            return Err(self.error(
                &name_tok,
                ParseErrorKind::Limit {
                    what: "number of registers",
                    limit: self.st.limits.max_registers,
                },
            ));
        }
        if size == 0 {
            return Err(self.error(
                &size_tok,
                ParseErrorKind::EmptyRegister {
                    name: name.to_string(),
                },
            ));
        }
        let (what, have, limit) = if quantum {
            (
                "quantum",
                self.st.circuit.num_qubits(),
                self.st.limits.max_qubits,
            )
        } else {
            (
                "classical",
                self.st.circuit.num_clbits(),
                self.st.limits.max_clbits,
            )
        };
        let total = have as u64 + size;
        if total > limit {
            return Err(self.error(
                &size_tok,
                ParseErrorKind::TooManyBits {
                    what,
                    name: name.to_string(),
                    size,
                    total,
                    limit,
                },
            ));
        }
        let c = &mut self.st.circuit;
        // The name was looked up in `qregs` and `cregs` above.
        let r = if quantum {
            c.add_qreg_named_by_caller(name, size as u32)
        } else {
            c.add_creg_named_by_caller(name, size as u32)
        };
        r.map_err(|e| self.error(&name_tok, e.into()))?;
        let word = name_word(name.as_bytes());
        if quantum {
            let i = self.st.circuit.qregs().len() as u32 - 1;
            self.st.qregs.insert(name.to_string(), i);
            self.st.qreg_words.push(word);
        } else {
            let i = self.st.circuit.cregs().len() as u32 - 1;
            self.st.cregs.insert(name.to_string(), i);
            self.st.creg_words.push(word);
        }
        Ok(())
    }

    /// `q` or `q[i]` naming a quantum (or classical) register.
    // Inlined for the same reason as `lookup_gate`: its result was copied out of memory that
    // had just been written in smaller pieces.
    #[inline(always)]
    pub(super) fn argument(&mut self, quantum: bool) -> Result<(Arg, Token)> {
        let t = self.expect(
            Tok::Ident,
            if quantum {
                "a qubit or quantum register"
            } else {
                "a bit or classical register"
            },
        )?;
        let name = self.text(&t);
        let Some(reg) = self.find_register(name, self.word(&t), quantum) else {
            return Err(self.error(
                &t,
                ParseErrorKind::UnknownRegister {
                    what: if quantum { "quantum" } else { "classical" },
                    name: name.to_string(),
                },
            ));
        };
        if self.tok.kind() != Tok::LBracket {
            return Ok((Arg::Reg(reg), t));
        }
        let bracket = self.tok;
        let (index, it) = match self.lex.index_then_rbracket() {
            Some((v, start, end)) => {
                self.advance()?;
                let it = Token::new(Tok::Int, start, end, bracket.line());
                (v, it)
            }
            None => {
                self.advance()?;
                let r = self.uint("an index")?;
                self.expect(Tok::RBracket, "`]`")?;
                r
            }
        };
        let r = if quantum {
            &self.st.circuit.qregs()[reg as usize]
        } else {
            &self.st.circuit.cregs()[reg as usize]
        };
        self.check_index(r, index, &it)?;
        Ok((Arg::Bit(r.offset + index as u32, reg, index as u32), t))
    }

    /// `index` (read at `it`) names a bit of `r`.
    pub(super) fn check_index(
        &self,
        r: &crate::circuit::Register,
        index: u64,
        it: &Token,
    ) -> Result<()> {
        if index >= r.size as u64 {
            return Err(self.error(
                it,
                ParseErrorKind::IndexOutOfRange {
                    register: r.name.clone(),
                    index,
                    size: r.size,
                },
            ));
        }
        Ok(())
    }

    /// The index of the quantum (or classical) register `name`, whose [`name_word`] is
    /// `word`.
    #[inline(always)]
    pub(super) fn find_register(&self, name: &str, word: u64, quantum: bool) -> Option<u32> {
        let (words, by_name) = if quantum {
            (&self.st.qreg_words, &self.st.qregs)
        } else {
            (&self.st.creg_words, &self.st.cregs)
        };
        // Most files have one to three registers with short names: a scan of integers beats
        // hashing.
        if word != 0 && words.len() <= 8 {
            words.iter().position(|&w| w == word).map(|i| i as u32)
        } else {
            by_name.get(name).copied()
        }
    }

    pub(super) fn arg_list(&mut self) -> Result<()> {
        let mut args = std::mem::take(&mut self.st.args);
        args.clear();
        let r = (|| {
            loop {
                self.count_args(&self.tok, args.len())?;
                args.push(self.argument(true)?);
                if !self.eat(Tok::Comma)? {
                    return Ok(());
                }
            }
        })();
        self.st.args = args;
        r
    }

    /// Size of a broadcast over `args`: `None` when all are single bits.
    pub(super) fn broadcast_size(
        &self,
        args: &[(Arg, Token)],
        quantum: bool,
    ) -> Result<Option<u32>> {
        let mut first: Option<(u32, u32)> = None;
        for (a, t) in args {
            if let Arg::Reg(r) = *a {
                let regs = if quantum {
                    self.st.circuit.qregs()
                } else {
                    self.st.circuit.cregs()
                };
                let size = regs[r as usize].size;
                match first {
                    None => first = Some((r, size)),
                    Some((r0, s0)) if s0 != size => {
                        return Err(self.error(
                            t,
                            ParseErrorKind::BroadcastMismatch {
                                first: regs[r0 as usize].name.clone(),
                                first_size: s0,
                                other: regs[r as usize].name.clone(),
                                other_size: size,
                            },
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(first.map(|(_, s)| s))
    }

    pub(super) fn arg_text(&self, a: Arg) -> String {
        match a {
            Arg::Bit(_, reg, i) => format!("{}[{i}]", self.st.circuit.qregs()[reg as usize].name),
            Arg::Reg(reg) => self.st.circuit.qregs()[reg as usize].name.clone(),
        }
    }

    /// A gate call, `measure` or `reset` (possibly under `if`); `word` is the current
    /// token's [`name_word`]; `compact`: whether to try [`FileParser::compact_call`] first.
    pub(super) fn quantum_op(&mut self, word: u64, compact: bool) -> Result<()> {
        let stmt = self.tok;
        match word {
            KW_MEASURE => return self.measure(),
            KW_RESET => return self.reset(),
            _ => {}
        }
        let callee = self.lookup_gate(&stmt, word)?;
        if compact
            && let Callable::Builtin(g) = callee
            && let Some(done) = self.compact_call(&stmt, g)
        {
            return done;
        }
        self.advance()?;
        self.top_params()?;
        self.arg_list()?;
        self.expect(Tok::Semi, "`;` or `,`")?;
        let name = self.text(&stmt);
        self.check_shape(
            &stmt,
            name,
            &callee,
            self.st.params.len(),
            self.st.args.len(),
        )?;
        let args = std::mem::take(&mut self.st.args);
        let params = std::mem::take(&mut self.st.params);
        let r = self.emit_broadcast(&stmt, &callee, &args, &params);
        self.st.args = args;
        self.st.params = params;
        r
    }

    /// A call of table gate `g` in the compact shape that [`fast::scan_call`] reads, with
    /// every check the general path makes passed; `None` (nothing consumed) otherwise, and
    /// the statement is read again token by token, which reports whatever is wrong.
    #[inline(always)]
    pub(super) fn compact_call(&mut self, stmt: &Token, g: Gate) -> Option<Result<()>> {
        self.st.params.clear();
        self.st.bits.clear();
        // Registers are matched by word when there are few (see `find_register`).
        let words: &[u64] = if self.st.qreg_words.len() <= 8 {
            &self.st.qreg_words
        } else {
            &[]
        };
        let end = fast::scan_call(
            self.src,
            self.lex.pos(),
            words,
            &mut self.st.params,
            &mut self.st.bits,
        )?;
        let params = &self.st.params;
        if params.len() != g.num_params()
            || self.st.bits.len() != g.arity()
            || !params.iter().all(|v| v.is_finite())
        {
            return None;
        }
        let mut qubits = [0u32; fast::MAX_ARGS];
        for (k, b) in self.st.bits.iter().enumerate() {
            let reg = match b.reg {
                Some(reg) => reg,
                None => {
                    let (start, end) = (b.name_start as usize, b.name_end as usize);
                    let word = word_at(self.src.as_bytes(), start, end);
                    self.find_register(&self.src[start..end], word, true)?
                }
            };
            let r = &self.st.circuit.qregs()[reg as usize];
            if b.index >= r.size {
                return None;
            }
            let q = r.offset + b.index;
            if qubits[..k].contains(&q) {
                return None;
            }
            qubits[k] = q;
        }
        let n = self.st.bits.len();
        // As on the general path: the token after the `;` is read before the operation is
        // counted against the limit.
        self.lex.skip_to(end);
        if let Err(e) = self.advance() {
            return Some(Err(e));
        }
        let params = std::mem::take(&mut self.st.params);
        let r = self.push_op(stmt, OpKind::Gate(g), &qubits[..n], &params, None);
        self.st.params = params;
        Some(r)
    }

    pub(super) fn emit_broadcast(
        &mut self,
        stmt: &Token,
        callee: &Callable,
        args: &[(Arg, Token)],
        params: &[f64],
    ) -> Result<()> {
        let n = self.broadcast_size(args, true)?;
        let mut qubits = std::mem::take(&mut self.st.qubits);
        let mut result = Ok(());
        for i in 0..n.unwrap_or(1) {
            qubits.clear();
            for (a, _) in args {
                qubits.push(match *a {
                    Arg::Bit(q, _, _) => q,
                    Arg::Reg(r) => self.st.circuit.qregs()[r as usize].offset + i,
                });
            }
            if let Some(dup) = first_repeat(&qubits) {
                let name = self.text(stmt).to_string();
                result = Err(self.error(
                    &args[dup].1,
                    ParseErrorKind::DuplicateQubit {
                        gate: name,
                        arg: self.arg_text(args[dup].0),
                    },
                ));
                break;
            }
            if let Err(e) = self.emit(stmt, callee, &qubits, params) {
                result = Err(e);
                break;
            }
        }
        self.st.qubits = qubits;
        result
    }

    pub(super) fn count_work(&mut self, at: &Token) -> Result<()> {
        self.st.work += 1;
        if self.st.work > self.st.limits.max_ops {
            return Err(self.error(
                at,
                ParseErrorKind::Limit {
                    what: "number of operations (after inlining gate definitions)",
                    limit: self.st.limits.max_ops,
                },
            ));
        }
        Ok(())
    }

    /// Refuses a parameter or argument list that already holds `have` entries when one
    /// more is at `at`.
    pub(super) fn count_args(&self, at: &Token, have: usize) -> Result<()> {
        if have as u64 >= self.st.limits.max_gate_args {
            return Err(self.error(
                at,
                ParseErrorKind::Limit {
                    what: "number of gate parameters or arguments",
                    limit: self.st.limits.max_gate_args,
                },
            ));
        }
        Ok(())
    }

    pub(super) fn push_op(
        &mut self,
        at: &Token,
        kind: OpKind,
        qubits: &[u32],
        params: &[f64],
        clbit: Option<u32>,
    ) -> Result<()> {
        self.count_work(at)?;
        let cond = self.st.condition;
        // The parser has checked everything `Circuit::push` would: qubits and bits in range
        // and distinct, arity and parameter count, finite parameters, the condition register.
        self.st
            .circuit
            .push_checked_by_caller(kind, qubits, params, clbit, cond);
        Ok(())
    }

    /// Emits one call with concrete qubits and parameters, inlining user gates.
    pub(super) fn emit(
        &mut self,
        at: &Token,
        callee: &Callable,
        qubits: &[u32],
        params: &[f64],
    ) -> Result<()> {
        match callee {
            Callable::Builtin(g) => self.push_op(at, OpKind::Gate(*g), qubits, params, None),
            Callable::Opaque { index, .. } => {
                self.push_op(at, OpKind::Opaque(*index), qubits, params, None)
            }
            Callable::User(def) => {
                // Its parameter expressions are evaluated at every call: their nodes count as
                // work too, or one long expression called a million times would cost the
                // product of the two while the count saw a million (#28).
                self.st.work += def.arena.nodes.len() as u64;
                self.count_work(at)?;
                let mut values = Vec::new();
                def.arena.eval_all(params, &mut values);
                let mut q = Vec::with_capacity(8);
                let mut p = Vec::with_capacity(4);
                for op in &def.body {
                    q.clear();
                    q.extend(op.qubits.iter().map(|&l| qubits[l as usize]));
                    p.clear();
                    p.extend(op.params.iter().map(|&r| values[r as usize]));
                    if let Some(&v) = p.iter().find(|v| !v.is_finite()) {
                        return Err(self.error(at, ParseErrorKind::NonFinite { value: v }));
                    }
                    match &op.callee {
                        Some(c) => self.emit(at, c, &q, &p)?,
                        None => self.push_op(at, OpKind::Barrier, &q, &[], None)?,
                    }
                }
                Ok(())
            }
        }
    }

    pub(super) fn measure(&mut self) -> Result<()> {
        let stmt = self.advance()?;
        let (q, qt) = self.argument(true)?;
        self.expect(Tok::Arrow, "`->`")?;
        let (c, _) = self.argument(false)?;
        self.expect(Tok::Semi, "`;`")?;
        self.measure_into(&stmt, q, &qt, c)
    }

    /// Measures qubit (or register) `q` into bit (or register) `c`.
    pub(super) fn measure_into(&mut self, stmt: &Token, q: Arg, qt: &Token, c: Arg) -> Result<()> {
        let stmt = *stmt;
        let qt = *qt;
        match (q, c) {
            (Arg::Bit(q, _, _), Arg::Bit(c, _, _)) => {
                self.push_op(&stmt, OpKind::Measure, &[q], &[], Some(c))
            }
            (Arg::Reg(qr), Arg::Reg(cr)) => {
                let qreg = self.st.circuit.qregs()[qr as usize].clone();
                let creg = self.st.circuit.cregs()[cr as usize].clone();
                if qreg.size != creg.size {
                    return Err(self.error(
                        &qt,
                        ParseErrorKind::BroadcastMismatch {
                            first: qreg.name,
                            first_size: qreg.size,
                            other: creg.name,
                            other_size: creg.size,
                        },
                    ));
                }
                for i in 0..qreg.size {
                    self.push_op(
                        &stmt,
                        OpKind::Measure,
                        &[qreg.offset + i],
                        &[],
                        Some(creg.offset + i),
                    )?;
                }
                Ok(())
            }
            _ => Err(self.error(&qt, ParseErrorKind::MeasureShape)),
        }
    }

    pub(super) fn reset(&mut self) -> Result<()> {
        let stmt = self.advance()?;
        let (q, _) = self.argument(true)?;
        self.expect(Tok::Semi, "`;`")?;
        match q {
            Arg::Bit(q, _, _) => self.push_op(&stmt, OpKind::Reset, &[q], &[], None),
            Arg::Reg(r) => {
                let reg = self.st.circuit.qregs()[r as usize].clone();
                for q in reg.range() {
                    self.push_op(&stmt, OpKind::Reset, &[q], &[], None)?;
                }
                Ok(())
            }
        }
    }

    pub(super) fn barrier(&mut self) -> Result<()> {
        let stmt = self.advance()?;
        self.arg_list()?;
        self.expect(Tok::Semi, "`;` or `,`")?;
        let mut qubits = std::mem::take(&mut self.st.qubits);
        qubits.clear();
        for (a, _) in &self.st.args {
            match *a {
                Arg::Bit(q, _, _) => qubits.push(q),
                Arg::Reg(r) => qubits.extend(self.st.circuit.qregs()[r as usize].range()),
            }
        }
        // Keep the first occurrence of each qubit, in order.
        if qubits.len() > 1 {
            let mut seen = rustc_hash::FxHashSet::default();
            qubits.retain(|q| seen.insert(*q));
        }
        let r = self.push_op(&stmt, OpKind::Barrier, &qubits, &[], None);
        self.st.qubits = qubits;
        r
    }

    /// `if (name`: the classical register a condition reads, and its name's token.
    pub(super) fn condition_register(&mut self) -> Result<(u32, Token)> {
        self.advance()?;
        self.expect(Tok::LParen, "`(`")?;
        let t = self.expect(Tok::Ident, "a classical register")?;
        let name = self.text(&t);
        let Some(&creg) = self.st.cregs.get(name) else {
            return Err(self.error(
                &t,
                ParseErrorKind::UnknownRegister {
                    what: "classical",
                    name: name.to_string(),
                },
            ));
        };
        Ok((creg, t))
    }

    /// `if (c == n) op` and, beyond OpenQASM 2 (the writer's spelling of a one-bit condition,
    /// which version 2 lacks), `if (c[i] == 0|1) op`.
    pub(super) fn conditional(&mut self) -> Result<()> {
        let (creg, _) = self.condition_register()?;
        let bit = match self.tok.kind() {
            Tok::LBracket => Some(self.bit_index(creg)? as u32),
            _ => None,
        };
        let value = match bit {
            Some(_) => {
                if self.tok.kind() != Tok::EqEq {
                    return Err(self.unexpected("`==`"));
                }
                self.bit_value()?
            }
            None => {
                self.expect(Tok::EqEq, "`==`")?;
                self.uint("an integer")?.0
            }
        };
        self.expect(Tok::RParen, "`)`")?;
        if self.tok.kind() != Tok::Ident
            || matches!(
                self.text(&self.tok),
                "if" | "barrier" | "qreg" | "creg" | "gate" | "opaque" | "include"
            )
        {
            return Err(self.unexpected("a gate call, `measure` or `reset` after `if (...)`"));
        }
        self.st.condition = Some(Condition { creg, value, bit });
        let r = self.quantum_op(self.word(&self.tok), true);
        self.st.condition = None;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::first_repeat;
    use crate::circuit::OpKind;
    use crate::circuit::qasm::{ParseErrorKind, parse_str};

    #[test]
    fn repeats_are_found_in_short_and_long_lists() {
        assert_eq!(first_repeat(&[]), None);
        assert_eq!(first_repeat(&[3, 1, 3]), Some(2));
        let mut long: Vec<u32> = (0..100).collect();
        assert_eq!(first_repeat(&long), None);
        long.push(42);
        assert_eq!(first_repeat(&long), Some(100));
    }

    #[test]
    fn registers_broadcast_and_must_agree_in_size() {
        let c =
            parse_str("OPENQASM 2.0;\nqreg a[2];\nqreg b[2];\nCX a, b;\nU(0,0,0) a;\n").unwrap();
        let q: Vec<&[u32]> = c.ops().map(|o| o.qubits).collect();
        assert_eq!(q, [&[0, 2][..], &[1, 3], &[0], &[1]]);
        let e = parse_str("OPENQASM 2.0;\nqreg a[2];\nqreg b[3];\nCX a, b;\n").unwrap_err();
        assert!(
            matches!(e.kind, ParseErrorKind::BroadcastMismatch { .. }),
            "{e}"
        );
        let e = parse_str("OPENQASM 2.0;\nqreg a[2];\nCX a[0], a[0];\n").unwrap_err();
        assert!(
            matches!(e.kind, ParseErrorKind::DuplicateQubit { .. }),
            "{e}"
        );
    }

    #[test]
    fn measure_reset_barrier_and_if() {
        let c = parse_str(
            "OPENQASM 2.0;\nqreg q[2];\ncreg c[2];\nbarrier q[1], q, q[0];\nmeasure q -> c;\n\
             if (c == 3) reset q[0];\n",
        )
        .unwrap();
        let ops: Vec<_> = c.ops().collect();
        // The barrier keeps each qubit once, in first-seen order.
        assert_eq!((ops[0].kind, ops[0].qubits), (OpKind::Barrier, &[1, 0][..]));
        assert_eq!((ops[1].kind, ops[1].clbit), (OpKind::Measure, Some(0)));
        assert_eq!((ops[2].qubits, ops[2].clbit), (&[1][..], Some(1)));
        assert_eq!(ops[3].kind, OpKind::Reset);
        assert_eq!(ops[3].condition.map(|c| c.value), Some(3));
    }
}
