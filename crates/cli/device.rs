//! The only place a device is built: `--device` → burn [`Device`].

use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use clap::ValueEnum;

/// Compute device choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    /// burn's pure-Rust CPU backend (flex), always available.
    Cpu,
    /// Any GPU through wgpu (Vulkan/Metal/DX12); needs the `wgpu` cargo feature.
    Wgpu,
    /// NVIDIA GPU 0 through CUDA; needs the `cuda` cargo feature.
    Cuda,
}

impl DeviceArg {
    /// The autodiff device and its description for reports.
    pub fn build(self) -> Result<(Device, String)> {
        let (device, name) = match self {
            DeviceArg::Cpu => (Device::flex(), "cpu (burn flex)"),
            DeviceArg::Wgpu => {
                #[cfg(feature = "wgpu")]
                {
                    (
                        Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
                        "wgpu (default adapter)",
                    )
                }
                #[cfg(not(feature = "wgpu"))]
                bail!(
                    "--device wgpu: this advland was built without the `wgpu` feature (cargo build --features wgpu)"
                )
            }
            DeviceArg::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    (Device::cuda(0), "cuda:0")
                }
                #[cfg(not(feature = "cuda"))]
                bail!(
                    "--device cuda: this advland was built without the `cuda` feature (cargo build --features cuda)"
                )
            }
        };
        if self == DeviceArg::Cpu {
            return Ok((device.autodiff(), name.to_owned()));
        }
        started(&device).map_err(|message| {
            anyhow::anyhow!(
                "--device {}: the backend could not start: {}\n{}",
                self.to_possible_value()
                    .map_or_else(String::new, |v| v.get_name().to_owned()),
                message.trim(),
                self.needs()
            )
        })?;
        // Reports say whether the analyses could run in f64 there.
        let f64 = if advland_analysis::precision::computes_f64(&device) {
            "f64"
        } else {
            "no f64"
        };
        Ok((device.autodiff(), format!("{name}, {f64}")))
    }

    /// What the backend needs at run time, for the message when it does not start.
    fn needs(self) -> &'static str {
        match self {
            DeviceArg::Cpu => "",
            DeviceArg::Wgpu => {
                "wgpu needs a GPU driver with Vulkan (Metal, DX12) support; on a machine without a \
                 GPU, Mesa's lavapipe (Debian: mesa-vulkan-drivers) gives a CPU Vulkan adapter"
            }
            DeviceArg::Cuda => {
                "cuda needs, at run time, the NVIDIA driver's libcuda.so, NVRTC (libnvrtc.so of a \
                 CUDA toolkit) on the library path, and the CUDA headers under $CUDA_PATH or \
                 /usr/local/cuda (kernels are compiled when first used)"
            }
        }
    }
}

/// Runs one small computation on `device`, so that a backend that cannot start (no driver,
/// no NVRTC, no headers, no adapter: burn and cudarc panic there) is refused here with its
/// reason, before a command has done any work.
fn started(device: &Device) -> std::result::Result<(), String> {
    let device = device.clone();
    without_panic_message(move || {
        let x = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0], [2]), &device);
        let _ = (x.clone() * x).sum().into_data();
    })
}

/// `f`'s panic as a message instead of a crash (and without the panic hook's print).
fn without_panic_message<F: FnOnce()>(f: F) -> std::result::Result<(), String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    outcome.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "it panicked without a message".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_that_panics_is_refused_with_its_message() {
        let refused = without_panic_message(|| panic!("Unable to dynamically load libcuda"));
        assert_eq!(refused.unwrap_err(), "Unable to dynamically load libcuda");
        let code = 7;
        let formatted = without_panic_message(move || panic!("exit {code}"));
        assert_eq!(formatted.unwrap_err(), "exit 7");
        assert!(started(&Device::flex()).is_ok());
    }
}
