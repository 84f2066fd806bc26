//! The demo's composition: three training runs, then every measurement of each, written as
//! reports below the output directory and gathered into a [`DemoSummary`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use advland_schema::{
    Cost, DemoFlatness, DemoModel, DemoSharpness, DemoSummary, Estimator, EvalResult,
    ObjectiveKind, Payload, PgdSettings, Report, SharpnessEstimate, SmoothnessEstimates,
    write_json,
};

use advland_train::data::{describe, load_splits};
use advland_train::evaluate_attacks;
use advland_train::params::ParamLayout;
use advland_train::trainer::{RunDir, RunDirMode, train_into};
use burn::tensor::Device;
use serde::Serialize;

use super::config::EVAL_BATCH;
use super::{DemoConfig, DemoError, DemoObserver, DemoResult, MetaOf, RUNS, Stage, threats};
use crate::load::weights_identity;
use crate::precision::require_f64;
use crate::relate::relate;
use crate::surface::{self, Directions, make_directions};
use crate::{Measured, Subject, flatness, sharpness};

/// File of the relation report below the output directory.
const RELATE_FILE: &str = "relate.json";
/// Directory of the surfaces and their shared directions below the output directory.
const SURFACES_DIR: &str = "surfaces";
/// Test examples `demo.json`'s data description counts as the whole split: the bundled
/// Fashion-MNIST subset's test split.
const DEMO_TEST_TOTAL: usize = 2000;

/// Runs the demo as `config` says into `out`: each model's run directory `out/<name>` (its
/// log and checkpoints, regenerated: a run directory already there is overwritten, any other
/// non-empty directory refused) with its sharpness and flatness reports, `out/relate.json`,
/// and the surfaces in `out/surfaces/`. Returns the summary report (`demo.json`) with its
/// `report` (the page) unset; every report's metadata comes from `meta`, progress goes to
/// `observer`.
///
/// # Errors
/// An invalid configuration, a refused run directory, and any failed step, named.
pub fn run(
    config: &DemoConfig,
    out: &Path,
    device: &Device,
    meta: &MetaOf<'_>,
    observer: &mut dyn DemoObserver,
) -> DemoResult<Report<DemoSummary>> {
    config.check()?;
    // Refused here rather than after training, where its first Hessian would stop it.
    require_f64(
        device,
        "the demo computes its Hessians and flatness in f64 (the adversarial loss's Hessian has \
         no f32 version)",
    )?;
    let start = Instant::now();
    let demo = Demo {
        config,
        out,
        device,
        meta,
    };
    let mut cost = Cost::default();
    let mut models = Vec::new();
    for (name, adversarial) in config.runs() {
        let (model, c) = demo.model(name, adversarial, observer)?;
        cost += c;
        models.push(model);
    }
    let relation = demo.relation(observer)?;
    cost += relation.meta.cost;
    let relation = relation.data;
    let mut surfaces = Vec::new();
    for (file, c) in demo.surfaces(observer)? {
        cost += c;
        surfaces.push(file);
    }
    let summary = DemoSummary {
        quick: config.quick,
        models,
        relation,
        surfaces,
        report: None,
    };
    let test = load_splits(&config.train_settings(None).data)?.test;
    let mut meta = meta(
        config.seed,
        &config.recorded(),
        describe(&test, DEMO_TEST_TOTAL),
    );
    meta.duration_s = start.elapsed().as_secs_f64();
    meta.cost = cost;
    Ok(Report::of(meta, summary))
}

/// What every step of one demo shares.
struct Demo<'a> {
    config: &'a DemoConfig,
    out: &'a Path,
    device: &'a Device,
    meta: &'a MetaOf<'a>,
}

impl Demo<'_> {
    /// Trains the model `name` (against `adversarial`), evaluates it under the final attacks
    /// and measures its sharpness and input flatness; returns its summary and all it cost.
    fn model(
        &self,
        name: &str,
        adversarial: Option<PgdSettings>,
        observer: &mut dyn DemoObserver,
    ) -> DemoResult<(DemoModel, Cost)> {
        let config = self.config;
        let settings = config.train_settings(adversarial.clone());
        let run_dir = self.out.join(name);
        let t0 = Instant::now();
        // The demo regenerates its own runs; overwriting still refuses a directory that is
        // not a run directory.
        let run = RunDir::open(&run_dir, RunDirMode::Overwrite)?;
        let recorded = to_json(&settings);
        observer.begin(name, Stage::Train);
        let trained = train_into(
            &settings,
            run,
            None,
            self.device,
            |data| (self.meta)(settings.seed, &recorded, data),
            observer,
        );
        observer.end();
        let (_, log) = trained.map_err(|e| step(format!("training {}", run_dir.display()), e))?;
        let train_duration_s = t0.elapsed().as_secs_f64();
        let last = log
            .checkpoints
            .last()
            .ok_or_else(|| DemoError::NoCheckpoint {
                run_dir: run_dir.clone(),
            })?;
        let subject = self.subject(&run_dir.join(&last.path))?;
        let mut cost = Cost::default();
        for e in &log.epochs {
            cost += e.cost;
        }
        let splits = load_splits(&settings.data)
            .map_err(|e| step(format!("loading the data of {name}"), e))?;
        observer.begin(name, Stage::Evaluate);
        let mut robustness = Vec::new();
        let mut evaluated = Ok(());
        for attacks in &config.final_attacks() {
            match evaluate_attacks(
                &subject.model,
                &splits.test,
                attacks,
                EVAL_BATCH,
                config.seed,
                self.device,
                observer,
            ) {
                Ok((result, c)) => {
                    cost += c;
                    robustness.push(result);
                }
                Err(e) => {
                    evaluated = Err(step(format!("evaluating {name}"), e));
                    break;
                }
            }
        }
        observer.end();
        evaluated?;
        // The PGD columns of every group, as demos have always reported them.
        let eval = EvalResult {
            clean: robustness
                .first()
                .expect("the demo evaluates under two threats")
                .clean,
            robust: robustness.iter().flat_map(|g| g.robust.clone()).collect(),
            attacks: Vec::new(),
            worst_case: None,
        };
        let mut sharpness = Vec::new();
        for attack in threats(config.sharpness_steps) {
            observer.begin(name, Stage::Sharpness);
            let measured = self.sharpness(&attack, &subject, name, observer);
            observer.end();
            let (entry, c) = measured?;
            cost += c;
            sharpness.push(entry);
        }
        let mut flatness = Vec::new();
        for attack in threats(config.final_steps) {
            observer.begin(name, Stage::Flatness);
            let start = Instant::now();
            let flatness_config = config.flatness_config(attack.clone());
            let measured = flatness::measure(&subject, &flatness_config, self.device, observer);
            observer.end();
            let measured = measured
                .map_err(|e| step(format!("input flatness of {name} under {}", attack.norm), e))?;
            let report = self.report(measured, &flatness_config, start);
            cost += report.meta.cost;
            let file = format!("{name}/flatness-{}.json", attack.norm);
            write_json(&self.out.join(&file), &report)?;
            flatness.push(DemoFlatness {
                attack,
                points: report.data.points,
                report: file,
            });
        }
        let model = DemoModel {
            name: name.to_owned(),
            run_dir: name.to_owned(),
            adversarial,
            epochs: log.epochs.len(),
            train_duration_s,
            eval,
            robustness,
            sharpness,
            flatness,
        };
        Ok((model, cost))
    }

    /// Hessian eigenvalues of the adversarial-frozen loss and κ of the adversarial loss (with
    /// its frozen ablation) for one model under one attack; writes both reports into the run
    /// directory.
    fn sharpness(
        &self,
        attack: &PgdSettings,
        subject: &Subject,
        name: &str,
        observer: &mut dyn DemoObserver,
    ) -> DemoResult<(DemoSharpness, Cost)> {
        let mut cost = Cost::default();
        let mut reports = Vec::new();
        let mut eigenvalues = Vec::new();
        let mut smoothness: Vec<SmoothnessEstimates> = Vec::new();
        for (estimator, objective) in [
            (Estimator::Hessian, ObjectiveKind::AdversarialFrozen),
            (Estimator::Lipschitz, ObjectiveKind::Adversarial),
        ] {
            let start = Instant::now();
            let config = self.config.sharpness_config(estimator, objective, attack);
            let measured = sharpness::measure(subject, &[], &config, self.device, observer)
                .map_err(|e| step(format!("sharpness of {name} under {}", attack.norm), e))?;
            let report = self.report(measured, &config, start);
            cost += report.meta.cost;
            let file = format!(
                "{name}/sharpness-{}-{}.json",
                estimator.as_str(),
                attack.norm
            );
            write_json(&self.out.join(&file), &report)?;
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
        let entry = DemoSharpness {
            attack: attack.clone(),
            eigenvalues,
            kappa_adversarial,
            kappa_frozen,
            kappa_curve_adversarial,
            kappa_curve_frozen,
            reports,
        };
        Ok((entry, cost))
    }

    /// Input flatness next to κ across every model's checkpoints of `relation_epochs`;
    /// writes `relate.json`.
    fn relation(
        &self,
        observer: &mut dyn DemoObserver,
    ) -> DemoResult<Report<advland_schema::flatness::RelationReport>> {
        let start = Instant::now();
        let config = self.config.relate_config();
        let checkpoints: Vec<PathBuf> = RUNS
            .iter()
            .flat_map(|name| {
                self.config.relation_epochs.iter().map(move |e| {
                    self.out
                        .join(name)
                        .join(format!("checkpoints/epoch-{e:04}"))
                })
            })
            .collect();
        observer.begin("all", Stage::Relate);
        let measured = relate(
            checkpoints.iter().map(|p| self.subject(p)),
            &config,
            self.device,
            observer,
        );
        observer.end();
        let report = self.report(measured?, &config, start);
        write_json(&self.out.join(RELATE_FILE), &report)?;
        Ok(report)
    }

    /// Loss surfaces of the L∞ and L2 models on shared directions (drawn once at the L∞
    /// model, saved, and reused, so the two norms' surfaces are comparable point for point):
    /// 2-D and 1-D, clean, adversarial (attack re-solved at every point) and
    /// adversarial-frozen, each model under its own training attack. Returns the reports'
    /// relative paths and costs.
    fn surfaces(&self, observer: &mut dyn DemoObserver) -> DemoResult<Vec<(String, Cost)>> {
        let config = self.config;
        let dir = self.out.join(SURFACES_DIR);
        let mut out = Vec::new();
        let last = format!("checkpoints/epoch-{:04}", config.epochs);
        let attacks = threats(0);
        for (dims, axis) in [
            ("2d", config.surface_grid_2d),
            ("1d", config.surface_grid_1d),
        ] {
            let directions_file = dir.join(format!("directions-{dims}.safetensors"));
            for (name, attack) in [(RUNS[1], &attacks[0]), (RUNS[2], &attacks[1])] {
                observer.begin(name, Stage::Surface);
                let drawn = self.surface(name, attack, &last, axis, dims, &directions_file);
                observer.end();
                out.push(drawn.map_err(|e| match e {
                    DemoError::Analysis(e) => step(format!("{dims} surface of {name}"), e),
                    e => e,
                })?);
            }
        }
        Ok(out)
    }

    /// One model's surface on `axis` (2-D when `dims` is `2d`): the L∞ model draws the
    /// directions into `directions_file`, the L2 model reads them.
    fn surface(
        &self,
        name: &str,
        attack: &PgdSettings,
        last: &str,
        axis: advland_schema::Axis,
        dims: &str,
        directions_file: &Path,
    ) -> DemoResult<(String, Cost)> {
        let start = Instant::now();
        let checkpoint = self.out.join(name).join(last);
        let mut subject = self.subject(&checkpoint)?;
        let config = self.config.surface_config(attack, axis, dims == "2d");
        let layout = ParamLayout::of(&subject.model);
        let directions = if name == RUNS[1] {
            let d = make_directions(&subject, &[], &config, self.device)?;
            d.save(&layout, directions_file)?;
            d
        } else {
            Directions::load(&layout, directions_file)?
        };
        // Surfaces name the checkpoint directory itself and the hash of its weights.
        let (origin, weights_hash) = weights_identity(&checkpoint)?;
        subject.checkpoint = origin.display().to_string();
        let measured = surface::compute(&subject, &directions, weights_hash, &config, self.device)?;
        let file = format!("{SURFACES_DIR}/{name}-{dims}.json");
        let report = self.report(measured, &config, start);
        write_json(&self.out.join(&file), &report)?;
        Ok((file, report.meta.cost))
    }

    /// The checkpoint at `path` with its run's test split ([`Subject::from_checkpoint`]).
    fn subject(&self, path: &Path) -> DemoResult<Subject> {
        Ok(Subject::from_checkpoint(path, self.device)?)
    }

    /// The report of a measurement: `config` recorded whole, the caller's metadata, the
    /// duration counted from `start`.
    fn report<T: Payload, C: Serialize>(
        &self,
        measured: Measured<T>,
        config: &C,
        start: Instant,
    ) -> Report<T> {
        let mut meta = (self.meta)(self.config.seed, &to_json(config), measured.data);
        meta.duration_s = start.elapsed().as_secs_f64();
        meta.cost = measured.cost;
        Report::of(meta, measured.report)
    }
}

/// `value` as JSON.
///
/// # Panics
/// If `value` cannot be represented as JSON (a map with non-string keys): configurations are
/// plain structs, so that is a programming error.
fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("configurations serialise to JSON")
}

/// `source` as the failure of `step`.
fn step(step: String, source: impl Into<crate::Error>) -> DemoError {
    DemoError::Step {
        step,
        source: Box::new(source.into()),
    }
}
