//! Ranking the eligible backends under a strategy, the gate that hands an uncertain or
//! out-of-range choice to the rule-based one, and exploration.

use super::Router;
use super::explain::ms;
use crate::features::{Feature, Features};
use crate::model::expected::normal_cdf;
use crate::route::{Estimate, RouterConfig, Strategy};

/// Probability that `a` finishes before `b` when both log latencies are normal.
pub(super) fn p_faster(a: &Estimate, b: &Estimate) -> f64 {
    let sd = (a.log_sd * a.log_sd + b.log_sd * b.log_sd).sqrt();
    let d = b.expected_ms.ln() - a.expected_ms.ln();
    if sd <= 0.0 {
        return if d > 0.0 {
            1.0
        } else if d < 0.0 {
            0.0
        } else {
            0.5
        };
    }
    normal_cdf(d / sd)
}

/// Scores the candidates (lower is better) and sorts them: those meeting the constraints
/// first, then by score.
///
/// Balanced: each of latency and cost as a ratio to the best candidate's, on a log scale,
/// weighted — the weighted geometric mean latency^w_p × cost^w_c, relative. A free
/// backend's cost counts as a millionth of the dearest one's.
pub(super) fn rank(cands: &mut [(usize, Estimate)], strategy: Strategy, cfg: &RouterConfig) {
    let min_t = cands
        .iter()
        .map(|(_, e)| e.expected_ms)
        .fold(f64::INFINITY, f64::min);
    let max_c = cands.iter().map(|(_, e)| e.cost).fold(0.0, f64::max);
    let eps = (max_c * 1e-6).max(f64::MIN_POSITIVE);
    let min_c = cands
        .iter()
        .map(|(_, e)| e.cost + eps)
        .fold(f64::INFINITY, f64::min);
    for (_, e) in cands.iter_mut() {
        let rel_t = (e.expected_ms / min_t).ln();
        e.score = match strategy {
            Strategy::Performance => e.expected_ms,
            // Cost first; among equal costs the faster (a tie-break far below any price).
            Strategy::Cost => e.cost + eps * 1e-6 * rel_t,
            _ => cfg.performance_weight * rel_t + cfg.cost_weight * ((e.cost + eps) / min_c).ln(),
        };
    }
    cands.sort_by(|(_, a), (_, b)| {
        let fa = !(a.meets_deadline && a.within_budget);
        let fb = !(b.meets_deadline && b.within_budget);
        fa.cmp(&fb).then(a.score.total_cmp(&b.score))
    });
}

/// Under `predictive` and `adaptive`, the rule-based choice instead of the ranked best when the
/// best lies outside its model's training range, or the model is less sure than
/// `min_confidence` that it beats the rule's choice (and the rule's choice meets the
/// constraints): its index among `cands` and why.
pub(super) fn gate(
    features: &Features,
    cands: &[(usize, Estimate)],
    strategy: Strategy,
    cfg: &RouterConfig,
) -> Option<(usize, String)> {
    if !matches!(strategy, Strategy::Predictive | Strategy::Adaptive) {
        return None;
    }
    let r = rule_choice(features, cands).filter(|&r| r != 0)?;
    let (best, re) = (&cands[0].1, &cands[r].1);
    if !(re.meets_deadline && re.within_budget) {
        return None;
    }
    let conf = p_faster(best, re);
    if !best.in_domain {
        Some((
            r,
            format!(
                "the circuit lies outside {}'s training range, so the rule-based choice {} is \
                 taken",
                best.backend, re.backend
            ),
        ))
    } else if conf < cfg.min_confidence {
        Some((
            r,
            format!(
                "the model is unsure that {} ({}) beats the rule-based {} ({}): P = {:.2} < \
                 {:.2}, so the rule's choice is taken",
                best.backend,
                ms(best.latency_ms),
                re.backend,
                ms(re.latency_ms),
                conf,
                cfg.min_confidence
            ),
        ))
    } else {
        None
    }
}

impl Router {
    /// Under `adaptive`, with probability `explore_rate`, another candidate within
    /// `explore_max_slowdown` of the pick that meets the constraints, drawn from the router's
    /// seeded generator: its index and why.
    pub(super) fn explore(
        &self,
        cands: &[(usize, Estimate)],
        pick: usize,
    ) -> Option<(usize, String)> {
        if self.config.explore_rate <= 0.0 {
            return None;
        }
        let limit = cands[pick].1.expected_ms * self.config.explore_max_slowdown;
        let near: Vec<usize> = (0..cands.len())
            .filter(|&k| {
                k != pick
                    && cands[k].1.meets_deadline
                    && cands[k].1.within_budget
                    && cands[k].1.expected_ms <= limit
            })
            .collect();
        let mut st = self.lock();
        if near.is_empty() || st.rng.f64() >= self.config.explore_rate {
            return None;
        }
        let k = *st.rng.pick(&near);
        Some((
            k,
            format!(
                "exploring {} (predicted {}, within {}× of the best {}) to keep its \
                 predictions honest",
                cands[k].1.backend,
                ms(cands[k].1.latency_ms),
                self.config.explore_max_slowdown,
                cands[pick].1.backend
            ),
        ))
    }
}

/// The rule-based choice among the candidates: prism-auto's when it is one, else "stabilizer
/// if Clifford, else statevector" (what Qiskit Aer's automatic method does).
fn rule_choice(features: &Features, cands: &[(usize, Estimate)]) -> Option<usize> {
    let find = |n: &str| cands.iter().position(|(_, e)| e.backend == n);
    find("prism-auto").or_else(|| {
        if features[Feature::IsClifford] == 1.0 {
            find("stabilizer").or_else(|| find("statevector"))
        } else {
            find("statevector")
        }
    })
}
