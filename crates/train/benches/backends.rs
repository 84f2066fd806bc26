//! CPU backends compared on the 12,810-parameter CNN with bundled Fashion-MNIST images:
//! one SGD training step (batch 128) and one PGD-10 L∞ attack (ε = 0.1) on 1,000 images.
//!
//! Run by hand, never in CI: `cargo bench -p advland-train --bench backends` (flex only), or
//! with `--features ndarray` to add burn's NdArray backend. Results: `bench/BACKENDS.md`.

use std::fmt;
use std::sync::OnceLock;

use advland_data::Dataset;
use advland_schema::{ModelKind, ModelSpec, Norm, PgdSettings};
use advland_train::attack::constraint_for;
use advland_train::loss::cross_entropy;
use advland_train::optim::{MinibatchGradient, Sgd, StepOutcome};
use advland_train::params::{flat_gradient, init_seeded};
use advland_train::{Batch, GradientOracle, Model, ModelShape, UpdateRule, pgd_attack};
use burn::tensor::Device;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Examples per training step.
const TRAIN_BATCH: usize = 128;
/// Examples attacked at once.
const ATTACK_BATCH: usize = 1_000;

fn main() {
    divan::main();
}

/// A CPU backend under test; its `Display` name labels divan's rows.
#[derive(Clone, Copy, Debug)]
enum Backend {
    /// burn's pure-Rust `flex` backend (SIMD + rayon), the project's default.
    Flex,
    /// burn's deprecated NdArray backend.
    #[cfg(feature = "ndarray")]
    NdArray,
}

const BACKENDS: &[Backend] = &[
    Backend::Flex,
    #[cfg(feature = "ndarray")]
    Backend::NdArray,
];

impl Backend {
    /// The autodiff device of this backend (training and PGD both differentiate).
    fn device(self) -> Device {
        match self {
            Backend::Flex => Device::flex().autodiff(),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)] // benchmarked on purpose, against flex
            Backend::NdArray => Device::ndarray().autodiff(),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Flex => "flex",
            #[cfg(feature = "ndarray")]
            Backend::NdArray => "ndarray",
        })
    }
}

/// The bundled Fashion-MNIST train split, parsed once.
fn train_split() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        advland_data::fashion_mnist_bundled()
            .expect("the bundled Fashion-MNIST subset parses")
            .train
    })
}

/// The seeded CNN on `device`.
fn cnn(device: &Device) -> Model {
    let spec = ModelSpec {
        kind: ModelKind::Cnn,
        hidden: vec![],
    };
    let shape = ModelShape {
        input: [1, 28, 28],
        classes: 10,
    };
    let model = Model::build(&spec, shape, device).expect("the CNN takes 1x28x28 inputs");
    init_seeded(model, 0).expect("seeded initialisation fits the layout")
}

/// The first `n` training images on `device`.
fn batch(n: usize, device: &Device) -> Batch {
    let indices: Vec<usize> = (0..n).collect();
    Batch::gather(train_split(), &indices, device)
}

/// Serves the clean mean cross-entropy gradient of one fixed batch, once.
struct OneBatch(Option<Batch>);

impl GradientOracle for OneBatch {
    fn next_gradient(&mut self, model: &Model) -> advland_train::Result<Option<MinibatchGradient>> {
        let Some(batch) = self.0.take() else {
            return Ok(None);
        };
        let loss = cross_entropy(model.forward(batch.images), batch.labels).mean();
        let value = f64::from(loss.clone().detach().into_scalar::<f32>());
        let grads = loss.backward();
        Ok(Some(MinibatchGradient {
            grad: flat_gradient(model, &grads),
            loss: value,
        }))
    }
}

/// Forward, cross-entropy, backward and an SGD (momentum 0.9, weight decay 5e-4) update.
#[divan::bench(args = BACKENDS, sample_count = 5, sample_size = 1)]
fn train_step(bencher: divan::Bencher, backend: Backend) {
    let device = backend.device();
    let model = cnn(&device);
    let batch = batch(TRAIN_BATCH, &device);
    bencher
        .with_inputs(|| (model.clone(), OneBatch(Some(batch.clone()))))
        .bench_values(|(model, mut oracle)| {
            let mut sgd = Sgd::new(0.9, 5e-4, false);
            let outcome = sgd.step(model, 0.05, &mut oracle).expect("a finite step");
            device.sync().expect("the backend finishes the step");
            match outcome {
                StepOutcome::Stepped(m) => m,
                StepOutcome::Exhausted(_) => panic!("the oracle serves one batch"),
            }
        });
}

/// PGD-10 L∞, ε = 0.1, default step size, random start, on 1,000 images at once.
#[divan::bench(args = BACKENDS, sample_count = 5, sample_size = 1)]
fn pgd10_linf(bencher: divan::Bencher, backend: Backend) {
    let device = backend.device();
    let model = cnn(&device);
    let batch = batch(ATTACK_BATCH, &device);
    let settings = PgdSettings::new(Norm::Linf, 0.1, 10);
    let constraint = constraint_for(&settings);
    bencher.bench_local(|| {
        let out = pgd_attack(&model, &batch, constraint.as_ref(), &settings, 0);
        device.sync().expect("the backend finishes the attack");
        out
    });
}
