//! `advland perturbation`: the adversarial perturbations of a checkpoint and the parameter
//! gradients at the points they reach (Liu et al. 2020): mean pairwise cosine similarity of
//! the perturbations δᵢ and of the per-example gradients ∇θ ℓ(xᵢ + δᵢ) (with the clean
//! ∇θ ℓ(xᵢ) for reference), and the mean loss, accuracy and attack success after each PGD
//! step.

use advland_analysis::perturbation::{self, PerturbationConfig};

crate::model_source::attack_analysis!(
    PerturbationConfig,
    "perturbation",
    advland_schema::perturbation::PerturbationReport,
    perturbation::measure
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};
    use advland_schema::PgdSettings;

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
