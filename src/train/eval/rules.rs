//! Scoring routing rules per circuit against the best backend: the models' choice, fixed
//! rules, and the tally of regret, top-1 and within-10%.

use super::{CvPred, RuleScore, mode_index};
use crate::model::LatencyMode;
use crate::model::expected::expected_ms;
use crate::stats::Slowdowns;
use crate::train::{Dataset, Outcome};

/// The models' choice for circuit `c`: the eligible backend with the least expected time
/// ([`expected_ms`]) against the timeout `timeout_ms`, its σ the larger of the forest's
/// spread and `sigma[c][b]`, as the router ranks.
pub(crate) fn model_choice(
    ds: &Dataset,
    c: usize,
    preds: &[Vec<Option<CvPred>>],
    modes: &[LatencyMode],
    sigma: &[Vec<f64>],
    timeout_ms: f64,
) -> Option<usize> {
    let expected = |b: usize| {
        preds[c][b].map_or(f64::INFINITY, |p| {
            let m = mode_index(modes[b]);
            expected_ms(
                p.log_ms[m].exp(),
                p.spread[m].max(sigma[c][b]),
                p.risk,
                timeout_ms,
            )
        })
    };
    (0..ds.backends.len())
        .filter(|&b| ds.obs[c][b].eligible() && preds[c][b].is_some())
        .min_by(|&a, &b| expected(a).total_cmp(&expected(b)))
}

/// Scores a rule; `each` hears every scored circuit's (circuit, pick, time taken).
pub(super) fn score_rule(
    name: &str,
    ds: &Dataset,
    scored: &[(usize, f64, usize)],
    choice: impl Fn(usize) -> Option<usize>,
    mut each: impl FnMut(usize, Option<usize>, f64),
) -> RuleScore {
    let auto = ds.backends.iter().position(|b| b == "prism-auto");
    let mut tally = Tally::default();
    for &(c, best, best_b) in scored {
        let mut pick = choice(c);
        if pick.is_none_or(|b| ds.obs[c][b].outcome() == Outcome::Ineligible) {
            pick = auto.filter(|&a| ds.obs[c][a].outcome() != Outcome::Ineligible);
        }
        let t = match pick.map(|b| ds.obs[c][b].outcome()) {
            Some(Outcome::Ok(ms)) => ms,
            Some(Outcome::Lost(ms)) => ms + best,
            Some(Outcome::Ineligible) | None => best,
        };
        each(c, pick, t);
        tally.add(pick == Some(best_b), t, best);
    }
    tally.score(name)
}

/// A rule's score, accumulated one circuit at a time.
#[derive(Default)]
pub(crate) struct Tally {
    n: u64,
    top1: u64,
    taken: f64,
    best: f64,
    slow: Slowdowns,
}

impl Tally {
    /// One circuit: whether the rule picked the best backend, the time its pick took and
    /// the best backend's time.
    pub(crate) fn add(&mut self, picked_best: bool, taken: f64, best: f64) {
        self.n += 1;
        self.top1 += u64::from(picked_best);
        self.taken += taken;
        self.best += best;
        self.slow.add(taken, best);
    }

    pub(crate) fn score(&self, name: &str) -> RuleScore {
        let n = self.n.max(1) as f64;
        RuleScore {
            name: name.into(),
            regret: if self.best > 0.0 {
                self.taken / self.best
            } else {
                1.0
            },
            top1: self.top1 as f64 / n,
            within_10pct: self.slow.within_10pct(),
            geo_mean_slowdown: self.slow.geo_mean(),
            over_2x: self.slow.over_2x(),
            over_10x: self.slow.over_10x(),
        }
    }
}
