//! The training loop: epochs of [`UpdateRule`](crate::optim::UpdateRule) steps over an
//! `EpochOracle` (the epoch's minibatch gradients of a `TrainingObjective`: PGD-AT, TRADES, AWP),
//! evaluation, and the checkpoints and log it
//! hands to its [`Observer`]; resuming a run from a checkpoint; the run directory ([`RunDir`]:
//! lock, rules, clean-up), the observer that writes it ([`RunWriter`]) and one run trained into
//! it ([`train_into`]).

mod epoch;
mod eval;
mod into_dir;
mod objective;
mod run_dir;
mod run_writer;
mod schedule;

pub use eval::{APGD_SEED_STREAM, PGD_SEED_STREAM, evaluate, evaluate_attacks};
pub use into_dir::{Resumption, resume_run, train_into};
pub use run_dir::{CONFIG_FILE, LOCK_FILE, RunDir, RunDirMode};
pub use run_writer::RunWriter;

use std::time::Instant;

use advland_data::{Dataset, Splits, epoch_batches};
use advland_schema::{
    CheckpointEntry, Cost, EpochRecord, EvalResult, TrainLog, TrainSettings, UpdateCost,
};
use burn::tensor::Device;

use crate::attack::Attack;
use crate::checkpoint::{CHECKPOINTS_DIR, CheckpointInfo, Resume, TrainState};
use crate::data::subset;
use crate::error::{Error, Result};
use crate::model::{BnMode, Model, ModelShape};
use crate::optim::{RuleState, StepOutcome, build_update_rule};
use crate::params::init_seeded;
use epoch::EpochOracle;
use objective::TrainingObjective;
use schedule::RunSchedule;

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
    /// A checkpoint is due: `model` with the state that continues the run (`info`, the rule's
    /// buffers `rule`), recorded in the log at `relative` (below a run directory).
    ///
    /// # Errors
    /// Whatever keeping it failed with; training stops.
    fn checkpoint(
        &mut self,
        relative: &str,
        model: &Model,
        info: &CheckpointInfo,
        rule: &RuleState,
    ) -> Result<()> {
        let _ = (relative, model, info, rule);
        Ok(())
    }
    /// The log changed (after every epoch, and at the start of a resume, which drops the
    /// epochs after its checkpoint); `duration_s` and `cost` are the run's totals so far.
    ///
    /// # Errors
    /// Whatever keeping it failed with; training stops.
    fn log(&mut self, log: &TrainLog, duration_s: f64, cost: Cost) -> Result<()> {
        let _ = (log, duration_s, cost);
        Ok(())
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

/// Trains a model as `settings` say and returns it with its log. Checkpoints (relative paths
/// `checkpoints/epoch-NNNN`, each with the state that continues the run) and the log after
/// every epoch go to `observer`: [`RunWriter`] keeps them in a run directory, [`Silent`] keeps
/// nothing (training in memory).
///
/// With `resume` (read by [`load_resume`](crate::checkpoint::load_resume) from a checkpoint of
/// this run) training continues after the checkpoint's epoch and ends where an uninterrupted
/// run would: the same weights, bit for bit, and the same log apart from wall-clock times.
/// Its settings must equal `settings`.
///
/// `device` must be an autodiff device.
///
/// # Errors
/// Invalid settings, a checkpoint of another run, non-finite losses, IO.
pub fn train(
    settings: &TrainSettings,
    splits: &Splits,
    device: &Device,
    resume: Option<Resume>,
    observer: &mut dyn Observer,
) -> Result<(Model, TrainLog)> {
    settings.check()?;
    let start = Instant::now();
    let shape = model_shape(splits);
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
    let (model, first_epoch, mut step, mut log, earlier_s) = match resume {
        None => {
            let model = init_seeded(
                Model::build(&settings.model, shape, device)?,
                advland_data::derive_seed(settings.seed, "init", 0),
            )?;
            let log = TrainLog {
                parameters: crate::params::theta_len(&model),
                epochs: Vec::new(),
                checkpoints: Vec::new(),
                updates: UpdateCost::default(),
            };
            (model, 0, 0, log, 0.0)
        }
        Some(r) => {
            check_resumable(&r, settings, shape)?;
            rule.restore(r.rule, crate::params::theta_len(&r.model))?;
            (
                r.model,
                r.epoch,
                r.state.step,
                r.state.log,
                r.state.duration_s,
            )
        }
    };
    // Batch norm trains as PyTorch's `model.train()`: batch statistics, running ones updated,
    // by the attack's forwards too unless `training.attack_bn_mode` is eval (robust_overfitting
    // and AWP attack in train mode, so the running statistics also see adversarial batches
    // mid-attack). Evaluation and checkpoints' users run in eval mode (`evaluate`,
    // `Model::build`).
    let mut model = model.with_bn_mode(BnMode::Train);
    let schedule = RunSchedule::new(settings, batches_per_epoch);
    let eval_attacks: Vec<Attack> = settings
        .eval
        .attacks
        .iter()
        .cloned()
        .map(Attack::new)
        .collect();
    let eval_test = subset(splits.test.clone(), settings.eval.subset, "eval.subset")?;
    let eval_train = subset(
        splits.train.clone(),
        settings.eval.subset.map(|n| n.min(splits.train.len())),
        "eval.subset",
    )?;
    // Every epoch's cost is in its record, so the total carries over a resume.
    let mut total_cost = Cost::default();
    for record in &log.epochs {
        total_cost += record.cost;
    }
    if first_epoch > 0 {
        // Drop records of epochs after the checkpoint, which this run will redo.
        observer.log(&log, earlier_s + start.elapsed().as_secs_f64(), total_cost)?;
    }
    let t = &settings.training;
    for epoch in first_epoch..t.epochs {
        if t.gradient_budget
            .is_some_and(|b| log.updates.gradient_evaluations >= b)
        {
            break;
        }
        let epoch_start = Instant::now();
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
            schedule: &schedule,
            objective: TrainingObjective::of(settings, epoch),
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
        // The rates of the epoch's first and last steps; a step the epoch's end cut short
        // updated nothing, so its rate is not recorded.
        let mut rates: Option<(f64, f64)> = None;
        loop {
            let lr = schedule.lr(epoch, oracle.next);
            match rule.step(model, lr, &mut oracle)? {
                StepOutcome::Stepped(m) => {
                    model = m;
                    rates = Some(rates.map_or((lr, lr), |(first, _)| (first, lr)));
                }
                StepOutcome::Exhausted(m) => {
                    model = m;
                    break;
                }
            }
        }
        step = oracle.step;
        let served = oracle.next;
        let (lr, lr_last) = rates.unwrap_or_else(|| {
            let lr = schedule.lr(epoch, 0);
            (lr, lr)
        });
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
        let mut eval_on = |data: &Dataset, attacks: &[Attack]| -> Result<EvalResult> {
            let (result, spent) = evaluate(
                &model,
                data,
                attacks,
                settings.eval.batch_size,
                settings.seed,
                device,
                observer,
            )?;
            cost += spent;
            Ok(result)
        };
        let train_eval = eval_on(&eval_train, &[])?;
        let test = eval_on(&eval_test, &eval_attacks)?;
        let validation = match &splits.validation {
            Some(v) => Some(eval_on(v, &eval_attacks)?),
            None => None,
        };
        total_cost += cost;
        let record = EpochRecord {
            epoch: epoch + 1,
            lr,
            lr_last: Some(lr_last),
            eps: schedule.eps_range(epoch, served),
            train_objective,
            train_clean: train_eval.clean,
            test,
            validation,
            duration_s: epoch_start.elapsed().as_secs_f64(),
            cost,
            updates,
        };
        observer.epoch(&record);
        log.epochs.push(record);
        let last = epoch + 1 == t.epochs || budget_spent;
        if (epoch + 1) % t.checkpoint_every == 0 || last {
            let rel = format!("{CHECKPOINTS_DIR}/epoch-{:04}", epoch + 1);
            log.checkpoints.push(CheckpointEntry {
                epoch: epoch + 1,
                path: rel.clone(),
            });
            let rule_state = rule.state();
            let info = CheckpointInfo {
                model: settings.model.clone(),
                shape,
                epoch: epoch + 1,
                settings: settings.clone(),
                training: Some(TrainState {
                    step,
                    rule: rule_state.counts,
                    chains: rule_state.chains,
                    duration_s: earlier_s + start.elapsed().as_secs_f64(),
                    log: log.clone(),
                }),
            };
            observer.checkpoint(&rel, &model, &info, &rule_state)?;
        }
        observer.log(&log, earlier_s + start.elapsed().as_secs_f64(), total_cost)?;
        if last {
            break;
        }
    }
    Ok((model.with_bn_mode(BnMode::Eval), log))
}

/// Refuses a checkpoint of another run (other settings, another data shape).
fn check_resumable(resume: &Resume, settings: &TrainSettings, shape: ModelShape) -> Result<()> {
    let not_resumable = |reason: String| Error::NotResumable {
        path: resume.checkpoint.clone(),
        reason,
    };
    if resume.settings != *settings {
        return Err(not_resumable(
            "it was trained with other settings than the ones given".into(),
        ));
    }
    if resume.state.log.parameters != crate::params::theta_len(&resume.model) {
        return Err(not_resumable(format!(
            "its log counts {} parameters, its model has {}",
            resume.state.log.parameters,
            crate::params::theta_len(&resume.model)
        )));
    }
    if resume.shape != shape {
        return Err(not_resumable(format!(
            "its model was built for {:?}, the data has {shape:?}",
            resume.shape
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
