//! `advland eval`: clean and PGD-robust loss/accuracy of a checkpoint or weights file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use advland_schema::{
    DataSettings, EvalReport, EvalResult, ModelSpec, Norm, PgdSettings, Report, ThreatSpec,
    write_json,
};
use advland_train::checkpoint::load_weights;
use advland_train::data::{check_fits, describe, load_splits};
use advland_train::trainer::model_shape;
use advland_train::{Attack, Model, evaluate};
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;

use crate::args::{DataArgs, ModelArgs, at_least_one, parse_eps, parse_threat};
use crate::meta::meta;
use crate::progress::Bars;

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

fn data_settings(base: DataSettings, args: &DataArgs) -> DataSettings {
    DataSettings {
        dataset: args.dataset.unwrap_or(base.dataset),
        data_dir: args.data_dir.clone().or(base.data_dir),
        train_subset: args.train_subset,
        test_subset: args.test_subset.or(base.test_subset),
    }
}

/// The attacks asked for: `--norm/--eps` first, then each `--attack`.
fn attacks(args: &EvalArgs) -> Result<Vec<Attack>> {
    let mut specs: Vec<ThreatSpec> = Vec::new();
    if let (Some(norm), Some(eps)) = (args.norm, args.eps) {
        specs.push(ThreatSpec {
            norm,
            eps,
            steps: None,
            step_size: args.step_size,
            random_start: None,
            restarts: None,
        });
    }
    // --step-size applies to every attack that does not carry its own.
    specs.extend(args.attacks.iter().map(|t| ThreatSpec {
        step_size: t.step_size.or(args.step_size),
        ..t.clone()
    }));
    let list: Vec<PgdSettings> = specs
        .iter()
        .map(|t| {
            let mut p = t.resolve(args.steps);
            p.restarts = args.restarts;
            p.random_start = !args.no_random_start;
            p
        })
        .collect();
    for (i, p) in list.iter().enumerate() {
        p.check(&format!("attack[{i}]"))?;
    }
    Ok(list.into_iter().map(Attack::new).collect())
}

/// Runs `advland eval`.
pub fn run(args: &EvalArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let start = Instant::now();
    if let Some(out) = &args.out {
        advland_schema::check_output(out)?;
    }
    let attacks = attacks(args)?;
    let (model, shape, epoch, data, model_path) = match (&args.checkpoint, &args.weights) {
        (Some(c), _) => {
            let crate::model_source::Loaded { model, info, path } =
                crate::model_source::load(c, device)?;
            (model, info.shape, info.epoch, info.settings.data, path)
        }
        (None, Some(w)) => {
            let spec = args.model.apply(ModelSpec::default());
            let data = data_settings(DataSettings::default(), &args.data);
            let splits = load_splits(&data)?;
            let shape = model_shape(&splits);
            let model = Model::build(&spec, shape, device)?;
            let model = load_weights(model, w)
                .with_context(|| format!("loading weights {}", w.display()))?;
            (model, shape, 0, data, w.clone())
        }
        (None, None) => bail!("give --checkpoint DIR or --weights FILE.safetensors"),
    };
    let data = data_settings(data, &args.data);
    let splits = load_splits(&data).context("loading the data")?;
    let test = &splits.test;
    check_fits(test, shape, &model_path.display().to_string())?;
    let mut bars = Bars::new("eval", quiet);
    let (result, cost) = evaluate(
        &model,
        test,
        &attacks,
        args.batch_size,
        args.seed,
        device,
        &mut bars,
    )?;
    bars.finish();
    let settings: Vec<&PgdSettings> = attacks.iter().map(Attack::settings).collect();
    let config =
        serde_json::json!({ "data": data, "attacks": settings, "batch_size": args.batch_size });
    let mut meta = meta(device_name, args.seed, &config, describe(test, test.len()));
    meta.duration_s = start.elapsed().as_secs_f64();
    meta.cost = cost;
    let report = Report::of(
        meta,
        EvalReport {
            model_path: model_path.display().to_string(),
            epoch,
            result: result.clone(),
        },
    );
    match &args.out {
        Some(out) => {
            write_json(out, &report)?;
            print_table(&result, Some(out));
        }
        None => {
            let bytes = advland_schema::to_json_bytes(&report, Path::new("<stdout>"))?;
            print!("{}", String::from_utf8_lossy(&bytes));
        }
    }
    Ok(())
}

/// A small table of the results on stdout.
pub fn print_table(result: &EvalResult, out: Option<&Path>) {
    println!("| attack | loss | accuracy |\n|---|---|---|");
    println!(
        "| clean | {:.4} | {:.4} |",
        result.clean.loss, result.clean.accuracy
    );
    for r in &result.robust {
        println!(
            "| {} eps={} PGD-{} | {:.4} | {:.4} |",
            r.attack.norm, r.attack.eps, r.attack.steps, r.metrics.loss, r.metrics.accuracy
        );
    }
    if let Some(out) = out {
        println!("report: {}", out.display());
    }
}
