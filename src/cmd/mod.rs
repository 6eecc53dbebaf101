//! Command implementations too large for `main.rs`; each prints what a library call returns.

pub(crate) mod route;

pub(crate) use super::{corpus_tags, process_isolation};
#[cfg(feature = "redis")]
pub(crate) mod queue;
pub(crate) mod replay;
#[cfg(feature = "server")]
pub(crate) mod serve;
