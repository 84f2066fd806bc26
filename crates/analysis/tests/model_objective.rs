//! The model objective: gradients against finite differences, the frozen ablation at θ₀, and
//! no mutation of the caller's model.

use advland_analysis::model_objective::{ModelObjective, ObjectiveSpec, Precision};
use advland_analysis::{Objective, ObjectiveKind};
use advland_data::fashion_mnist_bundled;
use advland_schema::{ModelKind, ModelSpec, Norm, PgdSettings};
use advland_train::params::{flatten, init_seeded, to_host};
use advland_train::{Model, ModelShape};
use burn::tensor::Device;

fn setup() -> (Model, advland_data::Dataset, Device) {
    let device = Device::flex().autodiff();
    let data = fashion_mnist_bundled()
        .unwrap()
        .test
        .subset_evenly(40)
        .unwrap();
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![6],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: data.shape,
        classes: 10,
    };
    let model = init_seeded(Model::build(&spec, shape, &device).unwrap(), 4).unwrap();
    (model, data, device)
}

fn objective(kind: ObjectiveKind, norm: Norm) -> (ModelObjective, Model) {
    let (model, data, device) = setup();
    let eps = match norm {
        Norm::Linf => 0.05,
        Norm::L2 => 0.5,
    };
    let attack = PgdSettings::new(norm, eps, 5);
    let spec = ObjectiveSpec {
        kind,
        attack: Some(attack),
        precision: Precision::F64,
        batch_size: 16,
        seed: 3,
        freeze_activations: false,
    };
    let o = ModelObjective::new(&model, &data, &spec, &device).unwrap();
    (o, model)
}

#[test]
fn f64_gradient_matches_central_differences_of_the_loss() {
    for kind in [ObjectiveKind::Clean, ObjectiveKind::AdversarialFrozen] {
        let (o, _) = objective(kind, Norm::Linf);
        let theta = o.reference();
        let (loss, grad) = o.loss_and_gradient(&theta).unwrap();
        assert!((o.loss(&theta).unwrap() - loss).abs() < 1e-12);
        // A few coordinates with sizeable gradients: the first-layer bias and output weights.
        for i in [4704, 4706, 4710, 4720, theta.len() - 1] {
            let h = 1e-6;
            let mut p = theta.clone();
            p[i] += h;
            let mut m = theta.clone();
            m[i] -= h;
            let fd = (o.loss(&p).unwrap() - o.loss(&m).unwrap()) / (2.0 * h);
            assert!(
                (fd - grad[i]).abs() <= 1e-7 + 1e-6 * grad[i].abs(),
                "{kind:?} coordinate {i}: analytic {} vs FD {fd}",
                grad[i]
            );
        }
    }
}

fn check_adversarial_objectives_agree_at_reference(norm: Norm) {
    let (adv, _) = objective(ObjectiveKind::Adversarial, norm);
    let (frozen, _) = objective(ObjectiveKind::AdversarialFrozen, norm);
    let (clean, _) = objective(ObjectiveKind::Clean, norm);
    let theta = adv.reference();
    let (la, ga) = adv.loss_and_gradient(&theta).unwrap();
    let (lf, gf) = frozen.loss_and_gradient(&theta).unwrap();
    assert!((la - lf).abs() < 1e-12, "{norm}: {la} vs {lf}");
    assert!(ga.iter().zip(&gf).all(|(a, b)| (a - b).abs() < 1e-12));
    assert!(
        la > clean.loss(&theta).unwrap(),
        "{norm}: attack did not raise the loss"
    );
    // Away from θ₀ the frozen δ₀ no longer maximises, so it gives a lower loss.
    let moved: Vec<f64> = theta
        .iter()
        .enumerate()
        .map(|(i, t)| t + 0.02 * ((i % 7) as f64 - 3.0))
        .collect();
    assert!(adv.loss(&moved).unwrap() + 1e-9 >= frozen.loss(&moved).unwrap());
    let delta = adv.perturbation_at(&theta).unwrap();
    let per_example = 784;
    for chunk in delta.chunks(per_example) {
        let n = match norm {
            Norm::Linf => chunk.iter().fold(0.0f64, |m, v| m.max(v.abs())),
            Norm::L2 => chunk.iter().map(|v| v * v).sum::<f64>().sqrt(),
        };
        let eps = if norm == Norm::Linf { 0.05 } else { 0.5 };
        assert!(n <= eps * (1.0 + 1e-9), "{norm}: ‖δ‖ = {n}");
    }
}

#[test]
fn linf_adversarial_and_frozen_agree_at_reference() {
    check_adversarial_objectives_agree_at_reference(Norm::Linf);
}

#[test]
fn l2_adversarial_and_frozen_agree_at_reference() {
    check_adversarial_objectives_agree_at_reference(Norm::L2);
}

#[test]
fn objective_never_mutates_the_callers_model() {
    let (o, model) = objective(ObjectiveKind::Adversarial, Norm::Linf);
    let before = to_host(&flatten(&model));
    let theta: Vec<f64> = o.reference().iter().map(|t| t + 0.1).collect();
    o.loss_and_gradient(&theta).unwrap();
    assert_eq!(before, to_host(&flatten(&model)));
    assert!(o.cost().backward > 0 && o.evaluations() == 1);
}

#[test]
fn adversarial_inputs_are_reused_at_the_same_theta() {
    let (o, _) = objective(ObjectiveKind::Adversarial, Norm::L2);
    let theta = o.reference();
    o.loss_and_gradient(&theta).unwrap();
    let after_gradient = o.cost();
    o.perturbation(&theta).unwrap();
    assert_eq!(
        o.cost(),
        after_gradient,
        "δ*(θ) was recomputed at the same θ"
    );
    let moved: Vec<f64> = theta.iter().map(|t| t + 1e-3).collect();
    o.perturbation(&moved).unwrap();
    assert!(
        o.cost().backward > after_gradient.backward,
        "a new θ must be attacked anew"
    );
}
