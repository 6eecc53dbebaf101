//! Host speed: puts wall times taken on fast and slow hosts on one scale (#34).
//!
//! A row of telemetry v2 may carry `host_calibration_ms`, the wall time of qroute's fixed
//! calibration workload on its host near the row's time (`exec::calibration`). A time
//! measured where the workload took `c` ms is put on the scale of a reference host, where
//! it took `r` ms, by multiplying it by `r / c`: a host twice as slow doubles both the
//! workload and the job, and the ratio cancels. Training and replay normalise this way
//! before anything else reads a time; a model set records its reference (`r`, the median
//! calibration of its training rows), so its predictions are times on a host of that speed.
//!
//! Rows without a calibration (telemetry v1, `run`, `serve` and the workers, which do not
//! measure) are taken as they are, i.e. as if measured on the reference host.

use super::ExecutionRecord;

/// The reference host speed that times are scaled to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostScale {
    /// The calibration workload's wall time on the reference host, ms.
    reference_ms: f64,
}

impl HostScale {
    /// The scale whose reference is `reference_ms`; `None` unless it is a positive, finite
    /// time.
    pub fn new(reference_ms: f64) -> Option<HostScale> {
        valid(reference_ms).map(|reference_ms| HostScale { reference_ms })
    }

    /// The median calibration of the rows that carry one: the reference a model set trained
    /// on `records` keeps. `None` when no row carries a usable calibration.
    pub fn of(records: &[ExecutionRecord]) -> Option<HostScale> {
        let cal: Vec<f64> = records
            .iter()
            .filter_map(|r| r.host_calibration_ms.and_then(valid))
            .collect();
        crate::stats::median(&cal).and_then(HostScale::new)
    }

    /// The reference's calibration time, ms.
    pub fn reference_ms(&self) -> f64 {
        self.reference_ms
    }

    /// What a time of `record` is multiplied by to be on this scale: the reference's
    /// calibration over the row's, 1 when the row has none.
    pub fn factor(&self, record: &ExecutionRecord) -> f64 {
        record
            .host_calibration_ms
            .and_then(valid)
            .map_or(1.0, |c| self.reference_ms / c)
    }

    /// `record` with its wall, CPU and timeout times put on this scale (its calibration
    /// becomes the reference's, so normalising twice changes nothing).
    pub fn normalise(&self, record: &ExecutionRecord) -> ExecutionRecord {
        let f = self.factor(record);
        let scale = |v: Option<f64>| v.map(|v| v * f);
        ExecutionRecord {
            wall_ms: scale(record.wall_ms),
            cpu_ms: scale(record.cpu_ms),
            timeout_ms: scale(record.timeout_ms),
            host_calibration_ms: record.host_calibration_ms.map(|c| {
                if valid(c).is_some() {
                    self.reference_ms
                } else {
                    c
                }
            }),
            ..record.clone()
        }
    }
}

fn valid(ms: f64) -> Option<f64> {
    (ms.is_finite() && ms > 0.0).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::extract;

    fn row(wall: f64, cal: Option<f64>) -> ExecutionRecord {
        let c = crate::circuit::qasm::parse_str(
            "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\nh q[0];\n",
        )
        .unwrap();
        ExecutionRecord {
            wall_ms: Some(wall),
            timeout_ms: Some(1000.0),
            host_calibration_ms: cal,
            ..ExecutionRecord::attempt("r", "j", c.id().to_string(), extract(&c), "statevector")
        }
    }

    #[test]
    fn a_slow_hosts_times_shrink_to_the_reference() {
        let rows = [
            row(10.0, Some(40.0)),
            row(30.0, Some(120.0)),
            row(5.0, None),
        ];
        let s = HostScale::of(&rows).unwrap();
        assert_eq!(s.reference_ms(), 80.0);
        let slow = s.normalise(&rows[1]);
        assert!((slow.wall_ms.unwrap() - 20.0).abs() < 1e-12);
        assert!((slow.timeout_ms.unwrap() - 1000.0 * 80.0 / 120.0).abs() < 1e-9);
        assert_eq!(
            s.normalise(&slow),
            slow,
            "normalising twice changes nothing"
        );
        assert!((s.normalise(&rows[0]).wall_ms.unwrap() - 20.0).abs() < 1e-12);
        assert_eq!(
            s.normalise(&rows[2]),
            rows[2],
            "no calibration: as measured"
        );
    }

    #[test]
    fn unusable_calibrations_are_ignored() {
        let rows = [
            row(10.0, Some(0.0)),
            row(10.0, Some(f64::NAN)),
            row(1.0, None),
        ];
        assert_eq!(HostScale::of(&rows), None);
        let s = HostScale::new(50.0).unwrap();
        assert_eq!(s.factor(&rows[0]), 1.0);
        assert_eq!(s.factor(&rows[1]), 1.0);
        assert_eq!(HostScale::new(-1.0), None);
    }
}
