//! Figures of a replay (feature `plots`): SVG and PNG with plotters.
//!
//! Regret per policy, CDF of per-circuit slowdowns, the routers' predicted against recorded
//! times per backend, and, when those modes ran, completion times under load and the rolling
//! slowdown through a drift. Text needs a TrueType font: `QROUTE_FONT` names one, else a few
//! common system paths are tried (DejaVu Sans, Liberation Sans, Arial); without one no figure
//! is drawn and [`PlotError::NoFont`] says how to get one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Replay;
use super::sim::{DriftResult, DriftSpec, LoadResult};

/// Why figures could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlotError {
    /// No TrueType font was found.
    #[error(
        "no TrueType font for the figures' text: set QROUTE_FONT to a .ttf file, or install one \
         (Debian: apt-get install fonts-dejavu-core)"
    )]
    NoFont,
    /// Drawing or writing a figure failed.
    #[error("{path}: {message}")]
    Draw {
        /// The figure.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

const FONT_PATHS: [&str; 6] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Registers a font for the figures once per process.
fn font() -> Result<(), PlotError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        let candidates = std::env::var_os("QROUTE_FONT")
            .map(PathBuf::from)
            .into_iter()
            .chain(FONT_PATHS.iter().map(PathBuf::from));
        for p in candidates {
            if let Ok(bytes) = std::fs::read(&p) {
                // plotters keeps fonts for the life of the process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    });
    if ok { Ok(()) } else { Err(PlotError::NoFont) }
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// Draws `f` as `dir/name.svg` and `dir/name.png`.
fn both(
    dir: &Path,
    name: &str,
    size: (u32, u32),
    f: &dyn Fn(&DrawingArea<SVGBackend, Shift>) -> Drawn,
    g: &dyn Fn(&DrawingArea<BitMapBackend, Shift>) -> Drawn,
    out: &mut Vec<String>,
) -> Result<(), PlotError> {
    let svg = dir.join(format!("{name}.svg"));
    let png = dir.join(format!("{name}.png"));
    let fail = |path: &Path, e: Box<dyn std::error::Error>| PlotError::Draw {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&svg, e.into()))?;
        f(&root).map_err(|e| fail(&svg, e))?;
        root.present().map_err(|e| fail(&svg, e.into()))?;
    }
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&png, e.into()))?;
        g(&root).map_err(|e| fail(&png, e))?;
        root.present().map_err(|e| fail(&png, e.into()))?;
    }
    out.push(name.to_string());
    Ok(())
}

/// A bar per label, value on a linear axis from 0.
fn bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y_desc: &str,
    rows: &[(String, f64)],
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let n = rows.len();
    let top = rows.iter().map(|r| r.1).fold(0.0, f64::max).max(1e-9) * 1.1;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(90)
        .y_label_area_size(70)
        // Integer ranges include their end: n bars are 0..n - 1.
        .build_cartesian_2d((0..n.max(1) - 1).into_segmented(), 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => rows.get(*i).map_or(String::new(), |r| r.0.clone()),
            _ => String::new(),
        })
        .x_label_style(("sans-serif", 12))
        .y_desc(y_desc)
        .draw()?;
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), r.1),
            ],
            Palette99::pick(i).mix(0.8).filled(),
        );
        bar.set_margin(0, 0, 6, 6);
        bar
    }))?;
    Ok(())
}

/// The legend's marker for line series `i`.
fn line_key(i: usize) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| {
        PathElement::new(
            vec![(x, y), (x + 18, y)],
            Palette99::pick(i).stroke_width(2),
        )
    }
}

/// Draws the legend at `at`, on a light background.
fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Per-circuit slowdowns of each policy, sorted.
fn slowdowns(replay: &Replay) -> Vec<(String, Vec<f64>)> {
    let mut by: Vec<Vec<f64>> = vec![Vec::new(); replay.results.len()];
    for c in &replay.choices {
        let o = replay.circuits[c.circuit].oracle_ms.max(1e-9);
        by[c.policy].push((c.time_ms / o).max(1.0));
    }
    replay
        .results
        .iter()
        .zip(by)
        .map(|(r, mut v)| {
            v.sort_by(f64::total_cmp);
            (r.policy.clone(), v)
        })
        .collect()
}

fn cdf<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, series: &[(String, Vec<f64>)]) -> Drawn
where
    DB::ErrorType: 'static,
{
    let max = series
        .iter()
        .flat_map(|s| s.1.last())
        .fold(2.0f64, |a, b| a.max(*b));
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Per-circuit slowdown against the oracle (CDF)",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((1.0..max * 1.2).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("slowdown (time / oracle's time), log scale")
        .y_desc("share of circuits")
        .draw()?;
    for (i, (name, v)) in series.iter().enumerate() {
        let n = v.len().max(1) as f64;
        let color = Palette99::pick(i).stroke_width(2);
        chart
            .draw_series(LineSeries::new(
                v.iter().enumerate().map(|(k, x)| (*x, (k + 1) as f64 / n)),
                color,
            ))?
            .label(name.clone())
            .legend(line_key(i));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

/// (backend, predicted ms, recorded ms) of the routers' successful choices.
fn predictions(replay: &Replay) -> Vec<(String, f64, f64)> {
    replay
        .choices
        .iter()
        .filter_map(|c| match (c.predicted_ms, c.lost) {
            (Some(p), false) if p > 0.0 && c.time_ms > 0.0 => {
                Some((c.backend.clone(), p, c.time_ms))
            }
            _ => None,
        })
        .collect()
}

fn predicted<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: &[(String, f64, f64)],
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let lo = points
        .iter()
        .map(|p| p.1.min(p.2))
        .fold(f64::INFINITY, f64::min)
        .max(1e-4);
    let hi = points
        .iter()
        .map(|p| p.1.max(p.2))
        .fold(lo * 10.0, f64::max);
    let range = (lo / 2.0)..(hi * 2.0);
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Predicted against recorded time of the routers' choices",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(range.clone().log_scale(), range.clone().log_scale())?;
    chart
        .configure_mesh()
        .x_desc("predicted, ms")
        .y_desc("recorded, ms")
        .draw()?;
    chart.draw_series(LineSeries::new(
        [(range.start, range.start), (range.end, range.end)],
        BLACK.mix(0.5),
    ))?;
    let backends: Vec<&str> = {
        let mut b: Vec<&str> = points.iter().map(|p| p.0.as_str()).collect();
        b.sort_unstable();
        b.dedup();
        b
    };
    for (i, b) in backends.iter().enumerate() {
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.0 == *b)
                    .map(|p| Circle::new((p.1, p.2), 3, Palette99::pick(i).mix(0.7).filled())),
            )?
            .label(b.to_string())
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, Palette99::pick(i).filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

fn drift_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &DriftSpec,
    results: &[DriftResult],
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let n = results.first().map_or(1, |r| r.rolling.len()).max(2);
    let from = (n as f64 * spec.at) as usize;
    let max = results
        .iter()
        .flat_map(|r| r.rolling.iter())
        .fold(2.0f64, |a, b| a.max(*b));
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "Rolling slowdown: `{}` {}× slower from circuit {from}",
                spec.backend, spec.factor
            ),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0..n, (0.9..max * 1.2).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("circuit (trace order)")
        .y_desc(format!(
            "geometric mean slowdown over {} circuits",
            spec.window
        ))
        .draw()?;
    chart.draw_series(LineSeries::new(
        [(from, 0.9), (from, max * 1.2)],
        BLACK.stroke_width(1),
    ))?;
    for (i, r) in results.iter().enumerate() {
        chart
            .draw_series(LineSeries::new(
                r.rolling.iter().enumerate().map(|(k, v)| (k, v.max(0.9))),
                Palette99::pick(i).stroke_width(2),
            ))?
            .label(r.policy.clone())
            .legend(line_key(i));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// Writes every figure into `dir`; returns their names (each as `.svg` and `.png`).
pub fn write_plots(
    dir: &Path,
    replay: &Replay,
    load: Option<&[LoadResult]>,
    drift: Option<(&DriftSpec, &[DriftResult])>,
) -> Result<Vec<String>, PlotError> {
    font()?;
    let mut out = Vec::new();
    let mut regret: Vec<(String, f64)> = replay
        .results
        .iter()
        .map(|r| (r.policy.clone(), r.regret))
        .collect();
    regret.sort_by(|a, b| a.1.total_cmp(&b.1));
    let title = "Regret per policy (total time / the oracle's)";
    both(
        dir,
        "regret",
        (900, 560),
        &|r| bars(r, title, "regret", &regret),
        &|r| bars(r, title, "regret", &regret),
        &mut out,
    )?;
    let s = slowdowns(replay);
    both(
        dir,
        "slowdown_cdf",
        (900, 600),
        &|r| cdf(r, &s),
        &|r| cdf(r, &s),
        &mut out,
    )?;
    let p = predictions(replay);
    if !p.is_empty() {
        both(
            dir,
            "predicted_vs_recorded",
            (800, 700),
            &|r| predicted(r, &p),
            &|r| predicted(r, &p),
            &mut out,
        )?;
    }
    if let Some(load) = load {
        let mut rows: Vec<(String, f64)> = load
            .iter()
            .map(|l| (l.policy.clone(), l.mean_completion_ms / 1e3))
            .collect();
        rows.sort_by(|a, b| a.1.total_cmp(&b.1));
        let title = "Mean completion time under load";
        both(
            dir,
            "load_completion",
            (900, 560),
            &|r| bars(r, title, "seconds", &rows),
            &|r| bars(r, title, "seconds", &rows),
            &mut out,
        )?;
    }
    if let Some((spec, results)) = drift {
        both(
            dir,
            "drift",
            (1000, 600),
            &|r| drift_lines(r, spec, results),
            &|r| drift_lines(r, spec, results),
            &mut out,
        )?;
    }
    Ok(out)
}

/// Markdown embedding the figures written by [`write_plots`].
pub fn figures_markdown(names: &[String]) -> String {
    let captions: BTreeMap<&str, &str> = [
        ("regret", "Regret per policy"),
        ("slowdown_cdf", "Per-circuit slowdown against the oracle"),
        ("predicted_vs_recorded", "Predicted against recorded time"),
        ("load_completion", "Mean completion time under load"),
        ("drift", "Rolling slowdown through the drift"),
    ]
    .into_iter()
    .collect();
    let mut s = String::from("\n## Figures\n\n");
    for n in names {
        let cap = captions.get(n.as_str()).copied().unwrap_or(n.as_str());
        s.push_str(&format!("![{cap}]({n}.svg) ([PNG]({n}.png))\n\n"));
    }
    s
}
