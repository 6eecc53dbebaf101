//! One file per command: its flags, one library call, and printing. What flags several
//! commands share lives here.

#[cfg(feature = "server")]
pub(crate) mod api_key;
pub(crate) mod backends;
pub(crate) mod collect;
pub(crate) mod eval;
pub(crate) mod executor;
pub(crate) mod features;
pub(crate) mod generate;
pub(crate) mod plan;
#[cfg(feature = "redis")]
pub(crate) mod queue;
pub(crate) mod replay;
pub(crate) mod route;
pub(crate) mod run;
#[cfg(feature = "server")]
pub(crate) mod serve;
pub(crate) mod simulate;
pub(crate) mod telemetry;
pub(crate) mod train;
#[cfg(feature = "redis")]
pub(crate) mod worker;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use qroute::circuit::qasm::{ParseError, ParseWarning};

/// 0 when everything went well, else 1 (2 is for errors that stop a command).
pub(crate) fn code(ok: bool) -> ExitCode {
    ExitCode::from(u8::from(!ok))
}

/// The flag Ctrl-C sets: long commands stop between jobs and keep what they did.
pub(crate) fn stop_on_ctrl_c() -> anyhow::Result<&'static AtomicBool> {
    static STOP: AtomicBool = AtomicBool::new(false);
    ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C handler")?;
    Ok(&STOP)
}

/// A progress bar (steps set later) with elapsed time, ETA and a message; a spinner without
/// steps. Both tick on their own, so the elapsed time moves during a long step.
pub(crate) fn bar(steps: bool) -> ProgressBar {
    let template = match steps {
        true => "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ETA {eta} {msg}",
        false => "{spinner} [{elapsed_precise}] {msg}",
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// On stderr: what parsed with a warning, and the files that did not parse.
pub(crate) fn show_parse(errors: &[ParseError], warnings: &[ParseWarning]) {
    warnings.iter().for_each(|w| eprintln!("warning: {w}"));
    errors.iter().for_each(|e| eprintln!("error: {e}"));
}

/// `value` as pretty JSON with `json`, else `text()` for a reader.
pub(crate) fn show<T>(json: bool, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()>
where
    T: serde::Serialize + ?Sized,
{
    match json {
        true => outln!("{}", serde_json::to_string_pretty(value)?),
        false => out!("{}", text()),
    }
    Ok(())
}
