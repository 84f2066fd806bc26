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
pub use into_dir::train_into;
pub use run_dir::{CONFIG_FILE, LOCK_FILE, RunDir, RunDirMode};
pub use run_writer::RunWriter;

use std::time::Instant;

use advland_data::{Splits, epoch_batches};
use advland_schema::{CheckpointEntry, Cost, EpochRecord, TrainLog, TrainSettings, UpdateCost};
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
            &eval_attacks,
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
            lr_last: Some(lr_last),
            eps: schedule.eps_range(epoch, served),
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
mod tests {
    use super::*;
    use crate::checkpoint::{WEIGHTS_FILE, load_resume};
    use std::path::Path;

    use advland_schema::Meta;

    use crate::data::{describe, load_splits};
    use crate::params::{flatten, to_host};
    use advland_schema::{
        DataSettings, EntropySgdSettings, EvalSettings, LrSchedule, ModelKind, ModelSpec, Norm,
        OptimizerSettings, PgdSettings, TrainingSettings,
    };

    /// Three epochs of L∞ PGD-AT of a small MLP, a checkpoint after each.
    fn settings(optimizer: OptimizerSettings) -> TrainSettings {
        TrainSettings {
            seed: 3,
            data: DataSettings {
                train_subset: Some(200),
                test_subset: Some(50),
                ..DataSettings::default()
            },
            model: ModelSpec {
                kind: ModelKind::Mlp,
                hidden: vec![8],
                ..ModelSpec::default()
            },
            training: TrainingSettings {
                epochs: 3,
                batch_size: 25,
                lr: 0.05,
                schedule: LrSchedule::Cosine,
                checkpoint_every: 1,
                gradient_budget: None,
                ..TrainingSettings::default()
            },
            optimizer,
            // Steps shorter than ε, so the random start (from the step counter) is not
            // projected away.
            adversarial: Some(PgdSettings {
                step_size: 0.02,
                ..PgdSettings::new(Norm::Linf, 0.1, 2)
            }),
            eval: EvalSettings {
                subset: Some(50),
                attacks: vec![PgdSettings::new(Norm::Linf, 0.1, 2)],
                batch_size: 50,
            },
            ..TrainSettings::default()
        }
    }

    fn meta(s: &TrainSettings, splits: &Splits) -> Meta {
        Meta {
            advland_version: "test".into(),
            burn_version: "test".into(),
            command: vec![],
            device: "cpu".into(),
            seed: s.seed,
            config: serde_json::to_value(s).unwrap(),
            data: describe(&splits.train, splits.train.len()),
            started_unix_s: 0,
            duration_s: 0.0,
            cost: Cost::default(),
            weights: Vec::new(),
            provenance: Default::default(),
        }
    }

    /// Trains `s` on `splits` into `dir`, from `resume` if given, silently.
    fn run(
        s: &TrainSettings,
        splits: &Splits,
        device: &Device,
        dir: &Path,
        resume: Option<Resume>,
    ) -> (Model, TrainLog) {
        train(
            s,
            splits,
            device,
            resume,
            &mut RunWriter::new(dir, meta(s, splits), &mut Silent),
        )
        .unwrap()
    }

    fn without_times(mut log: TrainLog) -> TrainLog {
        for record in &mut log.epochs {
            record.duration_s = 0.0;
        }
        log
    }

    /// A run resumed from its first checkpoint ends with the uninterrupted run's weights (the
    /// checkpoint files, byte for byte) and log, timings aside.
    fn check_resumed_run_matches_uninterrupted(s: TrainSettings) {
        let splits = load_splits(&s.data).unwrap();
        let device = Device::flex().autodiff();
        let whole = tempfile::tempdir().unwrap();
        let (model, log) = run(&s, &splits, &device, whole.path(), None);
        let first = whole.path().join("checkpoints/epoch-0001");
        let resumed = tempfile::tempdir().unwrap();
        let resume = load_resume(&first, &device).unwrap();
        assert!(!resume.is_complete());
        let (resumed_model, resumed_log) = run(&s, &splits, &device, resumed.path(), Some(resume));
        assert_eq!(to_host(&flatten(&resumed_model)), to_host(&flatten(&model)));
        let weights =
            |dir: &Path| std::fs::read(dir.join("checkpoints/epoch-0003").join(WEIGHTS_FILE));
        assert_eq!(
            weights(resumed.path()).unwrap(),
            weights(whole.path()).unwrap()
        );
        assert_eq!(without_times(resumed_log), without_times(log.clone()));
        assert!(load_resume(whole.path(), &device).unwrap().is_complete());

        // The attack starts follow the step counter: restarting it changes the run.
        let mut reset = load_resume(&first, &device).unwrap();
        reset.state.step = 0;
        // In memory: no run directory needed.
        let (reset_model, _) = train(&s, &splits, &device, Some(reset), &mut Silent).unwrap();
        assert_ne!(to_host(&flatten(&reset_model)), to_host(&flatten(&model)));
    }

    #[test]
    fn sgd_with_momentum_resumes_to_the_uninterrupted_run() {
        check_resumed_run_matches_uninterrupted(settings(OptimizerSettings::Sgd {
            momentum: 0.9,
            weight_decay: 5e-4,
            nesterov: false,
        }));
    }

    #[test]
    fn entropy_sgd_resumes_to_the_uninterrupted_run() {
        // 8 gradients an epoch, chains of 3: two outer steps and a chain cut short per epoch.
        check_resumed_run_matches_uninterrupted(settings(OptimizerSettings::EntropySgd(
            EntropySgdSettings {
                inner_steps: 3,
                gamma1: 0.1,
                noise: 1e-3,
                ..EntropySgdSettings::default()
            },
        )));
    }

    /// TRADES and AWP are oracle objectives: EntropySGD's inner iterates get their own KL
    /// attacks and weight perturbations, and the run resumes exactly across AWP's warm-up.
    #[test]
    fn entropy_sgd_with_trades_and_awp_resumes_to_the_uninterrupted_run() {
        let mut s = settings(OptimizerSettings::EntropySgd(EntropySgdSettings {
            inner_steps: 3,
            ..EntropySgdSettings::default()
        }));
        s.objective = advland_schema::TrainObjective::Trades { beta: 6.0 };
        s.awp = Some(advland_schema::AwpSettings {
            gamma: 0.01,
            warmup_epochs: 1,
        });
        check_resumed_run_matches_uninterrupted(s);
    }

    /// A batch-norm model trains in train mode (its running statistics move off PyTorch's
    /// initial 0 and 1), comes back and is checkpointed with them, evaluates in eval mode, and
    /// a resumed run continues from the saved statistics to the uninterrupted run's weights
    /// and statistics.
    #[test]
    fn batch_norm_model_trains_in_train_mode_and_resumes_with_its_statistics() {
        use crate::checkpoint::load_checkpoint;
        use crate::model::BnMode;
        use crate::params::named_buffers;

        let mut s = settings(OptimizerSettings::default());
        // 28×28 Fashion-MNIST fits PreActResNet-18's pooling; 2 channels keep it cheap.
        s.model = ModelSpec {
            kind: ModelKind::PreactResnet18,
            base_width: Some(2),
            ..ModelSpec::default()
        };
        s.training.epochs = 2;
        s.data.train_subset = Some(100);
        let splits = load_splits(&s.data).unwrap();
        let device = Device::flex().autodiff();
        let whole = tempfile::tempdir().unwrap();
        let (model, log) = run(&s, &splits, &device, whole.path(), None);
        assert_eq!(model.bn_mode(), Some(BnMode::Eval));
        let stats = named_buffers(&model);
        for (name, _, values) in &stats {
            let initial = if name.ends_with("running_mean") {
                0.0
            } else {
                1.0
            };
            assert!(values.iter().any(|&v| v != initial), "{name} never updated");
        }
        let (saved, _) = load_checkpoint(whole.path(), &device).unwrap();
        assert_eq!(named_buffers(&saved), stats);

        // Evaluating (clean and attacked) writes no statistics.
        let eval_attacks = [Attack::new(PgdSettings::new(Norm::Linf, 0.1, 2))];
        evaluate(
            &model,
            &splits.test,
            &eval_attacks,
            25,
            1,
            &device,
            &mut Silent,
        )
        .unwrap();
        assert_eq!(named_buffers(&model), stats);

        let first = whole.path().join("checkpoints/epoch-0001");
        let resumed = tempfile::tempdir().unwrap();
        let (resumed_model, resumed_log) = run(
            &s,
            &splits,
            &device,
            resumed.path(),
            Some(load_resume(&first, &device).unwrap()),
        );
        assert_eq!(to_host(&flatten(&resumed_model)), to_host(&flatten(&model)));
        assert_eq!(named_buffers(&resumed_model), stats);
        assert_eq!(without_times(resumed_log), without_times(log));

        // Attacking in eval mode: the attack's forwards leave the statistics alone, so after
        // one epoch they differ from the train-mode attack's.
        let mut eval_attack = s.clone();
        eval_attack.training.epochs = 1;
        eval_attack.training.attack_bn_mode = BnMode::Eval;
        let other = tempfile::tempdir().unwrap();
        let (eval_model, _) = run(&eval_attack, &splits, &device, other.path(), None);
        let (train_attack_model, _) = load_checkpoint(&first, &device).unwrap();
        assert_ne!(
            named_buffers(&eval_model),
            named_buffers(&train_attack_model)
        );
    }

    #[test]
    fn a_checkpoint_of_other_settings_is_refused() {
        let s = settings(OptimizerSettings::default());
        let mut short = s.clone();
        short.training.epochs = 1;
        let splits = load_splits(&s.data).unwrap();
        let device = Device::flex().autodiff();
        let dir = tempfile::tempdir().unwrap();
        run(&short, &splits, &device, dir.path(), None);
        let resume = load_resume(dir.path(), &device).unwrap();
        assert!(resume.is_complete());
        let err = train(&s, &splits, &device, Some(resume), &mut Silent).unwrap_err();
        assert!(err.to_string().contains("other settings"), "{err}");
    }
}
