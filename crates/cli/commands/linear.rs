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

use crate::args::{at_least_one, positive_number};
use advland_analysis::Objective;
use advland_analysis::linear::{AdversarialLinearLoss, BinaryLinearData};
use advland_analysis::lipschitz::random_directions;
use advland_analysis::vector::{axpy, norm};
use advland_data::fashion_mnist_bundled;
use advland_schema::linear::{
    LinearFinal, LinearJump, LinearLipschitzProbe, LinearNormResult, LinearReport,
    LinearScalingProbe, LinearStep,
};
use advland_schema::{Norm, Report, parse_fraction, write_json};
use advland_train::data::{describe, subset};
use anyhow::{Context, Result, bail};
use nalgebra::DMatrix;
use serde::Serialize;

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
    /// The two classes, after checking every flag (all broken rules are listed at once).
    ///
    /// # Errors
    /// A message naming each offending flag.
    pub fn check(&self, num_classes: usize) -> Result<[u8; 2]> {
        let mut broken = Vec::new();
        let classes = match self.classes[..] {
            [a, b] if a == b => {
                broken.push(format!(
                    "--classes: the two classes must differ, got {a},{b}"
                ));
                None
            }
            [a, b] if usize::from(a.max(b)) >= num_classes => {
                broken.push(format!(
                    "--classes: classes must be < {num_classes}, got {a},{b}"
                ));
                None
            }
            [a, b] => Some([a, b]),
            _ => {
                broken.push(format!(
                    "--classes: expected two classes NEGATIVE,POSITIVE, got {}",
                    self.classes.len()
                ));
                None
            }
        };
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if self.subset == 0 {
            broken.push("--subset: must be >= 1".to_owned());
        }
        if !positive(self.lr) {
            broken.push(format!("--lr: must be finite and > 0, got {}", self.lr));
        }
        if !positive(self.init_norm) {
            broken.push(format!(
                "--init-norm: must be finite and > 0, got {}",
                self.init_norm
            ));
        }
        if self.radii.is_empty() || !self.radii.iter().all(|&r| positive(r)) {
            broken.push(format!(
                "--radii: needs at least one radius, all finite and > 0, got {:?}",
                self.radii
            ));
        }
        if self.directions == 0 {
            broken.push("--directions: must be >= 1".to_owned());
        }
        if !positive(self.jump_t) {
            broken.push(format!(
                "--jump-t: must be finite and > 0, got {}",
                self.jump_t
            ));
        }
        if !self.scales.iter().all(|&s| positive(s)) {
            broken.push(format!(
                "--scales: must be finite and > 0, got {:?}",
                self.scales
            ));
        }
        if self.sweep_radius.is_nan() || self.sweep_radius <= 0.0 || self.sweep_radius >= 1.0 {
            broken.push(format!(
                "--sweep-radius: must be in (0, 1), got {}",
                self.sweep_radius
            ));
        }
        match classes {
            Some(c) if broken.is_empty() => Ok(c),
            _ => bail!("{}", broken.join("; ")),
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
    let splits = fashion_mnist_bundled().context("loading the bundled Fashion-MNIST")?;
    let split = match args.split {
        Split::Train => splits.train,
        Split::Test => splits.test,
    };
    let classes = args.check(split.num_classes)?;
    let pair = split
        .filter_classes(&classes)
        .context("--classes: selecting the two classes")?;
    let total = pair.len();
    let pair = subset(pair, Some(args.subset), "--subset")?;
    // filter_classes relabelled the pair 0 (negative) and 1 (positive).
    let data = BinaryLinearData::from_dataset(&pair, [0, 1])?;
    let d = data.d();
    let positives = data.y().iter().filter(|&&y| y > 0.0).count();
    let max_input_norm = data.max_row_norm();

    // The same small random start for both norms: w₀ = 0 would leave the L2 gradient undefined.
    let mut theta0: Vec<f64> = random_directions(d, 1, args.seed)
        .pop()
        .context("one random direction")?;
    theta0.iter_mut().for_each(|v| *v *= args.init_norm);
    theta0.push(0.0);

    let mut norms = Vec::new();
    let mut curved = None;
    // The flags name one radius per norm; everything below is written once for both.
    for (norm_kind, eps) in [(Norm::Linf, args.eps_linf), (Norm::L2, args.eps_l2)] {
        let loss = AdversarialLinearLoss::new(data.clone(), norm_kind, eps, true)?;
        let (theta, trajectory) = descend(&loss, &theta0, args)
            .with_context(|| format!("gradient descent on the {norm_kind} loss"))?;
        let last = analyse(&loss, &theta, args)
            .with_context(|| format!("analysing the {norm_kind} optimum"))?;
        let total_sign_changes = trajectory.iter().map(|s| s.sign_changes).sum();
        let steps_with_sign_changes = trajectory.iter().filter(|s| s.sign_changes > 0).count();
        norms.push(LinearNormResult {
            norm: norm_kind,
            eps,
            trajectory,
            total_sign_changes,
            steps_with_sign_changes,
            last,
        });
        // C1's sweep follows the curvature term ε·mean|ℓ'|/‖w‖, which only a dual norm that
        // curves has (L2's; L∞'s ‖·‖₁ is piecewise linear).
        if loss.curvature_term(&theta)?.is_some() {
            curved = Some((loss, theta));
        }
    }
    let (l2_loss, l2_theta) = curved.context("no trained model has a curvature term")?;
    let l2_scaling = scaling_sweep(&l2_loss, &l2_theta, args).context("the L2 scaling sweep")?;

    let class_names = [0, 1].map(|k: usize| pair.class_names.get(k).cloned().unwrap_or_default());
    let report = LinearReport {
        dataset: pair.name.clone(),
        classes,
        class_names,
        examples: data.n(),
        positives,
        features: d,
        max_input_norm,
        init_weight_norm: norm(&theta0[..d]),
        norms,
        l2_scaling,
    };
    let mut meta = crate::meta::meta(device_name, args.seed, args, describe(&pair, total));
    meta.duration_s = start.elapsed().as_secs_f64();
    let report = Report::new("linear", meta, report);
    write_json(&args.out, &report)?;
    print_summary(&report.data, args);
    println!("report: {}", args.out.display());
    Ok(())
}

/// sign(v) with sign(0) = 0, for counting hyper-plane crossings.
fn sign(v: f64) -> i8 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// One record of the descent.
fn step_record(
    step: usize,
    loss: f64,
    w: &[f64],
    sign_changes: usize,
    secant_kappa: Option<f64>,
) -> LinearStep {
    LinearStep {
        step,
        loss,
        w_norm: norm(w),
        min_abs_weight: w.iter().map(|v| v.abs()).fold(f64::INFINITY, f64::min),
        sign_changes,
        secant_kappa,
    }
}

/// Full-batch gradient descent θ ← θ − lr·∇L(θ) from `theta0`; returns the final θ and one
/// record per iterate (θ₀ included).
fn descend(
    loss: &AdversarialLinearLoss,
    theta0: &[f64],
    args: &LinearArgs,
) -> Result<(Vec<f64>, Vec<LinearStep>)> {
    let d = loss.data().d();
    let mut theta = theta0.to_vec();
    let (value, mut grad) = loss.loss_and_gradient(&theta)?;
    let mut trajectory = Vec::with_capacity(args.steps + 1);
    trajectory.push(step_record(0, value, &theta[..d], 0, None));
    for step in 1..=args.steps {
        let before: Vec<i8> = theta[..d].iter().map(|&v| sign(v)).collect();
        axpy(-args.lr, &grad, &mut theta);
        let (next_value, next_grad) = loss
            .loss_and_gradient(&theta)
            .with_context(|| format!("after step {step} (a smaller --lr may help)"))?;
        let sign_changes = theta[..d]
            .iter()
            .zip(&before)
            .filter(|&(&v, &s)| sign(v) != s)
            .count();
        // The step moved θ by exactly lr·‖∇L‖.
        let moved = args.lr * norm(&grad);
        let secant = (moved > 0.0).then(|| {
            let diff: Vec<f64> = next_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
            norm(&diff) / moved
        });
        trajectory.push(step_record(
            step,
            next_value,
            &theta[..d],
            sign_changes,
            secant,
        ));
        grad = next_grad;
    }
    Ok((theta, trajectory))
}

/// Largest and smallest eigenvalue of the exact Hessian at θ, or why there is none.
fn hessian_extremes(
    loss: &AdversarialLinearLoss,
    theta: &[f64],
) -> std::result::Result<(f64, f64), String> {
    let h = loss.hessian(theta).map_err(|e| e.to_string())?;
    let p = theta.len();
    let eig = DMatrix::from_row_slice(p, p, &h).symmetric_eigenvalues();
    let (max, min) = (eig.max(), eig.min());
    if max.is_finite() && min.is_finite() {
        Ok((max, min))
    } else {
        Err("the Hessian has non-finite eigenvalues".to_owned())
    }
}

/// The final-point measurements of one norm.
fn analyse(loss: &AdversarialLinearLoss, theta: &[f64], args: &LinearArgs) -> Result<LinearFinal> {
    let d = loss.data().d();
    let w = &theta[..d];
    let (value, grad) = loss.loss_and_gradient(theta)?;
    let margins = loss.margins(theta)?;
    let n = margins.len() as f64;
    let eps_penalty = loss.eps() * loss.dual_norm(w);
    // The clean margin is the adversarial one plus the penalty ε‖w‖_q.
    let clean_accuracy = margins.iter().filter(|&&m| m + eps_penalty > 0.0).count() as f64 / n;
    let robust_accuracy = margins.iter().filter(|&&m| m > 0.0).count() as f64 / n;
    let w_norm = norm(w);
    let slope = loss.mean_abs_slope(theta)?;
    let (hessian_max_eigenvalue, hessian_min_eigenvalue, hessian_error) =
        match hessian_extremes(loss, theta) {
            Ok((max, min)) => (Some(max), Some(min), None),
            Err(e) => (None, None, Some(e)),
        };
    let curvature_term = loss.curvature_term(theta)?;
    let l2_bound = loss.smoothness_bound(w)?;
    let lipschitz = args
        .radii
        .iter()
        .map(|&radius| {
            Ok(LinearLipschitzProbe {
                radius,
                kappa: loss.local_lipschitz(theta, radius, args.directions, args.seed)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let index = w
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map(|(i, _)| i)
        .context("the model has weights")?;
    let jump = LinearJump {
        index,
        weight: w[index],
        t: args.jump_t,
        predicted: loss.linf_jump(theta, index)?,
        measured: loss.gradient_jump(theta, index, args.jump_t)?,
    };
    Ok(LinearFinal {
        loss: value,
        gradient_norm: norm(&grad),
        clean_accuracy,
        robust_accuracy,
        w_norm,
        bias: theta[d],
        mean_abs_slope: slope,
        hessian_max_eigenvalue,
        hessian_min_eigenvalue,
        hessian_error,
        curvature_term,
        l2_bound,
        lipschitz,
        jump,
    })
}

/// κ of the L2 loss at (s·w, b) for each `--scales` s (paper.md §2.3: the curvature term
/// ε·mean|ℓ'|/‖w‖ grows like 1/s and the bound follows it).
fn scaling_sweep(
    loss: &AdversarialLinearLoss,
    theta: &[f64],
    args: &LinearArgs,
) -> Result<Vec<LinearScalingProbe>> {
    let d = loss.data().d();
    args.scales
        .iter()
        .map(|&scale| {
            let mut point = theta.to_vec();
            point[..d].iter_mut().for_each(|v| *v *= scale);
            let w_norm = norm(&point[..d]);
            if w_norm.is_nan() || w_norm <= 0.0 {
                bail!("the trained L2 weights are 0: nothing to scale");
            }
            // A radius proportional to ‖s·w‖ keeps every probe as far (relatively) from the
            // singularity at w = 0, so the sweep compares like with like.
            let radius = args.sweep_radius * w_norm;
            Ok(LinearScalingProbe {
                scale,
                w_norm,
                radius,
                kappa: loss.local_lipschitz(&point, radius, args.directions, args.seed)?,
                hessian_max_eigenvalue: hessian_extremes(loss, &point).ok().map(|(max, _)| max),
                curvature_term: loss
                    .curvature_term(&point)?
                    .context("the swept loss has a curvature term")?,
                bound: loss
                    .smoothness_bound(&point[..d])?
                    .context("the swept loss has a smoothness bound")?,
            })
        })
        .collect()
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
