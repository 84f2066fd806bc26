//! The training loop: epochs of [`UpdateRule`](crate::optim::UpdateRule) steps over an
//! `EpochOracle` (the epoch's minibatch gradients), evaluation, checkpoints and the JSON log.

mod epoch;
mod eval;

pub use eval::evaluate;

use std::path::Path;
use std::time::Instant;

use advland_data::{Splits, epoch_batches};
use advland_schema::{
    CheckpointEntry, Cost, EpochRecord, Meta, Report, TrainLog, TrainSettings, UpdateCost,
    write_json,
};
use burn::module::Module;
use burn::tensor::Device;

use crate::attack::constraint_for;
use crate::checkpoint::{CheckpointInfo, save_checkpoint};
use crate::data::subset;
use crate::error::{Error, Result};
use crate::model::{Model, ModelShape};
use crate::optim::{StepOutcome, build_update_rule};
use crate::params::init_seeded;
use epoch::EpochOracle;

/// Receives progress; library code never prints, the CLI draws bars from these calls.
pub trait Observer {
    /// `done` of `total` units of `phase` (`train`, `eval`) are finished.
    fn progress(&mut self, phase: &str, done: usize, total: usize) {
        let _ = (phase, done, total);
    }
    /// An epoch finished.
    fn epoch(&mut self, record: &EpochRecord) {
        let _ = record;
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Silent;
impl Observer for Silent {}

/// File name of the training log inside a run directory.
pub const TRAIN_LOG_FILE: &str = "train.json";

/// The shape of models for `splits`.
pub fn model_shape(splits: &Splits) -> ModelShape {
    ModelShape {
        input: splits.train.shape,
        classes: splits.train.num_classes,
    }
}

/// Trains a model from scratch as `settings` say, writing checkpoints
/// (`run_dir/checkpoints/epoch-NNNN/`) and the log `run_dir/train.json` (rewritten
/// atomically after every epoch, so an interrupted run leaves a valid log).
///
/// `meta` is the report metadata the caller knows (command, device, versions, config);
/// duration and cost are filled in here. `device` must be an autodiff device.
///
/// # Errors
/// Invalid settings, non-finite losses, IO.
pub fn train(
    settings: &TrainSettings,
    splits: &Splits,
    device: &Device,
    run_dir: &Path,
    meta: Meta,
    observer: &mut dyn Observer,
) -> Result<(Model, TrainLog)> {
    settings.check()?;
    let start = Instant::now();
    let shape = model_shape(splits);
    let mut model = init_seeded(
        Model::build(&settings.model, shape, device)?,
        advland_data::derive_seed(settings.seed, "init", 0),
    )?;
    let mut rule = build_update_rule(&settings.optimizer, settings.seed);
    let batches_per_epoch = splits.train.len().div_ceil(settings.training.batch_size);
    if rule.gradients_per_step() > batches_per_epoch {
        return Err(Error::invalid(
            "optimizer.inner_steps",
            format!(
                "one step needs {} minibatch gradients but an epoch has only {batches_per_epoch} \
                 ({} examples, batch size {}), so no step could complete",
                rule.gradients_per_step(),
                splits.train.len(),
                settings.training.batch_size
            ),
        ));
    }
    let constraint = settings.adversarial.as_ref().map(constraint_for);
    let attack = settings.adversarial.as_ref().zip(constraint.as_deref());
    let eval_test = subset(splits.test.clone(), settings.eval.subset, "eval.subset")?;
    let eval_train = subset(
        splits.train.clone(),
        settings.eval.subset.map(|n| n.min(splits.train.len())),
        "eval.subset",
    )?;
    let mut log = TrainLog {
        parameters: model.num_params(),
        epochs: Vec::new(),
        checkpoints: Vec::new(),
        updates: UpdateCost::default(),
    };
    let mut total_cost = Cost::default();
    let mut step = 0u64;
    let t = &settings.training;
    for epoch in 0..t.epochs {
        let epoch_start = Instant::now();
        let lr = t.schedule.lr(t.lr, epoch, t.epochs);
        let mut oracle = EpochOracle {
            data: &splits.train,
            batches: epoch_batches(
                splits.train.len(),
                t.batch_size,
                settings.seed,
                epoch as u64,
                false,
            ),
            next: 0,
            attack,
            seed: settings.seed,
            step,
            epoch: epoch + 1,
            device,
            tally: Default::default(),
            cost: Cost::default(),
            gradients: 0,
            budget: t
                .gradient_budget
                .map(|b| b.saturating_sub(log.updates.gradient_evaluations)),
            observer,
        };
        let before = rule.counts();
        loop {
            match rule.step(model, lr, &mut oracle)? {
                StepOutcome::Stepped(m) => model = m,
                StepOutcome::Exhausted(m) => {
                    model = m;
                    break;
                }
            }
        }
        step = oracle.step;
        let after = rule.counts();
        let updates = UpdateCost {
            outer_steps: after.outer_steps - before.outer_steps,
            inner_steps: after.inner_steps - before.inner_steps,
            gradient_evaluations: oracle.gradients,
            // A step cut short by the epoch's end drew gradients it never used.
            discarded_gradient_evaluations: after.discarded_gradients - before.discarded_gradients,
            examples: oracle.cost,
        };
        log.updates += updates;
        let budget_spent = t
            .gradient_budget
            .is_some_and(|b| log.updates.gradient_evaluations >= b);
        let train_objective = oracle.tally.metrics("training loss")?;
        let mut cost = oracle.cost;
        let (train_eval, c1) = evaluate(
            &model,
            &eval_train,
            &[],
            settings.eval.batch_size,
            settings.seed,
            device,
            observer,
        )?;
        let (test, c2) = evaluate(
            &model,
            &eval_test,
            &settings.eval.attacks,
            settings.eval.batch_size,
            settings.seed,
            device,
            observer,
        )?;
        cost += c1;
        cost += c2;
        total_cost += cost;
        let record = EpochRecord {
            epoch: epoch + 1,
            lr,
            train_objective,
            train_clean: train_eval.clean,
            test,
            duration_s: epoch_start.elapsed().as_secs_f64(),
            cost,
            updates,
        };
        observer.epoch(&record);
        log.epochs.push(record);
        let last = epoch + 1 == t.epochs || budget_spent;
        if (epoch + 1) % t.checkpoint_every == 0 || last {
            let rel = format!("checkpoints/epoch-{:04}", epoch + 1);
            let info = CheckpointInfo {
                model: settings.model.clone(),
                shape,
                epoch: epoch + 1,
                settings: settings.clone(),
            };
            save_checkpoint(&run_dir.join(&rel), &model, &info)?;
            log.checkpoints.push(CheckpointEntry {
                epoch: epoch + 1,
                path: rel,
            });
        }
        let mut meta = meta.clone();
        meta.duration_s = start.elapsed().as_secs_f64();
        meta.cost = total_cost;
        write_json(
            &run_dir.join(TRAIN_LOG_FILE),
            &Report::new("train", meta, log.clone()),
        )?;
        if last {
            break;
        }
    }
    Ok((model, log))
}
