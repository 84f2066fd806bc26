//! A model's loss on a fixed data subset as an [`Objective`] of its flat parameters.

use std::cell::{Cell, RefCell};
use std::ops::Range;

use advland_data::{Dataset, derive_seed};
use advland_schema::Cost;
pub use advland_schema::Precision;
use advland_train::attack::Attack;
use advland_train::loss::{correct as correct_count, cross_entropy};
use advland_train::model::{ActivationPattern, chunk_for};
use advland_train::params::{flat_gradient, flatten, load_flat};
use advland_train::{Batch, Model, pgd_attack};
use burn::module::Module;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::objective::{Objective, ObjectiveKind};
use crate::precision::dtype_on;

/// The mean cross-entropy of a model on a fixed subset, as a function of θ: clean, adversarial
/// (PGD re-solved at every θ from the same seeded starts) or adversarial-frozen (inputs attacked
/// once at the reference θ₀). See [`ObjectiveKind`].
///
/// The caller's model is never modified: every evaluation loads θ into a clone. A clone of
/// the objective shares its data and frozen attacks (tensors are reference-counted) and
/// counts its own cost, so grid evaluations can run one clone per thread.
#[derive(Clone)]
pub struct ModelObjective {
    template: Model,
    batches: Vec<Batch>,
    frozen: Vec<Tensor<4>>,
    /// θ₀'s activation patterns, per batch and per chunk of `chunk` examples.
    patterns: Option<Vec<Vec<ActivationPattern>>>,
    /// Examples per piece of parallel work on this device.
    chunk: usize,
    kind: ObjectiveKind,
    attack: Option<Attack>,
    seed: u64,
    examples: usize,
    dim: usize,
    dtype: DType,
    device: Device,
    cost: Cell<Cost>,
    evaluations: Cell<u64>,
    last_attack: RefCell<Option<(Vec<f64>, Vec<Tensor<4>>)>>,
    /// Training images the batch norms' running statistics are re-estimated on at every θ
    /// (see [`ModelObjective::recompute_bn_on`]); `None`: θ₀'s statistics everywhere.
    bn_batches: Option<Vec<Tensor<4>>>,
}

impl std::fmt::Debug for ModelObjective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelObjective")
            .field("kind", &self.kind)
            .field("attack", &self.attack)
            .field("examples", &self.examples)
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

/// How a [`ModelObjective`] evaluates its loss.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectiveSpec {
    /// Clean, adversarial or adversarial-frozen.
    pub kind: ObjectiveKind,
    /// The attack of the adversarial kinds.
    pub attack: Option<Attack>,
    /// f32 or f64 end to end.
    pub precision: Precision,
    /// Examples per batch.
    pub batch_size: usize,
    /// Seed of the attacks' random starts (the same for every θ).
    pub seed: u64,
    /// Evaluate through the activation pattern (ReLU masks, pooling choices) recorded at θ₀
    /// instead of the live network: the smooth function on θ₀'s linear piece, whose
    /// finite-difference Hessian is the exact local Hessian (see
    /// [`advland_train::model::ActivationPattern`]). Needs fixed inputs, so not with the
    /// adversarial kind.
    pub freeze_activations: bool,
}

impl ModelObjective {
    /// The objective `spec` for `model` (on an autodiff `device`) on all of `data`.
    /// Adversarial kinds need an attack; the frozen kind attacks once here, at the model's own
    /// parameters.
    ///
    /// # Errors
    /// A missing attack for an adversarial kind, an empty data set.
    pub fn new(
        model: &Model,
        data: &Dataset,
        spec: &ObjectiveSpec,
        device: &Device,
    ) -> Result<Self> {
        let ObjectiveSpec {
            kind,
            attack,
            precision,
            batch_size,
            seed,
            freeze_activations,
        } = spec.clone();
        if freeze_activations && kind == ObjectiveKind::Adversarial {
            return Err(Error::InvalidConfig {
                field: "freeze_activations",
                reason: "a frozen activation pattern needs fixed inputs; use the clean or \
                         adversarial-frozen objective"
                    .to_owned(),
            });
        }
        if data.is_empty() {
            return Err(Error::InvalidConfig {
                field: "subset",
                reason: "the data subset is empty".to_owned(),
            });
        }
        let attack = match kind {
            ObjectiveKind::Clean => None,
            _ => Some(attack.ok_or_else(|| Error::InvalidConfig {
                field: "attack",
                reason: "adversarial objectives need --norm and --eps".to_owned(),
            })?),
        };
        let dtype = dtype_on(precision, device)?;
        let template = model.in_dtype(dtype)?;
        let indices: Vec<usize> = (0..data.len()).collect();
        let batches: Vec<Batch> = indices
            .chunks(batch_size.max(1))
            .map(|chunk| {
                let (pixels, labels) = data.gather(chunk);
                let [c, h, w] = data.shape;
                Batch {
                    images: Tensor::from_data(
                        TensorData::new(pixels, [chunk.len(), c, h, w]),
                        (device, dtype),
                    ),
                    labels: Tensor::<1, Int>::from_data(
                        TensorData::new(labels, [chunk.len()]),
                        device,
                    ),
                }
            })
            .collect();
        let mut objective = Self {
            dim: template_dim(&template),
            template,
            batches,
            frozen: Vec::new(),
            patterns: None,
            chunk: chunk_for(device),
            kind,
            attack,
            seed,
            examples: data.len(),
            dtype,
            device: device.clone(),
            cost: Cell::new(Cost::default()),
            evaluations: Cell::new(0),
            last_attack: RefCell::new(None),
            bn_batches: None,
        };
        if kind == ObjectiveKind::AdversarialFrozen {
            let model = objective.template.clone();
            objective.frozen = (0..objective.batches.len())
                .map(|i| objective.attack_batch(&model, i))
                .collect();
        }
        if freeze_activations {
            let model = objective.template.clone();
            let inputs = objective.inputs(&objective.reference(), &model);
            objective.patterns = Some(
                inputs
                    .into_iter()
                    .map(|x| {
                        chunks(x.dims()[0], objective.chunk)
                            .map(|rows| model.forward_recording(x.clone().slice([rows])).1)
                            .collect()
                    })
                    .collect(),
            );
        }
        Ok(objective)
    }

    /// This adversarial objective with its attack frozen at θ₀: the adversarial-frozen kind
    /// of the same model, data and attack, built from the attack already made at θ₀ when
    /// the last evaluation was there (an analysis that needs both kinds attacks θ₀ once). Its
    /// cost starts at zero.
    ///
    /// # Errors
    /// An objective that is not the adversarial kind.
    pub fn frozen_at_reference(&self) -> Result<Self> {
        if self.kind != ObjectiveKind::Adversarial {
            return Err(Error::InvalidConfig {
                field: "objective",
                reason: format!(
                    "only the adversarial objective freezes, not {:?}",
                    self.kind
                ),
            });
        }
        let theta = self.reference();
        let frozen = self.inputs(&theta, &self.model_at(&theta)?);
        Ok(Self {
            kind: ObjectiveKind::AdversarialFrozen,
            frozen,
            cost: Cell::new(Cost::default()),
            evaluations: Cell::new(0),
            last_attack: RefCell::new(None),
            ..self.clone()
        })
    }

    /// The inputs cut into the pieces that are evaluated in parallel: each batch in chunks of
    /// `chunk` examples, with θ₀'s activation pattern of that chunk when one is frozen.
    fn pieces(&self, inputs: Vec<Tensor<4>>) -> Vec<Piece<'_>> {
        let mut pieces = Vec::new();
        for (i, (x, batch)) in inputs.into_iter().zip(&self.batches).enumerate() {
            for (j, rows) in chunks(batch.labels.dims()[0], self.chunk).enumerate() {
                pieces.push(Piece {
                    x: x.clone().slice([rows.clone()]),
                    labels: batch.labels.clone().slice([rows]),
                    pattern: self.patterns.as_ref().map(|p| &p[i][j]),
                });
            }
        }
        pieces
    }

    /// The same objective with the batch norms' running statistics re-estimated from scratch
    /// at every θ it evaluates, on `data` in batches of `batch_size` (the model's
    /// [`Model::recompute_bn_statistics`]), so that a perturbed network is judged with
    /// statistics of its own rather than θ₀'s: for loss values (surfaces). The statistics
    /// depend on θ and are not differentiated, so a gradient holding them fixed is not the
    /// gradient of this loss (batch norm makes the loss nearly invariant to the scale of the
    /// layer before it, which that gradient misses): [`Objective::loss_and_gradient`] refuses.
    /// Models without batch norm are unchanged.
    ///
    /// The adversarial-frozen kind's inputs and a frozen activation pattern stay those
    /// recorded at θ₀ with the model's own statistics.
    ///
    /// # Errors
    /// No data.
    pub fn recompute_bn_on(mut self, data: &Dataset, batch_size: usize) -> Result<Self> {
        if data.is_empty() {
            return Err(Error::InvalidConfig {
                field: "bn",
                reason: "re-estimating batch-norm statistics needs training examples".to_owned(),
            });
        }
        let [c, h, w] = data.shape;
        let device = self.device.clone().inner();
        let indices: Vec<usize> = (0..data.len()).collect();
        let batches: Vec<Tensor<4>> = indices
            .chunks(batch_size.max(1))
            .map(|chunk| {
                let (pixels, _) = data.gather(chunk);
                Tensor::from_data(
                    TensorData::new(pixels, [chunk.len(), c, h, w]),
                    (&device, self.dtype),
                )
            })
            .collect();
        self.bn_batches = Some(batches);
        Ok(self)
    }

    /// The model at `flat`, with statistics re-estimated there when asked for.
    fn model_with(&self, flat: Tensor<1>) -> Result<Model> {
        let model = load_flat(self.template.clone(), flat)?;
        match &self.bn_batches {
            None => Ok(model),
            Some(batches) => Ok(model.recompute_bn_statistics(batches)?),
        }
    }

    /// The reference parameters θ₀ (the model's own), as host f64.
    pub fn reference(&self) -> Vec<f64> {
        to_host_f64(&flatten(&self.template))
    }

    /// Which objective this is.
    pub fn kind(&self) -> ObjectiveKind {
        self.kind
    }

    /// Work done so far (attacks included), in examples.
    pub fn cost(&self) -> Cost {
        self.cost.get()
    }

    /// Number of loss/gradient evaluations so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations.get()
    }

    /// Number of examples in the subset.
    pub fn examples(&self) -> usize {
        self.examples
    }

    /// The L2 diameter of the attack's ball on one input (2ε for L2, 2ε√d for L∞); `None`
    /// without an attack.
    pub fn attack_diameter(&self) -> Option<f64> {
        let attack = self.attack.as_ref()?;
        let [_, c, h, w] = self.batches.first()?.images.dims();
        Some(attack.constraint().l2_diameter(c * h * w))
    }

    /// θ as a tensor of the objective's dtype on the inner device.
    fn theta_tensor(&self, theta: &[f64]) -> Result<Tensor<1>> {
        if theta.len() != self.dim {
            return Err(Error::Dimension {
                expected: self.dim,
                got: theta.len(),
            });
        }
        Ok(Tensor::<1>::from_data(
            TensorData::new(theta.to_vec(), [theta.len()]),
            (&self.device.clone().inner(), self.dtype),
        ))
    }

    fn model_at(&self, theta: &[f64]) -> Result<Model> {
        self.model_with(self.theta_tensor(theta)?)
    }

    /// PGD on batch `i` at `model`, from the same seeded start whatever the model.
    fn attack_batch(&self, model: &Model, i: usize) -> Tensor<4> {
        let Some(attack) = &self.attack else {
            return self.batches[i].images.clone();
        };
        let out = pgd_attack(
            model,
            &self.batches[i],
            attack,
            derive_seed(self.seed, "analysis-attack", i as u64),
        );
        self.add_cost(out.cost);
        out.adversarial
    }

    fn add_cost(&self, c: Cost) {
        let mut total = self.cost.get();
        total += c;
        self.cost.set(total);
    }

    /// The inputs the loss is evaluated at for `model` (whose parameters are `theta`), per
    /// batch. The adversarial inputs of the last θ are kept: a probe asks for the gradient and
    /// then δ*(θ) at the same point, and the attack is most of the cost.
    fn inputs(&self, theta: &[f64], model: &Model) -> Vec<Tensor<4>> {
        match self.kind {
            ObjectiveKind::Clean => self.batches.iter().map(|b| b.images.clone()).collect(),
            ObjectiveKind::Adversarial => {
                if let Some((cached_theta, cached)) = &*self.last_attack.borrow()
                    && cached_theta.as_slice() == theta
                {
                    return cached.clone();
                }
                let attacked: Vec<Tensor<4>> = (0..self.batches.len())
                    .map(|i| self.attack_batch(model, i))
                    .collect();
                *self.last_attack.borrow_mut() = Some((theta.to_vec(), attacked.clone()));
                attacked
            }
            ObjectiveKind::AdversarialFrozen => self.frozen.clone(),
        }
    }

    /// The perturbations δ = x' − x at θ, flattened over the subset (host f64): δ*(θ) for
    /// the adversarial kind, the frozen δ₀ for the frozen kind, zeros for clean.
    ///
    /// # Errors
    /// A θ of the wrong length.
    pub fn perturbation_at(&self, theta: &[f64]) -> Result<Vec<f64>> {
        let model = self.model_at(theta)?;
        let mut out = Vec::new();
        for (x_adv, batch) in self.inputs(theta, &model).into_iter().zip(&self.batches) {
            let delta = (x_adv - batch.images.clone()).inner();
            let n = delta.shape().num_elements();
            out.extend(to_host_f64(&delta.reshape([n])));
        }
        Ok(out)
    }

    /// Mean loss at θ without a backward pass and, when `accuracy` is set, the accuracy on
    /// the same inputs (an argmax per batch that loss-only probes do not pay for).
    fn evaluate(&self, theta: &[f64], accuracy: bool) -> Result<(f64, Option<f64>)> {
        let model = self.model_at(theta)?;
        let inputs = self.inputs(theta, &model);
        let valid = model.valid();
        let sums: Vec<(f64, usize)> = self
            .pieces(inputs)
            .into_par_iter()
            .map(|piece| {
                let logits = match piece.pattern {
                    // Recorded gates live on the autodiff device; replay there, without a
                    // backward.
                    Some(pattern) => model
                        .forward_with_pattern(piece.x, pattern)
                        .detach()
                        .inner(),
                    None => valid.forward(piece.x.inner()),
                };
                let labels = piece.labels.inner();
                let correct = if accuracy {
                    correct_count(logits.clone(), labels.clone())
                } else {
                    0
                };
                let loss = cross_entropy(logits, labels).sum().into_scalar::<f64>();
                (loss, correct)
            })
            .collect();
        self.add_cost(Cost {
            forward: self.examples as u64,
            backward: 0,
        });
        self.evaluations.set(self.evaluations.get() + 1);
        let n = self.examples as f64;
        let loss = sums.iter().map(|(loss, _)| loss).sum::<f64>() / n;
        if !loss.is_finite() {
            return Err(Error::NonFinite {
                what: "loss",
                step: usize::try_from(self.evaluations.get()).unwrap_or(usize::MAX),
            });
        }
        let correct: usize = sums.iter().map(|(_, c)| c).sum();
        Ok((loss, accuracy.then(|| correct as f64 / n)))
    }
}

/// Row ranges of the chunks of a batch of `b` examples, `chunk` examples each
/// ([`advland_train::model::chunk_for`] the device, for the reasons given there).
fn chunks(b: usize, chunk: usize) -> impl Iterator<Item = Range<usize>> {
    (0..b)
        .step_by(chunk)
        .map(move |start| start..start.saturating_add(chunk).min(b))
}

/// A chunk of a batch, evaluated on its own.
struct Piece<'a> {
    x: Tensor<4>,
    labels: Tensor<1, Int>,
    pattern: Option<&'a ActivationPattern>,
}

fn template_dim(model: &Model) -> usize {
    flatten(model).dims()[0]
}

/// Host copy of a 1-D tensor as f64.
pub fn to_host_f64(t: &Tensor<1>) -> Vec<f64> {
    t.to_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("a float tensor converts to f64")
}

impl Objective for ModelObjective {
    fn dim(&self) -> usize {
        self.dim
    }

    /// Mean loss over the subset and its θ-gradient. For the adversarial kind the gradient is
    /// Danskin's: δ*(θ) is held fixed in the backward pass (paper.md §1.2).
    ///
    /// The chunks of the subset run in parallel, each through a model of its own (parameters
    /// that share a graph node would merge the chunks' autodiff graphs into one, which burn
    /// walks under one lock); their gradients are summed in order, so the result does not
    /// depend on the thread count.
    fn loss_and_gradient(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        if self.bn_batches.is_some() {
            return Err(Error::InvalidConfig {
                field: "bn",
                reason: "gradients through batch-norm statistics re-estimated at every θ are \
                         not implemented; re-estimation serves loss values (surfaces) only"
                    .to_owned(),
            });
        }
        let flat = self.theta_tensor(theta)?;
        let model = self.model_with(flat.clone())?;
        let inputs = self.inputs(theta, &model);
        let n = self.examples as f64;
        // Each piece's model shares `model`'s (possibly re-estimated) statistics.
        let template = &model;
        let parts: Vec<(f64, Tensor<1>)> = self
            .pieces(inputs)
            .into_par_iter()
            .map(|piece| {
                let model = load_flat(template.clone(), flat.clone())?;
                let (loss, grads) =
                    model.loss_and_gradients(piece.x, piece.labels, piece.pattern, n);
                Ok((loss, flat_gradient(&model, &grads)))
            })
            .collect::<Result<_>>()?;
        self.add_cost(Cost {
            forward: self.examples as u64,
            backward: self.examples as u64,
        });
        self.evaluations.set(self.evaluations.get() + 1);
        let loss = parts.iter().map(|(loss, _)| loss).sum::<f64>() / n;
        if !loss.is_finite() {
            return Err(Error::NonFinite {
                what: "loss",
                step: usize::try_from(self.evaluations.get()).unwrap_or(usize::MAX),
            });
        }
        let grad = parts.into_iter().map(|(_, g)| g).reduce(|acc, g| acc + g);
        let grad = grad.map_or_else(|| vec![0.0; self.dim], |g| to_host_f64(&g));
        Ok((loss, grad))
    }

    fn perturbation(&self, theta: &[f64]) -> Result<Option<Vec<f64>>> {
        match self.kind {
            ObjectiveKind::Clean => Ok(None),
            _ => self.perturbation_at(theta).map(Some),
        }
    }

    fn loss(&self, theta: &[f64]) -> Result<f64> {
        self.evaluate(theta, false).map(|(loss, _)| loss)
    }

    fn loss_and_accuracy(&self, theta: &[f64]) -> Result<(f64, Option<f64>)> {
        self.evaluate(theta, true)
    }
}
