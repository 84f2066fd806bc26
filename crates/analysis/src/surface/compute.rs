//! One surface computation as a library call: the configuration, the directions it asks for,
//! and a [`SurfaceRun`] that evaluates any subset of the grid's points (so a caller can stream
//! them to disk, resume, or shard) and assembles the report payload.

use std::collections::BTreeMap;
use std::path::Path;

use advland_schema::{
    Axis, Cost, DataSubset, DirectionKind, IgnoreParams, Normalization, ObjectiveKind, PgdSettings,
    Precision, Shard, SurfaceReport, SurfaceValues,
};
use advland_train::params::{ParamLayout, flatten};
use advland_train::{Attack, Model};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

#[cfg(feature = "clap")]
use advland_schema::flag_values::at_least_one;

use super::{Directions, Plane, PointValues, RandomSpec, evaluate};
use crate::error::{Error, Result};
use crate::hessian::{FiniteDifferenceHessian, PowerIterationConfig, top_eigenpairs};
use crate::model_objective::{ModelObjective, ObjectiveSpec, to_host_f64};
use crate::precision::{central_difference_step, computes_f64};
use crate::subject::{Measured, Subject};
use crate::vector::norm;

/// A loss surface of one model. With the `clap` feature these are the flags of `advland
/// surface` but the attack's and batch norm's (their defaults are [`SurfaceConfig::default`]'s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct SurfaceConfig {
    /// How d₁ (and d₂) are made: Gaussian filter-normalised (`random`), θ_B − θ_A
    /// (`interpolation`, one --to), θ_B − θ_A and θ_C − θ_A (`plane`, two --to), or the top
    /// Hessian eigenvectors of the clean loss at θ₀ (`hessian`); ignored when directions are
    /// given ready-made.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().directions))]
    pub directions: DirectionKind,
    /// Scaling of random directions.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().normalization))]
    pub normalization: Normalization,
    /// Parameters random directions leave at zero.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().ignore))]
    pub ignore: IgnoreParams,
    /// The losses evaluated, comma separated, each at most once.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_enum, value_delimiter = ',', default_value = "clean")
    )]
    pub objective: Vec<ObjectiveKind>,
    /// The attack of the adversarial objectives (none when all are clean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(skip))]
    pub attack: Option<PgdSettings>,
    /// Coordinates along d₁ as MIN:MAX:POINTS.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().x, allow_hyphen_values = true))]
    pub x: Axis,
    /// Coordinates along d₂ as MIN:MAX:POINTS (2-D surfaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long, allow_hyphen_values = true))]
    pub y: Option<Axis>,
    /// Number of test examples (evenly spaced) the loss averages over.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().subset))]
    pub subset: usize,
    /// Examples per batch.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().batch_size))]
    pub batch_size: usize,
    /// Precision of the evaluation.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().precision))]
    pub precision: Precision,
    /// Compute only the grid points k with k mod N = I (`I/N`); join shards with `merge`.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().shard))]
    pub shard: Shard,
    /// Grid points evaluated at once, one model copy each (the backend's threads are shared).
    /// One by default: each point's loss already runs its chunks of examples in parallel,
    /// and a second worker measured the same time with 25 % more memory (21×21 on 1,000
    /// images: 19.2 s with 1, 19.7–20.1 s with 2; bench/RESULTS.md). More workers help where
    /// a point's batch is one chunk. Results are identical for any number.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().workers))]
    pub workers: usize,
    /// Re-estimate batch-norm running statistics at every θ on this many evenly spaced
    /// training examples (`--bn recompute`); absent: the model's own statistics everywhere
    /// (`--bn eval`). Ignored by models without batch norm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(skip))]
    pub bn_recompute: Option<usize>,
    /// Seed of random directions and attack starts.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().seed))]
    pub seed: u64,
}

/// The flags' defaults.
#[cfg(feature = "clap")]
fn defaults() -> SurfaceConfig {
    SurfaceConfig::default()
}

impl Default for SurfaceConfig {
    /// The command line's defaults: a 1-D clean surface along one random filter-normalised
    /// direction (biases and norm parameters left at zero), −1:1:21, on 1,000 examples in f32.
    fn default() -> Self {
        Self {
            directions: DirectionKind::Random,
            normalization: Normalization::Filter,
            ignore: IgnoreParams::Biasbn,
            objective: vec![ObjectiveKind::Clean],
            attack: None,
            x: Axis {
                min: -1.0,
                max: 1.0,
                points: 21,
            },
            y: None,
            subset: 1000,
            batch_size: 500,
            precision: Precision::F32,
            shard: Shard::WHOLE,
            workers: 1,
            bn_recompute: None,
            seed: 0,
        }
    }
}

impl SurfaceConfig {
    /// Refuses a request for directions that does not fit `directions` and `y`, before any
    /// model is loaded: interpolation takes one other model and is 1-D, plane takes two and is
    /// 2-D, random and Hessian directions take none, and neither do directions loaded from a
    /// file (`loaded`), whatever `directions` says.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming `to` (the other models) or `y`.
    pub fn check_directions(&self, others: usize, loaded: bool) -> Result<()> {
        let invalid =
            |field: &'static str, reason: String| Err(Error::InvalidConfig { field, reason });
        if loaded {
            return if others == 0 {
                Ok(())
            } else {
                invalid("to", "loaded directions take no other models".to_owned())
            };
        }
        let kind = self.directions.as_str();
        let wanted = match self.directions {
            DirectionKind::Interpolation => 1,
            DirectionKind::Plane => 2,
            DirectionKind::Random | DirectionKind::Hessian => 0,
        };
        if others != wanted {
            return invalid(
                "to",
                format!("{kind} directions take {wanted} other model(s), got {others}"),
            );
        }
        match (self.directions, self.y.is_some()) {
            (DirectionKind::Plane, false) => invalid(
                "y",
                "plane directions make a 2-D surface: give y".to_owned(),
            ),
            (DirectionKind::Interpolation, true) => invalid(
                "y",
                "interpolation directions make a 1-D surface: drop y".to_owned(),
            ),
            _ => Ok(()),
        }
    }

    /// Refuses settings no surface can be computed with.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the setting.
    pub fn check(&self) -> Result<()> {
        let invalid = |field: &'static str, reason: &str| {
            Err(Error::InvalidConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.objective.is_empty() {
            return invalid(
                "objective",
                "give at least one of clean, adversarial, adversarial-frozen",
            );
        }
        let mut seen = self.objective.clone();
        seen.sort_by_key(|k| k.as_str());
        seen.dedup();
        if seen.len() != self.objective.len() {
            return invalid("objective", "each objective at most once");
        }
        let adversarial = self.objective.iter().any(|k| *k != ObjectiveKind::Clean);
        if adversarial != self.attack.is_some() {
            return invalid(
                "attack",
                "needed exactly when an adversarial objective is evaluated",
            );
        }
        if let Some(attack) = &self.attack {
            attack
                .check("attack")
                .map_err(|e| Error::rule("attack", e))?;
        }
        if self.workers == 0 {
            return invalid("workers", "must be at least 1");
        }
        Ok(())
    }

    fn objective(
        &self,
        subject: &Subject,
        data: &advland_data::Dataset,
        kind: ObjectiveKind,
        precision: Precision,
        freeze_activations: bool,
        device: &Device,
    ) -> Result<ModelObjective> {
        let spec = ObjectiveSpec {
            kind,
            attack: self.attack.clone().map(Attack::new),
            precision,
            batch_size: self.batch_size,
            seed: self.seed,
            freeze_activations,
        };
        ModelObjective::new(&subject.model, data, &spec, device)
    }
}

/// The directions `config.directions` asks for at `subject`: seeded random ones, the way to
/// the models `to` (named, one for interpolation, two for a plane), or the top Hessian
/// eigenvectors of the clean loss.
///
/// # Errors
/// A count of `to` models that does not fit the kind, another architecture, a failed
/// eigen-solve.
pub fn make_directions(
    subject: &Subject,
    to: &[(String, Model)],
    config: &SurfaceConfig,
    device: &Device,
) -> Result<Directions> {
    config.check_directions(to.len(), false)?;
    let layout = ParamLayout::of(&subject.model);
    let origin = to_host_f64(&flatten(&subject.model));
    let count = 1 + usize::from(config.y.is_some());
    match config.directions {
        DirectionKind::Random => {
            let spec = RandomSpec {
                normalization: config.normalization,
                ignore: config.ignore,
                seed: config.seed,
            };
            Directions::random(&layout, &origin, &spec, count)
        }
        DirectionKind::Interpolation | DirectionKind::Plane => {
            let mut names = vec![subject.checkpoint.clone()];
            let mut others = Vec::new();
            for (name, other) in to {
                if ParamLayout::of(other) != layout {
                    return Err(Error::InvalidConfig {
                        field: "to",
                        reason: format!("{name}: another architecture than {}", subject.checkpoint),
                    });
                }
                names.push(name.clone());
                others.push(to_host_f64(&flatten(other)));
            }
            Directions::between(&origin, &others, names)
        }
        DirectionKind::Hessian => {
            let (data, _) = subject.test_subset(config.subset, "subset")?;
            // The exact local Hessian (θ₀'s activation pattern) of the clean loss: the
            // finite-difference HVPs of a live ReLU network do not converge. In f64, or in f32
            // where the device has none (most wgpu adapters).
            let precision = if computes_f64(device) {
                Precision::F64
            } else {
                Precision::F32
            };
            let objective = config.objective(
                subject,
                &data,
                ObjectiveKind::Clean,
                precision,
                true,
                device,
            )?;
            let op = FiniteDifferenceHessian::new(
                &objective,
                objective.reference(),
                central_difference_step(precision),
            )?;
            let pairs = top_eigenpairs(
                &op,
                &PowerIterationConfig {
                    k: count,
                    tol: 1e-4,
                    max_iter: 200,
                    seed: config.seed,
                },
            )?;
            let values = pairs.iter().map(|p| p.value).collect();
            Directions::eigenvectors(pairs.into_iter().map(|p| p.vector).collect(), values)
        }
    }
}

/// Directions saved by [`Directions::save`] at `path`, checked against `subject`'s parameters
/// and against the dimensions `config` asks for (two directions exactly when it has a y axis),
/// so surfaces of several checkpoints or norms can share them.
///
/// # Errors
/// [`Error::File`] naming `path`: a missing or malformed file, another model's directions,
/// or a count that does not fit the axes.
pub fn load_directions(
    subject: &Subject,
    path: &Path,
    config: &SurfaceConfig,
) -> Result<Directions> {
    let d = Directions::load(&ParamLayout::of(&subject.model), path)?;
    if (d.vectors.len() == 2) != config.y.is_some() {
        return Err(Error::File {
            path: path.to_owned(),
            reason: format!(
                "holds {} direction(s); {} --y",
                d.vectors.len(),
                if d.vectors.len() == 2 { "give" } else { "drop" }
            ),
        });
    }
    Ok(d)
}

/// A surface ready to evaluate: its objectives, grid and report skeleton.
pub struct SurfaceRun {
    objectives: Vec<ModelObjective>,
    plane: Plane,
    skeleton: SurfaceReport,
    data: DataSubset,
    workers: usize,
    batch_size: usize,
    seed: u64,
}

impl SurfaceRun {
    /// Prepares the surface of `subject` along `directions`. `weights_hash` identifies the
    /// weights in the report (the SHA-256 of the checkpoint's weights file).
    ///
    /// # Errors
    /// Invalid settings ([`SurfaceConfig::check`]), directions that do not fit the model or
    /// the axes.
    pub fn new(
        subject: &Subject,
        directions: &Directions,
        weights_hash: String,
        config: &SurfaceConfig,
        device: &Device,
    ) -> Result<Self> {
        config.check()?;
        let (test, data) = subject.test_subset(config.subset, "subset")?;
        let objectives = config
            .objective
            .iter()
            .map(|&kind| {
                let objective =
                    config.objective(subject, &test, kind, config.precision, false, device)?;
                // Only the grid's losses: Hessian directions come from the model's own
                // statistics (a gradient through re-estimated ones is not the loss's).
                match config.bn_recompute {
                    None => Ok(objective),
                    Some(n) => {
                        objective.recompute_bn_on(&subject.bn_examples(n)?, config.batch_size)
                    }
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let origin = objectives[0].reference();
        // A 2-D surface without --y shares the x axis.
        let y = (directions.vectors.len() == 2).then(|| config.y.unwrap_or(config.x));
        let plane = Plane::new(origin.clone(), directions.vectors.clone(), config.x, y)?;
        let skeleton = SurfaceReport {
            checkpoint: subject.checkpoint.clone(),
            checkpoint_hash: weights_hash,
            epoch: subject.epoch,
            theta_norm: norm(&origin),
            directions: directions.info.clone(),
            x: plane.x,
            y: plane.y,
            attack: config.attack.clone(),
            precision: config.precision,
            bn_recompute: config.bn_recompute,
            examples: test.len(),
            shard: config.shard,
            points: Vec::new(),
            values: config
                .objective
                .iter()
                .map(|&objective| SurfaceValues {
                    objective,
                    loss: Vec::new(),
                    accuracy: Vec::new(),
                })
                .collect(),
        };
        Ok(Self {
            objectives,
            plane,
            skeleton,
            data,
            workers: config.workers,
            batch_size: config.batch_size,
            seed: config.seed,
        })
    }

    /// Hash of everything that decides the values of the grid points (see
    /// [`SurfaceReport::fingerprint`]; the configuration's batch size and seed included).
    pub fn fingerprint(&self) -> String {
        self.skeleton.fingerprint(self.batch_size, self.seed)
    }

    /// The shard of the grid this run computes.
    pub fn shard(&self) -> Shard {
        self.skeleton.shard
    }

    /// Number of objectives evaluated at every point.
    pub fn objectives(&self) -> usize {
        self.objectives.len()
    }

    /// The grid points of this run's shard that `done` lacks, in order.
    pub fn pending(&self, done: &BTreeMap<usize, PointValues>) -> Vec<usize> {
        (0..self.plane.len())
            .filter(|&k| self.skeleton.shard.owns(k) && !done.contains_key(&k))
            .collect()
    }

    /// Number of grid points in the whole surface.
    pub fn grid_len(&self) -> usize {
        self.plane.len()
    }

    /// Evaluates the points `pending`, handing each to `sink` as soon as it is known;
    /// returns the passes spent.
    ///
    /// # Errors
    /// The first objective or sink failure.
    pub fn evaluate<F>(&self, pending: &[usize], sink: F) -> Result<Cost>
    where
        F: FnMut(usize, PointValues) -> Result<()>,
    {
        let workers = (0..self.workers)
            .map(|_| self.objectives.clone())
            .collect::<Vec<_>>();
        let workers = evaluate(workers, &self.plane, pending, sink)?;
        let mut cost = Cost::default();
        for objective in workers.iter().flatten() {
            cost += objective.cost();
        }
        Ok(cost)
    }

    /// The report payload of the points `done` (in grid order).
    pub fn finish(
        self,
        done: &BTreeMap<usize, PointValues>,
        cost: Cost,
    ) -> Measured<SurfaceReport> {
        let mut report = self.skeleton;
        report.points = done.keys().copied().collect();
        for (i, values) in report.values.iter_mut().enumerate() {
            for point in done.values() {
                let (loss, accuracy) = point[i];
                values.loss.push(loss);
                if let Some(a) = accuracy {
                    values.accuracy.push(a);
                }
            }
        }
        Measured {
            report,
            cost,
            data: self.data,
        }
    }
}

/// The whole surface (or the configured shard) in one call, without streaming.
///
/// # Errors
/// As [`SurfaceRun::new`] and [`SurfaceRun::evaluate`].
pub fn compute(
    subject: &Subject,
    directions: &Directions,
    weights_hash: String,
    config: &SurfaceConfig,
    device: &Device,
) -> Result<Measured<SurfaceReport>> {
    let run = SurfaceRun::new(subject, directions, weights_hash, config, device)?;
    let mut done = BTreeMap::new();
    let cost = run.evaluate(&run.pending(&done), |k, values| {
        done.insert(k, values);
        Ok(())
    })?;
    Ok(run.finish(&done, cost))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(config: &SurfaceConfig, others: usize, loaded: bool) -> Option<&'static str> {
        match config.check_directions(others, loaded) {
            Ok(()) => None,
            Err(Error::InvalidConfig { field, .. }) => Some(field),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn each_kind_of_direction_takes_its_models_and_dimensions() {
        let axis = Some(Axis {
            min: -1.0,
            max: 1.0,
            points: 3,
        });
        let of = |directions, y| SurfaceConfig {
            directions,
            y,
            ..SurfaceConfig::default()
        };
        for kind in [DirectionKind::Random, DirectionKind::Hessian] {
            assert_eq!(refusal(&of(kind, None), 0, false), None);
            assert_eq!(refusal(&of(kind, axis), 0, false), None);
            assert_eq!(refusal(&of(kind, None), 1, false), Some("to"));
        }
        let line = of(DirectionKind::Interpolation, None);
        assert_eq!(refusal(&line, 1, false), None);
        assert_eq!(refusal(&line, 0, false), Some("to"));
        assert_eq!(refusal(&line, 2, false), Some("to"));
        assert_eq!(
            refusal(&of(DirectionKind::Interpolation, axis), 1, false),
            Some("y")
        );
        assert_eq!(refusal(&of(DirectionKind::Plane, axis), 2, false), None);
        assert_eq!(
            refusal(&of(DirectionKind::Plane, axis), 1, false),
            Some("to")
        );
        assert_eq!(
            refusal(&of(DirectionKind::Plane, None), 2, false),
            Some("y")
        );
        // Loaded directions decide their own kind and dimension.
        assert_eq!(refusal(&of(DirectionKind::Plane, None), 0, true), None);
        assert_eq!(refusal(&line, 1, true), Some("to"));
    }
}
