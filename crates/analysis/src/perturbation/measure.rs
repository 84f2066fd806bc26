//! One perturbation-statistics measurement: PGD with a per-step observer, the perturbations'
//! cosines, and per-example parameter gradients at the adversarial and the clean points.

use advland_data::derive_seed;
use advland_schema::Cost;
use advland_schema::perturbation::{AttackStep, PerturbationReport};
use advland_train::attack::{Attack, StepView, pgd_attack_observed};
use advland_train::loss::cross_entropy;
use advland_train::params::flat_gradient;
use advland_train::{Model, Observer};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

use super::config::PerturbationConfig;
use super::cosine::cosine_stats;
use crate::error::{Error, Result};
use crate::model_objective::to_host_f64;
use crate::subject::{Measured, Subject};

/// Measures the perturbation statistics of `subject` as `config` says. `observer` hears each
/// phase (`attack`, `gradients`) as it starts.
///
/// # Errors
/// Invalid settings (named by their field), a subset larger than the test split, fewer than
/// two nonzero perturbations or gradients, non-finite losses.
pub fn measure(
    subject: &Subject,
    config: &PerturbationConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Measured<PerturbationReport>> {
    config
        .attack
        .check("attack")
        .map_err(|e| Error::rule("attack", e))?;
    if config.subset < 2 {
        return Err(invalid(
            "subset",
            format!("must be >= 2, got {}", config.subset),
        ));
    }
    if config.gradient_examples < 2 {
        return Err(invalid(
            "gradient_examples",
            format!("must be >= 2, got {}", config.gradient_examples),
        ));
    }
    let attack = Attack::new(config.attack.clone());
    let (model, batch, data) =
        subject.test_batch(config.subset, "subset", config.precision, device)?;
    let [n, c, h, w] = batch.images.dims();
    let mut cost = Cost::default();

    observer.progress("attack", 0, 1);
    let clean = judge(&model, &batch.images, &batch.labels);
    let clean_correct = clean.correct.clone();
    let mut judged = Vec::new();
    let mut record = |view: StepView<'_>| {
        judged.push((
            view.restart,
            view.step,
            judge(&model, view.adversarial, &batch.labels),
        ));
    };
    let out = pgd_attack_observed(
        &model,
        &batch,
        &attack,
        derive_seed(config.seed, "perturbation-attack", 0),
        Some(&mut record),
    );
    cost += out.cost;
    cost.forward += (judged.len() as u64 + 1) * n as u64;
    let steps = judged
        .into_iter()
        .map(|(restart, step, j)| step_stats(restart, step, &j, &clean_correct))
        .collect::<Result<Vec<_>>>()?;

    let d = c * h * w;
    let delta = to_host_f64(
        &(out.adversarial.clone() - batch.images.clone())
            .inner()
            .reshape([n * d]),
    );
    // Named by the setting that decides them: a radius that leaves the examples where they
    // are, or too few examples.
    let perturbations = cosine_stats(&delta, d, "eps")?;

    observer.progress("gradients", 0, 1);
    // A subset smaller than the cap compares all its examples.
    let k = config.gradient_examples.min(n);
    let first = |x: &Tensor<4>| x.clone().narrow(0, 0, k);
    let labels = batch.labels.clone().narrow(0, 0, k);
    let adversarial = per_example_gradients(&model, &first(&out.adversarial), &labels)?;
    let clean_grads = per_example_gradients(&model, &first(&batch.images), &labels)?;
    let m = adversarial.len() / k;
    cost.forward += 2 * k as u64;
    cost.backward += 2 * k as u64;

    let report = PerturbationReport {
        checkpoint: subject.checkpoint.clone(),
        epoch: subject.epoch,
        attack: config.attack.clone(),
        examples: n,
        clean_accuracy: clean.accuracy(),
        perturbations,
        gradient_examples: k,
        adversarial_gradients: cosine_stats(&adversarial, m, "gradient_examples")?,
        clean_gradients: cosine_stats(&clean_grads, m, "gradient_examples")?,
        steps,
    };
    Ok(Measured { report, cost, data })
}

/// ∇θ ℓ(xᵢ, yᵢ) for each example of `x`, one backward pass per example (a batch of one),
/// as host f64 rows of length m, example-major.
///
/// Requires `model` on an autodiff device.
///
/// # Shapes
/// `x`: `[k, c, h, w]`, `labels`: `[k]` → `[k·m]`
///
/// # Errors
/// A non-finite loss.
pub fn per_example_gradients(
    model: &Model,
    x: &Tensor<4>,
    labels: &Tensor<1, Int>,
) -> Result<Vec<f64>> {
    let k = x.dims()[0];
    let mut rows = Vec::new();
    for i in 0..k {
        let (loss, grads) = model.loss_and_gradients(
            x.clone().narrow(0, i, 1).detach(),
            labels.clone().narrow(0, i, 1),
            None,
            1.0,
        );
        if !loss.is_finite() {
            return Err(Error::NonFinite {
                what: "per-example loss",
                step: i,
            });
        }
        rows.extend(to_host_f64(&flat_gradient(model, &grads)));
    }
    Ok(rows)
}

/// Per-example losses and correctness of a batch.
struct Judged {
    losses: Vec<f64>,
    correct: Vec<bool>,
}

impl Judged {
    fn accuracy(&self) -> f64 {
        self.correct.iter().filter(|&&c| c).count() as f64 / self.correct.len().max(1) as f64
    }
}

fn judge(model: &Model, x: &Tensor<4>, labels: &Tensor<1, Int>) -> Judged {
    let logits = model.valid().forward(x.clone().inner());
    let labels = labels.clone().inner();
    let predicted = logits.clone().argmax(1).reshape([labels.dims()[0]]);
    let correct = predicted
        .equal(labels.clone())
        .into_data()
        .try_to_vec::<bool>()
        .expect("a comparison gives booleans");
    let losses = cross_entropy(logits, labels)
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("a float tensor converts to f64");
    Judged { losses, correct }
}

/// The success rate counts the examples that were correct when clean (0 when none was).
fn step_stats(
    restart: usize,
    step: usize,
    judged: &Judged,
    clean_correct: &[bool],
) -> Result<AttackStep> {
    let mean_loss = judged.losses.iter().sum::<f64>() / judged.losses.len().max(1) as f64;
    if !mean_loss.is_finite() {
        return Err(Error::NonFinite {
            what: "attack loss",
            step,
        });
    }
    let was_correct = clean_correct.iter().filter(|&&c| c).count();
    let flipped = clean_correct
        .iter()
        .zip(&judged.correct)
        .filter(|(was, now)| **was && !**now)
        .count();
    Ok(AttackStep {
        restart,
        step,
        mean_loss,
        accuracy: judged.accuracy(),
        success_rate: if was_correct == 0 {
            0.0
        } else {
            flipped as f64 / was_correct as f64
        },
    })
}

fn invalid(field: &'static str, reason: String) -> Error {
    Error::InvalidConfig { field, reason }
}
