//! Recursive-descent parser from OpenQASM 2 tokens straight into a [`Circuit`].
//!
//! Top-level gate calls are emitted as they are read; user `gate` definitions are stored as a
//! body over local qubit numbers plus an expression arena, and inlined at every call.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::error::{ParseError, ParseErrorKind};
use super::expr::{Arena, BinOp, Direct, ExprSink, Func};
use super::fast::{self, BitRef};
use super::lexer::{LexError, Lexer, Tok, Token, describe, word_at};
use super::{ParseLimits, QasmParser};
use crate::circuit::gate::{ALL_GATES, Gate, name_word};
use crate::circuit::{Circuit, Condition, OpKind};

/// Errors are boxed inside the parser so that every `Result` stays small on the hot path.
type Result<T> = std::result::Result<T, Box<ParseError>>;

/// Something a gate call can name.
#[derive(Clone)]
enum Callable {
    Builtin(Gate),
    User(Rc<UserGate>),
    Opaque {
        index: u32,
        params: usize,
        arity: usize,
    },
}

impl Callable {
    fn shape(&self) -> (usize, usize) {
        match self {
            Callable::Builtin(g) => (g.num_params(), g.arity()),
            Callable::User(u) => (u.num_params, u.arity),
            Callable::Opaque { params, arity, .. } => (*params, *arity),
        }
    }
    fn nesting(&self) -> u32 {
        match self {
            Callable::User(u) => u.nesting,
            _ => 0,
        }
    }
}

struct UserGate {
    num_params: usize,
    arity: usize,
    arena: Arena,
    body: Vec<BodyOp>,
    /// 1 + the deepest user gate it calls.
    nesting: u32,
}

struct BodyOp {
    /// `None` for a barrier.
    callee: Option<Callable>,
    qubits: Vec<u32>,
    params: Vec<u32>,
}

/// The parameter or qubit names of a gate declaration, in order. Looked up by scanning while
/// there are few and through a hash map beyond that, so that a gate with thousands of
/// parameters or qubits is read in linear time (#28).
#[derive(Default)]
struct Names<'s> {
    list: Vec<&'s str>,
    index: FxHashMap<&'s str, u32>,
}

/// Up to this many names, a scan beats hashing.
const NAMES_SCANNED: usize = 8;

impl<'s> Names<'s> {
    fn len(&self) -> usize {
        self.list.len()
    }

    fn position(&self, name: &str) -> Option<u32> {
        if self.list.len() <= NAMES_SCANNED {
            self.list.iter().position(|&n| n == name).map(|i| i as u32)
        } else {
            self.index.get(name).copied()
        }
    }

    /// Adds `name`; false (and nothing added) when it is there already.
    fn insert(&mut self, name: &'s str) -> bool {
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

/// A qubit or bit argument as written.
#[derive(Clone, Copy)]
enum Arg {
    /// One bit: flat index, register, index in register.
    Bit(u32, u32, u32),
    /// A whole register (index into the circuit's register list).
    Reg(u32),
}

/// State shared by the top file and every file it includes.
pub(super) struct State {
    circuit: Circuit,
    limits: ParseLimits,
    include_dir: Option<PathBuf>,
    qregs: FxHashMap<String, u32>,
    cregs: FxHashMap<String, u32>,
    /// Each register's [`name_word`], in declaration order.
    qreg_words: Vec<u64>,
    creg_words: Vec<u64>,
    gates: FxHashMap<String, Callable>,
    qelib1: bool,
    include_stack: Vec<PathBuf>,
    /// Every included file's text by canonical path: a file is read once however often it
    /// is included.
    included: FxHashMap<PathBuf, Rc<str>>,
    /// `include` statements expanded so far.
    includes: u64,
    /// Source bytes parsed so far, every expansion of an included file counted.
    source_bytes: u64,
    gate_definitions: u64,
    work: u64,
    condition: Option<Condition>,

    params: Vec<f64>,
    qubits: Vec<u32>,
    args: Vec<(Arg, Token)>,
    bits: Vec<BitRef>,
}

impl State {
    pub(super) fn new(opts: &QasmParser) -> State {
        let mut gates = FxHashMap::default();
        gates.insert("U".to_string(), Callable::Builtin(Gate::BigU));
        gates.insert("CX".to_string(), Callable::Builtin(Gate::BigCx));
        State {
            circuit: Circuit::new(),
            limits: opts.limits.clone(),
            include_dir: opts.include_dir.clone(),
            qregs: FxHashMap::default(),
            cregs: FxHashMap::default(),
            qreg_words: Vec::new(),
            creg_words: Vec::new(),
            gates,
            qelib1: false,
            include_stack: Vec::new(),
            included: FxHashMap::default(),
            includes: 0,
            source_bytes: 0,
            gate_definitions: 0,
            work: 0,
            condition: None,

            params: Vec::new(),
            qubits: Vec::new(),
            args: Vec::new(),
            bits: Vec::new(),
        }
    }

    pub(super) fn finish(self) -> Circuit {
        self.circuit
    }
}

/// Parses one source text (the top file or an included one) into the shared state.
pub(super) fn parse_source(
    st: &mut State,
    src: &str,
    file: Option<Arc<PathBuf>>,
    depth: u32,
) -> Result<()> {
    st.source_bytes += src.len() as u64;
    if st.source_bytes > st.limits.max_total_source_bytes {
        return Err(Box::new(ParseError {
            file,
            line: 0,
            col: 0,
            kind: ParseErrorKind::Limit {
                what: "bytes of source read, every include expanded",
                limit: st.limits.max_total_source_bytes,
            },
        }));
    }
    let mut p = FileParser {
        src,
        file,
        lex: Lexer::new(src),
        tok: Token::new(Tok::Eof, 0, 0, 1),
        depth,
        st,
    };
    p.advance()?;
    if depth == 0 {
        let approx_ops = (src.len() / 14).min(p.st.limits.max_ops as usize);
        p.st.circuit.reserve(approx_ops, approx_ops * 2);
    }
    p.program()
}

struct FileParser<'s, 'st> {
    src: &'s str,
    file: Option<Arc<PathBuf>>,
    lex: Lexer<'s>,
    tok: Token,
    depth: u32,
    st: &'st mut State,
}

const KW_INCLUDE: u64 = name_word(b"include");
const KW_QREG: u64 = name_word(b"qreg");
const KW_CREG: u64 = name_word(b"creg");
const KW_GATE: u64 = name_word(b"gate");
const KW_OPAQUE: u64 = name_word(b"opaque");
const KW_BARRIER: u64 = name_word(b"barrier");
const KW_IF: u64 = name_word(b"if");
const KW_OPENQASM: u64 = name_word(b"OPENQASM");
const KW_MEASURE: u64 = name_word(b"measure");
const KW_RESET: u64 = name_word(b"reset");

/// The position of a byte offset: (line, column in characters), both from 1.
pub(super) fn line_col(src: &str, offset: usize, line: u32) -> (u32, u32) {
    let offset = offset.min(src.len());
    let line_start = src.as_bytes()[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = src
        .get(line_start..offset)
        .map_or(offset - line_start, |s| s.chars().count());
    (line, col as u32 + 1)
}

impl<'s> FileParser<'s, '_> {
    // ----- tokens and errors -------------------------------------------------------------

    #[inline(always)]
    fn advance(&mut self) -> Result<Token> {
        let next = self.lex.next_token().map_err(|e| self.lex_error(e))?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    #[cold]
    #[allow(clippy::boxed_local)] // the lexer hands its error over boxed
    fn lex_error(&self, e: Box<LexError>) -> Box<ParseError> {
        let (line, col) = line_col(self.src, e.offset, e.line);
        Box::new(ParseError {
            file: self.file.clone(),
            line,
            col,
            kind: e.kind,
        })
    }

    #[cold]
    fn error(&self, at: &Token, kind: ParseErrorKind) -> Box<ParseError> {
        let (line, col) = line_col(self.src, at.start() as usize, at.line());
        Box::new(ParseError {
            file: self.file.clone(),
            line,
            col,
            kind,
        })
    }

    #[cold]
    fn unexpected(&self, expected: &'static str) -> Box<ParseError> {
        self.error(
            &self.tok,
            ParseErrorKind::Unexpected {
                expected,
                found: describe(self.src, &self.tok),
            },
        )
    }

    #[inline]
    fn text(&self, t: &Token) -> &'s str {
        &self.src[t.start() as usize..t.end() as usize]
    }

    /// The token's text as a [`name_word`].
    #[inline(always)]
    fn word(&self, t: &Token) -> u64 {
        word_at(self.src.as_bytes(), t.start() as usize, t.end() as usize)
    }

    #[inline]
    fn expect(&mut self, tok: Tok, what: &'static str) -> Result<Token> {
        if self.tok.kind() == tok {
            self.advance()
        } else {
            Err(self.unexpected(what))
        }
    }

    #[inline]
    fn eat(&mut self, tok: Tok) -> Result<bool> {
        if self.tok.kind() == tok {
            self.advance()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn is_keyword(&self, kw: &str) -> bool {
        self.tok.kind() == Tok::Ident && self.text(&self.tok) == kw
    }

    fn uint(&mut self, what: &'static str) -> Result<(u64, Token)> {
        let t = self.expect(Tok::Int, what)?;
        let text = self.text(&t);
        let mut v: u64 = 0;
        for b in text.bytes() {
            // The lexer made this token of digits only.
            v = match v
                .checked_mul(10)
                .and_then(|v| v.checked_add((b - b'0') as u64))
            {
                Some(v) => v,
                None => {
                    return Err(self.error(
                        &t,
                        ParseErrorKind::IntegerTooLarge {
                            text: text.to_string(),
                        },
                    ));
                }
            };
        }
        Ok((v, t))
    }

    // ----- program structure -------------------------------------------------------------

    fn program(&mut self) -> Result<()> {
        if self.is_keyword("OPENQASM") {
            self.advance()?;
            let v = match self.tok.kind() {
                Tok::Real | Tok::Int => self.advance()?,
                _ => return Err(self.unexpected("a version number")),
            };
            let version = self.text(&v);
            if version.split('.').next() != Some("2") {
                return Err(self.error(
                    &v,
                    ParseErrorKind::UnsupportedVersion {
                        version: version.to_string(),
                    },
                ));
            }
            self.expect(Tok::Semi, "`;`")?;
        } else if self.depth == 0 {
            return Err(self.error(
                &self.tok,
                ParseErrorKind::MissingHeader {
                    found: describe(self.src, &self.tok),
                },
            ));
        }
        while self.tok.kind() != Tok::Eof {
            self.statement()?;
        }
        Ok(())
    }

    fn statement(&mut self) -> Result<()> {
        if self.tok.kind() != Tok::Ident {
            return Err(self.unexpected("a statement"));
        }
        let word = self.word(&self.tok);
        // A table gate in scope (no keyword is a gate name) in the compact shape: the common
        // case, read without the keyword match below.
        let stmt = self.tok;
        if let Some(g) = self.table_gate(word)
            && let Some(done) = self.compact_call(&stmt, g)
        {
            return done;
        }
        match word {
            KW_INCLUDE => self.include(),
            KW_QREG => self.register(true),
            KW_CREG => self.register(false),
            KW_GATE => self.gate_definition(),
            KW_OPAQUE => self.opaque(),
            KW_BARRIER => self.barrier(),
            KW_IF => self.conditional(),
            KW_OPENQASM => Err(self.unexpected("a statement (the header comes only once, first)")),
            // The compact path has been tried above.
            _ => self.quantum_op(word, false),
        }
    }

    fn include(&mut self) -> Result<()> {
        let kw = self.advance()?;
        let t = self.expect(Tok::Str, "a file name in double quotes")?;
        let name = &self.src[t.start() as usize + 1..t.end() as usize - 1];
        self.expect(Tok::Semi, "`;`")?;
        if name == "qelib1.inc" {
            if !self.st.qelib1 {
                for &g in ALL_GATES.iter().filter(|g| g.info().qelib1) {
                    if self.st.gates.contains_key(g.name()) {
                        return Err(self.error(
                            &t,
                            ParseErrorKind::GateRedefined {
                                name: g.name().to_string(),
                            },
                        ));
                    }
                    self.st
                        .gates
                        .insert(g.name().to_string(), Callable::Builtin(g));
                }
                self.st.qelib1 = true;
            }
            return Ok(());
        }
        let base = match &self.file {
            Some(f) => f.parent().map(Path::to_path_buf).unwrap_or_default(),
            None => self.st.include_dir.clone().unwrap_or_default(),
        };
        if self.st.limits.max_include_depth == 0 {
            return Err(self.error(
                &t,
                ParseErrorKind::IncludeRefused {
                    name: crate::display::clip(name, 64),
                },
            ));
        }
        let path = base.join(name);
        self.st.includes += 1;
        if self.st.includes > self.st.limits.max_includes {
            return Err(self.error(
                &kw,
                ParseErrorKind::Limit {
                    what: "number of includes expanded",
                    limit: self.st.limits.max_includes,
                },
            ));
        }
        if self.depth + 1 > self.st.limits.max_include_depth {
            return Err(self.error(
                &kw,
                ParseErrorKind::Limit {
                    what: "include nesting",
                    limit: self.st.limits.max_include_depth as u64,
                },
            ));
        }
        let canonical = path.canonicalize().map_err(|e| {
            self.error(
                &t,
                ParseErrorKind::Io {
                    path: path.clone(),
                    source: Arc::new(e),
                },
            )
        })?;
        if self.st.include_stack.contains(&canonical) {
            return Err(self.error(&t, ParseErrorKind::IncludeCycle { path }));
        }
        let text = match self.st.included.get(&canonical) {
            Some(text) => text.clone(),
            None => {
                let text: Rc<str> = super::read_source(&path, &self.st.limits)
                    .map_err(|e| {
                        // Reading problems are reported at the include statement.
                        if e.line == 0 {
                            self.error(&t, e.kind.clone())
                        } else {
                            Box::new(e)
                        }
                    })?
                    .into();
                self.st.included.insert(canonical.clone(), text.clone());
                text
            }
        };
        self.st.include_stack.push(canonical);
        let r = parse_source(self.st, &text, Some(Arc::new(path)), self.depth + 1);
        self.st.include_stack.pop();
        r
    }

    fn register(&mut self, quantum: bool) -> Result<()> {
        self.advance()?;
        let name_tok = self.expect(Tok::Ident, "a register name")?;
        let name = self.text(&name_tok);
        self.expect(Tok::LBracket, "`[`")?;
        let (size, size_tok) = self.uint("a register size")?;
        self.expect(Tok::RBracket, "`]`")?;
        self.expect(Tok::Semi, "`;`")?;
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

    /// `name` or `name(p, q)` followed by `a, b`: the declaration part of `gate` and `opaque`.
    fn gate_signature(&mut self) -> Result<(Token, Names<'s>, Names<'s>)> {
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

    fn ident_list(&mut self, gate: &str, out: &mut Names<'s>) -> Result<()> {
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

    fn opaque(&mut self) -> Result<()> {
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

    fn gate_definition(&mut self) -> Result<()> {
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
    fn table_gate(&self, word: u64) -> Option<Gate> {
        Gate::from_word(word).filter(|g| !g.info().qelib1 || self.st.qelib1)
    }

    // Inlined: returned through memory, the enum was written byte-wise and read back in
    // words, a store-forwarding stall on every gate call.
    #[inline(always)]
    fn lookup_gate(&self, t: &Token, word: u64) -> Result<Callable> {
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
                    qelib1_hint: !self.st.qelib1
                        && Gate::from_name(name).is_some_and(|g| g.info().qelib1),
                },
            )),
        }
    }

    fn check_shape(
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

    // ----- expressions -------------------------------------------------------------------

    fn enter(&self, depth: u32) -> Result<u32> {
        if depth >= self.st.limits.max_expr_depth {
            return Err(self.error(
                &self.tok,
                ParseErrorKind::Limit {
                    what: "expression nesting",
                    limit: self.st.limits.max_expr_depth as u64,
                },
            ));
        }
        Ok(depth + 1)
    }

    /// expr := term (('+' | '-') term)*
    fn expr<S: ExprSink>(&mut self, a: &mut S, scope: &Names<'_>, depth: u32) -> Result<S::V> {
        let depth = self.enter(depth)?;
        let mut lhs = self.term(a, scope, depth)?;
        loop {
            let op = match self.tok.kind() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(lhs),
            };
            self.advance()?;
            let rhs = self.term(a, scope, depth)?;
            lhs = a.bin(op, lhs, rhs);
        }
    }

    /// term := unary (('*' | '/') unary)*
    fn term<S: ExprSink>(&mut self, a: &mut S, scope: &Names<'_>, depth: u32) -> Result<S::V> {
        let mut lhs = self.unary(a, scope, depth)?;
        loop {
            let op = match self.tok.kind() {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                _ => return Ok(lhs),
            };
            self.advance()?;
            let rhs = self.unary(a, scope, depth)?;
            lhs = a.bin(op, lhs, rhs);
        }
    }

    /// unary := ('-' | '+') unary | power.  `-2^2` is `-(2^2)`, as in Python.
    fn unary<S: ExprSink>(&mut self, a: &mut S, scope: &Names<'_>, depth: u32) -> Result<S::V> {
        match self.tok.kind() {
            Tok::Minus => {
                let depth = self.enter(depth)?;
                self.advance()?;
                let x = self.unary(a, scope, depth)?;
                Ok(a.neg(x))
            }
            Tok::Plus => {
                let depth = self.enter(depth)?;
                self.advance()?;
                self.unary(a, scope, depth)
            }
            _ => self.power(a, scope, depth),
        }
    }

    /// power := atom ('^' unary)?  (right-associative)
    fn power<S: ExprSink>(&mut self, a: &mut S, scope: &Names<'_>, depth: u32) -> Result<S::V> {
        let base = self.atom(a, scope, depth)?;
        if self.tok.kind() == Tok::Caret {
            let depth = self.enter(depth)?;
            self.advance()?;
            let exp = self.unary(a, scope, depth)?;
            return Ok(a.bin(BinOp::Pow, base, exp));
        }
        Ok(base)
    }

    fn atom<S: ExprSink>(&mut self, a: &mut S, scope: &Names<'_>, depth: u32) -> Result<S::V> {
        let t = self.tok;
        match t.kind() {
            Tok::Int | Tok::Real => {
                self.advance()?;
                // Integers too large for u64 are still fine as reals.
                let v: f64 = self.text(&t).parse().map_err(|_| {
                    self.error(
                        &t,
                        ParseErrorKind::InvalidNumber {
                            text: self.text(&t).to_string(),
                        },
                    )
                })?;
                Ok(a.num(v))
            }
            Tok::LParen => {
                self.advance()?;
                let x = self.expr(a, scope, depth)?;
                self.expect(Tok::RParen, "`)`")?;
                Ok(x)
            }
            Tok::Ident => {
                let name = self.text(&t);
                self.advance()?;
                if name == "pi" {
                    return Ok(a.num(std::f64::consts::PI));
                }
                if let Some(i) = scope.position(name) {
                    return Ok(a.param(i));
                }
                if let Some(f) = Func::from_name(name) {
                    self.expect(Tok::LParen, "`(` after a function name")?;
                    let x = self.expr(a, scope, depth)?;
                    self.expect(Tok::RParen, "`)`")?;
                    return Ok(a.call(f, x));
                }
                Err(self.error(
                    &t,
                    ParseErrorKind::UnknownIdentifier {
                        name: name.to_string(),
                    },
                ))
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// `(e1, e2, ...)` at top level, evaluated into `st.params`. No parentheses: no params.
    fn top_params(&mut self) -> Result<()> {
        self.st.params.clear();
        if self.tok.kind() != Tok::LParen {
            return Ok(());
        }
        self.advance()?;
        if self.eat(Tok::RParen)? {
            return Ok(());
        }
        loop {
            let start = self.tok;
            self.count_args(&start, self.st.params.len())?;
            let v = self.expr(&mut Direct, &Names::default(), 0)?;
            if !v.is_finite() {
                return Err(self.error(&start, ParseErrorKind::NonFinite { value: v }));
            }
            self.st.params.push(v);
            if !self.eat(Tok::Comma)? {
                break;
            }
        }
        self.expect(Tok::RParen, "`)` or `,`")?;
        Ok(())
    }

    // ----- quantum operations ------------------------------------------------------------

    /// `q` or `q[i]` naming a quantum (or classical) register.
    // Inlined for the same reason as `lookup_gate`: its result was copied out of memory that
    // had just been written in smaller pieces.
    #[inline(always)]
    fn argument(&mut self, quantum: bool) -> Result<(Arg, Token)> {
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
        if index >= r.size as u64 {
            return Err(self.error(
                &it,
                ParseErrorKind::IndexOutOfRange {
                    register: r.name.clone(),
                    index,
                    size: r.size,
                },
            ));
        }
        Ok((Arg::Bit(r.offset + index as u32, reg, index as u32), t))
    }

    /// The index of the quantum (or classical) register `name`, whose [`name_word`] is
    /// `word`.
    #[inline(always)]
    fn find_register(&self, name: &str, word: u64, quantum: bool) -> Option<u32> {
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

    fn arg_list(&mut self) -> Result<()> {
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
    fn broadcast_size(&self, args: &[(Arg, Token)], quantum: bool) -> Result<Option<u32>> {
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

    fn arg_text(&self, a: Arg) -> String {
        match a {
            Arg::Bit(_, reg, i) => format!("{}[{i}]", self.st.circuit.qregs()[reg as usize].name),
            Arg::Reg(reg) => self.st.circuit.qregs()[reg as usize].name.clone(),
        }
    }

    /// A gate call, `measure` or `reset` (possibly under `if`); `word` is the current
    /// token's [`name_word`]; `compact`: whether to try [`FileParser::compact_call`] first.
    fn quantum_op(&mut self, word: u64, compact: bool) -> Result<()> {
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
    fn compact_call(&mut self, stmt: &Token, g: Gate) -> Option<Result<()>> {
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

    fn emit_broadcast(
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

    fn count_work(&mut self, at: &Token) -> Result<()> {
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
    fn count_args(&self, at: &Token, have: usize) -> Result<()> {
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

    fn push_op(
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
    fn emit(
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

    fn measure(&mut self) -> Result<()> {
        let stmt = self.advance()?;
        let (q, qt) = self.argument(true)?;
        self.expect(Tok::Arrow, "`->`")?;
        let (c, _) = self.argument(false)?;
        self.expect(Tok::Semi, "`;`")?;
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

    fn reset(&mut self) -> Result<()> {
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

    fn barrier(&mut self) -> Result<()> {
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

    fn conditional(&mut self) -> Result<()> {
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
        self.expect(Tok::EqEq, "`==`")?;
        let (value, _) = self.uint("an integer")?;
        self.expect(Tok::RParen, "`)`")?;
        if self.tok.kind() != Tok::Ident
            || matches!(
                self.text(&self.tok),
                "if" | "barrier" | "qreg" | "creg" | "gate" | "opaque" | "include"
            )
        {
            return Err(self.unexpected("a gate call, `measure` or `reset` after `if (...)`"));
        }
        self.st.condition = Some(Condition { creg, value });
        let r = self.quantum_op(self.word(&self.tok), true);
        self.st.condition = None;
        r
    }
}
