//! The model objective: gradients against finite differences, the frozen ablation at θ₀, and
//! no mutation of the caller's model.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

mod common;

use advland_analysis::model_objective::{ModelObjective, ObjectiveSpec, Precision};
use advland_analysis::{Objective, ObjectiveKind};
use advland_data::fashion_mnist_bundled;
use advland_schema::{ModelSpec, Norm, PgdSettings};
use advland_train::params::{flatten, init_seeded, to_host};
use advland_train::{Attack, Model, ModelShape};
use burn::tensor::Device;

fn setup() -> (Model, advland_data::Dataset, Device) {
    let device = Device::flex().autodiff();
    let (model, data) = common::tiny_mlp(40, 4, &device);
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
        attack: Some(Attack::new(attack)),
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

#[test]
fn chunked_gradients_equal_the_full_batch_gradient_whatever_the_thread_count() {
    use advland_train::loss::cross_entropy;
    use advland_train::params::{flat_gradient, load_flat};
    use burn::tensor::{DType, Int, Tensor, TensorData};

    // The CNN on 300 images in one batch: three chunks (128, 128, 44) run in parallel.
    let device = Device::flex().autodiff();
    let data = fashion_mnist_bundled()
        .unwrap()
        .test
        .subset_evenly(300)
        .unwrap();
    let shape = ModelShape {
        input: data.shape,
        classes: 10,
    };
    let model = init_seeded(
        Model::build(&ModelSpec::default(), shape, &device).unwrap(),
        8,
    )
    .unwrap();
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for freeze_activations in [false, true] {
        let spec = ObjectiveSpec {
            kind: ObjectiveKind::Clean,
            attack: None,
            precision: Precision::F64,
            batch_size: 300,
            seed: 0,
            freeze_activations,
        };
        let o = ModelObjective::new(&model, &data, &spec, &device).unwrap();
        let theta = o.reference();
        let (loss, grad) = o.loss_and_gradient(&theta).unwrap();
        let (o1, t1) = (o.clone(), theta.clone());
        let ((loss1, grad1), loss_only1) =
            one_thread.install(move || (o1.loss_and_gradient(&t1).unwrap(), o1.loss(&t1).unwrap()));
        assert!(
            loss == loss1 && grad == grad1,
            "the thread count changed the result"
        );
        assert_eq!(loss_only1, o.loss(&theta).unwrap());

        // One autodiff pass over the whole batch: the same up to the order of the sums.
        let f64_model = load_flat(model.clone(), flatten(&model).cast(DType::F64)).unwrap();
        let (pixels, labels) = data.gather(&(0..300).collect::<Vec<_>>());
        let x = Tensor::<4>::from_data(
            TensorData::new(pixels, [300, 1, 28, 28]),
            (&device, DType::F64),
        );
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [300]), &device);
        // sum / n, not `mean()`: burn 0.22's mean backward came out 2e-8 off here in f64.
        let mean = cross_entropy(f64_model.forward(x), y)
            .sum()
            .div_scalar(300.0);
        let full_loss: f64 = mean.clone().detach().into_scalar();
        let full = flat_gradient(&f64_model, &mean.backward());
        let full: Vec<f64> = full.into_data().convert::<f64>().try_to_vec().unwrap();
        assert!((loss - full_loss).abs() < 1e-13 * full_loss);
        let scale = full.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        let gap = grad
            .iter()
            .zip(&full)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            gap < 1e-12 * scale,
            "{freeze_activations}: gap {gap} (scale {scale})"
        );
    }
}
