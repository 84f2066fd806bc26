//! Activation patterns of piecewise-linear networks, for exact local curvature.
//!
//! A ReLU network with max-pooling is piecewise smooth in θ: each ReLU is on or off and each
//! pooling window picks one input. With that pattern frozen, ReLU(z) = m ⊙ z and pooling is a
//! fixed gather — both linear — so the network is a smooth (polynomial) function of θ whose
//! gradient at θ₀ equals the live network's, and whose Hessian is what double-backward
//! autodiff reports for the live network (it differentiates through the same gates).
//! Finite differences of gradients through a frozen pattern therefore estimate that Hessian
//! with O(h²) error; through the live network they would straddle gate switches, whose
//! gradient jumps divided by 2h swamp the curvature (measured: power iteration on a trained
//! CNN did not converge).

use burn::tensor::activation::relu;
use burn::tensor::module::{max_pool2d, max_pool2d_with_indices};
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Int, Tensor};

/// One recorded gate of a forward pass.
#[derive(Clone, Debug)]
pub enum Gate {
    /// ReLU mask of a `[b, n]` activation (1 where on, 0 where off), in the activation's dtype.
    Relu2(Tensor<2>),
    /// ReLU mask of a `[b, c, h, w]` activation.
    Relu4(Tensor<4>),
    /// Indices picked by a 2×2 max-pool, flat within each `h·w` plane, `[b, c, ho·wo]`.
    Pool(Tensor<3, Int>),
}

/// The gates of one forward pass, in order.
#[derive(Clone, Debug, Default)]
pub struct ActivationPattern {
    /// Gates in the order the forward pass meets them.
    pub gates: Vec<Gate>,
}

/// How a forward pass treats its gates.
pub(crate) enum Gating<'a> {
    /// The ordinary network.
    Live,
    /// The ordinary network, recording its gates.
    Record(&'a mut ActivationPattern),
    /// Gates replayed from a recorded pattern.
    Replay(&'a ActivationPattern, usize),
}

impl Gating<'_> {
    fn next(&mut self) -> Option<&Gate> {
        match self {
            Gating::Replay(pattern, i) => {
                let gate = pattern.gates.get(*i);
                *i += 1;
                gate
            }
            _ => None,
        }
    }

    pub(crate) fn relu2(&mut self, z: Tensor<2>) -> Tensor<2> {
        if let Some(Gate::Relu2(mask)) = self.next() {
            return z * mask.clone();
        }
        if let Gating::Record(p) = self {
            let mask = z.zeros_like().mask_fill(z.clone().greater_elem(0.0), 1.0);
            p.gates.push(Gate::Relu2(mask.detach()));
        }
        relu(z)
    }

    pub(crate) fn relu4(&mut self, z: Tensor<4>) -> Tensor<4> {
        if let Some(Gate::Relu4(mask)) = self.next() {
            return z * mask.clone();
        }
        if let Gating::Record(p) = self {
            let mask = z.zeros_like().mask_fill(z.clone().greater_elem(0.0), 1.0);
            p.gates.push(Gate::Relu4(mask.detach()));
        }
        relu(z)
    }

    /// 2×2 max-pool with stride 2, floor mode.
    pub(crate) fn pool2(&mut self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let (ho, wo) = (h / 2, w / 2);
        if let Some(Gate::Pool(indices)) = self.next() {
            let flat: Tensor<3> = x.reshape([b, c, h * w]);
            return flat.gather(2, indices.clone()).reshape([b, c, ho, wo]);
        }
        let options = MaxPoolOptions::new([2, 2]).with_stride([2, 2]);
        if let Gating::Record(p) = self {
            let (out, indices) = max_pool2d_with_indices(x, options);
            p.gates.push(Gate::Pool(indices.reshape([b, c, ho * wo])));
            return out;
        }
        max_pool2d(x, options)
    }
}
