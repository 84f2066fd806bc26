//! `advland train`: resolve settings (flags > experiment file > defaults), train, report.

use std::path::PathBuf;

use advland_schema::{
    DEFAULT_EVAL_STEPS, EntropySgdSettings, LrSchedule, OptimizerSettings, PgdSettings, ThreatSpec,
    TrainSettings, default_step_size,
};
use advland_train::data::{describe, load_splits};
use advland_train::trainer::TRAIN_LOG_FILE;
use anyhow::{Context, Result, bail};
use burn::tensor::Device;

use crate::args::{EntropySgdArgs, OptimizerArg, ScheduleArg, TrainArgs};
use crate::meta::meta;
use crate::progress::Bars;

/// Applies the flags on top of the experiment file (or the defaults) and validates.
pub fn resolve(args: &TrainArgs) -> Result<TrainSettings> {
    let mut s = match &args.config {
        Some(path) => TrainSettings::from_toml_file(path)?,
        None => TrainSettings::default(),
    };
    let TrainArgs {
        config: _,
        out: _,
        seed,
        data,
        model,
        epochs,
        batch_size,
        lr,
        schedule,
        optimizer,
        momentum,
        weight_decay,
        nesterov,
        gradient_budget,
        entropy,
        norm,
        eps,
        steps,
        step_size,
        eval_attacks,
        eval_subset,
        checkpoint_every,
    } = args;
    set(&mut s.seed, *seed);
    if let Some(d) = data.dataset {
        s.data.dataset = d;
    }
    if data.data_dir.is_some() {
        s.data.data_dir.clone_from(&data.data_dir);
    }
    s.data.train_subset = data.train_subset.or(s.data.train_subset);
    s.data.test_subset = data.test_subset.or(s.data.test_subset);
    s.model = model.apply(std::mem::take(&mut s.model));
    set(&mut s.training.epochs, *epochs);
    set(&mut s.training.batch_size, *batch_size);
    set(&mut s.training.lr, *lr);
    set(&mut s.training.checkpoint_every, *checkpoint_every);
    if let Some(sch) = schedule {
        s.training.schedule = match sch {
            ScheduleArg::Constant => LrSchedule::Constant,
            ScheduleArg::Cosine => LrSchedule::Cosine,
        };
    }
    if gradient_budget.is_some() {
        s.training.gradient_budget = *gradient_budget;
    }
    resolve_optimizer(
        &mut s.optimizer,
        *optimizer,
        *momentum,
        *weight_decay,
        *nesterov,
        entropy,
    )?;
    s.adversarial = match (norm, eps, s.adversarial.take()) {
        (Some(n), Some(e), _) => Some(PgdSettings::new(
            *n,
            *e,
            advland_schema::DEFAULT_TRAIN_STEPS,
        )),
        (Some(n), None, Some(file)) => Some(PgdSettings { norm: *n, ..file }),
        (Some(_), None, None) => bail!("--norm needs --eps (the attack radius)"),
        (None, Some(e), Some(file)) => Some(PgdSettings { eps: *e, ..file }),
        (None, Some(_), None) => bail!("--eps needs --norm (linf or l2)"),
        (None, None, file) => file,
    };
    if let Some(adv) = &mut s.adversarial {
        if let Some(n) = steps {
            adv.steps = *n;
        }
        adv.step_size = step_size.unwrap_or_else(|| {
            if norm.is_some() || eps.is_some() || steps.is_some() {
                default_step_size(adv.eps, adv.steps)
            } else {
                adv.step_size
            }
        });
    } else if steps.is_some() || step_size.is_some() {
        bail!("--steps/--step-size set the training attack: add --norm and --eps");
    }
    if !eval_attacks.is_empty() {
        s.eval.attacks = eval_attacks
            .iter()
            .map(|t| t.resolve(DEFAULT_EVAL_STEPS))
            .collect();
    } else if s.eval.attacks.is_empty()
        && let Some(adv) = &s.adversarial
    {
        s.eval.attacks = vec![
            ThreatSpec {
                norm: adv.norm,
                eps: adv.eps,
                steps: None,
                step_size: None,
                random_start: None,
                restarts: None,
            }
            .resolve(DEFAULT_EVAL_STEPS),
        ];
    }
    s.eval.subset = eval_subset.or(s.eval.subset);
    s.check()?;
    Ok(s)
}

/// Applies `--optimizer` (a new kind starts from its defaults), then the shared flags (both
/// EntropySGD loops, as the reference code shares them), then the EntropySGD-only ones.
fn resolve_optimizer(
    settings: &mut OptimizerSettings,
    kind: Option<OptimizerArg>,
    momentum: Option<f64>,
    weight_decay: Option<f64>,
    nesterov: Option<bool>,
    entropy: &EntropySgdArgs,
) -> Result<()> {
    match (kind, &*settings) {
        (Some(OptimizerArg::Sgd), OptimizerSettings::EntropySgd(_)) => {
            *settings = OptimizerSettings::default();
        }
        (Some(OptimizerArg::EntropySgd), OptimizerSettings::Sgd { .. }) => {
            *settings = OptimizerSettings::EntropySgd(EntropySgdSettings::default());
        }
        _ => {}
    }
    match settings {
        OptimizerSettings::Sgd {
            momentum: m,
            weight_decay: wd,
            nesterov: n,
        } => {
            let given = entropy.given();
            if !given.is_empty() {
                bail!(
                    "{} set EntropySGD: add --optimizer entropy-sgd",
                    given.join(", ")
                );
            }
            set(m, momentum);
            set(wd, weight_decay);
            set(n, nesterov);
        }
        OptimizerSettings::EntropySgd(e) => {
            if let Some(v) = momentum {
                e.momentum = v;
                e.outer_momentum = v;
            }
            if let Some(v) = weight_decay {
                e.weight_decay = v;
                e.outer_weight_decay = v;
            }
            if let Some(v) = nesterov {
                e.nesterov = v;
                e.outer_nesterov = v;
            }
            let EntropySgdArgs {
                inner_steps,
                gamma0,
                gamma1,
                scoping,
                inner_lr,
                noise,
                noise_convention,
                mean_weight,
                outer_convention,
                outer_momentum,
                outer_nesterov,
                outer_weight_decay,
                anchor_gradient,
            } = entropy;
            set(&mut e.inner_steps, *inner_steps);
            set(&mut e.gamma0, *gamma0);
            set(&mut e.gamma1, *gamma1);
            set(&mut e.scoping, *scoping);
            set(&mut e.inner_lr, *inner_lr);
            set(&mut e.noise, *noise);
            set(&mut e.noise_convention, *noise_convention);
            set(&mut e.mean_weight, *mean_weight);
            set(&mut e.outer_convention, *outer_convention);
            set(&mut e.outer_momentum, *outer_momentum);
            set(&mut e.outer_nesterov, *outer_nesterov);
            set(&mut e.outer_weight_decay, *outer_weight_decay);
            set(&mut e.anchor_gradient, *anchor_gradient);
        }
    }
    Ok(())
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// The default run directory name.
pub fn default_run_dir(s: &TrainSettings) -> PathBuf {
    let kind = match s.model.kind {
        advland_schema::ModelKind::Mlp => "mlp",
        advland_schema::ModelKind::Cnn => "cnn",
        advland_schema::ModelKind::Resnet => "resnet",
    };
    let objective = s
        .adversarial
        .as_ref()
        .map_or("std".to_owned(), |a| format!("{}-{}", a.norm, a.eps));
    let rule = match s.optimizer {
        OptimizerSettings::Sgd { .. } => "",
        OptimizerSettings::EntropySgd(_) => "-esgd",
    };
    PathBuf::from("runs").join(format!("{kind}-{objective}{rule}-s{}", s.seed))
}

/// Trains one model as `settings` say into `run_dir`; returns its log.
pub fn run_training(
    settings: &TrainSettings,
    run_dir: &std::path::Path,
    device: &Device,
    device_name: &str,
    label: &str,
    quiet: bool,
) -> Result<advland_schema::TrainLog> {
    let splits = load_splits(&settings.data).context("loading the data")?;
    let total = splits.train.len();
    let meta = meta(
        device_name,
        settings.seed,
        settings,
        describe(&splits.train, total),
    );
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("creating run directory {}", run_dir.display()))?;
    advland_schema::write_json(&run_dir.join("config.resolved.json"), settings)?;
    let mut bars = Bars::new(label, quiet);
    let (_, log) = advland_train::train(settings, &splits, device, run_dir, None, meta, &mut bars)
        .with_context(|| format!("training {}", run_dir.display()))?;
    bars.finish();
    Ok(log)
}

/// Runs `advland train`.
pub fn run(args: &TrainArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let settings = resolve(args)?;
    let run_dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_run_dir(&settings));
    let label = run_dir
        .file_name()
        .map_or("train".to_owned(), |n| n.to_string_lossy().into_owned());
    let log = run_training(&settings, &run_dir, device, device_name, &label, quiet)?;
    let last = log.epochs.last().context("no epoch was trained")?;
    println!("run directory: {}", run_dir.display());
    println!("log: {}", run_dir.join(TRAIN_LOG_FILE).display());
    if let Some(c) = log.checkpoints.last() {
        println!("last checkpoint: {}", run_dir.join(&c.path).display());
    }
    let u = &log.updates;
    println!(
        "training gradients: {} ({} discarded), outer steps: {}, inner steps: {}",
        u.gradient_evaluations, u.discarded_gradient_evaluations, u.outer_steps, u.inner_steps
    );
    println!("test clean accuracy: {:.4}", last.test.clean.accuracy);
    for r in &last.test.robust {
        println!(
            "test robust accuracy ({} eps={} PGD-{}): {:.4}",
            r.attack.norm, r.attack.eps, r.attack.steps, r.metrics.accuracy
        );
    }
    Ok(())
}
