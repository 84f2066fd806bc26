//! Hessian top-5 and a 1-D loss surface of a checkpoint, through the library alone: the
//! reports equal (up to `meta`'s command and times) those of
//! `advland sharpness hessian --objective clean --checkpoint DIR` and
//! `advland surface --checkpoint DIR`.
//!
//! `cargo run -p advland-analysis --example landscape -- CHECKPOINT_DIR OUT_DIR`

use std::path::PathBuf;

use advland_analysis::Subject;
use advland_analysis::device::DeviceKind;
use advland_analysis::sharpness::{self, SharpnessConfig};
use advland_analysis::surface::{self, SurfaceConfig, make_directions};
use advland_schema::{Estimator, ObjectiveKind, SharpnessEstimate, file_sha256, write_json};
use advland_train::checkpoint::{WEIGHTS_FILE, checkpoint_dir, load_checkpoint};
use advland_train::data::checkpoint_test_set;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(PathBuf::from);
    let (Some(checkpoint), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: landscape CHECKPOINT_DIR OUT_DIR".into());
    };
    // `DeviceKind::Wgpu`/`Cuda` with those features, refused with a reason when they cannot start.
    let device = DeviceKind::Cpu.open()?.device;
    let (model, info) = load_checkpoint(&checkpoint, &device)?;
    let mut subject = Subject {
        test: checkpoint_test_set(&info, &checkpoint)?,
        model,
        checkpoint: checkpoint.display().to_string(),
        epoch: info.epoch,
        trained_with: info.settings.adversarial,
        train: None,
    };
    let command = vec!["landscape example".to_owned()];

    let hessian = SharpnessConfig {
        estimator: Estimator::Hessian,
        objective: ObjectiveKind::Clean,
        ..SharpnessConfig::default()
    };
    let measured =
        sharpness::measure(&subject, &[], &hessian, &device, &mut advland_train::Silent)?;
    if let SharpnessEstimate::Hessian(h) = &measured.report.estimate {
        for (i, e) in h.eigenvalues.iter().enumerate() {
            println!("lambda_{} = {:+.6e}", i + 1, e.value);
        }
    }
    let report = measured.into_report(
        &hessian,
        hessian.seed,
        command.clone(),
        "cpu (burn flex)",
        0.0,
    );
    write_json(&out.join("sharpness-hessian-clean.json"), &report)?;

    let line = SurfaceConfig::default();
    let directions = make_directions(&subject, &[], &line, &device)?;
    // Surfaces name the checkpoint directory itself and the hash of its weights.
    let dir = checkpoint_dir(&checkpoint)?;
    subject.checkpoint = dir.display().to_string();
    let hash = file_sha256(&dir.join(WEIGHTS_FILE))?;
    let measured = surface::compute(&subject, &directions, hash, &line, &device)?;
    println!("1-D surface: loss {:?}", measured.report.values[0].loss);
    let report = measured.into_report(&line, line.seed, command, "cpu (burn flex)", 0.0);
    write_json(&out.join("surface-random-1d.json"), &report)?;
    Ok(())
}
