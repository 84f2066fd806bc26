//! `advland flatness`: input-space flatness of a checkpoint at clean and adversarial points
//! (paper.md §2.4, §3.2 E-C): input-gradient norms, the input Hessian's k eigenvalues of largest
//! |λ| (`--top-k`), curvature along the gradient, trace, the KKT multiplier of the attack's
//! constraint (either norm), and 1-D input-space loss curves; on request the 2-D loss surface
//! around one example (`--surface-example`) and a lower bound of the logits' local Lipschitz
//! constant in the ε-ball (`--lipschitz-steps`).

use advland_analysis::flatness::{self, FlatnessConfig};

crate::model_source::attack_analysis!(
    FlatnessConfig,
    "flatness",
    advland_schema::flatness::FlatnessReport,
    flatness::measure
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};
    use advland_schema::PgdSettings;

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
