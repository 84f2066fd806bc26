//! Shared test fixtures: a tiny seeded MLP on the bundled Fashion-MNIST test split.

use advland_data::{Dataset, fashion_mnist_bundled};
use advland_schema::{ModelKind, ModelSpec};
use advland_train::params::init_seeded;
use advland_train::{Model, ModelShape};
use burn::tensor::Device;

/// `examples` evenly spaced test images and an MLP with 6 hidden units initialised from `seed`.
pub fn tiny_mlp(examples: usize, seed: u64, device: &Device) -> (Model, Dataset) {
    let data = fashion_mnist_bundled()
        .unwrap()
        .test
        .subset_evenly(examples)
        .unwrap();
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![6],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: data.shape,
        classes: 10,
    };
    let model = init_seeded(Model::build(&spec, shape, device).unwrap(), seed).unwrap();
    (model, data)
}
