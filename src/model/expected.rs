//! What a run is expected to cost in time, from a prediction: the quantity routing minimises.
//!
//! A prediction is a distribution, not a number: ln(time) is normal around the predicted
//! ln(median) with the prediction's standard deviation, and the run is lost with the
//! predicted risk (the risk model learned failures and timeouts; taking it as independent of
//! the latency's own chance of passing the timeout counts a timeout the risk model already
//! foresaw twice, which errs on the side of caution). A run still going at the timeout is
//! lost too. A lost run costs the
//! timeout and then a rerun elsewhere, counted as a second timeout: so a backend predicted
//! fast but unsure, near the timeout, costs more than a slower one the models are sure of.
//! Measured on telemetry/reference against ranking by the median plus risk × timeout:
//! `docs/models.md`.

/// Standard normal CDF (Abramowitz & Stegun 7.1.26, error < 1.5e-7).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Expected time a run costs, ms: (1 − p) × min(mean time, timeout) + p × 2 × timeout, where
/// the mean time of a log-normal run is `median_ms` × exp(σ²/2) and p, the chance the run is
/// lost, combines `risk` with the chance that the time exceeds `timeout_ms`.
///
/// `log_sd` is σ, the standard deviation of the predicted ln(time); at 0 the time is certain.
pub fn expected_ms(median_ms: f64, log_sd: f64, risk: f64, timeout_ms: f64) -> f64 {
    let risk = if risk.is_nan() {
        0.0
    } else {
        risk.clamp(0.0, 1.0)
    };
    let sd = if log_sd.is_finite() {
        log_sd.max(0.0)
    } else {
        0.0
    };
    let over = if sd > 0.0 {
        // P(time > timeout) = Φ(−z); below 1e-15 past z = 8, which spares most calls the
        // exponential inside Φ (a typical run is far below its timeout).
        let z = (timeout_ms / median_ms).ln() / sd;
        if z > 8.0 { 0.0 } else { normal_cdf(-z) }
    } else if median_ms > timeout_ms {
        1.0
    } else {
        0.0
    };
    let lost = 1.0 - (1.0 - risk) * (1.0 - over);
    let mean = (median_ms * (sd * sd / 2.0).exp()).min(timeout_ms);
    (1.0 - lost) * mean + lost * 2.0 * timeout_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.644_853_626_951_472) - 0.95).abs() < 1e-6);
        assert!((normal_cdf(-1.959_963_984_540_054) - 0.025).abs() < 1e-6);
    }

    #[test]
    fn a_certain_fast_run_costs_its_time() {
        assert_eq!(expected_ms(12.0, 0.0, 0.0, 20_000.0), 12.0);
        // A prediction past the timeout is a lost run: the timeout and a rerun.
        assert_eq!(expected_ms(30_000.0, 0.0, 0.0, 20_000.0), 40_000.0);
        assert_eq!(expected_ms(12.0, 0.0, 1.0, 20_000.0), 40_000.0);
    }

    #[test]
    fn doubt_near_the_timeout_costs_more_than_a_slower_sure_run() {
        // 2 s predicted with σ 1.5 (the forest is unsure: e.g. a family it never saw) against
        // 5 s predicted with σ 0.3.
        let unsure = expected_ms(2_000.0, 1.5, 0.0, 20_000.0);
        let sure = expected_ms(5_000.0, 0.3, 0.0, 20_000.0);
        assert!(unsure > sure, "{unsure} vs {sure}");
        // Far below the timeout, doubt costs only the log-normal mean's exp(σ²/2).
        let small = expected_ms(1.0, 0.5, 0.0, 20_000.0);
        assert!((small - (0.125f64).exp()).abs() < 1e-9, "{small}");
    }

    #[test]
    fn more_risk_or_more_doubt_never_costs_less() {
        let mut last = 0.0;
        for i in 0..=10 {
            let e = expected_ms(500.0, 0.4, i as f64 / 10.0, 20_000.0);
            assert!(e >= last);
            last = e;
        }
        let mut last = 0.0;
        for i in 0..=20 {
            let e = expected_ms(500.0, i as f64 / 5.0, 0.1, 20_000.0);
            assert!(e >= last, "σ {}: {e} < {last}", i as f64 / 5.0);
            last = e;
        }
        assert_eq!(expected_ms(500.0, f64::NAN, f64::NAN, 20_000.0), 500.0);
    }
}
