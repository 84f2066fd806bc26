//! The face of the constraint set an attack's point lies on, and coordinates of its tangent
//! space: what the second-order conditions of the inner maximisation are stated on.
//!
//! PGD's feasible set is the ball intersected with the pixel box [0, 1]^d. At x + δ a
//! coordinate is pinned when the box or the ball holds it at a bound; a curved boundary (L2's
//! sphere) adds the constraint ⟨v, δ⟩ = 0 on the free coordinates. The tangent space T is
//! what is left, of dimension k, and `Q: R^k → R^d` maps orthonormal coordinates onto it: the
//! free coordinates, turned by a Householder reflection that sends the sphere's normal to the
//! last one, which is dropped. Operators restricted to T are then plain symmetric matrices of
//! size k, with no spurious zero eigenvalues from the directions T leaves out.

use advland_train::attack::Constraint;

use crate::vector::{dot, norm};

/// A pixel counts as clipped by the box within this distance of 0 or 1 (PGD's clamp puts it
/// there exactly; x + δ recomputed from δ can be off by rounding).
const BOX_TOL: f64 = 1e-9;

/// Where one coordinate of x + δ is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Free,
    /// At the pixel box's 0 or 1.
    BoxLow,
    BoxHigh,
    /// At the ball's +ε or −ε boundary in this coordinate (L∞).
    BallPlus,
    BallMinus,
}

/// One example's face: which bound holds each coordinate, the free ones, and the sphere's
/// normal among them.
#[derive(Clone, Debug, PartialEq)]
pub struct Face {
    sides: Vec<Side>,
    free: Vec<usize>,
    /// Unit u of the reflection I − 2uuᵀ sending the sphere's unit normal (over the free
    /// coordinates) to ±e_last; `None` where no curved boundary is active.
    reflection: Option<Vec<f64>>,
}

impl Face {
    /// The face at `x_adv` = x + `delta` of one example (d values each) under `ball`, a
    /// constraint counting as active within the relative distance `tol`.
    pub fn at(ball: &dyn Constraint, x_adv: &[f64], delta: &[f64], tol: f64) -> Self {
        let ball_face = ball.active_face(delta, tol);
        let sides: Vec<Side> = (0..delta.len())
            .map(|j| {
                if x_adv[j] <= BOX_TOL {
                    Side::BoxLow
                } else if x_adv[j] >= 1.0 - BOX_TOL {
                    Side::BoxHigh
                } else if !ball_face.pinned[j] {
                    Side::Free
                } else if delta[j] > 0.0 {
                    Side::BallPlus
                } else {
                    Side::BallMinus
                }
            })
            .collect();
        let free: Vec<usize> = (0..delta.len())
            .filter(|&j| sides[j] == Side::Free)
            .collect();
        let normal: Vec<f64> = free.iter().map(|&j| delta[j]).collect();
        let length = norm(&normal);
        if !ball_face.curved || length == 0.0 {
            return Self {
                sides,
                free,
                reflection: None,
            };
        }
        let mut u: Vec<f64> = normal.iter().map(|v| v / length).collect();
        let last = u.len() - 1;
        // n + sign(n_last)·e_last: no cancellation in the last entry.
        u[last] += if u[last] >= 0.0 { 1.0 } else { -1.0 };
        let u_norm = norm(&u);
        u.iter_mut().for_each(|v| *v /= u_norm);
        Self {
            sides,
            free,
            reflection: Some(u),
        }
    }

    /// The curved boundary's multiplier λ = ⟨g_F, δ_F⟩/‖δ_F‖² over the free coordinates, for
    /// the `gradient` g = ∇ₓℓ(x + δ); 0 without a curved boundary.
    pub fn multiplier(&self, delta: &[f64], gradient: &[f64]) -> f64 {
        if !self.curved() {
            return 0.0;
        }
        let (mut gd, mut dd) = (0.0, 0.0);
        for &j in &self.free {
            gd += gradient[j] * delta[j];
            dd += delta[j] * delta[j];
        }
        gd / dd
    }

    /// k, the tangent space's dimension.
    pub fn dim(&self) -> usize {
        self.free.len() - usize::from(self.reflection.is_some())
    }

    /// Whether a curved boundary is active.
    pub fn curved(&self) -> bool {
        self.reflection.is_some()
    }

    /// Whether `other` holds the same coordinates at the same bounds (an L∞ coordinate that
    /// moved from +ε to −ε is a change: Prop. C's sign flip) and has the same curved boundary
    /// active.
    pub fn same_constraints(&self, other: &Face) -> bool {
        self.sides == other.sides && self.curved() == other.curved()
    }

    fn reflect(&self, z: &mut [f64]) {
        if let Some(u) = &self.reflection {
            let c = 2.0 * dot(u, z);
            z.iter_mut().zip(u).for_each(|(zi, ui)| *zi -= c * ui);
        }
    }

    /// Q y: tangent coordinates (k values) to an input vector (d values, zero off T).
    pub fn embed(&self, y: &[f64], d: usize) -> Vec<f64> {
        let mut z = y.to_vec();
        if self.curved() {
            z.push(0.0);
        }
        self.reflect(&mut z);
        let mut v = vec![0.0; d];
        for (&j, zj) in self.free.iter().zip(z) {
            v[j] = zj;
        }
        v
    }

    /// Qᵀ v: the tangent coordinates of an input vector's projection onto T (‖Qᵀv‖ = ‖Pv‖).
    pub fn restrict(&self, v: &[f64]) -> Vec<f64> {
        let mut z: Vec<f64> = self.free.iter().map(|&j| v[j]).collect();
        self.reflect(&mut z);
        if self.curved() {
            z.pop();
        }
        z
    }

    /// ‖P g‖/‖g‖: the part of the gradient the active constraints leave unexplained (0 at a
    /// KKT point; 0 for a zero gradient).
    pub fn stationarity(&self, gradient: &[f64]) -> f64 {
        let total = norm(gradient);
        if total == 0.0 {
            0.0
        } else {
            norm(&self.restrict(gradient)) / total
        }
    }
}

#[cfg(test)]
mod tests {
    use advland_train::attack::{L2, Linf};

    use super::*;

    /// Q has orthonormal columns spanning the free coordinates orthogonal to δ: QᵀQ = I, δ ⊥
    /// every column, pinned coordinates zero.
    #[test]
    fn tangent_coordinates_are_orthonormal_and_orthogonal_to_the_normal() {
        let ball = L2 { eps: 1.0 };
        // Coordinate 0 clipped by the box (x + δ = 0); the rest on the unit sphere.
        let x_adv = [0.0, 0.3, 0.7, 0.2, 0.9];
        let delta = [-0.1, 0.6, -0.5, 0.3, 0.5468];
        let scale = 1.0 / norm(&delta);
        let delta: Vec<f64> = delta.iter().map(|v| v * scale).collect();
        let gradient: Vec<f64> = delta.iter().map(|v| 2.5 * v).collect();
        let face = Face::at(&ball, &x_adv, &delta, 1e-6);
        assert!(face.curved());
        assert_eq!(face.dim(), 3);
        let free_delta = [0.0, delta[1], delta[2], delta[3], delta[4]];
        let mut columns = Vec::new();
        for i in 0..3 {
            let mut e = vec![0.0; 3];
            e[i] = 1.0;
            let q = face.embed(&e, 5);
            assert_eq!(q[0], 0.0, "a pinned coordinate moved");
            assert!(dot(&q, &free_delta).abs() < 1e-12);
            columns.push(q);
        }
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot(&columns[i], &columns[j]) - want).abs() < 1e-12);
            }
        }
        // Qᵀ Q y = y, and a gradient along the normal is fully explained (KKT with
        // λ = ⟨g_F, δ_F⟩/‖δ_F‖², 2.5 over the free coordinates).
        let y = [0.3, -1.2, 0.8];
        let back = face.restrict(&face.embed(&y, 5));
        assert!(back.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-12));
        let on_normal: Vec<f64> = free_delta.iter().map(|v| 2.5 * v).collect();
        assert!(face.stationarity(&on_normal) < 1e-12);
        assert!((face.multiplier(&delta, &gradient) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn linf_pins_the_saturated_coordinates_and_has_no_multiplier() {
        let ball = Linf { eps: 0.1 };
        let x_adv = [0.5, 0.6, 1.0, 0.35];
        let delta = [0.1, -0.05, 0.08, -0.1];
        let gradient = [1.0, 0.0, 2.0, -3.0];
        let face = Face::at(&ball, &x_adv, &delta, 1e-6);
        // 0 and 3 at ±ε, 2 at the box's upper bound: only coordinate 1 is free.
        assert_eq!(face.dim(), 1);
        assert!(!face.curved());
        assert_eq!(face.multiplier(&delta, &gradient), 0.0);
        assert_eq!(face.embed(&[1.0], 4), vec![0.0, 1.0, 0.0, 0.0]);
        // The gradient is 0 on the free coordinate: a KKT point.
        assert_eq!(face.stationarity(&gradient), 0.0);
        let moved = Face::at(&ball, &x_adv, &[0.1, -0.1, 0.08, -0.1], 1e-6);
        assert!(!face.same_constraints(&moved));
        assert_eq!(moved.dim(), 0);
        // The same pinned set with one coordinate flipped to the other side of the ball.
        let flipped = Face::at(&ball, &x_adv, &[0.1, -0.05, 0.08, 0.1], 1e-6);
        assert_eq!(flipped.dim(), face.dim());
        assert!(!face.same_constraints(&flipped));
        assert!(face.same_constraints(&Face::at(&ball, &x_adv, &delta, 1e-6)));
    }
}
