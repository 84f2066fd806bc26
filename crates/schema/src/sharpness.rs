//! Payloads of parameter-space analysis reports (`advland sharpness`), paper.md §3.2 E-B.

use serde::{Deserialize, Serialize};

use crate::threat::PgdSettings;
use crate::weight_sharpness::WeightSharpnessResult;

/// Which loss of a model an analysis measures (paper.md §1.2, §3.2 E-B item 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ObjectiveKind {
    /// ℓ(x, θ).
    Clean,
    /// ℓ(x + δ*(θ), θ) with PGD re-run at every θ (same seed, same random start); gradient by
    /// Danskin (δ* held fixed in the backward pass).
    Adversarial,
    /// ℓ(x + δ₀, θ) with δ₀ computed once at the reference θ₀ and reused everywhere: isolates
    /// the dependence of δ* on θ (paper.md C6).
    AdversarialFrozen,
}

impl ObjectiveKind {
    /// The name used in files and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectiveKind::Clean => "clean",
            ObjectiveKind::Adversarial => "adversarial",
            ObjectiveKind::AdversarialFrozen => "adversarial-frozen",
        }
    }
}

/// Floating-point precision of an analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// Single precision, as trained; fastest.
    F32,
    /// Double precision end to end: finite-difference curvature needs the digits.
    F64,
}

/// What was measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveInfo {
    /// The objective.
    pub kind: ObjectiveKind,
    /// Its attack (adversarial kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack: Option<PgdSettings>,
    /// Precision of the computation.
    pub precision: Precision,
    /// Train/eval mode of the model during the analysis: always `eval` (batch norm, where a
    /// model has it, normalises with its running statistics, so the loss is a function of θ).
    pub model_mode: String,
    /// Whether the network was evaluated through the activation pattern recorded at θ₀
    /// (exact local Hessian) instead of live (gates may switch between evaluation points).
    pub frozen_activations: bool,
    /// Examples in the fixed data subset.
    pub examples: usize,
    /// Checkpoint measured.
    pub checkpoint: String,
    /// Its epoch.
    pub epoch: usize,
    /// ‖θ₀‖₂.
    pub theta_norm: f64,
    /// Number of parameters.
    pub parameters: usize,
    /// f(θ₀).
    pub loss: f64,
}

/// Why an iteration stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The relative change fell below the tolerance.
    Converged,
    /// The iteration cap was reached first.
    MaxIter,
}

/// One estimated Hessian eigenvalue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eigenvalue {
    /// Signed eigenvalue (Rayleigh quotient).
    pub value: f64,
    /// Rayleigh quotient after each iteration.
    pub trace: Vec<f64>,
    /// ‖Hv − λv‖ at the end.
    pub residual: f64,
    /// Hessian-vector products spent.
    pub hvps: usize,
    /// Why it stopped.
    pub stop: StopReason,
}

/// What a sharpness measurement estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Estimator {
    /// Top-k Hessian eigenvalues (signed) by power iteration with deflation, or Lanczos, on
    /// finite-difference Hessian-vector products.
    Hessian,
    /// Gradient-Lipschitz estimates κ(r) = ‖g(θ+ru) − g(θ)‖/r over random and gradient
    /// directions, worst-case ascent, and secants between consecutive checkpoints.
    Lipschitz,
    /// Gradient jumps ‖g(tᵢ₊₁) − g(tᵢ)‖ along a random line through θ.
    Kinks,
    /// Hessian trace by Hutchinson's estimator (Rademacher probes) with a 95 % interval.
    Trace,
    /// Hessian spectral density by stochastic Lanczos quadrature.
    Density,
    /// Worst-case sharpness: max over δ in a ρ-ball of L(θ₀ + δ) − L(θ₀) per batch of m
    /// examples, by an APGD-style ascent in weight space (tml-epfl/sharpness-vs-generalization).
    WorstCase,
    /// Average-case sharpness: E L(θ₀ + δ) − L(θ₀) with Gaussian (ℓ2 balls) or uniform (ℓ∞
    /// balls) noise of scale ρ, per batch of m examples.
    AverageCase,
    /// AWP's robust-loss increase: max over ‖v_l‖ ≤ γ‖θ₀_l‖ per tensor, from AWP's one-step
    /// perturbation on by ascent (csdongxian/AWP).
    Awp,
}

impl Estimator {
    /// The name used in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Estimator::Hessian => "hessian",
            Estimator::Lipschitz => "lipschitz",
            Estimator::Kinks => "kinks",
            Estimator::Trace => "trace",
            Estimator::Density => "density",
            Estimator::WorstCase => "worst-case",
            Estimator::AverageCase => "average-case",
            Estimator::Awp => "awp",
        }
    }
}

/// How Hessian eigenvalues are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum EigenMethod {
    /// Power iteration with deflation: the k eigenvalues of largest |λ|, signed (PyHessian).
    Power,
    /// Lanczos with full reorthogonalisation: the k largest (signed) Ritz values and λmin.
    Lanczos,
}

/// `sharpness hessian`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HessianResult {
    /// The eigen-solver.
    pub method: EigenMethod,
    /// Finite-difference step of the HVPs (distance in parameter space).
    pub fd_step: f64,
    /// Relative tolerance.
    pub tol: f64,
    /// Eigenvalues: of largest |λ| in the order found (power), or the largest signed Ritz
    /// values in descending order (Lanczos).
    pub eigenvalues: Vec<Eigenvalue>,
    /// The smallest eigenvalue (Lanczos only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_min: Option<f64>,
}

/// One secant between θ and θ + t·u.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secant {
    /// Distance ‖θ₁ − θ₂‖.
    pub distance: f64,
    /// ‖g(θ₁) − g(θ₂)‖ / ‖θ₁ − θ₂‖.
    pub kappa: f64,
    /// ‖δ(θ₁) − δ(θ₂)‖ / ‖θ₁ − θ₂‖ when the objective has perturbations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_ratio: Option<f64>,
    /// Fraction of input coordinates whose perturbation changed sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_flip_fraction: Option<f64>,
}

/// κ at one radius over several directions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiusProbe {
    /// The radius r.
    pub radius: f64,
    /// max over directions of κ.
    pub kappa_max: f64,
    /// Mean over directions of κ.
    pub kappa_mean: f64,
    /// One secant per direction.
    pub secants: Vec<Secant>,
    /// The distribution of κ over the directions (two or more of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<KappaSummary>,
}

/// κ over directions at one radius: quantiles and a bootstrap interval of the median.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KappaSummary {
    /// Median over directions.
    pub median: f64,
    /// 10 % quantile (linear interpolation between order statistics, numpy's default).
    pub q10: f64,
    /// 90 % quantile.
    pub q90: f64,
    /// 95 % percentile-bootstrap interval of the median, directions resampled with
    /// replacement (examples are fixed: the objective averages over one subset).
    pub median_ci: [f64; 2],
    /// Bootstrap resamples.
    pub resamples: usize,
}

/// How κ(r) scales with the radius: the least-squares line of log median κ against log r
/// over the random-direction radii. A slope near −1 is a gradient jump (κ ≈ ‖Δg‖/r), a slope
/// near 0 a plateau at a local Lipschitz constant of the gradient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KappaScaling {
    /// d log κ / d log r.
    pub slope: f64,
    /// 95 % percentile-bootstrap interval of the slope, the same resampled directions at
    /// every radius.
    pub slope_ci: [f64; 2],
    /// Radii fitted.
    pub radii: usize,
}

/// The worst-case secant over a sphere of radius ρ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorstCase {
    /// ρ.
    pub radius: f64,
    /// The largest κ seen.
    pub kappa: f64,
    /// κ after each ascent step.
    pub trace: Vec<f64>,
}

/// κ estimates of one objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmoothnessEstimates {
    /// The objective.
    pub kind: ObjectiveKind,
    /// κ(r) over random unit directions.
    pub random: Vec<RadiusProbe>,
    /// κ(r) along the normalised negative gradient.
    pub gradient_direction: Vec<RadiusProbe>,
    /// Worst case over the smallest sphere.
    pub worst_case: WorstCase,
    /// Largest κ of all probes.
    pub kappa_max: f64,
    /// How the random directions' median κ scales with r (two or more radii and
    /// directions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<KappaScaling>,
    /// ‖∇f(θ)‖ at the measured point: the scale of the gradient map whose κ this is, so that
    /// κ / ‖∇f(θ)‖ compares maps of different size (claim C8); absent in older reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient_norm: Option<f64>,
    /// How far the re-solved attack moved against the bound earlier analyses used
    /// (adversarial objective only; paper.md §2.2, claim C6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diameter: Option<DiameterComparison>,
}

/// ‖δ*(θ₁) − δ*(θ₂)‖ against the diameter of the attack's ball, the bound that does not shrink
/// as θ₁ → θ₂ (paper.md §2.2): a fraction far below 1 that falls with r says δ* moves with θ
/// (the bound is loose); a fraction that stays put as r → 0 says δ* jumps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiameterComparison {
    /// The ball's diameter in the L2 norm on one input: 2ε (L2), 2ε√d (L∞).
    pub diameter: f64,
    /// Per radius of the random probes (in their order): the largest over directions of the
    /// root-mean-square over examples of ‖δ*(θ + r·u) − δ*(θ)‖₂, over `diameter`.
    pub fraction: Vec<f64>,
}

/// `sharpness lipschitz`: the chosen objective and, for `adversarial`, the frozen ablation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LipschitzResult {
    /// Radii as fractions of ‖θ₀‖.
    pub relative_radii: Vec<f64>,
    /// One entry per objective measured (the requested one first).
    pub objectives: Vec<SmoothnessEstimates>,
    /// Secants between consecutive checkpoints (trajectory), if several were given.
    pub trajectory: Vec<Secant>,
    /// κ of EntropySGD's local-entropy map θ ↦ γ(θ − μ(θ)) built on the requested objective
    /// (paper.md §2.5, claim C8), on the same random directions and radii.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_entropy: Option<LocalEntropyKappa>,
}

/// κ(r) of the local-entropy map of an objective: the smoothness EntropySGD's update sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalEntropyKappa {
    /// The scope γ.
    pub gamma: f64,
    /// Langevin steps L of the chain giving μ(θ) (full-subset gradients, common noise).
    pub inner_steps: usize,
    /// Inner learning rate η'.
    pub inner_lr: f64,
    /// Thermal noise ε.
    pub noise: f64,
    /// κ(r) over the random directions.
    pub random: Vec<RadiusProbe>,
    /// Largest κ of these probes.
    pub kappa_max: f64,
    /// ‖γ(θ − μ(θ))‖ at the measured point, the map's own size: to first order the map is
    /// a rescaled gradient, so κ / map_norm against the loss's κ / ‖∇f(θ)‖ separates smoothing
    /// from rescaling (claim C8); absent in older reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_norm: Option<f64>,
}

/// Gradient jumps along a line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KinkProfile {
    /// Grid positions.
    pub t: Vec<f64>,
    /// f along the grid.
    pub loss: Vec<f64>,
    /// ‖g(tᵢ₊₁) − g(tᵢ)‖, one per neighbouring pair.
    pub jumps: Vec<f64>,
    /// The largest jump.
    pub max_jump: f64,
    /// Where it happened (midpoint of the pair).
    pub max_jump_at: f64,
    /// Median jump.
    pub median_jump: f64,
}

/// `sharpness trace`: Hutchinson's estimate of tr(H) with Rademacher probes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceResult {
    /// Finite-difference step of the HVPs.
    pub fd_step: f64,
    /// Mean of vᵀHv over the probes.
    pub mean: f64,
    /// Standard error of the mean.
    pub std_error: f64,
    /// 95 % confidence interval (normal approximation), low end.
    pub ci95_low: f64,
    /// 95 % confidence interval, high end.
    pub ci95_high: f64,
    /// Probes used.
    pub samples: usize,
    /// Running mean after each probe.
    pub running_mean: Vec<f64>,
    /// Why it stopped.
    pub stop: StopReason,
}

/// `sharpness density`: stochastic Lanczos quadrature of the Hessian's spectrum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DensityResult {
    /// Finite-difference step of the HVPs.
    pub fd_step: f64,
    /// Ritz values, one list per probe.
    pub nodes: Vec<Vec<f64>>,
    /// Their quadrature weights (squared first components), one list per probe.
    pub weights: Vec<Vec<f64>>,
    /// Width of the Gaussian broadening.
    pub sigma: f64,
    /// Evenly spaced eigenvalue grid.
    pub grid: Vec<f64>,
    /// Density on the grid (integrates to 1).
    pub density: Vec<f64>,
}

/// The estimate a `sharpness` report holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "estimator", rename_all = "kebab-case")]
pub enum SharpnessEstimate {
    /// Top Hessian eigenvalues.
    Hessian(HessianResult),
    /// Gradient-Lipschitz estimates.
    Lipschitz(LipschitzResult),
    /// Gradient jumps along a line.
    Kinks(KinkProfile),
    /// Hessian trace.
    Trace(TraceResult),
    /// Hessian spectral density.
    Density(DensityResult),
    /// Worst-case weight sharpness.
    WorstCase(WeightSharpnessResult),
    /// Average-case weight sharpness.
    AverageCase(WeightSharpnessResult),
    /// AWP's robust-loss increase.
    Awp(WeightSharpnessResult),
}

/// Payload of a `sharpness` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharpnessReport {
    /// What was measured.
    pub objective: ObjectiveInfo,
    /// The estimate.
    pub estimate: SharpnessEstimate,
    /// Loss/gradient evaluations spent (an HVP is two).
    pub gradient_evaluations: u64,
}

impl crate::report::Payload for SharpnessReport {
    const KIND: &'static str = "sharpness";
}
