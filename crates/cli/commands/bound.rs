//! `advland bound`: paper.md §2.4 Propositions A/B on a checkpoint: per example, the face of
//! the constraint set δ* lies on, the Lagrangian's concavity μ there, the mixed Hessian, the
//! implicit-function bounds on ‖Dδ*‖ and on the adversarial loss's gradient-Lipschitz
//! constant, next to what δ and ∇L do under small random steps of θ.

use advland_analysis::bound::{self, BoundConfig};
use advland_analysis::{Measured, Subject};
use advland_schema::{Norm, PgdSettings};
use burn::tensor::Device;

use crate::model_source::AttackAnalysis;

impl AttackAnalysis for BoundConfig {
    const KIND: &'static str = "bound";
    type Payload = advland_schema::bound::BoundReport;
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
        bound::measure(subject, self, device, &mut advland_train::Silent)
    }
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
