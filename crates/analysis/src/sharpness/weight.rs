//! The worst-case, average-case and AWP estimators on a model: the subset cut into batches of
//! m examples, each its own [`ModelObjective`], measured by [`ascend`] or
//! [`average_increase`] and reported per batch with the mean ± s.e.

use std::ops::Range;

use advland_data::{Dataset, derive_seed};
use advland_schema::{
    BatchSharpness, Estimator, MeanStdError, PerturbedParams, WeightBall, WeightSharpnessResult,
};
use advland_train::Model;
use advland_train::params::ParamLayout;

use super::ascent::{AscentSettings, ascend, average_increase};
use super::ball::Ball;
use super::config::WeightPerturbationConfig;
use crate::Objective;
use crate::error::Result;
use crate::model_objective::{ModelObjective, ObjectiveSpec};
use crate::vector::norm;

/// The ranges of θ that `perturbed` moves in `model`.
pub(super) fn perturbed_layers(model: &Model, perturbed: PerturbedParams) -> Vec<Range<usize>> {
    ParamLayout::of(model)
        .entries
        .into_iter()
        .filter(|e| perturbed == PerturbedParams::All || e.shape.len() > 1)
        .map(|e| e.offset..e.offset + e.len)
        .collect()
}

/// The measure of one batch on `objective` (θ₀ = `theta0`, the perturbed tensors `layers`).
/// Worst case: [`ascend`] in the configured ball. AWP: the layerwise ball of radius γ, its
/// one-step point v_l = γ‖θ₀_l‖ ∇_l L/‖∇_l L‖ evaluated on its own, and the ascent from θ₀
/// (whose first iterate is that point when the first step 2γ·`step_size_mult` reaches the
/// sphere). The one-step point is the perturbation AWP's training step takes
/// (`advland_train`'s `awp_perturbation`), measured here in the analysis precision with
/// eval-mode batch norm where that step runs a proxy in the model's own mode and rounds as
/// f32. Average case: [`average_increase`].
///
/// # Errors
/// Objective failures.
pub(crate) fn measure_batch(
    estimator: Estimator,
    config: &WeightPerturbationConfig,
    objective: &dyn Objective,
    theta0: &[f64],
    layers: &[Range<usize>],
    seed: u64,
) -> Result<BatchSharpness> {
    let (loss, accuracy) = objective.loss_and_accuracy(theta0)?;
    let mut out = BatchSharpness {
        examples: 0,
        loss,
        perturbed_loss: loss,
        increase: 0.0,
        error_increase: None,
        delta_norm: 0.0,
        std_error: None,
        one_step_increase: None,
        trace: Vec::new(),
    };
    let error_increase = |perturbed_accuracy: Option<f64>| match (accuracy, perturbed_accuracy) {
        (Some(a0), Some(a)) => Some(a0 - a),
        _ => None,
    };
    if estimator == Estimator::AverageCase {
        let ball = Ball::new(config.ball, config.rho, theta0, layers);
        let (mean, std_error, perturbed_accuracy) =
            average_increase(objective, theta0, loss, &ball, config.samples, seed)?;
        out.perturbed_loss = loss + mean;
        out.increase = mean;
        out.std_error = std_error;
        out.error_increase = error_increase(perturbed_accuracy);
        return Ok(out);
    }
    let (ball, rand_init) = if estimator == Estimator::Awp {
        (
            Ball::new(WeightBall::Layerwise, config.gamma, theta0, layers),
            false,
        )
    } else {
        (
            Ball::new(config.ball, config.rho, theta0, layers),
            config.rand_init,
        )
    };
    if estimator == Estimator::Awp {
        let (_, grad) = objective.loss_and_gradient(theta0)?;
        let mut u = ball.ascent_direction(&ball.pull_back(&grad));
        u.iter_mut().for_each(|x| *x *= config.gamma);
        let theta: Vec<f64> = theta0
            .iter()
            .zip(ball.delta(&u))
            .map(|(t, d)| t + d)
            .collect();
        out.one_step_increase = Some(objective.loss(&theta)? - loss);
    }
    let settings = AscentSettings {
        iterations: config.iterations,
        step_size_mult: config.step_size_mult,
        rand_init,
        seed,
    };
    let best = ascend(objective, theta0, loss, &ball, &settings)?;
    let worst: Vec<f64> = theta0.iter().zip(&best.delta).map(|(t, d)| t + d).collect();
    let (_, perturbed_accuracy) = objective.loss_and_accuracy(&worst)?;
    out.perturbed_loss = best.loss;
    out.increase = best.loss - loss;
    out.error_increase = error_increase(perturbed_accuracy);
    out.delta_norm = norm(&best.delta);
    out.trace = best.trace;
    Ok(out)
}

/// The estimator on every batch of m examples of `test` (already the configured subset).
/// Each batch's objective has its own attack seed and noise seed, derived from `seed` and
/// the batch index. Returns the result with the evaluation count and cost of all batches.
///
/// # Errors
/// Objective failures.
pub(super) fn weight_sharpness(
    estimator: Estimator,
    config: &WeightPerturbationConfig,
    model: &Model,
    test: &Dataset,
    spec: &ObjectiveSpec,
    device: &burn::tensor::Device,
) -> Result<(WeightSharpnessResult, u64, advland_schema::Cost)> {
    let layers = perturbed_layers(model, config.perturbed);
    let has_batch_norm = ParamLayout::of(model).entries.iter().any(|e| e.batch_norm);
    let indices: Vec<usize> = (0..test.len()).collect();
    let mut batches = Vec::new();
    let mut evaluations = 0;
    let mut cost = advland_schema::Cost::default();
    let scalars = layers.iter().map(ExactSizeIterator::len).sum();
    for (b, chunk) in indices.chunks(config.m).enumerate() {
        let b = b as u64;
        let data = test.select(chunk);
        let batch_spec = ObjectiveSpec {
            seed: derive_seed(spec.seed, "m-sharpness-attack", b),
            ..spec.clone()
        };
        let objective = ModelObjective::new(model, &data, &batch_spec, device)?;
        let theta0 = objective.reference();
        let seed = derive_seed(spec.seed, "m-sharpness-noise", b);
        let mut batch = measure_batch(estimator, config, &objective, &theta0, &layers, seed)?;
        batch.examples = chunk.len();
        batches.push(batch);
        evaluations += objective.evaluations();
        cost += objective.cost();
    }
    let stats = |f: &dyn Fn(&BatchSharpness) -> Option<f64>| {
        let values: Option<Vec<f64>> = batches.iter().map(f).collect();
        values.and_then(|v| MeanStdError::of(&v))
    };
    let increase = stats(&|b| Some(b.increase)).unwrap_or(MeanStdError {
        mean: 0.0,
        std_error: None,
    });
    let (ball, rho, iterations) = match estimator {
        Estimator::Awp => (WeightBall::Layerwise, config.gamma, config.iterations),
        Estimator::AverageCase => (config.ball, config.rho, config.samples),
        _ => (config.ball, config.rho, config.iterations),
    };
    let result = WeightSharpnessResult {
        ball,
        rho,
        m: config.m,
        perturbed: config.perturbed,
        perturbed_scalars: scalars,
        iterations,
        rand_init: estimator == Estimator::WorstCase && config.rand_init,
        batch_norm: if has_batch_norm {
            "eval: running statistics fixed at θ₀'s".to_owned()
        } else {
            "none".to_owned()
        },
        error_increase: stats(&|b| b.error_increase),
        one_step_increase: stats(&|b| b.one_step_increase),
        increase,
        batches,
    };
    Ok((result, evaluations, cost))
}
