//! A censored (Tobit) line: ln(time) = a + b·ln(work) + ε, ε ~ N(0, σ²), where a timed-out
//! run only says ln(time) > ln(timeout).
//!
//! Training a timeout as a stand-in value (2× the timeout) biases the line low exactly where
//! an engine is slowest; the censored likelihood uses what a timeout says and nothing more.
//! Fitted by expectation–maximisation: each censored value is replaced by its conditional
//! mean given the current line (μ + σ·λ(α), λ the inverse Mills ratio), the line refitted by
//! least squares, and σ² by the mean of squared residuals plus each censored value's
//! conditional variance. Converges monotonically in the likelihood; 200 rounds at most.

use crate::model::expected::normal_cdf;

/// A fitted censored line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tobit {
    pub(crate) intercept: f64,
    pub(crate) slope: f64,
    pub(crate) sigma: f64,
}

/// One observation: the regressor, the value (for a censored one: its lower bound) and
/// whether it is censored.
pub(crate) type Point = (f64, f64, bool);

/// Least squares of y on x, the slope clamped to `slope_range`.
fn line(points: &[(f64, f64)], slope_range: (f64, f64)) -> (f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = if sxx > 1e-12 { sxy / sxx } else { 0.0 };
    let slope = slope.clamp(slope_range.0, slope_range.1);
    (my - slope * mx, slope)
}

/// The inverse Mills ratio φ(α)/(1 − Φ(α)), with its asymptote α for large α.
fn mills(alpha: f64) -> f64 {
    let tail = 1.0 - normal_cdf(alpha);
    if tail < 1e-12 {
        return alpha + 1.0 / alpha.max(1.0);
    }
    (-0.5 * alpha * alpha).exp() / (2.0 * std::f64::consts::PI).sqrt() / tail
}

/// Fits the censored line; `None` with fewer than two points or no uncensored one. The slope
/// is kept within `slope_range` (a work estimate's time grows with it, and not faster than
/// some power of it).
pub(crate) fn fit(points: &[Point], slope_range: (f64, f64)) -> Option<Tobit> {
    if points.len() < 2 || points.iter().all(|p| p.2) {
        return None;
    }
    let mut filled: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
    let (mut a, mut b) = line(&filled, slope_range);
    let n = points.len() as f64;
    let mut sigma = (filled
        .iter()
        .map(|p| (p.1 - a - b * p.0).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
        .max(1e-3);
    for _ in 0..200 {
        let mut extra_var = 0.0;
        for (f, &(x, y, censored)) in filled.iter_mut().zip(points) {
            if censored {
                let mu = a + b * x;
                let alpha = (y - mu) / sigma;
                let lambda = mills(alpha);
                f.1 = mu + sigma * lambda;
                extra_var += sigma * sigma * (1.0 + alpha * lambda - lambda * lambda).max(0.0);
            }
        }
        let (na, nb) = line(&filled, slope_range);
        let ss: f64 = filled.iter().map(|p| (p.1 - na - nb * p.0).powi(2)).sum();
        let ns = ((ss + extra_var) / n).sqrt().max(1e-3);
        let done = (na - a).abs() < 1e-9 && (nb - b).abs() < 1e-9 && (ns - sigma).abs() < 1e-9;
        (a, b, sigma) = (na, nb, ns);
        if done {
            break;
        }
    }
    (a.is_finite() && b.is_finite() && sigma.is_finite()).then_some(Tobit {
        intercept: a,
        slope: b,
        sigma,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Gaussian noise by Box–Muller from the crate's seeded generator.
    fn gauss(rng: &mut Rng) -> f64 {
        let u = rng.f64().max(1e-12);
        let v = rng.f64();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    #[test]
    fn recovers_a_line_from_censored_data_where_a_stand_in_value_biases_it() {
        let mut rng = Rng::new(7);
        let (a, b, s, cut) = (-2.0, 0.8, 0.3, 6.0);
        let points: Vec<Point> = (0..600)
            .map(|i| {
                let x = i as f64 / 600.0 * 14.0;
                let y = a + b * x + s * gauss(&mut rng);
                if y > cut {
                    (x, cut, true)
                } else {
                    (x, y, false)
                }
            })
            .collect();
        let censored = points.iter().filter(|p| p.2).count();
        assert!(censored > 100, "{censored} censored");
        let t = fit(&points, (0.0, 3.0)).unwrap();
        assert!((t.slope - b).abs() < 0.05, "{t:?}");
        assert!((t.intercept - a).abs() < 0.2, "{t:?}");
        assert!((t.sigma - s).abs() < 0.05, "{t:?}");
        // The stand-in value (the bound itself) flattens the line.
        let naive: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
        assert!(line(&naive, (0.0, 3.0)).1 < b - 0.1);
    }

    #[test]
    fn needs_an_uncensored_point_and_respects_the_slope_range() {
        assert_eq!(fit(&[(1.0, 2.0, true), (2.0, 2.0, true)], (0.0, 2.0)), None);
        assert_eq!(fit(&[(1.0, 2.0, false)], (0.0, 2.0)), None);
        let falling: Vec<Point> = (0..10).map(|i| (i as f64, -(i as f64), false)).collect();
        assert_eq!(fit(&falling, (0.0, 2.0)).unwrap().slope, 0.0);
    }
}
