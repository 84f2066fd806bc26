//! Threat models: the attack norm, its radius and the PGD settings (paper.md §1.3).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The norm of the perturbation ball B_p(ε).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Norm {
    /// L∞ ball: every pixel moves by at most ε (sign steps, element-wise clipping).
    Linf,
    /// L2 ball: the perturbation's Euclidean norm is at most ε (normalised steps, rescaling).
    L2,
}

impl Norm {
    /// The name used in files, reports and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Norm::Linf => "linf",
            Norm::L2 => "l2",
        }
    }
}

impl std::fmt::Display for Norm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a non-negative finite number written as a decimal (`0.03`) or a fraction (`8/255`).
///
/// # Errors
/// A message naming the text and the rule broken.
pub fn parse_fraction(text: &str) -> std::result::Result<f64, String> {
    let text = text.trim();
    let value = match text.split_once('/') {
        Some((num, den)) => {
            let num: f64 = num
                .trim()
                .parse()
                .map_err(|_| format!("'{text}': numerator is not a number"))?;
            let den: f64 = den
                .trim()
                .parse()
                .map_err(|_| format!("'{text}': denominator is not a number"))?;
            if den == 0.0 {
                return Err(format!("'{text}': denominator is zero"));
            }
            num / den
        }
        None => text.parse().map_err(|_| {
            format!("'{text}': expected a number like 0.03 or a fraction like 8/255")
        })?,
    };
    if !value.is_finite() || value < 0.0 {
        return Err(format!("'{text}': must be finite and non-negative"));
    }
    Ok(value)
}

/// Fully resolved settings of one PGD attack.
///
/// Step size defaults follow common practice (not the paper, whose settings are UNKNOWN,
/// paper.md §6): 2.5·ε/steps, so that the iterate can cross the ball and back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgdSettings {
    /// Norm of the constraint.
    pub norm: Norm,
    /// Radius ε of the ball, in pixel units (inputs are in `[0,1]`).
    pub eps: f64,
    /// Step size α per iteration, in pixel units.
    pub step_size: f64,
    /// Number of PGD iterations (no early stopping).
    pub steps: usize,
    /// Start from a random point of the ball instead of δ = 0.
    pub random_start: bool,
    /// Number of independent runs; the per-example worst (highest loss) is kept.
    pub restarts: usize,
}

impl PgdSettings {
    /// The threat in words, `linf ε=0.1`: how reports and messages name it.
    pub fn threat(&self) -> String {
        format!("{} ε={}", self.norm, self.eps)
    }

    /// Settings with the default step size 2.5·ε/steps, random start and one restart.
    pub fn new(norm: Norm, eps: f64, steps: usize) -> Self {
        Self {
            norm,
            eps,
            step_size: default_step_size(eps, steps),
            steps,
            random_start: true,
            restarts: 1,
        }
    }

    /// Checks every rule; `prefix` is the dotted path used in messages.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] listing each broken rule.
    pub fn check(&self, prefix: &str) -> Result<()> {
        let mut problems = Vec::new();
        // Attacks run in f32 (and f64 in some analyses): a radius past f32's range becomes ∞
        // in the first random start and the loss NaN.
        let in_range = |x: f64| x.is_finite() && x > 0.0 && x <= f64::from(f32::MAX);
        if !in_range(self.eps) {
            problems.push(Error::invalid(
                format!("{prefix}.eps"),
                format!(
                    "must be finite, > 0 and at most {:e}, got {}",
                    f32::MAX,
                    self.eps
                ),
            ));
        }
        if !in_range(self.step_size) {
            problems.push(Error::invalid(
                format!("{prefix}.step_size"),
                format!(
                    "must be finite, > 0 and at most {:e}, got {}",
                    f32::MAX,
                    self.step_size
                ),
            ));
        }
        if self.steps == 0 {
            problems.push(Error::invalid(format!("{prefix}.steps"), "must be >= 1"));
        }
        if self.restarts == 0 {
            problems.push(Error::invalid(format!("{prefix}.restarts"), "must be >= 1"));
        }
        collect(problems)
    }
}

/// An analysis's attack as asked for, its norm and radius possibly left to the model: each
/// one not given is the model's training attack's (field names are the command line's flags).
/// `STEPS` is the default number of PGD steps: 20 where the attack is what is measured
/// (`flatness`, `calibrate`, …), 10 in [`OptionalAttack`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct AttackRequest<const STEPS: usize = 20> {
    /// Norm of the attack (default: the checkpoint's training norm; where an analysis always
    /// attacks, linf for a standard model).
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub norm: Option<Norm>,
    /// Its radius (default: the checkpoint's training radius; where an analysis always
    /// attacks, 0.1 for a standard model).
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::parse_eps))]
    pub eps: Option<f64>,
    /// PGD steps.
    // Not `default_value_t`: clap keeps its text in a static, which every `STEPS` would share.
    #[cfg_attr(feature = "clap", arg(long, default_value = STEPS.to_string()))]
    pub steps: usize,
    /// PGD step size (default 2.5·ε/steps, whose total path of 2.5ε leaves δ short of a
    /// maximiser however many steps are taken: give a fixed step to let it converge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::parse_eps))]
    pub step_size: Option<f64>,
}

/// The attack of the analyses whose adversarial losses are optional (`sharpness`, `surface`,
/// `connect`): 10 PGD steps, and no attack unless asked for or the model was trained with one
/// ([`AttackRequest::require`]).
pub type OptionalAttack = AttackRequest<10>;

impl<const STEPS: usize> Default for AttackRequest<STEPS> {
    /// The model's own attack with `STEPS` PGD steps.
    fn default() -> Self {
        Self {
            norm: None,
            eps: None,
            steps: STEPS,
            step_size: None,
        }
    }
}

/// What stands in for a standard model's missing training attack where an analysis always
/// needs one: L∞ at ε = 0.1.
pub const STANDARD_ATTACK: (Norm, f64) = (Norm::Linf, 0.1);

impl<const STEPS: usize> AttackRequest<STEPS> {
    /// The attack when `needed`, as [`Self::resolve`]; `needed_by` names what needs it in the
    /// error when neither the request nor the model's training attack `trained` gives one.
    ///
    /// # Errors
    /// No norm or radius to be had; settings no attack can run with.
    pub fn require(
        &self,
        needed: bool,
        trained: Option<&PgdSettings>,
        needed_by: &str,
    ) -> Result<Option<PgdSettings>> {
        if !needed {
            return Ok(None);
        }
        match self.resolve(trained)? {
            Some(attack) => Ok(Some(attack)),
            None => Err(Error::invalid(
                needed_by,
                "needs --norm and --eps (the checkpoint was trained without an attack)",
            )),
        }
    }

    /// The attack with whichever of norm and radius is not given taken from `trained`; `None`
    /// when neither gives one of them (a standard model and no attack asked for).
    ///
    /// # Errors
    /// Settings no attack can run with (`attack.*`).
    pub fn resolve(&self, trained: Option<&PgdSettings>) -> Result<Option<PgdSettings>> {
        let norm = self.norm.or(trained.map(|t| t.norm));
        let eps = self.eps.or(trained.map(|t| t.eps));
        let (Some(norm), Some(eps)) = (norm, eps) else {
            return Ok(None);
        };
        let attack = self.settings(norm, eps);
        attack.check("attack")?;
        Ok(Some(attack))
    }

    /// The attack of an analysis that always has one: as [`Self::resolve`], else
    /// [`STANDARD_ATTACK`]'s norm and radius; not checked (callers that check it themselves
    /// name it as their setting).
    pub fn or_standard(&self, trained: Option<&PgdSettings>) -> PgdSettings {
        let (norm, eps) = STANDARD_ATTACK;
        self.settings(
            self.norm.or(trained.map(|t| t.norm)).unwrap_or(norm),
            self.eps.or(trained.map(|t| t.eps)).unwrap_or(eps),
        )
    }

    /// PGD at `norm`/`eps` with this request's steps and step size.
    fn settings(&self, norm: Norm, eps: f64) -> PgdSettings {
        PgdSettings {
            step_size: self
                .step_size
                .unwrap_or_else(|| default_step_size(eps, self.steps)),
            ..PgdSettings::new(norm, eps, self.steps)
        }
    }

    /// [`Self::or_standard`], checked.
    ///
    /// # Errors
    /// Settings no attack can run with (`attack.*`).
    pub fn resolve_or_standard(&self, trained: Option<&PgdSettings>) -> Result<PgdSettings> {
        let attack = self.or_standard(trained);
        attack.check("attack")?;
        Ok(attack)
    }
}

/// The default PGD step size 2.5·ε/steps (Madry et al.'s rule of thumb).
pub fn default_step_size(eps: f64, steps: usize) -> f64 {
    2.5 * eps / steps.max(1) as f64
}

/// Turns a list of problems into one error, or `Ok` when empty.
pub(crate) fn collect(mut problems: Vec<Error>) -> Result<()> {
    match problems.len() {
        0 => Ok(()),
        1 => Err(problems.remove(0)),
        _ => Err(Error::InvalidSettings(problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_fraction_accepts_decimals_and_fractions() {
        assert_eq!(parse_fraction("0.03").unwrap(), 0.03);
        assert!((parse_fraction("8/255").unwrap() - 8.0 / 255.0).abs() < 1e-15);
        assert_eq!(parse_fraction(" 1 ").unwrap(), 1.0);
    }

    #[test]
    fn parse_fraction_rejects_garbage() {
        for bad in ["", "abc", "1/0", "-0.1", "8/x", "inf", "NaN"] {
            let err = parse_fraction(bad).unwrap_err();
            assert!(err.contains(bad.trim()), "{err}");
        }
    }

    #[test]
    fn pgd_settings_check_reports_every_problem() {
        let mut s = PgdSettings::new(Norm::L2, 0.5, 10);
        s.check("attack").unwrap();
        s.eps = -1.0;
        s.steps = 0;
        let msg = s.check("attack").unwrap_err().to_string();
        assert!(
            msg.contains("attack.eps") && msg.contains("attack.steps"),
            "{msg}"
        );
    }

    #[test]
    fn an_attack_request_takes_what_it_leaves_open_from_the_training_attack() {
        let trained = PgdSettings::new(Norm::L2, 0.5, 7);
        let eps_only = AttackRequest::<10> {
            norm: None,
            eps: Some(1.0),
            steps: 10,
            step_size: None,
        };
        assert_eq!(
            eps_only.resolve(Some(&trained)).unwrap(),
            Some(PgdSettings::new(Norm::L2, 1.0, 10))
        );
        assert_eq!(eps_only.resolve(None).unwrap(), None);
        assert_eq!(
            eps_only.resolve_or_standard(None).unwrap(),
            PgdSettings::new(Norm::Linf, 1.0, 10)
        );
        let bad = AttackRequest::<10> {
            norm: Some(Norm::Linf),
            eps: Some(1e40),
            steps: 10,
            step_size: None,
        };
        assert!(bad.resolve(None).is_err());
        assert!(bad.resolve_or_standard(None).is_err());
        // `require`: nothing when not needed, else the resolved attack or an error naming
        // what needs it.
        assert_eq!(
            eps_only.require(false, None, "--objective x").unwrap(),
            None
        );
        assert_eq!(
            eps_only
                .require(true, Some(&trained), "--objective x")
                .unwrap(),
            Some(PgdSettings::new(Norm::L2, 1.0, 10))
        );
        let msg = eps_only
            .require(true, None, "--objective x")
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("--objective x: needs --norm and --eps"),
            "{msg}"
        );
        assert!(bad.require(true, None, "--objective x").is_err());
        assert_eq!(OptionalAttack::default().steps, 10);
        assert_eq!(<AttackRequest>::default().steps, 20);
        assert_eq!(bad.or_standard(None).eps, 1e40);
        // A given step size replaces the default rule; a non-positive one is refused.
        let fixed = AttackRequest {
            step_size: Some(0.05),
            ..eps_only
        };
        assert_eq!(
            fixed.resolve(Some(&trained)).unwrap().unwrap().step_size,
            0.05
        );
        assert_eq!(fixed.or_standard(None).step_size, 0.05);
        let zero = AttackRequest {
            step_size: Some(0.0),
            ..eps_only
        };
        let msg = zero.resolve(Some(&trained)).unwrap_err().to_string();
        assert!(msg.contains("attack.step_size"), "{msg}");
    }

    #[test]
    fn pgd_settings_refuse_radii_beyond_f32() {
        let s = PgdSettings::new(Norm::L2, 1e40, 10);
        let msg = s.check("attack").unwrap_err().to_string();
        assert!(
            msg.contains("attack.eps") && msg.contains("at most"),
            "{msg}"
        );
    }
}
