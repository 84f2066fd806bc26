//! One sharpness measurement: the objective at θ₀, the estimator the configuration names,
//! and the report payload.

use advland_schema::{
    Cost, LipschitzResult, ObjectiveInfo, ObjectiveKind, SharpnessEstimate, SharpnessReport,
};
use advland_train::{Attack, Model, Observer};
use burn::tensor::Device;

use advland_schema::Estimator;

use super::config::SharpnessConfig;
use super::estimators::{density, hessian, kinks, local_entropy, smoothness, trace};
use super::weight::weight_sharpness;
use crate::Objective;
use crate::error::Result;
use crate::lipschitz::Anchor;
use crate::model_objective::{ModelObjective, ObjectiveSpec};
use crate::subject::{Measured, Subject};
use crate::vector::norm;

/// Measures `config.estimator` on `subject`'s loss at its weights θ₀.
///
/// `later` are checkpoints after `subject` in training order (lipschitz only): consecutive
/// pairs give trajectory secants. `observer` hears the phase being computed (`objective`,
/// then the estimator's name); the estimators report nothing finer.
///
/// # Errors
/// Invalid settings ([`SharpnessConfig::check`]), a subset larger than the test split,
/// non-finite estimates, a zero gradient where a gradient direction is probed.
pub fn measure(
    subject: &Subject,
    later: &[Model],
    config: &SharpnessConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Measured<SharpnessReport>> {
    config.check()?;
    let (test, data) = subject.test_subset(config.subset, "subset")?;
    let attack = config.attack.clone().map(Attack::new);
    let freeze = config.freezes_activations();
    let build = |kind: ObjectiveKind, model: &Model| {
        let spec = ObjectiveSpec {
            kind,
            attack: attack.clone(),
            precision: config.precision,
            batch_size: config.batch_size,
            seed: config.seed,
            freeze_activations: freeze,
        };
        ModelObjective::new(model, &test, &spec, device)
    };
    observer.progress("objective", 0, 1);
    let objective = build(config.objective, &subject.model)?;
    let theta = objective.reference();
    let loss = objective.loss(&theta)?;
    observer.progress(config.estimator.as_str(), 0, 1);
    let mut evaluations = 0;
    let mut cost = Cost::default();
    let estimate = match config.estimator {
        Estimator::Hessian => SharpnessEstimate::Hessian(hessian(config, &objective, &theta)?),
        Estimator::Lipschitz => {
            let mut objectives = vec![smoothness(config, &objective, &theta)?];
            // The frozen-attack ablation sits next to the adversarial loss so the two read
            // side by side (paper.md claim C2).
            if config.objective == ObjectiveKind::Adversarial {
                let frozen = build(ObjectiveKind::AdversarialFrozen, &subject.model)?;
                objectives.push(smoothness(config, &frozen, &theta)?);
                evaluations += frozen.evaluations();
                cost += frozen.cost();
            }
            let mut trajectory = Vec::new();
            let mut previous = Anchor::at(&objective, theta.clone())?;
            for next in later {
                let theta_next = build(ObjectiveKind::Clean, next)?.reference();
                let anchor = Anchor::at(&objective, theta_next)?;
                trajectory.push(anchor.secant(&previous)?);
                previous = anchor;
            }
            let local_entropy = match config.local_entropy_gamma {
                Some(gamma) => Some(local_entropy(config, &objective, &theta, gamma, device)?),
                None => None,
            };
            SharpnessEstimate::Lipschitz(LipschitzResult {
                relative_radii: config.radii.clone(),
                objectives,
                trajectory,
                local_entropy,
            })
        }
        Estimator::Trace => SharpnessEstimate::Trace(trace(config, &objective, &theta)?),
        Estimator::Density => SharpnessEstimate::Density(density(config, &objective, &theta)?),
        Estimator::Kinks => SharpnessEstimate::Kinks(kinks(config, &objective, &theta)?),
        Estimator::WorstCase | Estimator::AverageCase | Estimator::Awp => {
            let spec = ObjectiveSpec {
                kind: config.objective,
                attack: attack.clone(),
                precision: config.precision,
                batch_size: config.batch_size.min(config.perturbation.m),
                seed: config.seed,
                freeze_activations: false,
            };
            let (result, batch_evaluations, batch_cost) = weight_sharpness(
                config.estimator,
                &config.perturbation,
                &subject.model,
                &test,
                &spec,
                device,
            )?;
            evaluations += batch_evaluations;
            cost += batch_cost;
            match config.estimator {
                Estimator::WorstCase => SharpnessEstimate::WorstCase(result),
                Estimator::AverageCase => SharpnessEstimate::AverageCase(result),
                _ => SharpnessEstimate::Awp(result),
            }
        }
    };
    observer.progress(config.estimator.as_str(), 1, 1);
    evaluations += objective.evaluations();
    cost += objective.cost();
    let report = SharpnessReport {
        objective: ObjectiveInfo {
            kind: config.objective,
            attack: config.attack.clone(),
            precision: config.precision,
            model_mode: "eval".to_owned(),
            frozen_activations: freeze && subject.model.has_gates(),
            examples: objective.examples(),
            checkpoint: subject.checkpoint.clone(),
            epoch: subject.epoch,
            theta_norm: norm(&theta),
            parameters: theta.len(),
            loss,
        },
        estimate,
        gradient_evaluations: evaluations,
    };
    Ok(Measured { report, cost, data })
}
