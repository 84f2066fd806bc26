//! The per-example flatness measures, the Prop. B multiplier and 1-D loss curves.

use advland_data::random::SplitMix64;
use advland_schema::Precision;
use advland_train::Model;
use advland_train::attack::Constraint;
use advland_train::loss::cross_entropy;
use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use super::operator::{InputGradients, InputHessian, check_batch, check_finite, model_in, to_host};
use crate::error::{Error, Result};
use crate::hessian::{PowerIterationConfig, top_eigenpairs_blocks};
use crate::precision::central_difference_step;
use crate::vector::dot;

/// Settings of [`input_flatness`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputFlatnessConfig {
    /// Finite-difference step h of the input HVP, along unit directions (default 1e-4, f64's
    /// [`central_difference_step`]).
    pub fd_step: f64,
    /// Power-iteration steps (HVPs) per eigenvalue, the cap when `power_tol` > 0 (default 20).
    pub power_iterations: usize,
    /// Number k of input-Hessian eigenvalues of largest |λ| per example (default 1).
    pub top_k: usize,
    /// An example's power iteration stops once its Rayleigh quotient changes by less than
    /// this, relative (default 0: always `power_iterations` steps).
    pub power_tol: f64,
    /// Rademacher probes of the Hutchinson trace (default 10).
    pub trace_samples: usize,
    /// Seed of the power-iteration starts and the probes.
    pub seed: u64,
    /// Differentiate through the activation pattern recorded at x (default true; see the
    /// module docs).
    pub freeze_activations: bool,
}

impl Default for InputFlatnessConfig {
    fn default() -> Self {
        Self {
            fd_step: central_difference_step(Precision::F64),
            power_iterations: 20,
            top_k: 1,
            power_tol: 0.0,
            trace_samples: 10,
            seed: 0,
            freeze_activations: true,
        }
    }
}

/// Input-space flatness of one example (paper.md §3.2 E-C).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExampleFlatness {
    /// ℓ(x) = −log softmax(f(x))_y.
    pub loss: f64,
    /// ‖∇ₓℓ‖₂.
    pub grad_l2: f64,
    /// ‖∇ₓℓ‖₁.
    pub grad_l1: f64,
    /// Signed Rayleigh quotient vᵀHv of the unit vector v after power iteration on
    /// H = ∇²ₓℓ: the eigenvalue of largest |λ| (the first of `hessian_top_k`).
    pub hessian_top: f64,
    /// The k eigenvalues of largest |λ| (power iteration with deflation), signed, sorted by
    /// |λ| in decreasing order.
    pub hessian_top_k: Vec<f64>,
    /// gᵀHg/‖g‖² with g = ∇ₓℓ (0 when g = 0).
    pub curvature_along_gradient: f64,
    /// Hutchinson estimate of tr H: the mean of zᵀHz over Rademacher z.
    pub hessian_trace: f64,
}

/// Per-example ⟨a_n, b_n⟩.
fn dot_examples(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    a.chunks_exact(d)
        .zip(b.chunks_exact(d))
        .map(|(x, y)| dot(x, y))
        .collect()
}

impl InputFlatnessConfig {
    /// Checks the settings that [`InputHessian`] does not.
    ///
    /// # Errors
    /// Zero iterations, probes or k; a negative or non-finite tolerance.
    pub fn check(&self) -> Result<()> {
        for (field, value) in [
            ("power_iterations", self.power_iterations),
            ("trace_samples", self.trace_samples),
            ("top_k", self.top_k),
        ] {
            if value == 0 {
                return Err(Error::InvalidConfig {
                    field,
                    reason: "must be >= 1".to_owned(),
                });
            }
        }
        if !(self.power_tol.is_finite() && self.power_tol >= 0.0) {
            return Err(Error::InvalidConfig {
                field: "power_tol",
                reason: format!("must be finite and >= 0, got {}", self.power_tol),
            });
        }
        Ok(())
    }
}

/// Input-space flatness of every example of a batch (paper.md §3.2 E-C), at `images`
/// (clean or adversarial x + δ*; on an autodiff device, their dtype used throughout):
/// [`estimate_input_flatness`] of the model's [`InputHessian`].
///
/// Cost: 1 + 2·(k·power_iterations + 1 + trace_samples) batched gradient passes at most (each
/// HVP is 2 passes, see [`InputHessian`]). The caller's model is not modified.
///
/// # Errors
/// Bad settings (zero iterations, probes or k, non-positive step), a non-autodiff device,
/// mismatched labels, non-finite values.
pub fn input_flatness(
    model: &Model,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    config: &InputFlatnessConfig,
) -> Result<Vec<ExampleFlatness>> {
    config.check()?;
    let op = InputHessian::new(
        model,
        images,
        labels,
        config.fd_step,
        config.freeze_activations,
    )?;
    estimate_input_flatness(&op, config)
}

/// The flatness measures of every example from its input Hessian H_n = ∇²ₓℓ(x_n) and
/// gradient g_n = ∇ₓℓ(x_n), whatever gives them (a model, or a closed-form loss), all examples
/// in lockstep:
/// - the k eigenvalues of largest |λ|: power iteration with Gram–Schmidt deflation
///   ([`top_eigenpairs_blocks`], one batched HVP per step for all examples) from a seeded
///   start, each reported as the Rayleigh quotient vᵀHv (‖v‖ = 1) of its last iterate, signed;
///   sorted by |λ|, so `hessian_top` is the largest |λ| found;
/// - gᵀHg/‖g‖² from one HVP along g;
/// - Hutchinson tr H ≈ (1/S)Σ_s z_sᵀHz_s, z_s Rademacher (unbiased; for H = uuᵀ the variance
///   per probe is 2Σ_{i≠j}u_i²u_j², in general 2Σ_{i≠j}H_ij²).
///
/// `config.fd_step` and `config.freeze_activations` are the operator's business and are not
/// read here.
///
/// # Errors
/// Bad settings (see [`InputFlatnessConfig::check`]; `top_k` above the input dimension),
/// non-finite values.
pub fn estimate_input_flatness<G: InputGradients>(
    op: &InputHessian<G>,
    config: &InputFlatnessConfig,
) -> Result<Vec<ExampleFlatness>> {
    config.check()?;
    let d = op.example_dim();
    let total = op.gradient().len();
    let power = PowerIterationConfig {
        k: config.top_k,
        tol: config.power_tol,
        max_iter: config.power_iterations,
        seed: config.seed,
    };
    let pairs = top_eigenpairs_blocks(op, &power)?;
    let mut step: usize = pairs
        .iter()
        .map(|p| p.iter().map(|e| e.applications).sum::<usize>())
        .max()
        .unwrap_or(0);

    // Curvature along the gradient.
    let g = op.gradient();
    let hg = op.apply(g, step)?;
    step += 1;
    let ghg = dot_examples(g, &hg, d);

    // Hutchinson trace.
    let mut rng = SplitMix64::new(config.seed ^ 0x5851_F42D_4C95_7F2D);
    let mut trace = vec![0.0; op.examples()];
    for s in 0..config.trace_samples {
        let z: Vec<f64> = (0..total).map(|_| rng.rademacher()).collect();
        let hz = op.apply(&z, step + s)?;
        for (t, q) in trace.iter_mut().zip(dot_examples(&z, &hz, d)) {
            *t += q / config.trace_samples as f64;
        }
    }
    step += config.trace_samples;

    let out: Vec<ExampleFlatness> = pairs
        .iter()
        .enumerate()
        .map(|(n, found)| {
            let gn = &g[n * d..(n + 1) * d];
            let g2 = dot(gn, gn);
            let mut top_k: Vec<f64> = found.iter().map(|e| e.value).collect();
            top_k.sort_by(|a, b| b.abs().total_cmp(&a.abs()));
            ExampleFlatness {
                loss: op.losses()[n],
                grad_l2: g2.sqrt(),
                grad_l1: gn.iter().map(|x| x.abs()).sum(),
                hessian_top: top_k[0],
                hessian_top_k: top_k,
                curvature_along_gradient: if g2 > 0.0 { ghg[n] / g2 } else { 0.0 },
                hessian_trace: trace[n],
            }
        })
        .collect();
    for e in &out {
        check_finite("input flatness", &e.hessian_top_k, step)?;
        check_finite(
            "input flatness",
            &[e.curvature_along_gradient, e.hessian_trace],
            step,
        )?;
    }
    Ok(out)
}

/// The KKT multiplier λ = ‖∇ₓℓ(x+δ*)‖_*/ε ≥ 0 of the attack's active constraint, from one
/// example's input gradient `grad` at the adversarial point, with ‖·‖_* the dual norm of
/// `ball` ([`Constraint::dual_norm`]; paper.md §2.4 Prop. B, written for any norm).
///
/// With the constraint written ½‖δ‖² ≤ ½ε², stationarity at δ* on the boundary ‖δ*‖ = ε is
/// ∇ₓℓ ∈ λε·∂‖δ*‖; every u ∈ ∂‖δ*‖ has ‖u‖_* = 1, so λ = ‖∇ₓℓ‖_*/ε:
/// - L2: ∇ₓℓ = λδ*, λ = ‖∇ₓℓ‖₂/ε. The Lagrangian's δ-Hessian is ∇²ₓℓ − λI, the extra
///   curvature the sphere adds to the inner problem, so β_adv,L2 ≲ L_θθ + L_θx·L_xθ/(μ + λ).
/// - L∞: λ = ‖∇ₓℓ‖₁/ε. The cube's faces are flat (Prop. C): λ says how hard the loss pushes
///   against the ball, but adds no curvature.
///
/// Like Prop. B this ignores the `[0,1]` box, and it describes δ* only where PGD reached the
/// boundary. `ball.eps()` must be positive (ε = 0 gives ∞ or NaN).
pub fn kkt_multiplier(ball: &dyn Constraint, grad: &[f64]) -> f64 {
    ball.dual_norm(grad) / ball.eps()
}

/// 1-D loss curves (paper.md §3.2 E-C): `out[i][n]` = ℓ(x_n + t_i·v_n) for each t in `ts`
/// and example n, through the live network, with per-example `directions` (`[b, c, h, w]`,
/// normalised by the caller, e.g. gradient or random unit directions, t ∈ [−2ε, 2ε]).
///
/// Points are not clipped to `[0,1]`: the curve is a section of the loss as a function of the
/// input, whose shape (curvature, kinks) is what flatness is about, not a set of valid
/// images; clipping would bend the section wherever it leaves the box. One batched forward
/// pass per t.
///
/// # Errors
/// A non-autodiff device, mismatched shapes, non-finite losses.
pub fn loss_curves(
    model: &Model,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    directions: &Tensor<4>,
    ts: &[f64],
) -> Result<Vec<Vec<f64>>> {
    check_batch(&images, &labels)?;
    if directions.dims() != images.dims() {
        return Err(Error::Dimension {
            expected: images.dims().iter().product(),
            got: directions.dims().iter().product(),
        });
    }
    let dtype = images.dtype();
    let model = model_in(model, dtype)?;
    let x = images.detach();
    let v = directions.clone().detach().cast(dtype);
    ts.iter()
        .enumerate()
        .map(|(i, &t)| {
            let logits = model.forward(x.clone() + v.clone().mul_scalar(t));
            let loss = to_host(cross_entropy(logits, labels.clone()).to_data());
            check_finite("loss curve", &loss, i)?;
            Ok(loss)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use advland_train::attack::{L2, Linf};

    /// ℓ(x) = ⟨g, x⟩ has ∇ₓℓ = g everywhere, and over the ball its maximiser is δ* = ε·s(g)
    /// (Hölder; s = sign for L∞, g/‖g‖₂ for L2). Stationarity must hold with the multiplier:
    /// u = g/(λε) lies in the subdifferential of ‖·‖ at δ*, i.e. ‖u‖_* = 1 and ⟨u, δ*⟩ = ε.
    fn check_kkt_on_a_linear_loss(ball: &dyn Constraint, want: f64) {
        let g = [3.0, -4.0, 0.0];
        let lambda = kkt_multiplier(ball, &g);
        assert!(
            (lambda - want).abs() < 1e-12,
            "λ = {lambda}, closed form {want}"
        );
        let eps = ball.eps();
        let delta: Vec<f64> = ball
            .dual_norm_gradient(&g)
            .iter()
            .map(|s| eps * s)
            .collect();
        let u: Vec<f64> = g.iter().map(|v| v / (lambda * eps)).collect();
        assert!((ball.dual_norm(&u) - 1.0).abs() < 1e-12);
        assert!((dot(&u, &delta) - eps).abs() < 1e-12);
    }

    #[test]
    fn kkt_multiplier_linf_is_l1_gradient_norm_over_radius() {
        // ‖(3, −4, 0)‖₁ / 0.5
        check_kkt_on_a_linear_loss(&Linf { eps: 0.5 }, 14.0);
    }

    #[test]
    fn kkt_multiplier_l2_is_l2_gradient_norm_over_radius() {
        // ‖(3, −4, 0)‖₂ / 0.5
        check_kkt_on_a_linear_loss(&L2 { eps: 0.5 }, 10.0);
    }
}
