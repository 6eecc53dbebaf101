//! A latency law that extrapolates: ln(ms) against the ln of one engine's work estimate, with
//! a floor for small circuits.
//!
//! An engine's time is roughly a fixed overhead plus a rate times its work, t ≈ t₀ + c·w,
//! which no straight line in ln w follows (the slope is 0 below the knee w₀ = t₀/c and 1
//! above it). [`Calibration`] predicts ln t = a + b·softplus(ln w − ln w₀), softplus(u) =
//! ln(1 + eᵘ): t = e^a (1 + w/w₀)^b, the overhead-plus-work law when b = 1, and a power of the
//! work past the knee otherwise. The term (which engine's work) and the knee are chosen per
//! backend in training; a, b by a censored fit (timeouts say only "longer than").

use super::linear::TERM_NAMES;

/// ln t = intercept + slope · softplus(terms\[term\] − knee).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Index of the work term in [`TERM_NAMES`].
    pub term: usize,
    /// ln of the work where the time leaves its floor.
    pub knee: f64,
    /// ln of the floor, ms.
    pub intercept: f64,
    /// Growth of ln time per unit of ln work past the knee.
    pub slope: f64,
}

/// ln(1 + eᵘ), exact to f64 precision for every u.
#[inline]
pub fn softplus(u: f64) -> f64 {
    if u > 36.0 { u } else { u.exp().ln_1p() }
}

impl Calibration {
    /// The prediction for one row of terms ([`super::N_TERMS`] of them).
    #[inline]
    pub fn predict(&self, t: &[f64]) -> f64 {
        self.intercept + self.slope * softplus(t[self.term] - self.knee)
    }

    /// The work term's name.
    pub fn term_name(&self) -> &'static str {
        TERM_NAMES.get(self.term).copied().unwrap_or("?")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::linear::N_TERMS;

    #[test]
    fn floor_below_the_knee_and_the_work_law_above_it() {
        let c = Calibration {
            term: 7,
            knee: 20.0,
            intercept: 0.5,
            slope: 1.0,
        };
        let mut t = [0.0; N_TERMS];
        t[7] = 5.0;
        assert!((c.predict(&t) - 0.5).abs() < 1e-6);
        t[7] = 40.0;
        assert!((c.predict(&t) - 20.5).abs() < 1e-6);
        // Overhead plus work: e^a (1 + w/w₀).
        t[7] = 20.0;
        assert!((c.predict(&t) - (0.5 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(softplus(800.0), 800.0);
        assert!((softplus(-800.0)).abs() < 1e-300);
    }
}
