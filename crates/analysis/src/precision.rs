//! What precision a device computes in: f64 checked on the device itself, and refused before
//! any work where it is missing.

use std::sync::{Mutex, PoisonError};

use advland_schema::Precision;
use advland_train::loss::cross_entropy;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::model_objective::to_host_f64;

/// The dtype `precision` computes in on `device`, refused before any work where the device
/// cannot compute in it (wgpu adapters without 64-bit floats, lavapipe among them: Lanczos
/// would otherwise stop mid-way on a non-finite α).
///
/// # Errors
/// `precision` f64 on a device without f64 arithmetic.
pub fn dtype_on(precision: Precision, device: &Device) -> Result<DType> {
    dtype_if(
        precision,
        precision == Precision::F32 || computes_f64(device),
    )
}

/// Whether `device` computes in f64. Its own answer is not enough: through burn's wgpu, Mesa's
/// lavapipe says it supports f64, squares exactly, and returns negative cross-entropies (its
/// f64 exp/log are not). So a small loss made of what the models use (a matrix product,
/// log-softmax, a sum) is computed there and checked against the host to the last few bits,
/// at values f32 would round. The CPU device always computes in f64.
///
/// The answer is kept per device for the process (every objective asks), and a probe that
/// panics (an f64 shader that does not compile) answers no.
pub fn computes_f64(device: &Device) -> bool {
    static KNOWN: Mutex<Vec<(Device, bool)>> = Mutex::new(Vec::new());
    let inner = device.clone().inner();
    if inner == Device::flex() {
        return true;
    }
    let known = |list: &Vec<(Device, bool)>| list.iter().find(|(d, _)| *d == inner).map(|k| k.1);
    if let Some(answer) = known(&KNOWN.lock().unwrap_or_else(PoisonError::into_inner)) {
        return answer;
    }
    let answer = device.supports_dtype(DType::F64)
        && crate::device::without_panic_message(|| loss_agrees_with_host_f64(device, DType::F64))
            .unwrap_or(false);
    KNOWN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((inner, answer));
    answer
}

/// The step of a central finite difference along a unit direction in `precision`: 1e-4 in
/// f64; 1e-2 in f32, where f32's rounding and the truncation balance for the Hessians here
/// (θ₀'s linear piece, where the loss bends only through the softmax: the parameter HVPs'
/// optimum in the `hessian_oracle` test; the input HVPs' trace summaries 8 % off f64's at 1e-4,
/// 0.06 % at 1e-2, bench/RESULTS.md).
pub fn central_difference_step(precision: Precision) -> f64 {
    match precision {
        Precision::F64 => 1e-4,
        Precision::F32 => 1e-2,
    }
}

/// Refuses, before any work, an analysis that computes in f64 without a precision setting
/// where `device` has none; `what` names it and why it needs f64.
///
/// # Errors
/// A device that does not compute in f64 ([`computes_f64`]).
pub fn require_f64(device: &Device, what: &str) -> Result<()> {
    if computes_f64(device) {
        return Ok(());
    }
    Err(Error::InvalidConfig {
        field: "device",
        reason: format!(
            "{what}, and this device has no 64-bit floats (most wgpu adapters); use cpu or cuda"
        ),
    })
}

/// The probe of [`computes_f64`], computed on `device` in `dtype`.
fn loss_agrees_with_host_f64(device: &Device, dtype: DType) -> bool {
    let eps = 2f64.powi(-40);
    let (x, w) = (
        [1.0 + eps, -0.5, 0.25, 2.0 - eps],
        [0.75, -1.5, 1.0 + eps, 0.5, 0.125, -2.0],
    );
    let logits: Vec<[f64; 3]> = (0..2)
        .map(|i| std::array::from_fn(|j| x[2 * i] * w[j] + x[2 * i + 1] * w[3 + j]))
        .collect();
    let expected: f64 = logits
        .iter()
        .zip([0, 2])
        .map(|(z, y)| z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[y])
        .sum();
    let on_device = |values: &[f64], shape: [usize; 2]| {
        Tensor::<2>::from_data(TensorData::new(values.to_vec(), shape), (device, dtype))
    };
    let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 2], [2]), device);
    let loss = cross_entropy(on_device(&x, [2, 2]).matmul(on_device(&w, [2, 3])), labels).sum();
    let computed = to_host_f64(&loss)[0];
    (computed - expected).abs() <= 1e-13 * expected.abs()
}

fn dtype_if(precision: Precision, f64_supported: bool) -> Result<DType> {
    match precision {
        Precision::F32 => Ok(DType::F32),
        Precision::F64 if f64_supported => Ok(DType::F64),
        Precision::F64 => Err(Error::InvalidConfig {
            field: "precision",
            reason: "f64: this device does not compute in 64-bit floats (most wgpu adapters); \
                     use f32"
                .to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f64_is_refused_up_front_where_the_device_lacks_it() {
        assert_eq!(dtype_if(Precision::F64, true).unwrap(), DType::F64);
        assert_eq!(dtype_if(Precision::F32, false).unwrap(), DType::F32);
        let Err(Error::InvalidConfig { field, reason }) = dtype_if(Precision::F64, false) else {
            panic!("f64 accepted on a device without it");
        };
        assert_eq!(field, "precision");
        assert!(reason.contains("use f32"), "{reason}");
        // The CPU backend computes in f64; the probe tells f64 arithmetic from f32's.
        assert!(computes_f64(&Device::flex()));
        assert!(loss_agrees_with_host_f64(&Device::flex(), DType::F64));
        assert!(!loss_agrees_with_host_f64(&Device::flex(), DType::F32));
        assert_eq!(
            dtype_on(Precision::F64, &Device::flex().autodiff()).unwrap(),
            DType::F64
        );
    }
}
