use super::*;

#[test]
fn checkpoints_follow_the_papers_recursion_at_100_steps() {
    // p₀ = 0, p₁ = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), in hundredths so
    // that no rounding enters, then w_j = ⌈p_j·N⌉ while w_j ≤ N.
    let formula = |steps: usize| {
        let mut p = vec![0usize, 22];
        loop {
            let j = p.len() - 1;
            let next = p[j] + (p[j] - p[j - 1]).saturating_sub(3).max(6);
            if next * steps > 100 * steps {
                break;
            }
            p.push(next);
        }
        p.iter()
            .map(|pj| (pj * steps).div_ceil(100))
            .filter(|&w| w <= steps)
            .collect::<Vec<_>>()
    };
    assert_eq!(apgd_checkpoints(100), formula(100));
    assert_eq!(apgd_checkpoints(100), [0, 22, 41, 57, 70, 80, 87, 93, 99]);
    assert_eq!(apgd_checkpoints(200), formula(200));
    // Short runs still check: every interval is at least one iteration.
    assert_eq!(apgd_checkpoints(3), [0, 1, 2, 3]);
    assert_eq!(apgd_checkpoints(1), [0, 1]);
}

use crate::loss::tests::{ints, logits};
use advland_schema::Norm;
use burn::tensor::Device;

#[test]
fn steps_halve_on_few_increases_or_a_stall_after_a_kept_step() {
    let d = Device::flex();
    let floats = |v: &[f32]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &d);
    let bools =
        |v: &[bool]| Tensor::<1, Bool>::from_data(TensorData::new(v.to_vec(), [v.len()]), &d);
    // Interval 16: ρ·16 = 12 increases is still "few" (auto-attack's ≤).
    let increases = floats(&[12.0, 13.0, 13.0, 13.0, 13.0]);
    let halved_before = bools(&[false, false, true, false, true]);
    let best_before = floats(&[0.0, 1.0, 1.0, 1.0, 1.0]);
    let best_now = floats(&[5.0, 1.0, 1.0, 2.0, 2.0]);
    let got = host_bools(halving(increases, 16, halved_before, best_before, best_now));
    // 0: condition 1; 1: stalled after a kept step; 2: stalled, but halved last time;
    // 3, 4: improved.
    assert_eq!(got, [true, true, false, false, false]);
}

#[test]
fn targets_are_the_highest_non_true_classes_never_the_label() {
    // Row 0 is classified correctly (y = 1 is the arg-max), row 1 is not (y = 4), row 2 has
    // its label tied with another logit.
    let z = logits(&[
        [1.0, 4.0, -2.0, 3.0, 0.0],
        [2.0, 0.0, 5.0, 1.0, -1.0],
        [3.0, 3.0, 0.0, 1.0, 2.0],
    ]);
    let got = host_ints(target_classes(z.clone(), ints(&[1, 4, 0]), 4));
    assert_eq!(got, [3, 0, 4, 2, 2, 0, 3, 1, 1, 4, 3, 2]);
    for count in 1..5 {
        let t = host_ints(target_classes(z.clone(), ints(&[1, 4, 0]), count));
        for (row, label) in [1i64, 4, 0].iter().enumerate() {
            assert!(
                !t[row * count..(row + 1) * count].contains(label),
                "{count} targets of row {row}: {t:?}"
            );
        }
    }
}

#[test]
fn class_rules_follow_the_loss() {
    assert_eq!(apgd_class_problem(ApgdLoss::Ce, 2), None);
    assert!(
        apgd_class_problem(ApgdLoss::Dlr, 2)
            .unwrap()
            .contains("at least 3 classes")
    );
    assert_eq!(apgd_class_problem(ApgdLoss::Dlr, 3), None);
    assert!(
        apgd_class_problem(ApgdLoss::TargetedDlr, 3)
            .unwrap()
            .contains("at least 4 classes, this one has 3")
    );
}

/// A 4-class linear model on 3 inputs whose logit k is x·w_k: the true class wins by a wide
/// margin for the examples at the centre, so a small ball breaks nothing.
fn four_class_model(device: &Device) -> Model {
    use advland_schema::{ModelKind, ModelSpec};
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![],
        ..ModelSpec::default()
    };
    let shape = crate::model::ModelShape {
        input: [1, 1, 3],
        classes: 4,
    };
    let model = Model::build(&spec, shape, device).expect("a linear model builds");
    // burn's weight is [in, out], then the bias.
    let weight = [
        [4.0f32, 0.0, 1.0, -1.0],
        [0.0, 4.0, -1.0, 1.0],
        [1.0, 1.0, 0.0, 0.5],
    ];
    let mut flat: Vec<f32> = weight.iter().flatten().copied().collect();
    flat.extend([0.0; 4]);
    crate::params::load_flat(model, crate::params::from_host(flat, device)).expect("sizes match")
}

fn centre_batch(device: &Device) -> Batch {
    Batch {
        images: Tensor::from_data(
            TensorData::new(vec![0.9f32, 0.1, 0.5, 0.1, 0.9, 0.5], [2, 1, 1, 3]),
            device,
        ),
        labels: Tensor::from_data(TensorData::new(vec![0i64, 1], [2]), device),
    }
}

#[test]
fn cost_counts_every_pass_of_every_target_on_unbroken_examples() {
    let device = Device::flex().autodiff();
    let model = four_class_model(&device);
    let batch = centre_batch(&device);
    let mut s = ApgdSettings::new(Norm::Linf, 0.01, ApgdLoss::TargetedDlr);
    s.steps = 10;
    s.targets = Some(9);
    let out = apgd_attack(&model, &batch, &s, 3).unwrap();
    assert_eq!(out.robust, [true, true]);
    assert_eq!(out.attacked, [true, true]);
    // Clean pass, then 3 targets (4 classes) × (start + 10 iterations) for 2 examples.
    assert_eq!(out.cost.forward, 2 + 3 * 11 * 2);
    assert_eq!(out.cost.backward, 3 * 11 * 2);
    let mut s = ApgdSettings::new(Norm::L2, 0.01, ApgdLoss::Dlr);
    s.steps = 5;
    s.restarts = 2;
    let out = apgd_attack(&model, &batch, &s, 3).unwrap();
    assert_eq!(out.cost.backward, 2 * 6 * 2);
}

#[test]
fn a_large_ball_breaks_examples_and_a_misclassified_one_is_not_attacked() {
    let device = Device::flex().autodiff();
    let model = four_class_model(&device);
    let mut batch = centre_batch(&device);
    // Example 1 labelled 2: misclassified when clean.
    batch.labels = Tensor::from_data(TensorData::new(vec![0i64, 2], [2]), &device);
    for loss in [ApgdLoss::Ce, ApgdLoss::Dlr, ApgdLoss::TargetedDlr] {
        let mut s = ApgdSettings::new(Norm::Linf, 0.5, loss);
        s.steps = 20;
        let out = apgd_attack(&model, &batch, &s, 1).unwrap();
        assert_eq!(out.attacked, [true, false], "{loss:?}");
        assert!(!out.robust[1], "{loss:?}");
        let adv = to_host(&out.adversarial.clone().reshape([6]));
        assert_eq!(
            &adv[3..],
            [0.1, 0.9, 0.5],
            "{loss:?}: the clean input comes back"
        );
        let correct = correct_flags(&model.valid().forward(out.adversarial), &ints(&[0, 2]));
        assert_eq!(
            correct, out.robust,
            "{loss:?}: flags agree with the returned points"
        );
        // The untargeted DLR loss has a local maximum at the box corner (1, 0, 0) where
        // some starts end (its scale z_π1 − z_π3 shrinks as z₁ rises); the other two
        // losses lead to the corner (0.4, 0.6, 1), where class 1 wins.
        if loss != ApgdLoss::Dlr {
            assert!(!out.robust[0], "{loss:?}: {adv:?}");
        }
    }
}

#[test]
fn same_seed_same_points_and_the_ball_and_box_hold() {
    let device = Device::flex().autodiff();
    let model = four_class_model(&device);
    let batch = centre_batch(&device);
    for norm in [Norm::Linf, Norm::L2] {
        let mut s = ApgdSettings::new(norm, 0.3, ApgdLoss::Ce);
        s.steps = 15;
        let a = apgd_attack(&model, &batch, &s, 7).unwrap();
        let b = apgd_attack(&model, &batch, &s, 7).unwrap();
        let (a, b) = (
            to_host(&a.adversarial.reshape([6])),
            to_host(&b.adversarial.reshape([6])),
        );
        assert_eq!(a, b, "{norm}");
        let x = [0.9f32, 0.1, 0.5, 0.1, 0.9, 0.5];
        for example in 0..2 {
            let delta: Vec<f32> = (0..3)
                .map(|i| a[example * 3 + i] - x[example * 3 + i])
                .collect();
            let size = match norm {
                Norm::Linf => delta.iter().fold(0.0f32, |m, v| m.max(v.abs())),
                Norm::L2 => delta.iter().map(|v| v * v).sum::<f32>().sqrt(),
            };
            assert!(size <= 0.3 + 1e-6, "{norm}: ‖δ‖ = {size}");
        }
        assert!(a.iter().all(|v| (0.0..=1.0).contains(v)), "{norm}: {a:?}");
    }
}

#[test]
fn wrong_settings_and_too_few_classes_are_errors() {
    let device = Device::flex().autodiff();
    let model = Model::two_class_linear([1, 1, 3], &[1.0, -1.0, 0.5], 0.0, &device).unwrap();
    let batch = centre_batch(&device);
    let s = ApgdSettings::new(Norm::Linf, 0.1, ApgdLoss::TargetedDlr);
    let err = apgd_attack(&model, &batch, &s, 0).unwrap_err().to_string();
    assert!(
        err.contains("attack.loss") && err.contains("at least 4 classes"),
        "{err}"
    );
    let empty = Batch {
        images: Tensor::zeros([0, 1, 1, 3], &device),
        labels: Tensor::zeros([0], &device),
    };
    let mut s = ApgdSettings::new(Norm::Linf, 0.1, ApgdLoss::Ce);
    let out = apgd_attack(&model, &empty, &s, 0).unwrap();
    assert!(out.robust.is_empty() && out.cost.forward == 0);
    s.steps = 0;
    let err = apgd_attack(&model, &batch, &s, 0).unwrap_err().to_string();
    assert!(err.contains("attack.steps: must be >= 1"), "{err}");
    let mut s = ApgdSettings::new(Norm::L2, -0.5, ApgdLoss::Ce);
    s.targets = Some(2);
    let err = apgd_attack(&model, &batch, &s, 0).unwrap_err().to_string();
    assert!(
        err.contains("attack.eps") && err.contains("attack.targets"),
        "{err}"
    );
}

#[test]
fn cnn_takes_the_hand_written_ce_gradient_plus_a_forward_and_autodiff_for_dlr() {
    use advland_schema::ModelSpec;
    let device = Device::flex().autodiff();
    let data = advland_data::fashion_mnist_bundled().unwrap().test;
    let shape = crate::model::ModelShape {
        input: data.shape,
        classes: 10,
    };
    let model = Model::build(&ModelSpec::default(), shape, &device).unwrap();
    let model = crate::params::init_seeded(model, 3).unwrap();
    let mut batch = Batch::gather(&data, &[0, 1, 2, 3, 4, 5], &device);
    // Labels the model's own predictions, so every example is attacked.
    let predicted = model
        .valid()
        .forward(batch.images.clone().inner())
        .argmax(1);
    batch.labels = predicted.reshape([6]).autodiff();
    for (loss, forwards_per_step) in [(ApgdLoss::Ce, 2), (ApgdLoss::Dlr, 1)] {
        let mut s = ApgdSettings::new(Norm::Linf, 8.0 / 255.0, loss);
        s.steps = 4;
        let out = apgd_attack(&model, &batch, &s, 0).unwrap();
        assert_eq!(out.attacked, [true; 6], "{loss:?}");
        assert_eq!(out.cost.forward, 6 + forwards_per_step * 6 * 5, "{loss:?}");
        assert_eq!(out.cost.backward, 6 * 5, "{loss:?}");
        let labels = batch.labels.clone().inner();
        let correct = correct_flags(&model.valid().forward(out.adversarial), &labels);
        assert_eq!(correct, out.robust, "{loss:?}");
    }
}
