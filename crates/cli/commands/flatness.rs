//! `advland flatness`: input-space flatness of a checkpoint at clean and adversarial points
//! (paper.md §2.4, §3.2 E-C): input-gradient norms, the input Hessian's k eigenvalues of largest
//! |λ| (`--top-k`), curvature along the gradient, trace, the KKT multiplier of the attack's
//! constraint (either norm), and 1-D input-space loss curves; on request the 2-D loss surface
//! around one example (`--surface-example`) and a lower bound of the logits' local Lipschitz
//! constant in the ε-ball (`--lipschitz-steps`).

use std::path::{Path, PathBuf};

use advland_analysis::flatness::{self, FlatnessConfig};
use advland_schema::flatness::FlatnessReport;
use advland_schema::{AttackRequest, Axis, PgdSettings, Precision};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use crate::args::at_least_one;
use crate::model_source::ModelSource;

/// `advland flatness`.
#[derive(Debug, Args)]
pub struct FlatnessArgs {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// The attack giving the adversarial points.
    #[command(flatten)]
    pub attack: AttackRequest,
    /// Number of test examples (evenly spaced).
    #[arg(long, value_parser = at_least_one, default_value_t = 256)]
    pub subset: usize,
    /// Precision of the computation.
    #[arg(long, value_enum, default_value = "f64")]
    pub precision: Precision,
    /// Power-iteration steps per input-Hessian eigenvalue.
    #[arg(long, default_value_t = 20)]
    pub power_iterations: usize,
    /// Number k of input-Hessian eigenvalues of largest |λ| per example (power iteration with
    /// deflation, all examples in lockstep; costs k times the power iterations). k > 1 adds
    /// `hessian_top_k` to each point of the report.
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub top_k: usize,
    /// Rademacher probes of the input-Hessian trace.
    #[arg(long, default_value_t = 10)]
    pub trace_samples: usize,
    /// Input Hessians of the live network instead of through each point's activation pattern.
    #[arg(long)]
    pub live_activations: bool,
    /// Points of each 1-D loss curve over t ∈ [−2ε, 2ε] (0: no curves).
    #[arg(long, default_value_t = 21)]
    pub curve_points: usize,
    /// Random directions for loss curves (besides the gradient direction).
    #[arg(long, default_value_t = 2)]
    pub random_directions: usize,
    /// Index (in the evaluated subset) of an example whose 2-D input-space loss surface
    /// ℓ(x + a·u + b·v) to record: u its normalised input gradient, v a seeded random unit
    /// direction orthogonal to u, at the clean point x, with the predicted class per grid
    /// point. Absent: no surface.
    #[arg(long, value_name = "I")]
    pub surface_example: Option<usize>,
    /// Grid of the surface, MIN:MAX:POINTS, used for both a and b; offsets are L2 lengths in
    /// pixel units (default: -2ε:2ε:21, with ε the attack's radius taken as an L2 length, as
    /// for the 1-D curves).
    #[arg(
        long,
        value_name = "MIN:MAX:POINTS",
        allow_hyphen_values = true,
        requires = "surface_example"
    )]
    pub surface_grid: Option<Axis>,
    /// Ascent steps of the logit local Lipschitz estimate (0: skip it). Per example, projected
    /// gradient ascent of ‖f(x') − f(x)‖₂ / ‖x' − x‖ over x' in the attack's ε-ball around the
    /// clean x (input norm = the attack's norm, step 2.5·ε/steps, PGD's projections and random
    /// starts) gives a lower bound of the local Lipschitz constant of the logits f.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub lipschitz_steps: usize,
    /// Restarts of the Lipschitz ascent (the largest ratio per example is kept).
    #[arg(long, default_value_t = 1, value_name = "R")]
    pub lipschitz_restarts: usize,
    /// Seed of the attack starts, probes and directions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report path (default: `flatness-<norm>.json` in the checkpoint directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl FlatnessArgs {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given (else linf, 0.1).
    fn config(&self, trained: Option<&PgdSettings>) -> Result<FlatnessConfig> {
        let Self {
            source: _,
            attack,
            subset,
            precision,
            power_iterations,
            top_k,
            trace_samples,
            live_activations,
            curve_points,
            random_directions,
            surface_example,
            surface_grid,
            lipschitz_steps,
            lipschitz_restarts,
            seed,
            out: _,
        } = self;
        let attack = attack.resolve_or_standard(trained)?;
        Ok(FlatnessConfig {
            attack,
            subset: *subset,
            precision: *precision,
            power_iterations: *power_iterations,
            top_k: *top_k,
            trace_samples: *trace_samples,
            live_activations: *live_activations,
            curve_points: *curve_points,
            random_directions: *random_directions,
            surface_example: *surface_example,
            surface_grid: *surface_grid,
            lipschitz_steps: *lipschitz_steps,
            lipschitz_restarts: *lipschitz_restarts,
            seed: *seed,
        })
    }
}

/// Runs `advland flatness`.
pub fn run(args: &FlatnessArgs, device: &Device, device_name: &str) -> Result<()> {
    let (report, out) = args.source.run_attack_analysis(
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
