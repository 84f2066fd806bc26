//! `advland relate`: input-space flatness next to parameter-space smoothness across
//! checkpoints and attacks, with rank correlations (paper.md §2.4, §5 C5).

use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::flatness::spearman;
use advland_schema::flatness::{
    Correlation, FlatnessAtPoint, InputPoint, RelationReport, RelationRow,
};
use advland_schema::{
    EigenMethod, ObjectiveKind, PgdSettings, Precision, Report, SharpnessEstimate, ThreatSpec,
    write_json,
};
use advland_train::checkpoint::load_checkpoint;
use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::Args;

use super::{flatness, sharpness};
use crate::args::{Estimator, SharpnessArgs, at_least_one, parse_threat, positive_number};
use crate::meta::meta;

/// `advland relate`.
#[derive(Debug, Args, serde::Serialize)]
pub struct RelateArgs {
    /// Checkpoint directories (several epochs, norms, ε); repeatable.
    #[arg(long, required = true)]
    pub checkpoint: Vec<PathBuf>,
    /// Attacks as `NORM:EPS[:STEPS]`; repeatable (default: each checkpoint's training attack,
    /// or linf:0.1 for standard training).
    #[arg(long = "attack", value_parser = parse_threat)]
    pub attacks: Vec<ThreatSpec>,
    /// Test examples (evenly spaced) for both measurements.
    #[arg(long, value_parser = at_least_one, default_value_t = 64)]
    pub subset: usize,
    /// κ probe radii as fractions of ‖θ‖.
    #[arg(long, value_delimiter = ',', value_parser = positive_number, default_value = "1e-3,1e-2")]
    pub radii: Vec<f64>,
    /// Random directions per radius.
    #[arg(long, default_value_t = 2)]
    pub directions: usize,
    /// Ascent steps of the worst-case κ probe (counted in κ's maximum).
    #[arg(long, default_value_t = 2)]
    pub ascent_steps: usize,
    /// Power-iteration steps of the input-Hessian eigenvalue.
    #[arg(long, default_value_t = 20)]
    pub power_iterations: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report path.
    #[arg(long, default_value = "runs/relate.json")]
    pub out: PathBuf,
}

/// The flatness measures correlated with κ.
const MEASURES: [&str; 5] = [
    "hessian_top_adversarial",
    "curvature_adversarial",
    "grad_l2_adversarial",
    "hessian_top_clean",
    "grad_l2_clean",
];

fn measure_of(row: &RelationRow, name: &str) -> f64 {
    match name {
        "hessian_top_adversarial" => row.hessian_top_adversarial,
        "curvature_adversarial" => row.curvature_adversarial,
        "grad_l2_adversarial" => row.grad_l2_adversarial,
        "hessian_top_clean" => row.hessian_top_clean,
        _ => row.grad_l2_clean,
    }
}

/// Runs `advland relate`.
pub fn run(args: &RelateArgs, device: &Device, device_name: &str) -> Result<()> {
    let start = Instant::now();
    advland_schema::check_output(&args.out)?;
    let (report, cost) = compute(args, device, device_name)?;
    let config = serde_json::json!({ "args": crate::meta::args_config(args) });
    let subset = advland_schema::DataSubset {
        name: "test subsets of each checkpoint's data set".to_owned(),
        examples: args.subset,
        total: args.subset,
        selection: "evenly-spaced".to_owned(),
    };
    let mut meta = meta(device_name, args.seed, &config, subset);
    meta.duration_s = start.elapsed().as_secs_f64();
    meta.cost = cost;
    write_json(&args.out, &Report::new("relate", meta, report.clone()))?;
    print_table(&report);
    println!("report: {}", args.out.display());
    Ok(())
}

/// The relation table and correlations `args` ask for, and their cost.
pub fn compute(
    args: &RelateArgs,
    device: &Device,
    device_name: &str,
) -> Result<(RelationReport, advland_schema::Cost)> {
    let mut rows = Vec::new();
    let mut cost = advland_schema::Cost::default();
    for checkpoint in &args.checkpoint {
        let (_, info) = load_checkpoint(checkpoint, device)
            .with_context(|| format!("loading checkpoint {}", checkpoint.display()))?;
        let attacks: Vec<PgdSettings> = if args.attacks.is_empty() {
            vec![info.settings.adversarial.clone().map_or_else(
                || PgdSettings::new(advland_schema::Norm::Linf, 0.1, 10),
                |a| PgdSettings::new(a.norm, a.eps, 10),
            )]
        } else {
            args.attacks.iter().map(|t| t.resolve(10)).collect()
        };
        for attack in attacks {
            let (row, c) = relation_row(
                args,
                checkpoint,
                info.epoch,
                info.settings.adversarial.clone(),
                &attack,
                device,
                device_name,
            )?;
            cost += c;
            rows.push(row);
        }
    }
    let kappa: Vec<f64> = rows.iter().map(|r| r.kappa_adversarial).collect();
    let random: Option<Vec<f64>> = rows.iter().map(|r| r.kappa_adversarial_random).collect();
    let mut targets = vec![("kappa_adversarial", kappa)];
    if let Some(random) = random {
        targets.push(("kappa_adversarial_random", random));
    }
    let correlations = targets
        .iter()
        .flat_map(|(with, kappa)| {
            MEASURES.iter().map(|m| Correlation {
                measure: (*m).to_owned(),
                with: (*with).to_owned(),
                spearman: spearman(
                    &rows.iter().map(|r| measure_of(r, m)).collect::<Vec<_>>(),
                    kappa,
                ),
                rows: rows.len(),
            })
        })
        .collect();
    Ok((RelationReport { rows, correlations }, cost))
}

/// The table and correlations on stdout.
pub fn print_table(report: &RelationReport) {
    println!("| checkpoint | attack | kappa adv | kappa frozen | lambda_top adv | |g|_2 adv |");
    println!("|---|---|---|---|---|---|");
    for r in &report.rows {
        println!(
            "| {} | {} eps={} | {:.4} | {:.4} | {:+.4e} | {:.4e} |",
            r.checkpoint,
            r.attack.norm,
            r.attack.eps,
            r.kappa_adversarial,
            r.kappa_frozen,
            r.hessian_top_adversarial,
            r.grad_l2_adversarial
        );
    }
    for c in &report.correlations {
        let rho = c
            .spearman
            .map_or("undefined".to_owned(), |r| format!("{r:+.3}"));
        println!(
            "Spearman rho({}, {}) = {rho} over {} rows",
            c.measure, c.with, c.rows
        );
    }
}

fn relation_row(
    args: &RelateArgs,
    checkpoint: &std::path::Path,
    epoch: usize,
    trained_with: Option<PgdSettings>,
    attack: &PgdSettings,
    device: &Device,
    device_name: &str,
) -> Result<(RelationRow, advland_schema::Cost)> {
    let flat_args = flatness::FlatnessArgs {
        checkpoint: checkpoint.to_owned(),
        norm: Some(attack.norm),
        eps: Some(attack.eps),
        steps: attack.steps,
        subset: args.subset,
        precision: Precision::F64,
        power_iterations: args.power_iterations,
        top_k: 1,
        trace_samples: 2,
        live_activations: false,
        // Only the point measures enter the table; curves would be work thrown away.
        curve_points: 0,
        random_directions: 0,
        surface_example: None,
        surface_grid: None,
        lipschitz_steps: 0,
        lipschitz_restarts: 1,
        seed: args.seed,
        out: None,
    };
    let flat = flatness::measure(&flat_args, device, device_name)?;
    let sharp_args = SharpnessArgs {
        estimator: Estimator::Lipschitz,
        checkpoint: vec![checkpoint.to_owned()],
        objective: ObjectiveKind::Adversarial,
        norm: Some(attack.norm),
        eps: Some(attack.eps),
        steps: attack.steps,
        subset: args.subset,
        batch_size: 256,
        precision: Precision::F64,
        method: EigenMethod::Power,
        k: 1,
        tol: 1e-3,
        max_iter: 1,
        probes: 1,
        fd_step: None,
        live_activations: false,
        radii: args.radii.clone(),
        directions: args.directions,
        ascent_steps: args.ascent_steps,
        points: 2,
        local_entropy_gamma: None,
        local_entropy_steps: 5,
        local_entropy_lr: 0.1,
        local_entropy_noise: 1e-4,
        seed: args.seed,
        out: None,
    };
    let sharp = sharpness::measure(&sharp_args, device, device_name)?;
    let SharpnessEstimate::Lipschitz(l) = &sharp.data.estimate else {
        anyhow::bail!("internal: the lipschitz estimator returned another estimate");
    };
    let kappa = |kind: ObjectiveKind| {
        l.objectives
            .iter()
            .find(|o| o.kind == kind)
            .map_or(0.0, |o| o.kappa_max)
    };
    let at = |p: InputPoint| -> Result<&FlatnessAtPoint> {
        flat.data
            .points
            .iter()
            .find(|x| x.point == p)
            .context("flatness report lacks a point")
    };
    let (adv, clean) = (at(InputPoint::Adversarial)?, at(InputPoint::Clean)?);
    let mut cost = flat.meta.cost;
    cost += sharp.meta.cost;
    Ok((
        RelationRow {
            checkpoint: checkpoint.display().to_string(),
            epoch,
            trained_with,
            attack: attack.clone(),
            kappa_adversarial: kappa(ObjectiveKind::Adversarial),
            kappa_frozen: kappa(ObjectiveKind::AdversarialFrozen),
            kappa_adversarial_random: l
                .objectives
                .iter()
                .find(|o| o.kind == ObjectiveKind::Adversarial)
                .and_then(|o| o.random.iter().min_by(|a, b| a.radius.total_cmp(&b.radius)))
                .map(|p| p.kappa_max),
            hessian_top_adversarial: adv.hessian_top.median,
            curvature_adversarial: adv.curvature_along_gradient.median,
            grad_l2_adversarial: adv.grad_l2.median,
            hessian_top_clean: clean.hessian_top.median,
            grad_l2_clean: clean.grad_l2.median,
        },
        cost,
    ))
}
