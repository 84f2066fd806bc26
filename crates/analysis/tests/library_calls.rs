//! The analyses as library calls on a tiny model: what they return, what they refuse, and that
//! composing them (relate) adds up to the parts.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

mod common;

use advland_analysis::flatness::{self, FlatnessConfig};
use advland_analysis::relate::{RelateConfig, relate};
use advland_analysis::sharpness::{self, SharpnessConfig};
use advland_analysis::surface::{self, SurfaceConfig, make_directions};
use advland_analysis::{Error, Subject};
use advland_schema::{Estimator, Norm, ObjectiveKind, PgdSettings, SharpnessEstimate};
use advland_train::Silent;
use burn::tensor::Device;

fn subject(seed: u64, device: &Device) -> Subject {
    let (model, test) = common::tiny_mlp(60, seed, device);
    Subject {
        model,
        test,
        checkpoint: format!("model-{seed}"),
        epoch: 1,
        trained_with: Some(PgdSettings::new(Norm::Linf, 0.05, 3)),
        train: None,
    }
}

#[test]
fn sharpness_reports_its_subset_cost_and_subject() {
    let device = Device::flex().autodiff();
    let s = subject(1, &device);
    let config = SharpnessConfig {
        objective: ObjectiveKind::Clean,
        subset: 20,
        k: 2,
        max_iter: 10,
        ..SharpnessConfig::default()
    };
    let m = sharpness::measure(&s, &[], &config, &device, &mut Silent).unwrap();
    assert_eq!((m.data.examples, m.data.total), (20, 60));
    assert!(m.cost.backward > 0);
    assert_eq!(m.report.objective.checkpoint, "model-1");
    let SharpnessEstimate::Hessian(h) = &m.report.estimate else {
        panic!("not a Hessian estimate")
    };
    assert_eq!(h.eigenvalues.len(), 2);
    // The report is the configuration's: meta.config is that configuration, whole.
    let report = m.into_report(&config, 0, vec!["test".into()], "cpu", 0.0);
    assert_eq!(report.kind, "sharpness");
    assert_eq!(report.meta.config["k"], 2);
}

#[test]
fn configurations_are_refused_by_the_setting_at_fault() {
    let device = Device::flex().autodiff();
    let s = subject(1, &device);
    let field = |e: Error| match e {
        Error::InvalidConfig { field, .. } => field.to_owned(),
        Error::Train(advland_train::Error::InvalidConfig { field, .. }) => field,
        other => panic!("unexpected error {other}"),
    };
    // An adversarial objective without an attack, and a clean one with one.
    let no_attack = SharpnessConfig::default();
    let e = sharpness::measure(&s, &[], &no_attack, &device, &mut Silent).unwrap_err();
    assert_eq!(field(e), "attack");
    let local_entropy_on_hessian = SharpnessConfig {
        objective: ObjectiveKind::Clean,
        local_entropy_gamma: Some(0.1),
        ..SharpnessConfig::default()
    };
    let e =
        sharpness::measure(&s, &[], &local_entropy_on_hessian, &device, &mut Silent).unwrap_err();
    assert_eq!(field(e), "local_entropy_gamma");
    let too_many = FlatnessConfig {
        subset: 61,
        ..FlatnessConfig::new(PgdSettings::new(Norm::L2, 0.5, 2))
    };
    let e = flatness::measure(&s, &too_many, &device, &mut Silent).unwrap_err();
    assert_eq!(field(e), "subset");
    let twice = SurfaceConfig {
        objective: vec![ObjectiveKind::Clean, ObjectiveKind::Clean],
        subset: 10,
        ..SurfaceConfig::default()
    };
    let d = make_directions(&s, &[], &twice, &device).unwrap();
    let e = surface::compute(&s, &d, String::new(), &twice, &device).unwrap_err();
    assert_eq!(field(e), "objective");
}

#[test]
fn relate_rows_are_the_flatness_and_sharpness_of_each_subject() {
    let device = Device::flex().autodiff();
    let config = RelateConfig {
        attacks: Vec::new(),
        subset: 10,
        radii: vec![1e-2],
        directions: 1,
        ascent_steps: 1,
        power_iterations: 3,
        seed: 0,
    };
    let subjects = [1, 2, 3].map(|seed| Ok::<_, Error>(subject(seed, &device)));
    let m = relate(subjects, &config, &device, &mut Silent).unwrap();
    let rows = &m.report.rows;
    assert_eq!(rows.len(), 3);
    // No attack given: each model's own (norm and ε), at PGD-10.
    assert!(
        rows.iter()
            .all(|r| r.attack == PgdSettings::new(Norm::Linf, 0.05, 10))
    );
    // One correlation per measure against κ, and again against the random-direction κ.
    assert_eq!(m.report.correlations.len(), 10);
    // The first row equals the two measurements relate composes.
    let s = subject(1, &device);
    let flat = flatness::measure(
        &s,
        &FlatnessConfig {
            subset: 10,
            power_iterations: 3,
            trace_samples: 2,
            curve_points: 0,
            random_directions: 0,
            ..FlatnessConfig::new(PgdSettings::new(Norm::Linf, 0.05, 10))
        },
        &device,
        &mut Silent,
    )
    .unwrap();
    let adversarial = flat
        .report
        .points
        .iter()
        .find(|p| p.point != advland_schema::flatness::InputPoint::Clean)
        .unwrap();
    assert_eq!(
        rows[0].hessian_top_adversarial,
        adversarial.hessian_top.median
    );
    let sharp = sharpness::measure(
        &s,
        &[],
        &SharpnessConfig {
            estimator: Estimator::Lipschitz,
            attack: Some(PgdSettings::new(Norm::Linf, 0.05, 10)),
            subset: 10,
            radii: vec![1e-2],
            directions: 1,
            ascent_steps: 1,
            ..SharpnessConfig::default()
        },
        &device,
        &mut Silent,
    )
    .unwrap();
    let SharpnessEstimate::Lipschitz(l) = &sharp.report.estimate else {
        panic!("not lipschitz")
    };
    assert_eq!(rows[0].kappa_adversarial, l.objectives[0].kappa_max);
}
