//! `qroute collect`.

use std::process::ExitCode;

use qroute::app::collect::CollectParams;
use qroute::app::render;
use qroute::config::Config;
use qroute::exec::collect::Progress;

pub(crate) fn run(args: &CollectParams, config: &Config) -> anyhow::Result<ExitCode> {
    let (bar, out) = (super::bar(true), args.out.display());
    let done = args.run(config, super::stop_on_ctrl_c()?, |p| match p {
        Progress::Planned { todo, done_before } => {
            bar.set_length(todo as u64);
            if done_before > 0 {
                bar.suspend(|| eprintln!("resuming: {done_before} attempt(s) already in {out}"));
            }
        }
        Progress::Job {
            circuit,
            backend,
            status,
        } => {
            bar.inc(1);
            bar.set_message(format!(
                "{} on {backend}: {}",
                render::short(&circuit),
                status.as_str()
            ));
        }
    })?;
    bar.finish_and_clear();
    done.summary
        .bad_circuits
        .iter()
        .for_each(|bad| eprintln!("error: {bad}"));
    outln!("{}", render::collected(&done, &args.out));
    if let Err(e) = &done.compaction {
        eprintln!(
            "warning: the recorded files were kept as they are, not compacted ({e}); \
             `qroute telemetry compact {out}` does it later"
        );
    }
    Ok(super::code(done.all_ok()))
}
