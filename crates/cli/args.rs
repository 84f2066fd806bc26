//! Command-line arguments (clap derive). Help text is the doc comment of each field.

use clap::{Args, Parser, Subcommand};

pub use advland_schema::DataOverrides as DataArgs;
pub use advland_schema::flag_values::{at_least_one, parse_threat};

use advland_analysis::device::DeviceKind;

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
    pub device: DeviceKind,
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
    Flatness(crate::model_source::AttackAnalysisArgs<advland_analysis::flatness::FlatnessConfig>),
    /// The radius of the other norm's attack that matches a reference attack's robust
    /// accuracy (or loss) on a model, by bisection between the inscribed and circumscribed
    /// balls: compare norms at matched strength.
    Calibrate(crate::commands::calibrate::CalibrateArgs),
    /// Adversarial perturbations and the parameter gradients they reach: mean pairwise cosine
    /// similarity of the perturbations and of per-example gradients (adversarial and clean),
    /// loss, accuracy and attack success per PGD step (Liu et al. 2020).
    Perturbation(
        crate::model_source::AttackAnalysisArgs<advland_analysis::perturbation::PerturbationConfig>,
    ),
    /// Paper.md's Props. A/B on a model: per example the face δ* lies on, the Lagrangian's
    /// concavity μ, the mixed Hessian, the bounds on ‖Dδ*‖ and κ they give, against what δ
    /// and the adversarial gradient do under small random steps of θ (claims C5, C7).
    Bound(crate::model_source::AttackAnalysisArgs<advland_analysis::bound::BoundConfig>),
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
