//! `advland calibrate`: the radius of the other norm's attack that matches a reference attack's
//! strength on a model (paper.md §3.2 option (c)), by bisection inside the bracket the balls'
//! geometry gives.

use std::path::PathBuf;

use advland_analysis::calibrate::{CalibrateConfig, calibrate};
use advland_schema::{AttackRequest, CalibrateReport, MatchOn, Norm, PgdSettings};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use crate::args::{at_least_one, parse_eps};
use crate::model_source::ModelSource;

/// `advland calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// Norm of the reference attack (default: the checkpoint's training norm, else linf).
    #[arg(long, value_enum)]
    pub norm: Option<Norm>,
    /// Radius of the reference attack (default: the checkpoint's training radius, else 0.1).
    #[arg(long, value_parser = parse_eps)]
    pub eps: Option<f64>,
    /// PGD steps of every attack (step size 2.5·ε/steps, scaled with ε).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// The norm whose radius is searched (default: the other one).
    #[arg(long, value_enum)]
    pub to: Option<Norm>,
    /// Match robust accuracy or the mean adversarial loss.
    #[arg(long = "match", value_enum, default_value = "accuracy")]
    pub matched_on: MatchOn,
    /// Test examples (evenly spaced).
    #[arg(long, value_parser = at_least_one, default_value_t = 1000)]
    pub subset: usize,
    /// Examples per batch.
    #[arg(long, value_parser = at_least_one, default_value_t = 500)]
    pub batch_size: usize,
    /// Stop once a radius comes within this of the target (accuracy as a fraction, loss in
    /// nats); 0 searches until the bracket is --relative-width narrow.
    #[arg(long, default_value_t = 0.0)]
    pub tolerance: f64,
    /// Stop once the bracket's ends differ by less than this factor minus one.
    #[arg(long, default_value_t = 1e-3)]
    pub relative_width: f64,
    /// Attack evaluations at most, the bracket's two ends included.
    #[arg(long, default_value_t = 20)]
    pub max_evaluations: usize,
    /// Seed of the attacks' random starts.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report path (default: `calibrate-<norm>.json` in the checkpoint directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl CalibrateArgs {
    /// The configuration these arguments ask for; `trained` (the checkpoint's training attack)
    /// gives whichever of --norm/--eps is not given (else linf, 0.1).
    fn config(&self, trained: Option<&PgdSettings>) -> CalibrateConfig {
        let Self {
            source: _,
            norm,
            eps,
            steps,
            to,
            matched_on,
            subset,
            batch_size,
            tolerance,
            relative_width,
            max_evaluations,
            seed,
            out: _,
        } = self;
        let reference = AttackRequest {
            norm: *norm,
            eps: *eps,
            steps: *steps,
        }
        .or_standard(trained);
        let defaults = CalibrateConfig::new(reference);
        CalibrateConfig {
            norm: to.unwrap_or(defaults.norm),
            matched_on: *matched_on,
            subset: *subset,
            batch_size: *batch_size,
            tolerance: *tolerance,
            relative_width: *relative_width,
            max_evaluations: *max_evaluations,
            seed: *seed,
            ..defaults
        }
    }
}

/// Runs `advland calibrate`.
pub fn run(args: &CalibrateArgs, device: &Device, device_name: &str) -> Result<()> {
    let (report, out) = args.source.run_attack_analysis(
        args.out.as_ref(),
        "calibrate",
        device_name,
        |trained| Ok(args.config(trained)),
        |subject, config| calibrate(subject, config, device, &mut advland_train::Silent),
        device,
    )?;
    print_summary(&report.data);
    println!("report: {}", out.display());
    Ok(())
}

fn print_summary(r: &CalibrateReport) {
    let on = match r.matched_on {
        MatchOn::Accuracy => "accuracy",
        MatchOn::Loss => "loss",
    };
    println!(
        "reference {} eps={} PGD-{}: accuracy {:.4}, loss {:.4}",
        r.reference.norm,
        r.reference.eps,
        r.reference.steps,
        r.reference_metrics.accuracy,
        r.reference_metrics.loss
    );
    println!("| {} eps | accuracy | loss |", r.norm);
    println!("|---|---|---|");
    for s in &r.steps {
        println!(
            "| {:.6} | {:.4} | {:.4} |",
            s.eps, s.metrics.accuracy, s.metrics.loss
        );
    }
    println!(
        "matched {on}: {} eps = {:.6} ({:.3} x the reference radius; bracket [{:.4}, {:.4}] from d = {}), \
         accuracy {:.4}, loss {:.4}",
        r.norm,
        r.eps,
        r.ratio,
        r.bracket[0],
        r.bracket[1],
        r.dimension,
        r.metrics.accuracy,
        r.metrics.loss
    );
    if !r.bracketed {
        println!(
            "warning: the attacks at the bracket's ends do not enclose the target (PGD is not \
             exact; try more --steps): the radius is the nearer end"
        );
    } else if !r.converged {
        println!(
            "warning: --max-evaluations ran out before the bracket was --relative-width narrow"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};

    #[test]
    fn default_flags_give_the_library_defaults() {
        let Command::Calibrate(args) = parse_command(&["calibrate", "--checkpoint", "c"]) else {
            panic!("not calibrate")
        };
        assert_eq!(
            args.config(None),
            CalibrateConfig::new(PgdSettings::new(Norm::Linf, 0.1, 20))
        );
    }
}
