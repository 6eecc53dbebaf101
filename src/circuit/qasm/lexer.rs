//! Tokens of OpenQASM 2 and the gate-model subset of OpenQASM 3, read straight from the
//! source bytes without allocating.

use super::error::ParseErrorKind;

/// Token kinds. The text of identifiers, numbers and strings is a slice of the source.
/// (`u32` wide so that a token is four aligned words: a byte-sized kind made every token
/// copy stall on store forwarding, measured at 60% of parse time.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Tok {
    Ident,
    Int,
    Real,
    Str,
    Semi,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Arrow,
    EqEq,
    /// `=` (OpenQASM 3's `c[0] = measure q[0];`).
    Assign,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    Eof,
}

/// One token: kind, byte range and line (from 1), packed into two 64-bit words. Tokens are
/// built in registers and copied word by word; with four 32-bit fields the compiler stored
/// them in halves and reloaded whole words, and every copy stalled on store forwarding
/// (measured at a third of parse time).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    /// Kind (low half) and line (high half).
    kind_line: u64,
    /// Start (low half) and end (high half) byte offsets.
    span: u64,
}

impl Token {
    #[inline(always)]
    pub(crate) fn new(tok: Tok, start: u32, end: u32, line: u32) -> Token {
        Token {
            kind_line: tok as u32 as u64 | (line as u64) << 32,
            span: start as u64 | (end as u64) << 32,
        }
    }

    /// Its kind.
    #[inline(always)]
    pub(crate) fn kind(&self) -> Tok {
        Tok::from_u32(self.kind_line as u32)
    }

    /// First byte.
    #[inline(always)]
    pub(crate) fn start(&self) -> u32 {
        self.span as u32
    }

    /// One past the last byte.
    #[inline(always)]
    pub(crate) fn end(&self) -> u32 {
        (self.span >> 32) as u32
    }

    /// Line, from 1.
    #[inline(always)]
    pub(crate) fn line(&self) -> u32 {
        (self.kind_line >> 32) as u32
    }
}

impl Tok {
    const ALL: [Tok; 21] = [
        Tok::Ident,
        Tok::Int,
        Tok::Real,
        Tok::Str,
        Tok::Semi,
        Tok::Comma,
        Tok::LParen,
        Tok::RParen,
        Tok::LBracket,
        Tok::RBracket,
        Tok::LBrace,
        Tok::RBrace,
        Tok::Arrow,
        Tok::EqEq,
        Tok::Assign,
        Tok::Plus,
        Tok::Minus,
        Tok::Star,
        Tok::Slash,
        Tok::Caret,
        Tok::Eof,
    ];

    #[inline(always)]
    fn from_u32(v: u32) -> Tok {
        // Every token is made by `Token::new` from a `Tok`, so the index is in range.
        Tok::ALL[v as usize % Tok::ALL.len()]
    }
}

/// Whether a byte may continue an identifier (`[A-Za-z0-9_]`), as a table: one load per byte.
const IDENT_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
};

/// Whether `c` may continue an identifier.
#[inline(always)]
pub(crate) fn ident_byte(c: u8) -> bool {
    IDENT_BYTE[c as usize]
}

/// The [`name_word`](crate::circuit::gate::name_word) of `src[start..end]`, read as one
/// unaligned word when eight bytes are there.
#[inline(always)]
pub(crate) fn word_at(src: &[u8], start: usize, end: usize) -> u64 {
    let len = end - start;
    if len == 0 || len > 8 {
        return 0;
    }
    match src.get(start..start + 8) {
        Some(w) => {
            let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
            w & (u64::MAX >> (64 - 8 * len))
        }
        None => crate::circuit::gate::name_word(&src[start..end]),
    }
}

pub(crate) struct Lexer<'s> {
    src: &'s [u8],
    pos: usize,
    line: u32,
}

/// A lexing error at a byte offset and line.
pub(crate) struct LexError {
    pub(crate) offset: usize,
    pub(crate) line: u32,
    pub(crate) kind: ParseErrorKind,
}

impl<'s> Lexer<'s> {
    pub(crate) fn new(src: &'s str) -> Lexer<'s> {
        Lexer {
            src: src.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    #[cold]
    fn err(&self, offset: usize, line: u32, kind: ParseErrorKind) -> Box<LexError> {
        Box::new(LexError { offset, line, kind })
    }

    /// Skips white space and comments.
    #[inline(always)]
    fn skip_trivia(&mut self) -> Result<(), Box<LexError>> {
        let src = self.src;
        loop {
            match src.get(self.pos) {
                Some(b'\n') => {
                    self.line += 1;
                    self.pos += 1;
                }
                Some(b' ' | b'\t' | b'\r') => self.pos += 1,
                Some(b'/') if src.get(self.pos + 1) == Some(&b'/') => {
                    match memchr_newline(&src[self.pos..]) {
                        Some(n) => self.pos += n,
                        None => self.pos = src.len(),
                    }
                }
                Some(b'/') if src.get(self.pos + 1) == Some(&b'*') => {
                    let (start, line) = (self.pos, self.line);
                    self.pos += 2;
                    loop {
                        match src.get(self.pos) {
                            None => {
                                return Err(self.err(
                                    start,
                                    line,
                                    ParseErrorKind::UnterminatedComment,
                                ));
                            }
                            Some(b'*') if src.get(self.pos + 1) == Some(&b'/') => {
                                self.pos += 2;
                                break;
                            }
                            Some(b'\n') => {
                                self.line += 1;
                                self.pos += 1;
                            }
                            Some(_) => self.pos += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// The next token.
    #[inline(always)]
    pub(crate) fn next_token(&mut self) -> Result<Token, Box<LexError>> {
        self.skip_trivia()?;
        let src = self.src;
        let start = self.pos;
        let line = self.line;
        let Some(&b) = src.get(start) else {
            return Ok(Token::new(Tok::Eof, start as u32, start as u32, line));
        };
        let tok = match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let mut p = start + 1;
                while src.get(p).is_some_and(|&c| ident_byte(c)) {
                    p += 1;
                }
                self.pos = p;
                Tok::Ident
            }
            b'0'..=b'9' | b'.' => return self.number(start, line),
            b'"' => {
                let mut p = start + 1;
                loop {
                    match src.get(p) {
                        Some(b'"') => break,
                        Some(b'\n') | None => {
                            return Err(self.err(start, line, ParseErrorKind::UnterminatedString));
                        }
                        Some(_) => p += 1,
                    }
                }
                self.pos = p + 1;
                Tok::Str
            }
            b';' => self.single(Tok::Semi),
            b',' => self.single(Tok::Comma),
            b'(' => self.single(Tok::LParen),
            b')' => self.single(Tok::RParen),
            b'[' => self.single(Tok::LBracket),
            b']' => self.single(Tok::RBracket),
            b'{' => self.single(Tok::LBrace),
            b'}' => self.single(Tok::RBrace),
            b'+' => self.single(Tok::Plus),
            b'*' => self.single(Tok::Star),
            b'/' => self.single(Tok::Slash),
            b'^' => self.single(Tok::Caret),
            b'-' if src.get(start + 1) == Some(&b'>') => {
                self.pos += 2;
                Tok::Arrow
            }
            b'-' => self.single(Tok::Minus),
            b'=' if src.get(start + 1) == Some(&b'=') => {
                self.pos += 2;
                Tok::EqEq
            }
            b'=' => self.single(Tok::Assign),
            // OpenQASM 3's constants π, τ and ℇ (euler) are identifiers of their own.
            0xCF if matches!(src.get(start + 1), Some(0x80 | 0x84)) => {
                self.pos += 2;
                Tok::Ident
            }
            0xE2 if src.get(start + 1..start + 3) == Some(&[0x84, 0x87]) => {
                self.pos += 3;
                Tok::Ident
            }
            _ => {
                // Report the whole character, not one byte of it.
                let rest = std::str::from_utf8(&src[start..src.len().min(start + 4)])
                    .or_else(|e| std::str::from_utf8(&src[start..start + e.valid_up_to()]))
                    .unwrap_or("");
                let ch = rest.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
                return Err(self.err(start, line, ParseErrorKind::UnexpectedChar { ch }));
            }
        };
        Ok(Token::new(tok, start as u32, self.pos as u32, line))
    }

    /// Offset of the next byte to read.
    #[inline(always)]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Continues reading at `pos`, on the same line: the caller has consumed the bytes up to
    /// it and they hold no line break.
    #[inline(always)]
    pub(crate) fn skip_to(&mut self, pos: usize) {
        debug_assert!(!self.src[self.pos..pos].contains(&b'\n'));
        self.pos = pos;
    }

    /// Fast path for `q[12]`: when the source right after the `[` just read is up to 18
    /// digits and `]`, consumes them and returns the value and the digits' byte range.
    /// Otherwise (white space, comments, anything else) consumes nothing.
    #[inline(always)]
    pub(crate) fn index_then_rbracket(&mut self) -> Option<(u64, u32, u32)> {
        let src = self.src;
        let start = self.pos;
        let mut p = start;
        let mut v: u64 = 0;
        while let Some(&b) = src.get(p) {
            if b.is_ascii_digit() && p - start < 18 {
                v = v * 10 + (b - b'0') as u64;
                p += 1;
            } else {
                break;
            }
        }
        if p > start && src.get(p) == Some(&b']') {
            self.pos = p + 1;
            Some((v, start as u32, p as u32))
        } else {
            None
        }
    }

    #[inline]
    fn single(&mut self, tok: Tok) -> Tok {
        self.pos += 1;
        tok
    }

    /// `123`, `1.5`, `.5`, `5.`, `1e-3`, `2.5E+10`.
    fn number(&mut self, start: usize, line: u32) -> Result<Token, Box<LexError>> {
        let src = self.src;
        let n = scan_number(src, start);
        let mut p = n.end;
        let mut ok = n.valid;
        // A number glued to letters (`12ab`) is one bad token, not two.
        while src.get(p).is_some_and(|&c| glues_to_number(c)) {
            p += 1;
            ok = false;
        }
        self.pos = p;
        if !ok {
            let text = String::from_utf8_lossy(&src[start..p]).into_owned();
            return Err(self.err(start, line, ParseErrorKind::InvalidNumber { text }));
        }
        Ok(Token::new(
            if n.real { Tok::Real } else { Tok::Int },
            start as u32,
            p as u32,
            line,
        ))
    }
}

/// A number as OpenQASM writes one (`1`, `1.5`, `.5`, `5.`, `1e-3`), read from its first
/// byte: the lexer's grammar, shared with the compact-call path so that the two agree.
pub(crate) struct NumberScan {
    /// One past its last byte (letters glued to it not included).
    pub(crate) end: usize,
    /// Whether it has a dot or an exponent.
    pub(crate) real: bool,
    /// Whether it is well formed: a digit before or after the dot, and one in the exponent.
    pub(crate) valid: bool,
    /// Its digits without the dot as an integer (wrapping beyond 19 digits).
    pub(crate) mantissa: u64,
    /// How many digits, and how many of them follow the dot.
    pub(crate) digits: usize,
    pub(crate) frac: i32,
    /// The exponent (saturating).
    pub(crate) exp: i32,
}

/// Reads the number starting at `start` (see [`NumberScan`]).
#[inline(always)]
pub(crate) fn scan_number(b: &[u8], start: usize) -> NumberScan {
    let mut p = start;
    let mut mantissa = 0u64;
    let mut digits = 0usize;
    let mut frac = 0i32;
    while let Some(&c) = b.get(p).filter(|c| c.is_ascii_digit()) {
        mantissa = mantissa.wrapping_mul(10).wrapping_add((c - b'0') as u64);
        digits += 1;
        p += 1;
    }
    let mut real = false;
    if b.get(p) == Some(&b'.') {
        real = true;
        p += 1;
        while let Some(&c) = b.get(p).filter(|c| c.is_ascii_digit()) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add((c - b'0') as u64);
            digits += 1;
            frac += 1;
            p += 1;
        }
    }
    let mut valid = digits > 0;
    let mut exp = 0i32;
    if matches!(b.get(p), Some(b'e' | b'E')) {
        real = true;
        p += 1;
        let neg = b.get(p) == Some(&b'-');
        if matches!(b.get(p), Some(b'+' | b'-')) {
            p += 1;
        }
        let first = p;
        while let Some(&c) = b.get(p).filter(|c| c.is_ascii_digit()) {
            exp = exp.saturating_mul(10).saturating_add((c - b'0') as i32);
            p += 1;
        }
        valid &= p > first;
        if neg {
            exp = -exp;
        }
    }
    NumberScan {
        end: p,
        real,
        valid,
        mantissa,
        digits,
        frac,
        exp,
    }
}

/// Whether byte `c` right after a number makes it one bad token (`12ab`, `1.5.3`).
#[inline(always)]
pub(crate) fn glues_to_number(c: u8) -> bool {
    ident_byte(c) || c == b'.'
}

#[inline]
fn memchr_newline(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

/// How a token reads in an error message.
pub(crate) fn describe(src: &str, t: &Token) -> String {
    match t.kind() {
        Tok::Eof => "end of file".to_string(),
        _ => {
            let text = &src[t.start() as usize..t.end() as usize];
            let mut shown: String = text.chars().take(40).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            format!("`{shown}`")
        }
    }
}
