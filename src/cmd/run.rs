//! `qroute run`.

use std::path::Path;
use std::process::ExitCode;

use qroute::app::batch::{self, Event};
use qroute::app::render::{run_summary, run_table, short};
use qroute::app::router::Executors;
use qroute::config::Config;

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
    let stop = super::stop_on_ctrl_c()?;
    let bar = super::bar(jobs.len() as u64);
    let telemetry = &args.run.exec.telemetry;
    let ran = batch::run_recorded(
        &ex,
        telemetry,
        opts,
        &jobs,
        &constraints,
        args.run.in_flight,
        stop,
        |e| match e {
            Event::Started(job) => bar.set_message(short(&job.name)),
            Event::Finished(_) => bar.inc(1),
        },
    )?;
    bar.finish_and_clear();
    let done = &ran.batch;
    if done.not_run > 0 {
        eprintln!("interrupted: {} circuit(s) not run", done.not_run);
    }
    let reports = &done.reports;
    let failed = reports.iter().filter(|r| r.success().is_none()).count();
    if args.run.json {
        let stats = ex.router.stats();
        let all = serde_json::json!({ "jobs": reports, "stats": stats });
        outln!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        out!(
            "{}\n{}",
            run_table(reports),
            run_summary(reports, ran.elapsed)
        );
        let version = ex.router.model_version();
        if ex.queued {
            outln!("telemetry: recorded by the workers (model set {version})");
        } else {
            outln!(
                "telemetry: {} row(s) in {} (model set {version})",
                ran.rows,
                telemetry.display(),
            );
        }
    }
    Ok(super::code(bad == 0 && failed == 0 && done.not_run == 0))
}
