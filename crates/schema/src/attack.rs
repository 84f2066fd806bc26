//! Attack specifications beyond plain PGD (APGD, the autoattack-lite ensemble) and the
//! per-attack results of an evaluation with them: robust accuracy, per-example flags, the
//! worst case over the attacks.
//!
//! # Spec strings
//! ```text
//! ATTACK := [KIND ":"] NORM ":" EPS [":" STEPS]
//! KIND   := pgd | apgd-ce | apgd-dlr | apgd-t | autoattack-lite      (omitted: pgd)
//! NORM   := linf | l2
//! EPS    := a decimal (0.03) or a fraction (8/255), > 0
//! STEPS  := iterations per run, >= 1 (PGD: 20, APGD: 100)
//! ```
//! Without a kind the string is the PGD `NORM:EPS[:STEPS]` the CLI already takes. PGD from a
//! string gets [`PgdSettings::new`]'s step size, random start and one restart; APGD gets
//! auto-attack's `version='standard'` settings (1 restart, 9 target classes for APGD-T).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::report::Cost;
use crate::settings::DEFAULT_EVAL_STEPS;
use crate::threat::{Norm, PgdSettings, collect, parse_fraction};

/// APGD iterations per run unless set (auto-attack's default).
pub const DEFAULT_APGD_STEPS: usize = 100;
/// Target classes of APGD-T unless set: the 9 highest non-true logits (auto-attack's
/// `version='standard'`; fewer when the model has fewer classes).
pub const DEFAULT_APGD_TARGETS: usize = 9;

/// The objective APGD maximises (Croce & Hein 2020, fra31/auto-attack).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApgdLoss {
    /// Cross-entropy (APGD-CE).
    Ce,
    /// Difference of logits ratio −(z_y − max_{i≠y} z_i)/(z_π1 − z_π3), untargeted (APGD-DLR).
    Dlr,
    /// Targeted DLR −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2), once per target class t among the
    /// highest non-true logits (APGD-T).
    TargetedDlr,
}

/// Settings of one APGD attack. Momentum (0.75), the first step size (2ε), the step-halving
/// checkpoints and the oscillation threshold ρ = 0.75 are the algorithm's constants, not
/// settings: auto-attack's `version='standard'` never changes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApgdSettings {
    /// Norm of the ball.
    pub norm: Norm,
    /// Radius ε, in pixel units (inputs in `[0,1]`).
    pub eps: f64,
    /// The objective.
    pub loss: ApgdLoss,
    /// Iterations per run.
    pub steps: usize,
    /// Runs from new random starts, each on the examples still robust (per target class
    /// for APGD-T).
    pub restarts: usize,
    /// Number of target classes: set for [`ApgdLoss::TargetedDlr`] only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<usize>,
}

impl ApgdSettings {
    /// auto-attack's settings for `loss`: 100 iterations, 1 restart, 9 targets for APGD-T.
    pub fn new(norm: Norm, eps: f64, loss: ApgdLoss) -> Self {
        Self {
            norm,
            eps,
            loss,
            steps: DEFAULT_APGD_STEPS,
            restarts: 1,
            targets: (loss == ApgdLoss::TargetedDlr).then_some(DEFAULT_APGD_TARGETS),
        }
    }

    /// Checks every rule; `prefix` is the dotted path used in messages.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] / [`Error::InvalidSettings`] listing each broken rule.
    pub fn check(&self, prefix: &str) -> Result<()> {
        collect(self.problems(prefix))
    }

    /// The problems with these settings; `prefix` is the dotted path used in messages.
    fn problems(&self, prefix: &str) -> Vec<Error> {
        let mut problems = eps_problems(self.eps, prefix);
        if self.steps == 0 {
            problems.push(Error::invalid(format!("{prefix}.steps"), "must be >= 1"));
        }
        if self.restarts == 0 {
            problems.push(Error::invalid(format!("{prefix}.restarts"), "must be >= 1"));
        }
        match (self.loss, self.targets) {
            (ApgdLoss::TargetedDlr, None | Some(0)) => problems.push(Error::invalid(
                format!("{prefix}.targets"),
                "must be >= 1 for the targeted-dlr loss",
            )),
            (ApgdLoss::Ce | ApgdLoss::Dlr, Some(_)) => problems.push(Error::invalid(
                format!("{prefix}.targets"),
                "is for the targeted-dlr loss only",
            )),
            _ => {}
        }
        problems
    }
}

/// autoattack-lite: APGD-CE, then APGD-T on the examples still robust, with the per-example
/// worst case — the first two stages of auto-attack's `version='standard'` (which goes on
/// with FAB-T and Square).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoattackLiteSettings {
    /// Norm of the ball.
    pub norm: Norm,
    /// Radius ε.
    pub eps: f64,
    /// Iterations of each APGD run.
    pub steps: usize,
    /// Target classes of the APGD-T stage.
    pub targets: usize,
}

impl AutoattackLiteSettings {
    /// auto-attack's `version='standard'` settings: 100 iterations, 9 targets.
    pub fn new(norm: Norm, eps: f64) -> Self {
        Self {
            norm,
            eps,
            steps: DEFAULT_APGD_STEPS,
            targets: DEFAULT_APGD_TARGETS,
        }
    }

    /// The two stages in the order they run: APGD-CE and APGD-T, one restart each.
    pub fn stages(&self) -> [ApgdSettings; 2] {
        let stage = |loss, targets| ApgdSettings {
            norm: self.norm,
            eps: self.eps,
            loss,
            steps: self.steps,
            restarts: 1,
            targets,
        };
        [
            stage(ApgdLoss::Ce, None),
            stage(ApgdLoss::TargetedDlr, Some(self.targets)),
        ]
    }
}

/// One attack of an evaluation, as a flag value (`apgd-ce:linf:8/255`, see the
/// [module docs](self)) or a report field (tagged by `kind`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AttackSpec {
    /// PGD with a cross-entropy objective.
    Pgd(PgdSettings),
    /// APGD with one of its losses.
    Apgd(ApgdSettings),
    /// APGD-CE then APGD-T on what survives.
    AutoattackLite(AutoattackLiteSettings),
}

impl AttackSpec {
    /// The kind as written in spec strings: `pgd`, `apgd-ce`, `apgd-dlr`, `apgd-t`,
    /// `autoattack-lite`.
    pub fn kind(&self) -> &'static str {
        match self {
            AttackSpec::Pgd(_) => "pgd",
            AttackSpec::Apgd(a) => match a.loss {
                ApgdLoss::Ce => "apgd-ce",
                ApgdLoss::Dlr => "apgd-dlr",
                ApgdLoss::TargetedDlr => "apgd-t",
            },
            AttackSpec::AutoattackLite(_) => "autoattack-lite",
        }
    }

    /// The norm of the ball.
    pub fn norm(&self) -> Norm {
        match self {
            AttackSpec::Pgd(p) => p.norm,
            AttackSpec::Apgd(a) => a.norm,
            AttackSpec::AutoattackLite(a) => a.norm,
        }
    }

    /// The radius ε.
    pub fn eps(&self) -> f64 {
        match self {
            AttackSpec::Pgd(p) => p.eps,
            AttackSpec::Apgd(a) => a.eps,
            AttackSpec::AutoattackLite(a) => a.eps,
        }
    }

    /// Iterations per run.
    pub fn steps(&self) -> usize {
        match self {
            AttackSpec::Pgd(p) => p.steps,
            AttackSpec::Apgd(a) => a.steps,
            AttackSpec::AutoattackLite(a) => a.steps,
        }
    }

    /// Parses a spec string (grammar in the [module docs](self)).
    ///
    /// # Errors
    /// A message quoting the text, naming the part that is wrong and the rule.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        const FORMAT: &str = "expected [KIND:]NORM:EPS[:STEPS] with KIND one of pgd, apgd-ce, \
                              apgd-dlr, apgd-t, autoattack-lite and NORM linf or l2";
        let parts: Vec<&str> = text.trim().split(':').map(str::trim).collect();
        let norm_of = |s: &str| match s {
            "linf" => Some(Norm::Linf),
            "l2" => Some(Norm::L2),
            _ => None,
        };
        // Without a kind the first part is the norm (the PGD shorthand).
        let (kind, rest) = match parts.first().copied().and_then(norm_of) {
            Some(_) => ("pgd", &parts[..]),
            None => (parts[0], &parts[1..]),
        };
        if !(2..=3).contains(&rest.len()) {
            return Err(format!("'{text}': {FORMAT}"));
        }
        let norm = norm_of(rest[0])
            .ok_or_else(|| format!("'{text}': norm '{}' must be linf or l2", rest[0]))?;
        let eps = parse_fraction(rest[1]).map_err(|e| format!("'{text}': eps {e}"))?;
        if eps <= 0.0 {
            return Err(format!("'{text}': eps must be > 0, got {}", rest[1]));
        }
        let steps = rest
            .get(2)
            .map(|s| match s.parse::<usize>() {
                Ok(0) => Err(format!("'{text}': steps must be >= 1, got 0")),
                Ok(n) => Ok(n),
                Err(_) => Err(format!("'{text}': steps '{s}' must be a whole number")),
            })
            .transpose()?;
        let apgd = |loss| {
            let mut a = ApgdSettings::new(norm, eps, loss);
            a.steps = steps.unwrap_or(DEFAULT_APGD_STEPS);
            AttackSpec::Apgd(a)
        };
        let spec = match kind {
            "pgd" => AttackSpec::Pgd(PgdSettings::new(
                norm,
                eps,
                steps.unwrap_or(DEFAULT_EVAL_STEPS),
            )),
            "apgd-ce" => apgd(ApgdLoss::Ce),
            "apgd-dlr" => apgd(ApgdLoss::Dlr),
            "apgd-t" => apgd(ApgdLoss::TargetedDlr),
            "autoattack-lite" => {
                let mut a = AutoattackLiteSettings::new(norm, eps);
                a.steps = steps.unwrap_or(DEFAULT_APGD_STEPS);
                AttackSpec::AutoattackLite(a)
            }
            other => {
                return Err(format!("'{text}': unknown attack kind '{other}'; {FORMAT}"));
            }
        };
        spec.check("attack").map_err(|e| format!("'{text}': {e}"))?;
        Ok(spec)
    }

    /// Checks each attack of a list, `attack[i]` naming the i-th in messages.
    ///
    /// # Errors
    /// The first attack that breaks a rule ([`Self::check`]).
    pub fn check_each(attacks: &[AttackSpec]) -> Result<()> {
        for (i, a) in attacks.iter().enumerate() {
            a.check(&format!("attack[{i}]"))?;
        }
        Ok(())
    }

    /// Checks every rule; `prefix` is the dotted path used in messages.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] / [`Error::InvalidSettings`] listing each broken rule.
    pub fn check(&self, prefix: &str) -> Result<()> {
        match self {
            AttackSpec::Pgd(p) => p.check(prefix),
            AttackSpec::Apgd(a) => a.check(prefix),
            AttackSpec::AutoattackLite(a) => {
                let mut problems = eps_problems(a.eps, prefix);
                if a.steps == 0 {
                    problems.push(Error::invalid(format!("{prefix}.steps"), "must be >= 1"));
                }
                if a.targets == 0 {
                    problems.push(Error::invalid(format!("{prefix}.targets"), "must be >= 1"));
                }
                collect(problems)
            }
        }
    }
}

/// The canonical spec string, which [`AttackSpec::parse`] reads back (settings a string
/// cannot carry — PGD step size, restarts, targets — aside).
impl std::fmt::Display for AttackSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.kind(),
            self.norm(),
            self.eps(),
            self.steps()
        )
    }
}

impl FromStr for AttackSpec {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        Self::parse(text)
    }
}

/// Attacks run in f32: a radius past f32's range becomes ∞ in the first start (the rule of
/// [`PgdSettings::check`]).
fn eps_problems(eps: f64, prefix: &str) -> Vec<Error> {
    if eps.is_finite() && eps > 0.0 && eps <= f64::from(f32::MAX) {
        Vec::new()
    } else {
        vec![Error::invalid(
            format!("{prefix}.eps"),
            format!("must be finite, > 0 and at most {:e}, got {eps}", f32::MAX),
        )]
    }
}

/// What one attack of an evaluation achieved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackResult {
    /// The attack.
    pub attack: AttackSpec,
    /// Mean cross-entropy at the points the attack returned and robust accuracy (the
    /// fraction of `robust`).
    pub metrics: Metrics,
    /// Per example, in data order: classified correctly at the attack's point. APGD and
    /// autoattack-lite attack only examples classified correctly when clean, so their flags
    /// imply clean correctness; PGD's are its accuracy at its points, as in `robust`.
    pub robust: Vec<bool>,
    /// The seed the attack's random starts derive from (batch i: `derive_seed(seed,
    /// stream, i)`, stream `eval-attack` for PGD, `eval-apgd` for APGD).
    pub seed: u64,
    /// Forward/backward passes of the attack, in examples.
    pub cost: Cost,
    /// autoattack-lite: its stages in order, each with the accuracy and flags after it (the
    /// examples robust to it and to every stage before); empty for single attacks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<AttackResult>,
}

/// The per-example worst case over clean inputs and every attack of an evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustWorstCase {
    /// Mean over examples of the highest cross-entropy any attack (or the clean input)
    /// reached, and the fraction of `robust`.
    pub metrics: Metrics,
    /// Per example: correct when clean and under every attack (the AND of their flags).
    pub robust: Vec<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_every_kind_with_auto_attack_defaults() {
        let s = AttackSpec::parse("apgd-ce:linf:8/255").unwrap();
        let AttackSpec::Apgd(a) = &s else {
            panic!("{s:?}")
        };
        assert_eq!(
            (a.norm, a.loss, a.steps, a.restarts, a.targets),
            (Norm::Linf, ApgdLoss::Ce, 100, 1, None)
        );
        assert!((a.eps - 8.0 / 255.0).abs() < 1e-15);
        let t = AttackSpec::parse("apgd-t:l2:0.5:50").unwrap();
        assert_eq!(t.kind(), "apgd-t");
        assert_eq!(t.steps(), 50);
        let AttackSpec::Apgd(t) = t else { panic!() };
        assert_eq!((t.loss, t.targets), (ApgdLoss::TargetedDlr, Some(9)));
        assert_eq!(
            AttackSpec::parse("apgd-dlr:l2:1").unwrap().kind(),
            "apgd-dlr"
        );
        let lite = AttackSpec::parse("autoattack-lite:linf:0.1").unwrap();
        let AttackSpec::AutoattackLite(l) = &lite else {
            panic!()
        };
        let [ce, apgdt] = l.stages();
        assert_eq!((ce.loss, ce.restarts), (ApgdLoss::Ce, 1));
        assert_eq!(
            (apgdt.loss, apgdt.targets),
            (ApgdLoss::TargetedDlr, Some(9))
        );
    }

    #[test]
    fn parse_takes_the_pgd_shorthand_and_pgd_kind_alike() {
        let want = AttackSpec::Pgd(PgdSettings::new(Norm::Linf, 0.1, 20));
        assert_eq!(AttackSpec::parse("linf:0.1").unwrap(), want);
        assert_eq!(AttackSpec::parse("pgd:linf:0.1:20").unwrap(), want);
        assert_eq!(
            AttackSpec::parse("l2:0.5:7").unwrap(),
            AttackSpec::Pgd(PgdSettings::new(Norm::L2, 0.5, 7))
        );
    }

    #[test]
    fn parse_rejects_bad_specs_naming_the_part_and_rule() {
        for (bad, says) in [
            ("apgd-x:linf:0.1", "unknown attack kind 'apgd-x'"),
            ("apgd-ce:linf:0", "eps must be > 0"),
            ("apgd-ce:linf:-1", "must be finite and non-negative"),
            ("apgd-ce:lp:0.1", "norm 'lp' must be linf or l2"),
            ("apgd-ce:linf:0.1:0", "steps must be >= 1"),
            ("apgd-ce:linf:0.1:ten", "steps 'ten' must be a whole number"),
            ("apgd-ce:linf", "expected [KIND:]NORM:EPS[:STEPS]"),
            ("apgd-ce:linf:0.1:10:3", "expected [KIND:]NORM:EPS[:STEPS]"),
            ("autoattack-lite:linf:1e40", "attack.eps: must be finite"),
            ("", "expected"),
        ] {
            let err = AttackSpec::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(err.contains(&format!("'{bad}'")), "{bad}: {err}");
        }
    }

    #[test]
    fn display_round_trips_through_parse() {
        for text in [
            "pgd:l2:0.5:20",
            "apgd-ce:linf:0.03137254901960784:100",
            "apgd-dlr:l2:1:10",
            "apgd-t:linf:0.1:100",
            "autoattack-lite:l2:0.25:100",
        ] {
            let spec = AttackSpec::parse(text).unwrap();
            assert_eq!(spec.to_string(), text);
            assert_eq!(AttackSpec::parse(&spec.to_string()).unwrap(), spec);
        }
    }

    #[test]
    fn check_names_each_broken_field() {
        let mut a = ApgdSettings::new(Norm::Linf, 0.1, ApgdLoss::TargetedDlr);
        a.steps = 0;
        a.restarts = 0;
        a.targets = None;
        a.eps = f64::NAN;
        let msg = AttackSpec::Apgd(a)
            .check("eval.attacks[1]")
            .unwrap_err()
            .to_string();
        for field in ["eps", "steps", "restarts", "targets"] {
            assert!(msg.contains(&format!("eval.attacks[1].{field}")), "{msg}");
        }
        let mut ce = ApgdSettings::new(Norm::L2, 0.5, ApgdLoss::Ce);
        ce.targets = Some(3);
        let msg = AttackSpec::Apgd(ce).check("a").unwrap_err().to_string();
        assert!(
            msg.contains("a.targets: is for the targeted-dlr loss only"),
            "{msg}"
        );
        let mut lite = AutoattackLiteSettings::new(Norm::L2, 0.5);
        lite.targets = 0;
        let msg = AttackSpec::AutoattackLite(lite)
            .check("a")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("a.targets: must be >= 1"), "{msg}");
    }

    #[test]
    fn specs_serialise_tagged_by_kind_and_read_back() {
        for spec in [
            AttackSpec::parse("pgd:linf:0.1").unwrap(),
            AttackSpec::parse("apgd-t:l2:0.5").unwrap(),
            AttackSpec::parse("autoattack-lite:linf:0.1").unwrap(),
        ] {
            let json = serde_json::to_value(&spec).unwrap();
            assert!(json.get("kind").is_some(), "{json}");
            let back: AttackSpec = serde_json::from_value(json).unwrap();
            assert_eq!(back, spec);
        }
        let json = serde_json::json!({"kind": "apgd", "norm": "l2", "eps": 0.5, "loss": "ce",
                                      "steps": 100, "restarts": 1, "typo": 1});
        assert!(serde_json::from_value::<AttackSpec>(json).is_err());
    }
}
