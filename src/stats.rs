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
