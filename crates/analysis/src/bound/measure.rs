//! One bound measurement: the attack at θ, each example's face and second derivatives there,
//! L_θθ, then the probe steps θ + ρu that show what δ and ∇L actually do.

use std::cell::Cell;

use advland_data::derive_seed;
use advland_schema::bound::{BoundReport, ExampleBound, MotionCheck, MotionCorrelations};
use advland_schema::{Cost, Precision};
use advland_train::Observer;
use advland_train::attack::Attack;
use burn::tensor::Device;
use rayon::prelude::*;

use super::config::BoundConfig;
use super::face::Face;
use super::operators::{FaceHessian, FaceMixedGram, Point};
use crate::error::{Error, Result};
use crate::flatness::{InputGradients, ModelGradients, spearman, summarize};
use crate::hessian::{FiniteDifferenceHessian, LanczosConfig, lanczos};
use crate::lipschitz::random_directions;
use crate::model_objective::{ModelObjective, ObjectiveSpec};
use crate::objective::{Objective, ObjectiveKind};
use crate::operator::LinearOperator;
use crate::precision::require_f64;
use crate::subject::{Measured, Subject};
use crate::vector::norm;

/// One example's second-order quantities at θ.
struct AtTheta {
    face: Face,
    gradient_norm: f64,
    multiplier: f64,
    stationarity: f64,
    /// (largest, smallest) eigenvalue of the input Hessian on the face; `None` at a vertex.
    curvature: Option<(f64, f64)>,
    mixed: f64,
}

impl AtTheta {
    fn mu(&self) -> Option<f64> {
        self.curvature.map(|(top, _)| self.multiplier - top)
    }

    /// The largest eigenvalue of A = λI − QᵀH_xxQ.
    fn a_norm(&self) -> Option<f64> {
        self.curvature.map(|(_, bottom)| self.multiplier - bottom)
    }

    /// mixed/μ; 0 at a vertex; `None` where μ ≤ 0.
    fn motion_bound(&self) -> Option<f64> {
        match self.mu() {
            None => Some(0.0),
            Some(mu) if mu > 0.0 => Some(self.mixed / mu),
            Some(_) => None,
        }
    }
}

/// Measures paper.md §2.4 Props. A/B on `subject` as `config` says. `observer` hears each
/// phase (`attack`, `faces`, `hessian`, `probes`) as it starts.
///
/// # Errors
/// Invalid settings (named by their field), a subset larger than the test split, a device
/// without f64, non-finite values.
pub fn measure(
    subject: &Subject,
    config: &BoundConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Measured<BoundReport>> {
    check(config)?;
    require_f64(
        device,
        "bound computes in f64 (its probes move θ by 1e-4·‖θ‖ by default, its attack runs to a \
         KKT point)",
    )?;
    let attack = Attack::new(config.attack.clone());
    let (test, data) = subject.test_subset(config.subset, "subset")?;
    let spec = |kind| ObjectiveSpec {
        kind,
        attack: Some(attack.clone()),
        precision: Precision::F64,
        batch_size: config.subset,
        seed: config.seed,
        freeze_activations: false,
    };
    observer.progress("attack", 0, 1);
    let adversarial = ModelObjective::new(
        &subject.model,
        &test,
        &spec(ObjectiveKind::Adversarial),
        device,
    )?;
    let theta = adversarial.reference();
    let (_, gradient0) = adversarial.loss_and_gradient(&theta)?;
    let delta0 = adversarial.perturbation_at(&theta)?;

    let (model, batch, _) = subject.test_batch(config.subset, "subset", Precision::F64, device)?;
    let dims = batch.images.dims();
    let [n, c, h, w] = dims;
    let d = c * h * w;
    let dtype = batch.images.dtype();
    let x: Vec<f64> = batch.images.to_data().iter::<f64>().collect();
    let plus = |delta: &[f64]| -> Vec<f64> { x.iter().zip(delta).map(|(x, d)| x + d).collect() };
    let x_adv = plus(&delta0);
    let source = ModelGradients::new(
        model.clone(),
        batch.labels.clone(),
        dims,
        dtype,
        device.clone(),
    );
    let (_, input_gradient) = source.evaluate(&x_adv)?;
    let face_of = |x_adv: &[f64], delta: &[f64], i: usize| {
        let rows = i * d..(i + 1) * d;
        Face::at(
            attack.constraint(),
            &x_adv[rows.clone()],
            &delta[rows],
            config.face_tol,
        )
    };

    observer.progress("faces", 0, n);
    let at_theta: Vec<(AtTheta, u64)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let rows = i * d..(i + 1) * d;
            let face = face_of(&x_adv, &delta0, i);
            let g = &input_gradient[rows.clone()];
            let example = Point {
                model: &model,
                theta: &theta,
                x_adv: x_adv[rows.clone()].to_vec(),
                labels: batch.labels.clone().narrow(0, i, 1),
                dims: [1, c, h, w],
                h: config.fd_step,
                dtype,
                device: device.clone(),
                passes: Cell::new(0),
            };
            let lanczos_on = |op: &dyn LinearOperator, stream: &str| {
                lanczos(
                    op,
                    &LanczosConfig {
                        steps: config.lanczos_steps,
                        seed: derive_seed(config.seed, stream, i as u64),
                        settle: None,
                    },
                )
            };
            let (curvature, mixed) = if face.dim() == 0 {
                (None, 0.0)
            } else {
                let hessian = lanczos_on(&FaceHessian(&example, &face), "bound-curvature")?;
                let gram = lanczos_on(&FaceMixedGram(&example, &face), "bound-mixed")?;
                let top = gram.largest(1).first().copied().unwrap_or(0.0);
                (
                    Some((hessian.largest(1)[0], hessian.smallest())),
                    top.max(0.0).sqrt(),
                )
            };
            let spent = example.passes.get();
            Ok((
                AtTheta {
                    gradient_norm: norm(g),
                    multiplier: face.multiplier(&delta0[rows], g),
                    stationarity: face.stationarity(g),
                    curvature,
                    mixed,
                    face,
                },
                spent,
            ))
        })
        .collect::<Result<_>>()?;
    // The input gradients at x + δ (one pass per example), then each example's operators.
    let passes_at_theta = n as u64 + at_theta.iter().map(|(_, spent)| spent).sum::<u64>();
    let at_theta: Vec<AtTheta> = at_theta.into_iter().map(|(e, _)| e).collect();

    observer.progress("hessian", 0, 1);
    // δ*(θ₀) is the adversarial objective's attack at θ₀, made above.
    let frozen = adversarial.frozen_at_reference()?;
    let hessian = lanczos(
        &FiniteDifferenceHessian::new(&frozen, theta.clone(), config.fd_step)?,
        &LanczosConfig {
            steps: config.lanczos_steps,
            seed: derive_seed(config.seed, "bound-hessian", 0),
            settle: None,
        },
    )?;
    let hessian_norm = hessian.largest(1)[0].abs().max(hessian.smallest().abs());

    observer.progress("probes", 0, config.directions);
    let theta_norm = norm(&theta);
    let rho = config.radius * theta_norm;
    let directions = random_directions(
        theta.len(),
        config.directions,
        derive_seed(config.seed, "bound-directions", 0),
    );
    let mut kappa = Vec::with_capacity(directions.len());
    let mut motion = vec![0.0f64; n];
    let mut face_changes = vec![0usize; n];
    let mut pairs = Vec::new();
    let whole = Point {
        model: &model,
        theta: &theta,
        x_adv: x_adv.clone(),
        labels: batch.labels.clone(),
        dims,
        h: config.fd_step,
        dtype,
        device: device.clone(),
        passes: Cell::new(0),
    };
    for (k, u) in directions.iter().enumerate() {
        observer.progress("probes", k, config.directions);
        let moved: Vec<f64> = theta.iter().zip(u).map(|(t, u)| t + rho * u).collect();
        let (_, gradient) = adversarial.loss_and_gradient(&moved)?;
        let change: Vec<f64> = gradient
            .iter()
            .zip(&gradient0)
            .map(|(a, b)| a - b)
            .collect();
        kappa.push(norm(&change) / rho);
        let delta = adversarial.perturbation_at(&moved)?;
        let x_moved = plus(&delta);
        let predicted = whole.mixed_theta(u)?;
        for (i, e) in at_theta.iter().enumerate() {
            let rows = i * d..(i + 1) * d;
            let step: Vec<f64> = delta[rows.clone()]
                .iter()
                .zip(&delta0[rows.clone()])
                .map(|(a, b)| a - b)
                .collect();
            let measured = norm(&step) / rho;
            motion[i] = motion[i].max(measured);
            let changed = !e.face.same_constraints(&face_of(&x_moved, &delta, i));
            face_changes[i] += usize::from(changed);
            let along = norm(&e.face.restrict(&predicted[rows]));
            let bracket = match (e.motion_bound(), e.mu(), e.a_norm()) {
                (Some(_), None, _) => Some((0.0, 0.0)),
                (Some(_), Some(mu), Some(a)) => Some((along / a, along / mu)),
                _ => None,
            };
            if let Some((lower, upper)) = bracket {
                pairs.push((measured, lower, upper, changed));
            }
        }
    }
    let passes = passes_at_theta + whole.passes.get();
    let mut cost = adversarial.cost();
    cost += frozen.cost();
    cost += Cost {
        forward: passes,
        backward: passes,
    };
    let report = report(
        subject,
        config,
        &at_theta,
        Summaries {
            theta_norm,
            rho,
            hessian_norm,
            kappa,
            motion,
            face_changes,
            pairs,
        },
    )?;
    Ok(Measured { report, cost, data })
}

/// What the probe steps measured, besides the per-example quantities at θ.
struct Summaries {
    theta_norm: f64,
    rho: f64,
    hessian_norm: f64,
    kappa: Vec<f64>,
    motion: Vec<f64>,
    face_changes: Vec<usize>,
    /// (measured, lower, upper, face changed) per (example, direction) with a bracket.
    pairs: Vec<(f64, f64, f64, bool)>,
}

fn report(
    subject: &Subject,
    config: &BoundConfig,
    at_theta: &[AtTheta],
    s: Summaries,
) -> Result<BoundReport> {
    let n = at_theta.len();
    let per_example: Vec<ExampleBound> = at_theta
        .iter()
        .zip(s.motion.iter().zip(&s.face_changes))
        .map(|(e, (&motion, &face_changes))| ExampleBound {
            face_dim: e.face.dim(),
            sphere: e.face.curved(),
            gradient_norm: e.gradient_norm,
            multiplier: e.multiplier,
            stationarity: e.stationarity,
            curvature_max: e.curvature.map(|c| c.0),
            curvature_min: e.curvature.map(|c| c.1),
            mu: e.mu(),
            mixed: e.mixed,
            motion_bound: e.motion_bound(),
            motion,
            face_changes,
        })
        .collect();
    let with_bound: Vec<&ExampleBound> = per_example
        .iter()
        .filter(|e| e.motion_bound.is_some())
        .collect();
    let sum_bounded: f64 = per_example
        .iter()
        .filter_map(|e| match (e.mu, e.motion_bound) {
            (Some(mu), Some(_)) => Some(e.mixed * e.mixed / mu),
            _ => None,
        })
        .sum();
    let kappa_bound_concave = s.hessian_norm + sum_bounded / n as f64;
    let mus: Vec<f64> = per_example.iter().filter_map(|e| e.mu).collect();
    let motion_of = |keep: &dyn Fn(&ExampleBound) -> Option<f64>| {
        let (a, b): (Vec<f64>, Vec<f64>) = per_example
            .iter()
            .filter_map(|e| keep(e).map(|v| (v, e.motion)))
            .unzip();
        spearman(&a, &b)
    };
    let correlations = MotionCorrelations {
        mu: motion_of(&|e| e.mu),
        gradient_norm: motion_of(&|e| Some(e.gradient_norm)),
        curvature_max: motion_of(&|e| e.curvature_max),
        motion_bound: motion_of(&|e| e.motion_bound),
    };
    let total = s.pairs.len();
    let fraction = |count: usize| {
        if total == 0 {
            0.0
        } else {
            count as f64 / total as f64
        }
    };
    let above: Vec<&(f64, f64, f64, bool)> = s
        .pairs
        .iter()
        .filter(|(m, _, upper, _)| *m > upper * (1.0 + SLACK) + f64::MIN_POSITIVE)
        .collect();
    let below = s
        .pairs
        .iter()
        .filter(|(m, lower, _, _)| *m < lower * (1.0 - SLACK))
        .count();
    let ratios: Vec<f64> = s
        .pairs
        .iter()
        .filter(|(_, _, upper, _)| *upper > 0.0)
        .map(|(m, _, upper, _)| m / upper)
        .collect();
    let motion_check = MotionCheck {
        pairs: total,
        within: fraction(total - above.len() - below),
        above: fraction(above.len()),
        below: fraction(below),
        above_with_face_change: if above.is_empty() {
            0.0
        } else {
            above.iter().filter(|p| p.3).count() as f64 / above.len() as f64
        },
        ratio_to_upper: (!ratios.is_empty())
            .then(|| summarize(&ratios))
            .transpose()?,
    };
    Ok(BoundReport {
        checkpoint: subject.checkpoint.clone(),
        epoch: subject.epoch,
        attack: config.attack.clone(),
        examples: n,
        theta_norm: s.theta_norm,
        probe_step: s.rho,
        hessian_norm: s.hessian_norm,
        concave: with_bound.len(),
        kappa_bound: (with_bound.len() == n).then_some(kappa_bound_concave),
        kappa_bound_concave,
        kappa: summarize(&s.kappa)?,
        mu: (!mus.is_empty()).then(|| summarize(&mus)).transpose()?,
        mixed: summarize(&per_example.iter().map(|e| e.mixed).collect::<Vec<_>>())?,
        stationarity: summarize(
            &per_example
                .iter()
                .map(|e| e.stationarity)
                .collect::<Vec<_>>(),
        )?,
        motion: summarize(&s.motion)?,
        motion_check,
        correlations,
        per_example,
    })
}

/// Relative slack of the bracket comparisons: the central differences' error, well above
/// f64 rounding.
const SLACK: f64 = 1e-3;

fn check(config: &BoundConfig) -> Result<()> {
    config
        .attack
        .check("attack")
        .map_err(|e| Error::rule("attack", e))?;
    let positive = |field: &'static str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(Error::InvalidConfig {
                field,
                reason: format!("must be positive and finite, got {v}"),
            })
        }
    };
    positive("radius", config.radius)?;
    positive("fd_step", config.fd_step)?;
    if !(0.0..1.0).contains(&config.face_tol) {
        return Err(Error::InvalidConfig {
            field: "face_tol",
            reason: format!("must be in [0, 1), got {}", config.face_tol),
        });
    }
    for (field, v) in [
        ("subset", config.subset),
        ("lanczos_steps", config.lanczos_steps),
        ("directions", config.directions),
    ] {
        if v == 0 {
            return Err(Error::InvalidConfig {
                field,
                reason: "must be >= 1, got 0".to_owned(),
            });
        }
    }
    Ok(())
}
