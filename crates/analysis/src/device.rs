//! The only place a compute device is built: a [`DeviceKind`] → burn's autodiff [`Device`]
//! and the description reports record, refused with its reason when the backend cannot start.

use burn::tensor::{Device, Tensor, TensorData};

use crate::{Error, Result};

/// The compute backends advland runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DeviceKind {
    /// burn's pure-Rust CPU backend (flex), always available.
    Cpu,
    /// Any GPU through wgpu (Vulkan/Metal/DX12); needs the `wgpu` cargo feature.
    Wgpu,
    /// NVIDIA GPU 0 through CUDA; needs the `cuda` cargo feature.
    Cuda,
}

/// A started device: burn's autodiff device and what reports call it (the backend and, on a
/// GPU, whether it computes in f64, [`crate::precision::computes_f64`]).
#[derive(Clone, Debug)]
pub struct OpenDevice {
    /// The autodiff device every analysis takes.
    pub device: Device,
    /// E.g. `cpu (burn flex)`, `cuda:0, f64`.
    pub name: String,
}

impl DeviceKind {
    /// The name of the backend, as `--device` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
        }
    }

    /// Builds the device and runs one small computation on it, so that a backend that cannot
    /// start (no driver, NVRTC, headers or adapter: burn and cudarc panic there) is refused
    /// here with its reason, before any work.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] on `device`: a backend this build lacks, or one that did not
    /// start (with what it needs at run time).
    pub fn open(self) -> Result<OpenDevice> {
        let (device, name) = self.build()?;
        if self == Self::Cpu {
            return Ok(OpenDevice {
                device: device.autodiff(),
                name: name.to_owned(),
            });
        }
        started(&device).map_err(|message| {
            self.refused(format!(
                "could not start: {}\n{}",
                message.trim(),
                self.needs()
            ))
        })?;
        let f64 = if crate::precision::computes_f64(&device) {
            "f64"
        } else {
            "no f64"
        };
        Ok(OpenDevice {
            device: device.autodiff(),
            name: format!("{name}, {f64}"),
        })
    }

    fn refused(self, reason: String) -> Error {
        Error::InvalidConfig {
            field: "device",
            reason: format!("{} {reason}", self.as_str()),
        }
    }

    fn build(self) -> Result<(Device, &'static str)> {
        match self {
            Self::Cpu => Ok((Device::flex(), "cpu (burn flex)")),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Ok((
                Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
                "wgpu (default adapter)",
            )),
            #[cfg(feature = "cuda")]
            Self::Cuda => Ok((Device::cuda(0), "cuda:0")),
            #[allow(unreachable_patterns)]
            other => Err(other.refused(format!(
                "is not in this build: advland was built without the `{0}` feature (cargo \
                 build --features {0})",
                other.as_str()
            ))),
        }
    }

    /// What the backend needs at run time, for the message when it does not start.
    fn needs(self) -> &'static str {
        match self {
            Self::Cpu => "",
            Self::Wgpu => {
                "wgpu needs a GPU driver with Vulkan (Metal, DX12) support; on a machine without a \
                 GPU, Mesa's lavapipe (Debian: mesa-vulkan-drivers) gives a CPU Vulkan adapter"
            }
            Self::Cuda => {
                "cuda needs, at run time, the NVIDIA driver's libcuda.so, NVRTC (libnvrtc.so of a \
                 CUDA toolkit) on the library path, and the CUDA headers under $CUDA_PATH or \
                 /usr/local/cuda (kernels are compiled when first used)"
            }
        }
    }
}

fn started(device: &Device) -> std::result::Result<(), String> {
    let device = device.clone();
    without_panic_message(move || {
        let x = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0], [2]), &device);
        let _ = (x.clone() * x).sum().into_data();
    })
}

/// `f`'s panic as a message instead of a crash (and without the panic hook's print).
pub(crate) fn without_panic_message<T, F: FnOnce() -> T>(f: F) -> std::result::Result<T, String> {
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

    #[test]
    fn the_cpu_opens_and_a_missing_backend_is_named() {
        let cpu = DeviceKind::Cpu.open().expect("the CPU always starts");
        assert_eq!(cpu.name, "cpu (burn flex)");
        #[cfg(not(feature = "cuda"))]
        {
            let err = DeviceKind::Cuda
                .open()
                .expect_err("no cuda feature")
                .to_string();
            assert!(
                err.starts_with("device: cuda is not in this build: advland was built without")
            );
        }
    }
}
