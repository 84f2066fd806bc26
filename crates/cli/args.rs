//! Command-line arguments (clap derive). Help text is the doc comment of each field.

use std::path::PathBuf;

use advland_schema::{
    DatasetName, ModelKind, ModelSpec, NoiseConvention, Norm, OuterConvention, PgdSettings,
    Scoping, ThreatSpec, parse_fraction,
};
use advland_train::Attack;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::device::DeviceArg;

/// advland: train adversarially robust models and analyse their loss landscapes.
#[derive(Debug, Parser)]
#[command(name = "advland", version, about, max_term_width = 100)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Compute device.
    #[arg(long, value_enum, default_value = "cpu", global = true)]
    pub device: DeviceArg,
    /// No progress bars or epoch lines on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing buys nothing"
)]
pub enum Command {
    /// Train a model (standard or PGD adversarial training) and save checkpoints + a JSON log.
    Train(TrainArgs),
    /// Clean and PGD-robust loss/accuracy of a checkpoint or weights file.
    Eval(EvalArgs),
    /// Write a checkpoint's weights as a PyTorch-layout safetensors file.
    Export(ExportArgs),
    /// Smoothness and sharpness of a checkpoint's loss in parameter space: Hessian eigenvalues,
    /// gradient-Lipschitz probes (adversarial next to adversarial-frozen), gradient jumps.
    Sharpness(crate::commands::sharpness::SharpnessArgs),
    /// Input-space flatness at clean and adversarial points: input-gradient norms, input-Hessian
    /// top-k eigenvalues, curvature along the gradient, trace, KKT multiplier, 1-D loss curves,
    /// optionally a 2-D loss surface around one example and the logits' local Lipschitz constant.
    Flatness(crate::commands::flatness::FlatnessArgs),
    /// Input flatness next to parameter smoothness κ across checkpoints and attacks, with
    /// Spearman rank correlations (paper.md claim C5).
    Relate(crate::commands::relate::RelateArgs),
    /// The closed-form binary linear model on two classes: L∞ gradient jumps at w_i = 0 and
    /// L2 smoothness growing like ε/‖w‖ (paper.md §2.3).
    Linear(crate::commands::linear::LinearArgs),
    /// Loss and accuracy on a 1-D/2-D grid θ₀ + a·d₁ + b·d₂ in parameter space (random
    /// filter-normalised, checkpoint or Hessian directions), clean / adversarial (attack
    /// re-solved at every point) / adversarial-frozen; resumable and shardable.
    Surface(crate::commands::surface::SurfaceArgs),
    /// Join the shards of a surface (`surface --shard i/n`) into one report, checking that they
    /// belong together.
    Merge(crate::commands::merge::MergeArgs),
    /// A complete surface's loss/accuracy grids and axes as NumPy `.npy` and/or CSV files, with
    /// a JSON sidecar of the axes and provenance (`grid.json`).
    ExportGrid(crate::commands::export_grid::ExportGridArgs),
    /// Every measure of several runs per checkpoint (accuracies, λ1, trace, κ, input flatness)
    /// in one table, with measure-versus-epoch figures; runs must share data and directions.
    Compare(crate::commands::compare::CompareArgs),
    /// Re-run a committed analysis: the advland commands listed in an experiment file
    /// (`analysis/<name>/experiment.toml`), from its directory.
    Experiment(crate::commands::experiment::ExperimentArgs),
    /// Redraw every figure from report JSON alone and write a self-contained index.html
    /// (figures, tables of the numbers, the configs that produced them).
    Report(crate::commands::report::ReportArgs),
    /// Train standard, L∞- and L2-adversarial CNNs on the bundled data, evaluate them and write
    /// the report.
    Demo(DemoArgs),
}

/// ``NORM:EPS[:STEPS]``, e.g. `linf:8/255:20` or `l2:1.0`.
pub fn parse_threat(text: &str) -> Result<ThreatSpec, String> {
    let mut parts = text.split(':');
    let norm = match parts.next() {
        Some(n) => {
            Norm::from_str(n, true).map_err(|_| format!("'{n}': norm must be linf or l2"))?
        }
        None => return Err("expected `NORM:EPS[:STEPS]`".into()),
    };
    let eps = parse_fraction(parts.next().ok_or("expected `NORM:EPS[:STEPS]`")?)?;
    let steps = parts
        .next()
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("'{s}': steps must be an integer"))
        })
        .transpose()?;
    if parts.next().is_some() {
        return Err(format!("'{text}': expected `NORM:EPS[:STEPS]`"));
    }
    Ok(ThreatSpec {
        norm,
        eps,
        steps,
        step_size: None,
        random_start: None,
        restarts: None,
    })
}

/// A count that must be at least 1 (batch sizes, subsets, workers, k): 0 is refused here,
/// once for every command, rather than acting as 1 or as "all".
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{text}' is not a whole number")),
    }
}

/// A finite number above 0 (probe radii): refused as typed, before any scaling.
pub fn positive_number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(_) => Err(format!("'{text}' must be a finite number above 0")),
        Err(_) => Err(format!("'{text}' is not a number")),
    }
}

/// A non-negative radius: `0.03` or `8/255`.
pub fn parse_eps(text: &str) -> Result<f64, String> {
    parse_fraction(text)
}

/// Which data, overriding the training file (`--config`).
#[derive(Debug, Args, Clone, Default)]
pub struct DataArgs {
    /// Data set (`fashion-mnist` is the bundled subset; `fashion-mnist-full` reads the Debian
    /// package dataset-fashion-mnist or --data-dir).
    #[arg(long, visible_alias = "data", value_enum)]
    pub dataset: Option<DatasetName>,
    /// Directory with the data files (full Fashion-MNIST defaults to the Debian package's).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Train on this many examples, evenly spaced (indices i*N/n).
    #[arg(long, value_parser = at_least_one)]
    pub train_subset: Option<usize>,
    /// Evaluate on this many test examples, evenly spaced.
    #[arg(long, value_parser = at_least_one, visible_alias = "subset")]
    pub test_subset: Option<usize>,
}

/// Which architecture, overriding the training file (or describing `--weights`).
#[derive(Debug, Args, Clone, Default)]
pub struct ModelArgs {
    /// Architecture.
    #[arg(id = "model", long = "model", value_enum)]
    pub kind: Option<ModelKind>,
    /// MLP hidden widths, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// ResNet blocks per stage, comma separated (2,2,2,2 is ResNet-18's layout).
    #[arg(long, value_delimiter = ',')]
    pub blocks: Option<Vec<usize>>,
    /// ResNet channels of the first stage (doubled at each later stage; ResNet-18: 64).
    #[arg(long)]
    pub width: Option<usize>,
}

impl ModelArgs {
    /// `spec` with the given flags in place of its values.
    pub fn apply(&self, mut spec: ModelSpec) -> ModelSpec {
        let Self {
            kind,
            hidden,
            blocks,
            width,
        } = self;
        spec.kind = kind.unwrap_or(spec.kind);
        spec.hidden = hidden.clone().unwrap_or(spec.hidden);
        spec.blocks = blocks.clone().unwrap_or(spec.blocks);
        spec.width = width.unwrap_or(spec.width);
        spec
    }
}

/// Learning-rate schedules selectable from the command line (piecewise needs a file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleArg {
    /// Constant rate.
    Constant,
    /// Cosine decay to 0.
    Cosine,
}

/// `advland train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Experiment file (TOML); flags override its values.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run directory for checkpoints and the log (default `runs/<model>-<norm|std>-s<seed>`).
    /// It must be new or empty unless --resume or --overwrite is given, and only one process
    /// writes it at a time (it holds advland.lock).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint, to the result an uninterrupted run
    /// would have reached. Its stored settings are used; settings flags or --config, if given,
    /// must resolve to exactly those. A run that already finished is left as it is.
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Delete the run in --out first, then train afresh. Refused for a directory that does not
    /// look like an advland run directory (no config.resolved.json, train.json or checkpoint).
    #[arg(long)]
    pub overwrite: bool,
    /// Seed of every random choice (init, shuffling, attack starts).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Data.
    #[command(flatten)]
    pub data: DataArgs,
    /// Architecture.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Minibatch size.
    #[arg(long, value_parser = at_least_one)]
    pub batch_size: Option<usize>,
    /// Base learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_enum)]
    pub schedule: Option<ScheduleArg>,
    /// Update rule (default: the training file's, else sgd). Switching kind starts from the
    /// new kind's defaults.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Momentum [sgd: 0.9; entropy-sgd: 0.9, both loops, as the reference code shares it].
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Weight decay [sgd: 5e-4; entropy-sgd: 0, both loops].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Nesterov momentum [sgd: false; entropy-sgd: true, both loops].
    #[arg(long)]
    pub nesterov: Option<bool>,
    /// Stop once this many minibatch gradients of the training objective (adversarial under
    /// AT) have been computed, to compare update rules at equal gradient budget.
    #[arg(long)]
    pub gradient_budget: Option<u64>,
    /// EntropySGD.
    #[command(flatten)]
    pub entropy: EntropySgdArgs,
    /// Adversarial training under this norm (omit for standard training).
    #[arg(long, value_enum)]
    pub norm: Option<Norm>,
    /// Attack radius in pixel units, e.g. 0.1 or 8/255 (required with --norm).
    #[arg(long, value_parser = parse_eps)]
    pub eps: Option<f64>,
    /// PGD steps of the training attack.
    #[arg(long)]
    pub steps: Option<usize>,
    /// PGD step size (default 2.5·eps/steps).
    #[arg(long, value_parser = parse_eps)]
    pub step_size: Option<f64>,
    /// Evaluate after every epoch under this attack (`NORM:EPS[:STEPS]`); repeatable. Default: the
    /// training attack with 20 steps.
    #[arg(long = "eval-attack", value_parser = parse_threat)]
    pub eval_attacks: Vec<ThreatSpec>,
    /// Evaluate on this many test examples after every epoch.
    #[arg(long, value_parser = at_least_one)]
    pub eval_subset: Option<usize>,
    /// Save a checkpoint every N epochs (the last is always saved).
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
}

/// Update rules selectable from the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// SGD with momentum and weight decay (PyTorch's update).
    Sgd,
    /// EntropySGD (research/paper.md §4.1): per outer step, a Langevin chain of L minibatch
    /// steps coupled to θ, then a step towards its running mean. One epoch is one pass of
    /// minibatch gradients, so it has ⌊batches/L⌋ outer steps and costs what an SGD epoch
    /// costs. Set --lr (outer rate; the paper's CIFAR-10 run: 1).
    EntropySgd,
}

/// EntropySGD's settings (`--optimizer entropy-sgd`); defaults are the reference code's
/// (research/paper.md §4.2), Kanai et al.'s being unknown (§4.3).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "EntropySGD (--optimizer entropy-sgd)")]
pub struct EntropySgdArgs {
    /// L, Langevin steps (fresh minibatches) per outer step [20].
    #[arg(long)]
    pub inner_steps: Option<usize>,
    /// γ0, initial scope (coupling strength) [0.03].
    #[arg(long)]
    pub gamma0: Option<f64>,
    /// γ1, scoping rate: γ_t = γ0·(1+γ1)^t [1e-3].
    #[arg(long)]
    pub gamma1: Option<f64>,
    /// What t counts [outer-step]; frozen keeps γ = γ0 like the reference PyTorch code.
    #[arg(long, value_enum)]
    pub scoping: Option<Scoping>,
    /// η', Langevin learning rate, not scheduled [0.1].
    #[arg(long)]
    pub inner_lr: Option<f64>,
    /// ε, thermal noise [1e-4].
    #[arg(long)]
    pub noise: Option<f64>,
    /// Noise sd: code = ε·√(2η'), algorithm = ε·√η' [code].
    #[arg(long, value_enum)]
    pub noise_convention: Option<NoiseConvention>,
    /// Weight of the old mean in μ ← w·μ + (1−w)·x' [0.75].
    #[arg(long)]
    pub mean_weight: Option<f64>,
    /// Outer step: code = η·(θ−μ), algorithm = η·γ·(θ−μ) [code].
    #[arg(long, value_enum)]
    pub outer_convention: Option<OuterConvention>,
    /// Momentum of the outer step only (after --momentum) [0.9].
    #[arg(long)]
    pub outer_momentum: Option<f64>,
    /// Nesterov form of the outer momentum only (after --nesterov) [true].
    #[arg(long)]
    pub outer_nesterov: Option<bool>,
    /// Weight decay of the outer step only (after --weight-decay) [0].
    #[arg(long)]
    pub outer_weight_decay: Option<f64>,
    /// Spend one extra, unused gradient at θ per outer step, as the reference code does [false].
    #[arg(long)]
    pub anchor_gradient: Option<bool>,
}

impl EntropySgdArgs {
    /// The flags given, for "needs --optimizer entropy-sgd" messages.
    pub fn given(&self) -> Vec<&'static str> {
        let Self {
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
        } = self;
        [
            ("--inner-steps", inner_steps.is_some()),
            ("--gamma0", gamma0.is_some()),
            ("--gamma1", gamma1.is_some()),
            ("--scoping", scoping.is_some()),
            ("--inner-lr", inner_lr.is_some()),
            ("--noise", noise.is_some()),
            ("--noise-convention", noise_convention.is_some()),
            ("--mean-weight", mean_weight.is_some()),
            ("--outer-convention", outer_convention.is_some()),
            ("--outer-momentum", outer_momentum.is_some()),
            ("--outer-nesterov", outer_nesterov.is_some()),
            ("--outer-weight-decay", outer_weight_decay.is_some()),
            ("--anchor-gradient", anchor_gradient.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect()
    }
}

/// `advland eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint directory (or its checkpoint.json / model.safetensors), or a training run
    /// directory for its last checkpoint.
    #[arg(long, conflicts_with = "weights")]
    pub checkpoint: Option<PathBuf>,
    /// A PyTorch-layout safetensors file; the architecture comes from --model/--hidden.
    #[arg(long, requires = "model")]
    pub weights: Option<PathBuf>,
    /// Architecture of --weights.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Data (default: the checkpoint's data set, all test examples).
    #[command(flatten)]
    pub data: DataArgs,
    /// Attack norm (with --eps); combine with --attack for several attacks.
    #[arg(long, value_enum, requires = "eps")]
    pub norm: Option<Norm>,
    /// Attack radius, e.g. 0.1 or 8/255.
    #[arg(long, value_parser = parse_eps, requires = "norm")]
    pub eps: Option<f64>,
    /// More attacks as `NORM:EPS[:STEPS]`; repeatable.
    #[arg(long = "attack", value_parser = parse_threat)]
    pub attacks: Vec<ThreatSpec>,
    /// PGD steps (for attacks that do not set their own).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// PGD step size (default 2.5·eps/steps).
    #[arg(long, value_parser = parse_eps)]
    pub step_size: Option<f64>,
    /// Random restarts (the per-example worst is kept).
    #[arg(long, value_parser = at_least_one, default_value_t = 1)]
    pub restarts: usize,
    /// Start every attack at δ = 0 instead of a random point.
    #[arg(long)]
    pub no_random_start: bool,
    /// Examples per batch.
    #[arg(long, value_parser = at_least_one, default_value_t = 500)]
    pub batch_size: usize,
    /// Seed of the attacks' random starts.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the JSON report here (default: print it to stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `advland export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Checkpoint directory, or a training run directory for its last checkpoint.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Output safetensors file.
    #[arg(long)]
    pub out: PathBuf,
}

/// `advland demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Small and fast (under 2 minutes on 2 cores): fewer examples, epochs and PGD steps.
    #[arg(long)]
    pub quick: bool,
    /// Output directory.
    #[arg(long, default_value = "runs/demo")]
    pub out: PathBuf,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The attack given by `--norm`/`--eps`/`--steps`, each missing one taken from the checkpoint's
/// training attack `trained`; `needed_by` names what needs it in the error.
pub fn resolve_attack(
    norm: Option<Norm>,
    eps: Option<f64>,
    steps: usize,
    trained: Option<&PgdSettings>,
    needed_by: &str,
) -> anyhow::Result<Attack> {
    let norm = norm.or(trained.map(|t| t.norm));
    let eps = eps.or(trained.map(|t| t.eps));
    match (norm, eps) {
        (Some(norm), Some(eps)) => {
            let p = PgdSettings::new(norm, eps, steps);
            p.check("attack")?;
            Ok(Attack::new(p))
        }
        _ => anyhow::bail!(
            "{needed_by} needs --norm and --eps (the checkpoint was trained without an attack)"
        ),
    }
}

/// A library error with the setting it names written as its flag (`top_k` → `--top-k`), since
/// a command's configuration fields are its flags; other errors pass unchanged.
pub fn flag_error(err: advland_analysis::Error) -> anyhow::Error {
    let (field, reason) = match &err {
        advland_analysis::Error::InvalidConfig { field, reason } => (*field, reason),
        advland_analysis::Error::Train(advland_train::Error::InvalidConfig { field, reason }) => {
            (field.as_str(), reason)
        }
        _ => return err.into(),
    };
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return err.into();
    }
    anyhow::anyhow!("--{}: {reason}", field.replace('_', "-"))
}
