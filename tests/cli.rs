//! The `qroute features` and `qroute gen` commands, run as a user would.

mod common;

use std::process::Command;

fn qroute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qroute"))
}

#[test]
fn features_reports_a_bad_file_and_still_prints_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let good = common::corpus_dir().join("mqtbench/ghz_5.qasm");
    let bad = dir.path().join("bad.qasm");
    std::fs::write(
        &bad,
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncx q[0], q[7];\n",
    )
    .unwrap();
    let out = qroute()
        .args(["features", "--format", "csv"])
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "{}:4:12: index 7 is out of range for register `q` of size 2",
            bad.display()
        )),
        "{stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("file,circuit_id,num_qubits,"));
    assert!(lines[1].contains("ghz_5.qasm,"));
}

#[test]
fn features_of_a_directory_without_circuits_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = qroute().arg("features").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no *.qasm files found"), "{err}");
}

#[test]
fn features_walks_directories_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, n) in [("ghz", "3"), ("qft", "4")] {
        let out = qroute()
            .args(["gen", kind, "--qubits", n, "-o"])
            .arg(dir.path().join(format!("{kind}.qasm")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(dir.path().join("notes.txt"), "not a circuit").unwrap();
    let out = qroute()
        .args(["features", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0]["file"].as_str().unwrap().ends_with("ghz.qasm"));
    assert_eq!(rows[0]["schema_version"], 2);
    assert_eq!(rows[0]["features"]["num_qubits"], 3);
    assert_eq!(rows[1]["features"]["gates_2q"], 8); // 6 cp + 2 swaps on 4 qubits
    assert_eq!(rows[0]["circuit_id"].as_str().unwrap().len(), 32);
}

#[test]
fn gen_is_deterministic_and_refuses_nonsense() {
    let run = |args: &[&str]| qroute().args(args).output().unwrap();
    let a = run(&["gen", "random", "-n", "5", "-d", "3", "-s", "9"]);
    let b = run(&["gen", "random", "-n", "5", "-d", "3", "-s", "9"]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert!(String::from_utf8_lossy(&a.stdout).starts_with("OPENQASM 2.0;"));
    let c = run(&["gen", "random", "-n", "5", "-d", "3", "-s", "10"]);
    assert_ne!(a.stdout, c.stdout);

    let e = run(&["gen", "ghz", "-n", "3", "--depth", "2"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("no depth parameter"));
    let e = run(&["gen", "qft", "-n", "0"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("--qubits must be between 1"));
}

#[test]
fn help_explains_every_command() {
    let out = qroute().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in [
        "features", "gen", "route", "run", "plan", "train", "collect",
    ] {
        assert!(help.contains(cmd), "{cmd} missing from {help}");
    }
    let out = qroute().args(["plan", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("--slots") && help.contains("makespan"),
        "{help}"
    );
    let out = qroute().args(["features", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("directories") && help.contains("--format"),
        "{help}"
    );
}

#[test]
fn train_writes_a_loadable_model_set_with_its_report_and_compact_keeps_rows() {
    let reference = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("telemetry/reference");
    let dir = tempfile::tempdir().unwrap();
    // A copy: the reference sweep may be writing beside a test run.
    let tel = dir.path().join("telemetry");
    std::fs::create_dir_all(&tel).unwrap();
    for f in qroute::telemetry::reader::parquet_files(&reference).unwrap() {
        let to = tel.join(f.strip_prefix(&reference).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&f, &to).unwrap();
    }
    let rows = qroute::telemetry::read_dir(&tel).unwrap().records.len();
    let out = dir.path().join("m");
    let run = qroute()
        .args(["train", "--telemetry"])
        .arg(&tel)
        .arg("--out")
        .arg(&out)
        .args([
            "--trees",
            "5",
            "--risk-trees",
            "3",
            "--folds",
            "2",
            "--seed",
            "3",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("leave-family-out: regret"), "{stdout}");
    let set = qroute::model::ModelSet::load(&out).unwrap();
    assert_eq!(set.meta.training.rows as usize, rows);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| rule | regret | geo-mean slowdown | > 2× best | > 10× best | top-1 |"),
        "{report}"
    );
    // A telemetry directory that does not exist is an error naming it.
    let run = qroute()
        .args(["train", "--telemetry", "/nonexistent/tel", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("/nonexistent/tel"));
    // Compaction from the command line keeps every row.
    let run = qroute()
        .args(["telemetry", "compact"])
        .arg(&tel)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(
        qroute::telemetry::read_dir(&tel).unwrap().records.len(),
        rows
    );
}

fn demo(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets/demo")
        .join(name)
}

#[test]
fn route_explains_every_demo_decision_in_json() {
    let out = qroute()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "route",
            "datasets/demo",
            "--format",
            "json",
            "--strategy",
            "performance",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 21);
    for r in all {
        let rec = &r["recommendation"];
        let chosen = &rec["chosen"];
        assert_eq!(rec["backend"], chosen["backend"]);
        assert!(!rec["reason"].as_str().unwrap().is_empty());
        // Performance: nothing eligible is predicted faster than the choice.
        let best = chosen["expected_ms"].as_f64().unwrap();
        for alt in rec["alternatives"].as_array().unwrap() {
            assert!(alt["expected_ms"].as_f64().unwrap() >= best, "{r}");
        }
    }
    // The 100-qubit Clifford circuit cannot go to the state vector, and the output says why.
    let cliff = all
        .iter()
        .find(|r| {
            r["circuit"]
                .as_str()
                .unwrap()
                .ends_with("cliff_layered_n100_d10.qasm")
        })
        .unwrap();
    let refused = cliff["recommendation"]["ineligible"].as_array().unwrap();
    assert!(
        refused.iter().any(|i| i["backend"] == "statevector"
            && i["reason"].as_str().unwrap().contains("100 qubits"))
    );
}

#[test]
fn run_executes_records_and_compares() {
    let dir = tempfile::tempdir().unwrap();
    let out = qroute()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .arg(demo("ghz_20.qasm"))
        .arg(demo("qft_16.qasm"))
        .arg(demo("cliff_qiskitrand_n30.qasm"))
        .arg("--telemetry")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3 of 3 circuit(s) ran"), "{stdout}");
    // The baseline is prism-auto, and its time is labelled a prediction (#32).
    assert!(
        stdout.contains("prism-auto (baseline): predicted"),
        "{stdout}"
    );
    assert!(stdout.contains("as predicted"), "{stdout}");
    let rows = qroute::telemetry::read_dir(dir.path()).unwrap().records;
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.status, qroute::telemetry::Status::Ok);
        // The default strategy, measured best on unseen families (#30).
        assert_eq!(r.strategy.as_deref(), Some("performance"));
        assert!(r.predicted_ms.unwrap() > 0.0 && r.wall_ms.unwrap() > 0.0);
        assert!(r.model_version.as_deref().unwrap().starts_with("default:"));
    }
}

/// #33: `run` returns what ran: counts in `--format json`, one result file per circuit with
/// `--results`, the top outcome in the table; and a binary run outside the checkout routes
/// with the model set compiled into it.
#[test]
fn issue_33_run_returns_counts_and_travels_with_its_model_set() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    // Run from a directory with no models/ in it.
    let out = qroute()
        .current_dir(dir.path())
        .arg("run")
        .arg(demo("ghz_20.qasm"))
        .arg(demo("grover_6.qasm"))
        .args(["--shots", "500", "--format", "json", "--results"])
        .arg(&results)
        .arg("--telemetry")
        .arg(dir.path().join("t"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for job in v["jobs"].as_array().unwrap() {
        let counts = job["outcome"]["counts"].as_object().unwrap();
        let shots: u64 = counts.values().map(|c| c.as_u64().unwrap()).sum();
        assert_eq!(shots, 500, "{job}");
    }
    // GHZ: all zeros or all ones, nothing else, in both the output and the result file.
    let ghz: serde_json::Value =
        serde_json::from_slice(&std::fs::read(results.join("ghz_20.json")).unwrap()).unwrap();
    let keys: Vec<&String> = ghz["outcome"]["counts"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["0".repeat(20).as_str(), "1".repeat(20).as_str()]);
    assert!(results.join("grover_6.json").exists());
    // The table shows the top outcome.
    let out = qroute()
        .current_dir(dir.path())
        .arg("run")
        .arg(demo("ghz_20.qasm"))
        .arg("--telemetry")
        .arg(dir.path().join("t"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("top outcome"), "{stdout}");
    assert!(stdout.contains("model set default:"), "{stdout}");
}

/// #32: `--baseline` runs the batch on that backend too and compares measured times.
#[test]
fn issue_32_run_measures_the_baseline_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        qroute()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("run")
            .arg(demo("ghz_20.qasm"))
            .arg(demo("qft_16.qasm"))
            .arg(demo("grover_6.qasm"))
            .arg("--telemetry")
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--baseline", "prism-auto", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["baseline"]["backend"], "prism-auto");
    let base = v["baseline"]["jobs"].as_array().unwrap();
    assert_eq!(base.len(), 3);
    for j in base {
        let attempts = j["attempts"].as_array().unwrap();
        assert!(!attempts.is_empty(), "{j}");
        assert!(attempts.iter().all(|a| a["backend"] == "prism-auto"), "{j}");
    }
    // Both passes are recorded.
    let rows = qroute::telemetry::read_dir(dir.path()).unwrap().records;
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().filter(|r| r.backend == "prism-auto").count() >= 3);
    let out = run(&["--baseline", "prism-auto"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("prism-auto (baseline, measured):") && stdout.contains("both ran"),
        "{stdout}"
    );
    let out = run(&["--baseline", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend `nope`"));
}

#[test]
fn plan_runs_and_refuses_bad_slots() {
    let out = qroute()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["plan", "datasets/demo", "--slots", "statevector"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected BACKEND=COUNT"));
    let dir = tempfile::tempdir().unwrap();
    let out = qroute()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("plan")
        .arg(demo("ghz_20.qasm"))
        .arg(demo("grover_6.qasm"))
        .arg(demo("hhl_5.qasm"))
        .args([
            "--slots",
            "statevector=2,stabilizer=1",
            "--execute",
            "--json",
            "--telemetry",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["plan"]["assignments"].as_array().unwrap().len(), 3);
    assert_eq!(v["executed"]["failed"], 0);
    assert!(v["executed"]["actual_makespan_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn routing_without_a_model_set_names_the_directory() {
    let out = qroute()
        .args(["route", "--model", "/nonexistent/models"])
        .arg(demo("ghz_20.qasm"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/models"), "{err}");
}

#[test]
fn an_invalid_constraint_is_refused_once_before_any_circuit() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["route", "run", "plan"] {
        let mut c = qroute();
        c.current_dir(env!("CARGO_MANIFEST_DIR")).args([
            cmd,
            "datasets/demo",
            "--min-fidelity",
            "1.5",
        ]);
        match cmd {
            "run" => c.arg("--telemetry").arg(dir.path()),
            "plan" => c.args(["--slots", "statevector=1"]),
            _ => &mut c,
        };
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert_eq!(
            err.matches("invalid constraint min_fidelity = 1.5: must be in [0, 1]")
                .count(),
            1,
            "{cmd}: {err}"
        );
        assert!(out.stdout.is_empty(), "{cmd}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    // `qroute route datasets/demo | head -0`: the reader is gone before the table is written.
    let mut child = qroute()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["route", "datasets/demo"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn replay_refuses_a_model_that_saw_the_traces() {
    let dir = tempfile::tempdir().unwrap();
    let out = qroute()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "replay",
            "--traces",
            "telemetry/reference",
            "--model",
            "models/default",
        ])
        .arg("--out")
        .arg(dir.path().join("exp"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("was trained on famil") && err.contains("--train"),
        "{err}"
    );
    assert!(
        !dir.path().join("exp").exists(),
        "nothing is written on refusal"
    );
}

#[cfg(feature = "server")]
#[test]
fn serve_answers_over_a_real_socket_and_stops_on_sigterm() {
    use std::io::{BufReader, Read};
    let telemetry = tempfile::tempdir().unwrap();
    let mut child = qroute()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["serve", "--addr", "127.0.0.1:0", "--telemetry"])
        .arg(telemetry.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let addr = common::serving_addr(&mut err);
    let http = |method: &str, path: &str, body: &str| common::http(&addr, method, path, body);
    let body = r#"{"qasm":"OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; measure q -> c;"}"#;
    let response = http("POST", "/v1/route", body);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"backend\""), "{response}");
    // A job: accepted, then run by a worker to completion.
    let response = http("POST", "/v1/jobs", body);
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    let json = common::json_body;
    let id = json(&response)["id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let job = loop {
        let v = json(&http("GET", &format!("/v1/jobs/{id}"), ""));
        if v["status"] != "queued" && v["status"] != "running" {
            break v;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{v}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(job["status"], "succeeded", "{job}");
    let counts = job["counts"].as_object().unwrap();
    assert!(counts.keys().all(|k| k == "00" || k == "11"), "{job}");
    // SIGTERM: graceful stop, exit code 0.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap();
    assert!(code.success(), "{code:?}");
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("qroute stopped"), "{rest}");
    // Its attempt was flushed to telemetry on the way out.
    let read = qroute::telemetry::read_dir(telemetry.path()).unwrap();
    assert_eq!(
        read.records.len(),
        job["attempts"].as_array().unwrap().len()
    );
    assert!(
        read.records
            .iter()
            .any(|r| r.status == qroute::telemetry::Status::Ok)
    );
}
