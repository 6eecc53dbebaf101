//! The executor protocol: JSON lines over a child's stdin and stdout.
//!
//! Spoken by `qroute executor` and by every external plugin; `docs/executor-protocol.md` is
//! the reference. One request per line, one response line per request, in order.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use std::time::Duration;

use super::{BackendError, BackendOptions, Capabilities, Ineligible, Outcome, Price, RunSpec};
use crate::circuit::Circuit;
use crate::circuit::qasm::to_qasm;

/// Protocol version; `describe` answers carry it and the parent refuses another major version.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest response line the parent accepts, in bytes (a larger one is an error).
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// A request from the parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Ask what the executor is.
    Describe,
    /// Run one circuit.
    Run(RunRequest),
    /// Exit cleanly.
    Shutdown,
}

/// A `run` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    /// Job id, echoed in the response.
    pub id: u64,
    /// Which backend (for `qroute executor`, which serves every built-in one; plugins that
    /// serve one backend may ignore it).
    #[serde(default)]
    pub backend: String,
    /// The circuit as OpenQASM 2.0.
    pub qasm: String,
    /// Shots.
    pub shots: u64,
    /// Seed.
    pub seed: u64,
    /// Threads (0: the executor's default).
    #[serde(default)]
    pub threads: usize,
    /// Memory budget in bytes.
    #[serde(default)]
    pub memory_budget: Option<u64>,
    /// Backend options.
    #[serde(default)]
    pub options: BackendOptions,
}

impl RunRequest {
    /// A request to run `circuit` on `backend` under `spec` (whose timeout the parent
    /// enforces, so it is not sent).
    pub fn of(id: u64, backend: &str, circuit: &Circuit, spec: &RunSpec) -> RunRequest {
        RunRequest {
            id,
            backend: backend.to_string(),
            qasm: to_qasm(circuit),
            shots: spec.shots,
            seed: spec.seed,
            threads: spec.threads,
            memory_budget: spec.memory_budget,
            options: spec.options.clone(),
        }
    }
}

/// What `describe` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// Protocol version spoken.
    pub protocol: u32,
    /// The executor's name.
    pub name: String,
    /// Version of the engine.
    #[serde(default)]
    pub version: String,
    /// Limits and abilities.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Price (used when the configuration gives none).
    #[serde(default)]
    pub price: Option<Price>,
}

/// A successful run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Counts keyed by bitstring, classical bit 0 rightmost.
    pub counts: BTreeMap<String, u64>,
    /// Wall time of the simulation, seconds.
    pub wall_s: f64,
    /// CPU time of the simulation, seconds.
    #[serde(default)]
    pub cpu_s: f64,
    /// Peak resident memory during the job, bytes.
    #[serde(default)]
    pub peak_memory: Option<u64>,
    /// 1.0 when exact, else a lower bound.
    #[serde(default = "one")]
    pub fidelity: f64,
    /// Anything else.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl RunResult {
    /// The outcome it reports, unless its timings are not durations.
    pub fn into_outcome(self) -> Result<Outcome, InvalidTimings> {
        let (Some(wall), Some(cpu)) = (
            crate::bounds::seconds(self.wall_s),
            crate::bounds::seconds(self.cpu_s),
        ) else {
            return Err(InvalidTimings {
                wall_s: self.wall_s,
                cpu_s: self.cpu_s,
            });
        };
        Ok(Outcome {
            counts: self.counts,
            wall,
            cpu,
            peak_memory: self.peak_memory,
            fidelity: self.fidelity,
            metadata: self.metadata,
        })
    }

    /// What an executor reports of `out`, with `peak_memory` measured by it when known.
    pub fn of(out: Outcome, peak_memory: Option<u64>) -> RunResult {
        RunResult {
            counts: out.counts,
            wall_s: out.wall.as_secs_f64(),
            cpu_s: out.cpu.as_secs_f64(),
            peak_memory: peak_memory.or(out.peak_memory),
            fidelity: out.fidelity,
            metadata: out.metadata,
        }
    }
}

/// A result whose times are not durations (negative, not finite, over
/// [`crate::bounds::MAX_SECONDS`]).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("invalid timings wall_s={wall_s} cpu_s={cpu_s}")]
pub struct InvalidTimings {
    /// The wall time given, seconds.
    pub wall_s: f64,
    /// The CPU time given, seconds.
    pub cpu_s: f64,
}

fn one() -> f64 {
    1.0
}

/// An error the executor reports for one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    /// `ineligible`, `simulation`, `out_of_memory`, `parse`, `protocol`, ...
    pub kind: String,
    /// Human-readable message.
    pub message: String,
}

impl WireError {
    /// What it reports of a run of `backend` limited to `timeout`, as the error a backend
    /// returns ([`BackendError::kind`] names round-trip).
    pub fn into_backend_error(self, backend: &str, timeout: Option<Duration>) -> BackendError {
        let backend = backend.to_string();
        match self.kind.as_str() {
            "ineligible" => BackendError::Ineligible(Ineligible {
                backend,
                reason: self.message,
            }),
            "out_of_memory" => BackendError::OutOfMemory {
                backend,
                detail: self.message,
            },
            "timeout" => BackendError::Timeout {
                backend,
                timeout: timeout.unwrap_or_default(),
            },
            "executor" => BackendError::Executor {
                backend,
                detail: self.message,
            },
            "unavailable" => BackendError::Unavailable {
                backend,
                reason: self.message,
            },
            _ => BackendError::Simulation {
                backend,
                message: self.message,
            },
        }
    }

    /// How `e` travels.
    pub fn of(e: &BackendError) -> WireError {
        WireError {
            kind: e.kind().to_string(),
            message: e.detail(),
        }
    }
}

/// One response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// True on success.
    pub ok: bool,
    /// The job id for `run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// For `describe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub describe: Option<Description>,
    /// For a successful `run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RunResult>,
    /// For a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
}

impl Response {
    /// A failure response.
    pub fn error(id: Option<u64>, kind: &str, message: impl Into<String>) -> Response {
        Response {
            ok: false,
            id,
            describe: None,
            result: None,
            error: Some(WireError {
                kind: kind.to_string(),
                message: message.into(),
            }),
        }
    }
}

/// Reads one line of at most `max` bytes. `Ok(None)` at end of input; an error when the line
/// is longer (the rest of the stream is then unusable).
pub fn read_line_bounded(r: &mut impl BufRead, max: usize) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(if buf.is_empty() {
                None
            } else {
                Some(String::from_utf8_lossy(&buf).into_owned())
            });
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                buf.extend_from_slice(&chunk[..i]);
                r.consume(i + 1);
                if buf.len() > max {
                    return Err(too_long(max));
                }
                return Ok(Some(String::from_utf8_lossy(&buf).into_owned()));
            }
            None => {
                let n = chunk.len();
                buf.extend_from_slice(chunk);
                r.consume(n);
                if buf.len() > max {
                    return Err(too_long(max));
                }
            }
        }
    }
}

fn too_long(max: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("line longer than {max} bytes"),
    )
}

/// Writes one message as a JSON line in one write, and flushes. (Serialising straight into
/// an unbuffered pipe would cost a system call per JSON token.)
pub fn write_message<T: Serialize>(w: &mut impl Write, msg: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(msg)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}
