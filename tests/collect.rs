//! `qroute collect`: a SIGKILL mid-sweep leaves only complete files with complete rows, and a
//! rerun resumes and finishes the sweep without recording any attempt twice; every row carries
//! the host's calibration.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qroute::telemetry::Status;
use qroute::telemetry::reader::{parquet_files, read_dir};

fn small_circuits() -> Vec<PathBuf> {
    common::manifest()
        .into_iter()
        .filter(|r| r.num_qubits <= 10 && r.num_gates <= 400)
        .map(|r| common::corpus_dir().join(r.path))
        .collect()
}

fn collect(files: &[PathBuf], out: &std::path::Path) -> Command {
    let mut cmd = Command::new(common::qroute_exe());
    cmd.arg("collect")
        .args(files)
        .args([
            "--backends",
            "statevector,stabilizer,mps-64,sparse",
            "--repeat",
            "2",
        ])
        .args(["--shots", "64", "--timeout", "30", "--seed", "5", "--out"])
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// #34: the calibration workload takes a positive, finite time, and is measured again only
/// once its period has passed.
#[test]
fn issue_34_the_host_calibration_is_measured_and_kept_for_its_period() {
    use qroute::exec::calibration::HostCalibration;
    let mut c = HostCalibration::new(Duration::from_secs(3600));
    let t = Instant::now();
    let first = c.current();
    let took = t.elapsed();
    assert!(first.is_finite() && first > 0.0, "{first}");
    // It is the workload's own time, not more than what the call took.
    assert!(first <= took.as_secs_f64() * 1e3, "{first} ms in {took:?}");
    let t = Instant::now();
    assert_eq!(c.current(), first);
    assert!(t.elapsed() < took / 10, "a second call measured again");
}

#[test]
fn sigkill_mid_sweep_leaves_complete_files_and_a_rerun_resumes() {
    let files = small_circuits();
    assert!(files.len() >= 100, "{} files", files.len());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("telemetry");
    let mut child = collect(&files, &out).spawn().unwrap();
    // Kill it as soon as a first file has been completed.
    let t0 = Instant::now();
    while parquet_files(&out).map_or(true, |f| f.is_empty()) {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no telemetry file after 120 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "collect ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let after_kill = read_dir(&out).unwrap();
    assert!(
        after_kill.bad_files.is_empty(),
        "{:?}",
        after_kill.bad_files
    );
    assert!(!after_kill.records.is_empty());
    for r in &after_kill.records {
        assert_eq!(r.features.values.len(), qroute::features::NUM_FEATURES);
        // #34: every row of a sweep carries the host's calibration.
        assert!(
            r.host_calibration_ms.is_some_and(|ms| ms > 0.0),
            "{:?}",
            r.host_calibration_ms
        );
        assert!(r.job_id.starts_with(&r.circuit_id));
        if r.status == Status::Ok {
            assert!(
                r.wall_ms.is_some_and(|w| w >= 0.0) && r.cost.is_some(),
                "{r:?}"
            );
        }
    }
    let killed_rows = after_kill.records.len();

    let rerun = collect(&files, &out).output().unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let stdout = String::from_utf8_lossy(&rerun.stdout);
    assert!(
        stdout.contains(&format!("; {killed_rows} already there")),
        "killed with {killed_rows} rows: {stdout}"
    );

    let all = read_dir(&out).unwrap();
    assert!(all.bad_files.is_empty(), "{:?}", all.bad_files);
    // The finished run compacted what both runs wrote: one file per date partition.
    let files = parquet_files(&out).unwrap();
    let partitions: HashSet<_> = files.iter().map(|f| f.parent().unwrap()).collect();
    assert_eq!(files.len(), partitions.len(), "{files:?}");
    assert!(stdout.contains("compacted "), "{stdout}");
    let mut seen = HashSet::new();
    for r in &all.records {
        assert!(seen.insert(r.job_id.clone()), "{} recorded twice", r.job_id);
    }
    // Every (circuit, backend): two attempts, or one that timed out or was refused.
    let mut per_pair: HashMap<(String, String), Vec<Status>> = HashMap::new();
    for r in &all.records {
        per_pair
            .entry((r.circuit_id.clone(), r.backend.clone()))
            .or_default()
            .push(r.status);
    }
    let distinct_circuits: HashSet<&String> = all.records.iter().map(|r| &r.circuit_id).collect();
    assert_eq!(per_pair.len(), distinct_circuits.len() * 4);
    for ((c, b), statuses) in per_pair {
        let stops = statuses
            .iter()
            .any(|s| matches!(s, Status::Timeout | Status::Ineligible));
        assert_eq!(
            statuses.len(),
            if stops { 1 } else { 2 },
            "{c} on {b}: {statuses:?}"
        );
    }
    // Clifford circuits ran on the stabilizer, the others were refused by it.
    assert!(
        all.records
            .iter()
            .any(|r| r.backend == "stabilizer" && r.status == Status::Ok)
    );
    assert!(
        all.records
            .iter()
            .any(|r| r.backend == "stabilizer" && r.status == Status::Ineligible)
    );
    // Every finishing attempt ran twice: the summary says how far the two runs agree.
    let summary = Command::new(common::qroute_exe())
        .args(["telemetry", "summary"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(summary.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("repeatability over "))
        .unwrap_or_else(|| panic!("{text}"));
    let n: usize = line["repeatability over ".len()..]
        .split(' ')
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(n > 0 && n <= distinct_circuits.len(), "{line}");
}

/// A 14-qubit random circuit of depth 40, written into `dir`: about 10 ms on the state
/// vector, 2.5 s on MPS-64 here (bond growth), over a second on any host.
fn long_on_mps(dir: &std::path::Path) -> PathBuf {
    let circuit = dir.join("random_14.qasm");
    let made = Command::new(common::qroute_exe())
        .args(["gen", "random", "-n", "14", "-d", "40", "-s", "3", "-o"])
        .arg(&circuit)
        .output()
        .unwrap();
    assert!(made.status.success());
    circuit
}

/// #34: a (circuit, backend) whose attempt took a second or more gets `--repeat-long`
/// attempts, the others `--repeat`; a rerun keeps to it.
#[test]
fn issue_34_long_runs_are_repeated_repeat_long_times() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = long_on_mps(dir.path());
    let out = dir.path().join("t");
    let sweep = || {
        let done = Command::new(common::qroute_exe())
            .arg("collect")
            .arg(&circuit)
            .args(["--backends", "statevector,mps-64", "--repeat", "3"])
            .args(["--repeat-long", "1", "--calibrate-every", "0", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        String::from_utf8_lossy(&done.stdout).into_owned()
    };
    let said = sweep();
    assert!(said.contains("2 not repeated past --repeat-long"), "{said}");
    let again = sweep();
    assert!(again.contains("recorded 0 attempt(s)"), "{again}");
    let rows = read_dir(&out).unwrap().records;
    let count = |b: &str| rows.iter().filter(|r| r.backend == b).count();
    assert_eq!((count("statevector"), count("mps-64")), (3, 1), "{rows:#?}");
    assert!(rows.iter().all(|r| r.status == Status::Ok));
}

/// Ctrl-C signals the whole process group, the executor of the attempt in flight too: that
/// attempt is not recorded as a failure of the circuit (found in #34's sweep), and a rerun
/// runs it.
#[test]
fn issue_34_ctrl_c_records_no_failure_for_the_attempt_it_killed() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    // In flight in its executor when the signal comes.
    let circuit = long_on_mps(dir.path());
    let out = dir.path().join("t");
    let sweep = || {
        let mut cmd = Command::new(common::qroute_exe());
        cmd.arg("collect")
            .arg(&circuit)
            .args([
                "--backends",
                "mps-64",
                "--repeat",
                "2",
                "--calibrate-every",
                "0",
            ])
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    };
    let child = sweep().process_group(0).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let group = format!("-{}", child.id());
    let killed = Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap();
    assert!(killed.success());
    let done = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&done.stdout);
    assert!(said.contains("interrupted with"), "{said}");
    let rows = read_dir(&out).unwrap().records;
    assert!(
        rows.iter().all(|r| r.status == Status::Ok),
        "{:#?}",
        rows.iter()
            .map(|r| (&r.status, &r.error_message))
            .collect::<Vec<_>>()
    );
    let rerun = sweep().output().unwrap();
    assert!(rerun.status.success());
    let rows = read_dir(&out).unwrap().records;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.status == Status::Ok));
}
