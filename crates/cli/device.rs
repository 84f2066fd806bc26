//! The only place a device is built: `--device` → burn [`Device`].

use anyhow::{Result, bail};
use burn::tensor::Device;
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
        Ok((device.autodiff(), name.to_owned()))
    }
}
