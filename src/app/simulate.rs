//! `qroute simulate`: one circuit on one backend, with what it measured.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::AppError;
use crate::backend::{BackendOptions, Isolation, Outcome, Precision, Registry, RunSpec};
use crate::circuit::qasm;
use crate::display::human_bytes;
use crate::features::{self, Feature};

/// One run and what it measured.
#[derive(Debug)]
pub struct Simulation {
    /// The circuit file.
    pub file: PathBuf,
    /// Its canonical id.
    pub circuit_id: crate::circuit::CircuitId,
    /// Its qubits.
    pub qubits: f64,
    /// Its operations.
    pub gates: f64,
    /// The backend's name and version.
    pub backend: (String, String),
    /// The run's settings.
    pub spec: RunSpec,
    /// What the run returned.
    pub outcome: Outcome,
    /// Its cost under the backend's price.
    pub cost: f64,
}

/// A run that did not happen or did not finish: the backend refused the circuit, or the run
/// failed. A front end shows it and exits 1; other errors (no such backend, an unreadable
/// file) are the caller's mistakes.
#[derive(Debug, thiserror::Error)]
pub enum RunFailed {
    /// The backend cannot take the circuit.
    #[error(transparent)]
    Ineligible(#[from] crate::backend::Ineligible),
    /// The run failed or timed out.
    #[error(transparent)]
    Failed(#[from] crate::backend::BackendError),
}

/// Runs `file` on the backend `name` of `registry`. The outer error is a mistake in what was
/// asked; the inner one is the run's own failure.
pub fn run(
    registry: &Registry,
    name: &str,
    spec: &RunSpec,
    file: &Path,
) -> crate::Result<Result<Simulation, RunFailed>> {
    let Some(backend) = registry.get(name) else {
        return Err(AppError::UnknownBackend {
            name: name.to_string(),
            configured: registry.names(),
        }
        .into());
    };
    crate::bounds::shots(spec.shots)?;
    crate::bounds::threads(spec.threads)?;
    let circuit = qasm::parse_file(file)?;
    let f = features::extract(&circuit);
    if let Err(e) = backend.check_circuit(&circuit, &f, spec) {
        return Ok(Err(e.into()));
    }
    let outcome = match backend.execute(&circuit, spec) {
        Ok(o) => o,
        Err(e) => return Ok(Err(e.into())),
    };
    let cores = if spec.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        spec.threads
    };
    Ok(Ok(Simulation {
        file: file.to_path_buf(),
        circuit_id: circuit.id(),
        qubits: f[Feature::NumQubits],
        gates: f[Feature::GateCount],
        backend: (backend.name().to_string(), backend.version()),
        cost: backend.price().cost(outcome.wall, cores, spec.shots),
        spec: spec.clone(),
        outcome,
    }))
}

impl Simulation {
    /// The run as text, with the `top` most frequent outcomes.
    pub fn render(&self, top: usize) -> String {
        Shown(self, top).to_string()
    }
}

struct Shown<'a>(&'a Simulation, usize);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, top) = (self.0, self.1);
        let out = &s.outcome;
        writeln!(
            f,
            "circuit      {} ({} qubits, {} gates, id {})",
            s.file.display(),
            s.qubits,
            s.gates,
            s.circuit_id
        )?;
        let engine = out.metadata.get("engine").cloned().unwrap_or_default();
        let engine = if engine.is_empty() {
            String::new()
        } else {
            format!(", engine {engine}")
        };
        writeln!(f, "backend      {} ({}{engine})", s.backend.0, s.backend.1)?;
        writeln!(f, "shots        {} (seed {})", s.spec.shots, s.spec.seed)?;
        writeln!(f, "wall time    {:.3} ms", out.wall.as_secs_f64() * 1e3)?;
        writeln!(f, "cpu time     {:.3} ms", out.cpu.as_secs_f64() * 1e3)?;
        match out.peak_memory {
            Some(m) => writeln!(f, "peak memory  {}", human_bytes(m as f64))?,
            None => writeln!(f, "peak memory  not measured (in-process run)")?,
        }
        let exact = if out.fidelity == 1.0 {
            " (exact)"
        } else {
            " (lower bound)"
        };
        writeln!(f, "fidelity     {}{exact}", out.fidelity)?;
        writeln!(f, "cost         {:.9}", s.cost)?;
        let counts = top_counts(&out.counts);
        writeln!(
            f,
            "counts       top {} of {} outcome(s), classical bit 0 rightmost",
            top.min(counts.len()),
            counts.len()
        )?;
        let total: u64 = out.counts.values().sum();
        for (bits, c) in counts.iter().take(top) {
            let shown = if bits.is_empty() {
                "(no classical bits)"
            } else {
                bits.as_str()
            };
            writeln!(
                f,
                "  {shown}  {c:>8}  {:>6.2}%",
                *c as f64 * 100.0 / total.max(1) as f64
            )?;
        }
        Ok(())
    }
}

/// Outcomes by decreasing count, ties by bitstring.
fn top_counts(counts: &BTreeMap<String, u64>) -> Vec<(&String, u64)> {
    let mut v: Vec<(&String, u64)> = counts.iter().map(|(k, v)| (k, *v)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

/// Run one OpenQASM 2 file on one backend and print the top counts, time, memory and
/// fidelity.
///
/// The run happens in a `qroute executor` child process, so a timeout or an out-of-memory
/// run kills the child, not this command (use --in-process to skip that).
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct SimulateParams {
    /// Backend name (see `qroute backends`).
    #[cfg_attr(feature = "cli", arg(long, short = 'b'))]
    pub backend: String,
    /// Shots to sample.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1024))]
    pub shots: u64,
    /// Seed of the run.
    #[cfg_attr(feature = "cli", arg(long, short = 's', default_value_t = 0))]
    pub seed: u64,
    /// Kill the run after this many seconds.
    #[cfg_attr(feature = "cli", arg(long))]
    pub timeout: Option<f64>,
    /// Threads the simulator may use (0: all cores).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 0))]
    pub threads: usize,
    /// Memory budget in bytes (default: the machine's memory).
    #[cfg_attr(feature = "cli", arg(long))]
    pub memory_budget: Option<u64>,
    /// Floating-point precision, for backends that offer a choice (gpu: f32 by default;
    /// f64 needs an adapter with SHADER_F64).
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub precision: Option<Precision>,
    /// Run inside this process (no timeout, no isolation).
    #[cfg_attr(feature = "cli", arg(long))]
    pub in_process: bool,
    /// How many bitstrings to show.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 10))]
    pub top: usize,
    /// The circuit.
    pub file: PathBuf,
}

impl SimulateParams {
    /// Runs the file as asked over `config`'s backends (see [`run`] for the two errors).
    pub fn run(
        &self,
        config: &crate::config::Config,
    ) -> crate::Result<Result<Simulation, RunFailed>> {
        let isolation = if self.in_process {
            Isolation::InProcess
        } else {
            super::process_isolation()?
        };
        let spec = RunSpec {
            shots: self.shots,
            seed: self.seed,
            memory_budget: self.memory_budget,
            threads: self.threads,
            timeout: self
                .timeout
                .map(|t| super::params::seconds("--timeout", t))
                .transpose()?,
            cutoff: None,
            options: BackendOptions {
                precision: self.precision,
                ..Default::default()
            },
        };
        let registry = config.registry(&isolation)?;
        run(&registry, &self.backend, &spec, &self.file)
    }
}
