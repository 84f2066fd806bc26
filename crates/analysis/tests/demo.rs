//! The demo composition at a tiny scale: every run and report lands where the summary says,
//! the caller's metadata is on every report, and the observer hears each stage in order.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use advland_analysis::demo::{self, DemoConfig, DemoObserver, RUNS, Stage};
use advland_schema::{Axis, Cost, DataSubset, Meta, SurfaceReport, read_json};
use advland_train::Observer;
use burn::tensor::Device;

/// The quick plan cut down to seconds: one epoch on 100 examples, one step everywhere.
fn tiny() -> DemoConfig {
    let axis = |points| Axis {
        min: -1.0,
        max: 1.0,
        points,
    };
    DemoConfig {
        train_subset: Some(100),
        test_subset: 20,
        epochs: 1,
        train_steps: 1,
        epoch_eval_subset: 10,
        epoch_eval_steps: 1,
        final_steps: 1,
        apgd_steps: 1,
        sharpness_subset: 4,
        sharpness_steps: 1,
        eigenvalues: 1,
        max_iter: 2,
        flatness_subset: 4,
        relation_epochs: vec![1],
        surface_subset: 4,
        surface_steps: 1,
        surface_grid_2d: axis(2),
        surface_grid_1d: axis(2),
        ..DemoConfig::quick(0)
    }
}

fn meta(seed: u64, config: &serde_json::Value, data: DataSubset) -> Meta {
    Meta {
        advland_version: "test".into(),
        burn_version: "test".into(),
        command: vec!["demo-test".into()],
        device: "cpu".into(),
        seed,
        config: config.clone(),
        data,
        started_unix_s: 0,
        duration_s: 0.0,
        cost: Cost::default(),
        weights: Vec::new(),
        provenance: Default::default(),
    }
}

#[derive(Default)]
struct Stages {
    heard: Vec<(String, Stage)>,
    open: bool,
    epochs: usize,
}

impl Observer for Stages {
    fn epoch(&mut self, _: &advland_schema::EpochRecord) {
        assert!(self.open, "an epoch outside a stage");
        self.epochs += 1;
    }
}

impl DemoObserver for Stages {
    fn begin(&mut self, model: &str, stage: Stage) {
        assert!(
            !self.open,
            "{stage:?} of {model} begins inside another stage"
        );
        self.open = true;
        self.heard.push((model.to_owned(), stage));
    }
    fn end(&mut self) {
        assert!(self.open);
        self.open = false;
    }
}

#[test]
fn the_demo_writes_what_its_summary_names() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let device = Device::flex().autodiff();
    let config = tiny();
    let mut stages = Stages::default();
    let report = demo::run(&config, &out, &device, &meta, &mut stages).unwrap();

    assert_eq!(report.kind, "demo");
    assert_eq!(report.meta.command, ["demo-test"]);
    assert_eq!(report.meta.config, config.recorded());
    assert!(report.meta.cost.forward > 0);
    let summary = &report.data;
    assert!(summary.quick);
    assert_eq!(summary.report, None);
    let names: Vec<&str> = summary.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, RUNS);
    for m in &summary.models {
        let train: advland_schema::Report<advland_schema::TrainLog> =
            read_json(&out.join(&m.run_dir).join("train.json")).unwrap();
        assert_eq!(train.meta.command, ["demo-test"]);
        assert_eq!(m.epochs, 1);
        assert_eq!(m.robustness.len(), 2);
        assert_eq!(m.eval.robust.len(), 2);
        for file in m.sharpness.iter().flat_map(|s| &s.reports) {
            assert!(out.join(file).is_file(), "{file}");
        }
        for f in &m.flatness {
            assert!(out.join(&f.report).is_file(), "{}", f.report);
        }
    }
    // 3 models × 1 epoch × 2 attacks.
    assert_eq!(summary.relation.rows.len(), 6);
    assert!(out.join("relate.json").is_file());
    assert_eq!(summary.surfaces.len(), 4);
    let surfaces: Vec<advland_schema::Report<SurfaceReport>> = summary
        .surfaces
        .iter()
        .map(|f| read_json(&out.join(f)).unwrap())
        .collect();
    for pair in surfaces.chunks(2) {
        assert_eq!(pair[0].data.directions, pair[1].data.directions);
        assert!(pair.iter().all(|s| s.data.is_complete()));
    }

    assert_eq!(stages.epochs, 3);
    let expected: Vec<(String, Stage)> = RUNS
        .iter()
        .flat_map(|m| {
            [
                Stage::Train,
                Stage::Evaluate,
                Stage::Sharpness,
                Stage::Sharpness,
                Stage::Flatness,
                Stage::Flatness,
            ]
            .map(|s| ((*m).to_owned(), s))
        })
        .chain([("all".to_owned(), Stage::Relate)])
        .chain(["linf", "l2", "linf", "l2"].map(|m| (m.to_owned(), Stage::Surface)))
        .collect();
    assert_eq!(stages.heard, expected);
}

#[test]
fn a_plan_that_cannot_finish_is_refused_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let config = DemoConfig {
        relation_epochs: vec![2],
        ..tiny()
    };
    let err = demo::run(
        &config,
        &out,
        &Device::flex().autodiff(),
        &meta,
        &mut advland_train::Silent,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("relation_epochs"), "{err}");
    assert!(!out.exists());
}
