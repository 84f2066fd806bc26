//! PGD's per-step hook: it sees every iterate and changes nothing.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use advland_schema::{ModelKind, ModelSpec, Norm, PgdSettings};
use advland_train::attack::pgd_attack_observed;
use advland_train::params::{init_seeded, to_host};
use advland_train::{Attack, Batch, Model, ModelShape, pgd_attack};
use burn::tensor::{Device, Int, Tensor, TensorData};

fn setup(kind: ModelKind) -> (Model, Batch) {
    let device = Device::flex().autodiff();
    let spec = ModelSpec {
        kind,
        hidden: vec![16],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 28, 28],
        classes: 10,
    };
    let model = init_seeded(Model::build(&spec, shape, &device).unwrap(), 3).unwrap();
    let b = 6;
    let pixels: Vec<f32> = (0..b * 784)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let labels: Vec<i64> = (0..b as i64).map(|i| (i * 3) % 10).collect();
    let batch = Batch {
        images: Tensor::from_data(TensorData::new(pixels, [b, 1, 28, 28]), &device),
        labels: Tensor::<1, Int>::from_data(TensorData::new(labels, [b]), &device),
    };
    (model, batch)
}

fn host(x: &Tensor<4>) -> Vec<f32> {
    let n = x.shape().num_elements();
    to_host(&x.clone().inner().reshape([n]))
}

fn check_observer_changes_nothing(kind: ModelKind, norm: Norm, restarts: usize) {
    let (model, batch) = setup(kind);
    let eps = if norm == Norm::Linf { 0.1 } else { 1.0 };
    let settings = PgdSettings {
        restarts,
        ..PgdSettings::new(norm, eps, 4)
    };
    let attack = Attack::new(settings.clone());
    let plain = pgd_attack(&model, &batch, &attack, 11);
    let mut seen = Vec::new();
    let mut record = |view: advland_train::attack::StepView<'_>| {
        seen.push((view.restart, view.step, host(view.adversarial)));
    };
    let observed = pgd_attack_observed(&model, &batch, &attack, 11, Some(&mut record));
    assert_eq!(host(&plain.adversarial), host(&observed.adversarial));
    assert_eq!(plain.cost, observed.cost);
    let order: Vec<(usize, usize)> = seen.iter().map(|(r, s, _)| (*r, *s)).collect();
    let want: Vec<(usize, usize)> = (0..restarts)
        .flat_map(|r| (0..=4).map(move |s| (r, s)))
        .collect();
    assert_eq!(order, want);
    // The iterate after k steps of the first restart is PGD run for k steps.
    for (k, (_, _, iterate)) in seen.iter().take(5).enumerate() {
        let stopped = Attack::new(PgdSettings {
            steps: k,
            restarts: 1,
            ..settings.clone()
        });
        let short = pgd_attack(&model, &batch, &stopped, 11);
        assert_eq!(&host(&short.adversarial), iterate, "{norm} step {k}");
    }
}

#[test]
fn observer_leaves_pgd_unchanged_linf_mlp() {
    check_observer_changes_nothing(ModelKind::Mlp, Norm::Linf, 1);
}

#[test]
fn observer_leaves_pgd_unchanged_l2_cnn_restarts() {
    check_observer_changes_nothing(ModelKind::Cnn, Norm::L2, 2);
}
