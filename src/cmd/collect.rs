//! `qroute collect`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use qroute::config::Config;
use qroute::display::human_bytes;
use qroute::exec::collect::{CollectSpec, JobOrder, Progress};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// OpenQASM 2 files or directories (searched recursively for *.qasm).
    #[arg(required = true)]
    circuits: Vec<PathBuf>,
    /// Backends: `all`, or names separated by commas (see `qroute backends`).
    #[arg(long, default_value = "all")]
    backends: String,
    /// Attempts per circuit and backend.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Shots per attempt.
    #[arg(long, default_value_t = 1024)]
    shots: u64,
    /// Timeout per attempt, seconds.
    #[arg(long, default_value_t = 20.0)]
    timeout: f64,
    /// Threads per attempt.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seed of the order and of every run.
    #[arg(long, short = 's', default_value_t = 0)]
    seed: u64,
    /// `by-circuit`: one circuit at a time (circuits and backends in a seeded random
    /// order), all its backends and repetitions together, so they are timed under the
    /// same host speed; `shuffled`: first attempts of the whole sweep in a random order,
    /// then second attempts, so a circuit's runs lie far apart. On a host whose speed
    /// drifts, `by-circuit` measures which backend is fastest far more repeatably
    /// (docs/telemetry.md).
    #[arg(long, value_enum, default_value = "by-circuit")]
    order: JobOrder,
    /// Telemetry directory (created if missing).
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(args: Args, config: &Config) -> anyhow::Result<ExitCode> {
    let timeout = super::seconds("--timeout", args.timeout)?;
    if args.repeat == 0 {
        anyhow::bail!("--repeat must be at least 1");
    }
    let reg = config.registry(&qroute::app::process_isolation()?)?;
    let spec = CollectSpec {
        circuits: qroute::circuit::files::discover(&args.circuits)?,
        backends: if args.backends == "all" {
            Vec::new()
        } else {
            args.backends
                .split(',')
                .map(|s| s.trim().to_string())
                .collect()
        },
        repeat: args.repeat,
        shots: args.shots,
        timeout,
        threads: args.threads,
        seed: args.seed,
        order: args.order,
        out: args.out,
    };
    let stop = super::stop_on_ctrl_c()?;
    let bar = super::bar(0);
    let done = qroute::app::collect::run(&spec, &reg, stop, |p| match p {
        Progress::Planned { todo, done_before } => {
            bar.set_length(todo as u64);
            if done_before > 0 {
                bar.println(format!(
                    "resuming: {done_before} attempt(s) already in {}",
                    spec.out.display()
                ));
            }
        }
        Progress::Job {
            circuit,
            backend,
            status,
        } => {
            bar.inc(1);
            let name = qroute::app::render::short(&circuit);
            bar.set_message(format!("{name} on {backend}: {}", status.as_str()));
        }
    })?;
    bar.finish_and_clear();
    let summary = &done.summary;
    for bad in &summary.bad_circuits {
        eprintln!("error: {bad}");
    }
    outln!(
        "{}",
        qroute::app::render::collect_summary(summary, &spec.out)
    );
    match &done.compaction {
        Ok(r) if r.merged_files > 0 => outln!(
            "compacted {} file(s) into {} ({} -> {})",
            r.merged_files,
            r.written.len(),
            human_bytes(r.bytes_before as f64),
            human_bytes(r.bytes_after as f64)
        ),
        Ok(_) => {}
        Err(e) => eprintln!(
            "warning: the recorded files were kept as they are, not compacted ({e}); \
             `qroute telemetry compact {}` does it later",
            Path::display(&spec.out)
        ),
    }
    Ok(super::code(
        summary.bad_circuits.is_empty() && summary.interrupted == 0,
    ))
}
