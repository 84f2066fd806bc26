//! Training the control point and scanning both paths.

use advland_data::batch::permutation;
use advland_data::derive_seed;
use advland_data::random::SplitMix64;
use advland_schema::connectivity::{ConnectivityReport, PathScan};
use advland_schema::{Cost, ObjectiveKind};
use advland_train::attack::Attack;
use advland_train::data::subset;
use advland_train::model::BnMode;
use advland_train::params::{flatten, from_host, load_flat};
use advland_train::{Model, Observer};
use burn::tensor::Device;

use super::config::ConnectConfig;
use super::curve::{bezier_point, control_gradient, line_point};
use crate::error::{Error, Result};
use crate::model_objective::{ModelObjective, ObjectiveSpec, to_host_f64};
use crate::objective::Objective;
use crate::subject::{Measured, Subject};
use crate::vector::norm;

/// The trained control point φ.
#[derive(Clone, Debug)]
pub struct TrainedCurve {
    /// φ, flat (the layout of [`advland_train::params::flatten`]).
    pub phi: Vec<f64>,
    /// Mean training loss per epoch.
    pub train_loss: Vec<f64>,
    /// SGD steps taken.
    pub steps: usize,
    /// Training examples used.
    pub examples: usize,
    /// Work done.
    pub cost: Cost,
}

impl TrainedCurve {
    /// `model` (θ_A's architecture and statistics) with φ as its parameters, to save.
    ///
    /// # Errors
    /// A φ of another length than `model`'s parameters.
    pub fn control_model(&self, model: &Model) -> Result<Model> {
        let values: Vec<f32> = self.phi.iter().map(|&v| v as f32).collect();
        let device = flatten(model).device();
        Ok(load_flat(model.clone(), from_host(values, &device))?)
    }
}

/// Trains the control point of the curve from `subject` (θ_A) to `to` (θ_B) and scans the
/// curve and the line as `config` says. `observer` hears `train` per epoch and `scan` per
/// point.
///
/// Requires an autodiff `device`.
///
/// # Errors
/// Invalid settings (named by their field), models of different architectures, no training
/// split, non-finite losses.
pub fn measure(
    subject: &Subject,
    to: &Model,
    to_name: &str,
    config: &ConnectConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<(Measured<ConnectivityReport>, TrainedCurve)> {
    check(config)?;
    let a = to_host_f64(&flatten(&subject.model));
    let b = to_host_f64(&flatten(to));
    if a.len() != b.len() {
        return Err(invalid(
            "to",
            format!(
                "has {} parameters, {} has {}: the ends must share an architecture",
                b.len(),
                subject.checkpoint,
                a.len()
            ),
        ));
    }
    subject.check_subset(config.subset, "subset")?;
    let trained = train_curve(subject, &a, &b, config, device, observer)?;
    let (test, data) = subject.test_subset(config.subset, "subset")?;
    let bn = subject.model.bn_mode().is_some();
    let mut kinds = vec![ObjectiveKind::Clean];
    if config.scan_adversarial {
        kinds.push(ObjectiveKind::Adversarial);
    }
    let mut objectives = Vec::new();
    for kind in kinds {
        let objective = ModelObjective::new(
            &subject.model,
            &test,
            &spec(config, kind, config.seed),
            device,
        )?;
        objectives.push(if bn {
            objective.recompute_bn_on(
                &subject.bn_examples(config.bn_recompute)?,
                config.batch_size,
            )?
        } else {
            objective
        });
    }
    let ts: Vec<f64> = (0..config.points)
        .map(|i| i as f64 / (config.points - 1) as f64)
        .collect();
    let curve = scan(
        "bezier",
        &ts,
        &objectives,
        |t| bezier_point(&a, &trained.phi, &b, t),
        observer,
    )?;
    let line = scan(
        "line",
        &ts,
        &objectives,
        |t| line_point(&a, &b, t),
        observer,
    )?;
    let mut cost = trained.cost;
    for objective in &objectives {
        cost += objective.cost();
    }
    let mid: Vec<f64> = a.iter().zip(&b).map(|(x, y)| 0.5 * (x + y)).collect();
    let offset: Vec<f64> = trained.phi.iter().zip(&mid).map(|(p, m)| p - m).collect();
    let distance: Vec<f64> = b.iter().zip(&a).map(|(x, y)| x - y).collect();
    let report = ConnectivityReport {
        checkpoint: subject.checkpoint.clone(),
        epoch: subject.epoch,
        to: to_name.to_owned(),
        objective: config.objective,
        attack: config.attack.clone(),
        train_examples: trained.examples,
        examples: test.len(),
        steps: trained.steps,
        train_loss: trained.train_loss.clone(),
        bn_recompute: bn.then_some(config.bn_recompute),
        endpoint_distance: norm(&distance),
        control_offset: norm(&offset),
        curve,
        line,
    };
    Ok((Measured { report, cost, data }, trained))
}

/// SGD on φ from the midpoint of `a` and `b`: per minibatch one t ∼ U(0, 1) and the step
/// φ ← φ − lr·2t(1 − t)·∇L(θ(t)) on the minibatch's (clean or adversarial) loss, with batch
/// norm in train mode (batch statistics over each piece of up to
/// [`advland_train::model::CHUNK`] examples, the unit the objective evaluates at once).
///
/// Requires an autodiff `device`.
///
/// # Errors
/// No training split, invalid settings, non-finite losses.
pub fn train_curve(
    subject: &Subject,
    a: &[f64],
    b: &[f64],
    config: &ConnectConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<TrainedCurve> {
    let train = subject.train.clone().ok_or_else(|| {
        invalid(
            "train_subset",
            "the model comes without a training split".to_owned(),
        )
    })?;
    let train = subset(train, config.train_subset, "train_subset")?;
    let template = match subject.model.bn_mode() {
        Some(_) => subject.model.clone().with_bn_mode(BnMode::Train),
        None => subject.model.clone(),
    };
    let mut phi: Vec<f64> = a.iter().zip(b).map(|(x, y)| 0.5 * (x + y)).collect();
    let mut cost = Cost::default();
    let mut train_loss = Vec::with_capacity(config.epochs);
    let mut step = 0usize;
    for epoch in 0..config.epochs {
        observer.progress("train", epoch, config.epochs);
        let order = permutation(
            train.len(),
            derive_seed(config.seed, "connect-shuffle", epoch as u64),
        );
        let mut total = 0.0;
        let mut batches = 0usize;
        for chunk in order.chunks(config.batch_size) {
            step += 1;
            let t = SplitMix64::new(derive_seed(config.seed, "connect-t", step as u64)).uniform();
            let minibatch = train.select(chunk);
            let attack_seed = derive_seed(config.seed, "connect-attack", step as u64);
            let objective = ModelObjective::new(
                &template,
                &minibatch,
                &spec(config, config.objective, attack_seed),
                device,
            )?;
            let (loss, grad) = control_gradient(&objective, a, &phi, b, t)?;
            for (p, g) in phi.iter_mut().zip(&grad) {
                *p -= config.lr * g;
            }
            cost += objective.cost();
            total += loss;
            batches += 1;
        }
        train_loss.push(total / batches.max(1) as f64);
    }
    observer.progress("train", config.epochs, config.epochs);
    Ok(TrainedCurve {
        phi,
        train_loss,
        steps: step,
        examples: train.len(),
        cost,
    })
}

fn check(config: &ConnectConfig) -> Result<()> {
    if config.objective == ObjectiveKind::AdversarialFrozen {
        return Err(invalid(
            "objective",
            "a curve trains on the clean or the adversarial loss".to_owned(),
        ));
    }
    let needs_attack = config.objective == ObjectiveKind::Adversarial || config.scan_adversarial;
    match &config.attack {
        Some(attack) => attack
            .check("attack")
            .map_err(|e| Error::rule("attack", e))?,
        None if needs_attack => {
            return Err(invalid(
                "attack",
                "the adversarial objective and scan need an attack (--norm and --eps)".to_owned(),
            ));
        }
        None => {}
    }
    if config.points < 2 {
        return Err(invalid(
            "points",
            format!("must be >= 2, got {}", config.points),
        ));
    }
    if config.batch_size == 0 {
        return Err(invalid("batch_size", "must be >= 1, got 0".to_owned()));
    }
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(invalid(
            "lr",
            format!("must be a finite number above 0, got {}", config.lr),
        ));
    }
    Ok(())
}

fn spec(config: &ConnectConfig, kind: ObjectiveKind, seed: u64) -> ObjectiveSpec {
    ObjectiveSpec {
        kind,
        attack: match kind {
            ObjectiveKind::Clean => None,
            _ => config.attack.clone().map(Attack::new),
        },
        precision: config.precision,
        batch_size: config.batch_size,
        seed,
        freeze_activations: false,
    }
}

/// Loss and accuracy of every objective (clean first, then adversarial) at θ = `at(t)`.
fn scan(
    path: &str,
    ts: &[f64],
    objectives: &[ModelObjective],
    at: impl Fn(f64) -> Vec<f64>,
    observer: &mut dyn Observer,
) -> Result<PathScan> {
    let mut values = vec![(Vec::new(), Vec::new()); objectives.len()];
    for (i, &t) in ts.iter().enumerate() {
        observer.progress("scan", i, ts.len());
        let theta = at(t);
        for (objective, (losses, accuracies)) in objectives.iter().zip(values.iter_mut()) {
            let (loss, accuracy) = objective.loss_and_accuracy(&theta)?;
            losses.push(loss);
            accuracies.push(accuracy.unwrap_or(0.0));
        }
    }
    let mut values = values.into_iter();
    let (clean_loss, clean_accuracy) = values.next().unwrap_or_default();
    let adversarial = values.next();
    let ends = clean_loss[0].max(clean_loss[clean_loss.len() - 1]);
    let peak = clean_loss.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok(PathScan {
        path: path.to_owned(),
        t: ts.to_vec(),
        clean_barrier: peak - ends,
        clean_loss,
        clean_accuracy,
        adversarial_loss: adversarial.as_ref().map(|(l, _)| l.clone()),
        adversarial_accuracy: adversarial.map(|(_, a)| a),
    })
}

fn invalid(field: &'static str, reason: String) -> Error {
    Error::InvalidConfig { field, reason }
}
