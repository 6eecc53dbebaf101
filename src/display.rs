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

/// A duration in milliseconds with three significant digits and a unit that fits:
/// `0.0123` → `12.3 µs`, `42.0` → `42.0 ms`, `61500.0` → `61.5 s`.
pub fn human_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return format!("{ms} ms");
    }
    let (x, unit) = if ms < 1.0 {
        (ms * 1e3, "µs")
    } else if ms < 1e3 {
        (ms, "ms")
    } else {
        (ms / 1e3, "s")
    };
    if x >= 100.0 {
        format!("{x:.0} {unit}")
    } else if x >= 10.0 {
        format!("{x:.1} {unit}")
    } else {
        format!("{x:.2} {unit}")
    }
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
}
