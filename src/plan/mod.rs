//! The batch planner: assign a batch of circuits to backend slots so that the whole batch
//! finishes soonest (makespan) or costs least, within a deadline and a budget.
//!
//! [`plan`] asks the [`Router`] for every (circuit, backend) estimate, then schedules: jobs in
//! decreasing order of their best predicted duration (LPT), each on the slot where it would
//! finish first (`makespan`) or on the cheapest backend that still finishes within the
//! deadline (`cost`), never spending more than the budget minus what the remaining jobs need at
//! least. A few passes of local search then move jobs off the slot that finishes last while
//! that shortens the plan. [`crate::exec::plan::execute`] runs a plan with one worker per slot; a worker whose
//! queue runs dry takes queued work from another backend when that is predicted to finish it
//! sooner (dynamic rebalancing), and the result compares predicted and actual makespan and cost.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::Ineligible;
use crate::route::Job;
use crate::route::{Constraints, RouteError, Router, Strategy};

/// What a plan minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Objective {
    /// When the last job finishes.
    Makespan,
    /// Total cost.
    Cost,
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Objective::Makespan => "makespan",
            Objective::Cost => "cost",
        })
    }
}

/// Backend slots: how many jobs each backend runs at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slots(pub Vec<(String, usize)>);

/// Most slots one backend may have. A slot is a worker thread when a plan is executed, and
/// the scheduler keeps a row per slot: a count from a request is checked against this before
/// anything is allocated for it.
pub const MAX_SLOTS_PER_BACKEND: usize = 1024;

/// Most slots of all backends together.
pub const MAX_SLOTS: usize = 4096;

/// A `--slots` / `"slots"` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SlotsError {
    /// A part is not `BACKEND=COUNT`.
    #[error("`{part}`: expected BACKEND=COUNT")]
    Shape {
        /// The part as written.
        part: String,
    },
    /// A count is not a whole number in range.
    #[error("`{part}`: slot count must be a whole number from 1 to {max}")]
    Count {
        /// The part as written.
        part: String,
        /// The largest count accepted.
        max: usize,
    },
    /// A backend is named twice.
    #[error("backend `{name}` is given twice")]
    Repeated {
        /// Its name.
        name: String,
    },
    /// More slots than [`MAX_SLOTS`] together.
    #[error("{total} slots in all; at most {MAX_SLOTS} are accepted")]
    TooMany {
        /// The sum of the counts read so far.
        total: usize,
    },
    /// Nothing given.
    #[error("no slots given (e.g. statevector=2,mps-64=1)")]
    Empty,
}

impl FromStr for Slots {
    type Err = SlotsError;

    /// `statevector=2,mps-64=1`.
    fn from_str(s: &str) -> Result<Slots, SlotsError> {
        let mut out: Vec<(String, usize)> = Vec::new();
        let mut total = 0usize;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, n) = part.split_once('=').ok_or_else(|| SlotsError::Shape {
                part: crate::display::clip(part, 64),
            })?;
            let count = || SlotsError::Count {
                part: crate::display::clip(part, 64),
                max: MAX_SLOTS_PER_BACKEND,
            };
            // Parsed as a u64 so that a huge number is "out of range", not "not a number".
            let n: u64 = n.trim().parse().map_err(|_| count())?;
            if n == 0 || n > MAX_SLOTS_PER_BACKEND as u64 {
                return Err(count());
            }
            let n = n as usize;
            let name = name.trim();
            if name.is_empty() {
                return Err(SlotsError::Shape {
                    part: crate::display::clip(part, 64),
                });
            }
            if out.iter().any(|(b, _)| b == name) {
                return Err(SlotsError::Repeated {
                    name: crate::display::clip(name, 64),
                });
            }
            total += n;
            if total > MAX_SLOTS {
                return Err(SlotsError::TooMany { total });
            }
            out.push((name.to_string(), n));
        }
        if out.is_empty() {
            return Err(SlotsError::Empty);
        }
        Ok(Slots(out))
    }
}

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// Backends and their slots.
    pub slots: Slots,
    /// What to minimise.
    pub objective: Objective,
    /// When the whole batch must be done, from the start.
    pub deadline: Option<Duration>,
    /// Most the whole batch may cost.
    pub budget: Option<f64>,
    /// Per-circuit constraints (shots, fidelity, memory); their strategy is ignored.
    pub constraints: Constraints,
}

/// One job's place in a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// Index of the job in the batch.
    pub job: usize,
    /// Its name.
    pub name: String,
    /// Backend.
    pub backend: String,
    /// Slot of that backend, from 0.
    pub slot: usize,
    /// Predicted start, ms from the start of the batch.
    pub start_ms: f64,
    /// Predicted duration, ms: the run's expected time, in which a run that fails or passes
    /// the timeout costs the timeout and a rerun ([`crate::route::Estimate::expected_ms`]).
    pub duration_ms: f64,
    /// Predicted cost.
    pub cost: f64,
}

/// A batch plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// What it minimises.
    pub objective: Objective,
    /// Assignments, by backend, slot and start.
    pub assignments: Vec<Assignment>,
    /// Jobs no planned backend can take, with every backend's reason.
    pub unplaceable: Vec<(usize, String, Vec<Ineligible>)>,
    /// Predicted time until the last job finishes, ms.
    pub makespan_ms: f64,
    /// Predicted total cost.
    pub cost: f64,
    /// Whether the makespan is within the deadline (true without one).
    pub meets_deadline: bool,
    /// Whether the cost is within the budget (true without one).
    pub within_budget: bool,
    /// How the plan came about, line by line.
    pub why: Vec<String>,
    /// Predicted busy time per backend, ms.
    pub busy_ms: BTreeMap<String, f64>,
    /// Slot backends, in request order, with their slot counts.
    pub slots: Slots,
    /// For each job of the batch, (duration, cost) on each slot backend (`None`: refused);
    /// what rebalancing reads.
    #[serde(skip)]
    pub(crate) table: Table,
}

/// A plan that cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A slot names a backend the router does not have.
    #[error("unknown backend `{name}` in the slots (configured: {known})")]
    UnknownBackend {
        /// The name.
        name: String,
        /// Names that exist.
        known: String,
    },
    /// The router refused a request.
    #[error(transparent)]
    Route(#[from] RouteError),
}

/// Predicted (duration, cost) of every job on every slot backend (`None`: refused).
pub(crate) type Table = Vec<Vec<Option<(f64, f64)>>>;

/// Plans a batch. See the module docs for the method.
pub fn plan(router: &Router, jobs: &[Job], req: &PlanRequest) -> Result<Plan, PlanError> {
    // Slots name backends as the user wrote them (`aer` for `external:aer`); the plan names
    // each by its full name, which is what routing and execution use.
    let mut canonical = Vec::with_capacity(req.slots.0.len());
    for (n, k) in &req.slots.0 {
        let Some(b) = router.registry().get(n) else {
            return Err(PlanError::UnknownBackend {
                name: n.to_string(),
                known: router.registry().names(),
            });
        };
        canonical.push((b.name().to_string(), *k));
    }
    let req = &PlanRequest {
        slots: Slots(canonical),
        ..req.clone()
    };
    let names: Vec<&str> = req.slots.0.iter().map(|(n, _)| n.as_str()).collect();
    let mut c = req.constraints.clone();
    c.strategy = Some(Strategy::Performance);
    c.deadline = None;
    c.exclude = router
        .registry()
        .iter()
        .map(|b| b.name().to_string())
        .filter(|b| !names.contains(&b.as_str()))
        .collect();
    let mut full: Table = vec![vec![None; names.len()]; jobs.len()];
    let mut table: Table = Vec::with_capacity(jobs.len());
    let mut unplaceable = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        let mut row = vec![None; names.len()];
        match router.estimates(&job.circuit, &job.features, &c) {
            Ok((ests, _)) => {
                for e in ests {
                    if let Some(k) = names.iter().position(|n| *n == e.backend) {
                        row[k] = Some((e.expected_ms, e.cost));
                    }
                }
            }
            Err(RouteError::NoBackend { ineligible }) => {
                unplaceable.push((
                    j,
                    job.name.clone(),
                    ineligible
                        .into_iter()
                        .filter(|i| names.contains(&i.backend.as_str()))
                        .collect(),
                ));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        full[j] = row.clone();
        table.push(row);
    }
    let mut refused = vec![false; jobs.len()];
    for (u, _, _) in &unplaceable {
        refused[*u] = true;
    }
    let placeable: Vec<usize> = (0..jobs.len()).filter(|&j| !refused[j]).collect();
    let slots: Vec<(usize, usize)> = req
        .slots
        .0
        .iter()
        .enumerate()
        .flat_map(|(b, (_, n))| (0..*n).map(move |s| (b, s)))
        .collect();
    let deadline_ms = req.deadline.map(|d| d.as_secs_f64() * 1e3);
    let mut why = Vec::new();
    let assign = schedule(
        &table,
        &slots,
        req.objective,
        deadline_ms,
        req.budget,
        &mut why,
    );
    let mut assign = assign;
    if req.objective == Objective::Makespan {
        let moves = improve(&table, &slots, &mut assign, req.budget);
        if moves > 0 {
            why.push(format!(
                "local search made {moves} move(s) or swap(s) off the slot that finished last"
            ));
        }
    }
    // Lay out start times in slot order.
    let mut assignments = Vec::new();
    let mut free = vec![0.0f64; slots.len()];
    let mut busy: BTreeMap<String, f64> = BTreeMap::new();
    let mut cost = 0.0;
    for (row, &s) in assign.iter().enumerate() {
        let j = placeable[row];
        let (b, slot) = slots[s];
        let (d, c) = table[row][b].expect("assigned where eligible");
        assignments.push(Assignment {
            job: j,
            name: jobs[j].name.clone(),
            backend: names[b].to_string(),
            slot,
            start_ms: free[s],
            duration_ms: d,
            cost: c,
        });
        free[s] += d;
        cost += c;
        *busy.entry(names[b].to_string()).or_default() += d;
    }
    assignments.sort_by(|a, b| {
        (a.backend.as_str(), a.slot)
            .cmp(&(b.backend.as_str(), b.slot))
            .then(a.start_ms.total_cmp(&b.start_ms))
    });
    let makespan_ms = free.iter().copied().fold(0.0, f64::max);
    let meets_deadline = deadline_ms.is_none_or(|d| makespan_ms <= d);
    let within_budget = req.budget.is_none_or(|b| cost <= b);
    if !meets_deadline {
        why.push("no assignment is predicted to meet the deadline".into());
    }
    if !within_budget {
        why.push("even the cheapest backend for every job exceeds the budget".into());
    }
    Ok(Plan {
        objective: req.objective,
        assignments,
        unplaceable,
        makespan_ms,
        cost,
        meets_deadline,
        within_budget,
        why,
        busy_ms: busy,
        slots: req.slots.clone(),
        table: full,
    })
}

/// Greedy list scheduling: jobs by decreasing best duration; returns each job's slot.
fn schedule(
    table: &Table,
    slots: &[(usize, usize)],
    objective: Objective,
    deadline_ms: Option<f64>,
    budget: Option<f64>,
    why: &mut Vec<String>,
) -> Vec<usize> {
    let best = |row: &[Option<(f64, f64)>], f: fn(&(f64, f64)) -> f64| {
        row.iter().flatten().map(f).fold(f64::INFINITY, f64::min)
    };
    let mut order: Vec<usize> = (0..table.len()).collect();
    order.sort_by(|&a, &b| best(&table[b], |x| x.0).total_cmp(&best(&table[a], |x| x.0)));
    // What the jobs not yet placed need at least, for the budget.
    let mut reserve: f64 = table.iter().map(|r| best(r, |x| x.1)).sum();
    let mut spent = 0.0;
    let mut free = vec![0.0f64; slots.len()];
    let mut out = vec![usize::MAX; table.len()];
    let mut budget_bound = 0;
    for &j in &order {
        reserve -= best(&table[j], |x| x.1);
        let affordable = |c: f64| budget.is_none_or(|b| spent + c + reserve <= b + 1e-12);
        let options: Vec<(usize, f64, f64)> = slots
            .iter()
            .enumerate()
            .filter_map(|(s, &(b, _))| table[j][b].map(|(d, c)| (s, free[s] + d, c)))
            .collect();
        let within: Vec<&(usize, f64, f64)> = options.iter().filter(|o| affordable(o.2)).collect();
        let pool: Vec<&(usize, f64, f64)> = if within.is_empty() {
            budget_bound += 1;
            // Nothing affordable: the cheapest.
            let min_c = options.iter().map(|o| o.2).fold(f64::INFINITY, f64::min);
            options.iter().filter(|o| o.2 <= min_c).collect()
        } else {
            if within.len() < options.len() {
                budget_bound += 1;
            }
            within
        };
        let pick = match objective {
            Objective::Makespan => pool.iter().min_by(|a, b| a.1.total_cmp(&b.1)),
            Objective::Cost => {
                let on_time: Vec<&&(usize, f64, f64)> = pool
                    .iter()
                    .filter(|o| deadline_ms.is_none_or(|d| o.1 <= d))
                    .collect();
                if on_time.is_empty() {
                    pool.iter().min_by(|a, b| a.1.total_cmp(&b.1))
                } else {
                    on_time
                        .into_iter()
                        .min_by(|a, b| a.2.total_cmp(&b.2).then(a.1.total_cmp(&b.1)))
                }
            }
        }
        .expect("a placeable job has an eligible slot");
        out[j] = pick.0;
        free[pick.0] = pick.1;
        spent += pick.2;
    }
    why.push(match objective {
        Objective::Makespan => format!(
            "{} job(s) in decreasing order of predicted duration (LPT), each on the slot where it \
             finishes first",
            table.len()
        ),
        Objective::Cost => format!(
            "{} job(s) in decreasing order of predicted duration, each on the cheapest backend \
             that finishes it {}",
            table.len(),
            if deadline_ms.is_some() {
                "within the deadline (else the earliest finish)"
            } else {
                "(no deadline)"
            }
        ),
    });
    if budget_bound > 0 {
        why.push(format!(
            "the budget ruled out the faster choice for {budget_bound} job(s)"
        ));
    }
    out
}

/// Local search on the makespan: moves a job off the slot that finishes last, or swaps it
/// with a job of another slot, while that lowers the makespan and stays within the budget.
/// Returns the number of changes.
fn improve(
    table: &Table,
    slots: &[(usize, usize)],
    assign: &mut [usize],
    budget: Option<f64>,
) -> usize {
    let dur = |j: usize, s: usize| table[j][slots[s].0].map(|x| x.0);
    let cost = |j: usize, s: usize| table[j][slots[s].0].map_or(0.0, |x| x.1);
    let mut load = vec![0.0f64; slots.len()];
    let mut total = 0.0;
    for (j, &s) in assign.iter().enumerate() {
        load[s] += dur(j, s).unwrap_or(0.0);
        total += cost(j, s);
    }
    let mut changes = 0;
    for _ in 0..(table.len() * 4).min(400) {
        let mut order: Vec<usize> = (0..slots.len()).collect();
        order.sort_by(|&a, &b| load[b].total_cmp(&load[a]));
        let worst = order[0];
        let span = load[worst];
        let max_other = |a: usize, b: usize| {
            order
                .iter()
                .find(|&&k| k != a && k != b)
                .map_or(0.0, |&k| load[k])
        };
        // (new span, job on worst, target slot, job swapped back or none)
        let mut best: Option<(f64, usize, usize, Option<usize>)> = None;
        let mut consider = |cand: (f64, usize, usize, Option<usize>), dcost: f64| {
            if cand.0 < span - 1e-9
                && budget.is_none_or(|b| total + dcost <= b + 1e-12)
                && best.is_none_or(|b| cand.0 < b.0)
            {
                best = Some(cand);
            }
        };
        for j in (0..assign.len()).filter(|&j| assign[j] == worst) {
            let here = dur(j, worst).unwrap_or(0.0);
            for s in (0..slots.len()).filter(|&s| s != worst) {
                let Some(there) = dur(j, s) else { continue };
                let rest = max_other(worst, s);
                let moved = (span - here).max(load[s] + there).max(rest);
                consider((moved, j, s, None), cost(j, s) - cost(j, worst));
                for k in (0..assign.len()).filter(|&k| assign[k] == s) {
                    let (Some(k_here), Some(k_there)) = (dur(k, s), dur(k, worst)) else {
                        continue;
                    };
                    let swapped = (span - here + k_there)
                        .max(load[s] - k_here + there)
                        .max(rest);
                    let dcost = cost(j, s) - cost(j, worst) + cost(k, worst) - cost(k, s);
                    consider((swapped, j, s, Some(k)), dcost);
                }
            }
        }
        let Some((_, j, s, k)) = best else { break };
        let apply = |job: usize, from: usize, to: usize, assign: &mut [usize], load: &mut [f64]| {
            load[from] -= dur(job, from).unwrap_or(0.0);
            load[to] += dur(job, to).unwrap_or(0.0);
            assign[job] = to;
        };
        total += cost(j, s) - cost(j, worst);
        apply(j, worst, s, assign, &mut load);
        if let Some(k) = k {
            total += cost(k, worst) - cost(k, s);
            apply(k, s, worst, assign, &mut load);
        }
        changes += 1;
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_parse_and_refuse_bad_input() {
        let s: Slots = "statevector=2, mps-64=1".parse().unwrap();
        assert_eq!(s.0, [("statevector".into(), 2), ("mps-64".into(), 1)]);
        let err = |s: &str| s.parse::<Slots>().unwrap_err().to_string();
        assert!(err("statevector").contains("BACKEND=COUNT"));
        assert!(err("=2").contains("BACKEND=COUNT"));
        assert!(err("a=0").contains("from 1 to 1024"));
        assert!(err("a=1,a=2").contains("twice"));
        // Counts are bounded before anything is allocated for them (#28).
        assert!(err("statevector=99999999999").contains("from 1 to 1024"));
        assert!(err("statevector=99999999999999999999999").contains("from 1 to 1024"));
        let many: Vec<String> = (0..5).map(|i| format!("b{i}=1000")).collect();
        assert!(err(&many.join(",")).contains("at most 4096"));
    }

    fn table(durations: &[&[f64]]) -> Table {
        durations
            .iter()
            .map(|r| r.iter().map(|&d| (d > 0.0).then_some((d, d))).collect())
            .collect()
    }

    #[test]
    fn lpt_then_local_search_balances_identical_slots() {
        // Two identical slots, jobs 7 5 4 3 3 (sum 22).
        let t = table(&[&[3.0], &[7.0], &[4.0], &[5.0], &[3.0]]);
        let slots = [(0, 0), (0, 1)];
        let span = |a: &[usize]| {
            let mut l = [0.0; 2];
            for (j, &s) in a.iter().enumerate() {
                l[s] += t[j][0].unwrap().0;
            }
            l[0].max(l[1])
        };
        let mut a = schedule(&t, &slots, Objective::Makespan, None, None, &mut Vec::new());
        // LPT alone: 7+3 / 5+4+3 = 12; a swap of 4 and 3 reaches the optimum 11.
        assert_eq!(span(&a), 12.0);
        assert_eq!(improve(&t, &slots, &mut a, None), 1);
        assert_eq!(span(&a), 11.0);
    }

    #[test]
    fn cost_objective_takes_cheap_backends_unless_the_deadline_forbids() {
        // Backend 0 is fast and dear (cost = 10 × duration), backend 1 slow and cheap.
        let t: Table = vec![vec![Some((1.0, 10.0)), Some((5.0, 1.0))]; 3];
        let slots = [(0, 0), (1, 0)];
        let a = schedule(&t, &slots, Objective::Cost, None, None, &mut Vec::new());
        assert!(a.iter().all(|&s| s == 1));
        // 12 ms allows two jobs on the slow backend; the third goes to the fast one.
        let a = schedule(
            &t,
            &slots,
            Objective::Cost,
            Some(12.0),
            None,
            &mut Vec::new(),
        );
        assert_eq!(a.iter().filter(|&&s| s == 1).count(), 2);
        // Makespan within a budget of 12: one fast job at most.
        let a = schedule(
            &t,
            &slots,
            Objective::Makespan,
            None,
            Some(12.0),
            &mut Vec::new(),
        );
        assert_eq!(a.iter().filter(|&&s| s == 0).count(), 1);
    }
}
