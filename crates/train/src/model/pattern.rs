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
//!
//! Batch norm in eval mode is a fixed affine map (running statistics are constants), so the
//! batch-norm ResNets replay exactly too. In train mode the batch statistics make every layer a
//! smooth but non-piecewise-linear function of θ that couples the examples, and a recording
//! pass would update the running statistics: record and replay in eval mode (how models are
//! built and loaded).

use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor, TensorData};

use super::host_pool::{Selection, pool2_host};

/// One recorded gate of a forward pass.
#[derive(Clone, Debug)]
pub enum Gate {
    /// ReLU mask of a `[b, n]` activation (1 where on, 0 where off), in the activation's dtype.
    Relu2(Tensor<2>),
    /// ReLU mask of a `[b, c, h, w]` activation.
    Relu4(Tensor<4>),
    /// A ReLU followed by a 2×2 max-pool.
    Pool {
        /// 1 at each window's selected input where the ReLU is on, 0 elsewhere, over the
        /// pre-activation cropped to even size, `[b, c, 2·ho, 2·wo]`, in its dtype: the replay
        /// as tensor operations, on any device.
        mask: Tensor<4>,
        /// The same choice, one byte a window: the replay of the CNN's hand-written gradient
        /// on the CPU device ([`crate::Model::loss_and_gradients`]).
        selection: Selection,
    },
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

    /// A 4-D ReLU with no pool after it (the ResNet's; the CNN's go through `relu_pool2`).
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

    /// `pool2(relu4(z))`, run as `relu(pool2(z))`: max-pooling commutes with the monotone ReLU,
    /// value for value and gradient for gradient (a window whose maximum is ≤ 0 gives 0 and a
    /// zero gradient either way; otherwise both select the same input), and the ReLU, single-
    /// threaded in burn-flex, then sees a quarter of the values. A recorded pattern holds one
    /// gate for both: the pool's selection mask with the windows whose maximum is ≤ 0 zeroed,
    /// which replays the ReLU mask and the pool in one product (and one mask's memory).
    ///
    /// A live pass pools on the host where no gradient is tracked on the CPU device
    /// ([`pool2_host`], ~2.5× faster than burn-flex's generic loop, ReLU included), and with
    /// burn's `max_pool2d` where one is (its forward and backward beat every composition of
    /// tracked ops measured, `bench/RESULTS.md`; the attack's hand-written backward,
    /// [`super::Cnn::loss_input_gradient`], avoids it instead) and on GPU devices, where the
    /// host route would copy every activation off the device and back.
    pub(crate) fn relu_pool2(&mut self, z: Tensor<4>) -> Tensor<4> {
        if let Some(Gate::Pool { mask, .. }) = self.next() {
            return window_sum(crop2(z) * mask.clone());
        }
        if let Gating::Record(p) = self {
            let selection = pool2_host(z.clone(), true, true)
                .selection
                .expect("the selection was asked for");
            p.gates.push(Gate::Pool {
                mask: selection.mask(&z),
                selection,
            });
        }
        if !z.is_tracked() && z.device().inner() == Device::flex() {
            return pool2_host(z, true, false).values;
        }
        relu(max_pool2d(
            z,
            MaxPoolOptions::new([2, 2]).with_stride([2, 2]),
        ))
    }
}

/// `x` cropped to even height and width (the part a floor-mode 2×2 pool reads).
fn crop2(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    if h % 2 == 0 && w % 2 == 0 {
        return x;
    }
    x.slice([0..b, 0..c, 0..h - h % 2, 0..w - w % 2])
}

/// Sum of each 2×2 window (stride 2) of an even-sized `[b, c, 2·ho, 2·wo]` tensor, as one
/// matrix product: each row pair `[2·2wo]` times the 0/1 matrix P `[4·wo, wo]` that adds window j's
/// four entries into column j. Where at most one entry of a window is non-zero (a masked
/// input) the sum is that entry exactly. Measured 7× faster than two `sum_dim`s forward and
/// 2.5× faster with the backward.
fn window_sum(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let (ho, wo) = (h / 2, w / 2);
    let mut p = vec![0.0f32; 4 * wo * wo];
    for j in 0..wo {
        for k in [2 * j, 2 * j + 1, 2 * wo + 2 * j, 2 * wo + 2 * j + 1] {
            p[k * wo + j] = 1.0;
        }
    }
    let p = Tensor::<2>::from_data(TensorData::new(p, [4 * wo, wo]), (&x.device(), x.dtype()));
    let rows: Tensor<2> = x.reshape([b * c * ho, 4 * wo]);
    rows.matmul(p).reshape([b, c, ho, wo])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module::{max_pool2d, max_pool2d_with_indices};
    use burn::tensor::ops::MaxPoolOptions;
    use burn::tensor::{DType, Device, Distribution, Int};

    fn burn_pool(x: Tensor<4>) -> Tensor<4> {
        max_pool2d(x, MaxPoolOptions::new([2, 2]).with_stride([2, 2]))
    }

    fn host<const D: usize>(t: Tensor<D>) -> Vec<f64> {
        t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
    }

    #[test]
    fn the_host_pool_serves_the_cpu_device_with_or_without_autodiff() {
        // `pool2_live` picks the host route by this comparison; were it false, every pool
        // would silently fall back to burn's slower loop.
        assert!(Device::flex().autodiff().inner() == Device::flex());
        assert!(Device::flex().inner() == Device::flex());
    }

    #[test]
    fn host_pool_selects_what_burn_max_pool2d_selects_with_ties_and_odd_sizes() {
        let device = Device::flex();
        for dtype in [DType::F32, DType::F64] {
            for shape in [[3, 2, 7, 6], [2, 3, 26, 26], [2, 4, 11, 11], [1, 1, 1, 5]] {
                // Values on a coarse grid: many windows hold tied maxima, zeros included.
                let x =
                    Tensor::<4>::random(shape, Distribution::Uniform(-2.0, 3.0), (&device, dtype))
                        .mul_scalar(2.0)
                        .round()
                        .clamp_min(0.0);
                let pooled = pool2_host(x.clone(), false, true);
                let mask = pooled.selection.unwrap().mask(&x);
                assert_eq!(
                    host(pooled.values),
                    host(burn_pool(x.clone())),
                    "{dtype:?} {shape:?}"
                );
                let [b, c, h, w] = shape;
                let (ho, wo) = (h / 2, w / 2);
                let (_, indices) = max_pool2d_with_indices(
                    x.clone(),
                    MaxPoolOptions::new([2, 2]).with_stride([2, 2]),
                );
                let indices: Vec<i64> = indices.into_data().convert::<i64>().try_to_vec().unwrap();
                let mut expected = vec![0.0; b * c * 4 * ho * wo];
                for (k, &i) in indices.iter().enumerate() {
                    let plane = k / (ho * wo).max(1);
                    let (r, q) = (i as usize / w, i as usize % w);
                    expected[plane * 4 * ho * wo + r * 2 * wo + q] = 1.0;
                }
                assert_eq!(host(mask), expected, "{dtype:?} {shape:?}");
            }
        }
    }

    #[test]
    fn cnn_outputs_and_gradients_equal_burn_max_pool2d_on_fashion_mnist() {
        use crate::loss::cross_entropy;
        use crate::model::{Model, ModelShape};
        use crate::params::{flat_gradient, init_seeded};
        use advland_schema::ModelSpec;

        let device = Device::flex().autodiff();
        let data = advland_data::fashion_mnist_bundled().unwrap().test;
        let shape = ModelShape {
            input: data.shape,
            classes: data.num_classes,
        };
        // The default architecture is the CNN.
        let model = Model::build(&ModelSpec::default(), shape, &device).unwrap();
        let model = init_seeded(model, 3).unwrap();
        let Model::Cnn(cnn) = &model else {
            unreachable!("built as a CNN")
        };
        let indices: Vec<usize> = (0..64).collect();
        let (pixels, labels) = data.gather(&indices);
        let x = Tensor::<4>::from_data(TensorData::new(pixels, [64, 1, 28, 28]), &device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [64]), &device);

        let run = |burn_pools: bool| {
            let x = x.clone().require_grad();
            let logits = if burn_pools {
                let z = burn_pool(relu(cnn.conv1.forward(x.clone())));
                let z = burn_pool(relu(cnn.conv2.forward(z)));
                cnn.fc1.forward(z.flatten(1, 3))
            } else {
                model.forward(x.clone())
            };
            let grads = cross_entropy(logits.clone(), y.clone()).mean().backward();
            let dx = x.grad(&grads).unwrap();
            (host(logits), host(dx), host(flat_gradient(&model, &grads)))
        };
        let (old, new) = (run(true), run(false));
        assert!(old.0 == new.0, "logits differ");
        assert!(old.1 == new.1, "input gradients differ");
        assert!(old.2 == new.2, "parameter gradients differ");
        assert!(old.1.iter().any(|&g| g != 0.0) && old.2.iter().any(|&g| g != 0.0));

        // Replay away from the recording point (other inputs, as θ + hv gives other
        // activations) against the former replay: burn's pool indices and a gather.
        let (_, pattern) = model.forward_recording(x.clone());
        assert_eq!(
            pattern.gates.len(),
            2,
            "one fused ReLU + pool gate per stage"
        );
        // The former replay: the ReLU masks and the pool indices of the recorded activations.
        let z1 = cnn.conv1.forward(x.clone()).detach();
        let a1 = relu(z1.clone());
        let z2 = cnn.conv2.forward(burn_pool(a1.clone())).detach();
        let a2 = relu(z2.clone());
        let on = |z: Tensor<4>| z.clone().zeros_like().mask_fill(z.greater_elem(0.0), 1.0);
        let (m1, m2) = (on(z1), on(z2));
        let shifted = x.clone() + x.clone().sin().mul_scalar(0.3);
        let replay = |gather: bool| {
            let x = shifted.clone().require_grad();
            let logits = if gather {
                let options = MaxPoolOptions::new([2, 2]).with_stride([2, 2]);
                let pool = |recorded: Tensor<4>, z: Tensor<4>| {
                    let [b, c, h, w] = z.dims();
                    let (_, idx) = max_pool2d_with_indices(recorded, options.clone());
                    let idx: Tensor<3, Int> = idx.reshape([b, c, (h / 2) * (w / 2)]);
                    let flat: Tensor<3> = z.reshape([b, c, h * w]);
                    flat.gather(2, idx).reshape([b, c, h / 2, w / 2])
                };
                let z = pool(a1.clone(), cnn.conv1.forward(x.clone()) * m1.clone());
                let z = pool(a2.clone(), cnn.conv2.forward(z) * m2.clone());
                cnn.fc1.forward(z.flatten(1, 3))
            } else {
                model.forward_with_pattern(x.clone(), &pattern)
            };
            let grads = cross_entropy(logits.clone(), y.clone()).mean().backward();
            (
                host(logits),
                host(x.grad(&grads).unwrap()),
                host(flat_gradient(&model, &grads)),
            )
        };
        let (old, new) = (replay(true), replay(false));
        assert!(old.0 == new.0, "replayed logits differ");
        assert!(old.1 == new.1, "replayed input gradients differ");
        assert!(old.2 == new.2, "replayed parameter gradients differ");
    }
}
