//! Mode connectivity: a midpoint control point scans as the line, training lowers the
//! curve's loss below the line's.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

mod common;

use advland_analysis::Subject;
use advland_analysis::connectivity::{ConnectConfig, measure};
use advland_data::fashion_mnist_bundled;
use advland_schema::{Norm, ObjectiveKind, PgdSettings, Precision};
use advland_train::Silent;
use burn::tensor::Device;

fn ends(device: &Device) -> (Subject, advland_train::Model) {
    let (a, test) = common::tiny_mlp(40, 1, device);
    let (b, _) = common::tiny_mlp(40, 2, device);
    let train = fashion_mnist_bundled()
        .unwrap()
        .train
        .subset_evenly(64)
        .unwrap();
    let subject = Subject {
        model: a,
        test,
        checkpoint: "a".to_owned(),
        epoch: 0,
        trained_with: None,
        train: Some(train),
    };
    (subject, b)
}

#[test]
fn a_midpoint_curve_scans_as_the_line() {
    let device = Device::flex().autodiff();
    let (subject, b) = ends(&device);
    let config = ConnectConfig {
        epochs: 0,
        points: 5,
        subset: 40,
        batch_size: 16,
        precision: Precision::F64,
        scan_adversarial: true,
        attack: Some(PgdSettings::new(Norm::Linf, 0.05, 2)),
        ..ConnectConfig::default()
    };
    let (measured, trained) = measure(&subject, &b, "b", &config, &device, &mut Silent).unwrap();
    let r = measured.report;
    assert_eq!((trained.steps, r.control_offset), (0, 0.0));
    let pairs = [
        (&r.curve.clean_loss, &r.line.clean_loss),
        (&r.curve.clean_accuracy, &r.line.clean_accuracy),
        (
            r.curve.adversarial_loss.as_ref().unwrap(),
            r.line.adversarial_loss.as_ref().unwrap(),
        ),
    ];
    for (curve, line) in pairs {
        for (c, l) in curve.iter().zip(line) {
            assert!((c - l).abs() <= 1e-12 * l.abs().max(1.0), "{c} vs {l}");
        }
    }
    assert_eq!(r.curve.t, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    assert!(r.endpoint_distance > 0.0);
}

#[test]
fn training_the_control_point_lowers_the_loss_along_the_curve() {
    let device = Device::flex().autodiff();
    let (subject, b) = ends(&device);
    let config = ConnectConfig {
        epochs: 6,
        lr: 0.5,
        batch_size: 16,
        points: 5,
        subset: 40,
        ..ConnectConfig::default()
    };
    let (measured, trained) = measure(&subject, &b, "b", &config, &device, &mut Silent).unwrap();
    let r = measured.report;
    assert_eq!(trained.steps, 6 * 4);
    assert!(r.control_offset > 0.0);
    assert!(
        r.train_loss.last().unwrap() < r.train_loss.first().unwrap(),
        "{:?}",
        r.train_loss
    );
    // The ends are shared; inside, the trained curve sits below the line.
    assert_eq!(r.curve.clean_loss[0], r.line.clean_loss[0]);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(max(&r.curve.clean_loss) <= max(&r.line.clean_loss));
    assert!(r.curve.clean_loss[2] < r.line.clean_loss[2]);
}

#[test]
fn bad_settings_name_their_field() {
    let device = Device::flex().autodiff();
    let (subject, b) = ends(&device);
    let run = |config: ConnectConfig| {
        measure(&subject, &b, "b", &config, &device, &mut Silent)
            .unwrap_err()
            .to_string()
    };
    let err = run(ConnectConfig {
        objective: ObjectiveKind::Adversarial,
        ..ConnectConfig::default()
    });
    assert!(err.contains("attack"), "{err}");
    let err = run(ConnectConfig {
        points: 1,
        ..ConnectConfig::default()
    });
    assert!(err.contains("points"), "{err}");
}

#[test]
fn batch_norm_ends_keep_their_statistics_and_scans_re_estimate_them() {
    use advland_data::Dataset;
    use advland_schema::{ModelKind, ModelSpec};
    use advland_train::params::{init_seeded, named_buffers};
    use advland_train::{Model, ModelShape};

    let device = Device::flex().autodiff();
    let spec = ModelSpec {
        kind: ModelKind::PreactResnet18,
        base_width: Some(2),
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [3, 28, 28],
        classes: 3,
    };
    let build = |seed| init_seeded(Model::build(&spec, shape, &device).unwrap(), seed).unwrap();
    let data = |n: usize, salt: usize| {
        let pixels = (0..n * 2352)
            .map(|i| ((i * 7919 + salt) % 997) as f32 / 997.0)
            .collect();
        let labels = (0..n).map(|i| (i % 3) as u8).collect();
        let names = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        Dataset::new("synthetic", pixels, labels, [3, 28, 28], names).unwrap()
    };
    let subject = Subject {
        model: build(1),
        test: data(8, 1),
        checkpoint: "a".to_owned(),
        epoch: 0,
        trained_with: None,
        train: Some(data(16, 2)),
    };
    let before = named_buffers(&subject.model);
    let config = ConnectConfig {
        epochs: 1,
        batch_size: 8,
        points: 3,
        subset: 8,
        bn_recompute: 16,
        ..ConnectConfig::default()
    };
    let (measured, trained) =
        measure(&subject, &build(2), "b", &config, &device, &mut Silent).unwrap();
    assert_eq!(trained.steps, 2);
    assert_eq!(measured.report.bn_recompute, Some(16));
    assert_eq!(
        named_buffers(&subject.model),
        before,
        "θ_A's statistics changed"
    );
    assert!(
        measured
            .report
            .curve
            .clean_loss
            .iter()
            .all(|l| l.is_finite())
    );
}
