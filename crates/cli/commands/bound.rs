//! `advland bound`: paper.md §2.4 Propositions A/B on a checkpoint: per example, the face of
//! the constraint set δ* lies on, the Lagrangian's concavity μ there, the mixed Hessian, the
//! implicit-function bounds on ‖Dδ*‖ and on the adversarial loss's gradient-Lipschitz
//! constant, next to what δ and ∇L do under small random steps of θ.

use std::path::PathBuf;

use advland_analysis::bound::{self, BoundConfig};
use advland_analysis::load::ModelSource;
use advland_schema::{AttackRequest, PgdSettings};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

/// `advland bound`.
#[derive(Debug, Args)]
pub struct BoundArgs {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// The attack giving δ*.
    #[command(flatten)]
    pub attack: AttackRequest,
    /// What to measure.
    #[command(flatten)]
    pub config: BoundConfig,
    /// Report path (default: `bound-<norm>.json` in the checkpoint directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl BoundArgs {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given (else linf, 0.1).
    fn config(&self, trained: Option<&PgdSettings>) -> Result<BoundConfig> {
        Ok(BoundConfig {
            attack: self.attack.resolve_or_standard(trained)?,
            ..self.config.clone()
        })
    }
}

/// Runs `advland bound`.
pub fn run(args: &BoundArgs, device: &Device, device_name: &str) -> Result<()> {
    let (report, out) = crate::model_source::run_attack_analysis(
        &args.source,
        args.out.as_ref(),
        "bound",
        device_name,
        |trained| args.config(trained),
        |subject, config| bound::measure(subject, config, device, &mut advland_train::Silent),
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
        let Command::Bound(args) = parse_command(&["bound", "--checkpoint", "c"]) else {
            panic!("not bound")
        };
        let config = args.config(None).expect("resolves");
        assert_eq!(
            config,
            BoundConfig::new(PgdSettings::new(advland_schema::Norm::Linf, 0.1, 20))
        );
    }
}
