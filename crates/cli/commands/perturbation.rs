//! `advland perturbation`: the adversarial perturbations of a checkpoint and the parameter
//! gradients at the points they reach (Liu et al. 2020): mean pairwise cosine similarity of
//! the perturbations δᵢ and of the per-example gradients ∇θ ℓ(xᵢ + δᵢ) (with the clean
//! ∇θ ℓ(xᵢ) for reference), and the mean loss, accuracy and attack success after each PGD
//! step.

use advland_analysis::perturbation::{self, PerturbationConfig};
use advland_analysis::{Measured, Subject};
use advland_schema::{Norm, PgdSettings};
use burn::tensor::Device;

use crate::model_source::AttackAnalysis;

impl AttackAnalysis for PerturbationConfig {
    const KIND: &'static str = "perturbation";
    type Payload = advland_schema::perturbation::PerturbationReport;
    fn seed(&self) -> u64 {
        self.seed
    }
    fn norm(&self) -> Norm {
        self.attack.norm
    }
    fn with_attack(self, attack: PgdSettings) -> Self {
        Self { attack, ..self }
    }
    fn measure(
        &self,
        subject: &Subject,
        device: &Device,
    ) -> advland_analysis::Result<Measured<Self::Payload>> {
        perturbation::measure(subject, self, device, &mut advland_train::Silent)
    }
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
