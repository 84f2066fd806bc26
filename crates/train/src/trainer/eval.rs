//! Clean and attacked loss/accuracy of a model on a data set: under a list of PGD attacks
//! ([`evaluate`], what training logs record) and under attack specifications — PGD, APGD,
//! autoattack-lite — with per-example flags and the worst case ([`evaluate_attacks`]).

use advland_data::{Dataset, derive_seed};
use advland_schema::{
    AttackResult, AttackSpec, Cost, EvalResult, Metrics, RobustMetrics, RobustWorstCase, finite,
};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

use super::Observer;
use crate::attack::{
    Attack, apgd_attack, apgd_class_problem, autoattack_lite, correct_flags, pgd_attack,
};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::loss::cross_entropy;
use crate::model::{BnMode, Model};
use crate::params::to_host;

/// The stream PGD's random starts derive from (batch i: `derive_seed(seed, PGD_SEED_STREAM, i)`).
pub const PGD_SEED_STREAM: &str = "eval-attack";
/// The stream APGD's random starts derive from; every APGD attack and both autoattack-lite
/// stages share it, as auto-attack seeds all its attacks alike.
pub const APGD_SEED_STREAM: &str = "eval-apgd";

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

    pub(crate) fn metrics(&self, what: &str) -> Result<Metrics> {
        let n = self.examples.max(1) as f64;
        Ok(Metrics {
            loss: finite(what, self.loss_sum / n)?,
            accuracy: self.correct as f64 / n,
            examples: self.examples,
        })
    }
}

/// Loss and accuracy of `model` on `data` at one set of points (clean, or one attack's), per
/// example and summed.
#[derive(Clone, Debug, Default)]
struct Scores {
    tally: Tally,
    /// Cross-entropy per example, in data order.
    losses: Vec<f32>,
    /// Classified correctly, per example.
    correct: Vec<bool>,
}

impl Scores {
    /// Scores `model` on one batch.
    fn score(&mut self, model: &Model, images: Tensor<4>, labels: Tensor<1, Int>) {
        let n = labels.dims()[0];
        let logits = model.forward(images);
        let losses = cross_entropy(logits.clone(), labels.clone());
        // The batch's sum on the device, as the training log has always summed it.
        let loss_sum = losses.clone().sum().into_scalar::<f32>();
        let correct = correct_flags(&logits, &labels);
        self.tally.add(
            f64::from(loss_sum),
            correct.iter().filter(|&&c| c).count(),
            n,
        );
        self.losses.extend(to_host(&losses));
        self.correct.extend(correct);
    }
}

/// Loss and accuracy of `model` on `data`, clean and under each attack in `attacks`.
///
/// Batch norm runs in eval mode (running statistics, none updated) whatever `model`'s mode.
/// The clean pass runs without autodiff (`model.valid()`); attacks need ∇ₓ and run on
/// `device`, which must be an autodiff device. Attack random starts derive from `seed` and
/// the batch index only, so two evaluations of different models (or of one model at
/// different epochs) attack from the same starting points. The result has no per-example
/// flags (`attacks`, `worst_case`): [`evaluate_attacks`] gives those.
///
/// # Errors
/// An attack that breaks [`PgdSettings::check`](advland_schema::PgdSettings::check), a
/// non-finite loss.
pub fn evaluate(
    model: &Model,
    data: &Dataset,
    attacks: &[Attack],
    batch_size: usize,
    seed: u64,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<(EvalResult, Cost)> {
    let specs: Vec<AttackSpec> = attacks
        .iter()
        .map(|a| AttackSpec::Pgd(a.settings().clone()))
        .collect();
    let (mut result, cost) =
        evaluate_attacks(model, data, &specs, batch_size, seed, device, observer)?;
    result.attacks.clear();
    result.worst_case = None;
    Ok((result, cost))
}

/// Loss and accuracy of `model` on `data`, clean and under each attack of `attacks` (PGD,
/// APGD-CE/DLR/T, autoattack-lite), with per-example robust flags and the per-example worst
/// case over the clean inputs and every attack: the library side of
/// `advland eval --attack apgd-ce:linf:8/255 --attack autoattack-lite:linf:8/255 …`.
///
/// Every attack sees the same batches of `batch_size` examples; batch i of a PGD attack
/// starts from `derive_seed(seed, PGD_SEED_STREAM, i)` (the starts [`evaluate`] uses), of an
/// APGD attack from `derive_seed(seed, APGD_SEED_STREAM, i)`, so an `apgd-ce` attack and
/// the APGD-CE stage of an `autoattack-lite` with the same settings find the same points.
/// An attack's flags and accuracy are read from the model at the points it returns (as
/// auto-attack re-checks its adversarial examples); autoattack-lite's stages carry the flags
/// after each stage, and its own flags are the AND of its stages'. PGD attacks are also
/// reported in `robust`, as [`evaluate`] reports them. `device` must be an autodiff device.
///
/// # Errors
/// An attack that breaks [`AttackSpec::check`] (named `attacks[i].field`), a loss the
/// data's class count cannot support (`attacks[i].loss`), a non-finite loss.
pub fn evaluate_attacks(
    model: &Model,
    data: &Dataset,
    attacks: &[AttackSpec],
    batch_size: usize,
    seed: u64,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<(EvalResult, Cost)> {
    for (i, spec) in attacks.iter().enumerate() {
        spec.check(&format!("attacks[{i}]"))?;
        let losses = match spec {
            AttackSpec::Pgd(_) => vec![],
            AttackSpec::Apgd(a) => vec![a.loss],
            AttackSpec::AutoattackLite(a) => a.stages().iter().map(|s| s.loss).collect(),
        };
        if let Some(problem) = losses
            .into_iter()
            .find_map(|loss| apgd_class_problem(loss, data.num_classes))
        {
            return Err(Error::invalid(
                format!("attacks[{i}].loss"),
                format!("{} ({spec}): {problem}", spec.kind()),
            ));
        }
    }
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
    let mut clean = Scores::default();
    for chunk in &chunks {
        let batch = Batch::gather(data, chunk, &plain);
        clean.score(&valid, batch.images, batch.labels);
        cost.forward += chunk.len() as u64;
        done += 1;
        observer.progress("eval", done, total);
    }
    let mut robust = Vec::new();
    let mut results = Vec::with_capacity(attacks.len());
    let mut worst = WorstCase {
        losses: clean.losses.clone(),
        robust: clean.correct.clone(),
    };
    for spec in attacks {
        let mut stages: Vec<Scores> = Vec::new();
        let mut stage_costs: Vec<Cost> = Vec::new();
        let mut spent = Cost::default();
        for (i, chunk) in chunks.iter().enumerate() {
            let batch = Batch::gather(data, chunk, device);
            let points = adversarial_points(model, &batch, spec, seed, i as u64)?;
            stages.resize_with(points.len(), Scores::default);
            stage_costs.resize(points.len(), Cost::default());
            for (s, (x_adv, through)) in points.into_iter().enumerate() {
                stages[s].score(&valid, x_adv, batch.labels.clone().inner());
                stage_costs[s] += through;
                spent.forward += chunk.len() as u64;
            }
            done += 1;
            observer.progress("eval", done, total);
        }
        spent += stage_costs.last().copied().unwrap_or_default();
        cost += spent;
        for stage in &stages {
            worst.absorb_losses(&stage.losses);
        }
        let result = attack_result(spec, stages, stage_costs, seed, spent)?;
        worst.absorb_flags(&result.robust);
        if let AttackSpec::Pgd(settings) = spec {
            robust.push(RobustMetrics {
                attack: settings.clone(),
                metrics: result.metrics,
            });
        }
        results.push(result);
    }
    let worst_case = if results.is_empty() {
        None
    } else {
        Some(worst.result()?)
    };
    Ok((
        EvalResult {
            clean: clean.tally.metrics("clean loss")?,
            robust,
            attacks: results,
            worst_case,
        },
        cost,
    ))
}

/// The points `spec` finds on batch `index`, one set per stage (one for PGD and APGD), each
/// with the attack's passes through that stage.
fn adversarial_points(
    model: &Model,
    batch: &Batch,
    spec: &AttackSpec,
    seed: u64,
    index: u64,
) -> Result<Vec<(Tensor<4>, Cost)>> {
    let apgd_seed = derive_seed(seed, APGD_SEED_STREAM, index);
    Ok(match spec {
        AttackSpec::Pgd(settings) => {
            let attack = Attack::new(settings.clone());
            let out = pgd_attack(
                model,
                batch,
                &attack,
                derive_seed(seed, PGD_SEED_STREAM, index),
            );
            vec![(out.adversarial.inner(), out.cost)]
        }
        AttackSpec::Apgd(settings) => {
            let out = apgd_attack(model, batch, settings, apgd_seed)?;
            vec![(out.adversarial, out.cost)]
        }
        AttackSpec::AutoattackLite(settings) => autoattack_lite(model, batch, settings, apgd_seed)?
            .into_iter()
            .map(|stage| (stage.adversarial, stage.cost))
            .collect(),
    })
}

/// The report entry of one attack from its stages' scores: each stage's flags are the AND
/// of its own and the earlier stages' (an example an earlier stage broke stays broken).
fn attack_result(
    spec: &AttackSpec,
    stages: Vec<Scores>,
    stage_costs: Vec<Cost>,
    seed: u64,
    cost: Cost,
) -> Result<AttackResult> {
    let stage_specs: Vec<AttackSpec> = match spec {
        AttackSpec::AutoattackLite(a) => a.stages().into_iter().map(AttackSpec::Apgd).collect(),
        AttackSpec::Pgd(_) | AttackSpec::Apgd(_) => vec![spec.clone()],
    };
    let mut entries: Vec<AttackResult> = Vec::with_capacity(stages.len());
    for ((stage_spec, scores), stage_cost) in stage_specs.into_iter().zip(stages).zip(stage_costs) {
        let robust: Vec<bool> = match entries.last() {
            Some(before) => before
                .robust
                .iter()
                .zip(&scores.correct)
                .map(|(a, b)| *a && *b)
                .collect(),
            None => scores.correct,
        };
        let mut metrics = scores.tally.metrics("robust test loss")?;
        metrics.accuracy = fraction(&robust);
        entries.push(AttackResult {
            attack: stage_spec,
            metrics,
            robust,
            seed,
            cost: stage_cost,
            stages: Vec::new(),
        });
    }
    let last = entries
        .last()
        .cloned()
        .expect("every attack has at least one stage");
    Ok(AttackResult {
        attack: spec.clone(),
        cost,
        stages: if entries.len() > 1 {
            entries
        } else {
            Vec::new()
        },
        ..last
    })
}

/// The per-example worst case so far: highest cross-entropy, AND of the flags.
struct WorstCase {
    losses: Vec<f32>,
    robust: Vec<bool>,
}

impl WorstCase {
    fn absorb_losses(&mut self, losses: &[f32]) {
        for (worst, &l) in self.losses.iter_mut().zip(losses) {
            *worst = worst.max(l);
        }
    }

    fn absorb_flags(&mut self, robust: &[bool]) {
        for (worst, &r) in self.robust.iter_mut().zip(robust) {
            *worst &= r;
        }
    }

    fn result(self) -> Result<RobustWorstCase> {
        let examples = self.robust.len();
        let sum: f64 = self.losses.iter().map(|&l| f64::from(l)).sum();
        Ok(RobustWorstCase {
            metrics: Metrics {
                loss: finite("worst-case robust loss", sum / examples.max(1) as f64)?,
                accuracy: fraction(&self.robust),
                examples,
            },
            robust: self.robust,
        })
    }
}

/// The fraction of `flags` that are set (0 for none).
fn fraction(flags: &[bool]) -> f64 {
    flags.iter().filter(|&&f| f).count() as f64 / flags.len().max(1) as f64
}
