//! Embedding the router in a host program: route, run in-process, feed the result back.
//!
//! ```sh
//! cargo run --release --example embed_router
//! ```
//!
//! No server, no configuration file: the shipped model set (`models/default`) and prism-q's
//! simulators in this process.

use std::error::Error;
use std::time::Duration;

use qroute::backend::Isolation;
use qroute::circuit::generate::{GenKind, GenSpec, generate};
use qroute::config::Config;
use qroute::exec::{IsolationPolicy, RunOptions, Runner};
use qroute::model::ModelSet;
use qroute::route::Job;
use qroute::route::{Constraints, Router, RouterConfig, Strategy};

fn main() -> Result<(), Box<dyn Error>> {
    let models = ModelSet::load("models/default".as_ref())?;
    let registry = Config::default().registry(&Isolation::InProcess)?;
    let router = Router::new(models, registry, RouterConfig::default());

    // A few circuits a host program might have built itself.
    let jobs: Vec<Job> = [
        (GenKind::Ghz, 40, None),
        (GenKind::Qft, 12, None),
        (GenKind::Clifford, 60, Some(20)),
        (GenKind::Random, 10, Some(20)),
    ]
    .into_iter()
    .map(|(kind, qubits, depth)| {
        let spec = GenSpec {
            kind,
            qubits,
            depth,
            seed: 7,
        };
        let circuit = generate(&spec.check().expect("valid generator spec"));
        Job::new(format!("{kind:?} n={qubits}"), circuit)
    })
    .collect();

    // 1. Recommendations alone: where each would run, and why.
    let constraints = Constraints {
        strategy: Some(Strategy::Predictive),
        deadline: Some(Duration::from_secs(10)),
        ..Constraints::default()
    };
    for job in &jobs {
        let rec = router.recommend_circuit(&job.circuit, &job.features, &constraints)?;
        println!(
            "{:<16} -> {:<20} {:>9.3} ms (90%: {:.3}–{:.3})  {}",
            job.name,
            rec.backend,
            rec.chosen.latency_ms,
            rec.chosen.low_ms,
            rec.chosen.high_ms,
            rec.reason
        );
    }

    // 2. Run them: the router picks, the runner executes (in this process here), falls back
    //    on failure, and feeds every attempt back to the router.
    let runner = Runner::new(
        &router,
        None,
        None,
        RunOptions {
            timeout: Duration::from_secs(30),
            seed: 1,
            run_id: "embed-example".into(),
            isolation: IsolationPolicy::Never,
            baseline: None,
        },
    );
    for (n, job) in jobs.iter().enumerate() {
        let report = runner.run(n, job, &constraints)?;
        match report.success() {
            Some(a) => println!(
                "{:<16} ran on {:<20} predicted {:>9.3} ms, took {:>9.3} ms",
                job.name,
                a.backend,
                a.predicted_ms,
                a.wall_ms.unwrap_or(f64::NAN)
            ),
            None => println!("{:<16} failed: {:?}", job.name, report.error),
        }
    }

    // 3. What the router has learnt.
    let stats = router.stats();
    println!(
        "\n{} decisions, {} executions observed, cost {:.3e}",
        stats.routing.decisions, stats.realtime.observed, stats.cost.total
    );
    for (backend, e) in &stats.debug.prediction_error {
        println!(
            "  {backend}: {} run(s), median APE {:.0}%",
            e.n,
            100.0 * e.median_ape.unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
