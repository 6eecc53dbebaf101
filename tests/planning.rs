//! The batch planner: assignments are complete and consistent, the objective, deadline and
//! budget are respected, refused jobs are listed, and an executed plan runs every job once.

mod common;

use std::time::Duration;

use common::synthetic::{fixed, fixture, registry, synthetic};
use qroute::circuit::qasm::parse_file;
use qroute::exec::plan::execute;
use qroute::exec::{IsolationPolicy, RunOptions, Runner};
use qroute::model::ModelSet;
use qroute::plan::{Objective, Plan, PlanRequest, Slots, plan};
use qroute::route::Job;
use qroute::route::{Constraints, Router, RouterConfig};
use qroute::telemetry::{TelemetryWriter, WriterOptions, read_dir};

fn demo_jobs(names: &[&str]) -> Vec<Job> {
    names
        .iter()
        .map(|n| {
            let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("datasets/demo")
                .join(n);
            Job::new(*n, parse_file(&p).unwrap())
        })
        .collect()
}

const SMALL: [&str; 8] = [
    "ae_10.qasm",
    "bv_20.qasm",
    "dj_16.qasm",
    "ghz_20.qasm",
    "grover_6.qasm",
    "hhl_5.qasm",
    "qnn_10.qasm",
    "vqe_real_amp_10.qasm",
];

fn request(slots: &str, objective: Objective) -> PlanRequest {
    PlanRequest {
        slots: slots.parse().unwrap(),
        objective,
        deadline: None,
        budget: None,
        constraints: Constraints::default(),
    }
}

/// Every placeable job exactly once; a slot runs one job at a time; the makespan is the
/// last end; the cost is the sum.
fn assert_consistent(p: &Plan, jobs: usize) {
    let mut seen: Vec<usize> = p.assignments.iter().map(|a| a.job).collect();
    seen.extend(p.unplaceable.iter().map(|u| u.0));
    seen.sort();
    assert_eq!(seen, (0..jobs).collect::<Vec<_>>());
    let mut end = 0.0f64;
    for w in p.assignments.windows(2) {
        if (w[0].backend.as_str(), w[0].slot) == (w[1].backend.as_str(), w[1].slot) {
            assert!(
                (w[0].start_ms + w[0].duration_ms - w[1].start_ms).abs() < 1e-9,
                "{w:?}"
            );
        }
    }
    for a in &p.assignments {
        end = end.max(a.start_ms + a.duration_ms);
    }
    assert!((p.makespan_ms - end).abs() < 1e-9);
    let cost: f64 = p.assignments.iter().map(|a| a.cost).sum();
    assert!((p.cost - cost).abs() < 1e-12);
}

#[test]
fn makespan_plans_balance_unequal_backends() {
    // statevector 1 ms, mps-64 3 ms per job: 8 jobs finish at 6 ms at best (6 + 2), each
    // duration the mean of its log-normal prediction (σ 0.1: × exp(0.005)).
    let mean = (0.1f64 * 0.1 / 2.0).exp();
    let m = synthetic(
        &[
            ("statevector", fixed(1.0, 1.0)),
            ("mps-64", fixed(3.0, 1.0)),
        ],
        0.1,
    );
    let r = Router::new(
        m,
        registry(&["statevector", "mps-64"]),
        RouterConfig::default(),
    );
    let jobs = demo_jobs(&SMALL);
    let p = plan(
        &r,
        &jobs,
        &request("statevector=1,mps-64=1", Objective::Makespan),
    )
    .unwrap();
    assert_consistent(&p, jobs.len());
    assert!(
        (p.makespan_ms - 6.0 * mean).abs() < 1e-6,
        "{}",
        p.makespan_ms
    );
    assert_eq!(
        p.assignments
            .iter()
            .filter(|a| a.backend == "mps-64")
            .count(),
        2
    );
    // Two identical slots: 4 jobs each.
    let p = plan(&r, &jobs, &request("statevector=2", Objective::Makespan)).unwrap();
    assert_consistent(&p, jobs.len());
    assert!(
        (p.makespan_ms - 4.0 * mean).abs() < 1e-6,
        "{}",
        p.makespan_ms
    );
}

#[test]
fn cost_plans_respect_deadline_and_budget() {
    // statevector fast and dear, mps-64 slow and cheap.
    let m = synthetic(
        &[
            ("statevector", fixed(1.0, 10.0)),
            ("mps-64", fixed(5.0, 1.0)),
        ],
        0.1,
    );
    let r = Router::new(
        m,
        registry(&["statevector", "mps-64"]),
        RouterConfig::default(),
    );
    let jobs = demo_jobs(&SMALL[..4]);
    let p = plan(
        &r,
        &jobs,
        &request("statevector=1,mps-64=1", Objective::Cost),
    )
    .unwrap();
    assert!(p.assignments.iter().all(|a| a.backend == "mps-64"));
    assert!((p.cost - 4.0).abs() < 1e-6);
    // 12 ms: two jobs on mps-64, two on statevector.
    let mut req = request("statevector=1,mps-64=1", Objective::Cost);
    req.deadline = Some(Duration::from_millis(12));
    let p = plan(&r, &jobs, &req).unwrap();
    assert_consistent(&p, jobs.len());
    assert!(p.meets_deadline && p.makespan_ms <= 12.0);
    assert_eq!(
        p.assignments
            .iter()
            .filter(|a| a.backend == "mps-64")
            .count(),
        2
    );
    // Makespan within a budget of 13: one statevector job at most (10 + 3 × 1).
    let mut req = request("statevector=1,mps-64=1", Objective::Makespan);
    req.budget = Some(13.0);
    let p = plan(&r, &jobs, &req).unwrap();
    assert!(p.within_budget && p.cost <= 13.0 + 1e-9, "{}", p.cost);
    assert_eq!(
        p.assignments
            .iter()
            .filter(|a| a.backend == "statevector")
            .count(),
        1
    );
    assert!(p.why.iter().any(|w| w.contains("budget")), "{:?}", p.why);
    // A budget below the cheapest plan is reported, not hidden.
    req.budget = Some(1.0);
    let p = plan(&r, &jobs, &req).unwrap();
    assert!(!p.within_budget);
}

#[test]
fn refused_jobs_are_listed_and_unknown_slots_refused() {
    let r = Router::new(
        ModelSet::load(&fixture()).unwrap(),
        registry(&["statevector", "stabilizer"]),
        RouterConfig::default(),
    );
    // ghz is Clifford, grover is not: only the first fits a stabilizer-only plan.
    let jobs = demo_jobs(&["ghz_20.qasm", "grover_6.qasm"]);
    let p = plan(&r, &jobs, &request("stabilizer=1", Objective::Makespan)).unwrap();
    assert_consistent(&p, 2);
    assert_eq!(p.assignments.len(), 1);
    let (j, _, why) = &p.unplaceable[0];
    assert_eq!(*j, 1);
    assert!(why[0].reason.contains("non-Clifford"), "{why:?}");
    let err = plan(&r, &jobs, &request("gpu=1", Objective::Makespan)).unwrap_err();
    assert!(err.to_string().contains("unknown backend `gpu`"), "{err}");
    assert!("statevector".parse::<Slots>().is_err());
}

#[test]
fn executed_plans_run_every_job_once_and_compare() {
    let r = Router::new(
        ModelSet::load(&fixture()).unwrap(),
        registry(&["statevector", "mps-64", "stabilizer"]),
        RouterConfig::default(),
    );
    let jobs = demo_jobs(&SMALL);
    let p = plan(
        &r,
        &jobs,
        &request("statevector=2,mps-64=1", Objective::Makespan),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let writer = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
    let opts = RunOptions {
        timeout: Duration::from_secs(30),
        seed: 3,
        run_id: "plan-test".into(),
        isolation: IsolationPolicy::Never,
        baseline: None,
    };
    let runner = Runner::new(&r, None, Some(&writer), opts);
    let x = execute(&p, &jobs, &runner, &Constraints::default()).unwrap();
    writer.close().unwrap();
    let mut ran: Vec<usize> = x.jobs.iter().map(|j| j.job).collect();
    ran.sort();
    assert_eq!(ran, (0..jobs.len()).collect::<Vec<_>>());
    assert_eq!(x.failed, 0);
    for j in &x.jobs {
        let first = &j.report.attempts[0];
        assert_eq!(
            first.backend, j.worker_backend,
            "the first attempt is the worker's: {j:?}"
        );
        assert!(j.report.success().is_some(), "{j:?}");
        assert!(j.end_ms >= j.start_ms);
    }
    assert!(x.actual_makespan_ms > 0.0 && x.actual_cost > 0.0);
    assert_eq!(x.predicted_makespan_ms, p.makespan_ms);
    assert_eq!(read_dir(dir.path()).unwrap().records.len(), jobs.len());
}

/// A plan as text: the objective and totals, then each assignment, the refused jobs and the
/// reasons; times to four significant digits, so the golden file does not depend on the
/// last bits of a float.
fn plan_text(p: &Plan) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "objective {}; makespan {:.4e} ms; cost {:.4e}; meets deadline {}; within budget {}",
        p.objective, p.makespan_ms, p.cost, p.meets_deadline, p.within_budget
    );
    for a in &p.assignments {
        let _ = writeln!(
            s,
            "{} slot {}: job {} {} from {:.4e} ms for {:.4e} ms, cost {:.4e}",
            a.backend, a.slot, a.job, a.name, a.start_ms, a.duration_ms, a.cost
        );
    }
    for (j, name, why) in &p.unplaceable {
        let reasons: Vec<String> = why
            .iter()
            .map(|i| format!("{}: {}", i.backend, i.reason))
            .collect();
        let _ = writeln!(s, "refused: job {j} {name}: {}", reasons.join("; "));
    }
    for w in &p.why {
        let _ = writeln!(s, "why: {w}");
    }
    s
}

#[test]
fn golden_plan_of_the_demo_batch() {
    let r = Router::new(
        ModelSet::load(&fixture()).unwrap(),
        registry(&["statevector", "mps-64", "stabilizer"]),
        RouterConfig::default(),
    );
    let mut names = SMALL.to_vec();
    names.push("cliff_qiskitrand_n30.qasm");
    let jobs = demo_jobs(&names);
    let mut got = String::new();
    for (slots, objective) in [
        ("statevector=2,mps-64=1", Objective::Makespan),
        ("statevector=1,mps-64=1,stabilizer=1", Objective::Cost),
    ] {
        let p = plan(&r, &jobs, &request(slots, objective)).unwrap();
        got += &format!("== {slots}, {objective}\n{}", plan_text(&p));
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/plan.txt");
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let new = path.with_extension("txt.new");
        std::fs::write(&new, &got).unwrap();
        panic!(
            "the plan differs from {}; wrote {} — review the difference and move it over the \
             golden file if the change is intended",
            path.display(),
            new.display()
        );
    }
}

/// #32: `plan --execute` ran a job its slot could not finish on a backend outside the slots.
/// A job killed at its timeout on its only slot now fails there, every attempt on a slot
/// backend, instead of falling back to one the slots did not offer.
#[test]
fn issue_32_an_executed_plan_falls_back_only_to_its_slots() {
    // A 22-qubit Clifford circuit: seconds on a dense state vector, a blink on a tableau.
    let mut src = String::from("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[22]; creg c[22];");
    for layer in 0..20 {
        for i in 0..22 {
            src += &format!(" h q[{i}]; cx q[{i}], q[{}];", (i + 1 + layer % 21) % 22);
        }
    }
    src += " measure q -> c;";
    let jobs = vec![Job::new(
        "clifford-22",
        qroute::circuit::qasm::parse_str(&src).unwrap(),
    )];
    // The models say the state vector takes 1 ms and the tableau 50: the plan puts the job on
    // its one statevector slot.
    let m = synthetic(
        &[
            ("statevector", fixed(1.0, 1.0)),
            ("stabilizer", fixed(50.0, 1.0)),
        ],
        0.05,
    );
    let r = Router::new(
        m,
        registry(&["statevector", "stabilizer"]),
        RouterConfig::default(),
    );
    let p = plan(&r, &jobs, &request("statevector=1", Objective::Makespan)).unwrap();
    assert_eq!(p.assignments.len(), 1);
    let isolated = qroute::config::Config {
        backends: qroute::config::BackendsSection {
            builtin: Some(vec!["statevector".into(), "stabilizer".into()]),
            ..Default::default()
        },
        ..Default::default()
    }
    .registry(&qroute::backend::Isolation::Process {
        exe: common::qroute_exe().into(),
    })
    .unwrap();
    // In an executor process, killed at its 200 ms timeout.
    let opts = RunOptions {
        timeout: Duration::from_millis(200),
        seed: 3,
        run_id: "plan-fallback".into(),
        isolation: IsolationPolicy::Always,
        baseline: None,
    };
    let runner = Runner::new(&r, Some(&isolated), None, opts);
    let x = execute(&p, &jobs, &runner, &Constraints::default()).unwrap();
    let attempts = &x.jobs[0].report.attempts;
    assert!(!attempts.is_empty());
    assert!(
        attempts.iter().all(|a| a.backend == "statevector"),
        "{attempts:?}"
    );
    assert_eq!(x.failed, 1, "{:?}", x.jobs[0].report.error);
}
