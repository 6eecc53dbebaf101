//! Parse errors: a position (`file:line:col`) and what went wrong there.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::circuit::CircuitError;

/// An error reading OpenQASM, with the place it happened.
///
/// Displays as `file:line:col: message`; `line` and `col` count from 1 and `col` counts
/// characters, not bytes. A file that could not be read at all displays as `file: message`.
#[derive(Debug, Clone)]
pub struct ParseError {
    /// The file, or `None` for text given as a string (shown as `<input>`).
    pub file: Option<Arc<PathBuf>>,
    /// Line, from 1 (0 when the error is about the whole file).
    pub line: u32,
    /// Column in characters, from 1 (0 when the error is about the whole file).
    pub col: u32,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => write!(f, "{}", p.display())?,
            None => f.write_str("<input>")?,
        }
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.col)?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ParseErrorKind::Io { source, .. } => Some(source.as_ref()),
            ParseErrorKind::Circuit(e) => Some(e),
            _ => None,
        }
    }
}

/// What went wrong while parsing.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A character that starts no token.
    #[error("unexpected character {ch:?}")]
    UnexpectedChar {
        /// The character.
        ch: char,
    },
    /// A token that does not fit the grammar here.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What the grammar allows here.
        expected: &'static str,
        /// The token found, quoted, or "end of file".
        found: String,
    },
    /// A string literal with no closing quote.
    #[error("unterminated string literal")]
    UnterminatedString,
    /// A `/*` comment with no closing `*/`.
    #[error("unterminated block comment")]
    UnterminatedComment,
    /// A malformed number such as `1e`.
    #[error("invalid number `{text}`")]
    InvalidNumber {
        /// The text.
        text: String,
    },
    /// An integer that does not fit in 64 bits.
    #[error("integer `{text}` is too large")]
    IntegerTooLarge {
        /// The text.
        text: String,
    },
    /// Bytes that are not UTF-8.
    #[error("the file is not valid UTF-8")]
    InvalidUtf8,
    /// An empty file: no header and nothing else. (A file with statements and no header
    /// is read as version 2.0, with a warning.)
    #[error("expected the header `OPENQASM 2.0;` or `OPENQASM 3.0;`, found {found}")]
    MissingHeader {
        /// What was found instead.
        found: String,
    },
    /// A version other than 2.x and 3.x.
    #[error("OpenQASM version {version} is not supported (2.x and 3.x are)")]
    UnsupportedVersion {
        /// The version written.
        version: String,
    },
    /// An OpenQASM 3 construct outside the gate-model subset qroute reads.
    #[error(
        "{what}: not supported (qroute reads the gate-model subset of OpenQASM 3: qubit and \
         bit declarations, gates and their definitions, measure, reset, barrier, gphase, and \
         `if`/`else` on a register's value or one bit)"
    )]
    Unsupported {
        /// What was found, e.g. "`for` loops".
        what: String,
    },
    /// A gate name that was never defined.
    #[error("unknown gate `{name}`{}", if *.qelib1_hint { " (it is defined in qelib1.inc: add `include \"qelib1.inc\";`)" } else { "" })]
    UnknownGate {
        /// The name.
        name: String,
        /// True when the gate is in qelib1.inc and that file was not included.
        qelib1_hint: bool,
    },
    /// A register that was never declared (or of the wrong kind).
    #[error("unknown {what} register `{name}`")]
    UnknownRegister {
        /// "quantum" or "classical".
        what: &'static str,
        /// The name.
        name: String,
    },
    /// `q[i]` with `i` past the register's end.
    #[error("index {index} is out of range for register `{register}` of size {size}")]
    IndexOutOfRange {
        /// Register name.
        register: String,
        /// The index.
        index: u64,
        /// Register size.
        size: u32,
    },
    /// A register declared twice.
    #[error("register `{name}` is already declared")]
    RegisterRedeclared {
        /// The name.
        name: String,
    },
    /// `qreg q[0];`.
    #[error("register `{name}` has size 0")]
    EmptyRegister {
        /// The name.
        name: String,
    },
    /// Over the configured qubit or bit limit.
    #[error(
        "{what} register `{name}[{size}]` would make {total} bits in all, over the limit of {limit}"
    )]
    TooManyBits {
        /// "quantum" or "classical".
        what: &'static str,
        /// Register name.
        name: String,
        /// Its size.
        size: u64,
        /// Total with it.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// A gate defined twice, or a definition that shadows a built-in gate.
    #[error("gate `{name}` is already defined")]
    GateRedefined {
        /// The name.
        name: String,
    },
    /// A gate called with the wrong number of parameters.
    #[error("gate `{gate}` takes {expected} parameter(s), got {found}")]
    ParamCount {
        /// Gate name.
        gate: String,
        /// Expected.
        expected: usize,
        /// Given.
        found: usize,
    },
    /// A gate called with the wrong number of qubit arguments.
    #[error("gate `{gate}` takes {expected} qubit argument(s), got {found}")]
    ArgCount {
        /// Gate name.
        gate: String,
        /// Expected.
        expected: usize,
        /// Given.
        found: usize,
    },
    /// The same qubit twice in one operation.
    #[error("qubit {arg} is used more than once in `{gate}`")]
    DuplicateQubit {
        /// Gate name.
        gate: String,
        /// The repeated argument as written.
        arg: String,
    },
    /// Registers of different sizes in one broadcast operation.
    #[error(
        "registers in one operation must have the same size: `{first}` has {first_size}, `{other}` has {other_size}"
    )]
    BroadcastMismatch {
        /// First register.
        first: String,
        /// Its size.
        first_size: u32,
        /// The one that differs.
        other: String,
        /// Its size.
        other_size: u32,
    },
    /// `measure q -> c[0]` and similar mixes of a register and a single bit.
    #[error("`measure` needs two registers of the same size or two single bits")]
    MeasureShape,
    /// A name that is not a parameter (or `pi`) in an expression.
    #[error("unknown identifier `{name}` in expression")]
    UnknownIdentifier {
        /// The name.
        name: String,
    },
    /// An expression that evaluates to NaN or infinity.
    #[error("parameter evaluates to {value}, which is not a finite number")]
    NonFinite {
        /// The value.
        value: f64,
    },
    /// A parameter or qubit name repeated in a gate declaration.
    #[error("`{name}` is declared twice in the definition of `{gate}`")]
    DuplicateName {
        /// Gate name.
        gate: String,
        /// The repeated name.
        name: String,
    },
    /// A gate declared with no qubit arguments.
    #[error("gate `{gate}` must take at least one qubit")]
    NoQubits {
        /// Gate name.
        gate: String,
    },
    /// A qubit in a gate body that is not one of the gate's arguments.
    #[error("`{name}` is not a qubit argument of gate `{gate}`")]
    UnknownGateArg {
        /// Gate name.
        gate: String,
        /// The name used.
        name: String,
    },
    /// A statement that is not allowed inside a gate body.
    #[error("`{what}` is not allowed inside a gate definition")]
    NotInGate {
        /// The statement.
        what: &'static str,
    },
    /// `include` of a file that cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error, shared so that the error can be cloned.
        source: Arc<std::io::Error>,
    },
    /// An `include` other than `qelib1.inc` where includes are not accepted (text from the
    /// HTTP API must not read the server's files).
    #[error("`include \"{name}\"` is not accepted here: only qelib1.inc, which is built in")]
    IncludeRefused {
        /// The file named (clipped to 64 characters).
        name: String,
    },
    /// An include that includes itself, directly or not.
    #[error("include cycle: {path} is already being included")]
    IncludeCycle {
        /// The file.
        path: PathBuf,
    },
    /// Over a configured limit.
    #[error("{what} exceeds the limit of {limit}")]
    Limit {
        /// Which limit ("expression nesting", "operations", "file size", ...).
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// The circuit under construction refused the operation.
    #[error(transparent)]
    Circuit(#[from] CircuitError),
}
