//! `advland flatness`: input-space flatness of a checkpoint at clean and adversarial points
//! (paper.md §2.4, §3.2 E-C): input-gradient norms, the input Hessian's k eigenvalues of largest
//! |λ| (`--top-k`), curvature along the gradient, trace, the KKT multiplier of the attack's
//! constraint (either norm), and 1-D input-space loss curves; on request the 2-D loss surface
//! around one example (`--surface-example`) and a lower bound of the logits' local Lipschitz
//! constant in the ε-ball (`--lipschitz-steps`).

use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::flatness::{
    ExampleFlatness, InputFlatnessConfig, InputHessian, estimate_input_flatness, input_surface,
    kkt_multiplier, logit_lipschitz, loss_curves, summarize,
};
use advland_data::derive_seed;
use advland_schema::flatness::{
    Distribution, FlatnessAtPoint, FlatnessReport, InputPoint, InputSurface, LogitLipschitz,
    LossCurve,
};
use advland_schema::{Axis, Cost, Norm, PgdSettings, Precision, Report, write_json};
use advland_train::attack::{Attack, standard_normal};
use advland_train::checkpoint::load_checkpoint;
use advland_train::data::{checkpoint_test_set, describe, subset};
use advland_train::params::{flatten, load_flat};
use advland_train::{Batch, pgd_attack};
use anyhow::{Context, Result, bail};
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use clap::Args;
use rand::SeedableRng;

use crate::args::at_least_one;
use crate::args::parse_eps;
use crate::meta::meta;

/// `advland flatness`.
#[derive(Debug, Args, serde::Serialize)]
pub struct FlatnessArgs {
    /// Checkpoint directory, or a training run directory for its last checkpoint.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Norm of the attack giving the adversarial points (default: the checkpoint's training norm,
    /// else linf).
    #[arg(long, value_enum)]
    pub norm: Option<Norm>,
    /// Its radius (default: the checkpoint's training radius, else 0.1).
    #[arg(long, value_parser = parse_eps)]
    pub eps: Option<f64>,
    /// PGD steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Number of test examples (evenly spaced).
    #[arg(long, value_parser = at_least_one, default_value_t = 256)]
    pub subset: usize,
    /// Precision of the computation.
    #[arg(long, value_enum, default_value = "f64")]
    pub precision: Precision,
    /// Power-iteration steps per input-Hessian eigenvalue.
    #[arg(long, default_value_t = 20)]
    pub power_iterations: usize,
    /// Number k of input-Hessian eigenvalues of largest |λ| per example (power iteration with
    /// deflation, all examples in lockstep; costs k times the power iterations). k > 1 adds
    /// `hessian_top_k` to each point of the report.
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub top_k: usize,
    /// Rademacher probes of the input-Hessian trace.
    #[arg(long, default_value_t = 10)]
    pub trace_samples: usize,
    /// Input Hessians of the live network instead of through each point's activation pattern.
    #[arg(long)]
    pub live_activations: bool,
    /// Points of each 1-D loss curve over t ∈ [−2ε, 2ε] (0: no curves).
    #[arg(long, default_value_t = 21)]
    pub curve_points: usize,
    /// Random directions for loss curves (besides the gradient direction).
    #[arg(long, default_value_t = 2)]
    pub random_directions: usize,
    /// Index (in the evaluated subset) of an example whose 2-D input-space loss surface
    /// ℓ(x + a·u + b·v) to record: u its normalised input gradient, v a seeded random unit
    /// direction orthogonal to u, at the clean point x, with the predicted class per grid
    /// point. Absent: no surface.
    #[arg(long, value_name = "I")]
    pub surface_example: Option<usize>,
    /// Grid of the surface, MIN:MAX:POINTS, used for both a and b; offsets are L2 lengths in
    /// pixel units (default: -2ε:2ε:21, with ε the attack's radius taken as an L2 length, as
    /// for the 1-D curves).
    #[arg(
        long,
        value_name = "MIN:MAX:POINTS",
        allow_hyphen_values = true,
        requires = "surface_example"
    )]
    pub surface_grid: Option<Axis>,
    /// Ascent steps of the logit local Lipschitz estimate (0: skip it). Per example, projected
    /// gradient ascent of ‖f(x') − f(x)‖₂ / ‖x' − x‖ over x' in the attack's ε-ball around the
    /// clean x (input norm = the attack's norm, step 2.5·ε/steps, PGD's projections and random
    /// starts) gives a lower bound of the local Lipschitz constant of the logits f.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub lipschitz_steps: usize,
    /// Restarts of the Lipschitz ascent (the largest ratio per example is kept).
    #[arg(long, default_value_t = 1, value_name = "R")]
    pub lipschitz_restarts: usize,
    /// Seed of the attack starts, probes and directions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report path (default: `flatness-<norm>.json` in the checkpoint directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `advland flatness`.
pub fn run(args: &FlatnessArgs, device: &Device, device_name: &str) -> Result<()> {
    // The default name depends on the resolved norm; its directory is what can fail.
    advland_schema::check_output(
        args.out
            .as_deref()
            .unwrap_or(&args.checkpoint.join("flatness.json")),
    )?;
    let report = measure(args, device, device_name)?;
    let out = args.out.clone().unwrap_or_else(|| {
        args.checkpoint
            .join(format!("flatness-{}.json", report.data.attack.norm))
    });
    write_json(&out, &report)?;
    print_summary(&report.data, &out);
    Ok(())
}

/// Computes the report `args` asks for, without writing it.
pub fn measure(
    args: &FlatnessArgs,
    device: &Device,
    device_name: &str,
) -> Result<Report<FlatnessReport>> {
    let start = Instant::now();
    let (model, info) = load_checkpoint(&args.checkpoint, device)
        .with_context(|| format!("loading checkpoint {}", args.checkpoint.display()))?;
    let trained = info.settings.adversarial.as_ref();
    let settings = PgdSettings::new(
        args.norm.or(trained.map(|t| t.norm)).unwrap_or(Norm::Linf),
        args.eps.or(trained.map(|t| t.eps)).unwrap_or(0.1),
        args.steps,
    );
    settings.check("attack")?;
    let attack = Attack::new(settings);
    let test = checkpoint_test_set(&info, &args.checkpoint).context("loading the data")?;
    let total = test.len();
    let test = subset(test, Some(args.subset), "--subset")?;
    let dtype = match args.precision {
        Precision::F64 => DType::F64,
        Precision::F32 => DType::F32,
    };
    let theta = flatten(&model).cast(dtype);
    let model = load_flat(model, theta)?;
    let indices: Vec<usize> = (0..test.len()).collect();
    let (pixels, labels) = test.gather(&indices);
    let [c, h, w] = test.shape;
    let n = test.len();
    let batch = Batch {
        images: Tensor::from_data(TensorData::new(pixels, [n, c, h, w]), (device, dtype)),
        labels: Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device),
    };
    let d = c * h * w;
    if args.top_k == 0 || args.top_k > d {
        bail!(
            "--top-k: must be in 1..={d} (the input dimension), got {}",
            args.top_k
        );
    }
    if let Some(example) = args.surface_example.filter(|&i| i >= n) {
        bail!(
            "--surface-example: {example} is out of range, the subset has {n} examples \
             (0..={})",
            n - 1
        );
    }
    if args.lipschitz_restarts == 0 {
        bail!("--lipschitz-restarts: must be >= 1, got 0");
    }
    let config = InputFlatnessConfig {
        power_iterations: args.power_iterations,
        top_k: args.top_k,
        trace_samples: args.trace_samples,
        seed: args.seed,
        freeze_activations: !args.live_activations,
        ..InputFlatnessConfig::default()
    };
    let adversarial = pgd_attack(
        &model,
        &batch,
        &attack,
        derive_seed(args.seed, "flatness-attack", 0),
    );
    let mut points = Vec::new();
    for (point, images) in [
        (InputPoint::Clean, batch.images.clone()),
        (InputPoint::Adversarial, adversarial.adversarial.clone()),
    ] {
        let op = InputHessian::new(
            &model,
            images,
            batch.labels.clone(),
            config.fd_step,
            config.freeze_activations,
        )?;
        let per_example = estimate_input_flatness(&op, &config)?;
        // Prop. B's multiplier belongs to the attack's optimum, not to the clean point.
        let kkt = (point == InputPoint::Adversarial).then(|| {
            op.gradient()
                .chunks_exact(op.example_dim())
                .map(|g| kkt_multiplier(attack.constraint(), g))
                .collect::<Vec<_>>()
        });
        points.push(at_point(point, &per_example, kkt.as_deref())?);
    }
    let curves = curves(args, &attack, &model, &batch)?;
    let mut cost = adversarial.cost;
    let surface = args
        .surface_example
        .map(|example| surface(args, &attack, &model, &batch, example, &mut cost))
        .transpose()?;
    let logit_lipschitz = (args.lipschitz_steps > 0)
        .then(|| lipschitz(args, &attack, &model, &batch, &mut cost))
        .transpose()?;
    let report = FlatnessReport {
        checkpoint: args.checkpoint.display().to_string(),
        epoch: info.epoch,
        attack: attack.settings().clone(),
        precision: args.precision,
        examples: n,
        frozen_activations: !args.live_activations,
        points,
        curves,
        surface,
        logit_lipschitz,
    };
    let config = serde_json::json!({
        "args": crate::meta::args_config(args),
        "attack": attack.settings(),
    });
    let mut meta = meta(device_name, args.seed, &config, describe(&test, total));
    meta.duration_s = start.elapsed().as_secs_f64();
    meta.cost = cost;
    Ok(Report::new("flatness", meta, report))
}

fn dist(values: &[f64]) -> Result<Distribution> {
    Ok(summarize(values)?)
}

fn at_point(
    point: InputPoint,
    examples: &[ExampleFlatness],
    kkt: Option<&[f64]>,
) -> Result<FlatnessAtPoint> {
    let pick = |f: fn(&ExampleFlatness) -> f64| dist(&examples.iter().map(f).collect::<Vec<_>>());
    Ok(FlatnessAtPoint {
        point,
        loss: pick(|e| e.loss)?,
        grad_l2: pick(|e| e.grad_l2)?,
        grad_l1: pick(|e| e.grad_l1)?,
        hessian_top: pick(|e| e.hessian_top)?,
        hessian_top_k: top_k_distributions(examples)?,
        curvature_along_gradient: pick(|e| e.curvature_along_gradient)?,
        hessian_trace: pick(|e| e.hessian_trace)?,
        kkt_multiplier: kkt.map(dist).transpose()?,
    })
}

/// One distribution per eigenvalue rank j over the examples' j-th eigenvalue; empty for k = 1
/// (the report then carries `hessian_top` only, as before `--top-k`).
fn top_k_distributions(examples: &[ExampleFlatness]) -> Result<Vec<Distribution>> {
    let k = examples.first().map_or(0, |e| e.hessian_top_k.len());
    if k <= 1 {
        return Ok(Vec::new());
    }
    (0..k)
        .map(|j| {
            dist(
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
fn curves(
    args: &FlatnessArgs,
    attack: &Attack,
    model: &advland_train::Model,
    batch: &Batch,
) -> Result<Vec<LossCurve>> {
    if args.curve_points == 0 {
        return Ok(Vec::new());
    }
    let points = args.curve_points.max(2);
    let eps = attack.settings().eps;
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
        rand_chacha::ChaCha8Rng::seed_from_u64(derive_seed(args.seed, "flatness-directions", 0));
    for k in 0..args.random_directions {
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

/// The 2-D input-space surface around example `example` of the subset (see
/// [`FlatnessArgs::surface_example`]); `example` is in range (checked by [`measure`] before
/// the costly part).
fn surface(
    args: &FlatnessArgs,
    attack: &Attack,
    model: &advland_train::Model,
    batch: &Batch,
    example: usize,
    cost: &mut Cost,
) -> Result<InputSurface> {
    let [_, c, h, w] = batch.images.dims();
    let eps = attack.settings().eps;
    let axis = args.surface_grid.unwrap_or(Axis {
        min: -2.0 * eps,
        max: 2.0 * eps,
        points: 21,
    });
    axis.check("--surface-grid")?;
    let index = Tensor::<1, Int>::from_data(
        TensorData::new(vec![example as i64], [1]),
        &batch.images.device(),
    );
    let image = batch.images.clone().select(0, index.clone());
    let label = batch.labels.clone().select(0, index);
    let label_value =
        usize::try_from(label.clone().into_scalar::<i64>()).context("a negative label")?;
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(derive_seed(args.seed, "flatness-surface", 0));
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

/// The logit local Lipschitz estimate around the clean points (see
/// [`FlatnessArgs::lipschitz_steps`]).
fn lipschitz(
    args: &FlatnessArgs,
    attack: &Attack,
    model: &advland_train::Model,
    batch: &Batch,
    cost: &mut Cost,
) -> Result<LogitLipschitz> {
    // The attack's ball, with the ascent's own steps and restarts.
    let threat = attack.settings();
    let ascent = Attack::new(PgdSettings {
        restarts: args.lipschitz_restarts,
        ..PgdSettings::new(threat.norm, threat.eps, args.lipschitz_steps)
    });
    let out = logit_lipschitz(
        model,
        batch.images.clone(),
        &ascent,
        derive_seed(args.seed, "flatness-lipschitz", 0),
    )?;
    *cost += out.cost;
    Ok(LogitLipschitz {
        output_norm: "l2".to_owned(),
        steps: ascent.settings().steps,
        restarts: ascent.settings().restarts,
        estimate: dist(&out.estimate)?,
    })
}

/// Grid points per forward pass of the surface.
const SURFACE_BATCH: usize = 256;

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

fn print_summary(r: &FlatnessReport, out: &std::path::Path) {
    println!(
        "{} examples, attack {} eps={} PGD-{}",
        r.examples, r.attack.norm, r.attack.eps, r.attack.steps
    );
    println!("| point | loss | |grad|_2 | |grad|_1 | lambda_top | g'Hg/|g|^2 | trace | KKT |");
    println!("|---|---|---|---|---|---|---|---|");
    for p in &r.points {
        println!(
            "| {:?} | {:.4} | {:.4e} | {:.4e} | {:+.4e} | {:+.4e} | {:+.4e} | {} |",
            p.point,
            p.loss.median,
            p.grad_l2.median,
            p.grad_l1.median,
            p.hessian_top.median,
            p.curvature_along_gradient.median,
            p.hessian_trace.median,
            p.kkt_multiplier
                .map_or("-".to_owned(), |k| format!("{:.4e}", k.median))
        );
    }
    for p in r.points.iter().filter(|p| !p.hessian_top_k.is_empty()) {
        let medians: Vec<String> = p
            .hessian_top_k
            .iter()
            .map(|d| format!("{:+.4e}", d.median))
            .collect();
        println!(
            "{:?} top-{} eigenvalues: {}",
            p.point,
            medians.len(),
            medians.join(", ")
        );
    }
    if let Some(s) = &r.surface {
        let (lo, hi) = s
            .loss
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &l| {
                (a.min(l), b.max(l))
            });
        println!(
            "surface around example {} (label {}): {}x{} grid, loss {lo:.4} to {hi:.4}",
            s.example, s.label, s.x.points, s.y.points
        );
    }
    if let Some(l) = &r.logit_lipschitz {
        println!(
            "logit Lipschitz (lower bound, {} steps x {} restarts): median {:.4e}, max {:.4e}",
            l.steps, l.restarts, l.estimate.median, l.estimate.max
        );
    }
    println!("(medians over examples)");
    println!("report: {}", out.display());
}
