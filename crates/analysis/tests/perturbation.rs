//! Perturbation statistics: per-step losses against PGD stopped at that step, per-example
//! gradients against the gradient of the mean loss, cosines against a dense computation.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

mod common;

use advland_analysis::model_objective::{ModelObjective, ObjectiveSpec};
use advland_analysis::perturbation::{PerturbationConfig, measure, per_example_gradients};
use advland_analysis::{Objective, ObjectiveKind, Subject};
use advland_data::derive_seed;
use advland_schema::{Norm, PgdSettings, Precision};
use advland_train::loss::cross_entropy;
use advland_train::{Attack, Batch, Silent, pgd_attack};
use burn::module::Module;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};

fn subject(examples: usize) -> Subject {
    let device = Device::flex().autodiff();
    let (model, test) = common::tiny_mlp(examples, 5, &device);
    Subject {
        model,
        test,
        checkpoint: "tiny".to_owned(),
        epoch: 0,
        trained_with: None,
        train: None,
    }
}

fn batch(subject: &Subject, device: &Device) -> Batch {
    let n = subject.test.len();
    let [c, h, w] = subject.test.shape;
    let (pixels, labels) = subject.test.gather(&(0..n).collect::<Vec<_>>());
    Batch {
        images: Tensor::from_data(TensorData::new(pixels, [n, c, h, w]), (device, DType::F64)),
        labels: Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device),
    }
}

#[test]
fn per_step_loss_equals_pgd_stopped_at_that_step() {
    let device = Device::flex().autodiff();
    let s = subject(12);
    let attack = PgdSettings::new(Norm::Linf, 0.1, 5);
    let config = PerturbationConfig {
        subset: 12,
        gradient_examples: 4,
        seed: 7,
        ..PerturbationConfig::new(attack.clone())
    };
    let report = measure(&s, &config, &device, &mut Silent).unwrap().report;
    assert_eq!(report.steps.len(), 6);
    let model = s.model.in_dtype(DType::F64).unwrap();
    let b = batch(&s, &device);
    for k in 0..=5 {
        let stopped = Attack::new(PgdSettings {
            steps: k,
            ..attack.clone()
        });
        let out = pgd_attack(
            &model,
            &b,
            &stopped,
            derive_seed(7, "perturbation-attack", 0),
        );
        let logits = model.valid().forward(out.adversarial.inner());
        let loss = cross_entropy(logits, b.labels.clone().inner())
            .mean()
            .into_scalar::<f64>();
        let got = report.steps[k].mean_loss;
        assert!(
            (got - loss).abs() < 1e-12,
            "step {k}: hook {got}, stopped PGD {loss}"
        );
    }
    // PGD raises the loss and lowers the accuracy.
    assert!(report.steps[5].mean_loss > report.steps[0].mean_loss);
    assert!(report.steps[5].accuracy <= report.clean_accuracy);
    assert!((0.0..=1.0).contains(&report.steps[5].success_rate));
    assert_eq!(report.perturbations.vectors, 12);
    assert_eq!(report.adversarial_gradients.vectors, 4);
}

#[test]
fn per_example_gradients_average_to_the_gradient_of_the_mean_loss() {
    let device = Device::flex().autodiff();
    let s = subject(6);
    let model = s.model.in_dtype(DType::F64).unwrap();
    let b = batch(&s, &device);
    let rows = per_example_gradients(&model, &b.images, &b.labels).unwrap();
    let spec = ObjectiveSpec {
        kind: ObjectiveKind::Clean,
        attack: None,
        precision: Precision::F64,
        batch_size: 6,
        seed: 0,
        freeze_activations: false,
    };
    let objective = ModelObjective::new(&s.model, &s.test, &spec, &device).unwrap();
    let (_, grad) = objective.loss_and_gradient(&objective.reference()).unwrap();
    let m = grad.len();
    assert_eq!(rows.len(), 6 * m);
    for (j, g) in grad.iter().enumerate() {
        let mean = (0..6).map(|i| rows[i * m + j]).sum::<f64>() / 6.0;
        // Both in f64, summed in different orders.
        assert!(
            (mean - g).abs() <= 1e-7 * g.abs().max(1e-4),
            "coordinate {j}: {mean} vs {g}"
        );
    }
}

#[test]
fn bad_settings_name_their_field() {
    let device = Device::flex().autodiff();
    let s = subject(8);
    let config = PerturbationConfig {
        subset: 8,
        gradient_examples: 1,
        ..PerturbationConfig::new(PgdSettings::new(Norm::L2, 0.5, 2))
    };
    let err = measure(&s, &config, &device, &mut Silent).unwrap_err();
    assert!(err.to_string().contains("gradient_examples"), "{err}");
}
