//! `advland demo`: the main job. Trains a standard, an L∞-adversarial and an L2-adversarial
//! CNN on the bundled Fashion-MNIST subset, evaluates and measures all three
//! ([`advland_analysis::demo::run`]), writes `demo.json` (beside each run's log, checkpoints
//! and reports), draws the report page and prints the tables.

use std::path::PathBuf;

use advland_analysis::demo::{self, DemoConfig, DemoError, DemoObserver, Stage};
use advland_schema::{EpochRecord, write_json};
use advland_train::Observer;
use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::Args;

use crate::args::flag_error;
use crate::meta::meta;
use crate::progress::Bars;
use crate::render::{LogColour, write as render};
use crate::training::advise;

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

impl DemoArgs {
    /// The demo's plan, quick or full.
    pub fn config(&self) -> DemoConfig {
        let Self {
            quick,
            out: _,
            seed,
        } = self;
        DemoConfig::new(*quick, *seed)
    }
}

/// Runs `advland demo`.
pub fn run(args: &DemoArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let config = args.config();
    let meta_of =
        |seed: u64, config: &serde_json::Value, data| meta(device_name, seed, config, data);
    let mut bars = DemoBars { quiet, bars: None };
    let mut report =
        demo::run(&config, &args.out, device, &meta_of, &mut bars).map_err(|e| match e {
            DemoError::Analysis(advland_analysis::Error::Train(
                e @ advland_train::Error::RunDir { .. },
            )) => advise(e, &args.out),
            // The one setting of the library's the demo shares with every command.
            DemoError::Analysis(
                e @ advland_analysis::Error::InvalidConfig {
                    field: "device", ..
                },
            ) => flag_error(e),
            e => e.into(),
        })?;
    let path = args.out.join("demo.json");
    report.data.report = Some("report/index.html".to_owned());
    write_json(&path, &report)?;
    let rendered = render(
        std::slice::from_ref(&args.out),
        &args.out.join("report"),
        LogColour::Auto,
    )
    .context("drawing the report")?;
    print!("{}", report.data);
    println!("report: {}", path.display());
    println!(
        "figures: {} in {}",
        rendered.figures.len(),
        rendered.index.display()
    );
    Ok(())
}

/// A bar per model while it trains and while it is evaluated (the measurements run without).
struct DemoBars {
    quiet: bool,
    bars: Option<Bars>,
}

impl Observer for DemoBars {
    fn progress(&mut self, phase: &str, done: usize, total: usize) {
        if let Some(bars) = &mut self.bars {
            bars.progress(phase, done, total);
        }
    }

    fn epoch(&mut self, record: &EpochRecord) {
        if let Some(bars) = &mut self.bars {
            bars.epoch(record);
        }
    }
}

impl DemoObserver for DemoBars {
    fn begin(&mut self, model: &str, stage: Stage) {
        if matches!(stage, Stage::Train | Stage::Evaluate) {
            self.bars = Some(Bars::new(model, self.quiet));
        }
    }

    fn end(&mut self) {
        if let Some(bars) = self.bars.take() {
            bars.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};

    fn parsed(args: &[&str]) -> DemoArgs {
        let Command::Demo(args) = parse_command(args) else {
            panic!("not the demo");
        };
        args
    }

    #[test]
    fn the_flags_pick_the_plan_and_seed() {
        let args = parsed(&["demo", "--quick", "--seed", "4"]);
        assert_eq!(args.config(), DemoConfig::quick(4));
        let args = parsed(&["demo"]);
        assert_eq!(args.config(), DemoConfig::full(0));
        assert_eq!(args.out, PathBuf::from("runs/demo"));
    }
}
