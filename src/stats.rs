//! Order statistics, with one definition for the whole crate: the quantile `q` of `n` sorted
//! values interpolates linearly between the two values around position `q · (n − 1)` (R's
//! type 7, numpy's default). The median is the quantile 0.5: the middle value, or the mean
//! of the two middle ones. Telemetry summaries, replay reports, training and evaluation all
//! use these, so a p95 is the same number wherever qroute prints one (#29: the telemetry
//! summary's p95 was nearest-rank while replay's was interpolated).

/// The quantile `q` (in [0, 1]) of values already sorted ascending; `None` when empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

/// The quantile `q` of `values`, sorting them in place (NaN sorts last).
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    quantile_sorted(values, q)
}

/// The median of `values` (left as they are); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(&mut values.to_vec(), 0.5)
}

/// Ranks from 1, ties given their average rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            r[idx[k]] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson's correlation; `None` under three pairs or without spread.
fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    if a.len() < 3 {
        return None;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    let r = sab / (saa * sbb).sqrt();
    r.is_finite().then_some(r)
}

/// Spearman's rank correlation (ties get average ranks).
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    pearson(&ranks(a), &ranks(b))
}

/// How much slower a set of choices was than the best per circuit: the geometric mean of
/// taken / best, and the circuits more than 2× and 10× the best or within 10% of it. One
/// definition for training's evaluation and replay (#30).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Slowdowns {
    n: u64,
    /// Σ ln(taken / best), at least 0 each, over circuits with a positive best time.
    log_sum: f64,
    logged: u64,
    over_2x: u64,
    over_10x: u64,
    within_10pct: u64,
}

impl Slowdowns {
    /// One circuit: the time its choice took and the best time.
    pub fn add(&mut self, taken: f64, best: f64) {
        self.n += 1;
        if best > 0.0 {
            self.log_sum += (taken / best).max(1.0).ln();
            self.logged += 1;
        }
        self.over_2x += u64::from(taken > 2.0 * best);
        self.over_10x += u64::from(taken > 10.0 * best);
        self.within_10pct += u64::from(taken <= best * 1.1);
    }

    /// Geometric mean of taken / best (1 with no circuit).
    pub fn geo_mean(&self) -> f64 {
        if self.logged > 0 {
            (self.log_sum / self.logged as f64).exp()
        } else {
            1.0
        }
    }

    /// Circuits more than twice the best.
    pub fn over_2x(&self) -> u64 {
        self.over_2x
    }

    /// Circuits more than ten times the best.
    pub fn over_10x(&self) -> u64 {
        self.over_10x
    }

    /// Share of circuits at most 10% slower than the best (0 with no circuit).
    pub fn within_10pct(&self) -> f64 {
        self.within_10pct as f64 / self.n.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_neighbours() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), Some(2.5));
        assert_eq!(quantile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&v, 1.0), Some(4.0));
        assert!((quantile_sorted(&v, 0.95).unwrap() - 3.85).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[7.0], 0.95), Some(7.0));
        assert_eq!(quantile_sorted(&[], 0.5), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let mut w = vec![5.0, 1.0, 3.0];
        assert_eq!(quantile(&mut w, 0.5), Some(3.0));
        assert_eq!(w, [1.0, 3.0, 5.0]);
    }
}
