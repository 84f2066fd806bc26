//! A resumable surface as a library call on a tiny model: points read back from a partial
//! file plus the ones computed after them give the uninterrupted surface, progress counts
//! both, and a partial file of another computation is refused until restarted.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use advland_analysis::Subject;
use advland_analysis::surface::{
    self, PartialFile, SurfaceConfig, SurfaceOutput, SurfaceRun, compute_resumable,
    load_directions, make_directions,
};
use advland_schema::{Axis, Norm, ObjectiveKind, PgdSettings, Report};
use advland_train::{Observer, Silent};
use burn::tensor::Device;

fn subject(device: &Device) -> Subject {
    let (model, test) = common::tiny_mlp(40, 1, device);
    Subject {
        model,
        test,
        checkpoint: "model-1".to_owned(),
        epoch: 1,
        trained_with: None,
        train: None,
    }
}

fn config() -> SurfaceConfig {
    SurfaceConfig {
        objective: vec![ObjectiveKind::Clean, ObjectiveKind::Adversarial],
        attack: Some(PgdSettings::new(Norm::Linf, 0.05, 2)),
        x: Axis {
            min: -1.0,
            max: 1.0,
            points: 3,
        },
        y: Some(Axis {
            min: -0.5,
            max: 0.5,
            points: 2,
        }),
        subset: 20,
        ..SurfaceConfig::default()
    }
}

/// Every progress call, as (done, total).
#[derive(Default)]
struct Calls(Vec<(usize, usize)>);

impl Observer for Calls {
    fn progress(&mut self, phase: &str, done: usize, total: usize) {
        assert_eq!(phase, surface::resume::PROGRESS_PHASE);
        self.0.push((done, total));
    }
}

#[test]
fn a_resumed_surface_equals_the_uninterrupted_one() {
    let device = Device::flex().autodiff();
    let s = subject(&device);
    let config = config();
    let d = make_directions(&s, &[], &config, &device).unwrap();
    let whole = surface::compute(&s, &d, "hash".into(), &config, &device).unwrap();

    // An interrupted run left three points, the last line cut short.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.json");
    let run = SurfaceRun::new(&s, &d, "hash".into(), &config, &device).unwrap();
    let fingerprint = run.fingerprint();
    let partial = surface::resume::partial_path(&out);
    let mut first =
        PartialFile::open(&partial, &fingerprint, run.shard(), &BTreeMap::new()).unwrap();
    let points = whole.report.points.clone();
    for (i, &k) in points.iter().enumerate().take(3) {
        let values = whole
            .report
            .values
            .iter()
            .map(|v| (v.loss[i], Some(v.accuracy[i])))
            .collect();
        first.append(k, &values).unwrap();
    }
    drop(first);
    let mut text = fs_err::read_to_string(&partial).unwrap();
    text.push_str("{\"k\":5,\"v\":[[0.1");
    fs_err::write(&partial, text).unwrap();

    let output = SurfaceOutput::lock(&out).unwrap();
    let mut calls = Calls::default();
    let resumed = output.compute(run, false, &mut calls).unwrap();
    assert_eq!(resumed.resumed, 3);
    assert_eq!(resumed.fingerprint, fingerprint);
    assert_eq!(resumed.measured.report, whole.report);
    assert_eq!(calls.0, vec![(3, 6), (4, 6), (5, 6), (6, 6)]);
    let recorded = resumed.recorded_config(&config);
    assert_eq!(recorded["resumed_points"], 3);
    assert_eq!(recorded["fingerprint"], fingerprint.as_str());
    assert_eq!(recorded["subset"], 20);

    let report = resumed
        .measured
        .into_report(&recorded, 0, vec!["test".into()], "cpu", 0.0);
    output.write(&report).unwrap();
    assert!(!partial.exists());
    let back: Report<advland_schema::SurfaceReport> = advland_schema::read_json(&out).unwrap();
    assert_eq!(back.data, whole.report);
}

#[test]
fn another_computation_is_refused_until_restarted() {
    let device = Device::flex().autodiff();
    let s = subject(&device);
    let config = config();
    let d = make_directions(&s, &[], &config, &device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("s.json.partial");
    let run = SurfaceRun::new(&s, &d, "hash".into(), &config, &device).unwrap();
    PartialFile::open(&partial, "another", run.shard(), &BTreeMap::new()).unwrap();
    let err = compute_resumable(run, &partial, false, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("s.json.partial") && err.contains("--restart"),
        "{err}"
    );

    let run = SurfaceRun::new(&s, &d, "hash".into(), &config, &device).unwrap();
    let resumed = compute_resumable(run, &partial, true, &mut Silent).unwrap();
    assert_eq!(resumed.resumed, 0);
    assert_eq!(resumed.measured.report.points, (0..6).collect::<Vec<_>>());
    // The partial file now holds every point, for a report writer that failed to continue.
    let again = PartialFile::read(&partial, &resumed.fingerprint, config.shard, 2).unwrap();
    assert_eq!(again.len(), 6);
}

#[test]
fn loaded_directions_must_fit_the_axes() {
    let device = Device::flex().autodiff();
    let s = subject(&device);
    let config = config();
    let d = make_directions(&s, &[], &config, &device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.safetensors");
    d.save(&advland_train::params::ParamLayout::of(&s.model), &path)
        .unwrap();
    assert_eq!(load_directions(&s, &path, &config).unwrap().info, d.info);
    let line = SurfaceConfig { y: None, ..config };
    let err = load_directions(&s, &path, &line).unwrap_err().to_string();
    assert!(
        err.contains("d.safetensors") && err.contains("holds 2 direction(s); give --y"),
        "{err}"
    );
}
