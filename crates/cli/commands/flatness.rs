//! `advland flatness`: input-space flatness of a checkpoint at clean and adversarial points
//! (paper.md §2.4, §3.2 E-C): input-gradient norms, the input Hessian's k eigenvalues of largest
//! |λ| (`--top-k`), curvature along the gradient, trace, the KKT multiplier of the attack's
//! constraint (either norm), and 1-D input-space loss curves; on request the 2-D loss surface
//! around one example (`--surface-example`) and a lower bound of the logits' local Lipschitz
//! constant in the ε-ball (`--lipschitz-steps`).

use std::path::PathBuf;

use advland_analysis::flatness::{self, FlatnessConfig};
use advland_analysis::load::ModelSource;
use advland_schema::{AttackRequest, PgdSettings};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

/// `advland flatness`.
#[derive(Debug, Args)]
pub struct FlatnessArgs {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// The attack giving the adversarial points.
    #[command(flatten)]
    pub attack: AttackRequest,
    /// What to measure.
    #[command(flatten)]
    pub config: FlatnessConfig,
    /// Report path (default: `flatness-<norm>.json` in the checkpoint directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl FlatnessArgs {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given (else linf, 0.1).
    fn config(&self, trained: Option<&PgdSettings>) -> Result<FlatnessConfig> {
        Ok(FlatnessConfig {
            attack: self.attack.resolve_or_standard(trained)?,
            ..self.config.clone()
        })
    }
}

/// Runs `advland flatness`.
pub fn run(args: &FlatnessArgs, device: &Device, device_name: &str) -> Result<()> {
    let (report, out) = crate::model_source::run_attack_analysis(
        &args.source,
        args.out.as_ref(),
        "flatness",
        device_name,
        |trained| args.config(trained),
        |subject, config| flatness::measure(subject, config, device, &mut advland_train::Silent),
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
        let Command::Flatness(args) = parse_command(&["flatness", "--checkpoint", "c"]) else {
            panic!("not flatness")
        };
        // A standard model has no attack of its own: L∞ ε = 0.1 stands in.
        let config = args.config(None).expect("resolves");
        assert_eq!(
            config,
            FlatnessConfig::new(PgdSettings::new(advland_schema::Norm::Linf, 0.1, 20))
        );
    }
}
