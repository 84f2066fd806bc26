//! Command-line arguments (clap derive). Help text is the doc comment of each field.

use advland_schema::{
    Activation, AttackRequest, ModelKind, ModelOverrides, ModelSpec, Norm, Normalize, PgdSettings,
};
use advland_train::Attack;
use clap::{Args, Parser, Subcommand, ValueEnum};

pub use advland_schema::DataOverrides as DataArgs;
pub use advland_schema::flag_values::{at_least_one, parse_eps, parse_threat, positive_number};

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
pub enum Command {
    /// Train a model (standard or PGD adversarial training) and save checkpoints + a JSON log.
    Train(Box<crate::commands::train::TrainArgs>),
    /// Clean and PGD-robust loss/accuracy of a checkpoint or weights file.
    Eval(crate::commands::eval::EvalArgs),
    /// Write a checkpoint's weights as a PyTorch-layout safetensors file.
    Export(crate::commands::export::ExportArgs),
    /// Read another program's weights file (PyTorch `.pt`/`.pth` or safetensors) into an
    /// architecture and write it as an advland checkpoint directory.
    Import(crate::commands::import::ImportArgs),
    /// Smoothness and sharpness of a checkpoint's loss in parameter space: Hessian eigenvalues,
    /// gradient-Lipschitz probes (adversarial next to adversarial-frozen), gradient jumps.
    Sharpness(crate::commands::sharpness::SharpnessArgs),
    /// Input-space flatness at clean and adversarial points: input-gradient norms, input-Hessian
    /// top-k eigenvalues, curvature along the gradient, trace, KKT multiplier, 1-D loss curves,
    /// optionally a 2-D loss surface around one example and the logits' local Lipschitz constant.
    Flatness(crate::commands::flatness::FlatnessArgs),
    /// The radius of the other norm's attack that matches a reference attack's robust
    /// accuracy (or loss) on a model, by bisection between the inscribed and circumscribed
    /// balls: compare norms at matched strength.
    Calibrate(crate::commands::calibrate::CalibrateArgs),
    /// Adversarial perturbations and the parameter gradients they reach: mean pairwise cosine
    /// similarity of the perturbations and of per-example gradients (adversarial and clean),
    /// loss, accuracy and attack success per PGD step (Liu et al. 2020).
    Perturbation(crate::commands::perturbation::PerturbationArgs),
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
    /// Mode connectivity: train a quadratic Bézier curve between two checkpoints (clean or
    /// adversarial loss) and scan loss/accuracy along it and along the straight line.
    Connect(crate::commands::connect::ConnectArgs),
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
    Demo(crate::commands::demo::DemoArgs),
}

/// Which architecture, overriding the training file (or describing `--weights`).
#[derive(Debug, Args, Clone, Default, PartialEq)]
pub struct ModelArgs {
    /// Architecture: mlp, cnn, resnet (BN-free), preact-resnet18, wide-resnet, or by name
    /// wrn-34-10 / wrn-28-10 (wide-resnet with that depth and widening factor).
    #[arg(id = "model", long = "model", value_parser = parse_model, value_name = "ARCH")]
    pub kind: Option<ModelName>,
    /// MLP hidden widths, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// ResNet blocks per stage, comma separated (2,2,2,2 is ResNet-18's layout).
    #[arg(long, value_delimiter = ',')]
    pub blocks: Option<Vec<usize>>,
    /// ResNet channels of the first stage (doubled at each later stage; ResNet-18: 64).
    #[arg(long)]
    pub width: Option<usize>,
    /// Depth of `wide-resnet`, 6n+4 (WRN-34-10: 34, WRN-28-10: 28).
    #[arg(long)]
    pub depth: Option<usize>,
    /// Widening factor of `wide-resnet` (10 for WRN-34-10 and WRN-28-10).
    #[arg(long)]
    pub widen: Option<usize>,
    /// Base channels of the batch-norm models (`preact-resnet18`: 64, `wide-resnet`: 16);
    /// smaller gives a narrow copy of the same structure.
    #[arg(long)]
    pub base_width: Option<usize>,
    /// Per-channel input normalisation inside the model, so ε stays in pixel units: `cifar10`
    /// (robust_overfitting's mean and std) or `MEAN,MEAN,MEAN/STD,STD,STD`.
    #[arg(long, value_parser = parse_normalize)]
    pub normalize: Option<Normalize>,
    /// The MLP's hidden nonlinearity: relu (the default), or softplus / gelu, smooth ones whose
    /// input Hessian is not positive semi-definite by construction.
    #[arg(long, value_enum)]
    pub activation: Option<Activation>,
}

/// `--model`: an architecture, possibly with the sizes its published name fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelName {
    /// The architecture.
    pub kind: ModelKind,
    /// `wide-resnet`'s depth, when the name gives it.
    pub depth: Option<usize>,
    /// `wide-resnet`'s widening factor, when the name gives it.
    pub widen: Option<usize>,
}

/// `--model`: an architecture's name (`cnn`, `preact-resnet18`, …) or a wide ResNet's
/// published one (`wrn-34-10`, `wrn-28-10`); --depth/--widen, if given, win.
///
/// # Errors
/// An unknown name, listing the known ones.
pub fn parse_model(text: &str) -> Result<ModelName, String> {
    let named = |depth, widen| ModelName {
        kind: ModelKind::WideResnet,
        depth: Some(depth),
        widen: Some(widen),
    };
    match text {
        "wrn-34-10" => return Ok(named(34, 10)),
        "wrn-28-10" => return Ok(named(28, 10)),
        _ => {}
    }
    let kinds: Vec<String> = ModelKind::value_variants()
        .iter()
        .filter_map(|k| k.to_possible_value().map(|v| v.get_name().to_owned()))
        .collect();
    ModelKind::from_str(text, false)
        .map(|kind| ModelName {
            kind,
            depth: None,
            widen: None,
        })
        .map_err(|_| {
            format!(
                "'{text}': unknown architecture; expected one of {}, wrn-34-10, wrn-28-10",
                kinds.join(", ")
            )
        })
}

/// `--bn`: batch norm's statistics at a perturbed θ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BnArg {
    /// The model's own running statistics everywhere.
    Eval,
    /// Re-estimated at every θ on training examples.
    Recompute,
}

impl BnArg {
    /// The configurations' `bn_recompute`: `examples` under `recompute`, none under `eval`.
    pub fn examples(self, examples: usize) -> Option<usize> {
        match self {
            BnArg::Eval => None,
            BnArg::Recompute => Some(examples),
        }
    }
}

/// `--normalize`: a named set of constants or `MEAN,…/STD,…`.
///
/// # Errors
/// Anything else, naming the rule.
pub fn parse_normalize(text: &str) -> Result<Normalize, String> {
    if text == "cifar10" {
        // robust_overfitting's `cifar10_mean`/`cifar10_std` (utils.py).
        return Ok(Normalize {
            mean: vec![0.4914, 0.4822, 0.4465],
            std: vec![0.2471, 0.2435, 0.2616],
        });
    }
    let (mean, std) = text.split_once('/').ok_or_else(|| {
        format!("'{text}': expected `cifar10` or MEAN,MEAN,.../STD,STD,... (one per channel)")
    })?;
    let list = |part: &str, what: &str| {
        part.split(',')
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("'{text}': {what} value '{v}' is not a number"))
            })
            .collect::<Result<Vec<f64>, String>>()
    };
    Ok(Normalize {
        mean: list(mean, "mean")?,
        std: list(std, "std")?,
    })
}

impl ModelArgs {
    /// The flags as the library's overrides: `--model`'s published names (wrn-34-10) carry a
    /// depth and width that `--depth`/`--widen` replace.
    pub fn overrides(&self) -> ModelOverrides {
        let Self {
            kind,
            hidden,
            blocks,
            width,
            depth,
            widen,
            base_width,
            normalize,
            activation,
        } = self;
        ModelOverrides {
            kind: kind.map(|name| name.kind),
            hidden: hidden.clone(),
            blocks: blocks.clone(),
            width: *width,
            depth: depth.or(kind.and_then(|name| name.depth)),
            widen: widen.or(kind.and_then(|name| name.widen)),
            base_width: *base_width,
            normalize: normalize.clone(),
            activation: *activation,
        }
    }

    /// `spec` with the given flags in place of its values.
    pub fn apply(&self, spec: ModelSpec) -> ModelSpec {
        self.overrides().apply(spec)
    }
}

/// The attack given by `--norm`/`--eps`/`--steps`, each missing one taken from the checkpoint's
/// training attack `trained` ([`AttackRequest::resolve`]); `needed_by` names what needs it in
/// the error when neither gives one.
///
/// # Errors
/// No norm or radius to be had; settings no attack can run with.
pub fn resolve_attack(
    norm: Option<Norm>,
    eps: Option<f64>,
    steps: usize,
    trained: Option<&PgdSettings>,
    needed_by: &str,
) -> anyhow::Result<Attack> {
    match (AttackRequest { norm, eps, steps }).resolve(trained)? {
        Some(attack) => Ok(Attack::new(attack)),
        None => anyhow::bail!(
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

/// The command `advland ARGS…` parses to, for the commands' flag-default tests.
#[cfg(test)]
pub(crate) fn parse_command(args: &[&str]) -> Command {
    use clap::Parser;
    let all = std::iter::once("advland").chain(args.iter().copied());
    Cli::try_parse_from(all).expect("parses").command
}
