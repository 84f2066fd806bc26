//! The 2×2 / stride-2 floor-mode max-pool (with an optional ReLU folded in) run on the host,
//! and its backward.
//!
//! burn-flex pools with a generic N-d loop that writes an index per window, and its backward
//! scatters with adds, one value at a time (`bench/RESULTS.md`: 26 % of a PGD profile). Here a
//! pool is one pass over the planes in parallel that keeps, per window, which of its four
//! inputs won ([`Selection`], one byte); the backward writes every input of a window once
//! from that byte. Selection follows burn-flex exactly (scan the window in row-major order,
//! take a value if it is the first, greater than the current maximum, or NaN), so values,
//! masks and gradients equal burn's bit for bit — tests in `pattern.rs` and `cnn.rs` check it.
//!
//! Also here, on the same host-loop plumbing: [`im2col3x3`], the patches of a 3×3 conv's input
//! for its weight gradient.

use burn::tensor::{DType, Element, Tensor, TensorData};
use rayon::prelude::*;

/// The index a window gets when the folded ReLU switched it off (its maximum is ≤ 0).
const OFF: u8 = 4;

/// Which input of each 2×2 window a pool passed on: 0–3 in row-major order, or none where the
/// folded ReLU switched the window off.
#[derive(Clone, Debug)]
pub struct Selection {
    /// One entry per window, `[b, c, ho, wo]` row-major.
    index: Vec<u8>,
    /// The pooled input's `[b, c, h, w]` (h, w possibly odd: the last row/column is dropped).
    input: [usize; 4],
}

/// Output of [`pool2_host`].
pub(super) struct Pooled {
    /// `relu?(max of each window)`, `[b, c, ho, wo]`, untracked, in the input's dtype and on
    /// its device.
    pub values: Tensor<4>,
    /// The winners, when asked for.
    pub selection: Option<Selection>,
}

/// A float the host pool runs in: f64 stays f64, every other float dtype runs in f32 (exact
/// for the forward, whose outputs are inputs; the backward only moves values).
trait PoolFloat: Element + Copy + PartialOrd + Send + Sync {
    const ZERO: Self;
    fn is_nan(self) -> bool;
}

impl PoolFloat for f32 {
    const ZERO: Self = 0.0;
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

impl PoolFloat for f64 {
    const ZERO: Self = 0.0;
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

/// Planes per rayon task: about 4,096 values each, so small planes are not one task apiece.
fn min_planes(plane_len: usize) -> usize {
    (4096 / plane_len.max(1)).max(1)
}

/// A loop over host values that runs in f64 for f64 tensors and in f32 for every other float
/// dtype, with one body for both.
trait HostKernel {
    type Out;
    fn run<E: PoolFloat>(&self, src: &[E]) -> Self::Out;
}

/// Runs `kernel` on `x`'s values (copied to the host).
fn on_host<K: HostKernel>(x: Tensor<4>, kernel: &K) -> K::Out {
    let data = x.detach().into_data();
    if data.dtype() == DType::F64 {
        kernel.run(data.as_slice::<f64>().expect("an f64 tensor holds f64"))
    } else {
        let data = data.convert::<f32>();
        kernel.run(data.as_slice::<f32>().expect("converted to f32"))
    }
}

/// `[b, c, h, w]` → `[b, c, h/2, w/2]` by 2×2 / stride-2 max-pooling (floor mode) on the host;
/// with `relu`, windows whose maximum is ≤ 0 give 0 and select nothing, which is
/// `relu(max_pool2d(x))` in value and gradient. `select` keeps the winners for
/// [`Selection::unpool`], [`Selection::gather`] or [`Selection::mask`].
///
/// `x` is taken by value: where nothing else holds its buffer, reading it on the host copies
/// nothing.
pub(super) fn pool2_host(x: Tensor<4>, relu: bool, select: bool) -> Pooled {
    let dims = x.dims();
    let (dtype, device) = (x.dtype(), x.device());
    let kernel = PoolKernel { dims, relu, select };
    let (values, index) = on_host(x, &kernel);
    Pooled {
        values: Tensor::from_data(values, (&device, dtype)),
        selection: index.map(|index| Selection { index, input: dims }),
    }
}

struct PoolKernel {
    dims: [usize; 4],
    relu: bool,
    select: bool,
}

impl HostKernel for PoolKernel {
    type Out = (TensorData, Option<Vec<u8>>);
    fn run<E: PoolFloat>(&self, src: &[E]) -> Self::Out {
        pool2_planes(src, self.dims, self.relu, self.select)
    }
}

fn pool2_planes<E: PoolFloat>(
    src: &[E],
    [b, c, h, w]: [usize; 4],
    relu: bool,
    select: bool,
) -> (TensorData, Option<Vec<u8>>) {
    let (ho, wo) = (h / 2, w / 2);
    let mut values = vec![E::ZERO; b * c * ho * wo];
    let mut index = vec![OFF; if select { values.len() } else { 0 }];
    if ho * wo > 0 {
        let pool_plane = |plane: &[E], out: &mut [E], sel: &mut [u8]| {
            for i in 0..ho {
                let (r0, r1) = (
                    &plane[2 * i * w..][..2 * wo],
                    &plane[(2 * i + 1) * w..][..2 * wo],
                );
                for j in 0..wo {
                    // Selects, not branches: on real activations the winner is a coin toss,
                    // and a mispredicted branch per candidate cost more than the rest.
                    let (mut max, mut best) = (r0[2 * j], 0u8);
                    for (k, v) in [(1u8, r0[2 * j + 1]), (2, r1[2 * j]), (3, r1[2 * j + 1])] {
                        let wins = (v > max) | v.is_nan();
                        max = if wins { v } else { max };
                        best = if wins { k } else { best };
                    }
                    let off = relu & (max <= E::ZERO);
                    out[i * wo + j] = if off { E::ZERO } else { max };
                    if let Some(s) = sel.get_mut(i * wo + j) {
                        *s = if off { OFF } else { best };
                    }
                }
            }
        };
        let planes = src
            .par_chunks(h * w)
            .zip(values.par_chunks_mut(ho * wo))
            .with_min_len(min_planes(h * w));
        if select {
            planes
                .zip(index.par_chunks_mut(ho * wo))
                .for_each(|((plane, out), sel)| pool_plane(plane, out, sel));
        } else {
            planes.for_each(|(plane, out)| pool_plane(plane, out, &mut []));
        }
    }
    (
        TensorData::new(values, [b, c, ho, wo]),
        select.then_some(index),
    )
}

impl Selection {
    /// The gradient of the pool's input from the gradient of its output: each window's
    /// gradient goes to its winner, everything else (losers, switched-off windows, a dropped
    /// odd row or column) gets 0. Exactly burn's max-pool backward (a scatter-add of one value
    /// into zeros) after, with a folded ReLU, burn's ReLU backward.
    ///
    /// # Shapes
    /// `grad`: `[b, c, ho, wo]` → `[b, c, h, w]`
    pub(super) fn unpool(&self, grad: Tensor<4>) -> Tensor<4> {
        let (dtype, device) = (grad.dtype(), grad.device());
        let out = on_host(grad, &Spread(self));
        Tensor::from_data(out, (&device, dtype))
    }

    /// The recorded pool replayed on other values: each window passes on what its recorded
    /// winner holds in `z` (0 where the ReLU was off). Equal bit for bit to the mask replay
    /// (`z ⊙ M`, then each window's sum) wherever `z` is finite.
    ///
    /// # Shapes
    /// `z`: `[b, c, h, w]` → `[b, c, ho, wo]`
    pub(super) fn gather(&self, z: Tensor<4>) -> Tensor<4> {
        let (dtype, device) = (z.dtype(), z.device());
        let out = on_host(z, &Gather(self));
        Tensor::from_data(out, (&device, dtype))
    }

    /// 1 at each window's winner, 0 elsewhere, over the input cropped to even size
    /// `[b, c, 2·ho, 2·wo]`: the pool as a fixed 0/1 selection (a recorded gate).
    pub(super) fn mask(&self, like: &Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = self.input;
        let (ho, wo) = (h / 2, w / 2);
        let cropped = Selection {
            index: self.index.clone(),
            input: [b, c, 2 * ho, 2 * wo],
        };
        let ones = Tensor::<4>::ones([b, c, ho, wo], (&like.device(), like.dtype()));
        cropped.unpool(ones)
    }

    /// For one plane's windows `sel` (`wo` a row), each switched-on window `k` with the
    /// row-major offset of its winner in an input plane of width `w`: the one loop of
    /// [`Selection::unpool`] (value k to the offset) and [`Selection::gather`] (the offset's
    /// value to k).
    fn winners(sel: &[u8], wo: usize, w: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        sel.iter()
            .enumerate()
            .filter(|&(_, &s)| s != OFF)
            .map(move |(k, &s)| {
                let (i, j) = (k / wo, k % wo);
                (
                    k,
                    (2 * i + usize::from(s / 2)) * w + 2 * j + usize::from(s % 2),
                )
            })
    }
}

/// [`Selection::unpool`]'s loop: one value per window written to its winner in a zeroed plane.
struct Spread<'a>(&'a Selection);

impl HostKernel for Spread<'_> {
    type Out = TensorData;
    fn run<E: PoolFloat>(&self, values: &[E]) -> TensorData {
        let [b, c, h, w] = self.0.input;
        let (ho, wo) = (h / 2, w / 2);
        let mut out = vec![E::ZERO; b * c * h * w];
        if ho * wo > 0 {
            out.par_chunks_mut(h * w)
                .zip(values.par_chunks(ho * wo))
                .zip(self.0.index.par_chunks(ho * wo))
                .with_min_len(min_planes(h * w))
                .for_each(|((plane, g), sel)| {
                    for (k, at) in Selection::winners(sel, wo, w) {
                        plane[at] = g[k];
                    }
                });
        }
        TensorData::new(out, [b, c, h, w])
    }
}

/// [`Selection::gather`]'s loop: each window's winner read from a plane.
struct Gather<'a>(&'a Selection);

impl HostKernel for Gather<'_> {
    type Out = TensorData;
    fn run<E: PoolFloat>(&self, src: &[E]) -> TensorData {
        let [b, c, h, w] = self.0.input;
        let (ho, wo) = (h / 2, w / 2);
        let mut out = vec![E::ZERO; b * c * ho * wo];
        if ho * wo > 0 {
            out.par_chunks_mut(ho * wo)
                .zip(src.par_chunks(h * w))
                .zip(self.0.index.par_chunks(ho * wo))
                .with_min_len(min_planes(h * w))
                .for_each(|((out, plane), sel)| {
                    for (k, at) in Selection::winners(sel, wo, w) {
                        out[k] = plane[at];
                    }
                });
        }
        TensorData::new(out, [b, c, ho, wo])
    }
}

/// The 3×3 patches of a valid, stride-1 convolution's input, one row per output position:
/// `[b, c, h, w]` → `[b·(h−2)·(w−2), c·9]`, row (b, y, x), column (channel, ky, kx). With the
/// output gradient as `[channels_out, b·(h−2)·(w−2)]`, one matrix product gives the weight
/// gradient, where burn's conv backward runs a convolution with a (h−2)×(w−2) kernel whose
/// single-threaded layout conversion took 15 % of a Hessian profile (`bench/RESULTS.md`).
///
/// # Panics
/// If the input is smaller than 3×3 (the CNN's shapes are checked when it is built).
pub(super) fn im2col3x3(x: Tensor<4>) -> Tensor<2> {
    let dims = x.dims();
    let [_, _, h, w] = dims;
    assert!(h >= 3 && w >= 3, "a 3x3 conv needs inputs of at least 3x3");
    let (dtype, device) = (x.dtype(), x.device());
    let cols = on_host(x, &Im2col { dims });
    Tensor::from_data(cols, (&device, dtype))
}

struct Im2col {
    dims: [usize; 4],
}

impl HostKernel for Im2col {
    type Out = TensorData;
    fn run<E: PoolFloat>(&self, src: &[E]) -> TensorData {
        let [b, c, h, w] = self.dims;
        let (ho, wo, k) = (h - 2, w - 2, c * 9);
        let mut out = vec![E::ZERO; b * ho * wo * k];
        out.par_chunks_mut(ho * wo * k)
            .zip(src.par_chunks(c * h * w))
            .for_each(|(rows, image)| {
                for (n, row) in rows.chunks_exact_mut(k).enumerate() {
                    let (y, x) = (n / wo, n % wo);
                    for (channel, patch) in row.chunks_exact_mut(9).enumerate() {
                        for (ky, line) in patch.chunks_exact_mut(3).enumerate() {
                            let start = channel * h * w + (y + ky) * w + x;
                            line.copy_from_slice(&image[start..start + 3]);
                        }
                    }
                }
            });
        TensorData::new(out, [b * ho * wo, k])
    }
}
