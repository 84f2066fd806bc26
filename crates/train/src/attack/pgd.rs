//! Projected gradient ascent on the input, generic over the constraint (paper.md §1.3), and
//! [`Attack`], the value every consumer of an attack carries.

use std::sync::Arc;

use advland_schema::{Cost, PgdSettings};
use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::constraint::{Constraint, ball, standard_normal};
use crate::batch::Batch;
use crate::loss::cross_entropy;
use crate::model::Model;

/// One PGD attack: its settings and the ball they describe, built together by [`Attack::new`]
/// so that no consumer pairs a [`PgdSettings`] with a [`Constraint`] by hand (or mismatches
/// them). Cloning is cheap (the ball is shared), and the ball is `Send + Sync`, so analyses
/// hand one attack to every worker thread.
#[derive(Clone, Debug)]
pub struct Attack {
    settings: PgdSettings,
    constraint: Arc<dyn Constraint>,
}

impl Attack {
    /// The attack `settings` describe, with the ball of their norm and radius ([`ball`]).
    /// Settings are taken as given: callers check them ([`PgdSettings::check`]) where they
    /// come from users.
    pub fn new(settings: PgdSettings) -> Self {
        let constraint = ball(settings.norm, settings.eps);
        Self {
            settings,
            constraint,
        }
    }

    /// The settings (what reports record).
    pub fn settings(&self) -> &PgdSettings {
        &self.settings
    }

    /// The ball B(ε) and its dual norm.
    pub fn constraint(&self) -> &dyn Constraint {
        self.constraint.as_ref()
    }
}

/// Two attacks are the same when their settings are: the ball is a function of them.
impl PartialEq for Attack {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings
    }
}

/// The adversarial inputs PGD found and what it cost.
#[derive(Clone, Debug)]
pub struct AttackOutput {
    /// x + δ, detached, in `[0,1]`, `[b, c, h, w]`.
    pub adversarial: Tensor<4>,
    /// Forward/backward passes spent, in examples.
    pub cost: Cost,
}

/// PGD: δ ← Π(δ + α·d(∇ₓℓ(x+δ))), then x+δ clipped to `[0,1]`, for `steps` steps from a
/// random point (or 0), keeping over `restarts` runs the per-example δ of highest loss (all
/// from `attack`'s settings; Π and d from its ball). No early stopping. The model's parameters are not tracked during the attack (only
/// ∇ₓ is computed), and δ comes back detached, so an outer loss on it back-propagates as if
/// δ were a constant — Danskin's theorem (paper.md §1.2).
///
/// Projection then box clipping is the exact projection onto B∞(ε) ∩ `[0,1]^d` (both are
/// boxes); for L2 it is the usual approximation (as in torchattacks).
///
/// `seed` fixes the random starts, so the same seed attacks every θ from the same point —
/// what analysis needs to attribute differences to θ rather than to noise.
///
/// Requires `model` and `batch` on an autodiff device (ascent needs ∇ₓ).
///
/// # Shapes
/// `batch.images`: `[b, c, h, w]` → `adversarial`: `[b, c, h, w]`
pub fn pgd_attack(model: &Model, batch: &Batch, attack: &Attack, seed: u64) -> AttackOutput {
    let attacker = model.clone().no_grad();
    let loss = |x_adv: Tensor<4>| cross_entropy(attacker.forward(x_adv), batch.labels.clone());
    let gradient = |x_adv: Tensor<4>| {
        attacker
            .loss_input_gradient(&x_adv, &batch.labels)
            .unwrap_or_else(|| autodiff_gradient(&loss, x_adv))
    };
    ascend(&batch.images, attack, Start::Ball, seed, gradient, loss)
}

/// Where each restart of PGD puts δ before its first step (then clipped so that x + δ stays in
/// `[0,1]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Start {
    /// The attack's own: a random point of its ball when its settings say `random_start`,
    /// else 0.
    Ball,
    /// σ·N(0, I), whatever the norm and `random_start` say: TRADES' start (σ = 0.001), which
    /// is not projected onto the ball before the first step.
    Gaussian(f64),
}

/// The loop of [`pgd_attack`] for any per-example objective φ(x') (`[b, c, h, w]` → `[b]`, to
/// be maximised): δ ← Π(δ + α·d(∇ₓ Σφ(x+δ))), x+δ clipped to `[0,1]`, `steps` steps from a
/// random point of the ball (or 0), keeping over `restarts` runs the per-example δ of highest
/// φ (all from `attack`). [`pgd_attack`] is φ = cross-entropy; other analyses (e.g. the
/// local Lipschitz constant of the logits) plug in their own φ and get the same projections.
///
/// `objective` is called once per step on inputs that require grad (it must keep them in the
/// graph and should not track parameters) and once per restart on detached inputs when
/// `restarts > 1`; the cost counts one forward (and per step one backward) pass of the batch
/// per call.
///
/// Requires `x` on an autodiff device.
///
/// # Shapes
/// `x`: `[b, c, h, w]` → `adversarial`: `[b, c, h, w]`
pub fn projected_ascent<F>(x: &Tensor<4>, attack: &Attack, seed: u64, objective: F) -> AttackOutput
where
    F: Fn(Tensor<4>) -> Tensor<1>,
{
    projected_ascent_from(x, attack, Start::Ball, seed, objective)
}

/// [`projected_ascent`] with each restart's δ starting at `start` instead of the attack's own
/// start.
///
/// Requires `x` on an autodiff device.
///
/// # Shapes
/// `x`: `[b, c, h, w]` → `adversarial`: `[b, c, h, w]`
pub fn projected_ascent_from<F>(
    x: &Tensor<4>,
    attack: &Attack,
    start: Start,
    seed: u64,
    objective: F,
) -> AttackOutput
where
    F: Fn(Tensor<4>) -> Tensor<1>,
{
    let gradient = |x_adv| autodiff_gradient(&objective, x_adv);
    ascend(x, attack, start, seed, gradient, &objective)
}

/// ∇ₓ Σφ(x) by autodiff, on the inner device.
fn autodiff_gradient<F: Fn(Tensor<4>) -> Tensor<1>>(objective: &F, x: Tensor<4>) -> Tensor<4> {
    let x = x.detach().require_grad();
    let grads = objective(x.clone()).sum().backward();
    x.grad(&grads)
        .expect("x requires grad, so backward gives its gradient")
}

/// The loop of [`projected_ascent`] with the gradient of Σφ supplied apart from φ, so that a
/// model with a hand-written input gradient ([`Model::loss_input_gradient`]) can skip autodiff.
fn ascend<G, F>(
    x: &Tensor<4>,
    attack: &Attack,
    start: Start,
    seed: u64,
    gradient: G,
    objective: F,
) -> AttackOutput
where
    G: Fn(Tensor<4>) -> Tensor<4>,
    F: Fn(Tensor<4>) -> Tensor<1>,
{
    let (settings, constraint) = (attack.settings(), attack.constraint());
    let x = x.clone().detach();
    let device = x.device();
    // Everything PGD creates takes the inputs' dtype, so f64 analyses stay in f64.
    let options = (&device, x.dtype());
    debug_assert!(
        device.is_autodiff(),
        "projected_ascent requires an autodiff device"
    );
    let dims = x.dims();
    let [b, c, h, w] = dims;
    let per_example = c * h * w;
    let examples = b as u64;
    let mut cost = Cost::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut best: Option<(Tensor<4>, Tensor<1>)> = None;

    for _ in 0..settings.restarts {
        let mut delta = match start {
            Start::Ball if settings.random_start => {
                let mut values = Vec::with_capacity(b * per_example);
                for _ in 0..b {
                    values.extend(constraint.random_start(per_example, &mut rng));
                }
                Tensor::from_data(TensorData::new(values, dims), options)
            }
            Start::Ball => Tensor::zeros(dims, options),
            Start::Gaussian(sd) => {
                let values: Vec<f32> = (0..b * per_example)
                    .map(|_| (sd * standard_normal(&mut rng)) as f32)
                    .collect();
                Tensor::from_data(TensorData::new(values, dims), options)
            }
        };
        delta = clip_to_box(&x, delta);
        for _ in 0..settings.steps {
            let grad = gradient((x.clone() + delta.clone()).detach());
            let step = constraint
                .ascent_direction(grad.autodiff())
                .mul_scalar(settings.step_size);
            delta = clip_to_box(&x, constraint.project(delta.detach() + step));
            cost.forward += examples;
            cost.backward += examples;
        }
        if settings.restarts == 1 {
            best = Some((delta, Tensor::zeros([b], options)));
            break;
        }
        let value = objective(x.clone() + delta.clone()).detach();
        cost.forward += examples;
        best = Some(match best {
            None => (delta, value),
            Some((best_delta, best_value)) => {
                let better = value.clone().greater(best_value.clone());
                let mask = better.clone().reshape([b, 1, 1, 1]).expand(dims);
                (
                    best_delta.mask_where(mask, delta),
                    best_value.mask_where(better, value),
                )
            }
        });
    }
    let delta = best.map_or_else(|| Tensor::zeros(dims, options), |(d, _)| d);
    AttackOutput {
        adversarial: (x + delta).detach(),
        cost,
    }
}

/// δ such that x + δ ∈ `[0,1]`.
pub(super) fn clip_to_box(x: &Tensor<4>, delta: Tensor<4>) -> Tensor<4> {
    (x.clone() + delta).clamp(0.0, 1.0) - x.clone()
}
