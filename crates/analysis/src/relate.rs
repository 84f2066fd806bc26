//! Input flatness next to parameter smoothness κ across models and attacks, with Spearman
//! rank correlations (paper.md §2.4, §5 claim C5): one [`relate`] per [`RelateConfig`],
//! composing [`flatness::measure`] and [`sharpness::measure`] per (model, attack).

use advland_schema::flatness::{
    Correlation, FlatnessAtPoint, InputPoint, RelationReport, RelationRow,
};
use advland_schema::{
    Cost, DataSubset, Estimator, Norm, ObjectiveKind, PgdSettings, SharpnessEstimate,
};
use advland_train::Observer;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

#[cfg(feature = "clap")]
use advland_schema::flag_values::{at_least_one, positive_number};

use crate::error::{Error, Result};
use crate::flatness::{self, FlatnessConfig, spearman};
use crate::precision::require_f64;
use crate::sharpness::{self, SharpnessConfig};
use crate::subject::{Measured, Subject};

/// PGD steps of a model's own training attack when it stands in for a missing attack list,
/// and of a given attack without its own count: relating needs comparable attacks, not the
/// training run's step count.
pub const DEFAULT_ATTACK_STEPS: usize = 10;

/// A relation of flatness and smoothness over several models. With the `clap` feature these
/// are the flags of `advland relate` but the attacks' (defaults: [`RelateConfig::default`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct RelateConfig {
    /// Attacks each model is measured under; empty: each model's training attack (PGD-10),
    /// or L∞ ε = 0.1 for a standard model.
    #[cfg_attr(feature = "clap", arg(skip))]
    pub attacks: Vec<PgdSettings>,
    /// Test examples (evenly spaced) for both measurements.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().subset))]
    pub subset: usize,
    /// κ probe radii as fractions of ‖θ‖.
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ',', value_parser = positive_number, default_value = "1e-3,1e-2"))]
    pub radii: Vec<f64>,
    /// Random directions per radius.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().directions))]
    pub directions: usize,
    /// Ascent steps of the worst-case κ probe (counted in κ's maximum).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().ascent_steps))]
    pub ascent_steps: usize,
    /// Power-iteration steps of the input-Hessian eigenvalue.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().power_iterations))]
    pub power_iterations: usize,
    /// Seed.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().seed))]
    pub seed: u64,
}

impl Default for RelateConfig {
    /// The command line's defaults: each model's own attack, 64 examples, κ at radii 1e-3 and
    /// 1e-2 of ‖θ‖ along 2 directions with 2 ascent steps, 20 power iterations.
    fn default() -> Self {
        Self {
            attacks: Vec::new(),
            subset: 64,
            radii: vec![1e-3, 1e-2],
            directions: 2,
            ascent_steps: 2,
            power_iterations: 20,
            seed: 0,
        }
    }
}

/// The flags' defaults.
#[cfg(feature = "clap")]
fn defaults() -> RelateConfig {
    RelateConfig::default()
}

/// One row per (model, attack) and the rank correlations of each flatness measure with κ.
///
/// `subjects` are loaded as the iteration reaches them, so only one model is in memory at a
/// time; a loading error (the caller's type `E`) stops the relation. `observer` hears rows
/// done of the total (`relate`).
///
/// # Errors
/// The first loading error, invalid settings, or a failed measurement.
pub fn relate<E, I>(
    subjects: I,
    config: &RelateConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> std::result::Result<Measured<RelationReport>, E>
where
    E: From<Error>,
    I: IntoIterator<Item = std::result::Result<Subject, E>>,
    I::IntoIter: ExactSizeIterator,
{
    require_f64(
        device,
        "relate computes its κ and input flatness in f64 (it has no precision setting)",
    )?;
    let subjects = subjects.into_iter();
    let total = subjects.len() * config.attacks.len().max(1);
    let mut rows = Vec::new();
    let mut cost = Cost::default();
    observer.progress("relate", 0, total);
    for subject in subjects {
        let subject = subject?;
        let attacks = if config.attacks.is_empty() {
            vec![subject.trained_with.as_ref().map_or_else(
                || PgdSettings::new(Norm::Linf, 0.1, DEFAULT_ATTACK_STEPS),
                |a| PgdSettings::new(a.norm, a.eps, DEFAULT_ATTACK_STEPS),
            )]
        } else {
            config.attacks.clone()
        };
        for attack in attacks {
            let (row, c) = relation_row(&subject, &attack, config, device)?;
            cost += c;
            rows.push(row);
            observer.progress("relate", rows.len(), total);
        }
    }
    let report = RelationReport {
        correlations: correlations(&rows),
        rows,
    };
    let data = DataSubset {
        name: "test subsets of each checkpoint's data set".to_owned(),
        examples: config.subset,
        total: config.subset,
        selection: "evenly-spaced".to_owned(),
    };
    Ok(Measured { report, cost, data })
}

/// Spearman's ρ of each measure with κ (and with κ on random directions alone, when every row
/// has it).
fn correlations(rows: &[RelationRow]) -> Vec<Correlation> {
    let kappa: Vec<f64> = rows.iter().map(|r| r.kappa_adversarial).collect();
    let random: Option<Vec<f64>> = rows.iter().map(|r| r.kappa_adversarial_random).collect();
    let mut targets = vec![("kappa_adversarial", kappa)];
    if let Some(random) = random {
        targets.push(("kappa_adversarial_random", random));
    }
    targets
        .iter()
        .flat_map(|(with, kappa)| {
            RelationRow::MEASURES.iter().map(|m| Correlation {
                measure: (*m).to_owned(),
                with: (*with).to_owned(),
                spearman: spearman(
                    &rows.iter().filter_map(|r| r.measure(m)).collect::<Vec<_>>(),
                    kappa,
                ),
                rows: rows.len(),
            })
        })
        .collect()
}

/// Flatness at the attack's points and κ of the adversarial loss (with its frozen ablation)
/// for one model under one attack.
fn relation_row(
    subject: &Subject,
    attack: &PgdSettings,
    config: &RelateConfig,
    device: &Device,
) -> Result<(RelationRow, Cost)> {
    // The attack as its norm, radius and steps alone, as both measurements resolve it.
    let attack_settings = PgdSettings::new(attack.norm, attack.eps, attack.steps);
    let flat = flatness::measure(
        subject,
        &FlatnessConfig {
            subset: config.subset,
            power_iterations: config.power_iterations,
            trace_samples: 2,
            // Only the point measures enter the table; curves would be work thrown away.
            curve_points: 0,
            random_directions: 0,
            seed: config.seed,
            ..FlatnessConfig::new(attack_settings.clone())
        },
        device,
        &mut advland_train::Silent,
    )?;
    let sharp = sharpness::measure(
        subject,
        &[],
        &SharpnessConfig {
            estimator: Estimator::Lipschitz,
            objective: ObjectiveKind::Adversarial,
            attack: Some(attack_settings),
            subset: config.subset,
            radii: config.radii.clone(),
            directions: config.directions,
            ascent_steps: config.ascent_steps,
            seed: config.seed,
            ..SharpnessConfig::default()
        },
        device,
        &mut advland_train::Silent,
    )?;
    let SharpnessEstimate::Lipschitz(l) = &sharp.report.estimate else {
        return Err(Error::InvalidConfig {
            field: "estimator",
            reason: "internal: the lipschitz estimator returned another estimate".to_owned(),
        });
    };
    let adversarial = l
        .objectives
        .iter()
        .find(|o| o.kind == ObjectiveKind::Adversarial);
    let kappa = |kind: ObjectiveKind| {
        l.objectives
            .iter()
            .find(|o| o.kind == kind)
            .map_or(0.0, |o| o.kappa_max)
    };
    let at = |p: InputPoint| -> Result<&FlatnessAtPoint> {
        flat.report
            .points
            .iter()
            .find(|x| x.point == p)
            .ok_or(Error::InvalidConfig {
                field: "points",
                reason: "internal: the flatness report lacks a point".to_owned(),
            })
    };
    let (adv, clean) = (at(InputPoint::Adversarial)?, at(InputPoint::Clean)?);
    let mut cost = flat.cost;
    cost += sharp.cost;
    Ok((
        RelationRow {
            checkpoint: subject.checkpoint.clone(),
            epoch: subject.epoch,
            trained_with: subject.trained_with.clone(),
            attack: attack.clone(),
            kappa_adversarial: kappa(ObjectiveKind::Adversarial),
            kappa_frozen: kappa(ObjectiveKind::AdversarialFrozen),
            kappa_adversarial_random: adversarial
                .and_then(|o| o.random.iter().min_by(|a, b| a.radius.total_cmp(&b.radius)))
                .map(|p| p.kappa_max),
            hessian_top_adversarial: adv.hessian_top.median,
            curvature_adversarial: adv.curvature_along_gradient.median,
            grad_l2_adversarial: adv.grad_l2.median,
            hessian_top_clean: clean.hessian_top.median,
            grad_l2_clean: clean.grad_l2.median,
        },
        cost,
    ))
}
