//! `advland bound`: paper.md §2.4 Propositions A/B on a checkpoint: per example, the face of
//! the constraint set δ* lies on, the Lagrangian's concavity μ there, the mixed Hessian, the
//! implicit-function bounds on ‖Dδ*‖ and on the adversarial loss's gradient-Lipschitz
//! constant, next to what δ and ∇L do under small random steps of θ.

use advland_analysis::bound::{self, BoundConfig};

crate::model_source::attack_analysis!(
    BoundConfig,
    "bound",
    advland_schema::bound::BoundReport,
    bound::measure
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};
    use advland_schema::PgdSettings;

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
