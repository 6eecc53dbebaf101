//! The configured set of backends.

use std::ffi::OsString;
use std::sync::Arc;

use super::Backend;
use super::Price;
use super::prism::{PrismBackend, PrismTarget};
use super::process::ProcessBackend;
use serde::Deserialize;

/// Where built-in backends run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// In this process: no timeouts, no memory caps, no process overhead.
    InProcess,
    /// In `qroute executor` child processes started from this binary.
    Process {
        /// The qroute binary.
        exe: OsString,
    },
}

/// A backend configuration that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A built-in name that no target has.
    #[error("unknown built-in backend `{name}` (known: {known})")]
    UnknownBuiltin {
        /// The name.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// Two backends with one name.
    #[error("backend `{name}` is configured twice")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// An external backend with an empty command.
    #[error("external backend `{name}` has an empty command")]
    EmptyCommand {
        /// The name.
        name: String,
    },
}

/// The backends qroute routes among, by name.
#[derive(Clone, Default)]
pub struct Registry {
    backends: Vec<Arc<dyn Backend>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.backends.iter().map(|b| b.name()))
            .finish()
    }
}

impl Registry {
    /// A registry of exactly these backends.
    pub fn new(backends: Vec<Arc<dyn Backend>>) -> Registry {
        Registry { backends }
    }

    /// Builds the configured backends: the built-in prism-q targets of `section` (all of them
    /// unless it names some), then each `[[backend]]` entry of `extra`. External plugins are
    /// started and asked to describe themselves; one that fails is kept as unavailable, with
    /// why. [`crate::config::Config::registry`] calls it with the file's sections.
    pub fn from_sections(
        section: &BackendsSection,
        extra: &[BackendEntry],
        isolation: &Isolation,
    ) -> Result<Registry, RegistryError> {
        let names: Vec<String> = match &section.builtin {
            None => default_builtins(),
            Some(names) => names.clone(),
        };
        let mut reg = Registry::default();
        let wrap = |name: &str, price: Price| -> Result<Arc<dyn Backend>, RegistryError> {
            let inner = builtin(name, price).ok_or_else(|| RegistryError::UnknownBuiltin {
                name: name.to_string(),
                known: known_builtins(),
            })?;
            Ok(match isolation {
                Isolation::InProcess => inner,
                Isolation::Process { exe } => Arc::new(ProcessBackend::builtin(
                    exe.clone(),
                    inner,
                    section.memory_cap,
                )),
            })
        };
        for name in &names {
            reg.push(wrap(name, section.default_price)?)?;
        }
        for entry in extra {
            match entry {
                BackendEntry::Prism { name, price } => {
                    reg.push(wrap(name, price.unwrap_or(section.default_price))?)?;
                }
                BackendEntry::External {
                    name,
                    command,
                    price,
                } => {
                    if command.is_empty() {
                        return Err(RegistryError::EmptyCommand { name: name.clone() });
                    }
                    let full = format!("external:{name}");
                    if reg.exact(&full).is_some() {
                        return Err(RegistryError::Duplicate { name: full });
                    }
                    let cmd = command.iter().map(OsString::from).collect();
                    reg.push(Arc::new(ProcessBackend::external(&full, cmd, *price)))?;
                }
            }
        }
        Ok(reg)
    }

    fn push(&mut self, b: Arc<dyn Backend>) -> Result<(), RegistryError> {
        if self.exact(b.name()).is_some() {
            return Err(RegistryError::Duplicate {
                name: b.name().to_string(),
            });
        }
        self.backends.push(b);
        Ok(())
    }

    /// The backend called `name`. A configured external backend also answers to its plain
    /// name (`aer` for `external:aer`) when no other backend is called that.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Backend>> {
        self.exact(name).or_else(|| {
            (!name.starts_with("external:"))
                .then(|| self.exact(&format!("external:{name}")))
                .flatten()
        })
    }

    fn exact(&self, name: &str) -> Option<&Arc<dyn Backend>> {
        self.backends.iter().find(|b| b.name() == name)
    }

    /// Every backend's name, in configuration order, comma-separated (for "unknown backend"
    /// errors).
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.backends.iter().map(|b| b.name()).collect();
        names.join(", ")
    }

    /// Every backend, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Backend>> {
        self.backends.iter()
    }

    /// Number of backends.
    pub fn len(&self) -> usize {
        self.backends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.backends.is_empty()
    }
}

/// The built-in backend called `name` (a prism-q target, or `gpu` when built with it),
/// in-process, with `price`.
pub fn builtin(name: &str, price: Price) -> Option<Arc<dyn Backend>> {
    #[cfg(feature = "gpu")]
    if name == "gpu" {
        return Some(Arc::new(super::gpu::GpuBackend::new(price)));
    }
    PrismTarget::from_name(name).map(|t| Arc::new(PrismBackend::new(t, price)) as Arc<dyn Backend>)
}

/// Names of the built-in targets offered when the configuration names none.
pub fn default_builtins() -> Vec<String> {
    let mut names: Vec<String> = PrismTarget::defaults().iter().map(|t| t.name()).collect();
    if cfg!(feature = "gpu") {
        names.push("gpu".into());
    }
    names
}

fn known_builtins() -> String {
    let mut names = default_builtins();
    names.push("mps-<bond>".into());
    names.join(", ")
}

/// The `[backends]` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendsSection {
    /// Built-in target names to offer; `None`: every default target.
    #[serde(default)]
    pub builtin: Option<Vec<String>>,
    /// Address-space cap of each executor process in bytes.
    #[serde(default)]
    pub memory_cap: Option<u64>,
    /// Price of every built-in target without its own.
    #[serde(default = "default_price")]
    pub default_price: Price,
}

impl Default for BackendsSection {
    fn default() -> Self {
        BackendsSection {
            builtin: None,
            memory_cap: None,
            default_price: default_price(),
        }
    }
}

/// The price of a built-in CPU target unless configured: 0.0001 per core-second (0.36 per
/// core-hour) and 0.000001 per job.
pub fn default_price() -> Price {
    Price {
        per_core_second: 1e-4,
        per_shot: 0.0,
        per_task: 1e-6,
    }
}

/// One `[[backend]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BackendEntry {
    /// A prism-q target by name, e.g. `mps-1024`.
    Prism {
        /// Routing name.
        name: String,
        /// Its price.
        #[serde(default)]
        price: Option<Price>,
    },
    /// A program speaking the executor protocol.
    External {
        /// Routing name; the backend is called `external:<name>`.
        name: String,
        /// Program and arguments.
        command: Vec<String>,
        /// Its price (default: what the plugin declares).
        #[serde(default)]
        price: Option<Price>,
    },
}
