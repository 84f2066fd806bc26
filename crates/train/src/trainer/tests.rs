//! The training loop resumes from any checkpoint to the uninterrupted run (SGD, EntropySGD, TRADES
//! with AWP, batch norm) and refuses a checkpoint of other settings.

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
    let weights = |dir: &Path| std::fs::read(dir.join("checkpoints/epoch-0003").join(WEIGHTS_FILE));
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
