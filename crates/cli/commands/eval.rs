//! `advland eval`: clean and robust loss/accuracy (PGD, APGD, autoattack-lite) of a checkpoint
//! or weights file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use advland_analysis::Subject;
use advland_analysis::eval::{EvalConfig, evaluate_model};
use advland_analysis::load::{LoadedCheckpoint, WeightsArgs, load_checkpoint_model};
use advland_schema::{DataSettings, EvalAttacks, SubsetSize, write_json};
use anyhow::{Result, bail};
use burn::tensor::Device;
use clap::Args;

use crate::args::{DataArgs, at_least_one};
use crate::meta::report;
use crate::progress::Bars;

/// `advland eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint directory (or its checkpoint.json / model.safetensors), a training run
    /// directory for its last checkpoint, or RUN/best for its best (highest per-epoch
    /// validation accuracy, else test accuracy, under its training threat, as
    /// robust_overfitting's model_best).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Another program's weights instead.
    #[command(flatten)]
    pub weights: WeightsArgs,
    /// Data (default: the checkpoint's data set and the test subset its run used;
    /// `--test-subset` overrides it).
    #[command(flatten)]
    pub data: DataArgs,
    /// The attacks.
    #[command(flatten)]
    pub attacks: EvalAttacks,
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
        train_subset: SubsetSize::over(args.train_subset, None),
        test_subset: SubsetSize::over(args.test_subset, base.test_subset),
        // eval measures the test split; what training held out does not change it.
        validation_subset: None,
    }
}

/// Runs `advland eval`.
pub fn run(args: &EvalArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let start = Instant::now();
    if let Some(out) = &args.out {
        advland_schema::check_output(out)?;
    }
    let attacks = args.attacks.specs()?;
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
