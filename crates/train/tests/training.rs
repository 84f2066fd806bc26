//! Training on the bundled data: the loss goes down, checkpoints are written, attacks never
//! raise accuracy, and APGD is never weaker than PGD-20 on the trained model.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use advland_data::Splits;
use advland_data::fashion_mnist_bundled;
use advland_schema::TrainLog;
use advland_schema::{
    AttackSpec, DataSettings, EvalSettings, LrSchedule, ModelKind, ModelSpec, Norm, PgdSettings,
    TrainSettings, TrainingSettings,
};
use advland_train::checkpoint::load_checkpoint;
use advland_train::data::{describe, load_splits};
use advland_train::trainer::RunWriter;
use advland_train::{Attack, Model, Silent, evaluate, evaluate_attacks, train};
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
            ..TrainingSettings::default()
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
        weights: Vec::new(),
        provenance: Default::default(),
    }
}

/// A model trained as `s` says, in a temporary run directory (kept alive by the caller).
fn trained(s: &TrainSettings) -> (Model, TrainLog, Splits, Device, tempfile::TempDir) {
    let splits = load_splits(&s.data).unwrap();
    let device = Device::flex().autodiff();
    let dir = tempfile::tempdir().unwrap();
    let (model, log) = train(
        s,
        &splits,
        &device,
        None,
        &mut RunWriter::new(dir.path(), meta(s), &mut Silent),
    )
    .unwrap();
    (model, log, splits, device, dir)
}

fn check_training_reduces_loss_and_attacks_never_help(adversarial: Option<PgdSettings>) {
    let s = settings(adversarial);
    let (model, log, splits, device, dir) = trained(&s);
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

/// On a PGD-trained MLP (2 epochs on 1,000 bundled examples), per norm: APGD-CE and
/// autoattack-lite are never above PGD-20; autoattack-lite's first stage is exactly the
/// `apgd-ce` attack (same seed stream), its flags are the AND of its stages', and the worst
/// case is the AND of every attack's and the clean flags. PGD entries equal `evaluate`'s.
#[test]
fn apgd_is_never_weaker_than_pgd_and_worst_cases_are_ands() {
    let mut s = settings(Some(PgdSettings::new(Norm::Linf, 0.1, 3)));
    s.training.epochs = 2;
    let (model, _, splits, device, _dir) = trained(&s);
    let test = splits.test.subset_evenly(120).unwrap();
    for (norm, eps) in [("linf", "0.1"), ("l2", "1.5")] {
        let specs: Vec<AttackSpec> = [
            format!("pgd:{norm}:{eps}:20"),
            format!("apgd-ce:{norm}:{eps}"),
            format!("apgd-t:{norm}:{eps}:25"),
            format!("autoattack-lite:{norm}:{eps}"),
        ]
        .iter()
        .map(|t| AttackSpec::parse(t).unwrap())
        .collect();
        let (r, cost) =
            evaluate_attacks(&model, &test, &specs, 50, 4, &device, &mut Silent).unwrap();
        let acc = |i: usize| r.attacks[i].metrics.accuracy;
        let (pgd, apgd_ce, lite) = (acc(0), acc(1), acc(3));
        assert!(
            pgd > 0.05 && pgd < r.clean.accuracy,
            "{norm}: PGD-20 accuracy {pgd} must be informative (clean {})",
            r.clean.accuracy
        );
        assert!(apgd_ce <= pgd, "{norm}: APGD-CE {apgd_ce} > PGD-20 {pgd}");
        assert!(
            lite <= apgd_ce && lite <= acc(2),
            "{norm}: autoattack-lite {lite}"
        );
        let stages = &r.attacks[3].stages;
        assert_eq!(stages.len(), 2);
        assert_eq!(
            stages[0].robust, r.attacks[1].robust,
            "{norm}: stage 1 is APGD-CE"
        );
        for (i, flag) in r.attacks[3].robust.iter().enumerate() {
            assert_eq!(*flag, stages[0].robust[i] && stages[1].robust[i]);
        }
        assert!(stages.iter().all(|st| lite <= st.metrics.accuracy));
        let worst = r.worst_case.as_ref().unwrap();
        // APGD's flags imply clean correctness, so the AND with the clean flags adds nothing.
        for i in 0..test.len() {
            let all = r.attacks.iter().all(|a| a.robust[i]);
            assert_eq!(worst.robust[i], all, "{norm} #{i}");
        }
        assert!(
            r.attacks
                .iter()
                .all(|a| worst.metrics.accuracy <= a.metrics.accuracy)
        );
        assert!(
            r.attacks
                .iter()
                .all(|a| worst.metrics.loss >= a.metrics.loss - 1e-9)
        );
        assert!(cost.backward > 0 && r.attacks.iter().all(|a| a.seed == 4));
        let (old, _) = evaluate(
            &model,
            &test,
            &[Attack::new(PgdSettings::new(
                specs[0].norm(),
                specs[0].eps(),
                20,
            ))],
            50,
            4,
            &device,
            &mut Silent,
        )
        .unwrap();
        assert_eq!(old.robust, r.robust, "{norm}: PGD as evaluate reports it");
        assert!(old.attacks.is_empty() && old.worst_case.is_none());
    }
    let bad = [AttackSpec::parse("pgd:linf:0.1").unwrap(), {
        let mut a = AttackSpec::parse("apgd-ce:linf:0.1").unwrap();
        if let AttackSpec::Apgd(a) = &mut a {
            a.steps = 0;
        }
        a
    }];
    let err = evaluate_attacks(&model, &test, &bad, 50, 0, &device, &mut Silent).unwrap_err();
    assert!(
        err.to_string().contains("attacks[1].steps: must be >= 1"),
        "{err}"
    );
}
