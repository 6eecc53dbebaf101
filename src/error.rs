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
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
