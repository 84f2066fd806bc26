//! Datasets for advland: readers, the bundled Fashion-MNIST subset, selections and batching.
//!
//! Everything is held in memory as a [`Dataset`] of `f32` pixels in `[0, 1]` (8-bit value
//! / 255, no normalisation) laid out `[n, c, h, w]`, with `u8` labels.
//!
//! - [`idx`]: the IDX format of MNIST / Fashion-MNIST (raw or gzip, detected by content).
//! - [`cifar`]: the CIFAR-10 / CIFAR-100 binary format and their standard directory layouts;
//!   [`cifar_python`]: their Python version (torchvision's download), read by a strict pickle
//!   subset reader that runs no code.
//! - [`fashion`]: the full Fashion-MNIST (Debian `dataset-fashion-mnist`) and MNIST.
//! - [`bundle`]: an 8,000 / 2,000 stratified Fashion-MNIST subset compiled into the binary,
//!   so everything runs with no data installed, and the function that regenerates it.
//! - [`batch`]: seeded permutations, epoch mini-batches and [`derive_seed`], from which every
//!   random stream of the project is derived.
//! - [`random`]: the one host-side generator (splitmix64) and its uniform, Rademacher and
//!   Box–Muller normal draws.
//!
//! All errors are [`Error`] values naming the offending file (or dataset) and the broken rule.
// Library code never prints: progress goes through observers, data into return values.
#![deny(clippy::print_stdout, clippy::print_stderr)]
// Files are read and written through std: every I/O error becomes a typed error that names the
// path (`Error::Io { path, source }`), which fs-err's own path would repeat (clippy.toml).
#![allow(clippy::disallowed_methods)]

pub mod batch;
pub mod bundle;
pub mod cifar;
pub mod cifar_python;
pub mod classes;
pub mod dataset;
pub mod error;
pub mod fashion;
pub mod idx;
mod pickle;
pub mod random;
mod storage;

pub use batch::{derive_seed, epoch_batches, permutation};
pub use bundle::{
    BUNDLE_TEST_PER_CLASS, BUNDLE_TRAIN_PER_CLASS, fashion_mnist_bundled,
    make_fashion_mnist_bundle, stratified_evenly,
};
pub use cifar::{CifarVariant, cifar10_splits, cifar100_splits, load_cifar_binary};
pub use cifar_python::load_cifar_python;
pub use classes::{
    CIFAR10_CLASSES, CIFAR100_COARSE_CLASSES, CIFAR100_FINE_CLASSES, FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
};
pub use dataset::{Dataset, Splits};
pub use error::{Error, Result};
pub use fashion::{FASHION_MNIST_SYSTEM_DIR, fashion_mnist_full, mnist_full};
pub use idx::{
    load_idx_dataset, parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels,
    write_idx_images_gz, write_idx_labels_gz,
};
pub use storage::{GZIP_LEVEL, MAX_DECOMPRESSED_BYTES};
