//! Parameter-space sharpness: Hessian spectra, spectral density, κ(r), kinks, trace, and the
//! loss increases of weight perturbations (worst case, average case, AWP).

use advland_schema::{SharpnessEstimate, SharpnessReport, WeightSharpnessResult};

use crate::label;
use crate::line::{Legend, LineChart, Series, Style};
use crate::plot::{Chart, FigureSpec, Plot};

/// Whether a positive series spans enough decades to be read better on a log axis.
fn wants_log(values: impl IntoIterator<Item = f64>) -> bool {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for v in values {
        if !(v.is_finite() && v > 0.0) {
            return false;
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    lo.is_finite() && hi / lo > 20.0
}

/// The figures of one sharpness report, by estimator: the signed eigenvalue spectrum and
/// each eigenvalue's convergence (hessian); κ(r) per objective and the worst-case ascent
/// (lipschitz); loss and gradient jumps along the line (kinks); the running trace estimate
/// (trace); the spectral density (density).
pub fn sharpness_figures(r: &SharpnessReport) -> Vec<FigureSpec> {
    let o = &r.objective;
    let what = match &o.attack {
        Some(a) => format!("{} loss, {}", label::objective(o.kind), label::attack(a)),
        None => format!("{} loss", label::objective(o.kind)),
    };
    match &r.estimate {
        SharpnessEstimate::Hessian(h) => {
            let values: Vec<(f64, f64)> = h
                .eigenvalues
                .iter()
                .enumerate()
                .map(|(i, e)| ((i + 1) as f64, e.value))
                .collect();
            let mut spectrum = vec![Series::new("eigenvalue λk", values, 0, Style::Markers)];
            if let Some(min) = h.lambda_min {
                spectrum.push(Series::new("λmin", vec![(1.0, min)], 1, Style::Markers));
            }
            let mut chart = LineChart::new(
                format!("top eigenvalues ({:?})", h.method).to_lowercase(),
                "index k (order found)",
                "Hessian eigenvalue λ (signed)",
                spectrum,
            )
            .integer_x();
            chart.reference_y = Some(0.0);
            let traces = h
                .eigenvalues
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let pts = e
                        .trace
                        .iter()
                        .enumerate()
                        .map(|(t, &v)| ((t + 1) as f64, v))
                        .collect();
                    Series::new(format!("λ{}", i + 1), pts, i, Style::Line)
                })
                .collect();
            let conv = LineChart::new("convergence", "iteration", "Rayleigh quotient", traces)
                .legend(Legend::LowerRight)
                .integer_x();
            vec![FigureSpec::new(
                "spectrum",
                Plot::grid(
                    format!("Hessian spectrum of the {what}"),
                    2,
                    vec![Chart::Lines(chart), Chart::Lines(conv)],
                ),
            )]
        }
        SharpnessEstimate::Lipschitz(l) => {
            let mut series = Vec::new();
            let mut worst = Vec::new();
            for (i, s) in l.objectives.iter().enumerate() {
                let name = label::objective(s.kind);
                let pts = |probes: &[advland_schema::RadiusProbe], mean: bool| {
                    probes
                        .iter()
                        .map(|p| (p.radius, if mean { p.kappa_mean } else { p.kappa_max }))
                        .collect::<Vec<_>>()
                };
                series.push(Series::new(
                    format!("{name}: max over random u"),
                    pts(&s.random, false),
                    i,
                    Style::LineMarkers,
                ));
                if !s.gradient_direction.is_empty() {
                    series.push(Series::new(
                        format!("{name}: along −∇"),
                        pts(&s.gradient_direction, false),
                        i,
                        Style::Dashed,
                    ));
                }
                worst.push(Series::new(
                    name,
                    s.worst_case
                        .trace
                        .iter()
                        .enumerate()
                        .map(|(t, &k)| (t as f64, k))
                        .collect(),
                    i,
                    Style::LineMarkers,
                ));
            }
            if let Some(e) = &l.local_entropy {
                series.push(Series::new(
                    format!("local-entropy map, γ = {}", e.gamma),
                    e.random.iter().map(|p| (p.radius, p.kappa_max)).collect(),
                    l.objectives.len(),
                    Style::LineMarkers,
                ));
            }
            let log_y = wants_log(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
            let kappa = LineChart::new(
                "κ(r) = ‖∇f(θ+ru) − ∇f(θ)‖ / r",
                "radius r (absolute, log scale)",
                if log_y { "κ (log scale)" } else { "κ" },
                series,
            )
            .log(true, log_y);
            let ascent = LineChart::new(
                "worst case on the smallest sphere",
                "ascent step",
                "κ",
                worst,
            )
            .legend(Legend::LowerRight)
            .integer_x();
            vec![FigureSpec::new(
                "kappa",
                Plot::grid(
                    format!("Gradient-Lipschitz ratio κ(r), {what}"),
                    2,
                    vec![Chart::Lines(kappa), Chart::Lines(ascent)],
                ),
            )]
        }
        SharpnessEstimate::WorstCase(w) => weight_figure("worst-case", w, &what),
        SharpnessEstimate::AverageCase(w) => weight_figure("average-case", w, &what),
        SharpnessEstimate::Awp(w) => weight_figure("awp", w, &what),
        SharpnessEstimate::Kinks(k) => {
            let loss = k.t.iter().copied().zip(k.loss.iter().copied()).collect();
            let mids: Vec<f64> = k.t.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
            let jumps = mids.into_iter().zip(k.jumps.iter().copied()).collect();
            let mut jc = LineChart::new(
                format!(
                    "gradient jumps (max {} at t={})",
                    crate::plot::fmt_tick(k.max_jump),
                    crate::plot::fmt_tick(k.max_jump_at)
                ),
                "t (midpoint of neighbouring grid points)",
                "‖g(tᵢ₊₁) − g(tᵢ)‖",
                vec![Series::new("jump", jumps, 1, Style::LineMarkers)],
            )
            .legend(Legend::Hidden);
            jc.reference_y = Some(k.median_jump);
            vec![FigureSpec::new(
                "kinks",
                Plot::grid(
                    format!("Kink profile along a line, {what}"),
                    2,
                    vec![
                        Chart::Lines(
                            LineChart::new(
                                "loss",
                                "t (position on the line)",
                                "loss (nats)",
                                vec![Series::new("loss", loss, 0, Style::Line)],
                            )
                            .legend(Legend::Hidden),
                        ),
                        Chart::Lines(jc),
                    ],
                ),
            )]
        }
        SharpnessEstimate::Trace(t) => {
            let run: Vec<(f64, f64)> = t
                .running_mean
                .iter()
                .enumerate()
                .map(|(i, &v)| ((i + 1) as f64, v))
                .collect();
            let n = run.len().max(1) as f64;
            let series = vec![
                Series::new("running mean of vᵀHv", run, 0, Style::Line),
                Series::new(
                    "95 % CI",
                    vec![(1.0, t.ci95_low), (n, t.ci95_low)],
                    1,
                    Style::Dashed,
                ),
                Series::new(
                    "",
                    vec![(1.0, t.ci95_high), (n, t.ci95_high)],
                    1,
                    Style::Dashed,
                ),
            ];
            vec![FigureSpec::new(
                "trace",
                Plot::single(
                    format!("Hessian trace (Hutchinson), {what}"),
                    Chart::Lines(
                        LineChart::new("", "probes", "tr(H) estimate", series).integer_x(),
                    ),
                ),
            )]
        }
        SharpnessEstimate::Density(d) => {
            let pts = d
                .grid
                .iter()
                .copied()
                .zip(d.density.iter().copied())
                .collect();
            let chart = LineChart::new(
                format!("Gaussian broadening σ={}", crate::plot::fmt_tick(d.sigma)),
                "eigenvalue λ",
                "density (log scale)",
                vec![Series::new("density", pts, 0, Style::Line)],
            )
            .log(false, true)
            .legend(Legend::Hidden);
            vec![FigureSpec::new(
                "density",
                Plot::single(
                    format!("Hessian spectral density (SLQ), {what}"),
                    Chart::Lines(chart),
                ),
            )]
        }
    }
}

/// The loss increase per batch and, for the ascents, after each iteration of each batch: a
/// trace still rising at its end asks for more `--iterations`.
fn weight_figure(name: &str, w: &WeightSharpnessResult, what: &str) -> Vec<FigureSpec> {
    let per_batch = w
        .batches
        .iter()
        .enumerate()
        .map(|(i, b)| ((i + 1) as f64, b.increase))
        .collect();
    let mut charts = vec![Chart::Lines(
        LineChart::new(
            format!(
                "mean {} over {} batches of m = {}",
                crate::plot::fmt_tick(w.increase.mean),
                w.batches.len(),
                w.m
            ),
            "batch",
            "loss increase (nats)",
            vec![Series::new("increase", per_batch, 0, Style::LineMarkers)],
        )
        .integer_x()
        .legend(Legend::Hidden),
    )];
    if w.batches.iter().any(|b| !b.trace.is_empty()) {
        let series = w
            .batches
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let pts = b
                    .trace
                    .iter()
                    .enumerate()
                    .map(|(k, &v)| ((k + 1) as f64, v))
                    .collect();
                Series::new(format!("batch {}", i + 1), pts, i, Style::Line)
            })
            .collect();
        charts.push(Chart::Lines(
            LineChart::new(
                "ascent",
                "iteration",
                "loss increase of the iterate",
                series,
            )
            .integer_x(),
        ));
    }
    vec![FigureSpec::new(
        name,
        Plot::grid(
            format!(
                "{name} sharpness ({} ball, ρ = {}), {what}",
                w.ball.as_str(),
                crate::plot::fmt_tick(w.rho)
            ),
            2,
            charts,
        ),
    )]
}
