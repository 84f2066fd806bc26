//! APGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of
//! diverse parameter-free attacks", ICML; the fra31/auto-attack algorithm) with the
//! cross-entropy and DLR losses, untargeted and targeted, and autoattack-lite (APGD-CE, then
//! APGD-T on what survives). The norm enters only through [`Constraint`], as in PGD.

use advland_schema::{ApgdLoss, ApgdSettings, AutoattackLiteSettings, Cost};
use burn::module::Module;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::constraint::{Constraint, ball};
use super::pgd::clip_to_box;
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::loss::{cross_entropy, dlr_loss, targeted_dlr_loss};
use crate::model::Model;
use crate::params::to_host;

/// Momentum α of the iterate update x_{k+1} = x_k + α(z_{k+1} − x_k) + (1 − α)(x_k − x_{k−1}).
pub const APGD_MOMENTUM: f64 = 0.75;
/// ρ: at a checkpoint the step is halved when at most this fraction of the steps since the
/// last checkpoint increased the loss (auto-attack tests `≤`; the paper writes `<`, which
/// differs only when ρ times the interval is a whole number: the 16-step interval at N = 100).
pub const APGD_RHO: f64 = 0.75;
/// The first step size, in units of ε.
pub const APGD_INITIAL_STEP: f64 = 2.0;

/// The iteration counts after which APGD checks its step sizes, w₀ = 0 first: the paper's
/// w_j = ⌈p_j·N⌉ with p₀ = 0, p₁ = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), as
/// auto-attack computes it — whole iterations: the first interval ⌊0.22·N⌋, each next one
/// ⌊0.03·N⌋ shorter but at least ⌊0.06·N⌋ (all at least 1). The two agree whenever N is a
/// multiple of 100 (N = 100: 0, 22, 41, 57, 70, 80, 87, 93, 99) and differ by an iteration
/// here and there otherwise; the integer form is what the reference runs.
pub fn apgd_checkpoints(steps: usize) -> Vec<usize> {
    let whole = |fraction_percent: usize| (fraction_percent * steps / 100).max(1);
    let (decrease, shortest) = (whole(3), whole(6));
    let mut checkpoints = vec![0];
    let mut interval = whole(22);
    let mut at = interval;
    while at <= steps {
        checkpoints.push(at);
        interval = interval.saturating_sub(decrease).max(shortest);
        at += interval;
    }
    checkpoints
}

/// What APGD found on a batch.
#[derive(Clone, Debug)]
pub struct ApgdOutput {
    /// Per example: a misclassified point where APGD found one, else the highest-loss iterate
    /// of the first run that attacked it (for autoattack-lite: of APGD-CE); the clean input
    /// for examples misclassified when clean. Detached, in `[0,1]`, `[b, c, h, w]`, on the
    /// inner device.
    pub adversarial: Tensor<4>,
    /// Per example: classified correctly at every point APGD evaluated (clean included).
    pub robust: Vec<bool>,
    /// Per example: APGD ran on it (here or in an earlier stage), so `adversarial` holds
    /// one of its iterates; the others were misclassified when clean.
    pub attacked: Vec<bool>,
    /// Forward/backward passes spent, in examples.
    pub cost: Cost,
}

/// Why APGD with `loss` cannot run on a model with `classes` outputs, if it cannot: the DLR
/// loss scales by z_π1 − z_π3 and the targeted one by z_π1 − (z_π3 + z_π4)/2.
pub fn apgd_class_problem(loss: ApgdLoss, classes: usize) -> Option<String> {
    let needed = match loss {
        ApgdLoss::Ce => 2,
        ApgdLoss::Dlr => 3,
        ApgdLoss::TargetedDlr => 4,
    };
    (classes < needed).then(|| {
        format!(
            "the {} loss needs a model with at least {needed} classes, this one has {classes}",
            match loss {
                ApgdLoss::Ce => "ce",
                ApgdLoss::Dlr => "dlr",
                ApgdLoss::TargetedDlr => "targeted-dlr",
            }
        )
    })
}

/// APGD on `batch` as fra31/auto-attack's `APGDAttack.perturb` / `APGDAttack_targeted.perturb`
/// run it: only examples classified correctly when clean are attacked; each of `restarts`
/// runs (per target class for the targeted loss) attacks the examples still robust from a
/// random point on the ball's boundary ([`Constraint::random_boundary_start`]); an example is
/// broken as soon as any iterate is misclassified.
///
/// One run of N = `steps` iterations: the step size starts at 2ε per example; an ascent step
/// z = Π(x_k + η·d(∇ℓ(x_k))) (d and Π from the ball, then the `[0,1]` box) is followed by
/// the momentum step x_{k+1} = Π(x_k + α(z − x_k) + (1 − α)(x_k − x_{k−1})), α = 0.75 (1 in
/// the first iteration); at each checkpoint of [`apgd_checkpoints`] the step of an example is
/// halved, and its iterate and gradient reset to its highest-loss point, when at most
/// ρ = 0.75 of the steps since the last checkpoint increased its loss, or when its step was
/// not halved at the last checkpoint and its best loss has not improved since.
///
/// Where this differs from auto-attack: the first interval counts the increase from the
/// starting point to the first iterate (the reference compares the first iterate's loss with a
/// zero-filled slot, so a positive loss counts as an increase and a negative one does not);
/// the targets of APGD-T are the highest non-true logits at the clean input for every
/// example (the reference's rank-r logit equals that for the examples it attacks, which are
/// classified correctly).
///
/// `seed` fixes the random starts. Requires `model` and `batch` on an autodiff device.
///
/// # Shapes
/// `batch.images`: `[b, c, h, w]` → `adversarial`: `[b, c, h, w]`
///
/// # Errors
/// Settings that break [`ApgdSettings::check`] (named `attack.field`), a loss the model's
/// class count cannot support ([`apgd_class_problem`], named `attack.loss`).
pub fn apgd_attack(
    model: &Model,
    batch: &Batch,
    settings: &ApgdSettings,
    seed: u64,
) -> Result<ApgdOutput> {
    apgd_continue(model, batch, settings, seed, None)
}

/// autoattack-lite on `batch`: APGD-CE, then APGD-T on the examples APGD-CE did not break —
/// the first two attacks of auto-attack's `version='standard'`, both from `seed` (auto-attack
/// seeds every attack alike). Returns the state after each stage: its `robust` flags are
/// those of every stage so far, its `adversarial` the points that broke them.
///
/// # Errors
/// As [`apgd_attack`].
pub fn autoattack_lite(
    model: &Model,
    batch: &Batch,
    settings: &AutoattackLiteSettings,
    seed: u64,
) -> Result<Vec<ApgdOutput>> {
    let [first, second] = settings.stages();
    let after_first = apgd_attack(model, batch, &first, seed)?;
    let after_second = apgd_continue(model, batch, &second, seed, Some(after_first.clone()))?;
    Ok(vec![after_first, after_second])
}

/// [`apgd_attack`] from a previous state (`None`: the clean inputs): attacks only the
/// `start.robust` examples, adds to `start`'s cost and keeps its points for the others.
fn apgd_continue(
    model: &Model,
    batch: &Batch,
    settings: &ApgdSettings,
    seed: u64,
    start: Option<ApgdOutput>,
) -> Result<ApgdOutput> {
    settings.check("attack")?;
    let images = batch.images.clone().detach().inner();
    let labels = batch.labels.clone().inner();
    let dims = images.dims();
    let [n, c, h, w] = dims;
    let per_example = c * h * w;
    if n == 0 {
        // Nothing to attack; a forward pass of an empty batch is not every backend's business.
        return Ok(start.unwrap_or(ApgdOutput {
            adversarial: images,
            robust: Vec::new(),
            attacked: Vec::new(),
            cost: Cost::default(),
        }));
    }
    let plain = model.valid();
    let clean = plain.forward(images.clone());
    let classes = clean.dims()[1];
    if let Some(problem) = apgd_class_problem(settings.loss, classes) {
        return Err(Error::invalid("attack.loss", problem));
    }
    let ApgdOutput {
        adversarial,
        mut robust,
        mut attacked,
        mut cost,
    } = start.unwrap_or_else(|| ApgdOutput {
        adversarial: images.clone(),
        robust: correct_flags(&clean, &labels),
        attacked: vec![false; n],
        cost: Cost::default(),
    });
    cost.forward += n as u64;
    let mut points = to_host(&adversarial.reshape([n * per_example]));
    // Target ranks: one pass per target for APGD-T, a single untargeted pass otherwise.
    let targets = match settings.loss {
        ApgdLoss::TargetedDlr => {
            let count = settings.targets.unwrap_or(1).min(classes - 1);
            Some((
                count,
                host_ints(target_classes(clean, labels.clone(), count)),
            ))
        }
        ApgdLoss::Ce | ApgdLoss::Dlr => None,
    };
    let passes = targets.as_ref().map_or(1, |(count, _)| *count);
    let ascent = Ascent::new(model, settings, batch.images.device());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for pass in 0..passes {
        for _ in 0..settings.restarts {
            let active: Vec<usize> = (0..n).filter(|&i| robust[i]).collect();
            if active.is_empty() {
                break;
            }
            let index = Tensor::<1, Int>::from_data(
                TensorData::new(
                    active.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                    [active.len()],
                ),
                &images.device(),
            );
            let target = targets.as_ref().map(|(count, classes)| {
                let values: Vec<i64> = active.iter().map(|&i| classes[i * count + pass]).collect();
                Tensor::<1, Int>::from_data(
                    TensorData::new(values, [active.len()]),
                    &images.device(),
                )
            });
            let run = ascent.run(
                images.clone().select(0, index.clone()),
                labels.clone().select(0, index),
                target,
                &mut rng,
            );
            cost += run.cost;
            let found = to_host(&run.adversarial.reshape([active.len() * per_example]));
            for (j, &i) in active.iter().enumerate() {
                if run.fooled[j] {
                    robust[i] = false;
                } else if attacked[i] {
                    continue;
                }
                attacked[i] = true;
                points[i * per_example..(i + 1) * per_example]
                    .copy_from_slice(&found[j * per_example..(j + 1) * per_example]);
            }
        }
    }
    Ok(ApgdOutput {
        adversarial: Tensor::from_data(TensorData::new(points, dims), &images.device()),
        robust,
        attacked,
        cost,
    })
}

/// The `count` classes of highest logit other than the label, highest first, per example:
/// the target classes of APGD-T. Never the label, whether or not the example is classified
/// correctly.
///
/// # Shapes
/// `logits`: `[b, k]`, `labels`: `[b]` → `[b, count]`
///
/// # Panics
/// If `count` ≥ k.
pub fn target_classes(logits: Tensor<2>, labels: Tensor<1, Int>, count: usize) -> Tensor<2, Int> {
    let [_, k] = logits.dims();
    assert!(count < k, "{count} targets need more than {k} classes");
    let is_true = labels.one_hot::<2>(k).equal_elem(1);
    let (_, order) = logits
        .mask_fill(is_true, f32::NEG_INFINITY)
        .sort_descending_with_indices(1);
    let [b, _] = order.dims();
    order.slice([0..b, 0..count])
}

/// One APGD run's result on the examples it attacked.
struct Run {
    adversarial: Tensor<4>,
    fooled: Vec<bool>,
    cost: Cost,
}

/// The per-example loss of one iterate, its gradient, and whether it is misclassified.
struct Evaluation {
    loss: Tensor<1>,
    wrong: Tensor<1, Bool>,
    gradient: Tensor<4>,
}

/// The parts of APGD fixed for a call: the model as attacked, the loss and the ball.
struct Ascent<'a> {
    attacker: Model,
    plain: Model,
    settings: &'a ApgdSettings,
    constraint: std::sync::Arc<dyn Constraint>,
    /// The autodiff device gradients are taken on.
    device: Device,
}

impl<'a> Ascent<'a> {
    fn new(model: &'a Model, settings: &'a ApgdSettings, device: Device) -> Self {
        Self {
            // Only ∇ₓ is needed: parameters stay out of the graph (Danskin, as in PGD).
            attacker: model.clone().no_grad(),
            plain: model.valid(),
            settings,
            constraint: ball(settings.norm, settings.eps),
            device,
        }
    }

    /// The loss at `x_adv` (inner device), its input gradient and the misclassified flags.
    fn evaluate(
        &self,
        x_adv: &Tensor<4>,
        labels: &Tensor<1, Int>,
        target: Option<&Tensor<1, Int>>,
        cost: &mut Cost,
    ) -> Evaluation {
        let n = x_adv.dims()[0] as u64;
        let labels_ad = labels.clone().autodiff();
        if self.settings.loss == ApgdLoss::Ce
            && let Some(gradient) = self
                .attacker
                .loss_input_gradient(&x_adv.clone().autodiff(), &labels_ad)
        {
            // The hand-written CE gradient does not hand back its logits: one more forward.
            let logits = self.plain.forward(x_adv.clone());
            cost.forward += 2 * n;
            cost.backward += n;
            return Evaluation {
                loss: cross_entropy(logits.clone(), labels.clone()),
                wrong: wrong_flags(logits, labels),
                gradient: gradient.inner(),
            };
        }
        debug_assert!(
            self.device.is_autodiff(),
            "APGD requires an autodiff device"
        );
        let x = x_adv.clone().autodiff().require_grad();
        let logits = self.attacker.forward(x.clone());
        let loss = match (self.settings.loss, target) {
            (ApgdLoss::Ce, _) => cross_entropy(logits.clone(), labels_ad),
            (ApgdLoss::Dlr, _) => dlr_loss(logits.clone(), labels_ad),
            (ApgdLoss::TargetedDlr, Some(t)) => {
                targeted_dlr_loss(logits.clone(), labels_ad, t.clone().autodiff())
            }
            (ApgdLoss::TargetedDlr, None) => unreachable!("targeted runs carry their targets"),
        };
        let grads = loss.clone().sum().backward();
        let gradient = x
            .grad(&grads)
            .expect("x requires grad, so backward gives its gradient");
        cost.forward += n;
        cost.backward += n;
        Evaluation {
            loss: loss.inner(),
            wrong: wrong_flags(logits.inner(), labels),
            gradient: gradient.inner(),
        }
    }

    /// One run on `x` (inner device) from a random boundary point.
    fn run(
        &self,
        x: Tensor<4>,
        labels: Tensor<1, Int>,
        target: Option<Tensor<1, Int>>,
        rng: &mut ChaCha8Rng,
    ) -> Run {
        let c = self.constraint.as_ref();
        let dims = x.dims();
        let [n, ch, h, w] = dims;
        let per_example = ch * h * w;
        let options = (&x.device(), x.dtype());
        let expand = |mask: Tensor<1, Bool>| mask.reshape([n, 1, 1, 1]).expand(dims);
        let mut cost = Cost::default();
        let mut starts = Vec::with_capacity(n * per_example);
        for _ in 0..n {
            starts.extend(c.random_boundary_start(per_example, rng));
        }
        let mut delta = clip_to_box(
            &x,
            Tensor::from_data(TensorData::new(starts, dims), options),
        );
        let eval = |delta: &Tensor<4>, cost: &mut Cost| {
            self.evaluate(&(x.clone() + delta.clone()), &labels, target.as_ref(), cost)
        };
        let first = eval(&delta, &mut cost);
        let mut gradient = first.gradient;
        let mut fooled = first.wrong.clone();
        let mut fooling = delta.clone();
        let (mut best, mut best_gradient, mut best_loss) =
            (delta.clone(), gradient.clone(), first.loss.clone());
        let mut previous_loss = first.loss;
        let mut previous = delta.clone();
        let mut step: Tensor<4> =
            Tensor::full([n, 1, 1, 1], APGD_INITIAL_STEP * self.settings.eps, options);
        let mut increases: Tensor<1> = Tensor::zeros([n], options);
        let mut best_at_check = best_loss.clone();
        // No step was "not halved" before the first checkpoint, so condition 2 waits a round.
        let mut halved_at_check: Tensor<1, Bool> = Tensor::<1>::ones([n], options).equal_elem(1);
        let checkpoints = apgd_checkpoints(self.settings.steps);
        for iteration in 1..=self.settings.steps {
            let momentum = if iteration == 1 { 1.0 } else { APGD_MOMENTUM };
            let last_move = delta.clone() - previous;
            previous = delta.clone();
            let project = |d: Tensor<4>| clip_to_box(&x, c.project(d));
            let z = project(delta.clone() + c.ascent_direction(gradient) * step.clone());
            delta = project(
                delta.clone()
                    + (z - delta.clone()).mul_scalar(momentum)
                    + last_move.mul_scalar(1.0 - momentum),
            );
            let now = eval(&delta, &mut cost);
            gradient = now.gradient;
            fooling = fooling.mask_where(expand(now.wrong.clone()), delta.clone());
            fooled = fooled.bool_or(now.wrong);
            increases = increases + now.loss.clone().greater(previous_loss).float();
            previous_loss = now.loss.clone();
            let improved = now.loss.clone().greater(best_loss.clone());
            best = best.mask_where(expand(improved.clone()), delta.clone());
            best_gradient = best_gradient.mask_where(expand(improved.clone()), gradient.clone());
            best_loss = best_loss.mask_where(improved, now.loss);
            let Ok(at) = checkpoints.binary_search(&iteration) else {
                continue;
            };
            let halve = halving(
                increases.clone(),
                iteration - checkpoints[at - 1],
                halved_at_check,
                best_at_check,
                best_loss.clone(),
            );
            step = step
                .clone()
                .mask_where(halve.clone().reshape([n, 1, 1, 1]), step.mul_scalar(0.5));
            delta = delta.mask_where(expand(halve.clone()), best.clone());
            gradient = gradient.mask_where(expand(halve.clone()), best_gradient.clone());
            halved_at_check = halve;
            best_at_check = best_loss.clone();
            increases = increases.zeros_like();
        }
        let fooled_host = host_bools(fooled.clone());
        Run {
            adversarial: x + best.mask_where(expand(fooled), fooling),
            fooled: fooled_host,
            cost,
        }
    }
}

/// Per example, at a checkpoint `interval` iterations after the last: halve the step when
/// at most ρ·`interval` of those iterations increased the loss (condition 1), or when the step
/// was not halved at the last checkpoint and the best loss is no higher than it was there
/// (condition 2).
fn halving(
    increases: Tensor<1>,
    interval: usize,
    halved_at_check: Tensor<1, Bool>,
    best_at_check: Tensor<1>,
    best_loss: Tensor<1>,
) -> Tensor<1, Bool> {
    let oscillating = increases.lower_equal_elem(APGD_RHO * interval as f64);
    let stalled = halved_at_check
        .bool_not()
        .bool_and(best_at_check.greater_equal(best_loss));
    oscillating.bool_or(stalled)
}

/// Per example: the arg-max is not the label.
fn wrong_flags(logits: Tensor<2>, labels: &Tensor<1, Int>) -> Tensor<1, Bool> {
    let [b, _] = logits.dims();
    logits.argmax(1).reshape([b]).not_equal(labels.clone())
}

/// Per example: the arg-max is the label, on the host.
pub(crate) fn correct_flags(logits: &Tensor<2>, labels: &Tensor<1, Int>) -> Vec<bool> {
    host_bools(wrong_flags(logits.clone(), labels).bool_not())
}

fn host_bools(flags: Tensor<1, Bool>) -> Vec<bool> {
    flags
        .into_data()
        .convert::<bool>()
        .try_into_vec::<bool>()
        .expect("a bool tensor converts to bool")
}

fn host_ints<const D: usize>(values: Tensor<D, Int>) -> Vec<i64> {
    values
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .expect("an int tensor converts to i64")
}

#[cfg(test)]
mod tests;
