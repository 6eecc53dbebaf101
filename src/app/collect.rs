//! `qroute collect`: the full-information sweep, then compaction of what it wrote.

use std::sync::atomic::AtomicBool;

use crate::backend::Registry;
use crate::exec::collect::{CollectSpec, CollectSummary, Progress, collect};
use crate::telemetry::TelemetryError;
use crate::telemetry::compact::{CompactOptions, CompactReport, compact};

/// What a sweep recorded, and how its files were merged.
#[derive(Debug)]
pub struct Collected {
    /// The sweep's counts.
    pub summary: CollectSummary,
    /// The compaction after it. A failed one loses nothing: the recorded files stay as
    /// written, and `qroute telemetry compact` merges them later.
    pub compaction: Result<CompactReport, TelemetryError>,
}

/// Runs the sweep of `spec` on `registry` until done or `stop` is set, then merges the files
/// of each date partition of `spec.out` into one (safe beside readers and other writers).
pub fn run(
    spec: &CollectSpec,
    registry: &Registry,
    stop: &AtomicBool,
    progress: impl FnMut(Progress),
) -> crate::Result<Collected> {
    let summary = collect(spec, registry, stop, progress)?;
    let compaction = compact(&spec.out, &CompactOptions::default());
    Ok(Collected {
        summary,
        compaction,
    })
}
