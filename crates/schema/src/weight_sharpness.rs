//! Sharpness as the generalization literature measures it: the loss increase under a weight
//! perturbation from a ρ-ball, worst case (an ascent) or average case (noise), per batch of m
//! examples (m-sharpness; tml-epfl/sharpness-vs-generalization), and AWP's robust-loss increase
//! under a layerwise relative perturbation (csdongxian/AWP). Payloads of the `worst-case`,
//! `average-case` and `awp` estimators of `advland sharpness`.

use serde::{Deserialize, Serialize};

/// The set weight perturbations δ are drawn from, with D = diag|θ₀| for the adaptive balls
/// (Kwon et al. 2021; Andriushchenko et al. 2023). Coordinates that are not perturbed
/// ([`PerturbedParams`]) stay at zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum WeightBall {
    /// ‖D⁻¹δ‖₂ ≤ ρ: elementwise scale invariant.
    AdaptiveL2,
    /// ‖δ‖₂ ≤ ρ.
    L2,
    /// ‖δ‖∞ ≤ ρ.
    Linf,
    /// ‖D⁻¹δ‖∞ ≤ ρ, i.e. |δᵢ| ≤ ρ|θ₀ᵢ|.
    AdaptiveLinf,
    /// ‖δ_l‖₂ ≤ ρ‖θ₀_l‖₂ for every perturbed tensor l: AWP's layerwise relative ball.
    Layerwise,
}

impl WeightBall {
    /// The name used in files and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            WeightBall::AdaptiveL2 => "adaptive-l2",
            WeightBall::L2 => "l2",
            WeightBall::Linf => "linf",
            WeightBall::AdaptiveLinf => "adaptive-linf",
            WeightBall::Layerwise => "layerwise",
        }
    }
}

/// Which parameter tensors a weight perturbation moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum PerturbedParams {
    /// Tensors of more than one dimension (convolution and linear weights): biases and batch
    /// norm's affine parameters stay fixed, as AWP's `diff_in_weights` keeps them.
    Weights,
    /// Every parameter, biases and batch-norm affine parameters included (tml-epfl's
    /// `sharpness.py`).
    All,
}

impl PerturbedParams {
    /// The name used in files and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            PerturbedParams::Weights => "weights",
            PerturbedParams::All => "all",
        }
    }
}

/// A mean over batches with its standard error.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanStdError {
    /// The mean.
    pub mean: f64,
    /// Sample standard deviation over √n; absent for a single value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_error: Option<f64>,
}

impl MeanStdError {
    /// Mean and standard error of `values` (`None` for an empty list).
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std_error = (values.len() > 1).then(|| {
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            (var / n).sqrt()
        });
        Some(Self { mean, std_error })
    }
}

/// The measure on one batch of m examples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSharpness {
    /// Examples in the batch.
    pub examples: usize,
    /// L(θ₀) on the batch.
    pub loss: f64,
    /// The perturbed loss: max over the ascent's iterates (worst case, awp) or the mean over
    /// noise draws (average case).
    pub perturbed_loss: f64,
    /// `perturbed_loss − loss`: the sharpness of this batch.
    pub increase: f64,
    /// Error-rate increase at the worst point (worst case, awp) or averaged over draws
    /// (average case); absent for objectives that do not classify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_increase: Option<f64>,
    /// ‖δ‖₂ of the worst point (0 for the average case).
    pub delta_norm: f64,
    /// Monte-Carlo standard error of `increase` over the noise draws (average case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_error: Option<f64>,
    /// AWP's own perturbation v_l = γ‖θ₀_l‖ g_l/‖g_l‖ (one normalised ascent step from θ₀, as
    /// its training step takes it): its loss increase (awp only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_step_increase: Option<f64>,
    /// Loss increase after each ascent iteration (worst case, awp).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<f64>,
}

/// `sharpness worst-case`, `average-case` or `awp`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightSharpnessResult {
    /// The ball (`layerwise` for awp).
    pub ball: WeightBall,
    /// Its radius ρ (awp: the relative radius γ).
    pub rho: f64,
    /// Examples per batch, m.
    pub m: usize,
    /// The parameter tensors perturbed.
    pub perturbed: PerturbedParams,
    /// Their scalars (the dimension of δ).
    pub perturbed_scalars: usize,
    /// Ascent iterations (worst case, awp) or noise draws per batch (average case).
    pub iterations: usize,
    /// Whether the ascent started from a random point of the ball.
    pub rand_init: bool,
    /// How batch norm enters: the loss uses the running statistics (eval mode), fixed at
    /// θ₀'s while the weights move; `none` for models without batch norm.
    pub batch_norm: String,
    /// One entry per batch, in data order.
    pub batches: Vec<BatchSharpness>,
    /// Mean ± s.e. of the loss increase over batches: the reported sharpness.
    pub increase: MeanStdError,
    /// Mean ± s.e. of the error increase over batches (classifiers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_increase: Option<MeanStdError>,
    /// Mean ± s.e. of AWP's one-step increase over batches (awp only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_step_increase: Option<MeanStdError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_error_matches_the_textbook_formula() {
        let m = MeanStdError::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((m.mean - 2.5).abs() < 1e-15);
        // s² = 5/3, s.e. = √(5/3 / 4).
        assert!((m.std_error.unwrap() - (5.0f64 / 12.0).sqrt()).abs() < 1e-15);
        assert_eq!(MeanStdError::of(&[3.0]).unwrap().std_error, None);
        assert!(MeanStdError::of(&[]).is_none());
    }
}
