//! Tests of `train_settings.rs`: train's flags parse into the overrides they name (the rules
//! of applying them are tested in `advland_schema::overrides`).

use super::*;

fn train_args(args: &[&str]) -> TrainArgs {
    let mut all = vec!["train"];
    all.extend(args);
    match crate::args::parse_command(&all) {
        crate::args::Command::Train(t) => *t,
        other => panic!("{other:?}"),
    }
}

/// Flags reach the settings through the overrides: the file's values stay where no flag is
/// given, and a refusal still names its flag.
#[test]
fn flags_resolve_over_the_file() {
    let s = resolve(&train_args(&[])).unwrap();
    assert_eq!(s, TrainSettings::default());
    assert!(!settings_given(&train_args(&[])));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("train.toml");
    fs_err::write(
        &file,
        "[training]\nepochs = 8\nschedule = { kind = \"piecewise\", milestones = [4], \
         factor = 0.5 }\n[adversarial]\nnorm = \"linf\"\neps = 0.1\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    assert!(settings_given(&train_args(&["--config", config])));
    let s = resolve(&train_args(&["--config", config, "--milestones", "2,6"])).unwrap();
    assert_eq!(
        s.training.schedule,
        advland_schema::LrSchedule::Piecewise {
            milestones: vec![2, 6],
            factor: 0.5
        }
    );
    assert_eq!(s.training.epochs, 8);
    let err = resolve(&train_args(&["--eps-peak", "2"]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--eps-peak"), "{err}");
    assert!(settings_given(&train_args(&["--awp-warmup", "1"])));
}

/// Every flag lands in the override of its name.
#[test]
fn each_flag_sets_its_override() {
    let o = overrides(&train_args(&[
        "--seed",
        "3",
        "--dataset",
        "mnist",
        "--train-subset",
        "5",
        "--epochs",
        "2",
        "--batch-size",
        "7",
        "--lr",
        "0.5",
        "--schedule",
        "cyclic",
        "--eps-schedule",
        "periodic",
        "--eps-periods",
        "2",
        "--optimizer",
        "entropy-sgd",
        "--momentum",
        "0.5",
        "--gamma0",
        "1",
        "--norm",
        "l2",
        "--eps",
        "0.5",
        "--steps",
        "3",
        "--trades-beta",
        "6",
        "--eval-attack",
        "linf:0.1",
        "--eval-subset",
        "9",
        "--checkpoint-every",
        "2",
        "--model",
        "wrn-28-10",
        "--widen",
        "4",
        "--activation",
        "gelu",
    ]));
    assert_eq!(o.seed, Some(3));
    assert_eq!(o.model.kind, Some(advland_schema::ModelKind::WideResnet));
    // A published name's sizes, each replaced by its own flag.
    assert_eq!((o.model.depth, o.model.widen), (Some(28), Some(4)));
    assert_eq!(o.model.activation, Some(advland_schema::Activation::Gelu));
    assert_eq!(o.data.dataset, Some(advland_schema::DatasetName::Mnist));
    assert_eq!(o.data.train_subset, Some(5));
    assert_eq!(
        (o.epochs, o.batch_size, o.lr),
        (Some(2), Some(7), Some(0.5))
    );
    assert_eq!(
        o.schedules.schedule,
        Some(advland_schema::LrScheduleKind::Cyclic)
    );
    assert_eq!(o.schedules.eps_periods, Some(2));
    assert_eq!(o.optimizer, Some(advland_schema::OptimizerKind::EntropySgd));
    assert_eq!((o.momentum, o.entropy.gamma0), (Some(0.5), Some(1.0)));
    assert_eq!(
        (o.norm, o.eps, o.steps),
        (Some(advland_schema::Norm::L2), Some(0.5), Some(3))
    );
    assert_eq!(o.robust.trades_beta, Some(6.0));
    assert_eq!(o.eval_attacks.len(), 1);
    assert_eq!((o.eval_subset, o.checkpoint_every), (Some(9), Some(2)));
}

/// A bare boolean flag means true (what the Python wrapper's `nesterov=True` sends); a
/// value still sets it either way.
#[test]
fn boolean_settings_take_a_bare_flag_or_a_value() {
    let parse = train_args;
    let t = parse(&[
        "--nesterov",
        "--anchor-gradient",
        "--outer-nesterov",
        "false",
    ]);
    assert_eq!(t.overrides.nesterov, Some(true));
    assert_eq!(t.overrides.entropy.anchor_gradient, Some(true));
    assert_eq!(t.overrides.entropy.outer_nesterov, Some(false));
    assert_eq!(
        parse(&["--nesterov", "false"]).overrides.nesterov,
        Some(false)
    );
    assert_eq!(parse(&[]).overrides.nesterov, None);
}

/// Published wide-ResNet names set depth and width; explicit flags still win; an unknown
/// name lists the known ones.
#[test]
fn model_names_fix_the_wide_resnets_sizes() {
    use clap::Parser;
    let spec = |args: &[&str]| {
        let mut all = vec!["advland", "train"];
        all.extend(args);
        match crate::args::Cli::try_parse_from(all).map(|c| c.command) {
            Ok(crate::args::Command::Train(t)) => Ok(overrides(&t)
                .model
                .apply(advland_schema::ModelSpec::default())),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.to_string()),
        }
    };
    let s = spec(&["--model", "wrn-28-10"]).unwrap();
    assert_eq!(
        (s.kind, s.depth, s.widen),
        (advland_schema::ModelKind::WideResnet, Some(28), Some(10))
    );
    let s = spec(&["--model", "wrn-34-10", "--depth", "16", "--widen", "2"]).unwrap();
    assert_eq!((s.depth, s.widen), (Some(16), Some(2)));
    assert_eq!(
        spec(&["--model", "preact-resnet18"]).unwrap().kind,
        advland_schema::ModelKind::PreactResnet18
    );
    let err = spec(&["--model", "wrn-99"]).unwrap_err();
    assert!(
        err.contains("preact-resnet18") && err.contains("wrn-34-10"),
        "{err}"
    );
}
