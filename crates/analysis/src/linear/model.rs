//! The closed-form loss, its derivatives and the jump/smoothness measurements.

use std::sync::Arc;

use advland_data::Dataset;
use advland_data::random::{SplitMix64, box_muller};
use advland_schema::Norm;
use advland_train::attack::{Constraint, ball};

use crate::error::{Error, Result};
use crate::objective::Objective;
use crate::vector::{axpy, dot, norm, normalize};

/// ℓ(m) = log(1 + e^{−m}), the logistic margin loss (paper.md §2.3).
pub fn logistic_loss(m: f64) -> f64 {
    // max(−m, 0) + log1p(e^{−|m|}): the exponent is never positive, so nothing overflows and
    // tiny losses at large margins keep their digits.
    (-m).max(0.0) + (-m.abs()).exp().ln_1p()
}

/// ℓ'(m) = −1/(1 + e^{m}) ∈ (−1, 0) (paper.md §2.3: |ℓ'| ≤ 1).
pub fn logistic_loss_d1(m: f64) -> f64 {
    let e = (-m.abs()).exp();
    if m >= 0.0 {
        -e / (1.0 + e)
    } else {
        -1.0 / (1.0 + e)
    }
}

/// ℓ''(m) = e^{−|m|}/(1 + e^{−|m|})² ∈ (0, 1/4] (paper.md §2.3).
pub fn logistic_loss_d2(m: f64) -> f64 {
    let e = (-m.abs()).exp();
    e / ((1.0 + e) * (1.0 + e))
}

/// A binary data set for the linear analysis: inputs in f64 and labels y ∈ {−1, +1}.
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryLinearData {
    /// Inputs, row-major `[n, d]`.
    x: Vec<f64>,
    /// Labels ±1, `[n]`.
    y: Vec<f64>,
    d: usize,
}

impl BinaryLinearData {
    /// From row-major inputs `x` of `d` features each and labels `y`.
    ///
    /// # Shapes
    /// `x`: `[n * d]`, `y`: `[n]`
    ///
    /// # Errors
    /// No examples, `d = 0`, lengths that disagree, a label other than ±1, a non-finite input.
    pub fn new(x: Vec<f64>, y: Vec<f64>, d: usize) -> Result<Self> {
        if d == 0 || y.is_empty() {
            return Err(invalid(
                "data",
                format!("needs n, d >= 1, got n = {}, d = {d}", y.len()),
            ));
        }
        if x.len() != y.len() * d {
            return Err(Error::Dimension {
                expected: y.len() * d,
                got: x.len(),
            });
        }
        if let Some(bad) = y.iter().find(|&&v| v != 1.0 && v != -1.0) {
            return Err(invalid("data.y", format!("labels must be ±1, got {bad}")));
        }
        if !x.iter().all(|v| v.is_finite()) {
            return Err(invalid("data.x", "inputs must be finite".to_owned()));
        }
        Ok(Self { x, y, d })
    }

    /// The examples of `classes = [negative, positive]` in `data` (via
    /// [`Dataset::filter_classes`], which relabels them 0 and 1): label 0 → y = −1, label 1 →
    /// y = +1, pixels as f64, flattened `[c, h, w]`.
    ///
    /// # Errors
    /// A class that does not exist or is repeated, or neither class present.
    pub fn from_dataset(data: &Dataset, classes: [u8; 2]) -> Result<Self> {
        let pair = data
            .filter_classes(&classes)
            .map_err(|e| Error::Train(e.into()))?;
        let x = pair.images.iter().map(|&p| f64::from(p)).collect();
        let y = pair
            .labels
            .iter()
            .map(|&l| if l == 1 { 1.0 } else { -1.0 })
            .collect();
        Self::new(x, y, pair.image_len())
    }

    /// n, the number of examples.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// d, the number of features.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Inputs, row-major `[n, d]`.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// Labels ±1.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// Example `i`'s input.
    ///
    /// # Panics
    /// If `i >= n`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// max_n ‖x_n‖₂.
    pub fn max_row_norm(&self) -> f64 {
        self.x.chunks_exact(self.d).map(norm).fold(0.0, f64::max)
    }
}

/// The exact adversarial loss of a binary linear classifier (paper.md §2.3 \[DERIVED\]):
///
/// L(θ) = (1/N) Σ_n ℓ(m_n),  m_n = y_n(wᵀx_n + b) − ε‖w‖_q,  θ = (w, b),
///
/// with ‖·‖_q the dual norm of the attack's (q = 1 for [`Norm::Linf`], q = 2 for
/// [`Norm::L2`]; [`Constraint::dual_norm`]), ℓ the logistic loss, and b present (last in θ)
/// only when `bias` is on. The `[0,1]` input box is ignored (unconstrained inputs). L is
/// convex: ℓ is convex and decreasing, m is concave in θ.
///
/// Everything that differs between the norms — ‖w‖_q, its gradient s(w), its kinks and its
/// curvature — comes from the attack's ball ([`advland_train::attack::ball`]), so the formulas
/// here are written once.
#[derive(Clone, Debug)]
pub struct AdversarialLinearLoss {
    data: BinaryLinearData,
    norm: Norm,
    ball: Arc<dyn Constraint>,
    bias: bool,
}

impl AdversarialLinearLoss {
    /// The loss of `data` under an ε-ball of `norm`.
    ///
    /// # Errors
    /// ε not finite or negative.
    pub fn new(data: BinaryLinearData, norm: Norm, eps: f64, bias: bool) -> Result<Self> {
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(invalid(
                "eps",
                format!("must be finite and >= 0, got {eps}"),
            ));
        }
        Ok(Self {
            data,
            norm,
            ball: ball(norm, eps),
            bias,
        })
    }

    /// The data.
    pub fn data(&self) -> &BinaryLinearData {
        &self.data
    }

    /// The attack norm p.
    pub fn norm(&self) -> Norm {
        self.norm
    }

    /// The radius ε.
    pub fn eps(&self) -> f64 {
        self.ball.eps()
    }

    /// Whether θ ends with a bias b.
    pub fn bias(&self) -> bool {
        self.bias
    }

    /// ‖w‖_q, the dual norm of the attack norm: ‖w‖₁ for L∞, ‖w‖₂ for L2 (paper.md §2.3).
    pub fn dual_norm(&self, w: &[f64]) -> f64 {
        self.ball.dual_norm(w)
    }

    /// s(w) = ∇‖w‖_q where it exists: sign(w) for L∞, w/‖w‖₂ for L2 (paper.md §2.3). The
    /// optimal attack is δ*_n = −y_n ε s(w).
    ///
    /// Where ‖·‖_q has a kink (w_i = 0 for L∞, w = 0 for L2) this returns the centre of the
    /// subdifferential (sign(0) = 0, s(0) = 0). For L∞ that is also what PGD does there: the
    /// input gradient's coordinate is exactly 0 and its sign step is 0.
    pub fn dual_direction(&self, w: &[f64]) -> Vec<f64> {
        self.ball.dual_norm_gradient(w)
    }

    /// mean |ℓ'(m_n)| over the adversarial margins at θ: the weight of the ε s(w) term in
    /// ∇L, hence of its jumps and its curvature.
    ///
    /// # Errors
    /// θ of the wrong length.
    pub fn mean_abs_slope(&self, theta: &[f64]) -> Result<f64> {
        let margins = self.margins(theta)?;
        Ok(margins
            .iter()
            .map(|&m| logistic_loss_d1(m).abs())
            .sum::<f64>()
            / margins.len() as f64)
    }

    /// The adversarial margins m_n = y_n(wᵀx_n + b) − ε‖w‖_q (paper.md §2.3).
    ///
    /// # Errors
    /// θ of the wrong length.
    pub fn margins(&self, theta: &[f64]) -> Result<Vec<f64>> {
        let (w, b) = self.split(theta)?;
        let penalty = self.eps() * self.dual_norm(w);
        Ok(self
            .data
            .x
            .chunks_exact(self.data.d)
            .zip(&self.data.y)
            .map(|(x, &y)| y * (dot(w, x) + b) - penalty)
            .collect())
    }

    /// The exact Hessian ∇²L(θ), dense row-major `[p, p]` with p = d (+1 with a bias)
    /// (paper.md §2.3 \[DERIVED\]). With a_n = ∂m_n/∂θ = (y_n x_n − ε s(w), y_n):
    ///
    /// ∇²L = (1/N) Σ_n ℓ''(m_n) a_n a_nᵀ + (1/N) Σ_n ℓ'(m_n) ∇²m_n,
    ///
    /// with ∇²m_n = −ε∇²‖w‖_q on the w block
    /// ([`Constraint::add_dual_norm_hessian`]):
    ///
    /// - L∞: ∇²‖w‖₁ = 0 off the hyper-planes w_i = 0, so only the first term remains.
    /// - L2: ∇²‖w‖₂ = (I − ŵŵᵀ)/‖w‖ (the Jacobian of ŵ = w/‖w‖), so the w block gains
    ///   −ε·mean ℓ'(m)·(I − ŵŵᵀ)/‖w‖ = +ε·mean|ℓ'(m)|·(I − ŵŵᵀ)/‖w‖ (ℓ' < 0: positive
    ///   semi-definite, as convexity demands). Its norm ε·mean|ℓ'|/‖w‖ is the 1/‖w‖ blow-up of C1.
    ///
    /// # Errors
    /// θ of the wrong length, or a point where no Hessian exists because ‖w‖_q has a kink there
    /// ([`Constraint::dual_norm_kink`]): some w_i = 0 (L∞; the gradient jumps there) or w = 0
    /// (L2).
    pub fn hessian(&self, theta: &[f64]) -> Result<Vec<f64>> {
        let (w, _) = self.split(theta)?;
        if let Some(kink) = self.ball.dual_norm_kink(w) {
            return Err(invalid(
                "theta",
                format!(
                    "the {} adversarial loss has no Hessian at this θ: ‖w‖_q has a kink there \
                     ({kink}; paper.md §2.3)",
                    self.norm
                ),
            ));
        }
        let eps = self.eps();
        let (d, p) = (self.data.d, self.dim());
        let n = self.data.n() as f64;
        let s = self.dual_direction(w);
        let margins = self.margins(theta)?;
        let mut h = vec![0.0; p * p];
        let mut a = vec![0.0; p];
        let mut mean_d1 = 0.0;
        for ((x, &y), &m) in self.data.x.chunks_exact(d).zip(&self.data.y).zip(&margins) {
            for ((ai, xi), si) in a.iter_mut().zip(x).zip(&s) {
                *ai = y * xi - eps * si;
            }
            if self.bias {
                a[d] = y;
            }
            let c = logistic_loss_d2(m) / n;
            // Upper triangle only; mirrored below.
            for j in 0..p {
                let cj = c * a[j];
                for (hjk, ak) in h[j * p + j..(j + 1) * p].iter_mut().zip(&a[j..]) {
                    *hjk += cj * ak;
                }
            }
            mean_d1 += logistic_loss_d1(m) / n;
        }
        for j in 0..p {
            for k in 0..j {
                h[j * p + k] = h[k * p + j];
            }
        }
        self.ball
            .add_dual_norm_hessian(w, -eps * mean_d1, &mut h, p);
        Ok(h)
    }

    /// The gradient jump in coordinate i predicted when w_i crosses 0 (paper.md §2.3
    /// \[DERIVED\], claim C2), with m⁰ the margins at θ with w_i set to 0:
    ///
    /// - L∞: ∂L/∂w_i = mean ℓ'(m)(y x_i − ε sign(w_i)) and m is continuous, so the one-sided
    ///   limits differ by 2ε·mean|ℓ'(m⁰)| (ℓ' < 0);
    /// - L2: 0, because s(w) = w/‖w‖ is continuous across w_i = 0 — unless every other weight is
    ///   0 too, when the crossing passes through w = 0, s flips from e_i to −e_i and the jump is
    ///   again 2ε·mean|ℓ'(m⁰)|.
    ///
    /// Both are one rule: s jumps (from +e_i to −e_i in coordinate i) exactly where the crossing
    /// passes through a kink of ‖·‖_q ([`Constraint::dual_norm_kink`]).
    ///
    /// # Errors
    /// θ of the wrong length, `i >= d`.
    pub fn linf_jump(&self, theta: &[f64], i: usize) -> Result<f64> {
        let at_zero = self.with_weight(theta, i, 0.0)?;
        if self.ball.dual_norm_kink(&at_zero[..self.data.d]).is_none() {
            return Ok(0.0);
        }
        Ok(2.0 * self.eps() * self.mean_abs_slope(&at_zero)?)
    }

    /// The measured jump ‖∇L(θ with w_i = +t) − ∇L(θ with w_i = −t)‖₂ across the hyper-plane
    /// w_i = 0 (paper.md §3.2 E-A (i)). As t → 0 it tends to [`Self::linf_jump`] for L∞ and
    /// to 0 (as O(t)) for L2.
    ///
    /// # Errors
    /// θ of the wrong length, `i >= d`, `t` not finite and positive.
    pub fn gradient_jump(&self, theta: &[f64], i: usize, t: f64) -> Result<f64> {
        if !(t.is_finite() && t > 0.0) {
            return Err(invalid("t", format!("must be finite and > 0, got {t}")));
        }
        let (_, g_plus) = self.loss_and_gradient(&self.with_weight(theta, i, t)?)?;
        let (_, mut diff) = self.loss_and_gradient(&self.with_weight(theta, i, -t)?)?;
        for (a, b) in diff.iter_mut().zip(&g_plus) {
            *a = b - *a;
        }
        Ok(norm(&diff))
    }

    /// The curvature term of ∇²L at θ, ‖(1/N) Σ_n ℓ'(m_n) ∇²m_n‖₂ = ε·mean|ℓ'(m)|/r with r the
    /// radius of curvature of ‖·‖_q at w ([`Constraint::dual_norm_curvature_radius`]):
    /// ε·mean|ℓ'(m)|/‖w‖ for L2, the 1/‖w‖ blow-up of C1 (paper.md §2.3 \[DERIVED\]). `None`
    /// for L∞, whose ‖·‖₁ is piecewise linear: no curvature term, the non-smoothness is in
    /// gradient jumps instead ([`Self::linf_jump`]).
    ///
    /// # Errors
    /// θ of the wrong length.
    pub fn curvature_term(&self, theta: &[f64]) -> Result<Option<f64>> {
        let (w, _) = self.split(theta)?;
        let Some(radius) = self.ball.dual_norm_curvature_radius(w) else {
            return Ok(None);
        };
        Ok(Some(self.eps() * self.mean_abs_slope(theta)? / radius))
    }

    /// Upper bound on ‖∇²L‖₂ at weights `w` where ‖·‖_q curves (L2; paper.md §2.3
    /// \[DERIVED\], C1):
    ///
    /// ‖∇²L‖ ≤ mean ℓ''(m)‖a‖² + ε·mean|ℓ'(m)|/‖w‖ ≤ ((max_n ‖x_n‖ + ε)² + \[bias\])/4 + ε/‖w‖,
    ///
    /// using ℓ'' ≤ 1/4, |ℓ'| ≤ 1 and ‖a_n‖² ≤ (‖x_n‖ + ε)² + 1 (‖s(w)‖₂ = 1), where the + 1 is
    /// the bias coordinate of a_n (absent, as in paper.md, without a bias); ‖w‖ is the radius of
    /// curvature of ‖·‖_q ([`Constraint::dual_norm_curvature_radius`]). +∞ at w = 0. `None` for
    /// L∞: ‖·‖₁ is piecewise linear and L has no Hessian bound across its kinks.
    ///
    /// # Errors
    /// `w` not of length d.
    pub fn smoothness_bound(&self, w: &[f64]) -> Result<Option<f64>> {
        if w.len() != self.data.d {
            return Err(Error::Dimension {
                expected: self.data.d,
                got: w.len(),
            });
        }
        let Some(radius) = self.ball.dual_norm_curvature_radius(w) else {
            return Ok(None);
        };
        let eps = self.eps();
        let reach = self.data.max_row_norm() + eps;
        let bias = if self.bias { 1.0 } else { 0.0 };
        let curvature = if radius > 0.0 {
            eps / radius
        } else {
            f64::INFINITY
        };
        Ok(Some((reach * reach + bias) / 4.0 + curvature))
    }

    /// Local Lipschitz estimate of ∇L (paper.md §3.2 E-A (ii)):
    ///
    /// κ(θ, r) = max_{k ≤ K} ‖∇L(θ + r u_k) − ∇L(θ)‖₂ / r,
    ///
    /// over K = `directions` unit vectors u_k uniform on the sphere (normalised Gaussians from a
    /// splitmix64 stream seeded by `seed`, so every platform draws the same directions).
    ///
    /// # Errors
    /// θ of the wrong length, `r` not finite and positive, `directions = 0`.
    pub fn local_lipschitz(
        &self,
        theta: &[f64],
        r: f64,
        directions: usize,
        seed: u64,
    ) -> Result<f64> {
        if !(r.is_finite() && r > 0.0) {
            return Err(invalid("r", format!("must be finite and > 0, got {r}")));
        }
        if directions == 0 {
            return Err(invalid("directions", "must be >= 1".to_owned()));
        }
        let (_, g0) = self.loss_and_gradient(theta)?;
        let mut rng = SplitMix64::new(seed);
        let mut best = 0.0f64;
        for _ in 0..directions {
            let mut u: Vec<f64> = (0..theta.len()).map(|_| normal(&mut rng)).collect();
            if normalize(&mut u) == 0.0 {
                continue;
            }
            let mut point = theta.to_vec();
            axpy(r, &u, &mut point);
            let (_, g) = self.loss_and_gradient(&point)?;
            let diff: Vec<f64> = g.iter().zip(&g0).map(|(a, b)| a - b).collect();
            best = best.max(norm(&diff) / r);
        }
        Ok(best)
    }

    /// Splits θ into (w, b), b = 0 without a bias.
    fn split<'t>(&self, theta: &'t [f64]) -> Result<(&'t [f64], f64)> {
        if theta.len() != self.dim() {
            return Err(Error::Dimension {
                expected: self.dim(),
                got: theta.len(),
            });
        }
        let (w, rest) = theta.split_at(self.data.d);
        Ok((w, rest.first().copied().unwrap_or(0.0)))
    }

    /// θ with w_i replaced by `value`.
    fn with_weight(&self, theta: &[f64], i: usize, value: f64) -> Result<Vec<f64>> {
        self.split(theta)?;
        if i >= self.data.d {
            return Err(invalid(
                "i",
                format!("weight index {i} out of range for d = {}", self.data.d),
            ));
        }
        let mut out = theta.to_vec();
        out[i] = value;
        Ok(out)
    }
}

impl Objective for AdversarialLinearLoss {
    fn dim(&self) -> usize {
        self.data.d + usize::from(self.bias)
    }

    /// L(θ) and, by the chain rule through the closed-form inner max (equivalently Danskin with
    /// δ* = −yε s(w) held fixed; paper.md §2.3 \[DERIVED\]):
    ///
    /// ∇_w L = mean ℓ'(m)(y x − ε s(w)),  ∂L/∂b = mean ℓ'(m) y,
    ///
    /// with s(w) from [`AdversarialLinearLoss::dual_direction`] (the subdifferential's centre at
    /// the kinks).
    fn loss_and_gradient(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        let margins = self.margins(theta)?;
        let (w, _) = self.split(theta)?;
        let d = self.data.d;
        let n = self.data.n() as f64;
        let mut grad = vec![0.0; self.dim()];
        let (mut loss, mut sum_c, mut sum_cy) = (0.0, 0.0, 0.0);
        for ((x, &y), &m) in self.data.x.chunks_exact(d).zip(&self.data.y).zip(&margins) {
            let c = logistic_loss_d1(m) / n;
            loss += logistic_loss(m) / n;
            axpy(c * y, x, &mut grad[..d]);
            sum_c += c;
            sum_cy += c * y;
        }
        // The −ε s(w) part of ∂m/∂w is the same for every example, so it is added once.
        axpy(-self.eps() * sum_c, &self.dual_direction(w), &mut grad[..d]);
        if self.bias {
            grad[d] = sum_cy;
        }
        if !loss.is_finite() || !grad.iter().all(|g| g.is_finite()) {
            return Err(Error::NonFinite {
                what: "adversarial linear loss",
                step: 0,
            });
        }
        Ok((loss, grad))
    }
}

fn invalid(field: &'static str, reason: String) -> Error {
    Error::InvalidConfig { field, reason }
}

/// N(0, 1) by Box–Muller from `rng`; 1 − U keeps the logarithm's argument in (0, 1].
fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = 1.0 - rng.uniform();
    box_muller(u1, rng.uniform())
}

#[cfg(test)]
mod tests;
