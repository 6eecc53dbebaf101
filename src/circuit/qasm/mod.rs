//! OpenQASM 2.0: a parser into [`Circuit`] and a writer back to text.
//!
//! The parser is written for qroute: full OpenQASM 2.0 with `qelib1.inc` built in (Qiskit's
//! extended gate set, so no include file is needed), `include` of other files relative to the
//! including file, user `gate` definitions (inlined), `opaque` declarations, parameter
//! expressions, register broadcasting, `measure`, `reset`, `barrier`, `if`, and `//` and `/* */`
//! comments. Errors read `file:line:col: message` and name the offending token. It never panics,
//! and every resource it spends is bounded by [`ParseLimits`].
//!
//! ```
//! let c = qroute::circuit::qasm::parse_str(r#"
//!     OPENQASM 2.0;
//!     include "qelib1.inc";
//!     qreg q[2]; creg c[2];
//!     h q[0]; cx q[0], q[1];
//!     measure q -> c;
//! "#)?;
//! assert_eq!(c.num_qubits(), 2);
//! assert_eq!(c.len(), 4);
//! # Ok::<(), qroute::circuit::qasm::ParseError>(())
//! ```

mod error;
mod expr;
mod fast;
mod lexer;
mod parser;
mod writer;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{ParseError, ParseErrorKind};
pub use writer::{to_qasm, write_qasm};

use crate::circuit::Circuit;

/// Bounds on what one parse may spend. Input over a bound gets a [`ParseErrorKind::Limit`] or
/// [`ParseErrorKind::TooManyBits`] error, never an exhausted machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest file (top or included) in bytes. Default 1 GiB.
    pub max_source_bytes: u64,
    /// Most qubits in all quantum registers together. Default 1,048,576.
    pub max_qubits: u64,
    /// Most bits in all classical registers together. Default 1,048,576.
    pub max_clbits: u64,
    /// Most operations after inlining gate definitions (each inlined call counts as well, so
    /// exponentially nested definitions stop here, and so does each node of a definition's
    /// parameter expressions at each call). Default 50,000,000.
    pub max_ops: u64,
    /// Most registers, quantum and classical together. Default 1,048,576.
    pub max_registers: u64,
    /// Most `gate` and `opaque` declarations. Default 1,048,576.
    pub max_gate_definitions: u64,
    /// Most parameters of a gate declaration or call, and most qubit arguments of one.
    /// Default 1,048,576.
    pub max_gate_args: u64,
    /// Deepest chain of `include`s. Default 32.
    pub max_include_depth: u32,
    /// Most `include` statements expanded in one parse, counting each time a file is
    /// included again. Default 1,024.
    pub max_includes: u64,
    /// Most bytes of source read in one parse: the top file plus every expansion of an
    /// included one (a file included twice counts twice). Default 1 GiB.
    pub max_total_source_bytes: u64,
    /// Deepest nesting of parentheses, unary signs and powers in one expression. Default 64.
    pub max_expr_depth: u32,
    /// Deepest chain of gate definitions calling gate definitions. Default 256.
    pub max_gate_nesting: u32,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_source_bytes: 1 << 30,
            max_qubits: 1 << 20,
            max_clbits: 1 << 20,
            max_ops: 50_000_000,
            max_registers: 1 << 20,
            max_gate_definitions: 1 << 20,
            max_gate_args: 1 << 20,
            max_include_depth: 32,
            max_includes: 1024,
            max_total_source_bytes: 1 << 30,
            max_expr_depth: 64,
            max_gate_nesting: 256,
        }
    }
}

/// A configured parser.
#[derive(Debug, Clone, Default)]
pub struct QasmParser {
    limits: ParseLimits,
    include_dir: Option<PathBuf>,
}

impl QasmParser {
    /// A parser with default limits.
    pub fn new() -> QasmParser {
        QasmParser::default()
    }

    /// Uses these limits.
    pub fn limits(mut self, limits: ParseLimits) -> QasmParser {
        self.limits = limits;
        self
    }

    /// Where `include`s in text given as a string are resolved (default: the current
    /// directory). Includes in a file are always resolved relative to that file.
    pub fn include_dir(mut self, dir: impl Into<PathBuf>) -> QasmParser {
        self.include_dir = Some(dir.into());
        self
    }

    /// Parses OpenQASM text.
    pub fn parse_str(&self, src: &str) -> Result<Circuit, ParseError> {
        self.parse_str_warned(src).map(|(c, _)| c)
    }

    /// Parses OpenQASM text; also returns what was accepted but is worth a warning.
    pub fn parse_str_warned(&self, src: &str) -> Result<(Circuit, Vec<ParseWarning>), ParseError> {
        if src.len() as u64 > self.limits.max_source_bytes {
            return Err(whole_file_error(
                None,
                ParseErrorKind::Limit {
                    what: "file size in bytes",
                    limit: self.limits.max_source_bytes,
                },
            ));
        }
        let mut st = parser::State::new(self);
        parser::parse_source(&mut st, src, None, 0).map_err(|e| *e)?;
        Ok(st.finish())
    }

    /// Parses OpenQASM bytes, reporting invalid UTF-8 at its position.
    pub fn parse_bytes(&self, src: &[u8]) -> Result<Circuit, ParseError> {
        let text = utf8(src, None)?;
        self.parse_str(text)
    }

    /// Reads and parses a file; its `include`s are resolved relative to it.
    pub fn parse_file(&self, path: impl AsRef<Path>) -> Result<Circuit, ParseError> {
        self.parse_file_warned(path).map(|(c, _)| c)
    }

    /// [`QasmParser::parse_file`], also returning what was accepted but is worth a warning.
    pub fn parse_file_warned(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<(Circuit, Vec<ParseWarning>), ParseError> {
        let path = path.as_ref();
        let text = read_source(path, &self.limits)?;
        let mut st = parser::State::new(self);
        let file = Arc::new(path.to_path_buf());
        parser::parse_source(&mut st, &text, Some(file), 0).map_err(|e| *e)?;
        Ok(st.finish())
    }
}

/// Something the parser accepted that the writer may not have meant: a file without the
/// `OPENQASM` header, read as version 2.0 (as Qiskit reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWarning {
    /// The file, when parsing one.
    pub file: Option<PathBuf>,
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
    /// What was accepted.
    pub message: String,
}

impl std::fmt::Display for ParseWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(p) => write!(
                f,
                "{}:{}:{}: {}",
                p.display(),
                self.line,
                self.col,
                self.message
            ),
            None => write!(f, "{}:{}: {}", self.line, self.col, self.message),
        }
    }
}

/// Parses OpenQASM text with default limits.
pub fn parse_str(src: &str) -> Result<Circuit, ParseError> {
    QasmParser::new().parse_str(src)
}

/// Reads and parses a file with default limits.
pub fn parse_file(path: impl AsRef<Path>) -> Result<Circuit, ParseError> {
    QasmParser::new().parse_file(path)
}

fn whole_file_error(file: Option<&Path>, kind: ParseErrorKind) -> ParseError {
    ParseError {
        file: file.map(|p| Arc::new(p.to_path_buf())),
        line: 0,
        col: 0,
        kind,
    }
}

fn utf8<'a>(bytes: &'a [u8], file: Option<&Path>) -> Result<&'a str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        // The prefix is valid UTF-8, so its position can be computed as usual.
        let prefix = std::str::from_utf8(valid).unwrap_or("");
        let line = 1 + prefix.bytes().filter(|&b| b == b'\n').count() as u32;
        let (line, col) = parser::line_col(prefix, prefix.len(), line);
        ParseError {
            file: file.map(|p| Arc::new(p.to_path_buf())),
            line,
            col,
            kind: ParseErrorKind::InvalidUtf8,
        }
    })
}

/// Reads a source file within the size limit.
pub(super) fn read_source(path: &Path, limits: &ParseLimits) -> Result<String, ParseError> {
    let io = |e: std::io::Error| {
        whole_file_error(
            Some(path),
            ParseErrorKind::Io {
                path: path.to_path_buf(),
                source: Arc::new(e),
            },
        )
    };
    // Looked at before opening: opening a FIFO blocks until something writes to it, and a
    // device may never end (#28).
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    if !meta.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device)",
        )));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let too_large = || {
        whole_file_error(
            Some(path),
            ParseErrorKind::Limit {
                what: "file size in bytes",
                limit: limits.max_source_bytes,
            },
        )
    };
    if meta.len() > limits.max_source_bytes {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take` guards against files that grow while being read (or lie about their size).
    file.take(limits.max_source_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limits.max_source_bytes {
        return Err(too_large());
    }
    utf8(&bytes, Some(path))?;
    // Validated just above.
    String::from_utf8(bytes).map_err(|_| whole_file_error(Some(path), ParseErrorKind::InvalidUtf8))
}
