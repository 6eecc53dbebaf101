//! The crate's error type, folding each module's errors.

use crate::backend::BackendError;
use crate::backend::registry::RegistryError;
use crate::circuit::CircuitError;
use crate::circuit::generate::GenError;
use crate::circuit::qasm::ParseError;
use crate::config::ConfigError;
use crate::features::SchemaMismatch;

/// Any error from qroute's library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading OpenQASM failed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A circuit operation was malformed.
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    /// Generator parameters were out of range.
    #[error(transparent)]
    Gen(#[from] GenError),
    /// Features of the wrong schema version.
    #[error(transparent)]
    Schema(#[from] SchemaMismatch),
    /// An execution failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The backend configuration cannot be built.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A circuit path could not be searched.
    #[error(transparent)]
    Discover(#[from] crate::circuit::files::DiscoverError),
    /// The configuration file is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Features outside their definitions' domains.
    #[error(transparent)]
    FeatureRange(#[from] crate::features::FeatureRangeError),
    /// A model set could not be trained, saved or loaded.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// Telemetry could not be written or read.
    #[cfg(feature = "telemetry")]
    #[error(transparent)]
    Telemetry(#[from] crate::telemetry::TelemetryError),
    /// A collection sweep could not run.
    #[cfg(feature = "telemetry")]
    #[error(transparent)]
    Collect(#[from] crate::exec::collect::CollectError),
    /// A routing request was refused.
    #[error(transparent)]
    Route(#[from] crate::route::RouteError),
    /// `[router]` settings are out of range.
    #[error(transparent)]
    RouterConfig(#[from] crate::route::RouterConfigError),
    /// A `--slots` value cannot be used.
    #[error(transparent)]
    Slots(#[from] crate::plan::SlotsError),
    /// A plan cannot be made.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// A replay cannot run.
    #[cfg(feature = "train")]
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
    /// A replay figure cannot be drawn.
    #[cfg(feature = "plots")]
    #[error(transparent)]
    Plot(#[from] crate::replay::plot::PlotError),
    /// `[api]` settings cannot be used.
    #[cfg(feature = "server")]
    #[error(transparent)]
    ApiConfig(#[from] crate::api::auth::ApiConfigError),
    /// A job was not accepted.
    #[cfg(feature = "server")]
    #[error(transparent)]
    Submit(#[from] crate::api::jobs::SubmitError),
    /// A command could not be assembled or finish (files, model set, configuration).
    #[cfg(feature = "train")]
    #[error(transparent)]
    App(#[from] crate::app::AppError),
    /// A count over its bound.
    #[error(transparent)]
    OverBound(#[from] crate::bounds::OverBound),
    /// A duration that is not a positive number of seconds.
    #[error(transparent)]
    NotSeconds(#[from] crate::bounds::NotSeconds),
    /// The Redis job queue failed.
    #[cfg(feature = "redis")]
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
}

/// A name that is none of those known: a strategy, a scope, a replay policy, a mode choice.
/// The `FromStr` error of those types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}` (expected {expected})")]
pub struct UnknownName {
    /// What kind of name.
    pub what: &'static str,
    /// The name given (clipped to 64 characters).
    pub given: String,
    /// The names accepted, as a phrase.
    pub expected: String,
}

impl UnknownName {
    pub(crate) fn new(what: &'static str, given: &str, expected: impl Into<String>) -> Self {
        UnknownName {
            what,
            given: crate::display::clip(given, 64),
            expected: expected.into(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
