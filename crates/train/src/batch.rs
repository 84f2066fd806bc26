//! Data set batches as tensors.

use advland_data::Dataset;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Inputs and labels of one minibatch on a device.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Inputs in `[0,1]`, `[b, c, h, w]`.
    pub images: Tensor<4>,
    /// Class indices, `[b]`.
    pub labels: Tensor<1, Int>,
}

impl Batch {
    /// Gathers `indices` of `data` onto `device`.
    pub fn gather(data: &Dataset, indices: &[usize], device: &Device) -> Self {
        let (pixels, labels) = data.gather(indices);
        let [c, h, w] = data.shape;
        let b = indices.len();
        Self {
            images: Tensor::from_data(TensorData::new(pixels, [b, c, h, w]), device),
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.images.dims()[0]
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
