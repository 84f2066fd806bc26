//! CPU backends compared on the 12,810-parameter CNN with bundled Fashion-MNIST images:
//! one SGD training step (batch 128 and 1,000) and one PGD-10 attack (L∞ ε = 0.1, L2 ε = 1.0)
//! on 1,000 images; plus the CPU's GEMM throughput through burn's matmul (f32 and f64, the peak
//! the conv/GEMM-bound steps are measured against in `bench/RESULTS.md`).
//!
//! Run by hand, never in CI: `cargo bench -p advland-train --bench backends` (flex only), or
//! with `--features ndarray` to add burn's NdArray backend. Results: `bench/BACKENDS.md`,
//! `bench/RESULTS.md`.

use std::fmt;
use std::sync::OnceLock;

use advland_data::Dataset;
use advland_schema::{ModelKind, ModelSpec, Norm, PgdSettings};
use advland_train::loss::cross_entropy;
use advland_train::optim::{MinibatchGradient, Sgd, StepOutcome};
use advland_train::params::{flat_gradient, init_seeded};
use advland_train::{Attack, Batch, GradientOracle, Model, ModelShape, UpdateRule, pgd_attack};
use burn::tensor::{DType, Device, Distribution, Tensor};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Examples per training step.
const TRAIN_BATCH: usize = 128;
/// Examples attacked at once (and the large training batch).
const ATTACK_BATCH: usize = 1_000;
/// Side of the square matrices of the GEMM benchmark.
const GEMM_N: usize = 2_048;

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
        ..ModelSpec::default()
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
    bench_train_step(bencher, backend, TRAIN_BATCH);
}

/// The same training step on a batch of 1,000 (the size of the PyTorch comparison).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn train_step_b1000(bencher: divan::Bencher) {
    bench_train_step(bencher, Backend::Flex, ATTACK_BATCH);
}

fn bench_train_step(bencher: divan::Bencher, backend: Backend, size: usize) {
    let device = backend.device();
    let model = cnn(&device);
    let batch = batch(size, &device);
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
    bench_pgd(bencher, backend, Norm::Linf, 0.1);
}

/// PGD-10 L2, ε = 1.0, default step size, random start, on 1,000 images at once.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn pgd10_l2(bencher: divan::Bencher) {
    bench_pgd(bencher, Backend::Flex, Norm::L2, 1.0);
}

fn bench_pgd(bencher: divan::Bencher, backend: Backend, norm: Norm, eps: f64) {
    let device = backend.device();
    let model = cnn(&device);
    let batch = batch(ATTACK_BATCH, &device);
    let attack = Attack::new(PgdSettings::new(norm, eps, 10));
    bencher.bench_local(|| {
        let out = pgd_attack(&model, &batch, &attack, 0);
        device.sync().expect("the backend finishes the attack");
        out
    });
}

/// f32 GEMM of two 2,048² matrices on flex; divan's throughput column is GFLOP/s (2n³ items).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn gemm_f32(bencher: divan::Bencher) {
    bench_gemm(bencher, DType::F32);
}

/// f64 GEMM of two 2,048² matrices on flex (the precision of the Hessian estimators).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn gemm_f64(bencher: divan::Bencher) {
    bench_gemm(bencher, DType::F64);
}

fn bench_gemm(bencher: divan::Bencher, dtype: DType) {
    let device = Device::flex();
    let a = Tensor::<2>::random([GEMM_N, GEMM_N], Distribution::Default, (&device, dtype));
    let b = Tensor::<2>::random([GEMM_N, GEMM_N], Distribution::Default, (&device, dtype));
    let flops = 2 * GEMM_N * GEMM_N * GEMM_N;
    bencher
        .counter(divan::counter::ItemsCount::new(flops))
        .bench_local(|| {
            let c = a.clone().matmul(b.clone());
            device.sync().expect("the backend finishes the product");
            c
        });
}

/// A conv1-sized activation `[1000, 16, 26, 26]` and a conv2-sized one `[1000, 32, 11, 11]`.
const POOL_SHAPES: &[[usize; 4]] = &[[1_000, 16, 26, 26], [1_000, 32, 11, 11]];

/// burn's 2×2 / stride-2 max-pool (flex: a scalar loop that also writes i64 indices), the
/// pool of every CNN forward pass.
#[divan::bench(args = POOL_SHAPES, sample_count = 10, sample_size = 1)]
fn max_pool2x2_burn(bencher: divan::Bencher, shape: [usize; 4]) {
    let device = Device::flex();
    let x = Tensor::<4>::random(shape, Distribution::Default, &device);
    let options = burn::tensor::ops::MaxPoolOptions::new([2, 2]).with_stride([2, 2]);
    bencher.bench_local(|| {
        let y = burn::tensor::module::max_pool2d(x.clone(), options.clone());
        device.sync().expect("the backend finishes the pool");
        y
    });
}

/// The same pool composed of pairwise maxima (row pairs, then column pairs): the candidate
/// replacement measured in `bench/RESULTS.md`.
#[divan::bench(args = POOL_SHAPES, sample_count = 10, sample_size = 1)]
fn max_pool2x2_pairwise(bencher: divan::Bencher, shape: [usize; 4]) {
    let device = Device::flex();
    let x = Tensor::<4>::random(shape, Distribution::Default, &device);
    let options = burn::tensor::ops::MaxPoolOptions::new([2, 2]).with_stride([2, 2]);
    let reference = burn::tensor::module::max_pool2d(x.clone(), options);
    let gap: f32 = (pool2x2_pairwise(x.clone()) - reference)
        .abs()
        .max()
        .into_scalar();
    assert!(gap == 0.0, "the pairwise pool differs from burn's by {gap}");
    bencher.bench_local(|| {
        let y = pool2x2_pairwise(x.clone());
        device.sync().expect("the backend finishes the pool");
        y
    });
}

/// 2×2 / stride-2 max-pool in floor mode from pairwise maxima.
fn pool2x2_pairwise(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let (ho, wo) = (h / 2, w / 2);
    let x = if h % 2 == 1 || w % 2 == 1 {
        x.slice([0..b, 0..c, 0..2 * ho, 0..2 * wo])
    } else {
        x
    };
    let rows = x.reshape([b * c * ho, 2, 2 * wo]);
    let m = rows.clone().narrow(1, 0, 1).max_pair(rows.narrow(1, 1, 1)); // [b·c·ho, 1, 2·wo]
    let cols = m.reshape([b * c * ho * wo, 2]);
    cols.clone()
        .narrow(1, 0, 1)
        .max_pair(cols.narrow(1, 1, 1))
        .reshape([b, c, ho, wo])
}

/// The same pool as a plain single-threaded loop over a host slice: what a specialised
/// 2×2 / stride-2 kernel (contiguous input, no padding, no indices) costs, for comparison.
#[divan::bench(args = POOL_SHAPES, sample_count = 10, sample_size = 1)]
fn max_pool2x2_slice(bencher: divan::Bencher, shape: [usize; 4]) {
    let [b, c, h, w] = shape;
    let x: Vec<f32> = (0..b * c * h * w)
        .map(|i| ((i * 7919) % 1000) as f32)
        .collect();
    let (ho, wo) = (h / 2, w / 2);
    bencher.bench_local(|| {
        let mut out = vec![0.0f32; b * c * ho * wo];
        for (plane, dst) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(ho * wo)) {
            for i in 0..ho {
                let (r0, r1) = (&plane[2 * i * w..], &plane[(2 * i + 1) * w..]);
                for (j, d) in dst[i * wo..(i + 1) * wo].iter_mut().enumerate() {
                    *d = r0[2 * j]
                        .max(r0[2 * j + 1])
                        .max(r1[2 * j].max(r1[2 * j + 1]));
                }
            }
        }
        out
    });
}
