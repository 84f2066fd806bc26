//! `advland demo`: the main job. Trains a standard, an L∞-adversarial and an L2-adversarial
//! CNN on the bundled Fashion-MNIST subset, evaluates all three under both attacks, and
//! writes `demo.json` (plus each run's log and checkpoints).
//!
//! Attack strengths ε∞ = 0.1 and ε₂ = 1.0 are common Fashion-MNIST choices (not the paper's,
//! which are unknown, paper.md §6); on 784 pixels an L∞ ball of 0.1 has L2 diameter 2.8, so
//! the L2 ball is the smaller one.

use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::Subject;
use advland_analysis::flatness::{self, FlatnessConfig};
use advland_analysis::relate::{RelateConfig, relate};
use advland_analysis::sharpness::{self, SharpnessConfig};
use advland_analysis::surface::{self, Directions, SurfaceConfig, make_directions};
use advland_schema::{
    AttackSpec, AutoattackLiteSettings, DataSettings, DemoFlatness, DemoModel, DemoSharpness,
    DemoSummary, Estimator, EvalResult, EvalSettings, LrSchedule, Norm, ObjectiveKind, PgdSettings,
    Precision, Report, SharpnessEstimate, SmoothnessEstimates, TrainSettings, TrainingSettings,
    write_json,
};
use advland_train::data::{describe, load_splits};
use advland_train::params::ParamLayout;
use advland_train::trainer::RunDirMode;
use advland_train::{Silent, evaluate_attacks};
use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::Args;

use crate::meta::{meta, report as report_of};
use crate::model_source;
use crate::progress::Bars;
use crate::render::{LogColour, write as render};
use crate::tables::print_demo;
use crate::training::{open_run_dir, run_training};

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

/// The sizes of a demo run.
struct Plan {
    train_subset: Option<usize>,
    test_subset: usize,
    epochs: usize,
    train_steps: usize,
    epoch_eval_subset: usize,
    epoch_eval_steps: usize,
    final_steps: usize,
    /// Iterations of each APGD run of the final autoattack-lite evaluation.
    apgd_steps: usize,
    sharpness_subset: usize,
    sharpness_steps: usize,
    eigenvalues: usize,
    max_iter: usize,
    radii: Vec<f64>,
    directions: usize,
    /// Steps of the worst-case κ ascent (its own setting; it once took `directions`' value).
    ascent_steps: usize,
    flatness_subset: usize,
    relation_epochs: Vec<usize>,
    surface_subset: usize,
    surface_steps: usize,
    surface_grid_2d: &'static str,
    surface_grid_1d: &'static str,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Plan {
                train_subset: Some(2000),
                test_subset: 500,
                epochs: 3,
                train_steps: 5,
                epoch_eval_subset: 200,
                epoch_eval_steps: 5,
                final_steps: 10,
                apgd_steps: 10,
                sharpness_subset: 32,
                sharpness_steps: 5,
                eigenvalues: 2,
                max_iter: 10,
                radii: vec![1e-2],
                directions: 1,
                ascent_steps: 1,
                flatness_subset: 16,
                relation_epochs: vec![1, 3],
                surface_subset: 100,
                surface_steps: 3,
                surface_grid_2d: "-1:1:5",
                surface_grid_1d: "-1:1:11",
            }
        } else {
            Plan {
                train_subset: None,
                test_subset: 2000,
                epochs: 10,
                train_steps: 7,
                epoch_eval_subset: 500,
                epoch_eval_steps: 10,
                final_steps: 20,
                apgd_steps: 100,
                sharpness_subset: 256,
                sharpness_steps: 10,
                eigenvalues: 5,
                max_iter: 30,
                radii: vec![1e-3, 1e-2],
                directions: 2,
                ascent_steps: 2,
                flatness_subset: 128,
                relation_epochs: vec![2, 5, 10],
                surface_subset: 256,
                surface_steps: 5,
                // 17×17 (step 0.125) reads as a landscape where 11×11 showed blocks. A point
                // costs 0.54 CPU-s per norm (256 images, PGD-5, three objectives), so the two
                // 2-D surfaces take 312 CPU-s instead of 131 (21×21: 476); measured in a whole
                // `advland demo` (dev build, 2 shared cores): 187 s of its 837 s.
                surface_grid_2d: "-1:1:17",
                surface_grid_1d: "-1:1:21",
            }
        }
    }

    /// The sharpness measurement of one estimator on the adversarial or frozen loss.
    fn sharpness_config(
        &self,
        estimator: Estimator,
        objective: ObjectiveKind,
        attack: &PgdSettings,
        seed: u64,
    ) -> SharpnessConfig {
        SharpnessConfig {
            estimator,
            objective,
            attack: Some(attack.clone()),
            subset: self.sharpness_subset,
            k: self.eigenvalues,
            max_iter: self.max_iter,
            radii: self.radii.clone(),
            directions: self.directions,
            ascent_steps: self.ascent_steps,
            seed,
            ..SharpnessConfig::default()
        }
    }

    /// Input flatness under one attack, with one example's 2-D input surface (±2ε, 21×21)
    /// and the logit Lipschitz estimate: cheap next to the Hessian measures.
    fn flatness_config(&self, attack: PgdSettings, seed: u64) -> FlatnessConfig {
        FlatnessConfig {
            subset: self.flatness_subset,
            trace_samples: 5,
            random_directions: 1,
            surface_example: Some(0),
            lipschitz_steps: 10,
            seed,
            ..FlatnessConfig::new(attack)
        }
    }

    fn settings(&self, seed: u64, adversarial: Option<PgdSettings>) -> TrainSettings {
        TrainSettings {
            seed,
            data: DataSettings {
                train_subset: self.train_subset,
                test_subset: Some(self.test_subset),
                ..DataSettings::default()
            },
            training: TrainingSettings {
                epochs: self.epochs,
                batch_size: 128,
                lr: 0.05,
                schedule: LrSchedule::Cosine,
                checkpoint_every: 1,
                gradient_budget: None,
                ..TrainingSettings::default()
            },
            adversarial,
            eval: EvalSettings {
                subset: Some(self.epoch_eval_subset),
                attacks: threats(self.epoch_eval_steps),
                batch_size: 500,
            },
            ..TrainSettings::default()
        }
    }
}

/// The two demo attacks.
fn threats(steps: usize) -> Vec<PgdSettings> {
    vec![
        PgdSettings::new(Norm::Linf, 0.1, steps),
        PgdSettings::new(Norm::L2, 1.0, steps),
    ]
}

/// The final evaluation's attacks, one group per demo attack: PGD and autoattack-lite at its
/// norm and radius, so each group's per-example worst case is the robustness under that threat.
fn final_attacks(plan: &Plan) -> Vec<[AttackSpec; 2]> {
    threats(plan.final_steps)
        .into_iter()
        .map(|pgd| {
            let lite = AutoattackLiteSettings {
                steps: plan.apgd_steps,
                ..AutoattackLiteSettings::new(pgd.norm, pgd.eps)
            };
            [AttackSpec::Pgd(pgd), AttackSpec::AutoattackLite(lite)]
        })
        .collect()
}

/// Runs `advland demo`.
pub fn run(args: &DemoArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let start = Instant::now();
    let plan = Plan::new(args.quick);
    let final_attacks = final_attacks(&plan);
    let mut models = Vec::new();
    let mut cost = advland_schema::Cost::default();
    let runs: [(&str, Option<PgdSettings>); 3] = [
        ("standard", None),
        (
            "linf",
            Some(PgdSettings::new(Norm::Linf, 0.1, plan.train_steps)),
        ),
        (
            "l2",
            Some(PgdSettings::new(Norm::L2, 1.0, plan.train_steps)),
        ),
    ];
    for (name, adversarial) in runs {
        let settings = plan.settings(args.seed, adversarial.clone());
        let run_dir = args.out.join(name);
        let t0 = Instant::now();
        // The demo regenerates its own runs; `--overwrite` still refuses a directory that
        // is not a run directory.
        let run = open_run_dir(&run_dir, RunDirMode::Overwrite)?;
        let log = run_training(&settings, run, None, device, device_name, name, quiet)?;
        let train_duration_s = t0.elapsed().as_secs_f64();
        let last = log.checkpoints.last().context("no checkpoint saved")?;
        let checkpoint = run_dir.join(&last.path);
        let subject = model_source::subject(&checkpoint, device)?;
        let splits = load_splits(&settings.data)?;
        let mut bars = Bars::new(name, quiet);
        let mut robustness = Vec::new();
        for attacks in &final_attacks {
            let (result, c) = evaluate_attacks(
                &subject.model,
                &splits.test,
                attacks,
                500,
                args.seed,
                device,
                &mut bars,
            )?;
            cost += c;
            robustness.push(result);
        }
        bars.finish();
        // The PGD columns of every group, as demos have always reported them.
        let eval = EvalResult {
            clean: robustness.first().context("no demo attacks")?.clean,
            robust: robustness.iter().flat_map(|g| g.robust.clone()).collect(),
            attacks: Vec::new(),
            worst_case: None,
        };
        for e in &log.epochs {
            cost += e.cost;
        }
        let mut sharpness = Vec::new();
        for attack in threats(plan.sharpness_steps) {
            let (entry, c) =
                measure_sharpness(&plan, &attack, &subject, name, args, device, device_name)
                    .with_context(|| format!("sharpness of {name} under {}", attack.norm))?;
            cost += c;
            sharpness.push(entry);
        }
        let mut flatness_entries = Vec::new();
        for attack in threats(plan.final_steps) {
            let start = Instant::now();
            let config = plan.flatness_config(attack.clone(), args.seed);
            let measured = flatness::measure(&subject, &config, device, &mut Silent)
                .with_context(|| format!("input flatness of {name} under {}", attack.norm))?;
            let report = report_of(measured, &config, args.seed, device_name, start);
            cost += report.meta.cost;
            let file = format!("{name}/flatness-{}.json", attack.norm);
            write_json(&args.out.join(&file), &report)?;
            flatness_entries.push(DemoFlatness {
                attack,
                points: report.data.points,
                report: file,
            });
        }
        models.push(DemoModel {
            name: name.to_owned(),
            run_dir: name.to_owned(),
            adversarial,
            epochs: log.epochs.len(),
            train_duration_s,
            eval,
            robustness,
            sharpness,
            flatness: flatness_entries,
        });
    }
    let relate_start = Instant::now();
    let relate_config = RelateConfig {
        attacks: threats(plan.sharpness_steps),
        subset: plan.flatness_subset.min(64),
        radii: plan.radii.clone(),
        directions: plan.directions,
        ascent_steps: plan.ascent_steps,
        power_iterations: 10,
        seed: args.seed,
    };
    let relation_checkpoints: Vec<PathBuf> = ["standard", "linf", "l2"]
        .iter()
        .flat_map(|name| {
            plan.relation_epochs.iter().map(move |e| {
                args.out
                    .join(name)
                    .join(format!("checkpoints/epoch-{e:04}"))
            })
        })
        .collect();
    let measured = relate(
        relation_checkpoints
            .iter()
            .map(|p| model_source::subject(p, device)),
        &relate_config,
        device,
        &mut Silent,
    )?;
    let relation = report_of(
        measured,
        &relate_config,
        args.seed,
        device_name,
        relate_start,
    );
    cost += relation.meta.cost;
    write_json(&args.out.join("relate.json"), &relation)?;
    let relation = relation.data;
    let surfaces = draw_surfaces(&plan, args, device, device_name)?;
    for (_, c) in &surfaces {
        cost += *c;
    }
    let mut summary = DemoSummary {
        quick: args.quick,
        models,
        relation,
        surfaces: surfaces.into_iter().map(|(f, _)| f).collect(),
        report: None,
    };
    let base = plan.settings(args.seed, None);
    let test = load_splits(&base.data)?.test;
    let config = serde_json::json!({
        "quick": args.quick,
        "runs": ["standard", "linf", "l2"],
        "final_attacks": final_attacks,
        "base_settings": base,
    });
    let mut meta = meta(device_name, args.seed, &config, describe(&test, 2000));
    meta.duration_s = start.elapsed().as_secs_f64();
    meta.cost = cost;
    let path = args.out.join("demo.json");
    summary.report = Some("report/index.html".to_owned());
    write_json(&path, &Report::of(meta, summary.clone()))?;
    let rendered = render(
        std::slice::from_ref(&args.out),
        &args.out.join("report"),
        LogColour::Auto,
    )
    .context("drawing the report")?;
    print_demo(&summary, &path);
    println!(
        "figures: {} in {}",
        rendered.figures.len(),
        rendered.index.display()
    );
    Ok(())
}

/// Loss surfaces of the L∞ and L2 models on shared directions (drawn once at the L∞ model,
/// saved, and reused, so the two norms' surfaces are comparable point for point): 2-D and 1-D,
/// clean, adversarial (attack re-solved at every point) and adversarial-frozen, each model
/// under its own training attack. Returns the reports' relative paths and costs.
fn draw_surfaces(
    plan: &Plan,
    args: &DemoArgs,
    device: &Device,
    device_name: &str,
) -> Result<Vec<(String, advland_schema::Cost)>> {
    let dir = args.out.join("surfaces");
    let mut out = Vec::new();
    let last = format!("checkpoints/epoch-{:04}", plan.epochs);
    for (dims, grid) in [("2d", plan.surface_grid_2d), ("1d", plan.surface_grid_1d)] {
        let axis = grid
            .parse::<advland_schema::Axis>()
            .map_err(anyhow::Error::msg)?;
        let directions_file = dir.join(format!("directions-{dims}.safetensors"));
        for (name, attack) in [("linf", &threats(0)[0]), ("l2", &threats(0)[1])] {
            let start = Instant::now();
            let checkpoint = args.out.join(name).join(&last);
            let mut subject = model_source::subject(&checkpoint, device)?;
            let config = SurfaceConfig {
                directions: advland_schema::DirectionKind::Random,
                normalization: advland_schema::Normalization::Filter,
                ignore: advland_schema::IgnoreParams::Biasbn,
                objective: vec![
                    ObjectiveKind::Clean,
                    ObjectiveKind::Adversarial,
                    ObjectiveKind::AdversarialFrozen,
                ],
                attack: Some(PgdSettings::new(
                    attack.norm,
                    attack.eps,
                    plan.surface_steps,
                )),
                x: axis,
                y: (dims == "2d").then_some(axis),
                subset: plan.surface_subset,
                batch_size: 500,
                precision: Precision::F32,
                shard: advland_schema::Shard::WHOLE,
                workers: 1,
                bn_recompute: None,
                seed: args.seed,
            };
            let layout = ParamLayout::of(&subject.model);
            let directions = if name == "linf" {
                let d = make_directions(&subject, &[], &config, device)?;
                d.save(&layout, &directions_file)?;
                d
            } else {
                Directions::load(&layout, &directions_file)?
            };
            let (origin_dir, weights_hash) = model_source::weights_identity(&checkpoint)?;
            subject.checkpoint = origin_dir.display().to_string();
            let measured = surface::compute(&subject, &directions, weights_hash, &config, device)
                .with_context(|| format!("{dims} surface of {name}"))?;
            let file = format!("surfaces/{name}-{dims}.json");
            let report = report_of(measured, &config, args.seed, device_name, start);
            write_json(&args.out.join(&file), &report)?;
            out.push((file, report.meta.cost));
        }
    }
    Ok(out)
}

/// Hessian eigenvalues of the adversarial-frozen loss and κ of the adversarial loss (with its
/// frozen ablation) for one model under one attack; writes both reports into the run directory.
fn measure_sharpness(
    plan: &Plan,
    attack: &PgdSettings,
    subject: &Subject,
    name: &str,
    args: &DemoArgs,
    device: &Device,
    device_name: &str,
) -> Result<(DemoSharpness, advland_schema::Cost)> {
    let mut cost = advland_schema::Cost::default();
    let mut reports = Vec::new();
    let mut eigenvalues = Vec::new();
    let mut smoothness: Vec<SmoothnessEstimates> = Vec::new();
    for (estimator, objective) in [
        (Estimator::Hessian, ObjectiveKind::AdversarialFrozen),
        (Estimator::Lipschitz, ObjectiveKind::Adversarial),
    ] {
        let start = Instant::now();
        let config = plan.sharpness_config(estimator, objective, attack, args.seed);
        let measured = sharpness::measure(subject, &[], &config, device, &mut Silent)?;
        let report = report_of(measured, &config, args.seed, device_name, start);
        cost += report.meta.cost;
        let file = format!(
            "{name}/sharpness-{}-{}.json",
            estimator.as_str(),
            attack.norm
        );
        write_json(&args.out.join(&file), &report)?;
        reports.push(file);
        match &report.data.estimate {
            SharpnessEstimate::Hessian(h) => {
                eigenvalues = h.eigenvalues.iter().map(|e| e.value).collect();
            }
            SharpnessEstimate::Lipschitz(l) => smoothness.clone_from(&l.objectives),
            _ => {}
        }
    }
    let pick = |kind: ObjectiveKind| {
        smoothness
            .iter()
            .find(|o| o.kind == kind)
            .map(|o| {
                let curve = o.random.iter().map(|p| (p.radius, p.kappa_max)).collect();
                (o.kappa_max, curve)
            })
            .unwrap_or_default()
    };
    let (kappa_adversarial, kappa_curve_adversarial) = pick(ObjectiveKind::Adversarial);
    let (kappa_frozen, kappa_curve_frozen) = pick(ObjectiveKind::AdversarialFrozen);
    Ok((
        DemoSharpness {
            attack: attack.clone(),
            eigenvalues,
            kappa_adversarial,
            kappa_frozen,
            kappa_curve_adversarial,
            kappa_curve_frozen,
            reports,
        },
        cost,
    ))
}
