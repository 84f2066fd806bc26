//! 2-D input-space loss surface around one example (paper.md §3.2 E-C, the plane version of
//! the 1-D loss curves).

use advland_train::Model;
use advland_train::loss::cross_entropy;
use burn::tensor::{Int, Tensor, TensorData};

use super::operator::{InputHessian, check_batch, check_finite, model_in, to_host};
use crate::error::{Error, Result};
use crate::vector::{axpy, dot, norm, normalize};

/// The loss and predicted class of one example on a grid of (a, b), row-major (b outer, a
/// inner), and the plane's directions.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSurfaceValues {
    /// ℓ(x + a·u + b·v) = CE(f(·), y).
    pub loss: Vec<f64>,
    /// arg-max of the logits at each grid point.
    pub predicted: Vec<usize>,
    /// u = ∇ₓℓ(x)/‖∇ₓℓ(x)‖₂.
    pub u: Vec<f64>,
    /// v: the random direction with its u-component removed, unit L2 norm.
    pub v: Vec<f64>,
}

/// The plane of [`input_surface`]: u = g/‖g‖₂ and v = (r − ⟨r,u⟩u)/‖r − ⟨r,u⟩u‖₂ (one
/// Gram–Schmidt step), both unit L2 vectors with ⟨u, v⟩ = 0 up to rounding.
///
/// # Errors
/// Vectors of different lengths, a zero gradient (no gradient direction), or a random vector
/// parallel to g.
pub fn surface_directions(gradient: &[f64], random: &[f64]) -> Result<[Vec<f64>; 2]> {
    if gradient.len() != random.len() {
        return Err(Error::Dimension {
            expected: gradient.len(),
            got: random.len(),
        });
    }
    let mut u = gradient.to_vec();
    if normalize(&mut u) == 0.0 {
        return Err(Error::InvalidConfig {
            field: "surface_example",
            reason: "the input gradient is zero there: no gradient direction".to_owned(),
        });
    }
    let mut v = random.to_vec();
    let size = norm(&v);
    axpy(-dot(&v, &u), &u, &mut v);
    // Twice is enough (as in `vector::orthogonalize`).
    axpy(-dot(&v, &u), &u, &mut v);
    // What is left of a random vector parallel to u is rounding noise.
    if normalize(&mut v) <= 1e-12 * size {
        return Err(Error::InvalidConfig {
            field: "surface_direction",
            reason: "the random direction is parallel to the gradient".to_owned(),
        });
    }
    Ok([u, v])
}

/// ℓ(x + a·u + b·v) and the predicted class of one example for every a in `a_values` and b
/// in `b_values` (row-major, b outer), with u the normalised input gradient at x (through the
/// live network) and v the part of `random` orthogonal to u, normalised
/// ([`surface_directions`]). Offsets are L2 lengths in input units.
///
/// The grid is a batch of inputs: at most `batch` grid points go through the model per
/// forward pass (as [`super::loss_curves`], points are not clipped to `[0,1]`: the surface is
/// a section of the loss as a function of the input).
///
/// Requires an autodiff device for the gradient at x; the model is not modified.
///
/// # Shapes
/// `image`: `[1, c, h, w]`, `label`: `[1]`, `random`: `[c·h·w]`
///
/// # Errors
/// More than one example, mismatched shapes, empty axes, `batch` = 0, a zero gradient,
/// non-finite losses.
pub fn input_surface(
    model: &Model,
    image: Tensor<4>,
    label: Tensor<1, Int>,
    random: &[f64],
    a_values: &[f64],
    b_values: &[f64],
    batch: usize,
) -> Result<InputSurfaceValues> {
    check_batch(&image, &label)?;
    let dims = image.dims();
    let [examples, c, h, w] = dims;
    if examples != 1 {
        return Err(Error::Dimension {
            expected: 1,
            got: examples,
        });
    }
    if a_values.is_empty() || b_values.is_empty() || batch == 0 {
        return Err(Error::InvalidConfig {
            field: "grid",
            reason: "needs at least one point per axis and a batch of at least one".to_owned(),
        });
    }
    let at_x = InputHessian::new(model, image.clone(), label.clone(), 1e-4, false)?;
    let [u, v] = surface_directions(at_x.gradient(), random)?;
    let dtype = image.dtype();
    let device = image.device();
    let model = model_in(model, dtype)?;
    let x = to_host(image.detach().to_data());
    let d = c * h * w;
    let points: Vec<(f64, f64)> = b_values
        .iter()
        .flat_map(|&b| a_values.iter().map(move |&a| (a, b)))
        .collect();
    let mut loss = Vec::with_capacity(points.len());
    let mut predicted = Vec::with_capacity(points.len());
    for (chunk_index, chunk) in points.chunks(batch).enumerate() {
        let m = chunk.len();
        let mut values = Vec::with_capacity(m * d);
        for &(a, b) in chunk {
            values.extend((0..d).map(|i| x[i] + a * u[i] + b * v[i]));
        }
        let inputs =
            Tensor::<4>::from_data(TensorData::new(values, [m, c, h, w]), (&device, dtype));
        let labels = label.clone().expand([m]);
        let logits = model.forward(inputs);
        let l = to_host(cross_entropy(logits.clone(), labels).to_data());
        check_finite("input surface loss", &l, chunk_index)?;
        loss.extend(l);
        predicted.extend(
            logits
                .argmax(1)
                .reshape([m])
                .to_data()
                .iter::<i64>()
                .map(|p| usize::try_from(p).unwrap_or(0)),
        );
    }
    Ok(InputSurfaceValues {
        loss,
        predicted,
        u,
        v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surface_directions_are_orthonormal() {
        let [u, v] = surface_directions(&[3.0, 0.0, 4.0], &[1.0, 1.0, 1.0]).unwrap();
        assert!((dot(&u, &u) - 1.0).abs() < 1e-15 && (dot(&v, &v) - 1.0).abs() < 1e-15);
        assert!(dot(&u, &v).abs() < 1e-15);
        assert!((u[0] - 0.6).abs() < 1e-15);
    }

    #[test]
    fn surface_directions_refuse_zero_gradient_and_parallel_random() {
        assert!(surface_directions(&[0.0, 0.0], &[1.0, 0.0]).is_err());
        assert!(surface_directions(&[1.0, 1.0], &[2.0, 2.0]).is_err());
        assert!(surface_directions(&[1.0], &[1.0, 2.0]).is_err());
    }
}
