//! `qroute executor`: the executor protocol on stdin/stdout, as the process that
//! [`crate::backend::Isolation::Process`] starts.

use std::sync::Arc;

use super::AppError;
use crate::backend::Backend;
use crate::backend::registry::builtin;
use crate::config::default_price;

/// Serves executor-protocol requests on stdin/stdout over the built-in backends until the
/// parent says stop or closes the pipe; `memory_cap` caps this process's address space, bytes.
pub fn serve_stdio(memory_cap: Option<u64>) -> crate::Result<()> {
    if let Some(cap) = memory_cap {
        rlimit::setrlimit(rlimit::Resource::AS, cap, cap)
            .map_err(|e| AppError::io("set the memory cap of", "this process".as_ref(), e))?;
    }
    let resolve = |name: &str| -> Option<Arc<dyn Backend>> { builtin(name, default_price()) };
    let (input, output) = (std::io::stdin().lock(), std::io::stdout().lock());
    crate::backend::process::serve(resolve, input, output)
        .map_err(|e| AppError::io("serve executor requests on", "stdin/stdout".as_ref(), e))?;
    Ok(())
}
