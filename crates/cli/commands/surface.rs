//! `advland surface`: loss and accuracy of a checkpoint on a 1-D/2-D grid in parameter space,
//! for the clean, adversarial (attack re-solved at every point) and adversarial-frozen losses.
//!
//! Results stream to `<out>.partial` (`advland_analysis::surface::resume`), so a killed run
//! continues where it stopped when the same command is run again; the report itself is
//! written only when the shard is complete.

use std::path::{Path, PathBuf};
use std::time::Instant;

use advland_analysis::ObjectiveKind;
use advland_analysis::load::ModelSource;
use advland_analysis::surface::{
    Directions, SurfaceConfig, SurfaceOutput, SurfaceRun, load_directions, make_directions,
};
use advland_schema::{PgdSettings, Report, SurfaceReport};
use advland_train::Observer;
use advland_train::params::ParamLayout;
use anyhow::Result;
use burn::tensor::Device;
use clap::{Args, ValueEnum};

use crate::args::{at_least_one, flag_error};
use crate::meta::report;

/// `advland surface`.
#[derive(Clone, Debug, Args)]
pub struct SurfaceArgs {
    /// The origin θ₀; A of interpolation and plane directions.
    #[command(flatten)]
    pub source: ModelSource,
    /// The other checkpoint(s) of interpolation/plane directions (weights files of the same
    /// architecture with --weights).
    #[arg(long)]
    pub to: Vec<PathBuf>,
    /// Reuse directions saved by --save-directions (same model architecture), so surfaces of
    /// several checkpoints or norms are comparable; overrides --directions.
    #[arg(long)]
    pub load_directions: Option<PathBuf>,
    /// Save the directions used (safetensors, with their content hash).
    #[arg(long)]
    pub save_directions: Option<PathBuf>,
    /// The attack of the adversarial objectives.
    #[command(flatten)]
    pub attack: advland_schema::OptionalAttack,
    /// The grid, its losses and directions.
    #[command(flatten)]
    pub config: SurfaceConfig,
    /// Discard the results of an interrupted run instead of continuing it.
    #[arg(long)]
    pub restart: bool,
    /// Batch norm's running statistics at a perturbed θ: `eval` keeps the model's own
    /// everywhere (the loss is a function of θ alone); `recompute` re-estimates them at every
    /// θ on --bn-examples training examples, so a perturbed network is judged with
    /// statistics of its own. No effect on models without batch norm.
    #[arg(long, value_enum, default_value = "eval")]
    pub bn: BnArg,
    /// Training examples (evenly spaced) of --bn recompute.
    #[arg(long, value_parser = at_least_one, default_value_t = 1000)]
    pub bn_examples: usize,
    /// Report path (default: `surface-<directions>-<1d|2d>[-shard-I-of-N].json` in the checkpoint
    /// directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `--bn`: batch norm's statistics at a perturbed θ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BnArg {
    /// The model's own running statistics everywhere.
    Eval,
    /// Re-estimated at every θ on training examples.
    Recompute,
}

/// Runs `advland surface`.
pub fn run(args: &SurfaceArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let out = match &args.out {
        Some(out) => out.clone(),
        None => default_out(args)?,
    };
    advland_schema::check_output(&out)?;
    let report = compute(args, device, device_name, &out, quiet)?;
    print!("{}", report.data);
    println!("report: {}", out.display());
    Ok(())
}

fn default_out(args: &SurfaceArgs) -> Result<PathBuf> {
    let dims = if args.config.y.is_some() { "2d" } else { "1d" };
    let shard = if args.config.shard.count > 1 {
        format!(
            "-shard-{}-of-{}",
            args.config.shard.index, args.config.shard.count
        )
    } else {
        String::new()
    };
    let kind = match &args.load_directions {
        Some(_) => "loaded".to_owned(),
        None => args.config.directions.as_str().to_owned(),
    };
    Ok(args
        .source
        .path()?
        .join(format!("surface-{kind}-{dims}{shard}.json")))
}

impl SurfaceArgs {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given.
    fn config(&self, trained: Option<&PgdSettings>) -> Result<SurfaceConfig> {
        let adversarial = self
            .config
            .objective
            .iter()
            .any(|k| *k != ObjectiveKind::Clean);
        let attack = self
            .attack
            .require(adversarial, trained, "an adversarial --objective")?;
        Ok(SurfaceConfig {
            attack,
            bn_recompute: (self.bn == BnArg::Recompute).then_some(self.bn_examples),
            ..self.config.clone()
        })
    }
}

/// Computes (or resumes) the surface `args` asks for and writes it to `out`.
fn compute(
    args: &SurfaceArgs,
    device: &Device,
    device_name: &str,
    out: &Path,
    quiet: bool,
) -> Result<Report<SurfaceReport>> {
    let start = Instant::now();
    args.config
        .check_directions(args.to.len(), args.load_directions.is_some())
        .map_err(flag_error)?;
    let mut subject = args.source.subject(device)?;
    subject
        .check_subset(args.config.subset, "subset")
        .map_err(flag_error)?;
    let config = args.config(subject.trained_with.as_ref())?;
    config.check().map_err(flag_error)?;
    let directions = directions(args, &subject, &config, device)?;
    if let Some(path) = &args.save_directions {
        directions.save(&ParamLayout::of(&subject.model), path)?;
    }
    let (origin_dir, weights_hash) = args.source.identity()?;
    // Surfaces name the checkpoint directory itself (a run directory resolves to its last
    // checkpoint), so shards given different spellings still merge.
    subject.checkpoint = origin_dir.display().to_string();
    let run = SurfaceRun::new(&subject, &directions, weights_hash, &config, device)
        .map_err(flag_error)?;
    // Held until the report is written: a second run on the same --out stops here, before it
    // could interleave points into the partial file or rename its report over this one's.
    let output = SurfaceOutput::lock(out)?;
    let mut bar = PointBar(crate::progress::counter(
        &format!("surface {}", args.config.shard),
        0,
        quiet,
    ));
    let resumed = output.compute(run, args.restart, &mut bar);
    bar.0.finish_and_clear();
    let resumed = resumed?;
    let recorded = resumed.recorded_config(&config);
    let mut report = report(resumed.measured, &recorded, config.seed, device_name, start);
    report.meta.weights = args.source.provenance();
    output.write(&report)?;
    Ok(report)
}

/// The bar of the grid points, moved by the library's progress.
struct PointBar(indicatif::ProgressBar);

impl Observer for PointBar {
    fn progress(&mut self, _phase: &str, done: usize, total: usize) {
        self.0.set_length(total as u64);
        self.0.set_position(done as u64);
    }
}

/// The directions of the surface: loaded from --load-directions, or made as --directions
/// says (with the --to checkpoints).
fn directions(
    args: &SurfaceArgs,
    subject: &advland_analysis::Subject,
    config: &SurfaceConfig,
    device: &Device,
) -> Result<Directions> {
    if let Some(path) = &args.load_directions {
        return Ok(load_directions(subject, path, config)?);
    }
    let shape = subject.shape();
    let to = args
        .to
        .iter()
        .map(|p| {
            args.source
                .model_at(p, shape, device)
                .map(|m| (p.display().to_string(), m))
        })
        .collect::<advland_analysis::Result<Vec<_>>>()?;
    make_directions(subject, &to, config, device).map_err(flag_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};

    #[test]
    fn default_flags_give_the_library_defaults() {
        let Command::Surface(args) = parse_command(&["surface", "--checkpoint", "c"]) else {
            panic!("not surface")
        };
        assert_eq!(
            args.config(None).expect("resolves"),
            SurfaceConfig::default()
        );
    }
}
