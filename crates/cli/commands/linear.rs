//! `advland linear`: the closed-form binary linear model of paper.md §2.3 on two classes of
//! the bundled Fashion-MNIST (the teaching case E-A of §3.2, claims C1 and C2 of §5).
//!
//! For each attack norm the logistic model θ = (w, b) is trained by plain gradient descent on
//! the exact adversarial loss L(θ) = mean ℓ(y(wᵀx + b) − ε‖w‖_q), logging how often weights
//! cross the hyper-planes wᵢ = 0. At the final point the command measures the exact Hessian,
//! κ(θ, r), and the gradient jump across the smallest weight's hyper-plane (2ε·mean|ℓ'| for
//! L∞, 0 for L2: C2); then it shrinks the L2 weights towards 0 and watches κ grow like
//! ε·mean|ℓ'|/‖w‖ under the bound ((‖x‖ + ε)² + 1)/4 + ε/‖w‖ (C1). No network and no PGD:
//! everything is closed-form f64 arithmetic.

use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::linear::{BundledSplit, LinearConfig, bundled, run as run_linear};
use advland_schema::write_json;
use anyhow::{Context, Result, bail};

use crate::args::flag_error;
use crate::meta::report;

/// `advland linear`.
#[derive(Debug, clap::Args)]
pub struct LinearArgs {
    /// Split of the bundled Fashion-MNIST.
    #[arg(long, value_enum, default_value = "train")]
    pub split: BundledSplit,
    /// The experiment.
    #[command(flatten)]
    pub config: LinearConfig,
    /// Report path.
    #[arg(long, default_value = "runs/linear/linear.json")]
    pub out: PathBuf,
}

/// Runs `advland linear`: trains, measures, writes the report to `--out` and prints a table.
///
/// The report's `meta.cost` stays zero: no model passes happen (every loss and gradient is a
/// closed form).
pub fn run(args: &LinearArgs, device_name: &str) -> Result<()> {
    let start = Instant::now();
    advland_schema::check_output(&args.out)?;
    let split = bundled(args.split).context("loading the bundled Fashion-MNIST")?;
    let config = &args.config;
    // Every broken rule at once, each named by its flag.
    let broken = config.broken_rules(split.num_classes);
    if !broken.is_empty() {
        let messages: Vec<String> = broken
            .into_iter()
            .map(|(field, reason)| format!("--{}: {reason}", field.replace('_', "-")))
            .collect();
        bail!("{}", messages.join("; "));
    }
    let measured = run_linear(&split, config).map_err(flag_error)?;
    let report = report(measured, config, config.seed, device_name, start);
    write_json(&args.out, &report)?;
    print!("{}", report.data);
    println!(
        "gradient descent: {} steps at lr {}; κ over {} random directions",
        config.steps, config.lr, config.directions
    );
    println!("report: {}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};

    #[test]
    fn default_flags_give_the_library_defaults() {
        let Command::Linear(args) = parse_command(&["linear"]) else {
            panic!("not linear")
        };
        assert_eq!(args.config, LinearConfig::default());
        assert_eq!(args.split, BundledSplit::Train);
    }
}
