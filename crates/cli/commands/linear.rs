//! `advland linear`: the closed-form binary linear model of paper.md §2.3 on two classes of
//! the bundled Fashion-MNIST (the teaching case E-A of §3.2, claims C1 and C2 of §5).
//!
//! For each attack norm the logistic model θ = (w, b) is trained by plain gradient descent on
//! the exact adversarial loss L(θ) = mean ℓ(y(wᵀx + b) − ε‖w‖_q), logging how often weights
//! cross the hyper-planes wᵢ = 0. At the final point the command measures the exact Hessian,
//! κ(θ, r), and the gradient jump across the smallest weight's hyper-plane (2ε·mean|ℓ'| for
//! L∞, 0 for L2: C2); then it shrinks the L2 weights towards 0 and watches κ grow like
//! ε·mean|ℓ'|/‖w‖ under the bound ((‖x‖ + ε)² + 1)/4 + ε/‖w‖ (C1). No network and no PGD:
//! everything is closed-form f64 arithmetic.

use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::linear::{BundledSplit, LinearConfig, bundled, run as run_linear};
use advland_schema::linear::LinearReport;
use advland_schema::{parse_fraction, write_json};
use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::args::{at_least_one, flag_error, positive_number};
use crate::meta::report;

/// Which split of the bundled Fashion-MNIST.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// The bundled train split (800 examples per class).
    Train,
    /// The bundled test split (200 examples per class).
    Test,
}

/// `advland linear`. The radii ε are toolkit defaults, not the paper's (which are unknown,
/// paper.md §6).
#[derive(Debug, clap::Args, Serialize)]
pub struct LinearArgs {
    /// The two classes NEGATIVE,POSITIVE of Fashion-MNIST (y = −1 and y = +1); default
    /// T-shirt/top vs Shirt.
    #[arg(long, value_delimiter = ',', default_value = "0,6")]
    pub classes: Vec<u8>,
    /// Split of the bundled Fashion-MNIST.
    #[arg(long, value_enum, default_value = "train")]
    pub split: Split,
    /// Number of examples, evenly spaced among the two classes' examples.
    #[arg(long, value_parser = at_least_one, default_value_t = 1000)]
    pub subset: usize,
    /// L∞ radius in pixel units, e.g. 0.01 or 8/255 (a toolkit default, not the paper's).
    #[arg(long, value_parser = parse_fraction, default_value = "0.01")]
    pub eps_linf: f64,
    /// L2 radius in pixel units (a toolkit default, not the paper's).
    #[arg(long, value_parser = parse_fraction, default_value = "0.1")]
    pub eps_l2: f64,
    /// Gradient-descent steps per norm (full batch).
    #[arg(long, default_value_t = 300)]
    pub steps: usize,
    /// Learning rate of gradient descent. The default is stable: near w = 0 every margin is ≈ b,
    /// ℓ'' ≈ 1/4 and λmax(∇²L) ≈ 17 on the default data, so 2/λmax ≈ 0.12 (0.5 diverges).
    #[arg(long, default_value_t = 0.05)]
    pub lr: f64,
    /// ‖w₀‖ of the seeded random start (b₀ = 0); must be > 0, as the L2 gradient is undefined
    /// at w = 0.
    #[arg(long, default_value_t = 1e-3)]
    pub init_norm: f64,
    /// Radii r of κ(θ, r) at the final points, in parameter units, comma separated.
    #[arg(long, value_delimiter = ',', value_parser = positive_number, default_value = "1e-6,1e-4,1e-2")]
    pub radii: Vec<f64>,
    /// Random unit directions per κ probe.
    #[arg(long, default_value_t = 10)]
    pub directions: usize,
    /// Half-width t of the jump measurement: gradients at wᵢ = +t and wᵢ = −t.
    #[arg(long, default_value_t = 1e-6)]
    pub jump_t: f64,
    /// Scales s of the L2 sweep: κ at (s·w, b), comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,0.1,0.01,0.001")]
    pub scales: Vec<f64>,
    /// Probe radius of the L2 sweep as a fraction of ‖s·w‖ (in (0, 1)).
    #[arg(long, default_value_t = 1e-4)]
    pub sweep_radius: f64,
    /// Seed of w₀ and of the probe directions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report path.
    #[arg(long, default_value = "runs/linear/linear.json")]
    pub out: PathBuf,
}

impl LinearArgs {
    fn config(&self) -> LinearConfig {
        let Self {
            classes,
            split: _,
            subset,
            eps_linf,
            eps_l2,
            steps,
            lr,
            init_norm,
            radii,
            directions,
            jump_t,
            scales,
            sweep_radius,
            seed,
            out: _,
        } = self;
        LinearConfig {
            classes: classes.clone(),
            subset: *subset,
            eps_linf: *eps_linf,
            eps_l2: *eps_l2,
            steps: *steps,
            lr: *lr,
            init_norm: *init_norm,
            radii: radii.clone(),
            directions: *directions,
            jump_t: *jump_t,
            scales: scales.clone(),
            sweep_radius: *sweep_radius,
            seed: *seed,
        }
    }
}

/// Runs `advland linear`: trains, measures, writes the report to `--out` and prints a table.
///
/// The report's `meta.cost` stays zero: no model passes happen (every loss and gradient is a
/// closed form).
pub fn run(args: &LinearArgs, device_name: &str) -> Result<()> {
    let start = Instant::now();
    advland_schema::check_output(&args.out)?;
    let split = bundled(match args.split {
        Split::Train => BundledSplit::Train,
        Split::Test => BundledSplit::Test,
    })
    .context("loading the bundled Fashion-MNIST")?;
    let config = args.config();
    // Every broken rule at once, each named by its flag.
    let broken = config.broken_rules(split.num_classes);
    if !broken.is_empty() {
        let messages: Vec<String> = broken
            .into_iter()
            .map(|(field, reason)| format!("--{}: {reason}", field.replace('_', "-")))
            .collect();
        bail!("{}", messages.join("; "));
    }
    let measured = run_linear(&split, &config).map_err(flag_error)?;
    let report = report(measured, &config, config.seed, device_name, start);
    write_json(&args.out, &report)?;
    print_summary(&report.data, args);
    println!("report: {}", args.out.display());
    Ok(())
}

/// The stdout tables.
fn print_summary(r: &LinearReport, args: &LinearArgs) {
    println!(
        "linear: {} classes {} ({}, y = -1) vs {} ({}, y = +1), N = {} ({} positive), d = {}, \
         {} GD steps at lr {}",
        r.dataset,
        r.classes[0],
        r.class_names[0],
        r.classes[1],
        r.class_names[1],
        r.examples,
        r.positives,
        r.features,
        args.steps,
        args.lr
    );
    println!(
        "| norm | eps | loss | clean acc | robust acc | ‖w‖ | min abs w_i | sign changes (steps) \
         | λmax(∇²L) | L2 bound | jump predicted | jump measured |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4e}"));
    for n in &r.norms {
        let l = &n.last;
        let min_abs = l.jump.weight.abs();
        println!(
            "| {} | {} | {:.4} | {:.3} | {:.3} | {:.4} | {:.2e} | {} ({}) | {} | {} | {:.4e} | {:.4e} |",
            n.norm,
            n.eps,
            l.loss,
            l.clean_accuracy,
            l.robust_accuracy,
            l.w_norm,
            min_abs,
            n.total_sign_changes,
            n.steps_with_sign_changes,
            l.hessian_max_eigenvalue.map_or_else(
                || l.hessian_error.clone().unwrap_or_default(),
                |v| format!("{v:.4e}")
            ),
            opt(l.l2_bound),
            l.jump.predicted,
            l.jump.measured,
        );
    }
    println!(
        "\nκ(θ, r) at the final points ({} directions):",
        args.directions
    );
    let names: Vec<&str> = r.norms.iter().map(|n| n.norm.as_str()).collect();
    println!("| r | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(names.len()));
    for (k, &radius) in args.radii.iter().enumerate() {
        let kappas: Vec<String> = r
            .norms
            .iter()
            .map(|n| opt(n.last.lipschitz.get(k).map(|p| p.kappa)))
            .collect();
        println!("| {radius:.0e} | {} |", kappas.join(" | "));
    }
    println!("\nL2 loss at (s·w, b): κ grows like ε·mean(abs ℓ')/‖s·w‖ under the bound (C1):");
    println!("| s | ‖s·w‖ | r | κ | λmax(∇²L) | ε·mean(abs ℓ')/‖s·w‖ | bound |");
    println!("|---|---|---|---|---|---|---|");
    for p in &r.l2_scaling {
        println!(
            "| {} | {:.4e} | {:.2e} | {:.4e} | {} | {:.4e} | {:.4e} |",
            p.scale,
            p.w_norm,
            p.radius,
            p.kappa,
            opt(p.hessian_max_eigenvalue),
            p.curvature_term,
            p.bound
        );
    }
}
