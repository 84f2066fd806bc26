//! `advland flatness`: input-space flatness of a checkpoint at clean and adversarial points
//! (paper.md §2.4, §3.2 E-C): input-gradient norms, the input Hessian's k eigenvalues of largest
//! |λ| (`--top-k`), curvature along the gradient, trace, the KKT multiplier of the attack's
//! constraint (either norm), and 1-D input-space loss curves; on request the 2-D loss surface
//! around one example (`--surface-example`) and a lower bound of the logits' local Lipschitz
//! constant in the ε-ball (`--lipschitz-steps`).

use std::path::{Path, PathBuf};

use advland_analysis::flatness::{self, FlatnessConfig};
use advland_schema::flatness::FlatnessReport;
use advland_schema::{AttackRequest, PgdSettings};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use advland_analysis::load::ModelSource;

/// `advland flatness`.
#[derive(Debug, Args)]
pub struct FlatnessArgs {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// The attack giving the adversarial points.
    #[command(flatten)]
    pub attack: AttackRequest,
    /// What to measure.
    #[command(flatten)]
    pub config: FlatnessConfig,
    /// Report path (default: `flatness-<norm>.json` in the checkpoint directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl FlatnessArgs {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given (else linf, 0.1).
    fn config(&self, trained: Option<&PgdSettings>) -> Result<FlatnessConfig> {
        Ok(FlatnessConfig {
            attack: self.attack.resolve_or_standard(trained)?,
            ..self.config.clone()
        })
    }
}

/// Runs `advland flatness`.
pub fn run(args: &FlatnessArgs, device: &Device, device_name: &str) -> Result<()> {
    let (report, out) = crate::model_source::run_attack_analysis(
        &args.source,
        args.out.as_ref(),
        "flatness",
        device_name,
        |trained| args.config(trained),
        |subject, config| flatness::measure(subject, config, device, &mut advland_train::Silent),
        device,
    )?;
    print_summary(&report.data, &out);
    Ok(())
}

fn print_summary(r: &FlatnessReport, out: &Path) {
    println!(
        "{} examples, attack {} eps={} PGD-{}",
        r.examples, r.attack.norm, r.attack.eps, r.attack.steps
    );
    println!("| point | loss | |grad|_2 | |grad|_1 | lambda_top | g'Hg/|g|^2 | trace | KKT |");
    println!("|---|---|---|---|---|---|---|---|");
    for p in &r.points {
        println!(
            "| {:?} | {:.4} | {:.4e} | {:.4e} | {:+.4e} | {:+.4e} | {:+.4e} | {} |",
            p.point,
            p.loss.median,
            p.grad_l2.median,
            p.grad_l1.median,
            p.hessian_top.median,
            p.curvature_along_gradient.median,
            p.hessian_trace.median,
            p.kkt_multiplier
                .map_or("-".to_owned(), |k| format!("{:.4e}", k.median))
        );
    }
    for p in r.points.iter().filter(|p| !p.hessian_top_k.is_empty()) {
        let medians: Vec<String> = p
            .hessian_top_k
            .iter()
            .map(|d| format!("{:+.4e}", d.median))
            .collect();
        println!(
            "{:?} top-{} eigenvalues: {}",
            p.point,
            medians.len(),
            medians.join(", ")
        );
    }
    if let Some(s) = &r.surface {
        let (lo, hi) = s
            .loss
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &l| {
                (a.min(l), b.max(l))
            });
        println!(
            "surface around example {} (label {}): {}x{} grid, loss {lo:.4} to {hi:.4}",
            s.example, s.label, s.x.points, s.y.points
        );
    }
    if let Some(l) = &r.logit_lipschitz {
        println!(
            "logit Lipschitz (lower bound, {} steps x {} restarts): median {:.4e}, max {:.4e}",
            l.steps, l.restarts, l.estimate.median, l.estimate.max
        );
    }
    println!("(medians over examples)");
    println!("report: {}", out.display());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};

    #[test]
    fn default_flags_give_the_library_defaults() {
        let Command::Flatness(args) = parse_command(&["flatness", "--checkpoint", "c"]) else {
            panic!("not flatness")
        };
        // A standard model has no attack of its own: L∞ ε = 0.1 stands in.
        let config = args.config(None).expect("resolves");
        assert_eq!(
            config,
            FlatnessConfig::new(PgdSettings::new(advland_schema::Norm::Linf, 0.1, 20))
        );
    }
}
