//! Loss surfaces: objectives evaluated on a 1-D or 2-D grid θ₀ + a·d₁ + b·d₂.
//!
//! The objectives are the parameter-analysis ones ([`crate::Objective`]: clean, adversarial
//! with PGD re-solved at every grid point, adversarial-frozen), so a surface and a Hessian
//! estimate measure the same function. Every grid point is a pure function of its index
//! (same seeded attack starts at every θ), which is what makes resuming, sharding and
//! evaluating points in any order give identical numbers.
//!
//! Parallelism: [`evaluate`] runs one worker per set of objectives it is given (clones of
//! the same objectives, each on its own thread) pulling point indices from a shared counter;
//! the tensor backend parallelises inside each evaluation on the same rayon pool, so the
//! machine is not oversubscribed. `bench/SURFACES.md` records which split is faster.

mod compute;
pub mod directions;
pub mod resume;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use advland_schema::Axis;

pub use compute::{SurfaceConfig, SurfaceRun, compute, load_directions, make_directions};
pub use directions::{Directions, RandomSpec};
pub use resume::{PartialFile, Resumed, SurfaceOutput, compute_resumable};

use crate::error::{Error, Result};
use crate::objective::Objective;
use crate::vector::axpy;

/// The grid: origin, directions and axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    /// θ₀.
    pub origin: Vec<f64>,
    /// d₁ (and d₂).
    pub directions: Vec<Vec<f64>>,
    /// Coordinates along d₁.
    pub x: Axis,
    /// Coordinates along d₂; required exactly when there are two directions.
    pub y: Option<Axis>,
}

impl Plane {
    /// A checked plane.
    ///
    /// # Errors
    /// Directions of the wrong length, or an axis count that does not match them.
    pub fn new(
        origin: Vec<f64>,
        directions: Vec<Vec<f64>>,
        x: Axis,
        y: Option<Axis>,
    ) -> Result<Self> {
        for d in &directions {
            if d.len() != origin.len() {
                return Err(Error::Dimension {
                    expected: origin.len(),
                    got: d.len(),
                });
            }
        }
        if directions.len() != 1 + usize::from(y.is_some()) {
            return Err(Error::InvalidConfig {
                field: "y",
                reason: format!(
                    "{} direction(s) need {} axis/axes: give --y exactly for 2-D surfaces",
                    directions.len(),
                    directions.len()
                ),
            });
        }
        Ok(Self {
            origin,
            directions,
            x,
            y,
        })
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.x.points * self.y.map_or(1, |y| y.points)
    }

    /// Whether the grid has no points (never, for checked axes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The coordinates (a, b) of flat index `k = j·nx + i` (b = 0 for 1-D grids).
    pub fn coordinates(&self, k: usize) -> (f64, f64) {
        let nx = self.x.points;
        let a = self.x.values()[k % nx];
        let b = self.y.map_or(0.0, |y| y.values()[k / nx]);
        (a, b)
    }

    /// θ₀ + a·d₁ + b·d₂ at flat index `k`.
    pub fn point(&self, k: usize) -> Vec<f64> {
        let (a, b) = self.coordinates(k);
        let mut theta = self.origin.clone();
        for (coef, d) in [a, b].into_iter().zip(&self.directions) {
            if coef != 0.0 {
                axpy(coef, d, &mut theta);
            }
        }
        theta
    }
}

/// Loss (and accuracy, where defined) of each objective at one grid point.
pub type PointValues = Vec<(f64, Option<f64>)>;

/// Evaluates `objectives` at grid point `k`.
///
/// # Errors
/// Objective failures (non-finite loss included).
pub fn evaluate_point<O: Objective>(
    objectives: &[O],
    plane: &Plane,
    k: usize,
) -> Result<PointValues> {
    let theta = plane.point(k);
    objectives
        .iter()
        .map(|o| o.loss_and_accuracy(&theta))
        .collect()
}

/// Evaluates the grid points `pending` and hands each result to `sink` as soon as it is
/// known (in completion order), so a caller can stream results to disk and resume later.
/// `workers` holds one set of objectives per thread (clones of the same objectives); with
/// one set everything runs on the calling thread.
///
/// Returns the workers so their cost counters can be read.
///
/// # Errors
/// The first objective or sink failure; the remaining workers stop at their next point.
pub fn evaluate<O, F>(
    workers: Vec<Vec<O>>,
    plane: &Plane,
    pending: &[usize],
    mut sink: F,
) -> Result<Vec<Vec<O>>>
where
    O: Objective + Send,
    F: FnMut(usize, PointValues) -> Result<()>,
{
    if workers.len() <= 1 {
        let objectives = workers.into_iter().next().unwrap_or_default();
        for &k in pending {
            sink(k, evaluate_point(&objectives, plane, k)?)?;
        }
        return Ok(vec![objectives]);
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Result<(usize, PointValues)>>();
    std::thread::scope(|scope| {
        let handles: Vec<_> = workers
            .into_iter()
            .map(|objectives| {
                let tx = tx.clone();
                let (next, stop) = (&next, &stop);
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&k) = pending.get(i) else { break };
                        let result = evaluate_point(&objectives, plane, k).map(|v| (k, v));
                        let failed = result.is_err();
                        if tx.send(result).is_err() || failed {
                            break;
                        }
                    }
                    objectives
                })
            })
            .collect();
        drop(tx);
        let mut outcome = Ok(());
        for message in rx {
            let step = message.and_then(|(k, values)| sink(k, values));
            if let Err(e) = step {
                stop.store(true, Ordering::Relaxed);
                outcome = Err(e);
                break;
            }
        }
        let workers: Vec<Vec<O>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect();
        outcome.map(|()| workers)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::Quadratic;

    fn quadratic() -> Quadratic {
        Quadratic {
            a: vec![2.0, 0.5, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0, 3.0],
            b: vec![0.1, -0.2, 0.3],
        }
    }

    fn plane() -> Plane {
        Plane::new(
            vec![0.5, -1.0, 0.25],
            vec![vec![1.0, 0.0, 1.0], vec![0.0, 2.0, -1.0]],
            "-1:1:5".parse().unwrap(),
            Some("-0.5:0.5:3".parse().unwrap()),
        )
        .unwrap()
    }

    /// f(θ₀ + a d₁ + b d₂) = f₀ + a g·d₁ + b g·d₂ + ½(a² d₁ᵀAd₁ + 2ab d₁ᵀAd₂ + b² d₂ᵀAd₂).
    fn closed_form(q: &Quadratic, p: &Plane, a: f64, b: f64) -> f64 {
        let (f0, g) = q.loss_and_gradient(&p.origin).unwrap();
        let qa = |u: &[f64], v: &[f64]| {
            q.a.chunks_exact(3)
                .zip(u)
                .map(|(row, ui)| ui * crate::vector::dot(row, v))
                .sum::<f64>()
        };
        let (d1, d2) = (&p.directions[0], &p.directions[1]);
        f0 + a * crate::vector::dot(&g, d1)
            + b * crate::vector::dot(&g, d2)
            + 0.5 * (a * a * qa(d1, d1) + 2.0 * a * b * qa(d1, d2) + b * b * qa(d2, d2))
    }

    #[test]
    fn quadratic_surface_matches_its_closed_form() {
        let (q, p) = (quadratic(), plane());
        let pending: Vec<usize> = (0..p.len()).collect();
        let mut got = vec![f64::NAN; p.len()];
        evaluate(vec![vec![q.clone()]], &p, &pending, |k, v| {
            got[k] = v[0].0;
            assert_eq!(v[0].1, None);
            Ok(())
        })
        .unwrap();
        for (k, &value) in got.iter().enumerate() {
            let (a, b) = p.coordinates(k);
            let want = closed_form(&q, &p, a, b);
            assert!(
                (value - want).abs() < 1e-12,
                "k={k} ({a},{b}): {value} vs {want}"
            );
        }
        let centre = p.len() / 2;
        assert_eq!(p.coordinates(centre), (0.0, 0.0));
        assert_eq!(got[centre], q.loss(&p.origin).unwrap());
    }

    #[test]
    fn threads_and_order_do_not_change_values() {
        let (q, p) = (quadratic(), plane());
        let pending: Vec<usize> = (0..p.len()).rev().collect();
        let mut serial = vec![0.0; p.len()];
        evaluate(vec![vec![q.clone()]], &p, &pending, |k, v| {
            serial[k] = v[0].0;
            Ok(())
        })
        .unwrap();
        let mut parallel = vec![0.0; p.len()];
        let mut seen = 0;
        let workers = evaluate(
            vec![vec![q.clone()], vec![q.clone()], vec![q]],
            &p,
            &pending,
            |k, v| {
                parallel[k] = v[0].0;
                seen += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(workers.len(), 3);
        assert_eq!(seen, p.len());
        assert_eq!(serial, parallel);
    }

    #[test]
    fn a_sink_failure_stops_the_run() {
        let (q, p) = (quadratic(), plane());
        let pending: Vec<usize> = (0..p.len()).collect();
        let mut calls = 0;
        let err = evaluate(vec![vec![q.clone()], vec![q]], &p, &pending, |_, _| {
            calls += 1;
            Err(Error::InvalidConfig {
                field: "sink",
                reason: "full disk".into(),
            })
        })
        .unwrap_err();
        assert!(err.to_string().contains("full disk"));
        assert_eq!(calls, 1);
    }

    #[test]
    fn axes_must_match_directions() {
        let x: Axis = "0:1:3".parse().unwrap();
        assert!(Plane::new(vec![0.0], vec![vec![1.0]], x, Some(x)).is_err());
        assert!(Plane::new(vec![0.0], vec![vec![1.0], vec![0.0]], x, None).is_err());
        assert!(Plane::new(vec![0.0], vec![vec![1.0, 2.0]], x, None).is_err());
        let p = Plane::new(vec![1.0], vec![vec![2.0]], x, None).unwrap();
        assert_eq!(p.point(2), vec![3.0]);
    }
}
