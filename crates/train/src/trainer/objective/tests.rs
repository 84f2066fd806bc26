use advland_schema::{ModelKind, ModelSpec, Norm, PgdSettings, TrainObjective};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::*;
use crate::checkpoint::load_weights;
use crate::model::torch_oracle::{Expected, assert_close, fixture};
use crate::model::{BnMode, Model, ModelShape};
use crate::params::{ParamLayout, init_seeded, load_flat, named_buffers, named_tensors};

const STEM: &str = "mlp_trades";
/// β and the two γ of `bench/make_trades_fixtures.py`.
const BETA: f64 = 6.0;
const GAMMA_AT: f64 = 0.01;
const GAMMA_TRADES: f64 = 0.005;

fn objective<'a>(
    loss: &'a TrainObjective,
    attack: Option<&'a Attack>,
    awp_gamma: Option<f64>,
) -> TrainingObjective<'a> {
    TrainingObjective {
        attack,
        attack_bn_mode: BnMode::Train,
        loss,
        awp_gamma,
    }
}

/// The fixture's MLP (1×4×4 inputs, 6 hidden units, 3 classes) on the autodiff device.
fn fixture_model(device: &Device) -> Model {
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![6],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 4, 4],
        classes: 3,
    };
    let model = Model::build(&spec, shape, device).unwrap();
    load_weights(model, &fixture(&format!("{STEM}.safetensors"))).unwrap()
}

/// A flat vector of `model`'s layout as PyTorch-named host tensors.
fn by_name(model: &Model, flat: Tensor<1>) -> Vec<(String, Vec<f64>)> {
    named_tensors(&load_flat(model.clone(), flat).unwrap())
        .into_iter()
        .map(|(e, v)| (e.name, v.into_iter().map(f64::from).collect()))
        .collect()
}

fn fixture_batch(expected: &Expected, device: &Device) -> (Batch, Tensor<4>) {
    let batch = Batch {
        images: expected.images("x", device),
        labels: expected.labels(device),
    };
    (batch, expected.images("x_adv", device))
}

/// TRADES' loss at fixed x, x′ and its parameter gradient equal PyTorch's (`trades.py`, KL
/// summed over classes, batch mean, gradients through both forwards).
#[test]
fn trades_loss_and_gradient_match_pytorch() {
    let device = Device::flex().autodiff();
    let expected = Expected::read(STEM);
    let model = fixture_model(&device);
    let (batch, x_adv) = fixture_batch(&expected, &device);
    let loss = TrainObjective::Trades { beta: BETA };
    let (per_example, _, cost) = objective(&loss, None, None).losses(&model, &batch, x_adv);
    assert_eq!((cost.forward, cost.backward), (10, 10));
    let mean = per_example.mean();
    let value = f64::from(mean.clone().detach().into_scalar::<f32>());
    assert_close("trades_loss", &[value], expected.get("trades_loss"), 1e-5);
    let grad = flat_gradient(&model, &mean.backward());
    for (name, got) in by_name(&model, grad) {
        let want = expected.get(&format!("trades_grad.{name}"));
        assert_close(&name, &got, want, 1e-5);
    }
}

/// AWP's perturbation of the weights (not the biases) and the gradient at θ + v equal
/// csdongxian/AWP's, on PGD-AT and on TRADES.
#[test]
fn awp_perturbation_and_gradient_match_pytorch() {
    let device = Device::flex().autodiff();
    let expected = Expected::read(STEM);
    let model = fixture_model(&device);
    let (batch, x_adv) = fixture_batch(&expected, &device);
    let cases = [
        ("awp_at", TrainObjective::CrossEntropy, GAMMA_AT),
        (
            "awp_trades",
            TrainObjective::Trades { beta: BETA },
            GAMMA_TRADES,
        ),
    ];
    for (prefix, loss, gamma) in cases {
        let o = objective(&loss, None, Some(gamma));
        let (v, _) = o.awp_perturbation(&model, &batch, &x_adv, gamma);
        for (name, got) in by_name(&model, v.clone()) {
            match expected.find(&format!("{prefix}_v.{name}")) {
                Some(want) => assert_close(&format!("{prefix} v {name}"), &got, want, 1e-5),
                None => assert!(got.iter().all(|&x| x == 0.0), "{prefix}: {name} moved"),
            }
        }
        let perturbed = load_flat(model.clone(), flatten(&model) + v).unwrap();
        let (per_example, _, _) = o.losses(&perturbed, &batch, x_adv.clone());
        let grad = flat_gradient(&perturbed, &per_example.mean().backward());
        for (name, got) in by_name(&model, grad) {
            let want = expected.get(&format!("{prefix}_grad.{name}"));
            assert_close(&format!("{prefix} grad {name}"), &got, want, 1e-5);
        }
    }
}

/// A seeded 2-hidden-layer MLP on Fashion-MNIST-shaped inputs and a batch of 6.
fn small_setup(device: &Device) -> (Model, Batch) {
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![12, 8],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 6, 6],
        classes: 4,
    };
    let model = init_seeded(Model::build(&spec, shape, device).unwrap(), 11).unwrap();
    let pixels: Vec<f32> = (0..6 * 36)
        .map(|i| ((i * 37 % 101) as f32) / 100.0)
        .collect();
    let batch = Batch {
        images: Tensor::from_data(TensorData::new(pixels, [6, 1, 6, 6]), device),
        labels: Tensor::<1, Int>::from_data(
            TensorData::new(vec![0i64, 1, 2, 3, 0, 1], [6]),
            device,
        ),
    };
    (model, batch)
}

fn attack(norm: Norm, eps: f64) -> Attack {
    Attack::new(PgdSettings {
        step_size: eps / 2.0,
        ..PgdSettings::new(norm, eps, 5)
    })
}

/// With β = 0 TRADES is clean training: the same loss and gradient as cross-entropy on x.
#[test]
fn trades_with_beta_zero_gives_the_clean_gradient() {
    let device = Device::flex().autodiff();
    let (model, batch) = small_setup(&device);
    let a = attack(Norm::Linf, 0.1);
    let trades = TrainObjective::Trades { beta: 0.0 };
    let got = objective(&trades, Some(&a), None)
        .gradient(&model, &batch, 5)
        .unwrap();
    let ce = TrainObjective::CrossEntropy;
    let clean = objective(&ce, None, None)
        .gradient(&model, &batch, 5)
        .unwrap();
    assert_eq!(got.loss_sum, clean.loss_sum);
    assert_eq!(to_host(&got.grad), to_host(&clean.grad));
    // Five KL steps and the clean forward of the attack, then two forwards of the loss.
    assert_eq!(
        (got.cost.forward, got.cost.backward),
        (6 * 6 + 12, 5 * 6 + 12)
    );
}

/// γ = 0 AWP perturbs nothing: the PGD-AT (and TRADES) gradient, bit for bit, at the price of
/// the proxy's passes.
#[test]
fn awp_with_gamma_zero_gives_the_unperturbed_gradient_bit_for_bit() {
    let device = Device::flex().autodiff();
    let (model, batch) = small_setup(&device);
    let a = attack(Norm::L2, 0.5);
    for loss in [
        TrainObjective::CrossEntropy,
        TrainObjective::Trades { beta: 3.0 },
    ] {
        let plain = objective(&loss, Some(&a), None)
            .gradient(&model, &batch, 9)
            .unwrap();
        let awp = objective(&loss, Some(&a), Some(0.0))
            .gradient(&model, &batch, 9)
            .unwrap();
        assert_eq!(to_host(&awp.grad), to_host(&plain.grad), "{loss:?}");
        assert_eq!(awp.loss_sum, plain.loss_sum);
        assert_eq!(awp.correct, plain.correct);
        let proxy = awp.cost.forward - plain.cost.forward;
        assert_eq!(proxy, awp.cost.backward - plain.cost.backward);
        assert!(proxy == 6 || proxy == 12, "{proxy}");
    }
}

/// ‖v_l‖ = γ‖w_l‖ for every weight matrix, v = 0 on biases; the model itself is unchanged by
/// a gradient (the perturbation is undone), and AWP changes the gradient.
#[test]
fn awp_moves_each_weight_by_gamma_times_its_norm_and_leaves_the_model_alone() {
    let device = Device::flex().autodiff();
    let (model, batch) = small_setup(&device);
    let a = attack(Norm::Linf, 0.1);
    let ce = TrainObjective::CrossEntropy;
    let gamma = 0.02;
    let o = objective(&ce, Some(&a), Some(gamma));
    let x_adv = crate::attack::pgd_attack(&model, &batch, &a, 1).adversarial;
    let (v, cost) = o.awp_perturbation(&model, &batch, &x_adv, gamma);
    assert_eq!((cost.forward, cost.backward), (6, 6));
    let v = to_host(&v);
    let theta = to_host(&flatten(&model));
    let norm = |x: &[f32]| x.iter().map(|&a| f64::from(a).powi(2)).sum::<f64>().sqrt();
    let layout = ParamLayout::of(&model);
    assert_eq!(layout.entries.iter().filter(|e| !e.is_vector()).count(), 3);
    for e in &layout.entries {
        let r = e.offset..e.offset + e.len;
        if e.is_vector() {
            assert!(v[r].iter().all(|&x| x == 0.0), "{} moved", e.name);
        } else {
            let (nv, nw) = (norm(&v[r.clone()]), norm(&theta[r]));
            assert!(
                (nv - gamma * nw).abs() <= 1e-6 * nw,
                "{}: {nv} vs {}",
                e.name,
                gamma * nw
            );
        }
    }
    let before = theta.clone();
    let with = o.gradient(&model, &batch, 1).unwrap();
    assert_eq!(to_host(&flatten(&model)), before, "θ restored");
    let without = objective(&ce, Some(&a), None)
        .gradient(&model, &batch, 1)
        .unwrap();
    assert_ne!(to_host(&with.grad), to_host(&without.grad));
}

/// TRADES' inner maximisation raises KL(p(x) ‖ p(x′)) above its value at the start and stays
/// in the ball and the box, under both norms.
#[test]
fn trades_attack_increases_the_kl_inside_the_ball() {
    let device = Device::flex().autodiff();
    let (model, batch) = small_setup(&device);
    let trades = TrainObjective::Trades { beta: 1.0 };
    let kl = |x: Tensor<4>| {
        let clean = model.forward(batch.images.clone()).detach();
        to_host(&crate::loss::kl_divergence(
            clean,
            model.forward(x).detach(),
        ))
        .iter()
        .map(|&v| f64::from(v))
        .sum::<f64>()
    };
    for (norm, eps) in [(Norm::Linf, 0.1), (Norm::L2, 1.0)] {
        let a = attack(norm, eps);
        let o = objective(&trades, Some(&a), None);
        let out = o.attack_inputs(&model, &batch, &a, 4);
        assert_eq!(out.cost.forward, 6 * 6, "{norm:?}");
        let start = kl(batch.images.clone());
        let found = kl(out.adversarial.clone());
        assert!(found > start + 1e-3, "{norm:?}: KL {start} → {found}");
        let delta = out.adversarial.clone() - batch.images.clone();
        let radius = to_host(&a.constraint().norm(delta));
        assert!(
            radius.iter().all(|&r| f64::from(r) <= eps * (1.0 + 1e-5)),
            "{radius:?}"
        );
        let x = to_host(&out.adversarial.flatten::<1>(0, 3));
        assert!(x.iter().all(|&p| (0.0..=1.0).contains(&p)));
    }
}

/// AWP's proxy has running statistics of its own: its train-mode forwards leave the model's
/// alone.
#[test]
fn the_awp_proxy_does_not_move_the_models_running_statistics() {
    let device = Device::flex().autodiff();
    let spec = ModelSpec {
        kind: ModelKind::PreactResnet18,
        base_width: Some(2),
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 28, 28],
        classes: 10,
    };
    let model = init_seeded(Model::build(&spec, shape, &device).unwrap(), 2)
        .unwrap()
        .with_bn_mode(BnMode::Train);
    let pixels: Vec<f32> = (0..4 * 784).map(|i| ((i % 97) as f32) / 96.0).collect();
    let batch = Batch {
        images: Tensor::from_data(TensorData::new(pixels, [4, 1, 28, 28]), &device),
        labels: Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 3], [4]), &device),
    };
    let before = named_buffers(&model);
    let ce = TrainObjective::CrossEntropy;
    let o = objective(&ce, None, Some(0.01));
    let _ = o.awp_perturbation(&model, &batch, &batch.images, 0.01);
    assert_eq!(named_buffers(&model), before);
}
