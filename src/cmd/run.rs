//! `qroute run`.

use std::path::Path;
use std::process::ExitCode;

use qroute::app::batch::{self, Event};
use qroute::app::render::{run_summary, run_table, short};
use qroute::app::router::Executors;
use qroute::config::Config;
use qroute::telemetry::{TelemetryWriter, WriterOptions};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    route: super::route::RouteArgs,
    #[command(flatten)]
    run: RunArgs,
}

/// Options of `run` and `plan --execute` beyond routing.
#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) exec: super::ExecArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Jobs waiting on the queue at once (with --redis; without it jobs run one by one).
    #[arg(long, default_value_t = 64)]
    pub(crate) in_flight: usize,
}

pub(crate) fn run(args: &Args, config: &Config, path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let opts = args.run.exec.options("run")?;
    let constraints = args.route.constraints()?;
    let (jobs, bad) = super::load_jobs(&args.route.files)?;
    let model = &args.route.circuit.model;
    let ex = Executors::build(model, config, path, args.run.exec.via()?, opts.isolation)?;
    let writer = TelemetryWriter::open(&args.run.exec.telemetry, WriterOptions::default())?;
    let runner = ex.runner(Some(&writer), opts);
    let stop = super::stop_on_ctrl_c()?;
    let bar = super::bar(jobs.len() as u64);
    let started = std::time::Instant::now();
    // Through the queue, up to --in-flight jobs wait on workers at once; here, one by one.
    let threads = if ex.queued { args.run.in_flight } else { 1 };
    let done = batch::run(&runner, &jobs, &constraints, threads, stop, |e| match e {
        Event::Started(job) => bar.set_message(short(&job.name)),
        Event::Finished(_) => bar.inc(1),
    })?;
    if done.not_run > 0 {
        bar.println(format!("interrupted: {} circuit(s) not run", done.not_run));
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let wstats = writer.close()?;
    let reports = &done.reports;
    let failed = reports.iter().filter(|r| r.success().is_none()).count();
    if args.run.json {
        let stats = ex.router.stats();
        let all = serde_json::json!({ "jobs": reports, "stats": stats });
        outln!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        out!("{}\n{}", run_table(reports), run_summary(reports, elapsed));
        let version = ex.router.model_version();
        if ex.queued {
            outln!("telemetry: recorded by the workers (model set {version})");
        } else {
            outln!(
                "telemetry: {} row(s) in {} (model set {version})",
                wstats.rows,
                args.run.exec.telemetry.display(),
            );
        }
    }
    Ok(super::code(bad == 0 && failed == 0 && done.not_run == 0))
}
