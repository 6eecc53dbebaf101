//! `qroute route` and `qroute run`: printing what the library's router decides and does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use qroute::backend::{Isolation, Registry};
use qroute::circuit::qasm;
use qroute::config::Config;
use qroute::display::{Align, human_ms, table};
use qroute::model::ModelSet;
use qroute::route::run::{IsolationPolicy, Job, RunOptions, Runner};
use qroute::route::{Constraints, Router, Strategy};
use qroute::telemetry::{TelemetryWriter, WriterOptions};

/// What every routing command shares.
#[derive(Args, Debug)]
pub(crate) struct RouteArgs {
    /// OpenQASM 2 files or directories (searched recursively for *.qasm).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Strategy (default: the configuration's, else `predictive`).
    #[arg(long, value_enum)]
    pub(crate) strategy: Option<Strategy>,
    /// Most a circuit may cost.
    #[arg(long)]
    pub(crate) max_cost: Option<f64>,
    /// Latest acceptable finish per circuit, seconds.
    #[arg(long)]
    pub(crate) deadline: Option<f64>,
    #[command(flatten)]
    pub(crate) circuit: CircuitArgs,
}

/// Per-circuit settings and the model set, shared by `route`, `run` and `plan`.
#[derive(Args, Debug)]
pub(crate) struct CircuitArgs {
    /// Least acceptable fidelity, in [0, 1]; 1 refuses approximate backends that may
    /// truncate.
    #[arg(long)]
    pub(crate) min_fidelity: Option<f64>,
    /// Shots per circuit.
    #[arg(long, default_value_t = 1024)]
    pub(crate) shots: u64,
    /// Model set directory.
    #[arg(long, env = "QROUTE_MODEL", default_value = "models/default")]
    pub(crate) model: PathBuf,
}

/// A positive number of seconds given to `flag`, as a duration.
pub(crate) fn seconds(flag: &str, v: Option<f64>) -> anyhow::Result<Option<Duration>> {
    match v {
        Some(d) => match qroute::bounds::positive_seconds(d) {
            Some(d) => Ok(Some(d)),
            None => bail!(
                "{flag} must be a positive number of seconds up to {:e}, got {d}",
                qroute::bounds::MAX_SECONDS
            ),
        },
        None => Ok(None),
    }
}

impl RouteArgs {
    /// The constraints of the flags, checked once before any circuit is routed.
    fn constraints(&self) -> anyhow::Result<Constraints> {
        let c = Constraints {
            strategy: self.strategy,
            deadline: seconds("--deadline", self.deadline)?,
            max_cost: self.max_cost,
            ..self.circuit.constraints()
        };
        c.check()?;
        Ok(c)
    }
}

impl CircuitArgs {
    /// The constraints of the flags (unchecked: the caller adds its own, then checks).
    fn constraints(&self) -> Constraints {
        Constraints {
            shots: Some(self.shots),
            min_fidelity: self.min_fidelity,
            ..Constraints::default()
        }
    }
}

/// Context of an error in the configuration's contents.
pub(crate) fn invalid_config(config_path: Option<&Path>) -> String {
    format!(
        "invalid configuration {}",
        config_path.map_or("qroute.toml".into(), |p| p.display().to_string())
    )
}

/// The router every command builds: the model set in `model`, the configuration's
/// `[router]` and backends, in-process.
pub(crate) fn router(
    model: &Path,
    config: &Config,
    config_path: Option<&Path>,
) -> anyhow::Result<Router> {
    let registry = Registry::from_config(config, &Isolation::InProcess)?;
    router_with(model, config, config_path, registry)
}

/// The router over `registry` with the model set at `model`.
pub(crate) fn router_with(
    model: &Path,
    config: &Config,
    config_path: Option<&Path>,
    registry: Registry,
) -> anyhow::Result<Router> {
    let models = ModelSet::load(model)
        .with_context(|| format!("cannot load the model set {}", model.display()))?;
    let rc = config
        .router
        .check()
        .with_context(|| invalid_config(config_path))?;
    Ok(Router::new(models, registry, rc))
}

/// Parses every file; the bad ones are reported with position and counted.
fn load_jobs(files: &[PathBuf]) -> anyhow::Result<(Vec<Job>, usize)> {
    let paths = qroute::circuit::files::discover(files)?;
    if paths.is_empty() {
        bail!("no *.qasm files found in the given paths");
    }
    let mut jobs = Vec::new();
    let mut bad = 0;
    for p in paths {
        match qasm::parse_file(&p) {
            Ok(c) => {
                let (source, family) = super::corpus_tags(&p);
                let mut job = Job::new(p.display().to_string(), c);
                job.source = source;
                job.family = family;
                jobs.push(job);
            }
            Err(e) => {
                eprintln!("error: {e}");
                bad += 1;
            }
        }
    }
    Ok((jobs, bad))
}

fn short(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map_or(name.to_string(), |n| n.to_string_lossy().into_owned())
}

/// Output of `qroute route`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteFormat {
    /// A table and one reason per circuit.
    Table,
    /// Every recommendation in full.
    Json,
}

/// `qroute route`.
pub(crate) fn route_cmd(
    args: &RouteArgs,
    format: RouteFormat,
    config: &Config,
    config_path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let router = router(&args.circuit.model, config, config_path)?;
    let constraints = args.constraints()?;
    let (jobs, mut bad) = load_jobs(&args.files)?;
    let mut rows = vec![vec![
        "circuit".to_string(),
        "backend".into(),
        "predicted".into(),
        "90% interval".into(),
        "cost".into(),
        "confidence".into(),
    ]];
    let mut reasons = Vec::new();
    let mut json = Vec::new();
    for job in &jobs {
        match router.recommend_circuit(&job.circuit, &job.features, &constraints) {
            Ok(rec) => {
                let e = &rec.chosen;
                rows.push(vec![
                    short(&job.name),
                    rec.backend.clone(),
                    human_ms(e.latency_ms),
                    format!("{}–{}", human_ms(e.low_ms), human_ms(e.high_ms)),
                    format!("{:.2e}", e.cost),
                    format!("{:.2}", rec.confidence),
                ]);
                reasons.push(format!("{}: {}", short(&job.name), rec.reason));
                json.push(serde_json::json!({ "circuit": job.name, "recommendation": rec }));
            }
            Err(e) => {
                eprintln!("error: {}: {e}", job.name);
                json.push(serde_json::json!({ "circuit": job.name, "error": e.to_string() }));
                bad += 1;
            }
        }
    }
    match format {
        RouteFormat::Json => outln!("{}", serde_json::to_string_pretty(&json)?),
        RouteFormat::Table => {
            out!("{}", table(&rows, Align::FirstLeft));
            outln!();
            for r in reasons {
                outln!("{r}");
            }
            outln!(
                "\nmodel set {}, strategy {}",
                router.model_version(),
                constraints.strategy.unwrap_or(router.config().strategy)
            );
        }
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// How circuits are executed, shared by `run`, `plan --execute` and `serve`.
#[derive(Args, Debug)]
pub(crate) struct ExecArgs {
    /// Telemetry directory for every attempt.
    #[arg(long, default_value = "telemetry/runs")]
    pub(crate) telemetry: PathBuf,
    /// Wall-clock limit per attempt in an executor process, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) timeout: f64,
    /// Where jobs run: `auto` (in-process when predicted far below the timeout and memory
    /// limit, else an executor process), `process` or `in-process`.
    #[arg(long, value_enum, default_value_t = IsolationArg::Auto)]
    pub(crate) isolation: IsolationArg,
    /// Seed of every run.
    #[arg(long, short = 's', default_value_t = 0)]
    pub(crate) seed: u64,
    #[cfg(feature = "redis")]
    #[command(flatten)]
    pub(crate) queue: super::queue::RedisArgs,
}

/// Options of `qroute run` beyond routing.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) exec: ExecArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Jobs waiting on the queue at once (with --redis; without it jobs run one by one).
    #[arg(long, default_value_t = 64)]
    pub(crate) in_flight: usize,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IsolationArg {
    Auto,
    Process,
    InProcess,
}

/// `qroute run`.
pub(crate) fn run_cmd(
    args: &RouteArgs,
    run: &RunArgs,
    config: &Config,
    config_path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    static STOP: AtomicBool = AtomicBool::new(false);
    // Changed only when jobs go through a Redis queue.
    #[cfg_attr(not(feature = "redis"), allow(unused_mut))]
    let mut opts = run_options(&run.exec, "run")?;
    let constraints = args.constraints()?;
    let (jobs, bad) = load_jobs(&args.files)?;
    #[cfg(feature = "redis")]
    let queue = run.exec.queue.check()?;
    #[cfg(not(feature = "redis"))]
    let queue: Option<()> = None;
    // With --redis every backend runs behind the queue: no executor processes here, and
    // the workers record the executions.
    #[cfg(feature = "redis")]
    let (router, _monitor, isolated) = match &queue {
        Some(q) => {
            let (r, m) = super::queue::queued_router(&args.circuit.model, config, config_path, q)?;
            opts.isolation = IsolationPolicy::Never;
            (r, Some(m), None)
        }
        None => (
            std::sync::Arc::new(router(&args.circuit.model, config, config_path)?),
            None,
            Some(Registry::from_config(config, &super::process_isolation()?)?),
        ),
    };
    #[cfg(not(feature = "redis"))]
    let (router, isolated) = (
        std::sync::Arc::new(router(&args.circuit.model, config, config_path)?),
        Some(Registry::from_config(config, &super::process_isolation()?)?),
    );
    std::fs::create_dir_all(&run.exec.telemetry)
        .with_context(|| format!("cannot create {}", run.exec.telemetry.display()))?;
    let writer = TelemetryWriter::open(&run.exec.telemetry, WriterOptions::default())?;
    let runner = Runner::new(&router, isolated.as_ref(), Some(&writer), opts);
    ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    let bar = ProgressBar::new(jobs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    // Through the queue, up to --in-flight jobs wait on workers at once; here, one by one.
    let threads = if queue.is_some() {
        run.in_flight.clamp(1, jobs.len().max(1))
    } else {
        1
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<qroute::route::run::JobReport>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let failure: std::sync::Mutex<Option<anyhow::Error>> = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    if STOP.load(Ordering::Relaxed) {
                        break;
                    }
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(n) else { break };
                    bar.set_message(short(&job.name));
                    match runner.run(n, job, &constraints) {
                        Ok(r) => *slots[n].lock().unwrap_or_else(|p| p.into_inner()) = Some(r),
                        Err(e) => {
                            failure
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e.into());
                            STOP.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                    bar.inc(1);
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let reports: Vec<_> = slots
        .into_iter()
        .filter_map(|s| s.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect();
    if reports.len() < jobs.len() {
        bar.println(format!(
            "interrupted: {} circuit(s) not run",
            jobs.len() - reports.len()
        ));
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let wstats = writer.close()?;
    let failed = reports.iter().filter(|r| r.success().is_none()).count();
    if run.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "jobs": reports,
                "stats": router.stats(),
            }))?
        );
    } else {
        out!("{}", render_run(&reports));
        outln!();
        out!("{}", render_summary(&reports, elapsed));
        if queue.is_some() {
            outln!(
                "telemetry: recorded by the workers (model set {})",
                router.model_version()
            );
        } else {
            outln!(
                "telemetry: {} row(s) in {} (model set {})",
                wstats.rows,
                run.exec.telemetry.display(),
                router.model_version()
            );
        }
    }
    let interrupted = reports.len() < jobs.len();
    Ok(if bad == 0 && failed == 0 && !interrupted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn render_run(reports: &[qroute::route::run::JobReport]) -> String {
    let mut rows = vec![vec![
        "circuit".to_string(),
        "backend".into(),
        "where".into(),
        "predicted".into(),
        "actual".into(),
        "cost".into(),
        "status".into(),
    ]];
    for r in reports {
        let tried: Vec<&str> = r.attempts.iter().map(|a| a.backend.as_str()).collect();
        let last = r.attempts.last();
        rows.push(vec![
            short(&r.name),
            if tried.is_empty() {
                "-".into()
            } else {
                tried.join(" → ")
            },
            last.map_or("-".into(), |a| {
                if a.isolated { "process" } else { "in-process" }.to_string()
            }),
            last.map_or("-".into(), |a| human_ms(a.predicted_ms)),
            last.and_then(|a| a.wall_ms).map_or("-".into(), human_ms),
            last.and_then(|a| a.cost)
                .map_or("-".into(), |c| format!("{c:.2e}")),
            match (r.success(), &r.error) {
                (Some(_), _) if r.attempts.len() > 1 => "ok after fallback".into(),
                (Some(_), _) => "ok".into(),
                (None, Some(e)) => format!("failed: {e}"),
                (None, None) => "failed".into(),
            },
        ]);
    }
    table(&rows, Align::FirstLeft)
}

fn render_summary(reports: &[qroute::route::run::JobReport], elapsed: Duration) -> String {
    let ok: Vec<_> = reports.iter().filter_map(|r| r.success()).collect();
    let actual: f64 = ok.iter().filter_map(|a| a.wall_ms).sum();
    let predicted: f64 = ok.iter().map(|a| a.predicted_ms).sum();
    let cost: f64 = reports
        .iter()
        .flat_map(|r| &r.attempts)
        .filter_map(|a| a.cost)
        .sum();
    let mut s = format!(
        "{} of {} circuit(s) ran in {}: simulation time {} actual, {} predicted; cost {:.3e}\n",
        ok.len(),
        reports.len(),
        human_ms(elapsed.as_secs_f64() * 1e3),
        human_ms(actual),
        human_ms(predicted),
        cost
    );
    // The same circuits always on statevector, as the model predicts it.
    let both: Vec<(f64, f64)> = reports
        .iter()
        .filter_map(|r| Some((r.success()?.wall_ms?, r.baseline_ms?)))
        .collect();
    let refused = ok.len() - both.len();
    if !both.is_empty() {
        let (a, b): (f64, f64) = both
            .iter()
            .fold((0.0, 0.0), |(x, y), (a, b)| (x + a, y + b));
        s.push_str(&format!(
            "always-statevector would take {} (as the model predicts it) on the {} circuit(s) it \
             can take; routed, they took {}: {}{}\n",
            human_ms(b),
            both.len(),
            human_ms(a),
            if a <= b {
                format!("{:.1}× faster", b / a.max(1e-9))
            } else {
                format!("{:.1}× slower", a / b.max(1e-9))
            },
            if refused > 0 {
                format!("; statevector cannot take the other {refused}")
            } else {
                String::new()
            }
        ));
    }
    for (isolated, label) in [(false, "in-process"), (true, "executor process")] {
        let v: Vec<f64> = ok
            .iter()
            .filter(|a| a.isolated == isolated)
            .map(|a| a.overhead_ms)
            .collect();
        if !v.is_empty() {
            s.push_str(&format!(
                "{label}: {} job(s), mean overhead beyond the simulation {}\n",
                v.len(),
                human_ms(v.iter().sum::<f64>() / v.len() as f64)
            ));
        }
    }
    let fallbacks = reports.iter().filter(|r| r.attempts.len() > 1).count();
    if fallbacks > 0 {
        s.push_str(&format!(
            "{fallbacks} circuit(s) needed a fallback backend\n"
        ));
    }
    s
}

/// Arguments of `qroute plan`.
#[derive(Args, Debug)]
pub(crate) struct PlanArgs {
    /// OpenQASM 2 files or directories (searched recursively for *.qasm).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Backend slots: how many jobs each backend runs at once, e.g. `statevector=2,mps-64=1`.
    #[arg(long)]
    pub(crate) slots: qroute::plan::Slots,
    /// What to minimise.
    #[arg(long, value_enum, default_value_t = qroute::plan::Objective::Makespan)]
    pub(crate) objective: qroute::plan::Objective,
    /// When the whole batch must be done, seconds.
    #[arg(long)]
    pub(crate) deadline: Option<f64>,
    /// Most the whole batch may cost.
    #[arg(long)]
    pub(crate) budget: Option<f64>,
    #[command(flatten)]
    pub(crate) circuit: CircuitArgs,
    /// Run the plan (one worker per slot, with rebalancing) and compare.
    #[arg(long)]
    pub(crate) execute: bool,
}

/// `qroute plan`.
pub(crate) fn plan_cmd(
    args: &PlanArgs,
    run: &RunArgs,
    config: &Config,
    config_path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    use qroute::plan::{PlanRequest, execute, plan};
    let deadline = seconds("--deadline", args.deadline)?;
    if let Some(b) = args.budget
        && !(b.is_finite() && b >= 0.0)
    {
        bail!("--budget must be a number ≥ 0, got {b}");
    }
    let router = router(&args.circuit.model, config, config_path)?;
    let constraints = args.circuit.constraints();
    constraints.check()?;
    let (jobs, bad) = load_jobs(&args.files)?;
    let req = PlanRequest {
        slots: args.slots.clone(),
        objective: args.objective,
        deadline,
        budget: args.budget,
        constraints: constraints.clone(),
    };
    let opts = run_options(&run.exec, "plan")?;
    let p = plan(&router, &jobs, &req)?;
    let mut executed = None;
    if args.execute {
        let isolated = Registry::from_config(config, &super::process_isolation()?)?;
        std::fs::create_dir_all(&run.exec.telemetry)
            .with_context(|| format!("cannot create {}", run.exec.telemetry.display()))?;
        let writer = TelemetryWriter::open(&run.exec.telemetry, WriterOptions::default())?;
        let runner = Runner::new(&router, Some(&isolated), Some(&writer), opts);
        executed = Some(execute(&p, &jobs, &runner, &constraints)?);
        writer.close()?;
    }
    if run.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "plan": p, "executed": executed }))?
        );
    } else {
        let mut rows = vec![vec![
            "circuit".to_string(),
            "backend".into(),
            "slot".into(),
            "start".into(),
            "predicted".into(),
            "cost".into(),
        ]];
        for a in &p.assignments {
            rows.push(vec![
                short(&a.name),
                a.backend.clone(),
                a.slot.to_string(),
                human_ms(a.start_ms),
                human_ms(a.duration_ms),
                format!("{:.2e}", a.cost),
            ]);
        }
        out!("{}", table(&rows, Align::FirstLeft));
        for (_, name, why) in &p.unplaceable {
            let reasons: Vec<String> = why.iter().map(|i| i.to_string()).collect();
            outln!(
                "{}: no slot backend can run it: {}",
                short(name),
                reasons.join("; ")
            );
        }
        outln!(
            "\n{} plan: makespan {} predicted, cost {:.3e}{}{}",
            p.objective,
            human_ms(p.makespan_ms),
            p.cost,
            if p.meets_deadline {
                ""
            } else {
                "; misses the deadline"
            },
            if p.within_budget {
                ""
            } else {
                "; over the budget"
            }
        );
        for w in &p.why {
            outln!("- {w}");
        }
        if let Some(x) = &executed {
            outln!(
                "executed: makespan {} actual against {} predicted; cost {:.3e} actual against \
                 {:.3e} predicted; {} job(s) rebalanced, {} failed",
                human_ms(x.actual_makespan_ms),
                human_ms(x.predicted_makespan_ms),
                x.actual_cost,
                x.predicted_cost,
                x.rebalanced,
                x.failed
            );
        }
    }
    let failed = executed.as_ref().map_or(0, |x| x.failed);
    Ok(if bad == 0 && p.unplaceable.is_empty() && failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// How `run` and `plan --execute` run jobs; refuses a timeout that is not a positive number.
pub(crate) fn run_options(run: &ExecArgs, what: &str) -> anyhow::Result<RunOptions> {
    let timeout = seconds("--timeout", Some(run.timeout))?.unwrap_or_default();
    Ok(RunOptions {
        timeout,
        seed: run.seed,
        run_id: format!(
            "{what}-{}-{}",
            qroute::telemetry::host_name(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros())
        ),
        isolation: match run.isolation {
            IsolationArg::Auto => IsolationPolicy::default(),
            IsolationArg::Process => IsolationPolicy::Always,
            IsolationArg::InProcess => IsolationPolicy::Never,
        },
        baseline: Some("statevector".into()),
    })
}
