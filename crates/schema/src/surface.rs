//! Payloads of loss-surface reports (`advland surface`, `advland merge`).
//!
//! A surface is the loss (and accuracy) of θ(a, b) = θ₀ + a·d₁ + b·d₂ on a grid of (a, b)
//! (1-D surfaces have no d₂), for one or several objectives. A report holds the values of the
//! grid points it computed, listed by flat index `k = j·nx + i` (`i` along x, `j` along y): a
//! complete surface lists every point, a shard (`--shard i/n`) its own subset, and `merge`
//! joins shards back. Missing points are simply absent: nothing is ever written as a sentinel
//! number, and readers put NaN there in memory.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sharpness::{ObjectiveKind, Precision};
use crate::threat::PgdSettings;

/// One grid axis, `min:max:points` on the command line (`-1:1:51`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// First coordinate.
    pub min: f64,
    /// Last coordinate.
    pub max: f64,
    /// Number of points, both ends included (1 means only `min`).
    pub points: usize,
}

impl Axis {
    /// The coordinates, evenly spaced from `min` to `max`.
    pub fn values(&self) -> Vec<f64> {
        if self.points <= 1 {
            return vec![self.min];
        }
        let step = (self.max - self.min) / (self.points - 1) as f64;
        (0..self.points)
            .map(|i| {
                if i + 1 == self.points {
                    self.max
                } else {
                    self.min + step * i as f64
                }
            })
            .collect()
    }

    /// Checks the rules: finite ends, `min < max` unless one point, at least one point.
    ///
    /// # Errors
    /// The rule broken, naming `field`.
    pub fn check(&self, field: &str) -> Result<()> {
        let fail = |reason: &str| Err(Error::invalid(field, reason));
        if !self.min.is_finite() || !self.max.is_finite() {
            return fail("the axis ends must be finite numbers");
        }
        if self.points == 0 {
            return fail("an axis needs at least one point");
        }
        if self.points > 1 && self.min >= self.max {
            return fail("min must be smaller than max");
        }
        Ok(())
    }
}

impl FromStr for Axis {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [min, max, points] = parts.as_slice() else {
            return Err(format!("`{s}` is not MIN:MAX:POINTS (e.g. -1:1:51)"));
        };
        let num = |v: &str, what: &str| {
            v.trim()
                .parse::<f64>()
                .map_err(|_| format!("{what} `{v}` of `{s}` is not a number"))
        };
        let points = points
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("the point count `{points}` of `{s}` is not a whole number"))?;
        let axis = Axis {
            min: num(min, "min")?,
            max: num(max, "max")?,
            points,
        };
        axis.check("axis").map_err(|e| format!("`{s}`: {e}"))?;
        Ok(axis)
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.min, self.max, self.points)
    }
}

/// A disjoint part of a grid: the points whose flat index `k` has `k % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// This shard, 0-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole grid.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether flat grid index `k` belongs to this shard. Interleaving (instead of blocks)
    /// spreads the expensive far-from-θ₀ points evenly over the shards.
    pub fn owns(&self, k: usize) -> bool {
        k % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not I/N (e.g. 0/4)"))?;
        let index = i
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("shard index `{i}` is not a whole number"))?;
        let count = n
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("shard count `{n}` is not a whole number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard `{s}`: need 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How surface directions were made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DirectionKind {
    /// Gaussian random directions (zero mean), normalised per filter, per layer or not.
    Random,
    /// d₁ = θ_B − θ_A: the line through two checkpoints (a = 0 at A, a = 1 at B).
    Interpolation,
    /// d₁ = θ_B − θ_A, d₂ = θ_C − θ_A: the plane through three checkpoints, not
    /// orthogonalised, so (1, 0) is B and (0, 1) is C exactly.
    Plane,
    /// The top Hessian eigenvectors of an objective at θ₀ (unit norm).
    Hessian,
}

impl DirectionKind {
    /// The name used by `--directions` and report file names.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectionKind::Random => "random",
            DirectionKind::Interpolation => "interpolation",
            DirectionKind::Plane => "plane",
            DirectionKind::Hessian => "hessian",
        }
    }
}

/// How random directions are scaled to the weights (Li et al. 2018).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Normalization {
    /// Each output filter (row of the PyTorch-layout weight) scaled to the norm of the same
    /// filter of θ₀.
    Filter,
    /// Each parameter tensor scaled to the norm of the same tensor of θ₀.
    Layer,
    /// Raw N(0, 1) entries.
    None,
}

/// Which parameters random directions leave at zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum IgnoreParams {
    /// Biases and every other 1-D tensor (advland's models have no batch norm).
    Biasbn,
    /// None: 1-D tensors are normalised as one filter each.
    None,
}

/// Identity of a set of surface directions: everything needed to decide whether two surfaces
/// share them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionsInfo {
    /// How they were made.
    pub kind: DirectionKind,
    /// Number of directions (1 or 2).
    pub count: usize,
    /// SHA-256 of the direction vectors (little-endian f32 bytes, d₁ then d₂).
    pub hash: String,
    /// Euclidean norms ‖dᵢ‖.
    pub norms: Vec<f64>,
    /// Scaling of random directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization: Option<Normalization>,
    /// Parameters left at zero by random directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<IgnoreParams>,
    /// Seed of random directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Checkpoints defining interpolation/plane directions, A first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoints: Vec<String>,
    /// Hessian directions: the eigenvalues of the eigenvectors used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eigenvalues: Vec<f64>,
    /// Cosine between d₁ and d₂ (2-D only): near 0 for random directions in high dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosine: Option<f64>,
}

/// The values of one objective on the computed grid points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurfaceValues {
    /// Clean, adversarial (PGD re-solved at every point) or adversarial-frozen (δ from θ₀).
    pub objective: ObjectiveKind,
    /// Mean cross-entropy, parallel to [`SurfaceReport::points`].
    pub loss: Vec<f64>,
    /// Accuracy on the (attacked) inputs, parallel to [`SurfaceReport::points`]; empty for
    /// objectives without one (closed-form test functions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accuracy: Vec<f64>,
}

/// Payload of a `surface` report (a complete surface or one shard of it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurfaceReport {
    /// The origin θ₀'s checkpoint.
    pub checkpoint: String,
    /// SHA-256 of its weights file.
    pub checkpoint_hash: String,
    /// Its epoch.
    pub epoch: usize,
    /// ‖θ₀‖₂.
    pub theta_norm: f64,
    /// The directions.
    pub directions: DirectionsInfo,
    /// Coordinates along d₁.
    pub x: Axis,
    /// Coordinates along d₂ (2-D surfaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<Axis>,
    /// The attack of the adversarial objectives (and the one defining frozen δ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack: Option<PgdSettings>,
    /// Precision of the evaluation.
    pub precision: Precision,
    /// Training examples batch norm's running statistics were re-estimated on at every grid
    /// point (`--bn recompute`); absent: the model's own statistics everywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bn_recompute: Option<usize>,
    /// Examples in the fixed data subset.
    pub examples: usize,
    /// Which part of the grid this report holds.
    pub shard: Shard,
    /// Flat indices `k = j·nx + i` of the points held, increasing.
    pub points: Vec<usize>,
    /// One entry per objective.
    pub values: Vec<SurfaceValues>,
}

impl SurfaceReport {
    /// Number of grid points (nx·ny).
    pub fn grid_len(&self) -> usize {
        self.x.points * self.y.map_or(1, |y| y.points)
    }

    /// Checks that the report's parts agree (a shard read from a file may have been cut or
    /// edited): a valid shard, increasing point indices inside the grid and owned by the
    /// shard, each objective once, and one loss (and zero or one accuracy) per point.
    ///
    /// # Errors
    /// The first rule broken, in words.
    pub fn check_contents(&self) -> std::result::Result<(), String> {
        if self.shard.count == 0 || self.shard.index >= self.shard.count {
            return Err(format!(
                "shard {}/{} is not I/N with I < N",
                self.shard.index, self.shard.count
            ));
        }
        let grid = self
            .x
            .points
            .checked_mul(self.y.map_or(1, |y| y.points))
            .ok_or("the grid size overflows")?;
        if let Some(w) = self.points.windows(2).find(|w| w[0] >= w[1]) {
            return Err(format!(
                "points must increase; {} is followed by {}",
                w[0], w[1]
            ));
        }
        if let Some(k) = self.points.iter().find(|&&k| k >= grid) {
            return Err(format!("point {k} lies outside the {grid}-point grid"));
        }
        if let Some(k) = self.points.iter().find(|&&k| !self.shard.owns(k)) {
            return Err(format!("point {k} does not belong to shard {}", self.shard));
        }
        let n = self.points.len();
        for (i, v) in self.values.iter().enumerate() {
            let name = v.objective.as_str();
            if self.values[..i].iter().any(|u| u.objective == v.objective) {
                return Err(format!("objective {name} is listed twice"));
            }
            if v.loss.len() != n {
                return Err(format!(
                    "objective {name} has {} losses for {n} points",
                    v.loss.len()
                ));
            }
            if !v.accuracy.is_empty() && v.accuracy.len() != n {
                return Err(format!(
                    "objective {name} has {} accuracies for {n} points",
                    v.accuracy.len()
                ));
            }
        }
        Ok(())
    }

    /// Whether every grid point is present.
    pub fn is_complete(&self) -> bool {
        self.points.len() == self.grid_len()
    }

    /// `objective`'s loss (or accuracy) on the full grid, row-major (y outer, x inner), NaN
    /// where a point is missing.
    pub fn dense(&self, objective: ObjectiveKind, accuracy: bool) -> Option<Vec<f64>> {
        let values = self.values.iter().find(|v| v.objective == objective)?;
        let source = if accuracy {
            if values.accuracy.is_empty() {
                return None;
            }
            &values.accuracy
        } else {
            &values.loss
        };
        let mut out = vec![f64::NAN; self.grid_len()];
        for (&k, &v) in self.points.iter().zip(source) {
            if let Some(slot) = out.get_mut(k) {
                *slot = v;
            }
        }
        Some(out)
    }
}

impl SurfaceReport {
    /// Hash of everything that decides the values of the grid points, so a partial file is
    /// only continued by the same computation and `merge` joins only shards of one surface.
    /// The shard and points are left out (the shards of one surface share it).
    ///
    /// # Panics
    /// Never in practice: the payload is plain data that always serialises.
    pub fn fingerprint(&self, batch_size: usize, seed: u64) -> String {
        let whole = SurfaceReport {
            shard: Shard::WHOLE,
            points: Vec::new(),
            ..self.clone()
        };
        let text = serde_json::to_string(&serde_json::json!({
            "surface": whole,
            "batch_size": batch_size,
            "seed": seed,
        }))
        .expect("a surface report serialises to JSON");
        crate::hash::sha256_hex(text.as_bytes())
    }
}

impl crate::report::Payload for SurfaceReport {
    const KIND: &'static str = "surface";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_parses_and_includes_both_ends() {
        let a: Axis = "-1:1:5".parse().unwrap();
        assert_eq!(a.values(), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        let one: Axis = "0.25:0.25:1".parse().unwrap();
        assert_eq!(one.values(), vec![0.25]);
    }

    #[test]
    fn bad_axes_say_why() {
        for (text, needle) in [
            ("1:1", "MIN:MAX:POINTS"),
            ("a:1:3", "min `a`"),
            ("0:1:x", "point count"),
            ("1:0:3", "smaller than max"),
            ("0:1:0", "at least one point"),
            ("0:inf:3", "finite"),
        ] {
            let err = text.parse::<Axis>().unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn shards_partition_the_grid() {
        let shards: Vec<Shard> = (0..3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        for k in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.owns(k)).count(), 1);
        }
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        assert!(Shard::WHOLE.owns(17));
    }

    fn shard_report() -> SurfaceReport {
        SurfaceReport {
            checkpoint: "c".into(),
            checkpoint_hash: "h".into(),
            epoch: 1,
            theta_norm: 1.0,
            directions: DirectionsInfo {
                kind: DirectionKind::Random,
                count: 1,
                hash: "d".into(),
                norms: vec![1.0],
                normalization: Some(Normalization::Filter),
                ignore: Some(IgnoreParams::Biasbn),
                seed: Some(0),
                checkpoints: vec![],
                eigenvalues: vec![],
                cosine: None,
            },
            x: "0:1:3".parse().unwrap(),
            y: None,
            attack: None,
            precision: Precision::F32,
            bn_recompute: None,
            examples: 4,
            shard: "1/2".parse().unwrap(),
            points: vec![1],
            values: vec![SurfaceValues {
                objective: ObjectiveKind::Clean,
                loss: vec![0.5],
                accuracy: vec![1.0],
            }],
        }
    }

    #[test]
    fn check_contents_finds_each_inconsistency() {
        assert_eq!(shard_report().check_contents(), Ok(()));
        type Break = fn(&mut SurfaceReport);
        let broken: [(&str, Break); 7] = [
            ("0 losses for 1 points", |r| r.values[0].loss.clear()),
            ("2 accuracies for 1 points", |r| {
                r.values[0].accuracy.push(0.5);
            }),
            ("outside the 3-point grid", |r| r.points = vec![5]),
            ("does not belong to shard", |r| r.points = vec![0]),
            ("must increase", |r| {
                r.shard = Shard::WHOLE;
                r.points = vec![1, 1];
            }),
            ("listed twice", |r| {
                let v = r.values[0].clone();
                r.values.push(v);
            }),
            ("I < N", |r| r.shard = Shard { index: 0, count: 0 }),
        ];
        for (rule, breaks) in broken {
            let mut r = shard_report();
            breaks(&mut r);
            let err = r.check_contents().unwrap_err();
            assert!(err.contains(rule), "{rule}: {err}");
        }
    }

    #[test]
    fn dense_marks_missing_points_nan() {
        let r = shard_report();
        let d = r.dense(ObjectiveKind::Clean, false).unwrap();
        assert!(d[0].is_nan() && d[2].is_nan());
        assert_eq!(d[1], 0.5);
        assert!(!r.is_complete());
        assert!(r.dense(ObjectiveKind::Adversarial, false).is_none());
    }
}
