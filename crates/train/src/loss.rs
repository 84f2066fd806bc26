//! Cross-entropy and accuracy, per example.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// Per-example cross-entropy −log softmax(z)_y.
///
/// # Shapes
/// `logits`: `[b, k]`, `labels`: `[b]` → `[b]`
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [b, _] = logits.dims();
    let logp = log_softmax(logits, 1);
    logp.gather(1, labels.reshape([b, 1])).reshape([b]).neg()
}

/// Number of correct predictions (arg-max of the logits equals the label).
///
/// # Shapes
/// `logits`: `[b, k]`, `labels`: `[b]`
pub fn correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> usize {
    let [b, _] = logits.dims();
    let pred = logits.argmax(1).reshape([b]);
    let hits: i64 = pred.equal(labels).int().sum().into_scalar();
    usize::try_from(hits).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn cross_entropy_matches_hand_computation() {
        let d = Device::flex();
        let logits =
            Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 1.0, 2.0, 0.0], [2, 2]), &d);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 0], [2]), &d);
        let ce = crate::params::to_host(&cross_entropy(logits.clone(), labels.clone()));
        let e1 = (1.0f32 + 1f32.exp()).ln() - 1.0;
        let e2 = (2f32.exp() + 1.0).ln() - 2.0;
        assert!(
            (ce[0] - e1).abs() < 1e-6 && (ce[1] - e2).abs() < 1e-6,
            "{ce:?}"
        );
        assert_eq!(correct(logits, labels), 2);
    }
}
