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

/// Freezing the adversarial objective's own attack at θ₀ gives the adversarial-frozen
/// objective, to the last bit, without attacking θ₀ again.
#[test]
fn the_adversarial_objective_freezes_into_the_frozen_one_without_a_second_attack() {
    for norm in [Norm::Linf, Norm::L2] {
        let (adversarial, _) = objective(ObjectiveKind::Adversarial, norm);
        let (built, _) = objective(ObjectiveKind::AdversarialFrozen, norm);
        let theta = adversarial.reference();
        adversarial.loss_and_gradient(&theta).unwrap();
        let attacked = adversarial.cost();
        let frozen = adversarial.frozen_at_reference().unwrap();
        assert_eq!(adversarial.cost(), attacked, "{norm:?}: θ₀ attacked again");
        assert_eq!(frozen.kind(), ObjectiveKind::AdversarialFrozen);
        let moved: Vec<f64> = theta.iter().map(|t| t + 1e-3).collect();
        for at in [&theta, &moved] {
            assert_eq!(
                frozen.loss_and_gradient(at).unwrap(),
                built.loss_and_gradient(at).unwrap(),
                "{norm:?}"
            );
        }
        assert_eq!(
            frozen.perturbation(&moved).unwrap(),
            built.perturbation(&moved).unwrap()
        );
    }
    let (clean, _) = objective(ObjectiveKind::Clean, Norm::Linf);
    assert!(clean.frozen_at_reference().is_err());
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

/// `recompute_bn_on`: at every θ the loss is the eval-mode loss of the model whose running
/// statistics were re-estimated there (checked against `Model::recompute_bn_statistics` by
/// hand, at θ₀ and at a perturbed θ), which differs from the loss with θ₀'s statistics; no
/// gradient is offered for it.
#[test]
fn recomputed_batch_norm_statistics_follow_theta() {
    use advland_schema::ModelKind;
    use advland_train::params::load_flat;
    use burn::tensor::{DType, Tensor, TensorData};
    let device = Device::flex().autodiff();
    let splits = fashion_mnist_bundled().unwrap();
    let test = splits.test.subset_evenly(12).unwrap();
    let train = splits.train.subset_evenly(24).unwrap();
    let spec = ModelSpec {
        kind: ModelKind::PreactResnet18,
        base_width: Some(2),
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: test.shape,
        classes: 10,
    };
    let model = init_seeded(Model::build(&spec, shape, &device).unwrap(), 5).unwrap();
    let objective_spec = ObjectiveSpec {
        kind: ObjectiveKind::Clean,
        attack: None,
        precision: Precision::F64,
        batch_size: 8,
        seed: 0,
        freeze_activations: false,
    };
    let own = ModelObjective::new(&model, &test, &objective_spec, &device).unwrap();
    let recomputed = ModelObjective::new(&model, &test, &objective_spec, &device)
        .unwrap()
        .recompute_bn_on(&train, 8)
        .unwrap();
    let images = |d: &advland_data::Dataset, range: std::ops::Range<usize>| {
        let idx: Vec<usize> = range.collect();
        let (pixels, _) = d.gather(&idx);
        let [c, h, w] = d.shape;
        Tensor::<4>::from_data(
            TensorData::new(pixels, [idx.len(), c, h, w]),
            (&device.clone().inner(), DType::F64),
        )
    };
    let batches = [
        images(&train, 0..8),
        images(&train, 8..16),
        images(&train, 16..24),
    ];
    let by_hand = |theta: &[f64]| {
        let flat = Tensor::<1>::from_data(
            TensorData::new(theta.to_vec(), [theta.len()]),
            (&device.clone().inner(), DType::F64),
        );
        let m = load_flat(model.in_dtype(DType::F64).unwrap(), flat)
            .unwrap()
            .recompute_bn_statistics(&batches)
            .unwrap();
        let (_, labels) = test.gather(&(0..12).collect::<Vec<_>>());
        let labels = Tensor::<1, burn::tensor::Int>::from_data(
            TensorData::new(labels, [12]),
            &device.clone().inner(),
        );
        let logits = m.forward(images(&test, 0..12)).inner();
        advland_train::loss::cross_entropy(logits, labels)
            .mean()
            .into_scalar::<f64>()
    };
    let theta0 = own.reference();
    let mut theta1 = theta0.clone();
    for (i, v) in theta1.iter_mut().enumerate() {
        *v *= 1.0 + 0.2 * ((i % 7) as f64 - 3.0) / 3.0;
    }
    for theta in [&theta0, &theta1] {
        let want = by_hand(theta);
        let got = recomputed.loss(theta).unwrap();
        assert!(
            (got - want).abs() < 1e-9 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }
    let with_own = own.loss(&theta1).unwrap();
    let with_new = recomputed.loss(&theta1).unwrap();
    assert!(
        (with_own - with_new).abs() > 1e-6,
        "{with_own} vs {with_new}"
    );
    // A gradient holding θ-dependent statistics fixed is not this loss's gradient: refused.
    let err = recomputed
        .loss_and_gradient(&theta1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bn"), "{err}");
}
