//! One run of the closed-form linear case as a library call: gradient descent on the exact
//! adversarial loss for each norm, the final-point measurements, and the L2 scaling sweep
//! (see the module docs of [`crate::linear`]).

use advland_data::Dataset;
use advland_schema::linear::{
    LinearFinal, LinearJump, LinearLipschitzProbe, LinearNormResult, LinearReport,
    LinearScalingProbe, LinearStep,
};
use advland_schema::{Cost, Norm};
use advland_train::data::{describe, subset};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

#[cfg(feature = "clap")]
use advland_schema::flag_values::{at_least_one, positive_number};
#[cfg(feature = "clap")]
use advland_schema::parse_fraction;

use super::{AdversarialLinearLoss, BinaryLinearData};
use crate::Objective;
use crate::error::{Error, Result};
use crate::lipschitz::random_directions;
use crate::subject::Measured;
use crate::vector::{axpy, norm};

/// The linear experiment on two classes of a data set. The radii ε are toolkit defaults, not
/// the paper's (which are unknown, paper.md §6). With the `clap` feature these are the flags of
/// `advland linear` (defaults: [`LinearConfig::default`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct LinearConfig {
    /// The two classes NEGATIVE,POSITIVE (y = −1 and y = +1); default T-shirt/top vs Shirt
    /// of Fashion-MNIST.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_delimiter = ',', default_value = "0,6")
    )]
    pub classes: Vec<u8>,
    /// Number of examples, evenly spaced among the two classes' examples.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().subset))]
    pub subset: usize,
    /// L∞ radius in pixel units, e.g. 0.01 or 8/255 (a toolkit default, not the paper's).
    #[cfg_attr(feature = "clap", arg(long, value_parser = parse_fraction, default_value_t = defaults().eps_linf))]
    pub eps_linf: f64,
    /// L2 radius in pixel units (a toolkit default, not the paper's).
    #[cfg_attr(feature = "clap", arg(long, value_parser = parse_fraction, default_value_t = defaults().eps_l2))]
    pub eps_l2: f64,
    /// Gradient-descent steps per norm (full batch).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().steps))]
    pub steps: usize,
    /// Learning rate of gradient descent. The default is stable: near w = 0 every margin is ≈ b,
    /// ℓ'' ≈ 1/4 and λmax(∇²L) ≈ 17 on the default data, so 2/λmax ≈ 0.12 (0.5 diverges).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().lr))]
    pub lr: f64,
    /// ‖w₀‖ of the seeded random start (b₀ = 0); must be > 0, as the L2 gradient is undefined
    /// at w = 0.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().init_norm))]
    pub init_norm: f64,
    /// Radii r of κ(θ, r) at the final points, in parameter units, comma separated.
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ',', value_parser = positive_number, default_value = "1e-6,1e-4,1e-2"))]
    pub radii: Vec<f64>,
    /// Random unit directions per κ probe.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().directions))]
    pub directions: usize,
    /// Half-width t of the jump measurement: gradients at wᵢ = +t and wᵢ = −t.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().jump_t))]
    pub jump_t: f64,
    /// Scales s of the L2 sweep: κ at (s·w, b), comma separated.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_delimiter = ',', default_value = "1,0.1,0.01,0.001")
    )]
    pub scales: Vec<f64>,
    /// Probe radius of the L2 sweep as a fraction of ‖s·w‖ (in (0, 1)).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().sweep_radius))]
    pub sweep_radius: f64,
    /// Seed of w₀ and of the probe directions.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().seed))]
    pub seed: u64,
}

impl Default for LinearConfig {
    /// The command line's defaults: T-shirt/top vs Shirt, 1,000 examples, ε = 0.01 (L∞) and
    /// 0.1 (L2), 300 steps of gradient descent at 0.05 from ‖w₀‖ = 1e-3.
    fn default() -> Self {
        Self {
            classes: vec![0, 6],
            subset: 1000,
            eps_linf: 0.01,
            eps_l2: 0.1,
            steps: 300,
            lr: 0.05,
            init_norm: 1e-3,
            radii: vec![1e-6, 1e-4, 1e-2],
            directions: 10,
            jump_t: 1e-6,
            scales: vec![1.0, 0.1, 0.01, 0.001],
            sweep_radius: 1e-4,
            seed: 0,
        }
    }
}

/// The flags' defaults.
#[cfg(feature = "clap")]
fn defaults() -> LinearConfig {
    LinearConfig::default()
}

impl LinearConfig {
    /// Every broken rule at once, as (setting, reason), for data with `num_classes` classes.
    pub fn broken_rules(&self, num_classes: usize) -> Vec<(&'static str, String)> {
        let mut broken = Vec::new();
        match self.classes[..] {
            [a, b] if a == b => {
                broken.push((
                    "classes",
                    format!("the two classes must differ, got {a},{b}"),
                ));
            }
            [a, b] if usize::from(a.max(b)) >= num_classes => {
                broken.push((
                    "classes",
                    format!("classes must be < {num_classes}, got {a},{b}"),
                ));
            }
            [_, _] => {}
            _ => broken.push((
                "classes",
                format!(
                    "expected two classes NEGATIVE,POSITIVE, got {}",
                    self.classes.len()
                ),
            )),
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if self.subset == 0 {
            broken.push(("subset", "must be >= 1".to_owned()));
        }
        if !positive(self.lr) {
            broken.push(("lr", format!("must be finite and > 0, got {}", self.lr)));
        }
        if !positive(self.init_norm) {
            broken.push((
                "init_norm",
                format!("must be finite and > 0, got {}", self.init_norm),
            ));
        }
        if self.radii.is_empty() || !self.radii.iter().all(|&r| positive(r)) {
            broken.push((
                "radii",
                format!(
                    "needs at least one radius, all finite and > 0, got {:?}",
                    self.radii
                ),
            ));
        }
        if self.directions == 0 {
            broken.push(("directions", "must be >= 1".to_owned()));
        }
        if !positive(self.jump_t) {
            broken.push((
                "jump_t",
                format!("must be finite and > 0, got {}", self.jump_t),
            ));
        }
        if !self.scales.iter().all(|&s| positive(s)) {
            broken.push((
                "scales",
                format!("must be finite and > 0, got {:?}", self.scales),
            ));
        }
        if self.sweep_radius.is_nan() || self.sweep_radius <= 0.0 || self.sweep_radius >= 1.0 {
            broken.push((
                "sweep_radius",
                format!("must be in (0, 1), got {}", self.sweep_radius),
            ));
        }
        broken
    }
}

/// Trains the logistic model on `config.classes` of `data` for each norm and measures it
/// (paper.md §2.3, claims C1 and C2). No model passes happen (every loss and gradient is a
/// closed form), so the cost is zero.
///
/// # Errors
/// The first broken rule of [`LinearConfig::broken_rules`] (call it first to list them all),
/// a subset larger than the two classes, a diverging descent.
pub fn run(data: &Dataset, config: &LinearConfig) -> Result<Measured<LinearReport>> {
    if let Some((field, reason)) = config.broken_rules(data.num_classes).into_iter().next() {
        return Err(invalid(field, reason));
    }
    let classes = [config.classes[0], config.classes[1]];
    let pair = data
        .filter_classes(&classes)
        .map_err(|e| invalid("classes", format!("selecting the two classes: {e}")))?;
    let total = pair.len();
    let pair = subset(pair, Some(config.subset), "subset")?;
    // filter_classes relabelled the pair 0 (negative) and 1 (positive).
    let points = BinaryLinearData::from_dataset(&pair, [0, 1])?;
    let d = points.d();
    let positives = points.y().iter().filter(|&&y| y > 0.0).count();
    let max_input_norm = points.max_row_norm();

    // The same small random start for both norms: w₀ = 0 would leave the L2 gradient undefined.
    let mut theta0: Vec<f64> = random_directions(d, 1, config.seed)
        .pop()
        .ok_or_else(|| invalid("classes", "the data have no features".to_owned()))?;
    theta0.iter_mut().for_each(|v| *v *= config.init_norm);
    theta0.push(0.0);

    let mut norms = Vec::new();
    let mut curved = None;
    // One radius per norm; everything below is written once for both.
    for (norm_kind, eps) in [(Norm::Linf, config.eps_linf), (Norm::L2, config.eps_l2)] {
        let loss = AdversarialLinearLoss::new(points.clone(), norm_kind, eps, true)?;
        let (theta, trajectory) = descend(&loss, &theta0, config)?;
        let last = analyse(&loss, &theta, config)?;
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
    let (l2_loss, l2_theta) = curved
        .ok_or_else(|| invalid("eps_l2", "no trained model has a curvature term".to_owned()))?;
    let l2_scaling = scaling_sweep(&l2_loss, &l2_theta, config)?;

    let class_names = [0, 1].map(|k: usize| pair.class_names.get(k).cloned().unwrap_or_default());
    let report = LinearReport {
        dataset: pair.name.clone(),
        classes,
        class_names,
        examples: points.n(),
        positives,
        features: d,
        max_input_norm,
        init_weight_norm: norm(&theta0[..d]),
        norms,
        l2_scaling,
    };
    Ok(Measured {
        report,
        cost: Cost::default(),
        data: describe(&pair, total),
    })
}

fn invalid(field: &'static str, reason: String) -> Error {
    Error::InvalidConfig { field, reason }
}

fn diverged(step: usize, e: Error) -> Error {
    invalid(
        "lr",
        format!("after step {step} (a smaller lr may help): {e}"),
    )
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
    config: &LinearConfig,
) -> Result<(Vec<f64>, Vec<LinearStep>)> {
    let d = loss.data().d();
    let mut theta = theta0.to_vec();
    let (value, mut grad) = loss.loss_and_gradient(&theta)?;
    let mut trajectory = Vec::with_capacity(config.steps + 1);
    trajectory.push(step_record(0, value, &theta[..d], 0, None));
    for step in 1..=config.steps {
        let before: Vec<i8> = theta[..d].iter().map(|&v| sign(v)).collect();
        axpy(-config.lr, &grad, &mut theta);
        let (next_value, next_grad) = loss
            .loss_and_gradient(&theta)
            .map_err(|e| diverged(step, e))?;
        let sign_changes = theta[..d]
            .iter()
            .zip(&before)
            .filter(|&(&v, &s)| sign(v) != s)
            .count();
        // The step moved θ by exactly lr·‖∇L‖.
        let moved = config.lr * norm(&grad);
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
fn analyse(
    loss: &AdversarialLinearLoss,
    theta: &[f64],
    config: &LinearConfig,
) -> Result<LinearFinal> {
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
    let lipschitz = config
        .radii
        .iter()
        .map(|&radius| {
            Ok(LinearLipschitzProbe {
                radius,
                kappa: loss.local_lipschitz(theta, radius, config.directions, config.seed)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let index = w
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map(|(i, _)| i)
        .ok_or_else(|| invalid("classes", "the model has no weights".to_owned()))?;
    let jump = LinearJump {
        index,
        weight: w[index],
        t: config.jump_t,
        predicted: loss.linf_jump(theta, index)?,
        measured: loss.gradient_jump(theta, index, config.jump_t)?,
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
    config: &LinearConfig,
) -> Result<Vec<LinearScalingProbe>> {
    let d = loss.data().d();
    config
        .scales
        .iter()
        .map(|&scale| {
            let mut point = theta.to_vec();
            point[..d].iter_mut().for_each(|v| *v *= scale);
            let w_norm = norm(&point[..d]);
            if w_norm.is_nan() || w_norm <= 0.0 {
                return Err(invalid(
                    "scales",
                    "the trained L2 weights are 0: nothing to scale".to_owned(),
                ));
            }
            // A radius proportional to ‖s·w‖ keeps every probe as far (relatively) from the
            // singularity at w = 0, so the sweep compares like with like.
            let radius = config.sweep_radius * w_norm;
            Ok(LinearScalingProbe {
                scale,
                w_norm,
                radius,
                kappa: loss.local_lipschitz(&point, radius, config.directions, config.seed)?,
                hessian_max_eigenvalue: hessian_extremes(loss, &point).ok().map(|(max, _)| max),
                curvature_term: loss.curvature_term(&point)?.ok_or_else(|| {
                    invalid("scales", "the swept loss has no curvature term".to_owned())
                })?,
                bound: loss.smoothness_bound(&point[..d])?.ok_or_else(|| {
                    invalid(
                        "scales",
                        "the swept loss has no smoothness bound".to_owned(),
                    )
                })?,
            })
        })
        .collect()
}
