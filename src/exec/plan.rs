//! Running a plan: one worker per slot, dynamic rebalancing, predicted against actual.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use super::{JobReport, Runner};
use crate::plan::Plan;
use crate::route::Constraints;
use crate::route::Job;
use crate::telemetry::TelemetryError;

/// One job as it ran.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutedJob {
    /// Index in the batch.
    pub job: usize,
    /// Backend the plan gave it.
    pub planned_backend: String,
    /// Backend whose worker ran it (differs when rebalanced).
    pub worker_backend: String,
    /// Whether a free slot took it from another backend's queue.
    pub rebalanced: bool,
    /// Start, ms from the start of the batch.
    pub start_ms: f64,
    /// Finish, ms from the start of the batch.
    pub end_ms: f64,
    /// What happened.
    pub report: JobReport,
}

/// A plan after it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Executed {
    /// Per job, in finishing order.
    pub jobs: Vec<ExecutedJob>,
    /// Predicted makespan, ms.
    pub predicted_makespan_ms: f64,
    /// Actual makespan (wall clock of the whole batch), ms.
    pub actual_makespan_ms: f64,
    /// Predicted cost.
    pub predicted_cost: f64,
    /// Actual cost of every attempt.
    pub actual_cost: f64,
    /// Jobs moved by rebalancing.
    pub rebalanced: usize,
    /// Jobs that did not succeed.
    pub failed: usize,
}

struct Queues {
    /// Per slot: (job, predicted duration on the slot's backend), in planned order.
    queue: Vec<VecDeque<(usize, f64)>>,
    /// Per slot: predicted time its current job ends, ms from the start.
    busy_until: Vec<f64>,
}

/// Runs `plan` over `jobs`: one worker thread per slot takes its queue in order; a worker
/// with an empty queue takes the last queued job of another slot when it is predicted to
/// finish it sooner than that slot would. Failures fall back through the router as in
/// [`Runner::run`], to the plan's backends only: a job its slots cannot finish fails rather
/// than run on a backend the slots did not offer (#32).
pub fn execute(
    plan: &Plan,
    jobs: &[Job],
    runner: &Runner<'_>,
    constraints: &Constraints,
) -> Result<Executed, TelemetryError> {
    let backends: Vec<&str> = plan.slots.0.iter().map(|(b, _)| b.as_str()).collect();
    let mut constraints = constraints.clone();
    constraints.exclude.extend(
        runner
            .router()
            .registry()
            .iter()
            .map(|b| b.name())
            .filter(|n| !backends.contains(n))
            .map(str::to_string),
    );
    let constraints = &constraints;
    let slots: Vec<(usize, usize)> = plan
        .slots
        .0
        .iter()
        .enumerate()
        .flat_map(|(b, (_, n))| (0..*n).map(move |s| (b, s)))
        .collect();
    let mut queue = vec![VecDeque::new(); slots.len()];
    for a in &plan.assignments {
        let b = backends.iter().position(|n| *n == a.backend);
        if let Some(s) = slots.iter().position(|&x| Some(x.0) == b && x.1 == a.slot) {
            queue[s].push_back((a.job, a.duration_ms));
        }
    }
    let state = Mutex::new(Queues {
        queue,
        busy_until: vec![0.0; slots.len()],
    });
    let done: Mutex<Vec<ExecutedJob>> = Mutex::new(Vec::new());
    let error: Mutex<Option<TelemetryError>> = Mutex::new(None);
    let t0 = Instant::now();
    let ms = || t0.elapsed().as_secs_f64() * 1e3;
    std::thread::scope(|scope| {
        for (me, &(b, _)) in slots.iter().enumerate() {
            let (state, done, error, backends, slots) = (&state, &done, &error, &backends, &slots);
            scope.spawn(move || {
                loop {
                    if error.lock().map(|e| e.is_some()).unwrap_or(true) {
                        return;
                    }
                    let next = {
                        let mut q = state.lock().unwrap_or_else(|p| p.into_inner());
                        take(&mut q, me, b, plan, ms())
                    };
                    let Some((job, from)) = next else {
                        return;
                    };
                    let start = ms();
                    let r = runner.run_on(job, &jobs[job], backends[b], constraints);
                    let end = ms();
                    match r {
                        Ok(report) => {
                            done.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(ExecutedJob {
                                    job,
                                    planned_backend: backends[slots[from].0].to_string(),
                                    worker_backend: backends[b].to_string(),
                                    rebalanced: from != me,
                                    start_ms: start,
                                    end_ms: end,
                                    report,
                                })
                        }
                        Err(e) => {
                            *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut jobs_done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    jobs_done.sort_by(|a, b| a.end_ms.total_cmp(&b.end_ms));
    let actual_cost = jobs_done
        .iter()
        .flat_map(|j| &j.report.attempts)
        .filter_map(|a| a.cost)
        .sum();
    Ok(Executed {
        predicted_makespan_ms: plan.makespan_ms,
        actual_makespan_ms: t0.elapsed().as_secs_f64() * 1e3,
        predicted_cost: plan.cost,
        actual_cost,
        rebalanced: jobs_done.iter().filter(|j| j.rebalanced).count(),
        failed: jobs_done
            .iter()
            .filter(|j| j.report.success().is_none())
            .count(),
        jobs: jobs_done,
    })
}

/// The next job for slot `me` (on backend `b`): its own queue's front, else the best steal.
/// Returns (job, slot it came from).
fn take(q: &mut Queues, me: usize, b: usize, plan: &Plan, now: f64) -> Option<(usize, usize)> {
    if let Some((j, d)) = q.queue[me].pop_front() {
        q.busy_until[me] = now + d;
        return Some((j, me));
    }
    // Steal: the last job of another slot, when it would finish sooner here.
    let mut best: Option<(usize, f64, f64)> = None;
    for (s, queue) in q.queue.iter().enumerate() {
        let Some(&(j, _)) = queue.back() else {
            continue;
        };
        let Some((here, _)) = plan.table[j][b] else {
            continue;
        };
        let there = q.busy_until[s].max(now) + queue.iter().map(|x| x.1).sum::<f64>();
        let gain = there - (now + here);
        if gain > 0.0 && best.is_none_or(|(_, _, g)| gain > g) {
            best = Some((s, here, gain));
        }
    }
    let (s, here, _) = best?;
    let (j, _) = q.queue[s].pop_back()?;
    q.busy_until[me] = now + here;
    Some((j, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Objective, Slots};

    fn plan(table: crate::plan::Table) -> Plan {
        Plan {
            objective: Objective::Makespan,
            assignments: Vec::new(),
            unplaceable: Vec::new(),
            makespan_ms: 0.0,
            cost: 0.0,
            meets_deadline: true,
            within_budget: true,
            why: Vec::new(),
            busy_ms: Default::default(),
            slots: Slots(vec![("a".into(), 1), ("b".into(), 1)]),
            table,
        }
    }

    #[test]
    fn an_idle_slot_takes_the_last_job_only_when_it_finishes_it_sooner() {
        // Three 4 ms jobs queued on slot 0 (backend a); backend b takes them in 5 ms.
        let p = plan(vec![vec![Some((4.0, 1.0)), Some((5.0, 1.0))]; 3]);
        let mut q = Queues {
            queue: vec![
                VecDeque::from([(0, 4.0), (1, 4.0), (2, 4.0)]),
                VecDeque::new(),
            ],
            busy_until: vec![0.0, 0.0],
        };
        assert_eq!(take(&mut q, 0, 0, &p, 0.0), Some((0, 0)));
        // Slot 0 is busy until 4 ms and would finish job 2 at 12 ms; slot 1 at 5 ms.
        assert_eq!(take(&mut q, 1, 1, &p, 0.0), Some((2, 0)));
        // Job 1 would end at 8 ms there, at 5 + 5 = 10 ms here: it stays.
        assert_eq!(take(&mut q, 1, 1, &p, 5.0), None);
        assert_eq!(take(&mut q, 0, 0, &p, 4.0), Some((1, 0)));
        // A job backend b cannot run is never taken.
        let p = plan(vec![vec![Some((4.0, 1.0)), None]; 3]);
        let mut q = Queues {
            queue: vec![VecDeque::from([(0, 4.0), (1, 4.0)]), VecDeque::new()],
            busy_until: vec![0.0, 0.0],
        };
        assert_eq!(take(&mut q, 1, 1, &p, 0.0), None);
    }
}
