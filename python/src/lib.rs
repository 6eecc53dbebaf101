//! `qroute._qroute`: the extension module under the Python package `qroute` (python/qroute).
//!
//! A thin layer over [`qroute::app::session::Session`]: arguments are checked here into
//! qroute's own types, results cross back as the same JSON `qroute route --format json` and
//! `qroute run --format json` print, and the Python package turns them into objects. No
//! routing or running happens here that the binary does not do the same way.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use qroute::app::params::ConstraintParams;
use qroute::app::session::{Session, SessionRun, Source};
use qroute::route::{Constraints, Strategy};

create_exception!(
    _qroute,
    QrouteError,
    PyException,
    "An error from qroute: a model set or configuration that cannot be loaded, a telemetry \
     directory that cannot be written, a backend that failed to start."
);
create_exception!(
    _qroute,
    QasmError,
    QrouteError,
    "OpenQASM that does not parse; the message starts with `name:line:col`."
);

/// qroute's error as the Python exception a caller can catch: a parse error is a
/// `QasmError`, a value out of range (a constraint, a duration) a `ValueError`, the rest a
/// `QrouteError`.
fn py_err(e: qroute::Error) -> PyErr {
    match e {
        qroute::Error::Parse(p) => QasmError::new_err(p.to_string()),
        qroute::Error::Route(r) => PyValueError::new_err(r.to_string()),
        qroute::Error::NotSeconds(e) => PyValueError::new_err(e.to_string()),
        other => QrouteError::new_err(other.to_string()),
    }
}

/// What each decision must respect, as the Python package passes it: a dict with every key.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct ConstraintArgs {
    strategy: Option<String>,
    shots: u64,
    max_cost: Option<f64>,
    deadline: Option<f64>,
    min_fidelity: Option<f64>,
    exclude: Option<Vec<String>>,
}

impl ConstraintArgs {
    /// The constraints, checked as `qroute route` checks its flags; a value out of range is a
    /// `ValueError` naming it.
    fn check(self) -> PyResult<Constraints> {
        let strategy = self
            .strategy
            .map(|s| s.parse::<Strategy>())
            .transpose()
            .map_err(|e| PyValueError::new_err(format!("strategy: {e}")))?;
        // Zero shots would return no counts, which no Python caller asks for.
        if self.shots == 0 {
            return Err(PyValueError::new_err("shots must be at least 1"));
        }
        ConstraintParams {
            strategy,
            shots: self.shots,
            max_cost: self.max_cost,
            deadline: self.deadline,
            min_fidelity: self.min_fidelity,
            exclude: self.exclude.unwrap_or_default(),
        }
        .check()
        .map_err(py_err)
    }
}

/// `(name, text)` pairs; a `None` text names a file to read.
fn sources(items: Vec<(String, Option<String>)>) -> Vec<Source> {
    items
        .into_iter()
        .map(|(name, text)| match text {
            Some(text) => Source::Text { name, text },
            None => Source::File(PathBuf::from(name)),
        })
        .collect()
}

/// `{"results": [...], "warnings": [...]}` as a JSON string.
fn answer(results: serde_json::Value, warnings: &[qroute::circuit::qasm::ParseWarning]) -> String {
    let warnings: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    serde_json::json!({ "results": results, "warnings": warnings }).to_string()
}

/// A router with its model set loaded once, over the configured backends; jobs run in this
/// process unless `executor` names a `qroute` binary to run them in executor processes of.
#[pyclass(name = "Session", module = "qroute._qroute", frozen)]
struct PySession {
    inner: Session,
}

#[pymethods]
impl PySession {
    #[new]
    #[pyo3(signature = (model=None, config=None, executor=None))]
    fn new(
        py: Python<'_>,
        model: Option<PathBuf>,
        config: Option<PathBuf>,
        executor: Option<PathBuf>,
    ) -> PyResult<PySession> {
        let inner = py
            .detach(|| Session::open(model.as_deref(), config.as_deref(), executor.as_deref()))
            .map_err(py_err)?;
        Ok(PySession { inner })
    }

    /// The model set's version (`name:checksum`).
    #[getter]
    fn model_version(&self) -> String {
        self.inner.router().model_version()
    }

    /// The names of the configured backends.
    #[getter]
    fn backends(&self) -> Vec<String> {
        self.inner
            .router()
            .registry()
            .iter()
            .map(|b| b.name().to_string())
            .collect()
    }

    /// Routes each circuit; returns the JSON of `qroute route --format json` with the parse
    /// warnings beside it.
    fn route(
        &self,
        py: Python<'_>,
        items: Vec<(String, Option<String>)>,
        constraints: ConstraintArgs,
    ) -> PyResult<String> {
        let c = constraints.check()?;
        let items = sources(items);
        py.detach(|| {
            let (jobs, warnings) = self.inner.jobs(&items)?;
            let routed = self.inner.route(&jobs, &c)?;
            let json = routed.iter().map(|r| r.to_json()).collect();
            Ok(answer(json, &warnings))
        })
        .map_err(py_err)
    }

    /// Routes and runs each circuit (the interpreter's lock released meanwhile); returns the
    /// JSON of each job's report, as `qroute run --format json` prints it, with the parse
    /// warnings beside it.
    #[pyo3(signature = (items, constraints, *, seed=0, threads=1, telemetry=None, timeout=60.0))]
    // Python keyword arguments, one parameter each.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        items: Vec<(String, Option<String>)>,
        constraints: ConstraintArgs,
        seed: u64,
        threads: usize,
        telemetry: Option<PathBuf>,
        timeout: f64,
    ) -> PyResult<String> {
        let c = constraints.check()?;
        let timeout: Duration =
            qroute::bounds::positive("timeout", timeout).map_err(|e| py_err(e.into()))?;
        if threads == 0 {
            return Err(PyValueError::new_err("threads must be at least 1"));
        }
        let how = SessionRun {
            seed,
            threads,
            telemetry,
            timeout,
        };
        let items = sources(items);
        py.detach(|| {
            let (jobs, warnings) = self.inner.jobs(&items)?;
            let batch = self.inner.run(&jobs, &c, &how)?;
            let json = serde_json::to_value(&batch.reports)
                .map_err(|e| qroute::app::AppError::Invalid(format!("report: {e}")))?;
            Ok(answer(json, &warnings))
        })
        .map_err(py_err)
    }
}

/// qroute's extension module; use it through the `qroute` package.
#[pymodule]
mod _qroute {
    #[pymodule_export]
    use super::PySession;
    #[pymodule_export]
    use super::QasmError;
    #[pymodule_export]
    use super::QrouteError;

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
