//! Training on the bundled data: the loss goes down, checkpoints are written, and attacks
//! never raise accuracy.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use advland_data::fashion_mnist_bundled;
use advland_schema::{
    DataSettings, EvalSettings, LrSchedule, ModelKind, ModelSpec, Norm, PgdSettings, TrainSettings,
    TrainingSettings,
};
use advland_train::checkpoint::load_checkpoint;
use advland_train::data::{describe, load_splits};
use advland_train::trainer::RunWriter;
use advland_train::{Silent, evaluate, train};
use burn::tensor::Device;

fn settings(adversarial: Option<PgdSettings>) -> TrainSettings {
    TrainSettings {
        seed: 1,
        data: DataSettings {
            train_subset: Some(1000),
            test_subset: Some(300),
            ..DataSettings::default()
        },
        model: ModelSpec {
            kind: ModelKind::Mlp,
            hidden: vec![64],
            ..ModelSpec::default()
        },
        training: TrainingSettings {
            epochs: 3,
            batch_size: 50,
            lr: 0.05,
            schedule: LrSchedule::Constant,
            checkpoint_every: 2,
            gradient_budget: None,
        },
        adversarial,
        eval: EvalSettings {
            subset: None,
            attacks: vec![
                PgdSettings::new(Norm::Linf, 0.1, 5),
                PgdSettings::new(Norm::L2, 1.0, 5),
            ],
            batch_size: 150,
        },
        ..TrainSettings::default()
    }
}

fn meta(s: &TrainSettings) -> advland_schema::Meta {
    let splits = fashion_mnist_bundled().unwrap();
    advland_schema::Meta {
        advland_version: "test".into(),
        burn_version: "test".into(),
        command: vec![],
        device: "cpu".into(),
        seed: s.seed,
        config: serde_json::to_value(s).unwrap(),
        data: describe(&splits.train, splits.train.len()),
        started_unix_s: 0,
        duration_s: 0.0,
        cost: Default::default(),
    }
}

fn check_training_reduces_loss_and_attacks_never_help(adversarial: Option<PgdSettings>) {
    let s = settings(adversarial);
    let splits = load_splits(&s.data).unwrap();
    let device = Device::flex().autodiff();
    let dir = tempfile::tempdir().unwrap();
    let (model, log) = train(
        &s,
        &splits,
        &device,
        None,
        &mut RunWriter::new(dir.path(), meta(&s), &mut Silent),
    )
    .unwrap();
    let first = &log.epochs[0];
    let last = log.epochs.last().unwrap();
    assert!(
        last.train_objective.loss < first.train_objective.loss,
        "objective did not decrease: {} -> {}",
        first.train_objective.loss,
        last.train_objective.loss
    );
    assert!(
        last.test.clean.accuracy > 0.5,
        "clean accuracy {}",
        last.test.clean.accuracy
    );
    for r in &last.test.robust {
        assert!(
            r.metrics.accuracy <= last.test.clean.accuracy,
            "{} attack raised accuracy",
            r.attack.norm
        );
        assert!(r.metrics.loss >= last.test.clean.loss);
    }
    // Checkpoints at epochs 2 and 3 (the last is always kept), and a reloaded checkpoint
    // evaluates exactly like the model in memory.
    let epochs: Vec<usize> = log.checkpoints.iter().map(|c| c.epoch).collect();
    assert_eq!(epochs, vec![2, 3]);
    let (reloaded, info) =
        load_checkpoint(&dir.path().join(&log.checkpoints[1].path), &device).unwrap();
    assert_eq!(info.epoch, 3);
    let a = evaluate(&model, &splits.test, &[], 100, 0, &device, &mut Silent)
        .unwrap()
        .0;
    let b = evaluate(&reloaded, &splits.test, &[], 100, 0, &device, &mut Silent)
        .unwrap()
        .0;
    assert_eq!(a.clean, b.clean);
    let report: serde_json::Value =
        advland_schema::read_json(&dir.path().join("train.json")).unwrap();
    assert_eq!(report["kind"], "train");
    assert_eq!(report["data"]["epochs"].as_array().unwrap().len(), 3);
}

#[test]
fn standard_training_reduces_loss_and_attacks_never_help() {
    check_training_reduces_loss_and_attacks_never_help(None);
}

#[test]
fn linf_adversarial_training_reduces_loss_and_attacks_never_help() {
    check_training_reduces_loss_and_attacks_never_help(Some(PgdSettings::new(Norm::Linf, 0.1, 3)));
}

#[test]
fn l2_adversarial_training_reduces_loss_and_attacks_never_help() {
    check_training_reduces_loss_and_attacks_never_help(Some(PgdSettings::new(Norm::L2, 1.0, 3)));
}

#[test]
fn same_seed_gives_identical_runs() {
    let s = settings(Some(PgdSettings::new(Norm::Linf, 0.1, 2)));
    let mut s = s;
    s.training.epochs = 1;
    let splits = load_splits(&s.data).unwrap();
    let device = Device::flex().autodiff();
    let (_, a) = train(&s, &splits, &device, None, &mut Silent).unwrap();
    let (_, b) = train(&s, &splits, &device, None, &mut Silent).unwrap();
    assert_eq!(a.epochs[0].train_objective, b.epochs[0].train_objective);
    assert_eq!(a.epochs[0].test, b.epochs[0].test);
}
