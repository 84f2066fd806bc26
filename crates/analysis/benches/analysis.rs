//! Cost of the analysis primitives on the 12,810-parameter CNN with 1,000 bundled
//! Fashion-MNIST test images, in f64: one adversarial gradient (PGD-10 L∞ re-solved, then a
//! Danskin gradient) and one Hessian-vector product (two gradients of the frozen objective
//! through θ₀'s activation pattern). One HVP must stay at two gradient passes. Also one row of
//! a clean loss surface in f32 (51 points θ₀ + a·d, a ∈ [−1, 1], filter-normalised random d): the
//! unit of work of the 51×51 surface compared with PyTorch in `bench/RESULTS.md`.
//!
//! Run by hand, never in CI: `cargo bench -p advland-analysis --bench analysis`.

use std::sync::OnceLock;

use advland_analysis::hessian::FiniteDifferenceHessian;
use advland_analysis::model_objective::{ModelObjective, ObjectiveSpec, Precision};
use advland_analysis::surface::{Plane, RandomSpec, directions::random_direction};
use advland_analysis::{LinearOperator, Objective, ObjectiveKind};
use advland_data::{Dataset, fashion_mnist_bundled};
use advland_schema::{Axis, IgnoreParams, ModelKind, ModelSpec, Norm, Normalization, PgdSettings};
use advland_train::params::{ParamLayout, init_seeded};
use advland_train::{Attack, Model, ModelShape};
use burn::tensor::Device;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

fn data() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        fashion_mnist_bundled()
            .expect("the bundled data set loads")
            .test
            .subset_evenly(1_000)
            .expect("1,000 of 2,000 test images")
    })
}

fn objective(kind: ObjectiveKind, freeze_activations: bool) -> ModelObjective {
    objective_in(kind, freeze_activations, Precision::F64)
}

fn cnn(device: &Device) -> Model {
    let spec = ModelSpec {
        kind: ModelKind::Cnn,
        hidden: vec![],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 28, 28],
        classes: 10,
    };
    init_seeded(Model::build(&spec, shape, device).expect("CNN builds"), 0).expect("seeded init")
}

fn objective_in(
    kind: ObjectiveKind,
    freeze_activations: bool,
    precision: Precision,
) -> ModelObjective {
    let device = Device::flex().autodiff();
    let model = cnn(&device);
    let spec = ObjectiveSpec {
        kind,
        attack: Some(Attack::new(PgdSettings::new(Norm::Linf, 0.1, 10))),
        precision,
        batch_size: 1_000,
        seed: 0,
        freeze_activations,
    };
    ModelObjective::new(&model, data(), &spec, &device).expect("objective builds")
}

#[divan::bench(sample_count = 5)]
fn adversarial_gradient(bencher: divan::Bencher) {
    let o = objective(ObjectiveKind::Adversarial, false);
    let theta = o.reference();
    let mut shift = 0.0;
    bencher.bench_local(|| {
        // A new θ each time, so the attack is re-solved rather than taken from the cache.
        shift += 1e-9;
        let moved: Vec<f64> = theta.iter().map(|t| t + shift).collect();
        o.loss_and_gradient(&moved).expect("gradient")
    });
}

#[divan::bench(sample_count = 5)]
fn hessian_vector_product(bencher: divan::Bencher) {
    let o = objective(ObjectiveKind::AdversarialFrozen, true);
    let theta = o.reference();
    let op = FiniteDifferenceHessian::new(&o, theta.clone(), 1e-4).expect("operator");
    let v: Vec<f64> = (0..theta.len())
        .map(|i| ((i % 7) as f64 - 3.0) * 1e-2)
        .collect();
    bencher.bench_local(|| op.apply(&v).expect("HVP"));
}

/// One row of a 51-point clean surface in f32: 51 loss-and-accuracy evaluations on 1,000 images.
#[divan::bench(sample_count = 5)]
fn surface_row(bencher: divan::Bencher) {
    let o = objective_in(ObjectiveKind::Clean, false, Precision::F32);
    let theta = o.reference();
    let layout = ParamLayout::of(&cnn(&Device::flex().autodiff()));
    let spec = RandomSpec {
        normalization: Normalization::Filter,
        ignore: IgnoreParams::Biasbn,
        seed: 0,
    };
    let d = random_direction(&layout, &theta, &spec, 0).expect("direction");
    let axis = Axis {
        min: -1.0,
        max: 1.0,
        points: 51,
    };
    let plane = Plane::new(theta, vec![d], axis, None).expect("plane");
    bencher.bench_local(|| {
        (0..plane.len())
            .map(|k| o.loss_and_accuracy(&plane.point(k)).expect("loss"))
            .collect::<Vec<_>>()
    });
}
