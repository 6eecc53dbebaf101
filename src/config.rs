//! `qroute.toml`: the configuration file.
//!
//! Every section is optional; with no file at all qroute runs on its defaults. Unknown keys
//! are errors (a misspelt key should not be silently ignored), reported with line and column.
//!
//! ```toml
//! [backends]
//! # Built-in targets to offer (default: all of them, see `qroute backends`).
//! builtin = ["statevector", "stabilizer", "mps-64", "mps-256", "prism-auto"]
//! # Address-space cap of each executor process, bytes (default: none).
//! memory_cap = 17179869184
//! # Price of built-in targets (default below).
//! default_price = { per_core_second = 0.0001, per_shot = 0.0, per_task = 0.000001 }
//!
//! [[backend]]
//! kind = "external"
//! name = "aer-mps"
//! command = ["python3", "examples/plugins/aer_plugin.py", "--method", "matrix_product_state"]
//! price = { per_core_second = 0.0002, per_shot = 0.0, per_task = 0.0 }
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::backend::Isolation;
use crate::backend::registry::{Registry, RegistryError};

pub use crate::backend::registry::{BackendEntry, BackendsSection, default_price};

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[backends]`: the built-in targets.
    #[serde(default)]
    pub backends: BackendsSection,
    /// `[[backend]]`: extra targets (external plugins, more MPS bond caps).
    #[serde(default, rename = "backend")]
    pub extra: Vec<BackendEntry>,
    /// `[router]`: strategy, weights, thresholds, online adaptation, failures.
    #[serde(default)]
    pub router: crate::route::RouterSection,
    /// `[api]`: API keys, rate limits, request timeout and job execution of `qroute serve`.
    #[serde(default)]
    pub api: ApiSection,
}

/// The `[api]` section, as written; `qroute::api::ApiConfig::check` turns it into settings.
///
/// ```toml
/// [api]
/// rate_per_sec = 50       # per key (or for all anonymous requests when no key is set)
/// burst = 100
/// request_timeout = 30    # seconds, for a plan or a model reload
///
/// [[api.key]]
/// name = "ci"
/// sha256 = "…64 hex digits…"  # `qroute api-key` makes a key and prints this line
/// scopes = ["route", "jobs"]   # route (default), jobs, admin
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Keys allowed on `/v1/*`; none means the API is open.
    #[serde(default, rename = "key")]
    pub keys: Vec<ApiKeyEntry>,
    /// Sustained requests per second per key; none means no limit.
    #[serde(default)]
    pub rate_per_sec: Option<f64>,
    /// Requests a key may make at once beyond the sustained rate (default: one second's worth).
    #[serde(default)]
    pub burst: Option<f64>,
    /// Longest a plan or model reload may take, seconds (default 30).
    #[serde(default)]
    pub request_timeout: Option<f64>,
}

/// One `[[api.key]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyEntry {
    /// A label for logs and rate limiting.
    pub name: String,
    /// SHA-256 of the key, hex; the key itself is never stored.
    pub sha256: String,
    /// What it may do: `route`, `jobs`, `admin` (default: `route`).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// This key's own rate, overriding `rate_per_sec`.
    #[serde(default)]
    pub rate_per_sec: Option<f64>,
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has wrong keys or values.
    #[error("{path}:{line}:{col}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Line from 1 (0 when unknown).
        line: usize,
        /// Column from 1 (0 when unknown).
        col: usize,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// The configured backends (`[backends]` and `[[backend]]`), each run as `isolation`
    /// says.
    pub fn registry(&self, isolation: &Isolation) -> Result<Registry, RegistryError> {
        Registry::from_sections(&self.backends, &self.extra, isolation)
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses configuration text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e: toml::de::Error| {
            let (line, col) = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    (line, col)
                })
                .unwrap_or((0, 0));
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                col,
                message: e.message().to_string(),
            }
        })
    }
}
