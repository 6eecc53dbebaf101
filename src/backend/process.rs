//! Executor processes: any backend run in child processes speaking the executor protocol.
//!
//! prism-q cannot be cancelled mid-run and a large state vector can exhaust memory, so a
//! [`ProcessBackend`] sends each job to a child (`qroute executor`, or an external plugin),
//! reused across jobs. The parent never blocks on a child: a reader thread per child turns its
//! output into messages, and the parent waits with a deadline. A job past its timeout gets its
//! child killed (SIGKILL) and replaced by a fresh one at the next job; a child that dies or
//! says something that is not the protocol fails that job only. `qroute executor` caps its own
//! address space (`--memory-cap`) and measures peak memory per job (it resets `VmHWM` through
//! `/proc/self/clear_refs` before each job).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufReader, Read, Write};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::protocol::{
    self, Description, MAX_LINE_BYTES, PROTOCOL_VERSION, Request, Response, RunRequest,
};
use super::{
    Availability, Backend, BackendError, BackendKind, Capabilities, CircuitFacts, Fidelity,
    Ineligible, Outcome, Price, RunSpec, check_common,
};
use crate::circuit::Circuit;

/// How long `describe` may take (an external plugin may import a large library first).
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle children kept per backend.
const MAX_IDLE: usize = 4;
/// Bytes of a child's standard error kept for error messages.
const STDERR_TAIL: usize = 2048;

type Line = std::io::Result<Option<String>>;

struct Child {
    proc: std::process::Child,
    stdin: ChildStdin,
    lines: Receiver<Line>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
}

enum Failure {
    Timeout,
    Died(String),
    Protocol(String),
}

impl Child {
    fn spawn(command: &[OsString]) -> std::io::Result<Child> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| std::io::Error::other("empty executor command"))?;
        let mut proc = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = proc
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin"))?;
        let stdout = proc
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let stderr_pipe = proc.stderr.take();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // Large reads: a response with many counts is 100 KB or more.
            let mut r = BufReader::with_capacity(1 << 20, stdout);
            loop {
                let line = protocol::read_line_bounded(&mut r, MAX_LINE_BYTES);
                let end = !matches!(line, Ok(Some(_)));
                if tx.send(line).is_err() || end {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(mut pipe) = stderr_pipe {
            let tail = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                    t.extend(&buf[..n]);
                    while t.len() > STDERR_TAIL {
                        t.pop_front();
                    }
                }
            });
        }
        Ok(Child {
            proc,
            stdin,
            lines,
            stderr,
        })
    }

    fn stderr_tail(&self) -> String {
        let t = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let (a, b) = t.as_slices();
        let mut v = a.to_vec();
        v.extend_from_slice(b);
        String::from_utf8_lossy(&v).trim().to_string()
    }

    /// Sends a request and waits for its response until `deadline`.
    fn request(&mut self, req: &Request, deadline: Option<Instant>) -> Result<Response, Failure> {
        if let Err(e) = protocol::write_message(&mut self.stdin, req) {
            return Err(Failure::Died(
                self.death(format!("cannot write request: {e}")),
            ));
        }
        let line = match deadline {
            Some(d) => match self
                .lines
                .recv_timeout(d.saturating_duration_since(Instant::now()))
            {
                Ok(l) => l,
                Err(RecvTimeoutError::Timeout) => return Err(Failure::Timeout),
                Err(RecvTimeoutError::Disconnected) => Ok(None),
            },
            None => self.lines.recv().unwrap_or(Ok(None)),
        };
        match line {
            Ok(Some(text)) => serde_json::from_str::<Response>(&text).map_err(|e| {
                let shown: String = text.chars().take(200).collect();
                Failure::Protocol(format!("invalid response ({e}): {shown}"))
            }),
            Ok(None) => Err(Failure::Died(self.death("closed its output".into()))),
            Err(e) => Err(Failure::Protocol(format!("unreadable response: {e}"))),
        }
    }

    /// Describes how the child ended, waiting briefly for its exit status.
    fn death(&mut self, what: String) -> String {
        let status = wait_briefly(&mut self.proc, Duration::from_millis(500));
        let mut s = format!("executor {what}");
        if let Some(st) = status {
            s.push_str(&format!(" ({})", describe_status(st)));
        }
        // Give the stderr reader a moment to collect the last words.
        std::thread::sleep(Duration::from_millis(20));
        let tail = self.stderr_tail();
        if !tail.is_empty() {
            s.push_str(&format!("; stderr: {tail}"));
        }
        s
    }

    fn kill(mut self) {
        let _ = self.proc.kill();
        let _ = self.proc.wait();
    }

    fn shutdown(mut self) {
        let _ = protocol::write_message(&mut self.stdin, &Request::Shutdown);
        if wait_briefly(&mut self.proc, Duration::from_millis(200)).is_none() {
            self.kill();
        }
    }
}

fn wait_briefly(p: &mut std::process::Child, max: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + max;
    loop {
        match p.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(2)),
            _ => return None,
        }
    }
}

fn describe_status(st: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = st.signal() {
            let name = match sig {
                6 => " SIGABRT",
                9 => " SIGKILL",
                11 => " SIGSEGV",
                15 => " SIGTERM",
                _ => "",
            };
            return format!("killed by signal {sig}{name}");
        }
    }
    match st.code() {
        Some(c) => format!("exit code {c}"),
        None => "no exit code".into(),
    }
}

/// Where a [`ProcessBackend`]'s children come from.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// Program and arguments of one child.
    pub command: Vec<OsString>,
    /// Sent as `backend` in every run request.
    pub backend: String,
}

/// A backend whose jobs run in child processes.
pub struct ProcessBackend {
    name: String,
    kind: BackendKind,
    config: ProcessConfig,
    caps: Capabilities,
    price: Price,
    version: String,
    availability: Availability,
    memory_capped: bool,
    /// For a built-in backend: the in-process twin whose eligibility rules apply.
    rules: Option<Arc<dyn Backend>>,
    idle: Mutex<Vec<Child>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for ProcessBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessBackend")
            .field("name", &self.name)
            .field("command", &self.config.command)
            .finish()
    }
}

impl ProcessBackend {
    /// A built-in backend run by `qroute executor` children: `exe` is the qroute binary,
    /// `inner` the in-process backend whose name, kind, limits and price it reports, and
    /// `memory_cap` the address-space cap of each child in bytes.
    pub fn builtin(
        exe: impl Into<OsString>,
        inner: Arc<dyn Backend>,
        memory_cap: Option<u64>,
    ) -> ProcessBackend {
        let mut command = vec![exe.into(), "executor".into()];
        if let Some(cap) = memory_cap {
            command.push("--memory-cap".into());
            command.push(cap.to_string().into());
        }
        ProcessBackend {
            name: inner.name().to_string(),
            kind: inner.kind(),
            config: ProcessConfig {
                command,
                backend: inner.name().to_string(),
            },
            caps: inner.capabilities(),
            price: inner.price(),
            version: inner.version(),
            availability: inner.availability(),
            memory_capped: memory_cap.is_some(),
            rules: Some(inner),
            idle: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// An external plugin: starts one child and asks it to `describe` itself. A plugin that
    /// cannot start or does not answer becomes an unavailable backend with the reason.
    /// `price` overrides the price the plugin declares.
    pub fn external(name: &str, command: Vec<OsString>, price: Option<Price>) -> ProcessBackend {
        ProcessBackend::external_with_timeout(name, command, price, DESCRIBE_TIMEOUT)
    }

    /// [`ProcessBackend::external`] with its own limit on how long `describe` may take.
    pub fn external_with_timeout(
        name: &str,
        command: Vec<OsString>,
        price: Option<Price>,
        describe_timeout: Duration,
    ) -> ProcessBackend {
        let mut b = ProcessBackend {
            name: name.to_string(),
            kind: BackendKind::External,
            config: ProcessConfig {
                command,
                backend: name.to_string(),
            },
            caps: Capabilities::default(),
            price: price.unwrap_or_default(),
            version: String::new(),
            availability: Availability::Available,
            memory_capped: false,
            rules: None,
            idle: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        };
        match b.describe_child(describe_timeout) {
            Ok((d, child)) => {
                b.caps = d.capabilities;
                b.version = d.version;
                if price.is_none() {
                    b.price = d.price.unwrap_or_default();
                }
                b.park(child);
            }
            Err(reason) => b.availability = Availability::Unavailable(reason),
        }
        b
    }

    fn describe_child(&self, timeout: Duration) -> Result<(Description, Child), String> {
        let mut child = Child::spawn(&self.config.command)
            .map_err(|e| format!("cannot start {:?}: {e}", self.config.command))?;
        let deadline = Some(Instant::now() + timeout);
        let resp = match child.request(&Request::Describe, deadline) {
            Ok(r) => r,
            Err(f) => {
                let msg = match f {
                    Failure::Timeout => {
                        format!(
                            "no answer to describe within {:.1} s",
                            timeout.as_secs_f64()
                        )
                    }
                    Failure::Died(s) | Failure::Protocol(s) => s,
                };
                child.kill();
                return Err(msg);
            }
        };
        match resp.describe {
            Some(d) if resp.ok && d.protocol == PROTOCOL_VERSION => Ok((d, child)),
            Some(d) if resp.ok => {
                child.kill();
                Err(format!(
                    "speaks protocol version {}, qroute speaks {PROTOCOL_VERSION}",
                    d.protocol
                ))
            }
            _ => {
                child.kill();
                Err(format!(
                    "bad describe answer: {}",
                    resp.error.map(|e| e.message).unwrap_or_default()
                ))
            }
        }
    }

    fn park(&self, child: Child) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(child);
        } else {
            drop(idle);
            child.shutdown();
        }
    }

    fn take(&self) -> Result<Child, BackendError> {
        if let Some(c) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(c);
        }
        Child::spawn(&self.config.command).map_err(|e| BackendError::Executor {
            backend: self.name.clone(),
            detail: format!("cannot start {:?}: {e}", self.config.command),
        })
    }

    /// Starts `n` children ahead of the first jobs, so that they do not pay for the start.
    pub fn prewarm(&self, n: usize) -> Result<(), BackendError> {
        for _ in 0..n.min(MAX_IDLE) {
            let c = self.take()?;
            self.park(c);
        }
        Ok(())
    }

    fn executor_error(&self, detail: String) -> BackendError {
        BackendError::Executor {
            backend: self.name.clone(),
            detail,
        }
    }
}

impl Drop for ProcessBackend {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        for c in idle {
            c.shutdown();
        }
    }
}

impl Backend for ProcessBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> BackendKind {
        self.kind
    }

    fn check(&self, facts: &CircuitFacts<'_>, spec: &RunSpec) -> Result<Fidelity, Ineligible> {
        if let Availability::Unavailable(reason) = &self.availability {
            return Err(Ineligible {
                backend: self.name.clone(),
                reason: format!("unavailable: {reason}"),
            });
        }
        match &self.rules {
            Some(inner) => inner.check(facts, spec),
            // An external plugin says nothing of truncation before it runs; its result's
            // fidelity comes back with the outcome.
            None => check_common(&self.name, &self.caps, facts).map(|()| Fidelity::Exact),
        }
    }

    fn execute(&self, circuit: &Circuit, spec: &RunSpec) -> Result<Outcome, BackendError> {
        if let Availability::Unavailable(reason) = &self.availability {
            return Err(BackendError::Unavailable {
                backend: self.name.clone(),
                reason: reason.clone(),
            });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let req = Request::Run(RunRequest::of(id, &self.config.backend, circuit, spec));
        let mut child = self.take()?;
        // Stopped at the timeout, or before it at a hedging cutoff.
        let deadline = spec.limit().map(|t| Instant::now() + t);
        let resp = match child.request(&req, deadline) {
            Ok(r) => r,
            Err(Failure::Timeout) => {
                child.kill();
                return Err(BackendError::Timeout {
                    backend: self.name.clone(),
                    timeout: spec.limit().unwrap_or_default(),
                });
            }
            Err(Failure::Died(detail)) => {
                child.kill();
                let oom = self.memory_capped
                    && (detail.contains("SIGABRT")
                        || detail.contains("SIGKILL")
                        || detail.contains("memory allocation"));
                return Err(if oom {
                    BackendError::OutOfMemory {
                        backend: self.name.clone(),
                        detail,
                    }
                } else {
                    self.executor_error(detail)
                });
            }
            Err(Failure::Protocol(detail)) => {
                child.kill();
                return Err(self.executor_error(detail));
            }
        };
        if resp.id != Some(id) {
            child.kill();
            return Err(self.executor_error(format!("answered job {:?} to request {id}", resp.id)));
        }
        // The child answered in protocol: it is healthy whatever the job's result.
        self.park(child);
        match (resp.ok, resp.result, resp.error) {
            (true, Some(r), _) => r
                .into_outcome()
                .map_err(|e| self.executor_error(e.to_string())),
            (false, _, Some(e)) => Err(e.into_backend_error(&self.name, spec.limit())),
            _ => Err(self.executor_error("response has neither a result nor an error".into())),
        }
    }

    fn price(&self) -> Price {
        self.price
    }

    fn availability(&self) -> Availability {
        self.availability.clone()
    }

    fn capabilities(&self) -> Capabilities {
        self.caps.clone()
    }

    fn version(&self) -> String {
        self.version.clone()
    }

    fn device(&self) -> Option<String> {
        self.rules.as_ref().and_then(|r| r.device())
    }
}

/// Peak resident memory of this process since the last [`reset_peak_memory`], in bytes
/// (`VmHWM` of /proc/self/status). `None` where /proc is not available.
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak-memory mark to the current resident size (Linux: `5` into
/// /proc/self/clear_refs). Returns whether it worked.
pub fn reset_peak_memory() -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/clear_refs")
        .and_then(|mut f| f.write_all(b"5"))
        .is_ok()
}

/// The `qroute executor` loop: reads requests from `input`, runs each on the backend
/// `resolve` gives for the name it carries, writes responses to `output`, until `shutdown` or
/// the end of input.
pub fn serve(
    resolve: impl Fn(&str) -> Option<Arc<dyn Backend>>,
    input: impl Read,
    output: impl Write,
) -> std::io::Result<()> {
    let mut input = BufReader::new(input);
    // One write per response (flushed by `write_message`) instead of one per 8 KiB.
    let mut output = std::io::BufWriter::with_capacity(1 << 20, output);
    while let Some(line) = protocol::read_line_bounded(&mut input, 1 << 30)? {
        if line.trim().is_empty() {
            continue;
        }
        let resp = match serde_json::from_str::<Request>(&line) {
            Err(e) => Response::error(None, "protocol", format!("invalid request: {e}")),
            Ok(Request::Shutdown) => return Ok(()),
            Ok(Request::Describe) => Response {
                ok: true,
                id: None,
                describe: Some(Description {
                    protocol: PROTOCOL_VERSION,
                    name: "qroute executor".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    capabilities: Capabilities::default(),
                    price: None,
                }),
                result: None,
                error: None,
            },
            Ok(Request::Run(req)) => run_request(&resolve, req),
        };
        protocol::write_message(&mut output, &resp)?;
    }
    Ok(())
}

fn run_request(resolve: &impl Fn(&str) -> Option<Arc<dyn Backend>>, req: RunRequest) -> Response {
    let id = Some(req.id);
    let Some(backend) = resolve(&req.backend) else {
        return Response::error(id, "protocol", format!("unknown backend `{}`", req.backend));
    };
    let circuit = match crate::circuit::qasm::parse_str(&req.qasm) {
        Ok(c) => c,
        Err(e) => return Response::error(id, "parse", e.to_string()),
    };
    let spec = RunSpec {
        shots: req.shots,
        seed: req.seed,
        memory_budget: req.memory_budget,
        threads: req.threads,
        timeout: None,
        cutoff: None,
        options: req.options,
    };
    let measured = reset_peak_memory();
    match backend.execute(&circuit, &spec) {
        Ok(out) => Response {
            ok: true,
            id,
            describe: None,
            result: Some(protocol::RunResult::of(
                out,
                if measured { peak_memory() } else { None },
            )),
            error: None,
        },
        Err(e) => Response::error(id, e.kind(), e.detail()),
    }
}
