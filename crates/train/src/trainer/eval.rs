//! Clean and PGD-robust loss/accuracy of a model on a data set.

use advland_data::{Dataset, derive_seed};
use advland_schema::{Cost, EvalResult, Metrics, RobustMetrics, finite};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

use super::Observer;
use crate::attack::{Attack, pgd_attack};
use crate::batch::Batch;
use crate::error::Result;
use crate::loss::{correct, cross_entropy};
use crate::model::{BnMode, Model};

/// Running sums of loss and correct predictions.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tally {
    loss_sum: f64,
    correct: usize,
    examples: usize,
}

impl Tally {
    pub(crate) fn add(&mut self, loss_sum: f64, correct: usize, examples: usize) {
        self.loss_sum += loss_sum;
        self.correct += correct;
        self.examples += examples;
    }

    /// Adds the loss sum and correct count of `model` on one batch.
    fn score(&mut self, model: &Model, images: Tensor<4>, labels: Tensor<1, Int>) {
        let n = labels.dims()[0];
        let logits = model.forward(images);
        let loss = cross_entropy(logits.clone(), labels.clone())
            .sum()
            .into_scalar::<f32>();
        self.add(f64::from(loss), correct(logits, labels), n);
    }

    pub(crate) fn metrics(&self, what: &str) -> Result<Metrics> {
        let n = self.examples.max(1) as f64;
        Ok(Metrics {
            loss: finite(what, self.loss_sum / n)?,
            accuracy: self.correct as f64 / n,
            examples: self.examples,
        })
    }
}

/// Loss and accuracy of `model` on `data`, clean and under each attack in `attacks`.
///
/// Batch norm runs in eval mode (running statistics, none updated) whatever `model`'s mode.
/// The clean pass runs without autodiff (`model.valid()`); attacks need ∇ₓ and run on
/// `device`, which must be an autodiff device. Attack random starts derive from `seed` and
/// the batch index only, so two evaluations of different models (or of one model at
/// different epochs) attack from the same starting points.
///
/// # Errors
/// A non-finite loss.
pub fn evaluate(
    model: &Model,
    data: &Dataset,
    attacks: &[Attack],
    batch_size: usize,
    seed: u64,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<(EvalResult, Cost)> {
    let indices: Vec<usize> = (0..data.len()).collect();
    let chunks: Vec<&[usize]> = indices.chunks(batch_size.max(1)).collect();
    let total = chunks.len() * (1 + attacks.len());
    let mut done = 0;
    let mut cost = Cost::default();
    let plain = device.clone().inner();
    // Batch norm on its running statistics, whatever mode the caller trains in: nothing is
    // written, and the attacks below see the same function as the clean pass.
    let model = &model.clone().with_bn_mode(BnMode::Eval);
    let valid = model.valid();
    let mut clean = Tally::default();
    for chunk in &chunks {
        let batch = Batch::gather(data, chunk, &plain);
        clean.score(&valid, batch.images, batch.labels);
        cost.forward += chunk.len() as u64;
        done += 1;
        observer.progress("eval", done, total);
    }
    let mut robust = Vec::with_capacity(attacks.len());
    for attack in attacks {
        let mut tally = Tally::default();
        for (i, chunk) in chunks.iter().enumerate() {
            let batch = Batch::gather(data, chunk, device);
            let out = pgd_attack(
                model,
                &batch,
                attack,
                derive_seed(seed, "eval-attack", i as u64),
            );
            cost += out.cost;
            tally.score(&valid, out.adversarial.inner(), batch.labels.inner());
            cost.forward += chunk.len() as u64;
            done += 1;
            observer.progress("eval", done, total);
        }
        robust.push(RobustMetrics {
            attack: attack.settings().clone(),
            metrics: tally.metrics("robust test loss")?,
        });
    }
    Ok((
        EvalResult {
            clean: clean.metrics("clean loss")?,
            robust,
        },
        cost,
    ))
}
