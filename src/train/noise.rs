//! How far the telemetry agrees with itself: the ceiling that measurement noise puts on any
//! model scored against it.
//!
//! A circuit's time on a backend is the median of its repeated runs, and the runs of one
//! (circuit, backend) pair differ: on a shared machine the host's speed drifts between
//! sessions and minutes. Scoring routing against such times rewards luck as much as
//! foresight, so an evaluation reports, next to the models' numbers, two references that use
//! no model at all:
//!
//! - **run vs run**: choose each circuit's backend by one run's times, score the choice on
//!   another run (both ways round); and per backend, the median APE of one run's time as a
//!   prediction of the other's. This is what exact knowledge of an earlier measurement buys.
//! - **true means (simulated)**: take each pair's mean ln time as its true value and the
//!   noise as log-normal with the spread the run pairs show; draw the runs again, score as
//!   the evaluation does (median of the runs), and let a perfect model pick by the true
//!   means. The taken means are themselves noisy, so backends look further apart than they
//!   are and this ceiling is, if anything, too high.

use super::eval::Tally;
use super::{Dataset, Outcome, median};
use crate::model::ModelError;
use crate::rng::Rng;
use crate::telemetry::{ExecutionRecord, HostScale};

/// Replicates of the simulated re-measurement.
const DRAWS: usize = 25;

use crate::model::evaluation::NORMAL_MEDIAN_ABS;
pub use crate::model::evaluation::Repeatability;

/// The repeatability of every circuit in `records`, their times normalised by host speed
/// ([`HostScale`]; successes below `min_fidelity` do not count as successes; `seed` drives
/// the simulated re-measurement).
pub fn of_records(
    records: &[ExecutionRecord],
    min_fidelity: f64,
    seed: u64,
) -> Result<Option<Repeatability>, ModelError> {
    let ds = Dataset::from_records(records, min_fidelity, HostScale::of(records))?;
    let all: Vec<usize> = (0..ds.circuits.len()).collect();
    Ok(repeatability(&ds, &all, seed))
}

fn argmin(v: &[f64]) -> usize {
    (0..v.len())
        .min_by(|&a, &b| v[a].total_cmp(&v[b]))
        .unwrap_or(0)
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u = 1.0 - rng.f64();
    let v = rng.f64();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The repeatability of `circuits`' measurements; `None` when no scored circuit has two runs
/// on every backend that succeeded.
pub(crate) fn repeatability(ds: &Dataset, circuits: &[usize], seed: u64) -> Option<Repeatability> {
    // Per backend, APE of each run of a pair against the other.
    let mut ape: Vec<Vec<f64>> = vec![Vec::new(); ds.backends.len()];
    let mut log_gaps = Vec::new();
    for &c in circuits {
        for (b, o) in ds.obs[c].iter().enumerate() {
            let runs: Vec<f64> = o.ok_ms.iter().chain(&o.approx_ms).copied().collect();
            if let [x, y, ..] = runs[..]
                && x > 0.0
                && y > 0.0
            {
                ape[b].push((x - y).abs() / y);
                ape[b].push((x - y).abs() / x);
                log_gaps.push((x.ln() - y.ln()).abs());
            }
        }
    }
    // Circuits to score: the successes of every backend, each with two runs or more.
    let mut sets: Vec<Vec<&[f64]>> = Vec::new();
    for &c in circuits {
        let ok: Vec<&[f64]> = ds.obs[c]
            .iter()
            .filter(|o| matches!(o.outcome(), Outcome::Ok(_)))
            .map(|o| o.ok_ms.as_slice())
            .collect();
        if !ok.is_empty()
            && ok
                .iter()
                .all(|r| r.len() >= 2 && r.iter().all(|&t| t > 0.0))
        {
            sets.push(ok);
        }
    }
    if sets.is_empty() || log_gaps.is_empty() {
        return None;
    }
    let sigma = median(&log_gaps) / (NORMAL_MEDIAN_ABS * std::f64::consts::SQRT_2);

    let mut run_vs_run = Tally::default();
    for runs in &sets {
        let a: Vec<f64> = runs.iter().map(|r| r[0]).collect();
        let b: Vec<f64> = runs.iter().map(|r| r[1]).collect();
        for (choose, score) in [(&a, &b), (&b, &a)] {
            let (pick, best) = (argmin(choose), argmin(score));
            run_vs_run.add(pick == best, score[pick], score[best]);
        }
    }

    let mut rng = Rng::new(seed);
    let mut true_means = Tally::default();
    let mut draws = Vec::new();
    let mut true_ape = Vec::new();
    for runs in &sets {
        let mu: Vec<f64> = runs
            .iter()
            .map(|r| r.iter().map(|t| t.ln()).sum::<f64>() / r.len() as f64)
            .collect();
        let pick = argmin(&mu);
        for _ in 0..DRAWS {
            let t: Vec<f64> = mu
                .iter()
                .zip(runs)
                .map(|(m, r)| {
                    draws.clear();
                    draws.extend((0..r.len()).map(|_| (m + sigma * normal(&mut rng)).exp()));
                    median(&draws)
                })
                .collect();
            let best = argmin(&t);
            true_means.add(pick == best, t[pick], t[best]);
            true_ape.extend(mu.iter().zip(&t).map(|(m, t)| (m.exp() - t).abs() / t));
        }
    }

    Some(Repeatability {
        circuits: sets.len() as u64,
        sigma_ln: sigma,
        run_vs_run: run_vs_run.score("choose by one run, score on another"),
        true_means: true_means.score("perfect model of the mean times (simulated)"),
        true_means_median_ape: median(&true_ape),
        median_ape: ds
            .backends
            .iter()
            .zip(&ape)
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, v)| (name.clone(), median(v)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{Circuit, Obs};

    fn dataset(times: &[[[f64; 2]; 2]]) -> Dataset {
        Dataset {
            circuits: (0..times.len())
                .map(|i| Circuit {
                    id: format!("c{i}"),
                    name: format!("c{i}"),
                    family: "f".into(),
                    x: Vec::new(),
                    first_ts_us: 0,
                    shots: 0,
                })
                .collect(),
            backends: vec!["a".into(), "b".into()],
            obs: times
                .iter()
                .map(|per_backend| {
                    per_backend
                        .iter()
                        .map(|runs| Obs {
                            attempts: 2,
                            ok_ms: runs.to_vec(),
                            ..Obs::default()
                        })
                        .collect()
                })
                .collect(),
            rows: 0,
            fingerprint: String::new(),
            unmodelled: Vec::new(),
            scale: None,
        }
    }

    #[test]
    fn runs_that_repeat_exactly_leave_nothing_to_chance() {
        let ds = dataset(&[[[1.0, 1.0], [2.0, 2.0]], [[5.0, 5.0], [3.0, 3.0]]]);
        let r = repeatability(&ds, &[0, 1], 7).unwrap();
        assert_eq!(r.circuits, 2);
        assert_eq!(r.sigma_ln, 0.0);
        for s in [&r.run_vs_run, &r.true_means] {
            assert_eq!((s.top1, s.within_10pct, s.regret), (1.0, 1.0, 1.0), "{s:?}");
        }
        assert_eq!(r.median_ape["a"], 0.0);
        assert_eq!(r.true_means_median_ape, 0.0);
    }

    #[test]
    fn runs_that_disagree_on_the_fastest_backend_score_below_one() {
        // Run 1 says a is faster, run 2 says b: choosing by either run is wrong on the other.
        let ds = dataset(&[[[1.0, 4.0], [2.0, 2.0]]]);
        let r = repeatability(&ds, &[0], 7).unwrap();
        assert_eq!(r.run_vs_run.top1, 0.0);
        // Run 1 picks a, which took 4 in run 2 (best 2); run 2 picks b, 2 in run 1 (best 1).
        assert!((r.run_vs_run.regret - 6.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.median_ape["a"], (3.0 + 0.75) / 2.0);
        assert!(r.sigma_ln > 0.0);
        assert!(r.true_means.top1 < 1.0 && r.true_means.top1 > 0.0);
        assert!(r.true_means_median_ape > 0.0);
    }

    #[test]
    fn circuits_without_a_second_run_are_not_scored() {
        let mut ds = dataset(&[[[1.0, 1.1], [2.0, 2.2]]]);
        ds.obs[0][1].ok_ms.truncate(1);
        assert_eq!(repeatability(&ds, &[0], 7).map(|r| r.circuits), None);
    }
}
