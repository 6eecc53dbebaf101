//! `qroute::app::session`: circuits given as text or files, routed and run in this process,
//! each report (counts included) returned — what the Python package calls (#33).

use std::path::PathBuf;

use qroute::app::session::{Session, SessionRun, Source};
use qroute::route::Constraints;

fn text(name: &str, body: &str) -> Source {
    Source::Text {
        name: name.into(),
        text: format!("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n{body}"),
    }
}

fn open() -> Session {
    // The shipped model set, found from the crate root as the binary finds it.
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/default");
    Session::open(Some(&model), None, None).expect("session")
}

#[test]
fn issue_33_a_session_runs_text_and_files_and_returns_counts() {
    let s = open();
    let ghz = text(
        "ghz",
        "qreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n",
    );
    let file =
        Source::File(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/demo/bv_20.qasm"));
    let (jobs, warnings) = s.jobs(&[ghz, file]).expect("parse");
    assert!(warnings.is_empty());
    assert_eq!(jobs[0].name, "ghz");
    assert!(jobs[1].name.ends_with("bv_20.qasm"));
    let c = Constraints {
        shots: Some(500),
        ..Constraints::default()
    };
    let batch = s.run(&jobs, &c, &SessionRun::default()).expect("run");
    assert_eq!(batch.reports.len(), 2);
    let ghz = batch.reports[0].outcome.as_ref().expect("ghz ran");
    assert_eq!(ghz.counts.values().sum::<u64>(), 500);
    assert!(ghz.counts.keys().all(|k| k == "000" || k == "111"));
    // Bernstein–Vazirani reads its secret in one shot: a single outcome.
    let bv = batch.reports[1].outcome.as_ref().expect("bv ran");
    assert_eq!(bv.counts.len(), 1);
    // The same seed gives the same counts.
    let again = s.run(&jobs, &c, &SessionRun::default()).expect("run");
    assert_eq!(
        again.reports[0].outcome.as_ref().unwrap().counts,
        ghz.counts
    );
}

#[test]
fn issue_33_a_text_that_does_not_parse_is_named_with_line_and_column() {
    let s = open();
    let err = s
        .jobs(&[text("mine", "qreg q[2];\ncx q[0], q[9];\n")])
        .expect_err("out of range");
    assert!(err.to_string().starts_with("mine:4:"), "{err}");
}

#[test]
fn issue_33_routing_checks_constraints_and_names_refusals() {
    let s = open();
    let (jobs, _) = s.jobs(&[text("one", "qreg q[1];\nh q[0];\n")]).unwrap();
    let bad = Constraints {
        min_fidelity: Some(2.0),
        ..Constraints::default()
    };
    assert!(s.route(&jobs, &bad).is_err());
    let all = s
        .router()
        .registry()
        .iter()
        .map(|b| b.name().to_string())
        .collect();
    let none = Constraints {
        exclude: all,
        ..Constraints::default()
    };
    let routed = s.route(&jobs, &none).expect("checked");
    assert!(routed[0].result.is_err());
    let how = SessionRun {
        threads: 0,
        ..SessionRun::default()
    };
    assert!(s.run(&jobs, &Constraints::default(), &how).is_err());
}

#[test]
fn issue_33_an_executor_that_is_not_a_file_is_refused() {
    let err = Session::open(None, None, Some("/nonexistent/qroute".as_ref())).expect_err("no exe");
    assert!(err.to_string().contains("/nonexistent/qroute"), "{err}");
}
