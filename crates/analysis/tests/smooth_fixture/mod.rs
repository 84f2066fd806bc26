//! The smooth-activation MLP fixture (`bench/make_smooth_fixtures.py`,
//! `tests/fixtures/smooth/`): its weights, inputs, labels and PyTorch's expected values.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::PathBuf;

use advland_data::Dataset;
use advland_schema::{Activation, ModelKind, ModelSpec};
use advland_train::checkpoint::load_weights;
use advland_train::{Model, ModelShape};
use burn::tensor::Device;
use safetensors::{Dtype, SafeTensors};

pub const EXAMPLES: usize = 5;
pub const DIM: usize = 16;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/smooth")
        .join(name)
}

/// The expected values of one activation, as f64.
pub struct Expected(Vec<u8>);

impl Expected {
    pub fn get(&self, name: &str) -> Vec<f64> {
        let file = SafeTensors::deserialize(&self.0).unwrap();
        let t = file.tensor(name).unwrap();
        let bytes = t.data();
        match t.dtype() {
            Dtype::F64 => bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
                .collect(),
            #[allow(clippy::cast_precision_loss)]
            Dtype::I64 => bytes
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64)
                .collect(),
            other => panic!("{name}: unexpected dtype {other:?}"),
        }
    }
}

/// The fixture's weights in an MLP with `activation`, its inputs and labels, its expectations.
pub fn load(activation: Activation, stem: &str, device: &Device) -> (Model, Dataset, Expected) {
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![8],
        activation,
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 4, 4],
        classes: 3,
    };
    let model = Model::build(&spec, shape, device).unwrap();
    let model = load_weights(model, &fixture(&format!("{stem}.safetensors"))).unwrap();
    let expected =
        Expected(fs_err::read(fixture(&format!("{stem}_expected.safetensors"))).unwrap());
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let data = Dataset::new(
        "smooth",
        expected.get("x").iter().map(|&v| v as f32).collect(),
        expected.get("labels").iter().map(|&v| v as u8).collect(),
        [1, 4, 4],
        (0..3).map(|i| i.to_string()).collect(),
    )
    .unwrap();
    (model, data, expected)
}
