//! Tests of `flags.rs`: train's flags parse into the overrides they name (the rules of
//! applying them are tested in `overrides/tests.rs`). They run where the `clap` feature is on,
//! as in `cargo test --workspace` (the advland binary turns it on).

use clap::Parser;

use super::*;

/// A command line of the flags alone.
#[derive(Debug, Parser)]
struct Train {
    #[command(flatten)]
    flags: TrainFlags,
}

fn try_train_args(args: &[&str]) -> std::result::Result<TrainFlags, String> {
    let all = std::iter::once("train").chain(args.iter().copied());
    Train::try_parse_from(all)
        .map(|t| t.flags)
        .map_err(|e| e.to_string())
}

fn train_args(args: &[&str]) -> TrainFlags {
    try_train_args(args).expect("parses")
}

/// Flags reach the settings through the overrides: the file's values stay where no flag is
/// given, and a refusal still names its flag.
#[test]
fn flags_resolve_over_the_file() {
    let s = train_args(&[]).resolve().unwrap();
    assert_eq!(s, TrainSettings::default());
    assert!(!train_args(&[]).settings_given());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("train.toml");
    fs_err::write(
        &file,
        "[training]\nepochs = 8\nschedule = { kind = \"piecewise\", milestones = [4], \
         factor = 0.5 }\n[adversarial]\nnorm = \"linf\"\neps = 0.1\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    assert!(train_args(&["--config", config]).settings_given());
    let s = train_args(&["--config", config, "--milestones", "2,6"])
        .resolve()
        .unwrap();
    assert_eq!(
        s.training.schedule,
        crate::LrSchedule::Piecewise {
            milestones: vec![2, 6],
            factor: 0.5
        }
    );
    assert_eq!(s.training.epochs, 8);
    let err = train_args(&["--eps-peak", "2"])
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(err.contains("--eps-peak"), "{err}");
    assert!(train_args(&["--awp-warmup", "1"]).settings_given());
}

/// `--train-subset all` undoes the file's subset (so a validation hold-out can leave the rest
/// to training); a number replaces it; nothing else parses, and the refusal says what would.
#[test]
fn a_subset_flag_takes_a_count_or_all() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("train.toml");
    fs_err::write(&file, "[data]\ntrain_subset = 4000\ntest_subset = 1000\n").unwrap();
    let config = file.to_str().unwrap();
    let data = |args: &[&str]| {
        let all: Vec<&str> = ["--config", config].iter().chain(args).copied().collect();
        let s = train_args(&all).resolve().unwrap().data;
        (s.train_subset, s.test_subset)
    };
    assert_eq!(data(&[]), (Some(4000), Some(1000)));
    assert_eq!(
        data(&["--train-subset", "all", "--val-subset", "500"]),
        (None, Some(1000))
    );
    assert_eq!(
        data(&["--train-subset", "300", "--test-subset", "all"]),
        (Some(300), None)
    );
    for bad in ["0", "most", "2.5"] {
        let err = try_train_args(&["--train-subset", bad]).unwrap_err();
        assert!(
            err.contains("--train-subset") && err.contains("(or `all`)"),
            "{err}"
        );
    }
}

/// Every flag lands in the override of its name.
#[test]
fn each_flag_sets_its_override() {
    let o = train_args(&[
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
        "--val-subset",
        "40",
        "--checkpoint-every",
        "2",
        "--model",
        "wrn-28-10",
        "--widen",
        "4",
        "--activation",
        "gelu",
    ])
    .overrides();
    assert_eq!(o.seed, Some(3));
    assert_eq!(o.model.kind, Some(crate::ModelKind::WideResnet));
    // A published name's sizes, each replaced by its own flag.
    assert_eq!((o.model.depth, o.model.widen), (Some(28), Some(4)));
    assert_eq!(o.model.activation, Some(crate::Activation::Gelu));
    assert_eq!(o.data.dataset, Some(crate::DatasetName::Mnist));
    assert_eq!(o.data.train_subset, Some(crate::SubsetSize::Count(5)));
    assert_eq!(
        (o.epochs, o.batch_size, o.lr),
        (Some(2), Some(7), Some(0.5))
    );
    assert_eq!(o.schedules.schedule, Some(crate::LrScheduleKind::Cyclic));
    assert_eq!(o.schedules.eps_periods, Some(2));
    assert_eq!(o.optimizer, Some(crate::OptimizerKind::EntropySgd));
    assert_eq!((o.momentum, o.entropy.gamma0), (Some(0.5), Some(1.0)));
    assert_eq!(
        (o.norm, o.eps, o.steps),
        (Some(crate::Norm::L2), Some(0.5), Some(3))
    );
    assert_eq!(o.robust.trades_beta, Some(6.0));
    assert_eq!(o.eval_attacks.len(), 1);
    assert_eq!((o.eval_subset, o.checkpoint_every), (Some(9), Some(2)));
    assert_eq!(o.validation_subset, Some(40));
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
    let spec = |args: &[&str]| {
        try_train_args(args).map(|t| t.overrides().model.apply(crate::ModelSpec::default()))
    };
    let s = spec(&["--model", "wrn-28-10"]).unwrap();
    assert_eq!(
        (s.kind, s.depth, s.widen),
        (crate::ModelKind::WideResnet, Some(28), Some(10))
    );
    let s = spec(&["--model", "wrn-34-10", "--depth", "16", "--widen", "2"]).unwrap();
    assert_eq!((s.depth, s.widen), (Some(16), Some(2)));
    assert_eq!(
        spec(&["--model", "preact-resnet18"]).unwrap().kind,
        crate::ModelKind::PreactResnet18
    );
    let err = spec(&["--model", "wrn-99"]).unwrap_err();
    assert!(
        err.contains("preact-resnet18") && err.contains("wrn-34-10"),
        "{err}"
    );
}

/// `EntropySgdOverrides::given` names every field it holds by its flag.
#[test]
fn entropy_sgd_overrides_name_their_flags() {
    let args = [
        ("--inner-steps", "1"),
        ("--gamma0", "1"),
        ("--gamma1", "0"),
        ("--scoping", "frozen"),
        ("--inner-lr", "0.1"),
        ("--noise", "0"),
        ("--noise-convention", "code"),
        ("--mean-weight", "0.5"),
        ("--outer-convention", "code"),
        ("--outer-momentum", "0.5"),
        ("--outer-nesterov", "true"),
        ("--outer-weight-decay", "0"),
        ("--anchor-gradient", "true"),
    ];
    let flat: Vec<&str> = args.iter().flat_map(|(f, v)| [*f, *v]).collect();
    let mut flags: Vec<String> = args.iter().map(|(f, _)| (*f).to_owned()).collect();
    flags.sort();
    assert_eq!(train_args(&flat).overrides.entropy.given(), flags);
    assert!(train_args(&[]).overrides.entropy.given().is_empty());
}
