//! The one-model attack analyses (`flatness`, `perturbation`, `bound`, `calibrate`) as the command
//! line runs them on a [`ModelSource`].

use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::Measured;
use advland_analysis::Subject;
use advland_analysis::load::ModelSource;
use advland_schema::{Norm, Payload, PgdSettings, Report, write_json};
use anyhow::Result;
use burn::tensor::Device;

use crate::args::flag_error;

/// The configuration of a one-model attack analysis, resolved against the model's training
/// attack: what its report records besides itself.
pub trait AttackAnalysis: serde::Serialize {
    /// The seed the report records.
    fn seed(&self) -> u64;
    /// The attack's norm, which names the default report (`<kind>-<norm>.json`).
    fn norm(&self) -> Norm;
}

impl AttackAnalysis for advland_analysis::flatness::FlatnessConfig {
    fn seed(&self) -> u64 {
        self.seed
    }
    fn norm(&self) -> Norm {
        self.attack.norm
    }
}

impl AttackAnalysis for advland_analysis::perturbation::PerturbationConfig {
    fn seed(&self) -> u64 {
        self.seed
    }
    fn norm(&self) -> Norm {
        self.attack.norm
    }
}

impl AttackAnalysis for advland_analysis::bound::BoundConfig {
    fn seed(&self) -> u64 {
        self.seed
    }
    fn norm(&self) -> Norm {
        self.attack.norm
    }
}

impl AttackAnalysis for advland_analysis::calibrate::CalibrateConfig {
    fn seed(&self) -> u64 {
        self.seed
    }
    fn norm(&self) -> Norm {
        self.norm
    }
}

/// A one-model analysis under an attack, as `flatness`, `perturbation` and `calibrate` run
/// it: `out` (or the default `<kind>.json` place) checked before any work, the model loaded,
/// its configuration resolved against the model's training attack, `measure` run (library
/// errors named by their flags), and the report, with the weights' provenance, written to
/// `out` or `<kind>-<norm>.json` by the model. Returns the report and where it went.
///
/// # Errors
/// An unwritable output, a model that cannot be loaded, bad settings, a failed analysis.
pub fn run_attack_analysis<C: AttackAnalysis, T: Payload + serde::Serialize>(
    source: &ModelSource,
    out: Option<&PathBuf>,
    kind: &str,
    device_name: &str,
    resolve: impl FnOnce(Option<&PgdSettings>) -> Result<C>,
    measure: impl FnOnce(&Subject, &C) -> advland_analysis::Result<Measured<T>>,
    device: &Device,
) -> Result<(Report<T>, PathBuf)> {
    let start = Instant::now();
    // The default name depends on the resolved norm; its directory is what can fail.
    let probe = source.out_or(out, &format!("{kind}.json"))?;
    advland_schema::check_output(&probe)?;
    let subject = source.subject(device)?;
    let config = resolve(subject.trained_with.as_ref())?;
    let measured = measure(&subject, &config).map_err(flag_error)?;
    let mut report = crate::meta::report(measured, &config, config.seed(), device_name, start);
    report.meta.weights = source.provenance();
    let out = source.out_or(out, &format!("{kind}-{}.json", config.norm()))?;
    write_json(&out, &report)?;
    Ok((report, out))
}
