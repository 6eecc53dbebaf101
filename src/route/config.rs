//! The `[router]` section of `qroute.toml`, and the checked [`RouterConfig`] the router takes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Strategy;

/// Most decisions a router may spend on exploration.
pub const MAX_EXPLORE_RATE: f64 = 0.2;

/// `[router]` as written in the file: every key optional. [`RouterSection::check`] turns it
/// into a [`RouterConfig`].
///
/// ```toml
/// [router]
/// strategy = "performance"       # performance (default) | cost | balanced | predictive | adaptive
/// performance_weight = 0.7       # balanced: weight of normalised latency
/// cost_weight = 0.3              # balanced: weight of normalised cost
/// cost_threshold = 0.5           # most a circuit may cost (default: no limit)
/// performance_threshold = 0.99   # least acceptable fidelity (default: none)
/// prediction_horizon = 20        # observations the online correction averages over
/// model_update_frequency = 60    # seconds between checks for a new model set (0: never)
/// telemetry_retention = 1000     # recent decisions kept for statistics
/// budget = 10.0                  # total spend, for the budget-utilisation statistic
/// prediction_cache = 1024        # feature vectors whose predictions are kept (0: none)
/// hedge_factor = 3.0             # give a run up past 3× the top of its 90% interval...
/// hedge_floor_ms = 250           # ...but never before 250 ms
/// max_hedges = 1                 # backends given up per job (0: never hedge)
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSection {
    /// Strategy (read from its lowercase name, so a misspelt one is refused by the parser
    /// with its line and column).
    pub strategy: Option<Strategy>,
    /// Weight of normalised cost in `balanced`.
    pub cost_weight: Option<f64>,
    /// Weight of normalised latency in `balanced`.
    pub performance_weight: Option<f64>,
    /// Most a circuit may cost.
    pub cost_threshold: Option<f64>,
    /// Least acceptable fidelity, in [0, 1].
    pub performance_threshold: Option<f64>,
    /// Span of the online correction's moving average, in observations per backend.
    pub prediction_horizon: Option<u32>,
    /// Seconds between checks for a new model set; 0 never checks.
    pub model_update_frequency: Option<f64>,
    /// Recent decisions and observations kept for statistics.
    pub telemetry_retention: Option<usize>,
    /// `predictive`: least confidence, in [0.5, 1], that the model's choice beats the
    /// rule-based choice before the model overrides it (default 0.5: the rule only when the
    /// model itself expects it to be faster, or outside the training range; replay measured
    /// higher gates as costlier, docs/routing.md).
    pub min_confidence: Option<f64>,
    /// The timeout a run is judged against when ranking by expected time, ms (default
    /// 20,000): a run predicted past it counts as lost, and a lost run (failed or timed out)
    /// costs twice it, the time lost and a rerun (`crate::model::expected`).
    pub risk_penalty_ms: Option<f64>,
    /// `adaptive`: share of decisions that try a near-best alternative, at most 0.2.
    pub explore_rate: Option<f64>,
    /// `adaptive`: an explored alternative is predicted at most this many times slower than
    /// the best.
    pub explore_max_slowdown: Option<f64>,
    /// Seed of exploration.
    pub seed: Option<u64>,
    /// Consecutive failures that open a backend's circuit breaker.
    pub breaker_failures: Option<u32>,
    /// Seconds an open breaker waits before letting one trial through.
    pub breaker_cooldown: Option<f64>,
    /// Most attempts per circuit (the first plus fallbacks).
    pub max_attempts: Option<u32>,
    /// Milliseconds before the first fallback; doubles after each.
    pub retry_backoff_ms: Option<f64>,
    /// Parallel jobs each backend takes (for the expected queue wait).
    pub slots: Option<usize>,
    /// Total the router may spend (reported as budget utilisation).
    pub budget: Option<f64>,
    /// Feature vectors whose model predictions are kept for the next decision about the same
    /// circuit (rounded up to a power of two); 0 keeps none.
    pub prediction_cache: Option<usize>,
    /// A run still going past this many times the upper end of its 90% interval is given up
    /// for the next-best backend of another family (at least 1; default 3).
    pub hedge_factor: Option<f64>,
    /// Nor before this many milliseconds (default 250).
    pub hedge_floor_ms: Option<f64>,
    /// Most backends given up per job; 0 never hedges (default 1, at most 8).
    pub max_hedges: Option<u32>,
}

/// Most entries of the prediction cache (about 1 KiB each).
pub const MAX_PREDICTION_CACHE: usize = 1 << 20;

/// A `[router]` value that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("[router] {key} = {value}: {message}")]
pub struct RouterConfigError {
    /// The key.
    pub key: &'static str,
    /// The value as given.
    pub value: String,
    /// What is wrong.
    pub message: String,
}

/// Checked router settings; [`RouterConfig::default`] is what qroute uses with no file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterConfig {
    /// The default strategy.
    pub strategy: Strategy,
    /// Weight of normalised latency in `balanced` (with `cost_weight`, sums to 1).
    pub performance_weight: f64,
    /// Weight of normalised cost in `balanced`.
    pub cost_weight: f64,
    /// Most a circuit may cost, unless the request says otherwise.
    pub cost_threshold: Option<f64>,
    /// Least acceptable fidelity, unless the request says otherwise.
    pub min_fidelity: Option<f64>,
    /// Span of the online correction's exponential moving average (α = 2 / (span + 1)).
    pub prediction_horizon: u32,
    /// How often a server looks for a new model set (`None`: never).
    pub model_update_frequency: Option<Duration>,
    /// Recent decisions and observations kept for statistics.
    pub telemetry_retention: usize,
    /// `predictive`/`adaptive`: least confidence that the model's choice beats the rule.
    pub min_confidence: f64,
    /// The timeout a run is judged against when ranking by expected time, ms; a lost run
    /// costs twice it.
    pub risk_penalty_ms: f64,
    /// `adaptive`: share of decisions that explore.
    pub explore_rate: f64,
    /// `adaptive`: largest predicted slowdown of an explored alternative.
    pub explore_max_slowdown: f64,
    /// Seed of exploration.
    pub seed: u64,
    /// Consecutive failures that open a circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker waits before a trial.
    pub breaker_cooldown: Duration,
    /// Most attempts per circuit.
    pub max_attempts: u32,
    /// Wait before the first fallback; doubles after each.
    pub retry_backoff: Duration,
    /// Parallel jobs per backend.
    pub slots: usize,
    /// Total the router may spend, for the budget utilisation statistic.
    pub budget: Option<f64>,
    /// Feature vectors whose predictions are kept (0: none).
    pub prediction_cache: usize,
    /// When a run is given up for another backend.
    pub hedge: super::hedge::Hedge,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterSection::default()
            .check()
            .expect("the defaults are valid")
    }
}

fn bad(key: &'static str, value: impl ToString, message: &str) -> RouterConfigError {
    RouterConfigError {
        key,
        value: value.to_string(),
        message: message.to_string(),
    }
}

fn finite_in(key: &'static str, v: f64, lo: f64, hi: f64) -> Result<f64, RouterConfigError> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(v)
    } else {
        Err(bad(key, v, &format!("must be in [{lo}, {hi}]")))
    }
}

fn seconds(key: &'static str, v: f64) -> Result<Duration, RouterConfigError> {
    finite_in(key, v, 0.0, 1e9).map(Duration::from_secs_f64)
}

impl RouterSection {
    /// Checks every value and fills in defaults.
    pub fn check(&self) -> Result<RouterConfig, RouterConfigError> {
        let strategy = self.strategy.unwrap_or(Strategy::Performance);
        let pw = finite_in(
            "performance_weight",
            self.performance_weight.unwrap_or(0.7),
            0.0,
            f64::MAX,
        )?;
        let cw = finite_in(
            "cost_weight",
            self.cost_weight.unwrap_or(0.3),
            0.0,
            f64::MAX,
        )?;
        if pw + cw <= 0.0 {
            return Err(bad(
                "cost_weight",
                cw,
                "cost_weight and performance_weight cannot both be 0",
            ));
        }
        let cost_threshold = self
            .cost_threshold
            .map(|c| finite_in("cost_threshold", c, 0.0, f64::MAX))
            .transpose()?;
        let min_fidelity = self
            .performance_threshold
            .map(|f| finite_in("performance_threshold", f, 0.0, 1.0))
            .transpose()?;
        let horizon = self.prediction_horizon.unwrap_or(20);
        if horizon == 0 {
            return Err(bad("prediction_horizon", 0, "must be at least 1"));
        }
        let update = seconds(
            "model_update_frequency",
            self.model_update_frequency.unwrap_or(0.0),
        )?;
        let retention = self.telemetry_retention.unwrap_or(1000);
        if retention == 0 {
            return Err(bad("telemetry_retention", 0, "must be at least 1"));
        }
        let explore_max_slowdown = self.explore_max_slowdown.unwrap_or(4.0);
        if !(explore_max_slowdown.is_finite() && explore_max_slowdown >= 1.0) {
            return Err(bad(
                "explore_max_slowdown",
                explore_max_slowdown,
                "must be at least 1",
            ));
        }
        let breaker_failures = self.breaker_failures.unwrap_or(3);
        if breaker_failures == 0 {
            return Err(bad("breaker_failures", 0, "must be at least 1"));
        }
        let max_attempts = self.max_attempts.unwrap_or(3);
        if max_attempts == 0 {
            return Err(bad("max_attempts", 0, "must be at least 1"));
        }
        let slots = self.slots.unwrap_or(1);
        if slots == 0 {
            return Err(bad("slots", 0, "must be at least 1"));
        }
        let defaults = super::hedge::Hedge::default();
        let max_hedges = self.max_hedges.unwrap_or(defaults.max);
        if max_hedges > 8 {
            return Err(bad("max_hedges", max_hedges, "must be at most 8"));
        }
        let hedge = super::hedge::Hedge {
            factor: finite_in(
                "hedge_factor",
                self.hedge_factor.unwrap_or(defaults.factor),
                1.0,
                1e6,
            )?,
            floor_ms: finite_in(
                "hedge_floor_ms",
                self.hedge_floor_ms.unwrap_or(defaults.floor_ms),
                0.0,
                1e9,
            )?,
            max: max_hedges,
        };
        let prediction_cache = self.prediction_cache.unwrap_or(1024);
        if prediction_cache > MAX_PREDICTION_CACHE {
            return Err(bad(
                "prediction_cache",
                prediction_cache,
                &format!("must be at most {MAX_PREDICTION_CACHE}"),
            ));
        }
        Ok(RouterConfig {
            strategy,
            performance_weight: pw / (pw + cw),
            cost_weight: cw / (pw + cw),
            cost_threshold,
            min_fidelity,
            prediction_horizon: horizon,
            model_update_frequency: (!update.is_zero()).then_some(update),
            telemetry_retention: retention,
            min_confidence: finite_in(
                "min_confidence",
                self.min_confidence.unwrap_or(0.5),
                0.5,
                1.0,
            )?,
            risk_penalty_ms: finite_in(
                "risk_penalty_ms",
                self.risk_penalty_ms.unwrap_or(20_000.0),
                0.0,
                f64::MAX,
            )?,
            explore_rate: finite_in(
                "explore_rate",
                self.explore_rate.unwrap_or(0.0),
                0.0,
                MAX_EXPLORE_RATE,
            )?,
            explore_max_slowdown,
            seed: self.seed.unwrap_or(0),
            breaker_failures,
            breaker_cooldown: seconds("breaker_cooldown", self.breaker_cooldown.unwrap_or(30.0))?,
            max_attempts,
            retry_backoff: Duration::from_secs_f64(
                finite_in(
                    "retry_backoff_ms",
                    self.retry_backoff_ms.unwrap_or(50.0),
                    0.0,
                    1e7,
                )? / 1e3,
            ),
            slots,
            budget: self
                .budget
                .map(|b| finite_in("budget", b, 0.0, f64::MAX))
                .transpose()?,
            prediction_cache,
            hedge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_normalise_weights() {
        let c = RouterConfig::default();
        assert_eq!(c.strategy, Strategy::Performance);
        assert!((c.performance_weight - 0.7).abs() < 1e-12);
        assert!((c.cost_weight - 0.3).abs() < 1e-12);
        let c = RouterSection {
            cost_weight: Some(1.0),
            performance_weight: Some(3.0),
            ..Default::default()
        }
        .check()
        .unwrap();
        assert!((c.performance_weight - 0.75).abs() < 1e-12);
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = RouterSection {
            performance_threshold: Some(1.5),
            ..Default::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(e.key, "performance_threshold");
        let e = RouterSection {
            explore_rate: Some(0.5),
            ..Default::default()
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("explore_rate = 0.5"), "{e}");
    }
}
