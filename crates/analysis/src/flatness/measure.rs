//! One flatness measurement of a model: PGD to the adversarial points, the per-example
//! measures at both kinds of point, loss curves, and on request one example's input surface
//! and the logits' local Lipschitz bound, summarised into a report payload.

use advland_data::derive_seed;
use advland_schema::flatness::{
    Distribution, FlatnessAtPoint, FlatnessReport, InputPoint, InputSurface, LogitLipschitz,
    LossCurve,
};
use advland_schema::{Axis, Cost, PgdSettings};
use advland_train::attack::{Attack, standard_normal};
use advland_train::{Batch, Model, Observer, pgd_attack};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;

use super::config::FlatnessConfig;
use super::{
    ExampleFlatness, InputFlatnessConfig, InputHessian, estimate_input_flatness, input_surface,
    kkt_multiplier, logit_lipschitz, loss_curves, summarize,
};
use crate::error::{Error, Result};
use crate::precision::central_difference_step;
use crate::subject::{Measured, Subject};

/// Grid points per forward pass of the input surface.
const SURFACE_BATCH: usize = 256;

/// Measures input flatness of `subject` as `config` says. `observer` hears each phase
/// (`attack`, `clean`, `adversarial`, `curves`, `surface`, `lipschitz`) as it starts.
///
/// # Errors
/// Invalid settings (named by their field), a subset larger than the test split, non-finite
/// estimates.
pub fn measure(
    subject: &Subject,
    config: &FlatnessConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Measured<FlatnessReport>> {
    config
        .attack
        .check("attack")
        .map_err(|e| Error::rule("attack", e))?;
    let attack = Attack::new(config.attack.clone());
    let (model, batch, data) =
        subject.test_batch(config.subset, "subset", config.precision, device)?;
    let [n, c, h, w] = batch.images.dims();
    let d = c * h * w;
    // Checked before the costly part, so a typo fails at once.
    if config.top_k == 0 || config.top_k > d {
        return Err(invalid(
            "top_k",
            format!(
                "must be in 1..={d} (the input dimension), got {}",
                config.top_k
            ),
        ));
    }
    if let Some(example) = config.surface_example.filter(|&i| i >= n) {
        return Err(invalid(
            "surface_example",
            format!(
                "{example} is out of range, the subset has {n} examples (0..={})",
                n - 1
            ),
        ));
    }
    if config.lipschitz_restarts == 0 {
        return Err(invalid(
            "lipschitz_restarts",
            "must be >= 1, got 0".to_owned(),
        ));
    }
    let estimator = InputFlatnessConfig {
        power_iterations: config.power_iterations,
        top_k: config.top_k,
        trace_samples: config.trace_samples,
        seed: config.seed,
        freeze_activations: !config.live_activations,
        fd_step: central_difference_step(config.precision),
        ..InputFlatnessConfig::default()
    };
    observer.progress("attack", 0, 1);
    let adversarial = pgd_attack(
        &model,
        &batch,
        &attack,
        derive_seed(config.seed, "flatness-attack", 0),
    );
    let mut points = Vec::new();
    for (point, images) in [
        (InputPoint::Clean, batch.images.clone()),
        (InputPoint::Adversarial, adversarial.adversarial.clone()),
    ] {
        observer.progress(point_name(point), 0, 1);
        let op = InputHessian::new(
            &model,
            images,
            batch.labels.clone(),
            estimator.fd_step,
            estimator.freeze_activations,
        )?;
        let per_example = estimate_input_flatness(&op, &estimator)?;
        // Prop. B's multiplier belongs to the attack's optimum, not to the clean point.
        let kkt = (point == InputPoint::Adversarial).then(|| {
            op.gradient()
                .chunks_exact(op.example_dim())
                .map(|g| kkt_multiplier(attack.constraint(), g))
                .collect::<Vec<_>>()
        });
        points.push(at_point(point, &per_example, kkt.as_deref())?);
    }
    observer.progress("curves", 0, 1);
    let curves = curves(config, &model, &batch)?;
    let mut cost = adversarial.cost;
    let surface = match config.surface_example {
        Some(example) => {
            observer.progress("surface", 0, 1);
            Some(surface(config, &model, &batch, example, &mut cost)?)
        }
        None => None,
    };
    let logit_lipschitz = if config.lipschitz_steps > 0 {
        observer.progress("lipschitz", 0, 1);
        Some(lipschitz(config, &model, &batch, &mut cost)?)
    } else {
        None
    };
    let report = FlatnessReport {
        checkpoint: subject.checkpoint.clone(),
        epoch: subject.epoch,
        attack: config.attack.clone(),
        precision: config.precision,
        examples: n,
        frozen_activations: !config.live_activations && model.has_gates(),
        points,
        curves,
        surface,
        logit_lipschitz,
    };
    Ok(Measured { report, cost, data })
}

fn invalid(field: &'static str, reason: String) -> Error {
    Error::InvalidConfig { field, reason }
}

fn point_name(point: InputPoint) -> &'static str {
    match point {
        InputPoint::Clean => "clean",
        InputPoint::Adversarial => "adversarial",
    }
}

fn at_point(
    point: InputPoint,
    examples: &[ExampleFlatness],
    kkt: Option<&[f64]>,
) -> Result<FlatnessAtPoint> {
    let pick =
        |f: fn(&ExampleFlatness) -> f64| summarize(&examples.iter().map(f).collect::<Vec<_>>());
    Ok(FlatnessAtPoint {
        point,
        loss: pick(|e| e.loss)?,
        grad_l2: pick(|e| e.grad_l2)?,
        grad_l1: pick(|e| e.grad_l1)?,
        hessian_top: pick(|e| e.hessian_top)?,
        hessian_top_k: top_k_distributions(examples)?,
        curvature_along_gradient: pick(|e| e.curvature_along_gradient)?,
        hessian_trace: pick(|e| e.hessian_trace)?,
        kkt_multiplier: kkt.map(summarize).transpose()?,
    })
}

/// One distribution per eigenvalue rank j over the examples' j-th eigenvalue; empty for k = 1
/// (the report then carries `hessian_top` only, as before top-k existed).
fn top_k_distributions(examples: &[ExampleFlatness]) -> Result<Vec<Distribution>> {
    let k = examples.first().map_or(0, |e| e.hessian_top_k.len());
    if k <= 1 {
        return Ok(Vec::new());
    }
    (0..k)
        .map(|j| {
            summarize(
                &examples
                    .iter()
                    .map(|e| e.hessian_top_k[j])
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

/// Mean loss along the normalised input gradient and along random unit directions (per
/// example, L2-normalised), t ∈ [−2ε, 2ε].
fn curves(config: &FlatnessConfig, model: &Model, batch: &Batch) -> Result<Vec<LossCurve>> {
    if config.curve_points == 0 {
        return Ok(Vec::new());
    }
    let points = config.curve_points.max(2);
    let eps = config.attack.eps;
    let ts: Vec<f64> = (0..points)
        .map(|i| -2.0 * eps + 4.0 * eps * i as f64 / (points - 1) as f64)
        .collect();
    let dims = batch.images.dims();
    let [n, c, h, w] = dims;
    let d = c * h * w;
    let device = batch.images.device();
    let dtype = batch.images.dtype();
    let at_x = InputHessian::new(
        model,
        batch.images.clone(),
        batch.labels.clone(),
        InputFlatnessConfig::default().fd_step,
        false,
    )?;
    let mut directions = vec![(
        "gradient".to_owned(),
        unit_rows(at_x.gradient().to_vec(), d),
    )];
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(derive_seed(config.seed, "flatness-directions", 0));
    for k in 0..config.random_directions {
        let raw: Vec<f64> = (0..n * d).map(|_| standard_normal(&mut rng)).collect();
        directions.push((format!("random-{}", k + 1), unit_rows(raw, d)));
    }
    let mut out = Vec::with_capacity(directions.len());
    for (name, values) in directions {
        let v = Tensor::<4>::from_data(TensorData::new(values, dims), (&device, dtype));
        let losses = loss_curves(model, batch.images.clone(), batch.labels.clone(), &v, &ts)?;
        out.push(LossCurve {
            direction: name,
            t: ts.clone(),
            mean_loss: losses
                .iter()
                .map(|l| l.iter().sum::<f64>() / l.len().max(1) as f64)
                .collect(),
        });
    }
    Ok(out)
}

/// The 2-D input-space surface around example `example` of the subset: u its normalised
/// input gradient, v a seeded random unit direction orthogonal to u, at the clean point, with
/// the predicted class per grid point. `example` is in range (checked by [`measure`]).
fn surface(
    config: &FlatnessConfig,
    model: &Model,
    batch: &Batch,
    example: usize,
    cost: &mut Cost,
) -> Result<InputSurface> {
    let [_, c, h, w] = batch.images.dims();
    let eps = config.attack.eps;
    let axis = config.surface_grid.unwrap_or(Axis {
        min: -2.0 * eps,
        max: 2.0 * eps,
        points: 21,
    });
    axis.check("surface_grid")
        .map_err(|e| Error::rule("surface_grid", e))?;
    let index = Tensor::<1, Int>::from_data(
        TensorData::new(vec![example as i64], [1]),
        &batch.images.device(),
    );
    let image = batch.images.clone().select(0, index.clone());
    let label = batch.labels.clone().select(0, index);
    let label_value = usize::try_from(label.clone().into_scalar::<i64>()).map_err(|_| {
        invalid(
            "surface_example",
            "the example has a negative label".to_owned(),
        )
    })?;
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(derive_seed(config.seed, "flatness-surface", 0));
    let random: Vec<f64> = (0..c * h * w).map(|_| standard_normal(&mut rng)).collect();
    let values = axis.values();
    let out = input_surface(
        model,
        image,
        label,
        &random,
        &values,
        &values,
        SURFACE_BATCH,
    )?;
    let points = (values.len() * values.len()) as u64;
    cost.forward += points + 1;
    cost.backward += 1;
    Ok(InputSurface {
        example,
        label: label_value,
        directions: ["gradient".to_owned(), "random".to_owned()],
        x: axis,
        y: axis,
        loss: out.loss,
        predicted: out.predicted,
    })
}

/// A lower bound of the logits' local Lipschitz constant around the clean points: projected
/// ascent of ‖f(x') − f(x)‖₂ / ‖x' − x‖ in the attack's ball, with the ascent's own steps and
/// restarts.
fn lipschitz(
    config: &FlatnessConfig,
    model: &Model,
    batch: &Batch,
    cost: &mut Cost,
) -> Result<LogitLipschitz> {
    let threat = &config.attack;
    let ascent = Attack::new(PgdSettings {
        restarts: config.lipschitz_restarts,
        ..PgdSettings::new(threat.norm, threat.eps, config.lipschitz_steps)
    });
    let out = logit_lipschitz(
        model,
        batch.images.clone(),
        &ascent,
        derive_seed(config.seed, "flatness-lipschitz", 0),
    )?;
    *cost += out.cost;
    Ok(LogitLipschitz {
        output_norm: "l2".to_owned(),
        steps: ascent.settings().steps,
        restarts: ascent.settings().restarts,
        estimate: summarize(&out.estimate)?,
    })
}

/// Rows of length `d` scaled to unit L2 norm (zero rows stay zero).
fn unit_rows(mut values: Vec<f64>, d: usize) -> Vec<f64> {
    for row in values.chunks_mut(d) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
    values
}
