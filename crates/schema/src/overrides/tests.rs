//! Tests of the overrides: over files and defaults, the refusals naming their flags.

use super::*;
use crate::settings::{EpsSchedule, LrSchedule, TrainingSettings};

fn none() -> TrainOverrides {
    TrainOverrides::default()
}

fn schedules(s: ScheduleOverrides) -> TrainOverrides {
    TrainOverrides {
        schedules: s,
        ..none()
    }
}

/// No schedule override leaves the defaults (or the file's schedules); a kind given keeps the
/// file's parameters of that kind; a parameter without its kind is refused naming it.
#[test]
fn schedule_overrides_resolve_over_the_file() {
    let s = none().resolve(None).unwrap();
    assert_eq!(s.training, TrainingSettings::default());
    assert!(none().is_empty());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("train.toml");
    fs_err::write(
        &file,
        "[training]\nepochs = 8\nschedule = { kind = \"piecewise\", milestones = [4], \
         factor = 0.5 }\neps_schedule = { kind = \"periodic\", periods = 2 }\n\
         [adversarial]\nnorm = \"linf\"\neps = 0.1\n",
    )
    .unwrap();
    let config = Some(file.as_path());
    let s = schedules(ScheduleOverrides {
        milestones: Some(vec![2, 6]),
        ..ScheduleOverrides::default()
    })
    .resolve(config)
    .unwrap();
    assert_eq!(
        s.training.schedule,
        LrSchedule::Piecewise {
            milestones: vec![2, 6],
            factor: 0.5
        }
    );
    let s = schedules(ScheduleOverrides {
        eps_peak: Some(1.0),
        ..ScheduleOverrides::default()
    })
    .resolve(config)
    .unwrap();
    assert_eq!(
        s.training.eps_schedule,
        EpsSchedule::Periodic {
            periods: 2,
            start: 0.0,
            peak: 1.0
        }
    );
    let s = schedules(ScheduleOverrides {
        schedule: Some(LrScheduleKind::Cyclic),
        warmup_epochs: Some(1),
        eps_schedule: Some(EpsScheduleKind::Linear),
        eps_warmup_epochs: Some(3),
        eps_start: Some(1.0 / 255.0),
        ..ScheduleOverrides::default()
    })
    .resolve(config)
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
    for (overrides, flag) in [
        (
            ScheduleOverrides {
                lr_factor: Some(0.5),
                ..ScheduleOverrides::default()
            },
            "--schedule piecewise",
        ),
        (
            ScheduleOverrides {
                eps_peak: Some(2.0),
                ..ScheduleOverrides::default()
            },
            "--eps-peak",
        ),
        (
            ScheduleOverrides {
                eps_schedule: Some(EpsScheduleKind::Linear),
                ..ScheduleOverrides::default()
            },
            "--eps-warmup-epochs",
        ),
    ] {
        let err = schedules(overrides.clone()).resolve(None).unwrap_err();
        assert!(err.to_string().contains(flag), "{overrides:?}: {err}");
        assert!(
            matches!(err, Error::Overrides { .. }),
            "{overrides:?}: {err:?}"
        );
    }
}

/// `trades_beta` and the AWP overrides set `objective` and `awp`; `awp_gamma` alone gives
/// AWP's defaults otherwise (the help's [0] warm-up is `AwpSettings::default()`'s); none
/// leaves both unset.
#[test]
fn trades_and_awp_overrides_resolve_onto_the_settings() {
    let with = |robust: RobustOverrides| {
        TrainOverrides {
            norm: Some(Norm::Linf),
            eps: Some(0.1),
            robust,
            ..none()
        }
        .resolve(None)
    };
    let s = with(RobustOverrides {
        trades_beta: Some(6.0),
        awp_gamma: Some(0.005),
        awp_warmup: Some(2),
    })
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
        s.default_run_dir()
            .to_string_lossy()
            .contains("linf-0.1-trades6-awp0.005"),
        "{}",
        s.default_run_dir().display()
    );
    let s = with(RobustOverrides {
        awp_gamma: Some(AwpSettings::default().gamma),
        ..RobustOverrides::default()
    })
    .unwrap();
    assert_eq!(s.awp, Some(AwpSettings::default()));
    assert!(s.objective.is_cross_entropy());
    let plain = with(RobustOverrides::default()).unwrap();
    assert_eq!(
        (plain.objective.clone(), plain.awp.clone()),
        (TrainObjective::CrossEntropy, None)
    );
    let warmup = RobustOverrides {
        awp_warmup: Some(3),
        ..RobustOverrides::default()
    };
    assert!(
        !TrainOverrides {
            robust: warmup.clone(),
            ..none()
        }
        .is_empty()
    );
    let err = with(warmup).unwrap_err().to_string();
    assert!(err.contains("--awp-gamma"), "{err}");
}

/// The training attack: both of norm and ε, or one over the file's attack; PGD's step size
/// follows a changed attack; step overrides need an attack.
#[test]
fn attack_overrides_need_norm_and_eps_or_a_file_attack() {
    let s = TrainOverrides {
        norm: Some(Norm::L2),
        eps: Some(0.5),
        steps: Some(4),
        ..none()
    }
    .resolve(None)
    .unwrap();
    let adv = s.adversarial.clone().unwrap();
    assert_eq!((adv.steps, adv.step_size), (4, default_step_size(0.5, 4)));
    assert_eq!(s.eval.attacks, vec![PgdSettings::new(Norm::L2, 0.5, 20)]);
    let linf = TrainOverrides {
        norm: Some(Norm::Linf),
        ..none()
    }
    .apply(s)
    .unwrap();
    assert_eq!(linf.adversarial.unwrap().norm, Norm::Linf);
    for (o, message) in [
        (
            TrainOverrides {
                norm: Some(Norm::Linf),
                ..none()
            },
            "--norm needs --eps (the attack radius)",
        ),
        (
            TrainOverrides {
                eps: Some(0.1),
                ..none()
            },
            "--eps needs --norm (linf or l2)",
        ),
        (
            TrainOverrides {
                step_size: Some(0.1),
                ..none()
            },
            "--steps/--step-size set the training attack: add --norm and --eps",
        ),
    ] {
        assert_eq!(o.resolve(None).unwrap_err().to_string(), message);
    }
}

/// Switching the rule starts from its defaults; the shared overrides set both EntropySGD
/// loops; EntropySGD's own overrides under SGD are refused, all named.
#[test]
fn optimizer_overrides_switch_kinds_and_name_misplaced_flags() {
    let s = TrainOverrides {
        optimizer: Some(OptimizerKind::EntropySgd),
        momentum: Some(0.8),
        entropy: EntropySgdOverrides {
            inner_steps: Some(2),
            ..EntropySgdOverrides::default()
        },
        ..none()
    }
    .resolve(None)
    .unwrap();
    let OptimizerSettings::EntropySgd(e) = &s.optimizer else {
        panic!("{:?}", s.optimizer)
    };
    assert_eq!((e.momentum, e.outer_momentum, e.inner_steps), (0.8, 0.8, 2));
    assert!(s.default_run_dir().ends_with("cnn-std-esgd-s0"));
    let back = TrainOverrides {
        optimizer: Some(OptimizerKind::Sgd),
        ..none()
    }
    .apply(s)
    .unwrap();
    assert_eq!(back.optimizer, OptimizerSettings::default());
    let err = TrainOverrides {
        entropy: EntropySgdOverrides {
            gamma0: Some(1.0),
            noise: Some(2.0),
            ..EntropySgdOverrides::default()
        },
        ..none()
    }
    .resolve(None)
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--gamma0, --noise set EntropySGD: add --optimizer entropy-sgd"
    );
    let Error::Overrides { flags, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(flags, ["--gamma0", "--noise"]);
}

/// A subset size in JSON is a number or "all", as on the command line; 0 and other words are
/// refused.
#[test]
fn subset_sizes_deserialise_as_a_count_or_all() {
    let o: TrainOverrides =
        serde_json::from_str(r#"{"data": {"train_subset": "all", "test_subset": 20}}"#).unwrap();
    assert_eq!(
        (o.data.train_subset, o.data.test_subset),
        (Some(SubsetSize::All), Some(SubsetSize::Count(20)))
    );
    assert_eq!(
        serde_json::to_value(&o.data).unwrap()["train_subset"],
        serde_json::json!("all")
    );
    for bad in [r#"0"#, r#""most""#, r#"-1"#] {
        let text = format!(r#"{{"data": {{"train_subset": {bad}}}}}"#);
        assert!(
            serde_json::from_str::<TrainOverrides>(&text).is_err(),
            "{text}"
        );
    }
    let mut base = TrainSettings::default();
    base.data.train_subset = Some(4000);
    let s = o.apply(base).unwrap();
    assert_eq!((s.data.train_subset, s.data.test_subset), (None, Some(20)));
}

/// Overrides read from JSON with the flags' names (what another program sends).
#[test]
fn overrides_deserialise_by_flag_name_and_refuse_unknown_ones() {
    let o: TrainOverrides = serde_json::from_str(
        r#"{"epochs": 3, "schedules": {"schedule": "piecewise", "milestones": [1]},
            "optimizer": "entropy-sgd", "model": {"kind": "wide-resnet", "depth": 16}}"#,
    )
    .unwrap();
    assert_eq!(o.epochs, Some(3));
    assert_eq!(o.schedules.schedule, Some(LrScheduleKind::Piecewise));
    assert_eq!(o.optimizer, Some(OptimizerKind::EntropySgd));
    let s = o.resolve(None).unwrap();
    assert_eq!(
        (s.model.kind, s.model.depth),
        (ModelKind::WideResnet, Some(16))
    );
    assert!(serde_json::from_str::<TrainOverrides>(r#"{"epoch": 3}"#).is_err());
}
