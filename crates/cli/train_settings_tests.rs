//! Tests of `train_settings.rs`: flags over files, defaults, resume differences.

use super::*;

#[test]
fn setting_differences_name_each_field() {
    let stored = TrainSettings::default();
    let mut given = stored.clone();
    given.training.epochs += 1;
    given.adversarial = Some(PgdSettings::new(advland_schema::Norm::L2, 1.0, 3));
    let d = setting_differences(&stored, &given).unwrap();
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d[0].starts_with("adversarial: unset → {"), "{d:?}");
    assert_eq!(
        d[1],
        format!(
            "training.epochs: {} → {}",
            stored.training.epochs, given.training.epochs
        )
    );
    assert!(setting_differences(&stored, &stored).unwrap().is_empty());
}

fn train_args(args: &[&str]) -> TrainArgs {
    use clap::Parser;
    let mut all = vec!["advland", "train"];
    all.extend(args);
    match crate::args::Cli::try_parse_from(all).unwrap().command {
        crate::args::Command::Train(t) => *t,
        other => panic!("{other:?}"),
    }
}

/// No schedule flag leaves the defaults (or the file's schedules); a kind given keeps the
/// file's parameters of that kind; a parameter without its kind is refused naming it.
#[test]
fn schedule_flags_resolve_over_the_file() {
    let s = resolve(&train_args(&[])).unwrap();
    assert_eq!(s.training, TrainingSettings::default());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("train.toml");
    std::fs::write(
        &file,
        "[training]\nepochs = 8\nschedule = { kind = \"piecewise\", milestones = [4], \
         factor = 0.5 }\neps_schedule = { kind = \"periodic\", periods = 2 }\n\
         [adversarial]\nnorm = \"linf\"\neps = 0.1\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let s = resolve(&train_args(&["--config", config, "--milestones", "2,6"])).unwrap();
    assert_eq!(
        s.training.schedule,
        LrSchedule::Piecewise {
            milestones: vec![2, 6],
            factor: 0.5
        }
    );
    let s = resolve(&train_args(&["--config", config, "--eps-peak", "1"])).unwrap();
    assert_eq!(
        s.training.eps_schedule,
        EpsSchedule::Periodic {
            periods: 2,
            start: 0.0,
            peak: 1.0
        }
    );
    let s = resolve(&train_args(&[
        "--config",
        config,
        "--schedule",
        "cyclic",
        "--warmup-epochs",
        "1",
        "--eps-schedule",
        "linear",
        "--eps-warmup-epochs",
        "3",
        "--eps-start",
        "1/255",
    ]))
    .unwrap();
    assert_eq!(
        (s.training.schedule, s.training.warmup_epochs),
        (LrSchedule::Cyclic, 1)
    );
    assert_eq!(
        s.training.eps_schedule,
        EpsSchedule::Linear {
            epochs: 3,
            start: 1.0 / 255.0
        }
    );
    for (args, flag) in [
        (&["--lr-factor", "0.5"][..], "--schedule piecewise"),
        (&["--eps-peak", "2"], "--eps-peak"),
        (&["--eps-schedule", "linear"], "--eps-warmup-epochs"),
    ] {
        let err = resolve(&train_args(args)).unwrap_err().to_string();
        assert!(err.contains(flag), "{args:?}: {err}");
    }
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
    assert_eq!(t.nesterov, Some(true));
    assert_eq!(t.entropy.anchor_gradient, Some(true));
    assert_eq!(t.entropy.outer_nesterov, Some(false));
    assert_eq!(parse(&["--nesterov", "false"]).nesterov, Some(false));
    assert_eq!(parse(&[]).nesterov, None);
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
            Ok(crate::args::Command::Train(t)) => {
                Ok(t.model.apply(advland_schema::ModelSpec::default()))
            }
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

/// `--trades-beta` and the AWP flags set `objective` and `awp`; `--awp-gamma` alone gives
/// AWP's defaults otherwise (the help's [0] warm-up is `AwpSettings::default()`'s); no
/// flag leaves both unset.
#[test]
fn trades_and_awp_flags_resolve_onto_the_settings() {
    let at = ["--norm", "linf", "--eps", "0.1"];
    let with = |extra: &[&str]| {
        let mut args = at.to_vec();
        args.extend(extra);
        resolve(&train_args(&args))
    };
    let s = with(&[
        "--trades-beta",
        "6",
        "--awp-gamma",
        "0.005",
        "--awp-warmup",
        "2",
    ])
    .unwrap();
    assert_eq!(s.objective, TrainObjective::Trades { beta: 6.0 });
    assert_eq!(
        s.awp,
        Some(AwpSettings {
            gamma: 0.005,
            warmup_epochs: 2
        })
    );
    assert!(
        default_run_dir(&s)
            .to_string_lossy()
            .contains("linf-0.1-trades6-awp0.005"),
        "{}",
        default_run_dir(&s).display()
    );
    let gamma = AwpSettings::default().gamma.to_string();
    let s = with(&["--awp-gamma", &gamma]).unwrap();
    assert_eq!(s.awp, Some(AwpSettings::default()));
    assert!(s.objective.is_cross_entropy());
    let plain = with(&[]).unwrap();
    assert_eq!(
        (plain.objective.clone(), plain.awp.clone()),
        (TrainObjective::CrossEntropy, None)
    );
    assert!(settings_given(&train_args(&["--awp-warmup", "1"])));
    let err = with(&["--awp-warmup", "3"]).unwrap_err().to_string();
    assert!(err.contains("--awp-gamma"), "{err}");
}
