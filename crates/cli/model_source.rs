//! The one-model attack analyses (`flatness`, `perturbation`, `bound`, `calibrate`,
//! [`AttackAnalysis`]) as the command line runs them on a [`ModelSource`]: one set of flags
//! ([`AttackAnalysisArgs`]) and one run for those whose only attack is the one they measure
//! under.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::Instant;

use advland_analysis::Measured;
use advland_analysis::attack_analysis::AttackAnalysis;
use advland_analysis::load::ModelSource;
use advland_schema::{AttackRequest, Payload, PgdSettings, Report, write_json};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use crate::args::flag_error;

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
        run_attack_analysis(
            &self.source,
            self.out.as_ref(),
            device_name,
            |trained| self.config(trained),
            device,
        )?;
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
) -> Result<Report<C::Payload>> {
    let start = Instant::now();
    // The default name depends on the resolved norm; its directory is what can fail.
    let probe = source.out_or(out, &format!("{}.json", C::KIND))?;
    advland_schema::check_output(&probe)?;
    let subject = source.subject(device)?;
    let config = resolve(subject.trained_with.as_ref())?;
    let measured = config
        .measure(&subject, device, &mut advland_train::Silent)
        .map_err(flag_error)?;
    let out = source.out_or(out, &format!("{}-{}.json", C::KIND, config.norm()))?;
    let seed = config.seed();
    write_report(measured, &config, seed, (device_name, start), source, &out)
}

/// What every analysis of a [`ModelSource`] does last: the report of `measured` under
/// `config` (on the device named `device_name`, started at `start`), with the weights'
/// provenance, written to `out`, its summary printed. Returns the report.
///
/// # Errors
/// An unwritable `out`.
pub fn write_report<T: Payload + serde::Serialize + Display, C: serde::Serialize>(
    measured: Measured<T>,
    config: &C,
    seed: u64,
    (device_name, start): (&str, Instant),
    source: &ModelSource,
    out: &Path,
) -> Result<Report<T>> {
    let mut report = crate::meta::report(measured, config, seed, device_name, start);
    report.meta.weights = source.provenance();
    write_json(out, &report)?;
    print!("{}", report.data);
    println!("report: {}", out.display());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use advland_analysis::bound::BoundConfig;
    use advland_analysis::flatness::FlatnessConfig;
    use advland_analysis::perturbation::PerturbationConfig;
    use advland_schema::{Norm, PgdSettings};

    use crate::args::{Command, parse_command};

    /// A standard model has no attack of its own: L∞ ε = 0.1 with 20 steps stands in, and
    /// every other flag's default is the library's.
    #[test]
    fn default_flags_give_the_library_defaults() {
        let standard = PgdSettings::new(Norm::Linf, 0.1, 20);
        let Command::Flatness(args) = parse_command(&["flatness", "--checkpoint", "c"]) else {
            panic!("not flatness")
        };
        assert_eq!(
            args.config(None).expect("resolves"),
            FlatnessConfig::new(standard.clone())
        );
        let Command::Perturbation(args) = parse_command(&["perturbation", "--checkpoint", "c"])
        else {
            panic!("not perturbation")
        };
        assert_eq!(
            args.config(None).expect("resolves"),
            PerturbationConfig::new(standard.clone())
        );
        let Command::Bound(args) = parse_command(&["bound", "--checkpoint", "c"]) else {
            panic!("not bound")
        };
        assert_eq!(
            args.config(None).expect("resolves"),
            BoundConfig::new(standard)
        );
    }
}
