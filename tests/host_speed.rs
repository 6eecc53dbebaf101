//! #34: times from two hosts of different speed agree once normalised by each row's host
//! calibration (`qroute::telemetry::HostScale`, what training and replay apply).
//!
//! The "slow host" is this one with a busy loop sharing the one CPU both sweeps are pinned
//! to (`taskset`), so it runs at about half speed. The test is alone in its binary: nothing
//! else of the suite runs beside it, and the sweeps take about two seconds each (a
//! one-second timeout bounds every job).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use qroute::telemetry::{ExecutionRecord, HostScale, Status, read_dir};

/// A busy loop on CPU 0, killed when dropped.
struct Hog(Child);

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pinned(program: &Path) -> Command {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "0"]).arg(program);
    cmd
}

fn sweep(circuits: &Path, out: &Path) {
    let done = pinned(&common::qroute_exe())
        .arg("collect")
        .arg(circuits)
        .args(["--backends", "statevector,mps-64", "--repeat", "3"])
        .args(["--shots", "64", "--seed", "2", "--timeout", "1", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .output()
        .expect("taskset (util-linux) runs qroute collect");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// ln of the median wall time per (circuit, backend), each row scaled by `factor`.
fn ln_times(
    rows: &[ExecutionRecord],
    factor: impl Fn(&ExecutionRecord) -> f64,
) -> BTreeMap<(String, String), f64> {
    let mut by: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == Status::Ok) {
        by.entry((r.circuit_id.clone(), r.backend.clone()))
            .or_default()
            .push(r.wall_ms.unwrap() * factor(r));
    }
    by.into_iter()
        .map(|(k, v)| (k, qroute::stats::median(&v).unwrap().ln()))
        .collect()
}

/// Median over the pairs both have of slow − fast, in ln time.
fn median_gap(
    fast: &BTreeMap<(String, String), f64>,
    slow: &BTreeMap<(String, String), f64>,
) -> f64 {
    let gaps: Vec<f64> = fast
        .iter()
        .filter_map(|(k, f)| slow.get(k).map(|s| s - f))
        .collect();
    assert!(
        gaps.len() >= 4,
        "only {} pair(s) ran on both hosts",
        gaps.len()
    );
    qroute::stats::median(&gaps).unwrap()
}

#[test]
fn issue_34_two_hosts_agree_after_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    let circuits = dir.path().join("circuits");
    std::fs::create_dir(&circuits).unwrap();
    for (kind, n, d) in [
        ("random", "15", "20"),
        ("brickwork", "20", "8"),
        ("qaoa", "16", "3"),
        ("qaoa", "18", "2"),
    ] {
        let made = Command::new(common::qroute_exe())
            .args(["gen", kind, "-n", n, "-d", d, "-s", "3", "-o"])
            .arg(circuits.join(format!("{kind}_{n}.qasm")))
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    let (fast, slow) = (dir.path().join("fast"), dir.path().join("slow"));
    sweep(&circuits, &fast);
    {
        let _hog = Hog(pinned(Path::new("sh"))
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("busy loop"));
        sweep(&circuits, &slow);
    }
    let fast = read_dir(&fast).unwrap().records;
    let slow = read_dir(&slow).unwrap().records;
    let cal = |rows: &[ExecutionRecord]| rows[0].host_calibration_ms.expect("calibrated");
    let (cal_fast, cal_slow) = (cal(&fast), cal(&slow));

    let raw = median_gap(&ln_times(&fast, |_| 1.0), &ln_times(&slow, |_| 1.0));
    assert!(
        raw > 0.4,
        "the busy loop did not slow the second sweep down (ln gap {raw:.2}; calibrations \
         {cal_fast:.1} and {cal_slow:.1} ms): the test proves nothing on this machine"
    );
    let all: Vec<ExecutionRecord> = fast.iter().chain(&slow).cloned().collect();
    let scale = HostScale::of(&all).unwrap();
    let norm = median_gap(
        &ln_times(&fast, |r| scale.factor(r)),
        &ln_times(&slow, |r| scale.factor(r)),
    );
    eprintln!(
        "calibration {cal_fast:.1} -> {cal_slow:.1} ms; median ln gap raw {raw:.3}, \
         normalised {norm:.3}"
    );
    // The busy loop is not a uniform slowdown: the calibration shares the CPU with it alone,
    // the jobs also with the collecting parent, so the jobs' slowdown varies from run to run
    // (raw gaps 0.71-0.91, normalised 0.003-0.226 in eight runs here). Normalisation must take
    // out at least two thirds of the gap and leave no more than 0.3 (#34's run-to-run σ
    // target is 0.2); without it the gap stays above 0.4.
    assert!(
        norm.abs() <= 0.3 && norm.abs() <= raw / 3.0,
        "normalised, the hosts still differ by {norm:.2} in ln time (raw {raw:.2}; \
         calibrations {cal_fast:.1} and {cal_slow:.1} ms)"
    );
}
