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

/// Pushes `x` rounded to `decimals` places (at most 3), as `{x:.decimals$}` writes it (halves
/// to even: `2.5` → `2`, `0.125` → `0.12`).
///
/// This was an integer-based formatter, several times faster than std's exact one, which
/// rounded halves away from zero (`2.5` → `3`): printed numbers disagreed with every other
/// tool (#29). Measured with std's (route bench, three alternated runs each, 2026-12-07, a
/// slow day): one decision 13.1 → 13.6 µs median, recommend_circuit 13.4 → 14.4 µs, both
/// within the runs' spread.
pub fn push_fixed(s: &mut String, x: f64, decimals: u32) {
    use std::fmt::Write;
    let _ = write!(s, "{x:.*}", decimals.min(3) as usize);
}

/// `x` in scientific notation with three decimals, as `{x:.3e}` writes it (`0.000123456` →
/// `1.235e-4`).
pub fn sci3(x: f64) -> String {
    format!("{x:.3e}")
}

/// Pushes [`sci3`]`(x)`.
pub fn push_sci3(s: &mut String, x: f64) {
    use std::fmt::Write;
    let _ = write!(s, "{x:.3e}");
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
    fn halves_round_to_even_as_every_other_tool_prints_them() {
        let fixed = |x: f64, d: u32| {
            let mut s = String::new();
            push_fixed(&mut s, x, d);
            s
        };
        // The hand-written formatter printed "3" and "0.13" (#29).
        assert_eq!(fixed(2.5, 0), "2");
        assert_eq!(fixed(3.5, 0), "4");
        assert_eq!(fixed(0.125, 2), "0.12");
        assert_eq!(fixed(-1.5, 0), "-2");
        assert_eq!(fixed(1.23456, 9), "1.235", "at most three decimals");
        assert_eq!(sci3(0.0), "0.000e0");
        assert_eq!(sci3(9.9996), "1.000e1");
        assert_eq!(sci3(-0.000123456), "-1.235e-4");
        assert_eq!(sci3(f64::INFINITY), "inf");
        assert_eq!(human_ms(0.0123), "12.3 µs");
        assert_eq!(human_ms(42.0), "42.0 ms");
        assert_eq!(human_ms(61500.0), "61.5 s");
        assert_eq!(human_ms(9.999), "10.00 ms");
        assert_eq!(human_ms(0.0125), "12.5 µs");
    }
}
