//! Matched attack strength across norms (paper.md §3.2 option (c)): the radius ε_B of a
//! norm-B PGD attack that gives a model the same robust accuracy (or the same adversarial loss)
//! as a reference norm-A attack of radius ε_A, so that L∞ and L2 results are compared at
//! equal strength rather than at an arbitrary ε₂ = c·ε∞.
//!
//! The balls' geometry brackets the answer: in d dimensions B₂(ε) ⊂ B∞(ε) ⊂ B₂(ε√d), so an
//! exact L2 attack matching L∞(ε) has ε₂ ∈ [ε, ε√d] (and an L∞ attack matching L2(ε) has
//! ε∞ ∈ [ε/√d, ε]). Bisection runs on log ε, where the bracket spans √d. PGD is not an exact
//! maximiser, so the ends are evaluated first and the report says whether they enclose the
//! target.

use advland_schema::{
    CalibrateReport, CalibrationStep, MatchOn, Metrics, Norm, PgdSettings, finite,
};
use advland_train::{Attack, Observer, evaluate};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

#[cfg(feature = "clap")]
use advland_schema::flag_values::at_least_one;

use crate::error::{Error, Result};
use crate::subject::{Measured, Subject};

/// A calibration of one model. With the `clap` feature these are the flags of `advland
/// calibrate` but the two attacks' (defaults: [`CalibrateConfig::new`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct CalibrateConfig {
    /// The attack whose strength is matched.
    #[cfg_attr(feature = "clap", arg(skip = defaults().reference))]
    pub reference: PgdSettings,
    /// The norm whose radius is searched (the other one).
    #[cfg_attr(feature = "clap", arg(skip = defaults().norm))]
    pub norm: Norm,
    /// Match robust accuracy or the mean adversarial loss.
    #[cfg_attr(feature = "clap", arg(long = "match", value_enum, default_value_t = defaults().matched_on))]
    pub matched_on: MatchOn,
    /// Test examples (evenly spaced).
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().subset))]
    pub subset: usize,
    /// Examples per batch.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().batch_size))]
    pub batch_size: usize,
    /// Stop once a radius comes within this of the target (accuracy as a fraction, loss in
    /// nats); 0 searches until the bracket is --relative-width narrow.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().tolerance))]
    pub tolerance: f64,
    /// Stop once the bracket's ends differ by less than this factor minus one.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().relative_width))]
    pub relative_width: f64,
    /// Attack evaluations at most, the bracket's two ends included.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().max_evaluations))]
    pub max_evaluations: usize,
    /// Seed of the attacks' random starts (every radius attacks from the same starts).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().seed))]
    pub seed: u64,
}

/// The flags' defaults, with the attack that stands in for a missing reference.
#[cfg(feature = "clap")]
fn defaults() -> CalibrateConfig {
    CalibrateConfig::new(<advland_schema::AttackRequest>::default().or_standard(None))
}

impl CalibrateConfig {
    /// The command line's defaults: match `reference`'s robust accuracy with the other norm
    /// on 1,000 examples, until the bracket is 0.1 % wide, at most 20 evaluations.
    pub fn new(reference: PgdSettings) -> Self {
        let norm = match reference.norm {
            Norm::Linf => Norm::L2,
            Norm::L2 => Norm::Linf,
        };
        Self {
            reference,
            norm,
            matched_on: MatchOn::Accuracy,
            subset: 1000,
            batch_size: 500,
            tolerance: 0.0,
            relative_width: 1e-3,
            max_evaluations: 20,
            seed: 0,
        }
    }

    fn check(&self) -> Result<()> {
        self.reference
            .check("reference")
            .map_err(|e| Error::rule("eps", e))?;
        let invalid = |field, reason: String| Err(Error::InvalidConfig { field, reason });
        if self.norm == self.reference.norm {
            return invalid(
                "to",
                format!(
                    "is the reference's own norm ({}); calibration matches the other norm",
                    self.norm
                ),
            );
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return invalid(
                "tolerance",
                format!("must be finite and >= 0, got {}", self.tolerance),
            );
        }
        if !(self.relative_width.is_finite() && self.relative_width > 0.0) {
            return invalid(
                "relative_width",
                format!("must be finite and > 0, got {}", self.relative_width),
            );
        }
        if self.max_evaluations < 2 {
            return invalid(
                "max_evaluations",
                "must be >= 2 (the bracket's two ends)".to_owned(),
            );
        }
        Ok(())
    }
}

/// `[weaker, stronger]` radii of norm `to` around the reference ball in `dimension`
/// dimensions: the inscribed and circumscribed balls of the other norm.
pub fn bracket(reference: &PgdSettings, to: Norm, dimension: usize) -> [f64; 2] {
    let eps = reference.eps;
    let root = (dimension as f64).sqrt();
    match (reference.norm, to) {
        (Norm::Linf, Norm::L2) => [eps, eps * root],
        (Norm::L2, Norm::Linf) => [eps / root, eps],
        _ => [eps, eps],
    }
}

/// How strong an attack was by the matched quantity: rises with ε.
fn strength(on: MatchOn, m: &Metrics) -> f64 {
    match on {
        MatchOn::Accuracy => -m.accuracy,
        MatchOn::Loss => m.loss,
    }
}

/// The search's record: every radius tried, and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    /// Radii and their metrics in order, the bracket's ends first.
    pub steps: Vec<CalibrationStep>,
    /// The target lay between the ends' values.
    pub bracketed: bool,
    /// Tolerance or width reached within the budget.
    pub converged: bool,
    /// Index in `steps` of the radius whose value is nearest the target (the smallest radius
    /// of ties).
    pub best: usize,
}

/// Bisection of log ε over `bracket` for the radius whose metrics meet `target` (of
/// `reference`), `measure` giving the metrics at a radius.
///
/// # Errors
/// Whatever `measure` fails with.
pub fn search(
    bracket: [f64; 2],
    target: &Metrics,
    config: &CalibrateConfig,
    mut measure: impl FnMut(f64) -> Result<Metrics>,
) -> Result<Search> {
    let on = config.matched_on;
    let goal = strength(on, target);
    let gap = |m: &Metrics| (strength(on, m) - goal).abs();
    let mut steps = Vec::new();
    let mut at = |eps: f64, steps: &mut Vec<CalibrationStep>| -> Result<Metrics> {
        let metrics = measure(eps)?;
        steps.push(CalibrationStep { eps, metrics });
        Ok(metrics)
    };
    let [mut lo, mut hi] = bracket;
    let weak = at(lo, &mut steps)?;
    let strong = at(hi, &mut steps)?;
    let bracketed = strength(on, &weak) <= goal && goal <= strength(on, &strong);
    // A step function (accuracy on n examples) meets its target on a whole interval of
    // radii: with no tolerance the search goes on to that interval's lower end.
    let met = |m: &Metrics| config.tolerance > 0.0 && gap(m) <= config.tolerance;
    let mut converged = bracketed && (met(&weak) || met(&strong));
    if bracketed {
        while !converged && steps.len() < config.max_evaluations {
            if hi / lo <= 1.0 + config.relative_width {
                converged = true;
                break;
            }
            let mid = (lo * hi).sqrt();
            let m = at(mid, &mut steps)?;
            if met(&m) {
                converged = true;
            } else if strength(on, &m) < goal {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        converged |= hi / lo <= 1.0 + config.relative_width;
    }
    let best = steps
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            gap(&a.metrics)
                .total_cmp(&gap(&b.metrics))
                .then(a.eps.total_cmp(&b.eps))
        })
        .map_or(0, |(i, _)| i);
    Ok(Search {
        steps,
        bracketed,
        converged,
        best,
    })
}

/// Calibrates `subject`: the reference attack's accuracy (or loss), then the search over the
/// other norm's radius, every attack from the same seeded starts on the same examples.
///
/// # Errors
/// Invalid settings (named by field), a subset larger than the test split, a non-finite loss.
pub fn calibrate(
    subject: &Subject,
    config: &CalibrateConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Measured<CalibrateReport>> {
    config.check()?;
    let (test, data) = subject.test_subset(config.subset, "subset")?;
    let mut cost = advland_schema::Cost::default();
    let mut run = |settings: PgdSettings| -> Result<Metrics> {
        let attack = Attack::new(settings);
        let (result, c) = evaluate(
            &subject.model,
            &test,
            std::slice::from_ref(&attack),
            config.batch_size,
            config.seed,
            device,
            observer,
        )?;
        cost += c;
        Ok(result.robust[0].metrics)
    };
    let reference_metrics = run(config.reference.clone())?;
    let [c, h, w] = test.shape;
    let dimension = c * h * w;
    let ends = bracket(&config.reference, config.norm, dimension);
    let r = &config.reference;
    let found = search(ends, &reference_metrics, config, |eps| {
        run(PgdSettings {
            norm: config.norm,
            eps,
            step_size: eps * r.step_size / r.eps,
            ..r.clone()
        })
    })?;
    let best = found.steps[found.best];
    let report = CalibrateReport {
        checkpoint: subject.checkpoint.clone(),
        epoch: subject.epoch,
        reference: config.reference.clone(),
        reference_metrics,
        norm: config.norm,
        matched_on: config.matched_on,
        target: match config.matched_on {
            MatchOn::Accuracy => reference_metrics.accuracy,
            MatchOn::Loss => reference_metrics.loss,
        },
        dimension,
        bracket: ends,
        bracketed: found.bracketed,
        converged: found.converged,
        eps: best.eps,
        metrics: best.metrics,
        ratio: finite("ratio", best.eps / r.eps).map_err(|e| Error::rule("eps", e))?,
        steps: found.steps,
    };
    Ok(Measured { report, cost, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(accuracy: f64, loss: f64) -> Metrics {
        Metrics {
            loss,
            accuracy,
            examples: 100,
        }
    }

    /// A smooth stand-in for an attack's accuracy: falls from 1 to 0 as ε grows.
    fn accuracy_at(eps: f64) -> Metrics {
        let a = 1.0 / (1.0 + eps * eps);
        metrics(a, -a.ln())
    }

    #[test]
    fn bisection_finds_the_radius_of_a_known_accuracy() {
        let config = CalibrateConfig {
            relative_width: 1e-6,
            max_evaluations: 60,
            ..CalibrateConfig::new(PgdSettings::new(Norm::Linf, 0.1, 10))
        };
        // accuracy 0.2 at ε = 2.
        let target = metrics(0.2, 0.0);
        let s = search([0.5, 8.0], &target, &config, |e| Ok(accuracy_at(e))).unwrap();
        assert!(s.bracketed && s.converged);
        assert_eq!(
            s.steps[..2].iter().map(|t| t.eps).collect::<Vec<_>>(),
            [0.5, 8.0]
        );
        assert!(
            (s.steps[s.best].eps - 2.0).abs() < 1e-5,
            "{:?}",
            s.steps[s.best]
        );
        // The same radius by the loss, which rises with ε.
        let loss = Metrics {
            loss: -(0.2f64).ln(),
            ..target
        };
        let by_loss = CalibrateConfig {
            matched_on: MatchOn::Loss,
            ..config.clone()
        };
        let s = search([0.5, 8.0], &loss, &by_loss, |e| Ok(accuracy_at(e))).unwrap();
        assert!((s.steps[s.best].eps - 2.0).abs() < 1e-5);
        // A tolerance stops early; a budget without it leaves the search unconverged.
        let loose = CalibrateConfig {
            tolerance: 0.05,
            ..config.clone()
        };
        let s = search([0.5, 8.0], &target, &loose, |e| Ok(accuracy_at(e))).unwrap();
        assert!(s.converged && s.steps.len() < 10);
        let short = CalibrateConfig {
            max_evaluations: 4,
            ..config.clone()
        };
        // (Not [0.5, 8], whose geometric midpoint is the answer itself.)
        let s = search([0.5, 9.0], &target, &short, |e| Ok(accuracy_at(e))).unwrap();
        assert!(!s.converged && s.steps.len() == 4, "{s:?}");
    }

    #[test]
    fn a_step_function_is_matched_at_the_lower_end_of_its_plateau() {
        let config = CalibrateConfig {
            relative_width: 1e-4,
            max_evaluations: 60,
            ..CalibrateConfig::new(PgdSettings::new(Norm::Linf, 0.1, 10))
        };
        // Accuracy 0.5 on [1, 3), 0.25 from 3 on: matching 0.25 is ε = 3, not the bracket end.
        let step = |e: f64| {
            Ok(metrics(
                if e < 1.0 {
                    0.75
                } else if e < 3.0 {
                    0.5
                } else {
                    0.25
                },
                0.0,
            ))
        };
        let s = search([0.5, 10.0], &metrics(0.25, 0.0), &config, step).unwrap();
        assert!(s.bracketed && s.converged);
        let eps = s.steps[s.best].eps;
        assert!((3.0..3.0 * (1.0 + 1e-4)).contains(&eps), "{eps}");
    }

    #[test]
    fn a_target_outside_the_bracket_is_reported_with_the_nearer_end() {
        let config = CalibrateConfig::new(PgdSettings::new(Norm::Linf, 0.1, 10));
        let s = search([0.5, 1.0], &metrics(0.1, 0.0), &config, |e| {
            Ok(accuracy_at(e))
        })
        .unwrap();
        assert!(!s.bracketed && !s.converged);
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.steps[s.best].eps, 1.0);
    }

    #[test]
    fn the_bracket_is_the_inscribed_and_circumscribed_balls() {
        let linf = PgdSettings::new(Norm::Linf, 0.1, 10);
        let [lo, hi] = bracket(&linf, Norm::L2, 784);
        assert_eq!((lo, hi), (0.1, 0.1 * 28.0));
        let l2 = PgdSettings::new(Norm::L2, 2.8, 10);
        let [lo, hi] = bracket(&l2, Norm::Linf, 784);
        assert!((lo - 0.1).abs() < 1e-12 && hi == 2.8);
        // The same norm is refused, naming the flag.
        let same = CalibrateConfig {
            norm: Norm::Linf,
            ..CalibrateConfig::new(linf)
        };
        let Err(Error::InvalidConfig { field, .. }) = same.check() else {
            panic!("same norm accepted")
        };
        assert_eq!(field, "to");
    }
}
