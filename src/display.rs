//! Human-readable output shared by the commands: byte sizes and aligned text tables.

/// Bytes with a binary unit: `17179869184.0` → `16 GiB`, `1536.0` → `1.5 KiB`; beyond EiB,
/// a power of two.
pub fn human_bytes(b: f64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut x = b;
    for u in UNITS {
        if x < 1024.0 {
            return if x.fract() == 0.0 {
                format!("{x} {u}")
            } else {
                format!("{x:.1} {u}")
            };
        }
        x /= 1024.0;
    }
    format!("2^{} B", b.log2().round())
}

/// At most `max_chars` characters of `s`, with `…` in place of the rest: how untrusted text
/// (a name from a request, a line of a file) is quoted in a message without the message
/// growing with the input.
pub fn clip(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        None => s.to_string(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

/// A duration in milliseconds with three significant digits and a unit that fits:
/// `0.0123` → `12.3 µs`, `42.0` → `42.0 ms`, `61500.0` → `61.5 s`.
pub fn human_ms(ms: f64) -> String {
    let mut s = String::with_capacity(12);
    push_ms(&mut s, ms);
    s
}

/// Pushes [`human_ms`]`(ms)`.
pub fn push_ms(s: &mut String, ms: f64) {
    if !ms.is_finite() {
        use std::fmt::Write;
        let _ = write!(s, "{ms} ms");
        return;
    }
    let (x, unit) = if ms < 1.0 {
        (ms * 1e3, "µs")
    } else if ms < 1e3 {
        (ms, "ms")
    } else {
        (ms / 1e3, "s")
    };
    let decimals = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else {
        2
    };
    push_fixed(s, x, decimals);
    s.push(' ');
    s.push_str(unit);
}

/// Pushes `x` rounded to `decimals` places (at most 3) the way `{x:.decimals$}` writes it,
/// but through integer formatting, which is several times faster than Rust's exact float
/// formatting (a routing decision writes a few such numbers into its reason). The last digit
/// may differ for a value within a rounding error of a half (halves round away from zero
/// here, to even there); from 10^12 on, and for infinities and NaN, the float formatter is
/// used.
pub fn push_fixed(s: &mut String, x: f64, decimals: u32) {
    let decimals = decimals.min(3);
    let scale = 10u64.pow(decimals);
    let v = (x.abs() * scale as f64).round();
    if !x.is_finite() || v >= 1e12 {
        use std::fmt::Write;
        let _ = write!(s, "{x:.*}", decimals as usize);
        return;
    }
    let n = v as u64;
    if x.is_sign_negative() {
        s.push('-');
    }
    push_digits(s, n / scale, 1);
    if decimals > 0 {
        s.push('.');
        push_digits(s, n % scale, decimals as usize);
    }
}

/// Pushes `n` in decimal, zero-padded to `width` digits.
fn push_digits(s: &mut String, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    while n > 0 || buf.len() - i < width.max(1) {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    // Every byte is an ASCII digit.
    s.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("?"));
}

/// `x` in scientific notation with three decimals, as `{x:.3e}` writes it (`0.000123456` →
/// `1.235e-4`), through integer formatting (the same caveat as [`push_fixed`]).
pub fn sci3(x: f64) -> String {
    let mut s = String::with_capacity(12);
    push_sci3(&mut s, x);
    s
}

/// Pushes [`sci3`]`(x)`.
pub fn push_sci3(s: &mut String, x: f64) {
    if !x.is_finite() || x == 0.0 {
        use std::fmt::Write;
        let _ = write!(s, "{x:.3e}");
        return;
    }
    let a = x.abs();
    let mantissa = |e: i32| (a / 10f64.powi(e) * 1000.0).round();
    let mut e = a.log10().floor() as i32;
    let mut m = mantissa(e);
    // log10 and the division are not exact: bring the mantissa into [1000, 10000).
    if m < 1000.0 {
        e -= 1;
        m = mantissa(e);
    }
    if m >= 10000.0 {
        e += 1;
        m = mantissa(e).max(1000.0);
    }
    let m = m as u64;
    if x < 0.0 {
        s.push('-');
    }
    push_digits(s, m / 1000, 1);
    s.push('.');
    push_digits(s, m % 1000, 3);
    s.push('e');
    if e < 0 {
        s.push('-');
    }
    push_digits(s, e.unsigned_abs() as u64, 1);
}

/// Column alignment in [`table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Every column left-aligned.
    Left,
    /// The first column left-aligned, the others right-aligned (numbers).
    FirstLeft,
}

/// Rows of cells as lines padded into columns two spaces apart, each ending in a newline.
/// The first row is the header. Trailing spaces are trimmed.
pub fn table(rows: &[Vec<String>], align: Align) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let w = widths[c];
            if c == 0 || align == Align::Left {
                line.push_str(&format!("{cell:<w$}"));
            } else {
                line.push_str(&format!("{cell:>w$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_tables() {
        assert_eq!(human_bytes(16.0 * (1u64 << 30) as f64), "16 GiB");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
        assert_eq!(human_bytes(2f64.powi(104)), "2^104 B");
        let t = table(
            &[
                vec!["a".into(), "n".into()],
                vec!["long".into(), "7".into()],
            ],
            Align::FirstLeft,
        );
        assert_eq!(t, "a     n\nlong  7\n");
    }

    #[test]
    fn integer_formatting_writes_what_float_formatting_does() {
        let mut rng = crate::rng::Rng::new(11);
        for _ in 0..20_000 {
            // Magnitudes from 1e-12 to 1e12, both signs.
            let x = 10f64.powf(rng.f64() * 24.0 - 12.0) * if rng.f64() < 0.2 { -1.0 } else { 1.0 };
            assert_eq!(sci3(x), format!("{x:.3e}"), "{x:e}");
            for d in 0..=3 {
                let mut s = String::new();
                push_fixed(&mut s, x, d);
                assert_eq!(s, format!("{x:.*}", d as usize), "{x:e} to {d}");
            }
        }
        assert_eq!(sci3(0.0), "0.000e0");
        assert_eq!(sci3(9.9996), "1.000e1");
        assert_eq!(sci3(f64::INFINITY), "inf");
        assert_eq!(human_ms(0.0123), "12.3 µs");
        assert_eq!(human_ms(42.0), "42.0 ms");
        assert_eq!(human_ms(61500.0), "61.5 s");
        assert_eq!(human_ms(9.999), "10.00 ms");
        let mut s = String::new();
        for (n, w) in [(0, 1), (7, 3), (1234, 1), (u64::MAX, 1), (5, 0)] {
            push_digits(&mut s, n, w);
            assert_eq!(s, format!("{n:0w$}"), "{n} in {w}");
            s.clear();
        }
    }
}
