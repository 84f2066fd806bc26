//! `advland perturbation`: the adversarial perturbations of a checkpoint and the parameter
//! gradients at the points they reach (Liu et al. 2020): mean pairwise cosine similarity of
//! the perturbations δᵢ and of the per-example gradients ∇θ ℓ(xᵢ + δᵢ) (with the clean
//! ∇θ ℓ(xᵢ) for reference), and the mean loss, accuracy and attack success after each PGD
//! step.

use std::path::PathBuf;

use advland_analysis::load::ModelSource;
use advland_analysis::perturbation::{self, PerturbationConfig};
use advland_schema::{AttackRequest, PgdSettings};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

/// `advland perturbation`.
#[derive(Debug, Args)]
pub struct PerturbationArgs {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// The attack giving the adversarial points.
    #[command(flatten)]
    pub attack: AttackRequest,
    /// What to measure.
    #[command(flatten)]
    pub config: PerturbationConfig,
    /// Report path (default: `perturbation-<norm>.json` in the checkpoint directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl PerturbationArgs {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given (else linf, 0.1).
    fn config(&self, trained: Option<&PgdSettings>) -> Result<PerturbationConfig> {
        Ok(PerturbationConfig {
            attack: self.attack.resolve_or_standard(trained)?,
            ..self.config.clone()
        })
    }
}

/// Runs `advland perturbation`.
pub fn run(args: &PerturbationArgs, device: &Device, device_name: &str) -> Result<()> {
    let (report, out) = crate::model_source::run_attack_analysis(
        &args.source,
        args.out.as_ref(),
        "perturbation",
        device_name,
        |trained| args.config(trained),
        |subject, config| {
            perturbation::measure(subject, config, device, &mut advland_train::Silent)
        },
        device,
    )?;
    print!("{}", report.data);
    println!("report: {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};

    #[test]
    fn default_flags_give_the_library_defaults() {
        let Command::Perturbation(args) = parse_command(&["perturbation", "--checkpoint", "c"])
        else {
            panic!("not perturbation")
        };
        let config = args.config(None).expect("resolves");
        assert_eq!(
            config,
            PerturbationConfig::new(PgdSettings::new(advland_schema::Norm::Linf, 0.1, 20))
        );
    }
}
