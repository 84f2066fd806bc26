//! `advland eval`: clean and robust loss/accuracy (PGD, APGD, autoattack-lite) of a checkpoint
//! or weights file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use advland_analysis::Subject;
use advland_analysis::eval::{EvalConfig, evaluate_model};
use advland_analysis::load::{LoadedCheckpoint, WeightsArgs, load_checkpoint_model};
use advland_schema::{AttackSpec, DataSettings, Norm, ThreatSpec, write_json};
use anyhow::{Result, bail};
use burn::tensor::Device;
use clap::Args;

use crate::args::{DataArgs, at_least_one, parse_eps, parse_threat};
use crate::meta::report;
use crate::progress::Bars;

/// `advland eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint directory (or its checkpoint.json / model.safetensors), or a training run
    /// directory for its last checkpoint.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Another program's weights instead.
    #[command(flatten)]
    pub weights: WeightsArgs,
    /// Data (default: the checkpoint's data set, all test examples).
    #[command(flatten)]
    pub data: DataArgs,
    /// Attack norm (with --eps); combine with --attack for several attacks.
    #[arg(long, value_enum, requires = "eps")]
    pub norm: Option<Norm>,
    /// Attack radius, e.g. 0.1 or 8/255.
    #[arg(long, value_parser = parse_eps, requires = "norm")]
    pub eps: Option<f64>,
    /// More attacks as `[KIND:]NORM:EPS[:STEPS]`, KIND one of `pgd` (the default), `apgd-ce`,
    /// `apgd-dlr`, `apgd-t` (targeted DLR over the top 9 classes), `autoattack-lite` (APGD-CE
    /// then APGD-T on what survives); APGD runs 100 iterations unless STEPS says otherwise.
    /// Repeatable; with several, the report adds the per-example worst case.
    #[arg(long = "attack", value_parser = parse_attack)]
    pub attacks: Vec<AttackArg>,
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

fn data_settings(base: DataSettings, args: &DataArgs) -> DataSettings {
    DataSettings {
        dataset: args.dataset.unwrap_or(base.dataset),
        data_dir: args.data_dir.clone().or(base.data_dir),
        train_subset: args.train_subset,
        test_subset: args.test_subset.or(base.test_subset),
    }
}

/// One `--attack`: PGD keeps its shorthand so that --steps, --step-size, --restarts and
/// --no-random-start reach it; the APGD family carries its own settings.
#[derive(Clone, Debug)]
pub enum AttackArg {
    /// `[pgd:]NORM:EPS[:STEPS]`.
    Pgd(ThreatSpec),
    /// `apgd-ce`, `apgd-dlr`, `apgd-t`, `autoattack-lite`.
    Other(AttackSpec),
}

fn parse_attack(text: &str) -> Result<AttackArg, String> {
    match AttackSpec::parse(text)? {
        AttackSpec::Pgd(_) => {
            let t = text.trim();
            parse_threat(t.strip_prefix("pgd:").unwrap_or(t)).map(AttackArg::Pgd)
        }
        other => Ok(AttackArg::Other(other)),
    }
}

/// The attacks asked for: `--norm/--eps` first, then each `--attack` in order.
fn attacks(args: &EvalArgs) -> Result<Vec<AttackSpec>> {
    let pgd = |t: &ThreatSpec| {
        // --step-size applies to every attack that does not carry its own.
        let mut p = ThreatSpec {
            step_size: t.step_size.or(args.step_size),
            ..t.clone()
        }
        .resolve(args.steps);
        p.restarts = args.restarts;
        p.random_start = !args.no_random_start;
        AttackSpec::Pgd(p)
    };
    let mut list = Vec::new();
    if let (Some(norm), Some(eps)) = (args.norm, args.eps) {
        list.push(pgd(&ThreatSpec {
            norm,
            eps,
            steps: None,
            step_size: None,
            random_start: None,
            restarts: None,
        }));
    }
    list.extend(args.attacks.iter().map(|a| match a {
        AttackArg::Pgd(t) => pgd(t),
        AttackArg::Other(spec) => spec.clone(),
    }));
    EvalConfig::check_attacks(&list)?;
    Ok(list)
}

/// Runs `advland eval`.
pub fn run(args: &EvalArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let start = Instant::now();
    if let Some(out) = &args.out {
        advland_schema::check_output(out)?;
    }
    let attacks = attacks(args)?;
    let mut weights = Vec::new();
    let (model, shape, epoch, data, model_path) =
        match (&args.checkpoint, args.weights.weights.as_slice()) {
            (Some(c), _) => {
                let LoadedCheckpoint { model, info, path } = load_checkpoint_model(c, device)?;
                (model, info.shape, info.epoch, info.settings.data, path)
            }
            (None, [w]) => {
                let data = data_settings(DataSettings::default(), &args.data);
                let read = args.weights.read.request();
                let (subject, source) = Subject::from_weights(w, &read, &data, device)?;
                weights.push(source);
                let shape = subject.shape();
                (subject.model, shape, 0, data, w.clone())
            }
            (None, []) => bail!("give --checkpoint DIR or --weights FILE"),
            (None, more) => bail!("--weights: eval measures one model, got {}", more.len()),
        };
    let config = EvalConfig {
        data: data_settings(data, &args.data),
        attacks,
        batch_size: args.batch_size,
        seed: args.seed,
    };
    let mut bars = Bars::new("eval", quiet);
    let measured = evaluate_model(
        &model,
        shape,
        &model_path,
        epoch,
        &config,
        device,
        &mut bars,
    );
    bars.finish();
    let mut report = report(measured?, &config, config.seed, device_name, start);
    report.meta.weights = weights;
    match &args.out {
        Some(out) => {
            write_json(out, &report)?;
            print!("{}", report.data.result);
            println!("report: {}", out.display());
        }
        None => {
            let bytes = advland_schema::to_json_bytes(&report, Path::new("<stdout>"))?;
            print!("{}", String::from_utf8_lossy(&bytes));
        }
    }
    Ok(())
}
