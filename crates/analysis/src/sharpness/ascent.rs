//! Worst- and average-case weight perturbations of any [`Objective`] (paper.md §3.2 E-B):
//! the closed-form quadratics of the tests and the model objectives run the same code.

use advland_data::random::SplitMix64;
use advland_train::attack::{APGD_INITIAL_STEP, APGD_MOMENTUM, APGD_RHO, apgd_checkpoints};

use super::ball::Ball;
use crate::Objective;
use crate::error::Result;

/// How the ascent runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AscentSettings {
    /// Iterations N.
    pub iterations: usize,
    /// The first step is `APGD_INITIAL_STEP`·ρ times this (tml-epfl's `step_size_mult`).
    pub step_size_mult: f64,
    /// Start from a projected noise draw instead of θ₀.
    pub rand_init: bool,
    /// Seed of that draw.
    pub seed: u64,
}

/// The highest-loss point an ascent found.
#[derive(Clone, Debug)]
pub(crate) struct Ascent {
    /// L(θ₀ + δ) at the best iterate (at least L(θ₀)).
    pub loss: f64,
    /// Its δ.
    pub delta: Vec<f64>,
    /// L(iterate) − L(θ₀) after each iteration.
    pub trace: Vec<f64>,
}

/// max over δ in `ball` of L(θ₀ + δ) by APGD in weight space (Croce & Hein 2020, as
/// tml-epfl's `eval_APGD_sharpness` uses it): the step starts at 2ρ·`step_size_mult`;
/// z = Π(u_k + η·d(∇ᵤL)), u_{k+1} = Π(u_k + α(z − u_k) + (1 − α)(u_k − u_{k−1})) with α = 0.75
/// (1 in the first iteration); at each checkpoint of `apgd_checkpoints` the step is halved,
/// and the iterate and its gradient reset to the best point, when at most 75 % of the
/// iterations since the last checkpoint increased the loss or the best loss has not moved
/// since an unhalved checkpoint. tml-epfl's code mixes z with u_{k−1} and, on halving,
/// reloads the best weights but keeps its δ; here the update and the reset are APGD's, as in
/// advland's input-space APGD.
///
/// `loss0` is L(θ₀), which the best point never falls below (δ = 0 is in the ball).
///
/// # Errors
/// Objective failures (non-finite losses).
pub(crate) fn ascend(
    objective: &dyn Objective,
    theta0: &[f64],
    loss0: f64,
    ball: &Ball,
    settings: &AscentSettings,
) -> Result<Ascent> {
    let at = |u: &[f64]| -> Vec<f64> {
        theta0
            .iter()
            .zip(ball.delta(u))
            .map(|(t, d)| t + d)
            .collect()
    };
    let mut u = if settings.rand_init {
        let mut start = ball.noise(&mut SplitMix64::new(settings.seed));
        ball.project(&mut start);
        start
    } else {
        vec![0.0; theta0.len()]
    };
    let (first_loss, first_grad) = objective.loss_and_gradient(&at(&u))?;
    let mut grad = ball.pull_back(&first_grad);
    let (mut best_loss, mut best_u, mut best_grad) = if first_loss > loss0 || !settings.rand_init {
        (first_loss, u.clone(), grad.clone())
    } else {
        (loss0, vec![0.0; u.len()], Vec::new())
    };
    let mut previous = u.clone();
    let mut previous_loss = first_loss;
    let mut step = APGD_INITIAL_STEP * ball.radius() * settings.step_size_mult;
    let (mut increases, mut halved_at_check, mut best_at_check) = (0usize, true, best_loss);
    let checkpoints = apgd_checkpoints(settings.iterations);
    let mut trace = Vec::with_capacity(settings.iterations);
    for iteration in 1..=settings.iterations {
        let momentum = if iteration == 1 { 1.0 } else { APGD_MOMENTUM };
        let direction = ball.ascent_direction(&grad);
        let mut z: Vec<f64> = u
            .iter()
            .zip(&direction)
            .map(|(u, d)| u + step * d)
            .collect();
        ball.project(&mut z);
        let mut next: Vec<f64> = (0..u.len())
            .map(|i| u[i] + momentum * (z[i] - u[i]) + (1.0 - momentum) * (u[i] - previous[i]))
            .collect();
        ball.project(&mut next);
        previous = std::mem::replace(&mut u, next);
        let (loss, g) = objective.loss_and_gradient(&at(&u))?;
        grad = ball.pull_back(&g);
        trace.push(loss - loss0);
        if loss > previous_loss {
            increases += 1;
        }
        previous_loss = loss;
        if loss > best_loss {
            (best_loss, best_u, best_grad) = (loss, u.clone(), grad.clone());
        }
        let Ok(at_check) = checkpoints.binary_search(&iteration) else {
            continue;
        };
        let interval = iteration - checkpoints[at_check - 1];
        let halve = increases as f64 <= APGD_RHO * interval as f64
            || (!halved_at_check && best_at_check >= best_loss);
        if halve {
            step *= 0.5;
            // A best point still at θ₀ itself (a random start that never beat it) has no
            // cached gradient; the iterate then keeps its own.
            if !best_grad.is_empty() {
                u.clone_from(&best_u);
                grad.clone_from(&best_grad);
            }
        }
        halved_at_check = halve;
        best_at_check = best_loss;
        increases = 0;
    }
    Ok(Ascent {
        loss: best_loss,
        delta: ball.delta(&best_u),
        trace,
    })
}

/// The mean over `samples` noise draws of L(θ₀ + s ⊙ u) − L(θ₀) (tml-epfl's
/// `eval_average_sharpness`), with its Monte-Carlo standard error and the mean accuracy at
/// the draws (objectives that classify).
///
/// # Errors
/// Objective failures.
pub(crate) fn average_increase(
    objective: &dyn Objective,
    theta0: &[f64],
    loss0: f64,
    ball: &Ball,
    samples: usize,
    seed: u64,
) -> Result<(f64, Option<f64>, Option<f64>)> {
    let mut rng = SplitMix64::new(seed);
    let mut increases = Vec::with_capacity(samples);
    let mut accuracies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let delta = ball.delta(&ball.noise(&mut rng));
        let theta: Vec<f64> = theta0.iter().zip(&delta).map(|(t, d)| t + d).collect();
        let (loss, accuracy) = objective.loss_and_accuracy(&theta)?;
        increases.push(loss - loss0);
        accuracies.extend(accuracy);
    }
    let stats = advland_schema::MeanStdError::of(&increases);
    let mean = stats.map_or(0.0, |s| s.mean);
    let accuracy =
        (!accuracies.is_empty()).then(|| accuracies.iter().sum::<f64>() / accuracies.len() as f64);
    Ok((mean, stats.and_then(|s| s.std_error), accuracy))
}
