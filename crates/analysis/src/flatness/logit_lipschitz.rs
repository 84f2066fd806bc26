//! Local Lipschitz constant of the logits in the ε-ball, by projected ascent (Yang et al. 2020,
//! "A Closer Look at Accuracy vs. Robustness", the estimate RobustBench-style evaluations
//! report).

use advland_schema::Cost;
use advland_train::Model;
use advland_train::attack::{Attack, projected_ascent};
use burn::tensor::Tensor;

use super::operator::{check_finite, model_in, to_host};
use crate::error::{Error, Result};

/// Per-example estimates of [`logit_lipschitz`] and what they cost.
#[derive(Clone, Debug, PartialEq)]
pub struct LogitLipschitzEstimate {
    /// max over the ascent's final points of ‖f(x') − f(x)‖₂ / ‖x' − x‖, per example.
    pub estimate: Vec<f64>,
    /// Forward/backward passes, in examples.
    pub cost: Cost,
}

/// Smallest ‖x' − x‖ the ratio divides by: keeps a start at x' = x finite (its ratio is then
/// 0, never a spurious maximum).
const MIN_DISTANCE: f64 = 1e-12;

/// A lower bound of the local Lipschitz constant of the logits f around each example,
/// L(x) = sup_{x' ∈ B(x, ε) ∩ `[0,1]^d`} ‖f(x') − f(x)‖₂ / ‖x' − x‖ with B and ‖·‖ the ball
/// of `attack` (L∞ or L2): the ratio is maximised over x' by the attack's projected ascent
/// ([`projected_ascent`], the same projections, box clipping, random starts and restarts as
/// PGD, `steps` steps of size `step_size` from `attack`'s settings) and evaluated at the
/// point it ends at. Any x' gives a lower bound; the ascent makes it tight where the ratio is
/// well-behaved (for a linear f = Wx + b in L2 it approaches σ_max(W)).
///
/// Starts are the attack's random points of the ball (`random_start` must be true:
/// at x' = x the ratio is 0/0), not a tiny Gaussian around x as in Yang et al.'s code: the
/// ratio of a linear map is scale-free, and starts spread over the ball see more of it.
///
/// Requires an autodiff device; the model is not modified.
///
/// # Shapes
/// `images`: `[b, c, h, w]` → `estimate`: `[b]`
///
/// # Errors
/// Settings that fail [`PgdSettings::check`](advland_schema::PgdSettings::check), no random
/// start, a non-autodiff device, non-finite ratios.
pub fn logit_lipschitz(
    model: &Model,
    images: Tensor<4>,
    attack: &Attack,
    seed: u64,
) -> Result<LogitLipschitzEstimate> {
    let settings = attack.settings();
    settings
        .check("lipschitz")
        .map_err(|e| Error::InvalidConfig {
            field: "lipschitz",
            reason: e.to_string(),
        })?;
    if !settings.random_start {
        return Err(Error::InvalidConfig {
            field: "random_start",
            reason: "the ratio is 0/0 at x' = x: the ascent needs a random start".to_owned(),
        });
    }
    if !images.device().is_autodiff() {
        return Err(Error::InvalidConfig {
            field: "device",
            reason: "the ascent needs an autodiff device".to_owned(),
        });
    }
    let [b, _, _, _] = images.dims();
    let model = model_in(model, images.dtype())?;
    let x = images.detach();
    let fx = model.forward(x.clone()).detach();
    let ratio = |xp: Tensor<4>| -> Tensor<1> {
        let difference = model.forward(xp.clone()) - fx.clone();
        // The floor keeps √ differentiable where f(x') = f(x).
        let top = difference
            .powi_scalar(2)
            .sum_dim(1)
            .reshape([b])
            .clamp_min(1e-300)
            .sqrt();
        let bottom = attack
            .constraint()
            .norm(xp - x.clone())
            .clamp_min(MIN_DISTANCE);
        top / bottom
    };
    let out = projected_ascent(&x, attack, seed, ratio);
    let estimate = to_host(ratio(out.adversarial).detach().to_data());
    check_finite("logit Lipschitz ratio", &estimate, settings.steps)?;
    let mut cost = out.cost;
    // f(x) and the final ratio.
    cost.forward += 2 * b as u64;
    Ok(LogitLipschitzEstimate { estimate, cost })
}
