//! Cost of the analysis primitives on the 12,810-parameter CNN with 1,000 bundled
//! Fashion-MNIST test images, in f64: one adversarial gradient (PGD-10 L∞ re-solved, then a
//! Danskin gradient) and one Hessian-vector product (two gradients of the frozen objective
//! through θ₀'s activation pattern). One HVP must stay at two gradient passes.
//!
//! Run by hand, never in CI: `cargo bench -p advland-analysis --bench analysis`.

use std::sync::OnceLock;

use advland_analysis::hessian::FiniteDifferenceHessian;
use advland_analysis::model_objective::{ModelObjective, ObjectiveSpec, Precision};
use advland_analysis::{LinearOperator, Objective, ObjectiveKind};
use advland_data::{Dataset, fashion_mnist_bundled};
use advland_schema::{ModelKind, ModelSpec, Norm, PgdSettings};
use advland_train::params::init_seeded;
use advland_train::{Model, ModelShape};
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
    let device = Device::flex().autodiff();
    let spec = ModelSpec {
        kind: ModelKind::Cnn,
        hidden: vec![],
    };
    let shape = ModelShape {
        input: [1, 28, 28],
        classes: 10,
    };
    let model = init_seeded(Model::build(&spec, shape, &device).expect("CNN builds"), 0)
        .expect("seeded init");
    let spec = ObjectiveSpec {
        kind,
        attack: Some(PgdSettings::new(Norm::Linf, 0.1, 10)),
        precision: Precision::F64,
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
