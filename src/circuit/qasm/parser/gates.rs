//! Gate declarations: `gate` definitions (stored as a body over local qubits and an
//! expression arena, inlined at each call), `opaque`, and looking a callee up.

use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::{BodyOp, Callable, FileParser, Result, UserGate};
use crate::circuit::Gate;
use crate::circuit::qasm::ParseErrorKind;
use crate::circuit::qasm::expr::Arena;
use crate::circuit::qasm::lexer::{Tok, Token};

/// The parameter or qubit names of a gate declaration, in order. Looked up by scanning while
/// there are few and through a hash map beyond that, so that a gate with thousands of
/// parameters or qubits is read in linear time (#28).
#[derive(Default)]
pub(super) struct Names<'s> {
    list: Vec<&'s str>,
    index: FxHashMap<&'s str, u32>,
}

/// Up to this many names, a scan beats hashing.
pub(super) const NAMES_SCANNED: usize = 8;

impl<'s> Names<'s> {
    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    pub(super) fn position(&self, name: &str) -> Option<u32> {
        if self.list.len() <= NAMES_SCANNED {
            self.list.iter().position(|&n| n == name).map(|i| i as u32)
        } else {
            self.index.get(name).copied()
        }
    }

    /// Adds `name`; false (and nothing added) when it is there already.
    pub(super) fn insert(&mut self, name: &'s str) -> bool {
        if self.position(name).is_some() {
            return false;
        }
        self.list.push(name);
        if self.list.len() > NAMES_SCANNED {
            if self.index.is_empty() {
                let list = &self.list;
                self.index
                    .extend(list.iter().enumerate().map(|(i, &n)| (n, i as u32)));
            } else {
                self.index.insert(name, self.list.len() as u32 - 1);
            }
        }
        true
    }
}

impl<'s> FileParser<'s, '_> {
    /// `name` or `name(p, q)` followed by `a, b`: the declaration part of `gate` and `opaque`.
    pub(super) fn gate_signature(&mut self) -> Result<(Token, Names<'s>, Names<'s>)> {
        let name_tok = self.expect(Tok::Ident, "a gate name")?;
        let gate = self.text(&name_tok);
        if self.st.gates.contains_key(gate) {
            return Err(self.error(
                &name_tok,
                ParseErrorKind::GateRedefined {
                    name: gate.to_string(),
                },
            ));
        }
        self.st.gate_definitions += 1;
        if self.st.gate_definitions > self.st.limits.max_gate_definitions {
            return Err(self.error(
                &name_tok,
                ParseErrorKind::Limit {
                    what: "number of gate declarations",
                    limit: self.st.limits.max_gate_definitions,
                },
            ));
        }
        let mut params = Names::default();
        if self.eat(Tok::LParen)? {
            if self.tok.kind() != Tok::RParen {
                self.ident_list(gate, &mut params)?;
            }
            self.expect(Tok::RParen, "`)`")?;
        }
        let mut qubits = Names::default();
        if self.tok.kind() != Tok::Ident {
            return Err(self.error(
                &self.tok,
                ParseErrorKind::NoQubits {
                    gate: gate.to_string(),
                },
            ));
        }
        self.ident_list(gate, &mut qubits)?;
        if let Some(dup) = params.list.iter().find(|p| qubits.position(p).is_some()) {
            return Err(self.error(
                &name_tok,
                ParseErrorKind::DuplicateName {
                    gate: gate.to_string(),
                    name: dup.to_string(),
                },
            ));
        }
        Ok((name_tok, params, qubits))
    }

    pub(super) fn ident_list(&mut self, gate: &str, out: &mut Names<'s>) -> Result<()> {
        loop {
            let t = self.expect(Tok::Ident, "a name")?;
            let name = self.text(&t);
            self.count_args(&t, out.len())?;
            if !out.insert(name) {
                return Err(self.error(
                    &t,
                    ParseErrorKind::DuplicateName {
                        gate: gate.to_string(),
                        name: name.to_string(),
                    },
                ));
            }
            if !self.eat(Tok::Comma)? {
                return Ok(());
            }
        }
    }

    pub(super) fn opaque(&mut self) -> Result<()> {
        self.advance()?;
        let (name_tok, params, qubits) = self.gate_signature()?;
        self.expect(Tok::Semi, "`;`")?;
        let name = self.text(&name_tok);
        let index = self
            .st
            .circuit
            .declare_opaque(name, params.len(), qubits.len());
        self.st.gates.insert(
            name.to_string(),
            Callable::Opaque {
                index,
                params: params.len(),
                arity: qubits.len(),
            },
        );
        Ok(())
    }

    pub(super) fn gate_definition(&mut self) -> Result<()> {
        self.advance()?;
        let (name_tok, params, qubits) = self.gate_signature()?;
        let gate_name = self.text(&name_tok);
        self.expect(Tok::LBrace, "`{`")?;
        let mut arena = Arena::default();
        let mut body = Vec::new();
        let mut nesting = 1;
        while self.tok.kind() != Tok::RBrace {
            if self.tok.kind() != Tok::Ident {
                return Err(self.unexpected("a gate call or `}`"));
            }
            let stmt = self.tok;
            let word = self.text(&stmt);
            if self.st.v3 {
                if word == "gphase" {
                    // A global phase changes no probability: read and dropped.
                    self.advance()?;
                    self.expect(Tok::LParen, "`(`")?;
                    self.expr(&mut arena, &params, 0)?;
                    self.expect(Tok::RParen, "`)`")?;
                    self.expect(Tok::Semi, "`;`")?;
                    continue;
                }
                if let Some(what) = super::v3::refused(word) {
                    return Err(self.error(&stmt, ParseErrorKind::Unsupported { what }));
                }
            }
            let callee = match word {
                "barrier" => None,
                "measure" | "reset" | "if" | "qreg" | "creg" | "gate" | "opaque" | "include" => {
                    let what = match word {
                        "measure" => "measure",
                        "reset" => "reset",
                        "if" => "if",
                        "gate" => "gate",
                        "opaque" => "opaque",
                        "include" => "include",
                        _ => "register declaration",
                    };
                    return Err(self.error(&stmt, ParseErrorKind::NotInGate { what }));
                }
                _ => Some(self.lookup_gate(&stmt, self.word(&stmt))?),
            };
            self.advance()?;
            let mut roots = Vec::new();
            if callee.is_some() && self.eat(Tok::LParen)? {
                if self.tok.kind() != Tok::RParen {
                    loop {
                        self.count_args(&self.tok, roots.len())?;
                        roots.push(self.expr(&mut arena, &params, 0)?);
                        if !self.eat(Tok::Comma)? {
                            break;
                        }
                    }
                }
                self.expect(Tok::RParen, "`)`")?;
            }
            let mut locals: Vec<u32> = Vec::new();
            // Which locals this statement names already, once it names many: a set, not a
            // table the size of the gate, which a body of many statements would pay for each.
            let mut named: rustc_hash::FxHashSet<u32> = rustc_hash::FxHashSet::default();
            loop {
                self.count_args(&self.tok, locals.len())?;
                let t = self.expect(Tok::Ident, "a qubit argument of the gate")?;
                let name = self.text(&t);
                let Some(i) = qubits.position(name) else {
                    return Err(self.error(
                        &t,
                        ParseErrorKind::UnknownGateArg {
                            gate: gate_name.to_string(),
                            name: name.to_string(),
                        },
                    ));
                };
                let repeated = if locals.len() < NAMES_SCANNED {
                    locals.contains(&i)
                } else {
                    if named.is_empty() {
                        named.extend(locals.iter().copied());
                    }
                    !named.insert(i)
                };
                if repeated {
                    if callee.is_none() {
                        // A repeated qubit in a barrier is harmless.
                        if !self.eat(Tok::Comma)? {
                            break;
                        }
                        continue;
                    }
                    return Err(self.error(
                        &t,
                        ParseErrorKind::DuplicateQubit {
                            gate: word.to_string(),
                            arg: name.to_string(),
                        },
                    ));
                }
                locals.push(i);
                if !self.eat(Tok::Comma)? {
                    break;
                }
            }
            self.expect(Tok::Semi, "`;`")?;
            if let Some(c) = &callee {
                self.check_shape(&stmt, word, c, roots.len(), locals.len())?;
                nesting = nesting.max(c.nesting() + 1);
            }
            body.push(BodyOp {
                callee,
                qubits: locals,
                params: roots,
            });
        }
        self.advance()?;
        if nesting > self.st.limits.max_gate_nesting {
            return Err(self.error(
                &name_tok,
                ParseErrorKind::Limit {
                    what: "nesting of gate definitions",
                    limit: self.st.limits.max_gate_nesting as u64,
                },
            ));
        }
        if let Some(g) = self.standard_definition(gate_name, params.len(), qubits.len()) {
            self.st
                .gates
                .insert(gate_name.to_string(), Callable::Builtin(g));
            return Ok(());
        }
        let def = UserGate {
            num_params: params.len(),
            arity: qubits.len(),
            arena,
            body,
            nesting,
        };
        self.st
            .gates
            .insert(gate_name.to_string(), Callable::User(Rc::new(def)));
        Ok(())
    }

    /// The table gate named by `word` if it is in scope (`qelib1.inc` gates after the include).
    /// A table gate in scope cannot be shadowed (redefinition is an error), so the compiled
    /// match answers without hashing.
    #[inline(always)]
    pub(super) fn table_gate(&self, word: u64) -> Option<Gate> {
        Gate::from_word(word).filter(|&g| {
            !g.info().qelib1 || self.st.qelib1 || (self.st.stdgates && super::v3::in_stdgates(g))
        })
    }

    // Inlined: returned through memory, the enum was written byte-wise and read back in
    // words, a store-forwarding stall on every gate call.
    #[inline(always)]
    pub(super) fn lookup_gate(&self, t: &Token, word: u64) -> Result<Callable> {
        let name = self.text(t);
        if let Some(g) = self.table_gate(word) {
            return Ok(Callable::Builtin(g));
        }
        match self.st.gates.get(name) {
            Some(c) => Ok(c.clone()),
            None => Err(self.error(
                t,
                ParseErrorKind::UnknownGate {
                    name: name.to_string(),
                    qelib1_hint: !self.st.v3
                        && !self.st.qelib1
                        && Gate::from_name(name).is_some_and(|g| g.info().qelib1),
                },
            )),
        }
    }

    pub(super) fn check_shape(
        &self,
        at: &Token,
        name: &str,
        c: &Callable,
        nparams: usize,
        nargs: usize,
    ) -> Result<()> {
        let (p, a) = c.shape();
        if p != nparams {
            return Err(self.error(
                at,
                ParseErrorKind::ParamCount {
                    gate: name.to_string(),
                    expected: p,
                    found: nparams,
                },
            ));
        }
        if a != nargs {
            return Err(self.error(
                at,
                ParseErrorKind::ArgCount {
                    gate: name.to_string(),
                    expected: a,
                    found: nargs,
                },
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Names;
    use crate::circuit::qasm::{ParseErrorKind, parse_str};
    use crate::circuit::{Gate, OpKind};

    #[test]
    fn names_are_found_whether_scanned_or_hashed() {
        let owned: Vec<String> = (0..20).map(|i| format!("n{i}")).collect();
        let mut names = Names::default();
        for (i, n) in owned.iter().enumerate() {
            assert!(names.insert(n));
            // Every name so far, across the switch from scanning to the hash map.
            for (k, m) in owned[..=i].iter().enumerate() {
                assert_eq!(names.position(m), Some(k as u32), "{m} after {i}");
            }
        }
        assert!(!names.insert("n3"), "a repeat is refused");
        assert!(!names.insert("n17"));
        assert_eq!(names.position("n20"), None);
        assert_eq!(names.len(), 20);
    }

    #[test]
    fn a_definition_is_inlined_with_its_parameters() {
        let c = parse_str(
            "OPENQASM 2.0;\nqreg q[2];\ngate g(t) a, b { U(t, 0, 2 * t) b; CX a, b; }\n\
             g(0.5) q[1], q[0];\n",
        )
        .unwrap();
        let ops: Vec<_> = c.ops().collect();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].kind, OpKind::Gate(Gate::BigU));
        assert_eq!(ops[0].qubits, [0]);
        assert_eq!(ops[0].params, [0.5, 0.0, 1.0]);
        assert_eq!(ops[1].kind, OpKind::Gate(Gate::BigCx));
        assert_eq!(ops[1].qubits, [1, 0]);
    }

    #[test]
    fn declarations_are_checked() {
        let err = |src: &str| parse_str(src).unwrap_err().kind;
        assert!(matches!(
            err("OPENQASM 2.0;\ngate g a { U(0,0,0) a; }\ngate g a { U(0,0,0) a; }\n"),
            ParseErrorKind::GateRedefined { .. }
        ));
        assert!(matches!(
            err("OPENQASM 2.0;\ngate g(a) a { U(0,0,0) a; }\n"),
            ParseErrorKind::DuplicateName { .. }
        ));
        assert!(matches!(
            err("OPENQASM 2.0;\ngate g a, b { CX a, a; }\n"),
            ParseErrorKind::DuplicateQubit { .. }
        ));
        let c = parse_str("OPENQASM 2.0;\nopaque o(x, y) a, b, c;\n").unwrap();
        let o = &c.opaque_gates()[0];
        assert_eq!((o.name.as_str(), o.num_params, o.arity), ("o", 2, 3));
    }
}
