//! EntropySGD on closed-form objectives and small models.

use super::*;
use crate::model::ModelShape;
use crate::optim::MinibatchGradient;
use crate::params::to_host;
use advland_schema::{ModelKind, ModelSpec};
use burn::tensor::Device;

/// f(θ) = ½ Σ aᵢθᵢ², served as "minibatch" gradients; `left` limits how many.
struct Quadratic {
    a: Vec<f32>,
    left: Option<usize>,
}

impl Quadratic {
    fn value(&self, theta: &[f32]) -> f64 {
        theta
            .iter()
            .zip(&self.a)
            .map(|(t, a)| 0.5 * f64::from(*a) * f64::from(*t).powi(2))
            .sum()
    }
}

impl GradientOracle for Quadratic {
    fn next_gradient(&mut self, model: &Model) -> Result<Option<MinibatchGradient>> {
        if let Some(left) = &mut self.left {
            if *left == 0 {
                return Ok(None);
            }
            *left -= 1;
        }
        let theta = to_host(&flatten(model));
        let g: Vec<f32> = theta.iter().zip(&self.a).map(|(t, a)| t * a).collect();
        let loss = self.value(&theta);
        Ok(Some(MinibatchGradient {
            grad: from_host(g, &Device::flex()),
            loss,
        }))
    }
}

/// A 16-parameter MLP at θ = (1, −0.5, 0.75, …) and the quadratic's curvatures in [0.5, 2].
fn setup() -> (Model, Quadratic) {
    let d = Device::flex();
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![2],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 2, 2],
        classes: 2,
    };
    let model = Model::build(&spec, shape, &d).unwrap();
    let m = crate::params::theta_len(&model);
    let theta: Vec<f32> = (0..m)
        .map(|i| [1.0, -0.5, 0.75, -1.25][i % 4] * (1.0 + i as f32 / 8.0))
        .collect();
    let a = (0..m)
        .map(|i| 0.5 + 1.5 * i as f32 / (m - 1) as f32)
        .collect();
    let model = load_flat(model, from_host(theta, &d)).unwrap();
    (model, Quadratic { a, left: None })
}

fn stepped(outcome: StepOutcome) -> Model {
    match outcome {
        StepOutcome::Stepped(m) => m,
        StepOutcome::Exhausted(_) => panic!("the oracle ran dry"),
    }
}

#[test]
fn entropy_sgd_decreases_a_convex_quadratic() {
    let (mut model, mut q) = setup();
    let f0 = q.value(&to_host(&flatten(&model)));
    let mut rule = EntropySgd::new(EntropySgdSettings::default(), 3);
    for _ in 0..20 {
        model = stepped(rule.step(model, 0.5, &mut q).unwrap());
    }
    let f = q.value(&to_host(&flatten(&model)));
    assert!(f < 1e-2 * f0, "f went from {f0} to {f}");
    assert_eq!(
        rule.counts(),
        RuleCounts {
            outer_steps: 20,
            inner_steps: 400,
            discarded_gradients: 0
        }
    );
}

#[test]
fn entropy_sgd_with_large_gamma_and_no_noise_follows_sgd() {
    // With γ ≫ ‖A‖ the chain settles at x' = γ(A + γI)⁻¹x, so γ(x − μ) = A(I + A/γ)⁻¹x =
    // ∇f(x) + O(‖A‖²/γ): Algorithm 1's outer step is an SGD step up to a relative 2e-3.
    let gamma = 1000.0;
    let settings = EntropySgdSettings {
        inner_steps: 60,
        gamma0: gamma,
        gamma1: 0.0,
        inner_lr: 1.0 / (gamma + 1.25),
        noise: 0.0,
        outer_convention: OuterConvention::Algorithm,
        momentum: 0.0,
        outer_momentum: 0.0,
        ..EntropySgdSettings::default()
    };
    let (mut esgd_model, mut q) = setup();
    let mut sgd_model = esgd_model.clone();
    let mut esgd = EntropySgd::new(settings, 0);
    let mut sgd = Sgd::new(0.0, 0.0, false);
    let mut worst = 0.0f64;
    for _ in 0..20 {
        esgd_model = stepped(esgd.step(esgd_model, 0.1, &mut q).unwrap());
        sgd_model = stepped(sgd.step(sgd_model, 0.1, &mut q).unwrap());
        let (e, s) = (
            to_host(&flatten(&esgd_model)),
            to_host(&flatten(&sgd_model)),
        );
        let diff: f64 = e
            .iter()
            .zip(&s)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum();
        let size: f64 = s.iter().map(|b| f64::from(*b).powi(2)).sum();
        worst = worst.max((diff / size).sqrt());
    }
    assert!(
        worst < 1e-2,
        "relative distance to SGD's trajectory {worst}"
    );
}

#[test]
fn scoping_advances_gamma_once_per_outer_step() {
    let settings = EntropySgdSettings {
        inner_steps: 2,
        gamma0: 0.03,
        gamma1: 0.1,
        ..EntropySgdSettings::default()
    };
    let (mut model, mut q) = setup();
    let mut rule = EntropySgd::new(settings.clone(), 0);
    let mut expected = 0.03;
    for _ in 0..5 {
        assert!((rule.gamma() - expected).abs() < 1e-12 * expected);
        model = stepped(rule.step(model, 0.1, &mut q).unwrap());
        expected *= 1.1;
    }
    assert!((rule.gamma() - 0.03 * 1.1f64.powi(5)).abs() < 1e-12);
    let mut frozen = EntropySgd::new(
        EntropySgdSettings {
            scoping: Scoping::Frozen,
            ..settings
        },
        0,
    );
    for _ in 0..3 {
        model = stepped(frozen.step(model, 0.1, &mut q).unwrap());
    }
    assert_eq!(frozen.gamma(), 0.03);
}

#[test]
fn langevin_mean_matches_local_entropy_gradient_closed_form() {
    // f(x') = ½a·x'² and p(x') ∝ exp(−f(x') − γ/2·(x − x')²) is N(γx/(a+γ), T/(a+γ)), so
    // γ(x − E[x']) = aγx/(a+γ) = 2 for a = 2, γ = 1, x = 3. With a linear gradient the
    // chain is an AR(1) whose stationary mean is exactly γx/(a+γ) (no step-size bias), and
    // its variance is 2η'ε²/(h(2−h)), h = η'(a+γ), with code noise ε·√(2η') (temperature
    // T = ε²; the mean does not depend on T, the spread does). Each of the n = 4096
    // coordinates is an independent chain; μ's per-coordinate sd is ≈ 0.48 (EMA weight 0.25,
    // lag-1 correlation 1 − h), so the coordinate average has sd ≈ 0.0075 (0.4 %) and the
    // 2 % tolerance is ≈ 5 sd. The sample variance of n values has relative sd √(2/n) = 2.2 %,
    // so 10 % is ≈ 4.5 sd and rejects the Algorithm-1 noise (half the variance).
    let (a, gamma, x0, eps, lr) = (2.0f32, 1.0, 3.0f32, 1.0, 0.05);
    let n = 4096;
    let settings = EntropySgdSettings {
        inner_steps: 400,
        inner_lr: lr,
        noise: eps,
        momentum: 0.0,
        ..EntropySgdSettings::default()
    };
    let d = Device::flex();
    let anchor = from_host(vec![x0; n], &d);
    let mut grad_at =
        |x: &Tensor<1>| -> Result<Option<Tensor<1>>> { Ok(Some(x.clone().mul_scalar(a))) };
    let ChainOutcome::Complete(chain) =
        run_langevin_chain(&settings, &anchor, gamma, 11, &mut grad_at).unwrap()
    else {
        panic!("an endless source ran dry");
    };
    let mean = to_host(&chain.mean);
    let estimate = mean.iter().map(|m| gamma * f64::from(x0 - m)).sum::<f64>() / n as f64;
    let exact = f64::from(a) * gamma * f64::from(x0) / (f64::from(a) + gamma);
    assert!(
        (estimate - exact).abs() < 0.02 * exact,
        "γ(x − μ) = {estimate}, closed form {exact}"
    );
    let last = to_host(&chain.last);
    let centre = last.iter().map(|v| f64::from(*v)).sum::<f64>() / n as f64;
    let var = last
        .iter()
        .map(|v| (f64::from(*v) - centre).powi(2))
        .sum::<f64>()
        / (n - 1) as f64;
    let h = lr * (f64::from(a) + gamma);
    let want = 2.0 * lr * eps * eps / (h * (2.0 - h));
    assert!(
        (var - want).abs() < 0.1 * want,
        "chain variance {var}, stationary {want}"
    );
}

#[test]
fn outer_conventions_differ_by_exactly_gamma() {
    let base = EntropySgdSettings {
        inner_steps: 5,
        gamma0: 0.5,
        noise: 1e-2,
        ..EntropySgdSettings::default()
    };
    let (model, mut q) = setup();
    let theta = to_host(&flatten(&model));
    let mut moves = Vec::new();
    for convention in [OuterConvention::Code, OuterConvention::Algorithm] {
        let settings = EntropySgdSettings {
            outer_convention: convention,
            ..base.clone()
        };
        let mut rule = EntropySgd::new(settings, 9);
        let after = to_host(&flatten(&stepped(
            rule.step(model.clone(), 0.1, &mut q).unwrap(),
        )));
        moves.push(
            after
                .iter()
                .zip(&theta)
                .map(|(a, b)| f64::from(a - b))
                .collect::<Vec<_>>(),
        );
    }
    for (code, algorithm) in moves[0].iter().zip(&moves[1]) {
        assert!(
            code.abs() > 1e-4,
            "a step of {code} is too small to compare"
        );
        assert!(
            (algorithm / code - 0.5).abs() < 1e-4,
            "algorithm {algorithm} vs code {code}"
        );
    }
}

/// `epochs` epochs of `per_epoch` gradients each, stepping until the oracle runs dry.
fn epochs(
    rule: &mut dyn UpdateRule,
    mut model: Model,
    q: &mut Quadratic,
    epochs: usize,
    per_epoch: usize,
) -> Model {
    for _ in 0..epochs {
        q.left = Some(per_epoch);
        loop {
            match rule.step(model, 0.1, q).unwrap() {
                StepOutcome::Stepped(m) => model = m,
                StepOutcome::Exhausted(m) => {
                    model = m;
                    break;
                }
            }
        }
    }
    model
}

/// Two epochs, a restart from the saved state, two more: bit for bit the four epochs of
/// one rule. A fresh rule in place of the restored one must not match, or the check would
/// not see a state that is lost.
fn check_restored_state_continues_exactly(make: impl Fn() -> Box<dyn UpdateRule>) {
    let (start, mut q) = setup();
    let params = crate::params::theta_len(&start);
    let mut whole = make();
    let all = to_host(&flatten(&epochs(&mut *whole, start.clone(), &mut q, 4, 7)));
    let mut first = make();
    let half = epochs(&mut *first, start, &mut q, 2, 7);
    let mut second = make();
    second.restore(first.state(), params).unwrap();
    let resumed = to_host(&flatten(&epochs(&mut *second, half.clone(), &mut q, 2, 7)));
    assert_eq!(resumed, all);
    assert_eq!(second.counts(), whole.counts());
    let fresh = to_host(&flatten(&epochs(&mut *make(), half, &mut q, 2, 7)));
    assert_ne!(fresh, all, "restarting without the state changed nothing");
}

#[test]
fn sgd_with_momentum_continues_exactly_from_its_state() {
    check_restored_state_continues_exactly(|| Box::new(Sgd::new(0.9, 5e-4, false)));
    check_restored_state_continues_exactly(|| Box::new(Sgd::new(0.5, 0.0, true)));
}

#[test]
fn entropy_sgd_continues_exactly_from_its_state() {
    // 7 gradients an epoch and chains of 3: every epoch ends with a chain cut short, whose
    // noise stream the next epoch must not reuse.
    let settings = EntropySgdSettings {
        inner_steps: 3,
        gamma1: 0.1,
        noise: 1e-2,
        ..EntropySgdSettings::default()
    };
    check_restored_state_continues_exactly(|| Box::new(EntropySgd::new(settings.clone(), 5)));
}

#[test]
fn restore_rejects_a_state_that_does_not_fit() {
    let (model, mut q) = setup();
    let params = crate::params::theta_len(&model);
    let mut sgd = Sgd::new(0.9, 0.0, false);
    epochs(&mut sgd, model, &mut q, 1, 3);
    let mut state = sgd.state();
    let mut other = Sgd::new(0.9, 0.0, false);
    let err = other.restore(state.clone(), params + 1).unwrap_err();
    assert!(err.to_string().contains("momentum buffer has"), "{err}");
    state.momentum = None;
    let err = other.restore(state.clone(), params).unwrap_err();
    assert!(
        err.to_string().contains("lacks the momentum buffer"),
        "{err}"
    );
    let esgd = EntropySgd::new(
        EntropySgdSettings {
            inner_steps: 2,
            ..EntropySgdSettings::default()
        },
        0,
    );
    let mut esgd_state = esgd.state();
    esgd_state.chains = 3;
    let err = other.restore(esgd_state, params).unwrap_err();
    assert!(err.to_string().contains("EntropySGD"), "{err}");
}

#[test]
fn chain_cut_short_leaves_the_model_and_counts_its_gradients() {
    let (model, mut q) = setup();
    q.left = Some(5);
    let theta = to_host(&flatten(&model));
    let settings = EntropySgdSettings {
        inner_steps: 3,
        ..EntropySgdSettings::default()
    };
    let mut rule = EntropySgd::new(settings, 0);
    let model = stepped(rule.step(model, 0.1, &mut q).unwrap());
    let StepOutcome::Exhausted(model) = rule.step(model.clone(), 0.1, &mut q).unwrap() else {
        panic!("two gradients cannot make a 3-step chain");
    };
    assert_ne!(to_host(&flatten(&model)), theta);
    assert_eq!(
        rule.counts(),
        RuleCounts {
            outer_steps: 1,
            inner_steps: 5,
            discarded_gradients: 2
        }
    );
}
