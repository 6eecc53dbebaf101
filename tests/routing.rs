//! The router: eligibility with reasons, each strategy's choice, the confidence gate, online
//! correction, load, seeded exploration, circuit breakers, fallback with telemetry, model
//! swaps and statistics.
//!
//! Strategy tests use synthetic model sets whose predictions are constants chosen here (fitted
//! with the real fitting code on constant targets), so every expected choice follows from the
//! numbers in the test; eligibility tests use the real backends and the frozen v1 models.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use qroute::backend::registry::builtin;
use qroute::backend::{
    Backend, BackendError, BackendKind, CircuitFacts, Fidelity, Ineligible, Isolation, Outcome,
    Registry, RunSpec,
};
use qroute::circuit::Circuit;
use qroute::circuit::qasm::{parse_file, parse_str};
use qroute::config::{Config, default_price};
use qroute::exec::{IsolationPolicy, RunOptions, Runner};
use qroute::features::{Features, extract};
use qroute::model::ModelSet;
use qroute::route::Job;
use qroute::route::{
    Constraints, RemoteLoad, RouteError, Router, RouterConfig, RouterSection, Strategy,
};
use qroute::telemetry::{ExecutionRecord, Status, TelemetryWriter, WriterOptions, read_dir};

use common::synthetic::{Fixed, fixed, fixture, misrouted_clifford, registry, synthetic};

fn router(models: ModelSet, names: &[&str], config: RouterSection) -> Router {
    Router::new(models, registry(names), config.check().unwrap())
}

fn qasm(src: &str) -> (Circuit, Features) {
    let c = parse_str(src).unwrap();
    let f = extract(&c);
    (c, f)
}

/// A small non-Clifford circuit every simulator takes.
fn small() -> (Circuit, Features) {
    qasm(
        "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[3]; creg c[3]; h q[0]; cx q[0], q[1]; t q[1]; cx q[1], q[2]; measure q -> c;",
    )
}

fn with(strategy: Strategy) -> Constraints {
    Constraints {
        strategy: Some(strategy),
        ..Constraints::default()
    }
}

fn reason_of<'a>(ineligible: &'a [Ineligible], backend: &str) -> &'a str {
    &ineligible
        .iter()
        .find(|i| i.backend == backend)
        .unwrap_or_else(|| panic!("{backend} not refused: {ineligible:?}"))
        .reason
}

#[test]
fn eligibility_comes_first_and_says_why() {
    let r = Router::new(
        ModelSet::load(&fixture()).unwrap(),
        registry(&["statevector", "stabilizer", "mps-64", "product"]),
        RouterConfig::default(),
    );
    // 100-qubit Clifford: no dense state vector, and product takes no entangling gate;
    // product has no model in the fixture anyway.
    let c = parse_file(common::corpus_dir().join("clifford/cliff_layered_n100_d10.qasm")).unwrap();
    let rec = r
        .recommend(&extract(&c), &with(Strategy::Performance))
        .unwrap();
    assert!(
        reason_of(&rec.ineligible, "statevector").contains("100 qubits"),
        "{:?}",
        rec.ineligible
    );
    assert!(reason_of(&rec.ineligible, "product").contains("no model"));
    assert!(["stabilizer", "mps-64"].contains(&rec.backend.as_str()));
    // Non-Clifford: the stabilizer refuses with the count.
    let (_, f) = small();
    let rec = r.recommend(&f, &with(Strategy::Performance)).unwrap();
    assert!(reason_of(&rec.ineligible, "stabilizer").contains("1 non-Clifford"));
    // An exact result demanded: an MPS that may truncate is refused.
    let c = parse_file(common::corpus_dir().join("mqtbench/qft_16.qasm")).unwrap();
    let rec = r
        .recommend(
            &extract(&c),
            &Constraints {
                min_fidelity: Some(1.0),
                ..with(Strategy::Performance)
            },
        )
        .unwrap();
    assert!(reason_of(&rec.ineligible, "mps-64").contains("bond dimension"));
    assert_eq!(rec.backend, "statevector");
    // Excluded by the caller.
    let rec = r
        .recommend(
            &f,
            &Constraints {
                exclude: vec!["statevector".into()],
                ..with(Strategy::Performance)
            },
        )
        .unwrap();
    assert_eq!(
        reason_of(&rec.ineligible, "statevector"),
        "excluded by the request"
    );
    // An opaque gate is seen only with the circuit: nothing can run it.
    let (oc, of) =
        qasm("OPENQASM 2.0; include \"qelib1.inc\"; opaque magic q; qreg q[2]; magic q[0];");
    let err = r
        .recommend_circuit(&oc, &of, &Constraints::default())
        .unwrap_err();
    match err {
        RouteError::NoBackend { ineligible } => {
            assert!(reason_of(&ineligible, "statevector").contains("opaque gate `magic`"))
        }
        e => panic!("{e}"),
    }
    // Out-of-range constraints are refused, not clamped.
    let err = r
        .recommend(
            &f,
            &Constraints {
                min_fidelity: Some(2.0),
                ..Constraints::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("min_fidelity"), "{err}");
}

#[test]
fn performance_ranks_by_expected_time_including_risk() {
    let (_, f) = small();
    let names = ["statevector", "mps-64", "sparse"];
    let risky = Fixed {
        ms: 2.0,
        cost: 1.0,
        risk: 0.5,
    };
    let m = synthetic(
        &[
            ("statevector", fixed(10.0, 1.0)),
            ("mps-64", risky),
            ("sparse", fixed(30.0, 1.0)),
        ],
        0.1,
    );
    let rec = router(m, &names, RouterSection::default())
        .recommend(&f, &with(Strategy::Performance))
        .unwrap();
    // mps-64 is fastest but half its runs are lost, each costing twice the 20 s timeout.
    assert_eq!(rec.backend, "statevector", "{}", rec.reason);
    assert!((rec.chosen.latency_ms - 10.0).abs() < 1e-6);
    assert_eq!(
        rec.alternatives
            .iter()
            .map(|a| a.backend.as_str())
            .collect::<Vec<_>>(),
        ["sparse", "mps-64"]
    );
    assert!(rec.confidence > 0.99, "{}", rec.confidence);
    // Without the risk it wins.
    let m = synthetic(
        &[
            ("statevector", fixed(10.0, 1.0)),
            ("mps-64", fixed(2.0, 1.0)),
            ("sparse", fixed(30.0, 1.0)),
        ],
        0.1,
    );
    let rec = router(m, &names, RouterSection::default())
        .recommend(&f, &with(Strategy::Performance))
        .unwrap();
    assert_eq!(rec.backend, "mps-64");
    assert!(
        rec.reason.contains("by expected time") && rec.reason.contains("5.0× below statevector"),
        "{}",
        rec.reason
    );
}

/// Issue 6: most of the models' regret came from unseen circuits sent to a backend predicted
/// fast whose run then timed out. The ranking counts the doubt: a backend whose prediction
/// is unsure may well pass the timeout, and a lost run costs the timeout and a rerun.
#[test]
fn issue_6_a_sure_backend_beats_an_unsure_faster_one_near_the_timeout() {
    let (_, f) = small();
    let names = ["statevector", "mps-64"];
    let models = |unsure: f64| {
        let mut m = synthetic(
            &[
                ("statevector", fixed(5_000.0, 1.0)),
                ("mps-64", fixed(2_000.0, 1.0)),
            ],
            0.1,
        );
        m.backends[1].log_sigma = unsure;
        m
    };
    let pick = |sd: f64| {
        router(models(sd), &names, RouterSection::default())
            .recommend(&f, &with(Strategy::Performance))
            .unwrap()
    };
    // Sure of both: the faster.
    assert_eq!(pick(0.1).backend, "mps-64");
    // σ 1.5 on ln time: 2 s has a 6% chance of passing 20 s, and a mean of 6.2 s.
    let rec = pick(1.5);
    assert_eq!(rec.backend, "statevector", "{}", rec.reason);
    let unsure = &rec.alternatives[0];
    assert_eq!(unsure.backend, "mps-64");
    assert!((unsure.latency_ms - 2_000.0).abs() < 1e-6);
    assert!(unsure.expected_ms > 8_000.0, "{}", unsure.expected_ms);
}

#[test]
fn cost_takes_the_cheapest_that_meets_the_deadline() {
    let (_, f) = small();
    let m = synthetic(
        &[
            ("statevector", fixed(10.0, 5.0)),
            ("mps-64", fixed(100.0, 1.0)),
        ],
        0.1,
    );
    let r = router(m, &["statevector", "mps-64"], RouterSection::default());
    assert_eq!(
        r.recommend(&f, &with(Strategy::Cost)).unwrap().backend,
        "mps-64"
    );
    let rec = r
        .recommend(
            &f,
            &Constraints {
                deadline: Some(Duration::from_millis(50)),
                ..with(Strategy::Cost)
            },
        )
        .unwrap();
    assert_eq!(rec.backend, "statevector");
    assert!(rec.constraints_met);
    assert!(!rec.alternatives[0].meets_deadline);
    // Nothing meets a 1 ms deadline: the best is still chosen, and the reason says so.
    let rec = r
        .recommend(
            &f,
            &Constraints {
                deadline: Some(Duration::from_millis(1)),
                ..with(Strategy::Cost)
            },
        )
        .unwrap();
    assert!(!rec.constraints_met);
    assert!(
        rec.reason
            .starts_with("no backend is predicted to meet the deadline"),
        "{}",
        rec.reason
    );
    // A cost limit works the same way.
    let rec = r
        .recommend(
            &f,
            &Constraints {
                max_cost: Some(0.5),
                ..with(Strategy::Performance)
            },
        )
        .unwrap();
    assert!(!rec.constraints_met);
    assert!(rec.reason.contains("cost limit"), "{}", rec.reason);
}

#[test]
fn balanced_follows_its_weights() {
    let (_, f) = small();
    let m = || {
        synthetic(
            &[
                ("statevector", fixed(10.0, 4.0)),
                ("mps-64", fixed(40.0, 1.0)),
            ],
            0.1,
        )
    };
    let names = ["statevector", "mps-64"];
    // 0.7 × ln 4 against 0.3 × ln 4: latency wins.
    let rec = router(m(), &names, RouterSection::default())
        .recommend(&f, &with(Strategy::Balanced))
        .unwrap();
    assert_eq!(rec.backend, "statevector");
    assert!(
        (rec.chosen.score - 0.3 * 4f64.ln()).abs() < 1e-6,
        "{}",
        rec.chosen.score
    );
    let cheap = RouterSection {
        cost_weight: Some(0.9),
        performance_weight: Some(0.1),
        ..Default::default()
    };
    let rec = router(m(), &names, cheap)
        .recommend(&f, &with(Strategy::Balanced))
        .unwrap();
    assert_eq!(rec.backend, "mps-64");
}

#[test]
fn predictive_takes_the_rule_when_unsure_or_out_of_range() {
    let (_, f) = small();
    let names = ["statevector", "prism-auto"];
    // ln(10/8) / (1.0 · √2) = 0.16: P = 0.56, below a 0.6 gate (the default, 0.5, lets it
    // through).
    let gate = || RouterSection {
        min_confidence: Some(0.6),
        ..Default::default()
    };
    let unsure = synthetic(
        &[
            ("statevector", fixed(8.0, 1.0)),
            ("prism-auto", fixed(10.0, 1.0)),
        ],
        1.0,
    );
    let rec = router(unsure.clone(), &names, gate())
        .recommend(&f, &with(Strategy::Predictive))
        .unwrap();
    assert_eq!(rec.backend, "prism-auto");
    assert!(rec.rule_fallback);
    assert!(rec.reason.contains("unsure"), "{}", rec.reason);
    // Balanced alone, and predictive at the default gate, take the model's choice.
    let r = router(unsure, &names, RouterSection::default());
    for s in [Strategy::Balanced, Strategy::Predictive] {
        assert_eq!(r.recommend(&f, &with(s)).unwrap().backend, "statevector");
    }
    // Ten times faster: P = 0.95, the model's choice stands even at the 0.6 gate.
    let sure = synthetic(
        &[
            ("statevector", fixed(1.0, 1.0)),
            ("prism-auto", fixed(10.0, 1.0)),
        ],
        1.0,
    );
    let rec = router(sure, &names, gate())
        .recommend(&f, &with(Strategy::Predictive))
        .unwrap();
    assert_eq!(rec.backend, "statevector");
    assert!(!rec.rule_fallback);
    // Outside the training range of the model's choice: the rule, and the reason says so.
    let mut out = synthetic(
        &[
            ("statevector", fixed(1.0, 1.0)),
            ("prism-auto", fixed(10.0, 1.0)),
        ],
        1.0,
    );
    out.backends[0].domain_max[qroute::features::Feature::NumQubits as usize] = 2.0;
    let rec = router(out, &names, RouterSection::default())
        .recommend(&f, &with(Strategy::Predictive))
        .unwrap();
    assert_eq!(rec.backend, "prism-auto");
    assert!(rec.reason.contains("training range"), "{}", rec.reason);
    assert!(!rec.alternatives[0].in_domain);
}

fn observed(backend: &str, f: &Features, status: Status, wall_ms: f64) -> ExecutionRecord {
    ExecutionRecord {
        circuit_name: "small".into(),
        shots: 1024,
        wall_ms: Some(wall_ms),
        cost: Some(0.5),
        status,
        strategy: Some("adaptive".into()),
        predicted_ms: Some(1.0),
        ..ExecutionRecord::attempt("test", "test", "c", f.clone(), backend)
    }
}

/// A router whose models say the state vector takes 1 ms and mps-64 3 ms, and the small
/// circuit's features.
fn sv_predicted_faster() -> (Router, Features) {
    let (_, f) = small();
    let m = synthetic(
        &[
            ("statevector", fixed(1.0, 1.0)),
            ("mps-64", fixed(3.0, 1.0)),
        ],
        0.05,
    );
    let r = router(m, &["statevector", "mps-64"], RouterSection::default());
    (r, f)
}

#[test]
fn adaptive_corrects_predictions_from_what_it_observes() {
    let (r, f) = sv_predicted_faster();
    let adaptive = with(Strategy::Adaptive);
    assert_eq!(r.recommend(&f, &adaptive).unwrap().backend, "statevector");
    // statevector keeps taking ten times its prediction.
    for _ in 0..5 {
        r.observe(&observed("statevector", &f, Status::Ok, 10.0));
    }
    let rec = r.recommend(&f, &adaptive).unwrap();
    assert_eq!(rec.backend, "mps-64", "{}", rec.reason);
    let sv = &rec.alternatives[0];
    assert!((sv.latency_ms - 10.0).abs() < 1e-6, "{sv:?}");
    assert!((sv.model_ms - 1.0).abs() < 1e-9);
    // The other strategies use the models as they are.
    assert_eq!(
        r.recommend(&f, &with(Strategy::Performance))
            .unwrap()
            .backend,
        "statevector"
    );
    let stats = r.stats();
    assert!((stats.realtime.load["statevector"].correction - 10.0).abs() < 1e-6);
    assert_eq!(stats.realtime.observed, 5);
    let err = &stats.debug.prediction_error["statevector"];
    assert_eq!(err.n, 5);
    assert!((err.median_ape.unwrap() - 0.9).abs() < 1e-9);
}

/// Issue 31: a run stopped at its cutoff (or timeout) took at least its wall time; that lower
/// bound raises the online correction when it is above it, and only then.
#[test]
fn issue_31_adaptive_learns_from_runs_stopped_at_their_cutoff() {
    let (r, f) = sv_predicted_faster();
    let adaptive = with(Strategy::Adaptive);
    assert_eq!(r.recommend(&f, &adaptive).unwrap().backend, "statevector");
    // Given up at 10 ms: the state vector takes at least ten times its prediction.
    r.observe(&observed("statevector", &f, Status::Hedged, 10.0));
    let rec = r.recommend(&f, &adaptive).unwrap();
    assert_eq!(rec.backend, "mps-64", "{}", rec.reason);
    let correction = |r: &Router| r.stats().realtime.load["statevector"].correction;
    assert!((correction(&r) - 10.0).abs() < 1e-6, "{}", correction(&r));
    // A bound below the corrected prediction says nothing new.
    r.observe(&observed("statevector", &f, Status::Timeout, 2.0));
    assert!((correction(&r) - 10.0).abs() < 1e-6, "{}", correction(&r));
    // A higher bound raises it further.
    r.observe(&observed("statevector", &f, Status::Timeout, 40.0));
    assert!(correction(&r) > 10.0, "{}", correction(&r));
    // And a success below it lowers it, as any success does.
    let before = correction(&r);
    r.observe(&observed("statevector", &f, Status::Ok, 1.0));
    assert!(correction(&r) < before);
}

#[test]
fn adaptive_counts_work_in_flight_as_queue_wait() {
    let (_, f) = small();
    let m = synthetic(
        &[
            ("statevector", fixed(1.0, 1.0)),
            ("mps-64", fixed(1.5, 1.0)),
        ],
        0.05,
    );
    let r = router(m, &["statevector", "mps-64"], RouterSection::default());
    let adaptive = with(Strategy::Adaptive);
    let first = r.recommend(&f, &adaptive).unwrap();
    assert_eq!(first.backend, "statevector");
    let a = r.begin(&first).unwrap();
    let b = r.begin(&first).unwrap();
    let rec = r.recommend(&f, &adaptive).unwrap();
    assert_eq!(rec.backend, "mps-64", "{}", rec.reason);
    assert!((rec.alternatives[0].queue_ms - 2.0).abs() < 1e-6);
    assert_eq!(r.stats().realtime.load["statevector"].in_flight, 2);
    drop(a);
    drop(b);
    assert_eq!(r.recommend(&f, &adaptive).unwrap().backend, "statevector");
    assert_eq!(r.stats().realtime.load["statevector"].in_flight, 0);
}

#[test]
fn adaptive_counts_a_shared_queue_and_skips_backends_no_worker_serves() {
    let (_, f) = small();
    let m = synthetic(
        &[
            ("statevector", fixed(1.0, 1.0)),
            ("mps-64", fixed(1.5, 1.0)),
        ],
        0.05,
    );
    let r = router(m, &["statevector", "mps-64"], RouterSection::default());
    let adaptive = with(Strategy::Adaptive);
    let idle = RemoteLoad {
        backlog: 0,
        pending: 0,
        capacity: 2,
        service_ms: None,
    };
    assert!(r.set_remote_load("statevector", Some(idle)));
    assert!(r.set_remote_load("mps-64", Some(idle)));
    assert!(!r.set_remote_load("nope", Some(idle)));
    assert_eq!(r.recommend(&f, &adaptive).unwrap().backend, "statevector");
    // Eight jobs of 0.5 ms each queued for 2 workers: 2 ms before a new job starts.
    let busy = RemoteLoad {
        backlog: 8,
        pending: 2,
        capacity: 2,
        service_ms: Some(0.5),
    };
    r.set_remote_load("statevector", Some(busy));
    let rec = r.recommend(&f, &adaptive).unwrap();
    assert_eq!(rec.backend, "mps-64", "{}", rec.reason);
    assert!((rec.alternatives[0].queue_ms - 2.0).abs() < 1e-9);
    assert_eq!(r.stats().realtime.load["statevector"].remote, Some(busy));
    // No live worker: refused under every strategy, with the reason.
    r.set_remote_load(
        "mps-64",
        Some(RemoteLoad {
            capacity: 0,
            ..idle
        }),
    );
    let rec = r.recommend(&f, &with(Strategy::Performance)).unwrap();
    assert_eq!(rec.backend, "statevector");
    assert!(
        rec.ineligible
            .iter()
            .any(|i| i.backend == "mps-64" && i.reason.contains("no live worker")),
        "{:?}",
        rec.ineligible
    );
    // Back in-process.
    r.set_remote_load("mps-64", None);
    r.set_remote_load("statevector", None);
    assert_eq!(r.recommend(&f, &adaptive).unwrap().backend, "statevector");
}

#[test]
fn exploration_is_seeded_capped_and_near_the_best() {
    let (_, f) = small();
    let names = ["statevector", "mps-64", "sparse"];
    let models = || {
        synthetic(
            &[
                ("statevector", fixed(1.0, 1.0)),
                ("mps-64", fixed(2.0, 1.0)),
                // Beyond the 4× slowdown limit: never explored.
                ("sparse", fixed(50.0, 1.0)),
            ],
            0.05,
        )
    };
    let cfg = || RouterSection {
        explore_rate: Some(0.2),
        seed: Some(7),
        ..Default::default()
    };
    let choices = |r: &Router| -> Vec<String> {
        (0..500)
            .map(|_| r.recommend(&f, &with(Strategy::Adaptive)).unwrap().backend)
            .collect()
    };
    let a = router(models(), &names, cfg());
    let b = router(models(), &names, cfg());
    let (ca, cb) = (choices(&a), choices(&b));
    assert_eq!(ca, cb, "same seed, same decisions");
    let explored = ca.iter().filter(|c| *c == "mps-64").count();
    assert!(
        (60..=140).contains(&explored),
        "{explored} of 500 explored at rate 0.2"
    );
    assert!(!ca.iter().any(|c| c == "sparse"));
    assert_eq!(a.stats().routing.explorations, explored as u64);
    // The rate is capped.
    let e = RouterSection {
        explore_rate: Some(0.3),
        ..Default::default()
    }
    .check()
    .unwrap_err();
    assert_eq!(e.key, "explore_rate");
}

/// A backend under a real backend's name whose every run fails, or — `refuses` — is refused
/// by its engine when it starts (as the tensor network refuses a contraction peak over its
/// budget).
struct Broken {
    name: &'static str,
    refuses: bool,
}

impl Backend for Broken {
    fn name(&self) -> &str {
        self.name
    }
    fn kind(&self) -> BackendKind {
        BackendKind::Statevector
    }
    fn check(&self, _: &CircuitFacts<'_>, _: &RunSpec) -> Result<Fidelity, Ineligible> {
        Ok(Fidelity::Exact)
    }
    fn execute(&self, _: &Circuit, _: &RunSpec) -> Result<Outcome, BackendError> {
        let backend = self.name.into();
        Err(if self.refuses {
            BackendError::Ineligible(Ineligible {
                backend,
                reason: "peak intermediate over the memory budget".into(),
            })
        } else {
            BackendError::Simulation {
                backend,
                message: "device lost".into(),
            }
        })
    }
}

/// Jobs run in this process, with a 10 s timeout.
fn in_process_options() -> RunOptions {
    RunOptions {
        timeout: Duration::from_secs(10),
        seed: 1,
        run_id: "t".into(),
        isolation: IsolationPolicy::Never,
        baseline: None,
    }
}

#[test]
fn failures_fall_back_open_the_breaker_and_are_recorded() {
    let (c, _) = small();
    let job = Job::new("small", c);
    let m = synthetic(
        &[
            ("statevector", fixed(1.0, 1.0)),
            ("mps-64", fixed(3.0, 1.0)),
        ],
        0.05,
    );
    let reg = Registry::new(vec![
        Arc::new(Broken {
            name: "statevector",
            refuses: false,
        }) as Arc<dyn Backend>,
        builtin("mps-64", default_price()).unwrap(),
    ]);
    let cfg = RouterSection {
        breaker_failures: Some(2),
        // Long enough that the checks below, on a loaded machine, come before it ends.
        breaker_cooldown: Some(1.5),
        retry_backoff_ms: Some(1.0),
        ..Default::default()
    };
    let r = Router::new(m, reg, cfg.check().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let writer = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
    let opts = in_process_options();
    let runner = Runner::new(&r, None, Some(&writer), opts);
    let perf = with(Strategy::Performance);
    for n in 0..2 {
        let rep = runner.run(n, &job, &perf).unwrap();
        let tried = common::tried(&rep);
        assert_eq!(
            tried,
            [("statevector", Status::Failed), ("mps-64", Status::Ok)]
        );
        assert!(rep.outcome.is_some() && rep.error.is_none());
        assert_eq!(rep.recommendation.as_ref().unwrap().backend, "statevector");
    }
    // Two consecutive failures: the breaker is open and says when it will try again.
    let rep = runner.run(2, &job, &perf).unwrap();
    assert_eq!(rep.attempts.len(), 1);
    assert_eq!(rep.attempts[0].backend, "mps-64");
    let rec = rep.recommendation.unwrap();
    assert!(
        reason_of(&rec.ineligible, "statevector").contains("circuit breaker open after 2"),
        "{:?}",
        rec.ineligible
    );
    // After the cooldown one trial goes through; it fails and the breaker reopens.
    std::thread::sleep(Duration::from_millis(1550));
    let rep = runner.run(3, &job, &perf).unwrap();
    assert_eq!(rep.attempts[0].backend, "statevector");
    assert_eq!(r.stats().realtime.load["statevector"].breaker, "open");
    writer.close().unwrap();
    // Every attempt is in telemetry with its routing columns.
    let rows = read_dir(dir.path()).unwrap().records;
    assert_eq!(rows.len(), 2 + 2 + 1 + 2);
    assert!(
        rows.iter()
            .all(|row| row.strategy.as_deref() == Some("performance")
                && row.predicted_ms.is_some()
                && row.model_version.is_some())
    );
    let failed: Vec<_> = rows
        .iter()
        .filter(|row| row.status == Status::Failed)
        .collect();
    assert_eq!(failed.len(), 3);
    assert!(
        failed
            .iter()
            .all(|row| row.error_message.as_deref() == Some("device lost"))
    );
    // Statistics saw all of it.
    let s = r.stats();
    assert_eq!(s.realtime.observed, 7);
    assert_eq!(s.cost.circuits, 4);
    assert!(s.cost.total > 0.0);
    assert_eq!(s.routing.by_strategy["performance"], s.routing.decisions);
}

/// A failure is retried on the next backend after the backoff; a refusal at run time is
/// final for its backend, so the next one starts at once.
#[test]
fn a_refusal_at_run_time_falls_back_without_the_backoff() {
    let (c, _) = small();
    let job = Job::new("small", c);
    let backoff = Duration::from_secs(2);
    for (first, status) in [
        (
            Arc::new(Broken {
                name: "statevector",
                refuses: false,
            }) as Arc<dyn Backend>,
            Status::Failed,
        ),
        (
            Arc::new(Broken {
                name: "statevector",
                refuses: true,
            }) as Arc<dyn Backend>,
            Status::Ineligible,
        ),
    ] {
        let m = synthetic(
            &[
                ("statevector", fixed(1.0, 1.0)),
                ("mps-64", fixed(3.0, 1.0)),
            ],
            0.05,
        );
        let reg = Registry::new(vec![first, builtin("mps-64", default_price()).unwrap()]);
        let cfg = RouterSection {
            retry_backoff_ms: Some(backoff.as_secs_f64() * 1e3),
            ..Default::default()
        };
        let r = Router::new(m, reg, cfg.check().unwrap());
        let opts = in_process_options();
        let started = std::time::Instant::now();
        let rep = Runner::new(&r, None, None, opts)
            .run(0, &job, &with(Strategy::Performance))
            .unwrap();
        let took = started.elapsed();
        let tried = common::tried(&rep);
        assert_eq!(tried, [("statevector", status), ("mps-64", Status::Ok)]);
        if status == Status::Failed {
            assert!(took >= backoff, "{took:?}");
        } else {
            // A 3-qubit circuit on mps-64: milliseconds, with room for a loaded machine.
            assert!(took < backoff / 2, "{took:?}");
        }
    }
}

#[test]
fn jobs_run_isolated_when_asked_and_overhead_is_measured() {
    let (c, _) = small();
    let job = Job::new("small", c);
    let r = Router::new(
        ModelSet::load(&fixture()).unwrap(),
        registry(&["statevector"]),
        RouterConfig::default(),
    );
    let exe = common::qroute_exe();
    let isolated = Config {
        backends: qroute::config::BackendsSection {
            builtin: Some(vec!["statevector".into()]),
            ..Default::default()
        },
        ..Default::default()
    }
    .registry(&Isolation::Process { exe: exe.into() })
    .unwrap();
    for (policy, want) in [
        (IsolationPolicy::Always, true),
        (IsolationPolicy::Never, false),
    ] {
        let opts = RunOptions {
            timeout: Duration::from_secs(10),
            seed: 1,
            run_id: "t".into(),
            isolation: policy,
            baseline: Some("statevector".into()),
        };
        let rep = Runner::new(&r, Some(&isolated), None, opts)
            .run(0, &job, &Constraints::default())
            .unwrap();
        let a = rep.success().unwrap();
        assert_eq!(a.isolated, want);
        assert!(a.overhead_ms >= 0.0 && a.wall_ms.unwrap() > 0.0);
        assert!(rep.baseline_ms.unwrap() > 0.0);
        // Both ways the same seeded run gives the same counts.
        assert_eq!(rep.outcome.unwrap().counts.values().sum::<u64>(), 1024);
    }
}

#[test]
fn model_sets_swap_atomically_and_a_bad_one_is_refused() {
    let (_, f) = small();
    let r = Arc::new(Router::new(
        synthetic(&[("statevector", fixed(1.0, 1.0))], 0.1),
        registry(&["statevector", "mps-64"]),
        RouterConfig::default(),
    ));
    let before = r.model_version();
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("meta.json"), "{ not json").unwrap();
    let err = r.reload_models(bad.path()).unwrap_err();
    assert!(err.to_string().contains("meta.json:1:"), "{err}");
    assert_eq!(r.model_version(), before);
    // mps-64 has no model until the new set arrives; routing goes on meanwhile.
    let rec = r.recommend(&f, &with(Strategy::Performance)).unwrap();
    assert!(reason_of(&rec.ineligible, "mps-64").contains("no model"));
    let routing = {
        let r = r.clone();
        let f = f.clone();
        std::thread::spawn(move || {
            for _ in 0..2000 {
                r.recommend(&f, &with(Strategy::Performance)).unwrap();
            }
        })
    };
    r.reload_models(&fixture()).unwrap();
    routing.join().unwrap();
    assert_ne!(r.model_version(), before);
    let s = r.stats();
    assert_eq!(s.routing.model_swaps, 1);
    assert_eq!(s.routing.models_loaded, 2);
    assert!(
        r.recommend(&f, &with(Strategy::Performance))
            .unwrap()
            .ineligible
            .is_empty()
    );
}

#[test]
fn kept_predictions_give_the_same_decisions_as_fresh_ones() {
    let models = ModelSet::load(&fixture()).unwrap();
    let names = ["statevector", "stabilizer", "mps-64", "prism-auto"];
    let cached = router(models.clone(), &names, RouterSection::default());
    let fresh = router(
        models,
        &names,
        RouterSection {
            prediction_cache: Some(0),
            ..Default::default()
        },
    );
    let circuits: Vec<(Circuit, Features)> = [
        "mqtbench/qft_8.qasm",
        "mqtbench/ghz_12.qasm",
        "mqtbench/qaoa_6.qasm",
        "clifford/cliff_brick1d_n50_d10.qasm",
    ]
    .iter()
    .map(|f| {
        let c = parse_file(common::corpus_dir().join(f)).unwrap();
        let f = extract(&c);
        (c, f)
    })
    .collect();
    for round in 1..=3 {
        for (c, f) in &circuits {
            for s in [
                Strategy::Performance,
                Strategy::Cost,
                Strategy::Balanced,
                Strategy::Predictive,
                Strategy::Adaptive,
            ] {
                let a = cached.recommend_circuit(c, f, &with(s)).unwrap();
                let b = fresh.recommend_circuit(c, f, &with(s)).unwrap();
                assert_eq!(a, b, "{s} round {round}");
            }
            // What adaptive learns is applied to kept predictions as to fresh ones.
            let seen = observed("statevector", f, Status::Ok, 40.0 * round as f64);
            cached.observe(&seen);
            fresh.observe(&seen);
        }
    }
    let kept = cached.stats().routing.prediction_cache;
    assert_eq!(kept.capacity, 1024);
    assert!(kept.misses > 0 && kept.hits > 4 * kept.misses, "{kept:?}");
    let none = fresh.stats().routing.prediction_cache;
    assert_eq!((none.capacity, none.hits), (0, 0));
    // A new model set starts an empty cache.
    cached.reload_models(&fixture()).unwrap();
    assert_eq!(cached.stats().routing.prediction_cache.hits, 0);
}

#[test]
fn router_section_of_qroute_toml_is_checked() {
    let text = "[router]\nstrategy = \"cost\"\ncost_weight = 1\nperformance_weight = 1\nperformance_threshold = 0.9\n";
    let cfg = Config::parse(text, Path::new("qroute.toml")).unwrap();
    let rc = cfg.router.check().unwrap();
    assert_eq!(rc.strategy, Strategy::Cost);
    assert_eq!(rc.cost_weight, 0.5);
    assert_eq!(rc.min_fidelity, Some(0.9));
    let err = Config::parse(
        "[router]\nstrategy = \"cost\"\nspeed = 3\n",
        Path::new("q.toml"),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("q.toml:3:1:"), "{err}");
    // A misspelt strategy is refused where it stands, with the ones that exist.
    let err = Config::parse("[router]\nstrategy = \"fast\"\n", Path::new("q.toml")).unwrap_err();
    let err = err.to_string();
    assert!(err.starts_with("q.toml:2:12:"), "{err}");
    assert!(
        err.contains("`fast`") && err.contains("performance"),
        "{err}"
    );
}

#[test]
fn a_watched_model_directory_is_reloaded_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["meta.json", "model.bin"] {
        std::fs::copy(fixture().join(f), dir.path().join(f)).unwrap();
    }
    let cfg = RouterSection {
        model_update_frequency: Some(0.02),
        ..Default::default()
    };
    let r = Arc::new(router(
        ModelSet::load(dir.path()).unwrap(),
        &["statevector"],
        cfg,
    ));
    let first = r.model_version();
    let watcher = r.watch_models(dir.path().to_path_buf()).unwrap();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let t = std::time::Instant::now();
        while !done() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    // A broken set is refused and reported; the current one stays.
    std::fs::write(dir.path().join("meta.json"), "{").unwrap();
    wait_for("the error", &|| r.stats().routing.model_error.is_some());
    assert_eq!(r.model_version(), first);
    assert!(r.stats().routing.model_error.unwrap().contains("meta.json"));
    // A new valid set is swapped in.
    let mut next = synthetic(&[("statevector", fixed(2.0, 1.0))], 0.1);
    next.save(dir.path()).unwrap();
    wait_for("the swap", &|| r.model_version() != first);
    assert!(r.model_version().starts_with("synthetic:"));
    assert_eq!(r.stats().routing.model_error, None);
    drop(watcher);
    // Without a frequency there is nothing to watch.
    let quiet = Arc::new(router(
        ModelSet::load(&fixture()).unwrap(),
        &["statevector"],
        RouterSection::default(),
    ));
    assert!(quiet.watch_models(fixture()).is_none());
}

/// Issue 31: a run predicted fast that overruns its cutoff is given up and the circuit runs
/// on the next-best backend of another family — killed in an executor process, or left behind
/// on its thread in this one; the given-up attempt is recorded as `hedged` (censored at its
/// cutoff) and the counts are the winner's.
#[test]
fn issue_31_an_overrunning_run_is_given_up_for_another_family() {
    let (src, _, _) = misrouted_clifford();
    let (c, _) = qasm(&src);
    let job = Job::new("clifford-22", c);
    let isolated = Config {
        backends: qroute::config::BackendsSection {
            builtin: Some(vec!["statevector".into(), "stabilizer".into()]),
            ..Default::default()
        },
        ..Default::default()
    }
    .registry(&Isolation::Process {
        exe: common::qroute_exe().into(),
    })
    .unwrap();
    // `always`: the state vector runs in a process, killed at the cutoff. `auto`: predicted at
    // 1 ms it runs here, watched, and is left behind; the tableau after it runs here too.
    for (policy, here) in [
        (IsolationPolicy::Always, false),
        (IsolationPolicy::default(), true),
    ] {
        let (_, m, cfg) = misrouted_clifford();
        let r = Router::new(
            m,
            registry(&["statevector", "stabilizer"]),
            cfg.check().unwrap(),
        );
        let dir = tempfile::tempdir().unwrap();
        let writer = TelemetryWriter::open(dir.path(), WriterOptions::default()).unwrap();
        let opts = RunOptions {
            timeout: Duration::from_secs(120),
            seed: 1,
            run_id: "t".into(),
            isolation: policy,
            baseline: None,
        };
        let started = std::time::Instant::now();
        let rep = Runner::new(&r, Some(&isolated), Some(&writer), opts)
            .run(0, &job, &with(Strategy::Performance))
            .unwrap();
        let took = started.elapsed();
        let tried: Vec<(&str, Status, bool)> = rep
            .attempts
            .iter()
            .map(|a| (a.backend.as_str(), a.status, a.isolated))
            .collect();
        assert_eq!(
            tried,
            [
                ("statevector", Status::Hedged, !here),
                ("stabilizer", Status::Ok, !here)
            ],
            "{policy:?}"
        );
        let given_up = rep.attempts[0].error.as_deref().unwrap();
        assert!(given_up.contains("hedging cutoff of 100 ms"), "{given_up}");
        assert_eq!(
            rep.outcome.as_ref().unwrap().counts.values().sum::<u64>(),
            1024
        );
        assert!(rep.error.is_none(), "{:?}", rep.error);
        // The cutoff plus the tableau's run, not the state vector's seconds (a generous bound
        // for a loaded machine).
        assert!(took < Duration::from_secs(10), "{took:?}");
        writer.close().unwrap();
        let rows = read_dir(dir.path()).unwrap().records;
        let hedged: Vec<_> = rows.iter().filter(|r| r.status == Status::Hedged).collect();
        assert_eq!(hedged.len(), 1);
        assert_eq!(hedged[0].backend, "statevector");
        // Censored at the cutoff: max(1 × the top of the interval, the 100 ms floor).
        assert_eq!(hedged[0].timeout_ms, Some(100.0));
        assert_eq!(hedged[0].wall_ms, Some(100.0));
        // A hedge is not a failure: the state vector's breaker stays closed.
        assert_eq!(r.stats().realtime.load["statevector"].breaker, "closed");
    }
}
