//! The statement nearly every line of a real file is — a gate call written compactly, such as
//! `cu1(pi/2) node[13],node[0];` or `u(1.66,-6.27,3.84) q[8];` — scanned straight from the
//! bytes, without tokens.
//!
//! The scan accepts only a narrow shape and answers `None` for anything else (white space
//! other than spaces after a comma or before the arguments, comments, line breaks, whole-register arguments,
//! parameter expressions beyond `±f (* f | / f)*` with `f` a number or `pi`), and the parser
//! then reads the statement again token by token. So the general parser alone decides every
//! error and every unusual form; this path only has to agree with it on the forms it accepts,
//! which `tests/parse_corpus.rs` checks on the whole corpus.
//!
//! Measured gain (2026-12-07, `cargo bench --bench parse`, this path on vs. `compact_call`
//! answering `None` at once, three alternating runs each, medians): grover_14 5.5 ms vs
//! 17.9 ms (3.2×), qwalk_28 5.9 vs 14.1 ms (2.4×), cliff_stimtableau_n200 5.3 vs 11.8 ms
//! (2.2×), a generated 1M-gate circuit 208 vs 409 ms (2.0×). Parsing is the first cost of
//! every job qroute routes, so the 325 lines stay.

use super::lexer::{glues_to_number, ident_byte, scan_number};

/// One `reg[index]` argument: the register (when matched by word) or its name's byte range,
/// and the index.
#[derive(Debug, Clone, Copy)]
pub(super) struct BitRef {
    pub(super) reg: Option<u32>,
    pub(super) name_start: u32,
    pub(super) name_end: u32,
    pub(super) index: u32,
}

/// Most arguments one compact call may have (qelib1's widest gate takes 5).
pub(super) const MAX_ARGS: usize = 16;

/// Scans a gate call from just after its name at `pos`: `(params)`, then the arguments, then
/// `;`. Fills `params` and `args` and returns the offset after the `;`, or `None` when the
/// statement is not in the compact shape (the buffers' contents are then meaningless).
/// An argument whose register name is one of `words` (registers' name words, 0 for a long
/// name) followed by `[` names that register; others are left to the caller to look up.
#[inline]
pub(super) fn scan_call(
    src: &str,
    pos: usize,
    words: &[u64],
    params: &mut Vec<f64>,
    args: &mut Vec<BitRef>,
) -> Option<usize> {
    let b = src.as_bytes();
    let mut p = pos;
    if b.get(p) == Some(&b'(') {
        p += 1;
        loop {
            let (v, q) = product(src, p)?;
            params.push(v);
            p = q;
            match b.get(p)? {
                b',' => p = spaces(b, p + 1),
                b')' => {
                    p += 1;
                    break;
                }
                _ => return None,
            }
        }
    } else if b.get(p) != Some(&b' ') {
        return None;
    }
    p = spaces(b, p);
    loop {
        let name_start = p;
        if !b.get(p)?.is_ascii_alphabetic() && b[p] != b'_' {
            return None;
        }
        let reg = register_at(b, p, words);
        match reg {
            Some((_, len)) => p += len,
            None => {
                p += 1;
                while b.get(p).is_some_and(|&c| ident_byte(c)) {
                    p += 1;
                }
            }
        }
        let name_end = p;
        if b.get(p) != Some(&b'[') {
            return None;
        }
        let (index, q) = index_at(b, p + 1)?;
        if args.len() == MAX_ARGS {
            return None;
        }
        p = q;
        args.push(BitRef {
            reg: reg.map(|(r, _)| r),
            name_start: name_start as u32,
            name_end: name_end as u32,
            index,
        });
        match b.get(p)? {
            b',' => p = spaces(b, p + 1),
            b';' => return Some(p + 1),
            _ => return None,
        }
    }
}

/// The register (index into `words`, name length) whose name starts at `p` and is followed
/// by `[`: one masked eight-byte compare per register.
#[inline(always)]
fn register_at(b: &[u8], p: usize, words: &[u64]) -> Option<(u32, usize)> {
    let here = u64::from_le_bytes(b.get(p..p + 8)?.try_into().ok()?);
    words.iter().enumerate().find_map(|(i, &w)| {
        // A word's length is its count of nonzero low bytes (names hold no NUL).
        let len = (64 - w.leading_zeros() as usize).div_ceil(8);
        (w != 0 && here & (u64::MAX >> (64 - 8 * len)) == w && b.get(p + len) == Some(&b'['))
            .then_some((i as u32, len))
    })
}

/// The index and closing `]` of an argument at `p`, just after its `[`: the value and the
/// offset after the `]`.
#[inline(always)]
fn index_at(b: &[u8], p: usize) -> Option<(u32, usize)> {
    // One or two digits, nearly every index, without a branch on which: a loop's exit there
    // is mispredicted whenever the two kinds mix.
    if let Some(w) = b.get(p..p + 3) {
        let (d0, d1) = (w[0].wrapping_sub(b'0'), w[1].wrapping_sub(b'0'));
        let two = d1 < 10;
        let end = p + 1 + usize::from(two);
        if d0 < 10 && b[end] == b']' {
            let v = if two { 10 * d0 + d1 } else { d0 };
            return Some((u32::from(v), end + 1));
        }
    }
    let digits = p;
    let mut p = p;
    let mut index: u32 = 0;
    // Nine digits cannot overflow a u32.
    while let Some(&c) = b.get(p).filter(|c| c.is_ascii_digit() && p - digits < 9) {
        index = index * 10 + (c - b'0') as u32;
        p += 1;
    }
    (p > digits && b.get(p) == Some(&b']')).then_some((index, p + 1))
}

#[inline]
fn spaces(b: &[u8], mut p: usize) -> usize {
    while b.get(p) == Some(&b' ') {
        p += 1;
    }
    p
}

/// `[-] f ((* | /) f)*`, evaluated left to right as the general parser does (`-a*b/c` is
/// `((-a)*b)/c`). Returns the value and the offset after it.
#[inline]
fn product(src: &str, p: usize) -> Option<(f64, usize)> {
    let b = src.as_bytes();
    let neg = b.get(p) == Some(&b'-');
    let (mut v, mut p) = factor(src, p + usize::from(neg))?;
    if neg {
        v = -v;
    }
    loop {
        match b.get(p) {
            Some(b'*') => {
                let (f, q) = factor(src, p + 1)?;
                v *= f;
                p = q;
            }
            Some(b'/') => {
                let (f, q) = factor(src, p + 1)?;
                v /= f;
                p = q;
            }
            _ => return Some((v, p)),
        }
    }
}

/// `pi` or an unsigned number as the lexer reads one (`1`, `1.5`, `.5`, `5.`, `1e-3`).
#[inline]
fn factor(src: &str, start: usize) -> Option<(f64, usize)> {
    let b = src.as_bytes();
    let glued = |p: usize| b.get(p).is_some_and(|&c| glues_to_number(c));
    if b.get(start..start + 2) == Some(b"pi") {
        return (!glued(start + 2)).then_some((std::f64::consts::PI, start + 2));
    }
    let n = scan_number(b, start);
    if !n.valid || glued(n.end) {
        return None;
    }
    let p = n.end;
    // Clinger's fast path: a mantissa below 2^53 and a power of ten up to 10^22 are both exact
    // doubles, so one multiplication or division rounds correctly, as the full algorithm
    // would. Everything else goes to the standard library.
    let scale = n.exp.saturating_sub(n.frac);
    if n.digits <= 19 && n.mantissa <= 1 << 53 && (-22..=22).contains(&scale) {
        let m = n.mantissa as f64;
        let v = if scale < 0 {
            m / POW10[(-scale) as usize]
        } else {
            m * POW10[scale as usize]
        };
        return Some((v, p));
    }
    // The range holds ASCII digits, a dot and an exponent only.
    src.get(start..p)?.parse().ok().map(|v| (v, p))
}

/// 10^0 ..= 10^22, every one exact in a double.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The fast path's numbers equal the standard library's, bit for bit, in every form.
    #[test]
    fn numbers_read_as_the_standard_library_reads_them() {
        let mut rng = Rng::new(7);
        let mut texts: Vec<String> = [
            "0",
            "0.0",
            "00",
            ".5",
            "5.",
            "1e0",
            "1E+22",
            "1e-22",
            "1e23",
            "9007199254740992",
            "9007199254740993",
            "9007199254740993.0",
            "123456789012345678901234",
            "4.9e-324",
            "1.7976931348623157e308",
            "0.000000000000000000000000001",
            "2.5E+10",
            "1e-400",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..50_000 {
            let x = rng.f64() * 10f64.powi(rng.below(40) as i32 - 20);
            texts.push(format!("{x}"));
            texts.push(format!("{x:e}"));
            texts.push(format!("{x:.*}", rng.below(25) as usize));
            texts.push(format!("{}", rng.next_u64() >> rng.below(64)));
        }
        for t in &texts {
            let want: f64 = t.parse().unwrap();
            let (got, end) = factor(t, 0).unwrap_or_else(|| panic!("{t} not read"));
            assert_eq!(end, t.len(), "{t}");
            assert_eq!(got.to_bits(), want.to_bits(), "{t}");
        }
    }

    #[test]
    fn registers_match_by_word_only_when_the_whole_name_is_followed_by_a_bracket() {
        use crate::circuit::gate::name_word;
        let words = [name_word(b"q"), name_word(b"qq"), 0, name_word(b"ancilla")];
        for (text, want) in [
            ("q[1],q[2];", Some((0, 1))),
            ("qq[1],q[2];", Some((1, 2))),
            ("qx[0],q[1];", None),
            ("ancilla[3];   ", Some((3, 7))),
            ("ancillas[3];  ", None),
            ("q[1];", None), // fewer than eight bytes left: the caller scans the name
        ] {
            assert_eq!(register_at(text.as_bytes(), 0, &words), want, "{text}");
        }
    }

    /// The branch-free reading of short indices agrees with a digit-by-digit one on every
    /// shape: short, long, unclosed, empty, at the end of the text.
    #[test]
    fn indices_read_as_digit_by_digit() {
        let reference = |b: &[u8], p: usize| {
            let mut q = p;
            while q < b.len() && b[q].is_ascii_digit() && q - p < 9 {
                q += 1;
            }
            let v = std::str::from_utf8(&b[p..q]).ok()?.parse::<u32>().ok()?;
            (b.get(q) == Some(&b']')).then_some((v, q + 1))
        };
        let mut rng = Rng::new(3);
        let bytes = b"0123456789]]],;x/ ";
        for _ in 0..50_000 {
            let text: Vec<u8> = (0..rng.below(8))
                .map(|_| bytes[rng.below(bytes.len() as u64) as usize])
                .collect();
            for p in 0..=text.len() {
                assert_eq!(index_at(&text, p), reference(&text, p), "{text:?} at {p}");
            }
        }
        for t in [
            "7]",
            "15]",
            "00]",
            "999999999]",
            "1234567890]",
            "]",
            "4",
            "42",
        ] {
            assert_eq!(index_at(t.as_bytes(), 0), reference(t.as_bytes(), 0), "{t}");
        }
    }

    #[test]
    fn products_evaluate_left_to_right_with_the_sign_on_the_first_factor() {
        for (t, want) in [
            ("-pi/4", -std::f64::consts::PI / 4.0),
            ("3*pi/4", 3.0 * std::f64::consts::PI / 4.0),
            ("-0", -0.0),
            ("1/3*3", 1.0 / 3.0 * 3.0),
        ] {
            let (got, end) = product(t, 0).unwrap();
            assert_eq!((got.to_bits(), end), (want.to_bits(), t.len()), "{t}");
        }
        for t in [
            "1.2.3", "1e", "1e+", "pix", "2pi", "1_0", ".", "", "-", "--1", "+1",
        ] {
            assert!(product(t, 0).is_none_or(|(_, end)| end < t.len()), "{t}");
        }
    }
}
