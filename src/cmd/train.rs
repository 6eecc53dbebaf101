//! `qroute train`.

use std::process::ExitCode;

use qroute::app::train::TrainParams;
use qroute::train::Step;

pub(crate) fn run(args: &TrainParams) -> anyhow::Result<ExitCode> {
    let bar = super::bar(true);
    bar.set_message("fits");
    let (telemetry, holdout) = (args.telemetry.clone(), args.holdout_families.clone());
    let hyper = args.hyperparameters();
    let t = qroute::app::train::run(telemetry, &args.out, holdout, hyper, |step| match step {
        Step::Read { rows, bad_files } => bar.suspend(|| {
            for (f, why) in bad_files {
                eprintln!("error: {}: {why} (skipped)", f.display());
            }
            eprintln!("{rows} telemetry rows read");
        }),
        Step::Planned(n) => bar.set_length(*n as u64),
        Step::Fitted => bar.inc(1),
    })?;
    bar.finish_and_clear();
    outln!("{}", qroute::app::render::trained(&t, &args.out));
    Ok(super::code(t.bad_files.is_empty()))
}
