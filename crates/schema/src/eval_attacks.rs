//! The attacks of an evaluation as the command line asks for them (`advland eval`): one
//! `--norm/--eps` PGD attack and any number of `--attack` specs, with the PGD settings
//! (`--steps`, `--step-size`, `--restarts`, `--no-random-start`) that reach every PGD attack
//! which does not carry its own.

use serde::{Deserialize, Serialize};

use crate::attack::AttackSpec;
use crate::error::Result;
use crate::settings::ThreatSpec;
use crate::threat::Norm;

/// One `--attack`: PGD keeps its shorthand so that the shared PGD settings reach it; the APGD
/// family carries its own settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EvalAttack {
    /// `[pgd:]NORM:EPS[:STEPS]`.
    Pgd(ThreatSpec),
    /// `apgd-ce`, `apgd-dlr`, `apgd-t`, `autoattack-lite`.
    Other(AttackSpec),
}

impl EvalAttack {
    /// Parses an `--attack` value (the grammar of [`AttackSpec::parse`]).
    ///
    /// # Errors
    /// A message quoting the text and naming the rule broken.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        match AttackSpec::parse(text)? {
            AttackSpec::Pgd(_) => {
                let t = text.trim();
                crate::flag_values::parse_threat(t.strip_prefix("pgd:").unwrap_or(t))
                    .map(EvalAttack::Pgd)
            }
            other => Ok(EvalAttack::Other(other)),
        }
    }
}

/// The attacks of an evaluation and the PGD settings they share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct EvalAttacks {
    /// Attack norm (with --eps); combine with --attack for several attacks.
    #[cfg_attr(feature = "clap", arg(long, value_enum, requires = "eps"))]
    pub norm: Option<Norm>,
    /// Attack radius, e.g. 0.1 or 8/255.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_parser = crate::flag_values::parse_eps, requires = "norm")
    )]
    pub eps: Option<f64>,
    /// More attacks as `[KIND:]NORM:EPS[:STEPS]`, KIND one of `pgd` (the default), `apgd-ce`,
    /// `apgd-dlr`, `apgd-t` (targeted DLR over the top 9 classes), `autoattack-lite` (APGD-CE
    /// then APGD-T on what survives); APGD runs 100 iterations unless STEPS says otherwise.
    /// Repeatable; with several, the report adds the per-example worst case.
    #[cfg_attr(feature = "clap", arg(long = "attack", value_parser = EvalAttack::parse))]
    pub attacks: Vec<EvalAttack>,
    /// PGD steps (for attacks that do not set their own).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 20))]
    pub steps: usize,
    /// PGD step size (default 2.5·eps/steps).
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::parse_eps))]
    pub step_size: Option<f64>,
    /// Random restarts (the per-example worst is kept).
    #[cfg_attr(
        feature = "clap",
        arg(long, value_parser = crate::flag_values::at_least_one, default_value_t = 1)
    )]
    pub restarts: usize,
    /// Start every attack at δ = 0 instead of a random point.
    #[cfg_attr(feature = "clap", arg(long))]
    pub no_random_start: bool,
}

impl EvalAttacks {
    /// The attacks asked for, checked: `norm/eps` first, then each of `attacks` in order.
    ///
    /// # Errors
    /// Settings an attack cannot run with (`attack[i]` names the i-th).
    pub fn specs(&self) -> Result<Vec<AttackSpec>> {
        let pgd = |t: &ThreatSpec| {
            let mut p = ThreatSpec {
                step_size: t.step_size.or(self.step_size),
                ..t.clone()
            }
            .resolve(self.steps);
            p.restarts = self.restarts;
            p.random_start = !self.no_random_start;
            AttackSpec::Pgd(p)
        };
        let mut list = Vec::new();
        if let (Some(norm), Some(eps)) = (self.norm, self.eps) {
            list.push(pgd(&ThreatSpec {
                norm,
                eps,
                steps: None,
                step_size: None,
                random_start: None,
                restarts: None,
            }));
        }
        list.extend(self.attacks.iter().map(|a| match a {
            EvalAttack::Pgd(t) => pgd(t),
            EvalAttack::Other(spec) => spec.clone(),
        }));
        AttackSpec::check_each(&list)?;
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::ApgdLoss;

    fn flags(attacks: &[&str]) -> EvalAttacks {
        EvalAttacks {
            norm: Some(Norm::Linf),
            eps: Some(0.1),
            attacks: attacks
                .iter()
                .map(|a| EvalAttack::parse(a).expect("parses"))
                .collect(),
            steps: 7,
            step_size: Some(0.02),
            restarts: 3,
            no_random_start: true,
        }
    }

    #[test]
    fn the_shared_pgd_settings_reach_every_pgd_attack_that_lacks_its_own() {
        let specs = flags(&["pgd:l2:1.0:5", "l2:0.5", "apgd-ce:linf:0.1"])
            .specs()
            .expect("valid");
        let pgd = |i: usize| match &specs[i] {
            AttackSpec::Pgd(p) => p.clone(),
            other => panic!("not PGD: {other:?}"),
        };
        assert_eq!(
            (pgd(0).norm, pgd(0).eps, pgd(0).steps),
            (Norm::Linf, 0.1, 7)
        );
        assert_eq!((pgd(1).norm, pgd(1).steps), (Norm::L2, 5));
        assert_eq!(pgd(2).steps, 7);
        for i in 0..3 {
            assert_eq!(
                (pgd(i).step_size, pgd(i).restarts, pgd(i).random_start),
                (0.02, 3, false)
            );
        }
        let AttackSpec::Apgd(apgd) = &specs[3] else {
            panic!("not APGD")
        };
        assert_eq!(
            (apgd.loss, apgd.steps, apgd.restarts),
            (ApgdLoss::Ce, 100, 1)
        );
    }

    #[test]
    fn a_bad_attack_is_named_by_its_place() {
        let mut bad = flags(&["linf:0.1"]);
        bad.steps = 0;
        let msg = bad.specs().expect_err("no steps").to_string();
        assert!(msg.contains("attack[0].steps"), "{msg}");
    }
}
