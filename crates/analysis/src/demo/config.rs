//! What the demo trains and measures: [`DemoConfig`], resolved from its quick or full plan,
//! and the configurations of every library call it composes.
//!
//! Attack strengths ε∞ = 0.1 and ε₂ = 1.0 are common Fashion-MNIST choices (not the paper's,
//! which are unknown, paper.md §6); on 784 pixels an L∞ ball of 0.1 has L2 diameter 2.8, so
//! the L2 ball is the smaller one.

use advland_schema::{
    AttackSpec, AutoattackLiteSettings, Axis, DataSettings, DirectionKind, Estimator, EvalSettings,
    IgnoreParams, LrSchedule, Norm, Normalization, ObjectiveKind, PgdSettings, Precision, Shard,
    TrainSettings, TrainingSettings,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::flatness::FlatnessConfig;
use crate::relate::RelateConfig;
use crate::sharpness::SharpnessConfig;
use crate::surface::SurfaceConfig;

/// The L∞ radius of the demo's attacks.
pub const LINF_EPS: f64 = 0.1;
/// The L2 radius of the demo's attacks.
pub const L2_EPS: f64 = 1.0;
/// The demo's models, in the order they are trained and reported: each name is also its run
/// directory below the output directory.
pub const RUNS: [&str; 3] = ["standard", "linf", "l2"];

/// Evaluation batch size of the final evaluation, the epoch evaluations and the surfaces.
pub(super) const EVAL_BATCH: usize = 500;

/// The sizes of a demo run: the quick or full plan ([`DemoConfig::new`]) resolved into every
/// number the demo uses besides its fixed choices (the attacks' radii, the optimizer).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    /// The quick plan (small and fast: under 2 minutes on 2 cores) rather than the full one.
    pub quick: bool,
    /// The seed of every run and measurement.
    pub seed: u64,
    /// Training examples (evenly spaced); `None`: the whole training split.
    pub train_subset: Option<usize>,
    /// Test examples the runs are evaluated on.
    pub test_subset: usize,
    /// Training epochs of each model.
    pub epochs: usize,
    /// PGD steps of adversarial training.
    pub train_steps: usize,
    /// Test examples of the evaluation after every epoch.
    pub epoch_eval_subset: usize,
    /// PGD steps of the evaluation after every epoch.
    pub epoch_eval_steps: usize,
    /// PGD steps of the final evaluation and of the input-flatness measurements.
    pub final_steps: usize,
    /// Iterations of each APGD run of the final autoattack-lite evaluation.
    pub apgd_steps: usize,
    /// Test examples of the sharpness measurements.
    pub sharpness_subset: usize,
    /// PGD steps of the attacks of the sharpness measurements and the relation.
    pub sharpness_steps: usize,
    /// Hessian eigenvalues measured.
    pub eigenvalues: usize,
    /// Power iterations of the Hessian eigenvalues.
    pub max_iter: usize,
    /// Radii of the κ probes.
    pub radii: Vec<f64>,
    /// Random directions of the κ probes.
    pub directions: usize,
    /// Steps of the worst-case κ ascent (its own setting; it once took `directions`' value).
    pub ascent_steps: usize,
    /// Test examples of the input-flatness measurements (the relation takes at most 64).
    pub flatness_subset: usize,
    /// Epochs whose checkpoints the relation of flatness and κ measures, for every model.
    pub relation_epochs: Vec<usize>,
    /// Test examples of the loss surfaces.
    pub surface_subset: usize,
    /// PGD steps of the attack re-solved at every surface point.
    pub surface_steps: usize,
    /// The axes of the 2-D surfaces.
    pub surface_grid_2d: Axis,
    /// The axis of the 1-D surfaces.
    pub surface_grid_1d: Axis,
}

impl DemoConfig {
    /// The quick plan when `quick`, the full one otherwise, with `seed`.
    pub fn new(quick: bool, seed: u64) -> Self {
        if quick {
            Self::quick(seed)
        } else {
            Self::full(seed)
        }
    }

    /// Small and fast (under 2 minutes on 2 cores): fewer examples, epochs and PGD steps.
    pub fn quick(seed: u64) -> Self {
        Self {
            quick: true,
            seed,
            train_subset: Some(2000),
            test_subset: 500,
            epochs: 3,
            train_steps: 5,
            epoch_eval_subset: 200,
            epoch_eval_steps: 5,
            final_steps: 10,
            apgd_steps: 10,
            sharpness_subset: 32,
            sharpness_steps: 5,
            eigenvalues: 2,
            max_iter: 10,
            radii: vec![1e-2],
            directions: 1,
            ascent_steps: 1,
            flatness_subset: 16,
            relation_epochs: vec![1, 3],
            surface_subset: 100,
            surface_steps: 3,
            surface_grid_2d: axis(5),
            surface_grid_1d: axis(11),
        }
    }

    /// The full demo.
    pub fn full(seed: u64) -> Self {
        Self {
            quick: false,
            seed,
            train_subset: None,
            test_subset: 2000,
            epochs: 10,
            train_steps: 7,
            epoch_eval_subset: 500,
            epoch_eval_steps: 10,
            final_steps: 20,
            apgd_steps: 100,
            sharpness_subset: 256,
            sharpness_steps: 10,
            eigenvalues: 5,
            max_iter: 30,
            radii: vec![1e-3, 1e-2],
            directions: 2,
            ascent_steps: 2,
            flatness_subset: 128,
            relation_epochs: vec![2, 5, 10],
            surface_subset: 256,
            surface_steps: 5,
            // 17×17 (step 0.125) reads as a landscape where 11×11 showed blocks. A point
            // costs 0.54 CPU-s per norm (256 images, PGD-5, three objectives), so the two
            // 2-D surfaces take 312 CPU-s instead of 131 (21×21: 476); measured in a whole
            // `advland demo` (dev build, 2 shared cores): 187 s of its 837 s.
            surface_grid_2d: axis(17),
            surface_grid_1d: axis(21),
        }
    }

    /// Refuses a configuration the demo could not finish, before any training: the relation
    /// reads checkpoints of `relation_epochs`, the surfaces that of the last epoch.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn check(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(invalid("epochs", "must be at least 1".to_owned()));
        }
        if let Some(e) = self
            .relation_epochs
            .iter()
            .find(|&&e| e == 0 || e > self.epochs)
        {
            return Err(invalid(
                "relation_epochs",
                format!(
                    "epoch {e} has no checkpoint: runs save epochs 1 to {}",
                    self.epochs
                ),
            ));
        }
        for (field, axis) in [
            ("surface_grid_2d", &self.surface_grid_2d),
            ("surface_grid_1d", &self.surface_grid_1d),
        ] {
            axis.check(field).map_err(|e| Error::rule(field, e))?;
        }
        Ok(())
    }

    /// The models, in [`RUNS`] order, with the attack each is trained against.
    pub fn runs(&self) -> [(&'static str, Option<PgdSettings>); 3] {
        [
            (RUNS[0], None),
            (
                RUNS[1],
                Some(PgdSettings::new(Norm::Linf, LINF_EPS, self.train_steps)),
            ),
            (
                RUNS[2],
                Some(PgdSettings::new(Norm::L2, L2_EPS, self.train_steps)),
            ),
        ]
    }

    /// The training settings of a model trained against `adversarial` (`None`: standard).
    pub fn train_settings(&self, adversarial: Option<PgdSettings>) -> TrainSettings {
        TrainSettings {
            seed: self.seed,
            data: DataSettings {
                train_subset: self.train_subset,
                test_subset: Some(self.test_subset),
                ..DataSettings::default()
            },
            training: TrainingSettings {
                epochs: self.epochs,
                batch_size: 128,
                lr: 0.05,
                schedule: LrSchedule::Cosine,
                checkpoint_every: 1,
                gradient_budget: None,
                ..TrainingSettings::default()
            },
            adversarial,
            eval: EvalSettings {
                subset: Some(self.epoch_eval_subset),
                attacks: threats(self.epoch_eval_steps),
                batch_size: EVAL_BATCH,
            },
            ..TrainSettings::default()
        }
    }

    /// The final evaluation's attacks, one group per demo attack: PGD and autoattack-lite at
    /// its norm and radius, so each group's per-example worst case is the robustness under that
    /// threat.
    pub fn final_attacks(&self) -> Vec<[AttackSpec; 2]> {
        threats(self.final_steps)
            .into_iter()
            .map(|pgd| {
                let lite = AutoattackLiteSettings {
                    steps: self.apgd_steps,
                    ..AutoattackLiteSettings::new(pgd.norm, pgd.eps)
                };
                [AttackSpec::Pgd(pgd), AttackSpec::AutoattackLite(lite)]
            })
            .collect()
    }

    /// What `demo.json` records as its `meta.config`: the plan's name, the runs, the final
    /// attacks and the standard model's training settings.
    pub fn recorded(&self) -> serde_json::Value {
        serde_json::json!({
            "quick": self.quick,
            "runs": RUNS,
            "final_attacks": self.final_attacks(),
            "base_settings": self.train_settings(None),
        })
    }

    /// The sharpness measurement of one estimator on the adversarial or frozen loss.
    pub fn sharpness_config(
        &self,
        estimator: Estimator,
        objective: ObjectiveKind,
        attack: &PgdSettings,
    ) -> SharpnessConfig {
        SharpnessConfig {
            estimator,
            objective,
            attack: Some(attack.clone()),
            subset: self.sharpness_subset,
            k: self.eigenvalues,
            max_iter: self.max_iter,
            radii: self.radii.clone(),
            directions: self.directions,
            ascent_steps: self.ascent_steps,
            seed: self.seed,
            ..SharpnessConfig::default()
        }
    }

    /// Input flatness under one attack, with one example's 2-D input surface (±2ε, 21×21)
    /// and the logit Lipschitz estimate: cheap next to the Hessian measures.
    pub fn flatness_config(&self, attack: PgdSettings) -> FlatnessConfig {
        FlatnessConfig {
            subset: self.flatness_subset,
            trace_samples: 5,
            random_directions: 1,
            surface_example: Some(0),
            lipschitz_steps: 10,
            seed: self.seed,
            ..FlatnessConfig::new(attack)
        }
    }

    /// Input flatness next to κ across the checkpoints of `relation_epochs`.
    pub fn relate_config(&self) -> RelateConfig {
        RelateConfig {
            attacks: threats(self.sharpness_steps),
            subset: self.flatness_subset.min(64),
            radii: self.radii.clone(),
            directions: self.directions,
            ascent_steps: self.ascent_steps,
            power_iterations: 10,
            seed: self.seed,
        }
    }

    /// A loss surface on `axis` (2-D when `two_d`) of a model under its own training attack
    /// `attack`: clean, adversarial (attack re-solved at every point) and adversarial-frozen.
    pub fn surface_config(&self, attack: &PgdSettings, axis: Axis, two_d: bool) -> SurfaceConfig {
        SurfaceConfig {
            directions: DirectionKind::Random,
            normalization: Normalization::Filter,
            ignore: IgnoreParams::Biasbn,
            objective: vec![
                ObjectiveKind::Clean,
                ObjectiveKind::Adversarial,
                ObjectiveKind::AdversarialFrozen,
            ],
            attack: Some(PgdSettings::new(
                attack.norm,
                attack.eps,
                self.surface_steps,
            )),
            x: axis,
            y: two_d.then_some(axis),
            subset: self.surface_subset,
            batch_size: EVAL_BATCH,
            precision: Precision::F32,
            shard: Shard::WHOLE,
            workers: 1,
            bn_recompute: None,
            seed: self.seed,
        }
    }
}

/// The two demo attacks with `steps` PGD steps: L∞ first, then L2.
pub fn threats(steps: usize) -> Vec<PgdSettings> {
    vec![
        PgdSettings::new(Norm::Linf, LINF_EPS, steps),
        PgdSettings::new(Norm::L2, L2_EPS, steps),
    ]
}

/// The grid axis from −1 to 1 with `points` points.
fn axis(points: usize) -> Axis {
    Axis {
        min: -1.0,
        max: 1.0,
        points,
    }
}

fn invalid(field: &'static str, reason: String) -> Error {
    Error::InvalidConfig { field, reason }
}

#[cfg(test)]
mod tests;
