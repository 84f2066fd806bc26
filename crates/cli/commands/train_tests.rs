//! `advland train`'s settings resolution and flag parsing.

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

/// A bare boolean flag means true (what the Python wrapper's `nesterov=True` sends); a
/// value still sets it either way.
#[test]
fn boolean_settings_take_a_bare_flag_or_a_value() {
    use clap::Parser;
    let parse = |args: &[&str]| {
        let mut all = vec!["advland", "train"];
        all.extend(args);
        match crate::args::Cli::try_parse_from(all).unwrap().command {
            crate::args::Command::Train(t) => t,
            other => panic!("{other:?}"),
        }
    };
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
