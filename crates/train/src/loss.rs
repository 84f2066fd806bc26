//! Per-example losses (cross-entropy, the DLR losses of APGD, TRADES' KL term) and accuracy.

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

/// Per-example difference-of-logits-ratio loss of APGD (Croce & Hein 2020, eq. 7),
/// −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e-12), with z_π1 ≥ z_π2 ≥ … the sorted logits.
/// Invariant to shifting and scaling the logits, so a model cannot mask its gradient by
/// saturating a softmax; increasing in the margin of the best wrong class, positive once the
/// example is misclassified.
///
/// # Shapes
/// `logits`: `[b, k]`, `labels`: `[b]` → `[b]`
///
/// # Panics
/// If k < 3 (callers check the class count first).
pub fn dlr_loss(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [b, k] = logits.dims();
    let sorted = logits.clone().sort_descending(1);
    let scale = ranked(&sorted, 0) - ranked(&sorted, 2);
    let true_logit = logits.clone().gather(1, labels.clone().reshape([b, 1]));
    // Masking the true class out gives max_{i≠y} z_i whether or not y is the arg-max (the
    // reference picks z_π1 or z_π2 by comparing the arg-max with y; ties give the same value).
    let is_true = labels.one_hot::<2>(k).equal_elem(1);
    let best_other = logits.mask_fill(is_true, f32::NEG_INFINITY).max_dim(1);
    ratio(true_logit - best_other, scale, b)
}

/// Per-example targeted DLR loss of APGD-T, −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12)
/// for target classes t (Croce & Hein 2020, eq. 8): increasing as the target's logit
/// overtakes the true one.
///
/// # Shapes
/// `logits`: `[b, k]`, `labels`, `targets`: `[b]` → `[b]`
///
/// # Panics
/// If k < 4 (callers check the class count first).
pub fn targeted_dlr_loss(
    logits: Tensor<2>,
    labels: Tensor<1, Int>,
    targets: Tensor<1, Int>,
) -> Tensor<1> {
    let [b, _] = logits.dims();
    let sorted = logits.clone().sort_descending(1);
    let scale = ranked(&sorted, 0) - (ranked(&sorted, 2) + ranked(&sorted, 3)).mul_scalar(0.5);
    let true_logit = logits.clone().gather(1, labels.reshape([b, 1]));
    let target_logit = logits.gather(1, targets.reshape([b, 1]));
    ratio(true_logit - target_logit, scale, b)
}

/// Column `rank` of logits sorted in descending order, `[b, 1]`.
fn ranked(sorted: &Tensor<2>, rank: usize) -> Tensor<2> {
    let [b, _] = sorted.dims();
    sorted.clone().slice([0..b, rank..rank + 1])
}

/// −margin / (scale + 1e-12) as `[b]`; the 1e-12 is the reference's, so that tied logits
/// give a large finite loss rather than 0/0.
fn ratio(margin: Tensor<2>, scale: Tensor<2>, b: usize) -> Tensor<1> {
    margin.neg().div(scale.add_scalar(1e-12)).reshape([b])
}

/// Per-example KL(p ‖ q) = Σ_k p_k (log p_k − log q_k) of the softmaxes p of `target` and q of
/// `logits`: TRADES' robust term (PyTorch's `kl_div(log_softmax(logits), softmax(target))`
/// before its reduction). Both sides go through `log_softmax`, so a vanishing p_k contributes
/// 0, never 0·(−∞).
///
/// # Shapes
/// `target`, `logits`: `[b, k]` → `[b]`
pub fn kl_divergence(target: Tensor<2>, logits: Tensor<2>) -> Tensor<1> {
    let [b, _] = target.dims();
    let log_p = log_softmax(target, 1);
    let log_q = log_softmax(logits, 1);
    (log_p.clone().exp() * (log_p - log_q))
        .sum_dim(1)
        .reshape([b])
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
pub(crate) mod tests {
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

    #[test]
    fn kl_divergence_matches_hand_computation_and_vanishes_on_equal_logits() {
        let z = logits(&[[0.0, 1.0, 2.0, 0.5, -1.0], [3.0, 0.0, 0.0, 0.0, 0.0]]);
        let w = logits(&[[1.0, 0.0, 0.0, 0.5, 2.0], [3.0, 0.0, 0.0, 0.0, 0.0]]);
        let kl = crate::params::to_host(&kl_divergence(z.clone(), w));
        let soft = |r: [f64; 5]| {
            let s: f64 = r.iter().map(|v| v.exp()).sum();
            r.map(|v| v.exp() / s)
        };
        let (p, q) = (
            soft([0.0, 1.0, 2.0, 0.5, -1.0]),
            soft([1.0, 0.0, 0.0, 0.5, 2.0]),
        );
        let want: f64 = (0..5).map(|k| p[k] * (p[k] / q[k]).ln()).sum();
        assert!((f64::from(kl[0]) - want).abs() < 1e-5, "{kl:?} vs {want}");
        assert!(kl[1].abs() < 1e-7, "{kl:?}");
        let same = crate::params::to_host(&kl_divergence(z.clone(), z));
        assert!(same.iter().all(|v| v.abs() < 1e-7), "{same:?}");
    }

    /// Logits of five classes on the CPU device.
    pub(crate) fn logits(rows: &[[f32; 5]]) -> Tensor<2> {
        let values: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(values, [rows.len(), 5]), &Device::flex())
    }

    /// Class indices on the CPU device.
    pub(crate) fn ints(values: &[i64]) -> Tensor<1, Int> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [values.len()]),
            &Device::flex(),
        )
    }

    fn close(got: &[f32], want: &[f32]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn dlr_loss_matches_hand_computation() {
        // Sorted rows: [4, 3, 1, 0, -2] and [5, 2, 2, 1, 0].
        let z = logits(&[[1.0, 4.0, -2.0, 3.0, 0.0], [2.0, 0.0, 5.0, 1.0, 2.0]]);
        // Row 0, y = 1 (the arg-max): −(4 − 3)/(4 − 1) = −1/3.
        // Row 1, y = 4 (misclassified): −(2 − 5)/(5 − 2) = 1.
        let got = crate::params::to_host(&dlr_loss(z.clone(), ints(&[1, 4])));
        close(&got, &[-1.0 / 3.0, 1.0]);
        // Row 0, y = 3: −(3 − 4)/3 = 1/3; row 1, y = 2: −(5 − 2)/3 = −1.
        let got = crate::params::to_host(&dlr_loss(z, ints(&[3, 2])));
        close(&got, &[1.0 / 3.0, -1.0]);
    }

    #[test]
    fn targeted_dlr_loss_matches_hand_computation() {
        let z = logits(&[[1.0, 4.0, -2.0, 3.0, 0.0], [2.0, 0.0, 5.0, 1.0, 2.0]]);
        // Row 0, y = 1, t = 4: −(4 − 0)/(4 − (1 + 0)/2) = −4/3.5.
        // Row 1, y = 2, t = 3: −(5 − 1)/(5 − (2 + 1)/2) = −4/3.5.
        // Row 1, y = 0, t = 2: −(2 − 5)/3.5 = 3/3.5.
        let got =
            crate::params::to_host(&targeted_dlr_loss(z.clone(), ints(&[1, 2]), ints(&[4, 3])));
        close(&got, &[-4.0 / 3.5, -4.0 / 3.5]);
        let got = crate::params::to_host(&targeted_dlr_loss(z, ints(&[1, 0]), ints(&[3, 2])));
        close(&got, &[-1.0 / 3.5, 3.0 / 3.5]);
    }

    #[test]
    fn dlr_losses_are_invariant_to_shifting_and_scaling_logits() {
        let rows = [[1.0, 4.0, -2.0, 3.0, 0.0], [2.0, 0.0, 5.0, 1.0, 2.5]];
        let moved: Vec<[f32; 5]> = rows.iter().map(|r| r.map(|v| 3.0 * v + 7.0)).collect();
        let (y, t) = (ints(&[0, 3]), ints(&[2, 4]));
        let a = crate::params::to_host(&dlr_loss(logits(&rows), y.clone()));
        close(
            &crate::params::to_host(&dlr_loss(logits(&moved), y.clone())),
            &a,
        );
        let a = crate::params::to_host(&targeted_dlr_loss(logits(&rows), y.clone(), t.clone()));
        close(
            &crate::params::to_host(&targeted_dlr_loss(logits(&moved), y, t)),
            &a,
        );
    }
}
