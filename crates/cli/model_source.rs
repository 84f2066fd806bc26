//! The one-model attack analyses (`flatness`, `perturbation`, `bound`, `calibrate`) as the
//! command line runs them on a [`ModelSource`]: one set of flags ([`AttackAnalysisArgs`]) and
//! one run for those whose only attack is the one they measure under.

use std::fmt::Display;
use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::Measured;
use advland_analysis::Subject;
use advland_analysis::load::ModelSource;
use advland_schema::{AttackRequest, Norm, Payload, PgdSettings, Report, write_json};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use crate::args::flag_error;

/// The configuration of a one-model attack analysis, resolved against the model's training
/// attack: what its report records besides itself, and the library call.
pub trait AttackAnalysis: serde::Serialize + Clone {
    /// The command, which names the default report (`<kind>-<norm>.json`).
    const KIND: &'static str;
    /// The report's payload.
    type Payload: Payload + serde::Serialize + Display;
    /// The seed the report records.
    fn seed(&self) -> u64;
    /// The attack's norm, which names the default report.
    fn norm(&self) -> Norm;
    /// This configuration under `attack`, the one the analysis measures under.
    #[must_use]
    fn with_attack(self, attack: PgdSettings) -> Self;
    /// The library call.
    ///
    /// # Errors
    /// The analysis's.
    fn measure(
        &self,
        subject: &Subject,
        device: &Device,
    ) -> advland_analysis::Result<Measured<Self::Payload>>;
}

/// [`AttackAnalysis`] for a configuration with `attack` and `seed` fields, run by the library
/// function `$measure(subject, config, device, observer)`, its reports of `$kind`.
macro_rules! attack_analysis {
    ($config:ty, $kind:literal, $payload:ty, $measure:path) => {
        impl $crate::model_source::AttackAnalysis for $config {
            const KIND: &'static str = $kind;
            type Payload = $payload;
            fn seed(&self) -> u64 {
                self.seed
            }
            fn norm(&self) -> advland_schema::Norm {
                self.attack.norm
            }
            fn with_attack(self, attack: advland_schema::PgdSettings) -> Self {
                Self { attack, ..self }
            }
            fn measure(
                &self,
                subject: &advland_analysis::Subject,
                device: &burn::tensor::Device,
            ) -> advland_analysis::Result<advland_analysis::Measured<Self::Payload>> {
                $measure(subject, self, device, &mut advland_train::Silent)
            }
        }
    };
}
pub(crate) use attack_analysis;

/// The flags of a one-model analysis under one attack (`flatness`, `perturbation`, `bound`).
#[derive(Debug, Args)]
pub struct AttackAnalysisArgs<C: Args> {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// The attack the analysis measures under.
    #[command(flatten)]
    pub attack: AttackRequest,
    /// What to measure.
    #[command(flatten)]
    pub config: C,
    /// Report path (default: `<command>-<norm>.json` in the checkpoint directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl<C: Args + AttackAnalysis> AttackAnalysisArgs<C> {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given (else linf, 0.1).
    pub fn config(&self, trained: Option<&PgdSettings>) -> Result<C> {
        Ok(self
            .config
            .clone()
            .with_attack(self.attack.resolve_or_standard(trained)?))
    }

    /// Runs the command: the report written, its summary printed.
    pub fn run(&self, device: &Device, device_name: &str) -> Result<()> {
        let (report, out) = run_attack_analysis(
            &self.source,
            self.out.as_ref(),
            device_name,
            |trained| self.config(trained),
            device,
        )?;
        print!("{}", report.data);
        println!("report: {}", out.display());
        Ok(())
    }
}

/// A one-model analysis under an attack: `out` (or the default `<kind>.json` place) checked
/// before any work, the model loaded, its configuration resolved against the model's training
/// attack, the analysis run (library errors named by their flags), and the report, with the
/// weights' provenance, written to `out` or `<kind>-<norm>.json` by the model. Returns the
/// report and where it went.
///
/// # Errors
/// An unwritable output, a model that cannot be loaded, bad settings, a failed analysis.
pub fn run_attack_analysis<C: AttackAnalysis>(
    source: &ModelSource,
    out: Option<&PathBuf>,
    device_name: &str,
    resolve: impl FnOnce(Option<&PgdSettings>) -> Result<C>,
    device: &Device,
) -> Result<(Report<C::Payload>, PathBuf)> {
    let start = Instant::now();
    // The default name depends on the resolved norm; its directory is what can fail.
    let probe = source.out_or(out, &format!("{}.json", C::KIND))?;
    advland_schema::check_output(&probe)?;
    let subject = source.subject(device)?;
    let config = resolve(subject.trained_with.as_ref())?;
    let measured = config.measure(&subject, device).map_err(flag_error)?;
    let mut report = crate::meta::report(measured, &config, config.seed(), device_name, start);
    report.meta.weights = source.provenance();
    let out = source.out_or(out, &format!("{}-{}.json", C::KIND, config.norm()))?;
    write_json(&out, &report)?;
    Ok((report, out))
}
