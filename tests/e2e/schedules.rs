//! Learning-rate and ε schedules through `advland train`: what train.json records per epoch,
//! and bad schedule flags refused naming the flag.

use advland_schema::{EpsRange, Report, TrainLog, read_json};

use crate::{advland, train_mlp, user_error};

/// robust_overfitting's cycle (`np.interp(t, [0, 2*2//5, 2], [0, 0.1, 0])` at t = epoch +
/// (i+1)/4) and a linear ε ramp over both epochs (ε·t/2 at t = epoch + i/4), 4 minibatches an
/// epoch: the first and last step's rates and the epoch's radii.
#[test]
fn cyclic_lr_and_eps_warmup_are_recorded_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(
        d,
        "8",
        "2",
        ["200", "50"],
        &[
            "--batch-size",
            "50",
            "--lr",
            "0.1",
            "--schedule",
            "cyclic",
            "--norm",
            "linf",
            "--eps",
            "0.1",
            "--steps",
            "2",
            "--eps-schedule",
            "linear",
            "--eps-warmup-epochs",
            "2",
            "--eval-subset",
            "50",
        ],
    );
    let log: Report<TrainLog> = read_json(&d.join("run/train.json")).unwrap();
    let want = [
        (
            0.0875,
            0.05,
            EpsRange {
                min: 0.0,
                max: 0.0375,
            },
        ),
        (
            0.0375,
            0.0,
            EpsRange {
                min: 0.05,
                max: 0.0875,
            },
        ),
    ];
    assert_eq!(log.data.epochs.len(), 2);
    for (e, (lr, lr_last, eps)) in log.data.epochs.iter().zip(want) {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(e.lr, lr), "epoch {}: lr {}", e.epoch, e.lr);
        assert!(
            close(e.lr_last.unwrap(), lr_last),
            "epoch {}: {:?}",
            e.epoch,
            e.lr_last
        );
        let got = e.eps.unwrap();
        assert!(
            close(got.min, eps.min) && close(got.max, eps.max),
            "epoch {}: {got:?}",
            e.epoch
        );
    }
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("run/config.resolved.json")).unwrap())
            .unwrap();
    assert_eq!(config["training"]["schedule"]["kind"], "cyclic");
    assert_eq!(config["training"]["eps_schedule"]["epochs"], 2);
}

#[test]
fn bad_schedule_flags_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let adversarial = ["--norm", "linf", "--eps", "0.1"];
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &["--eps-warmup-epochs", "0"],
            &["--eps-warmup-epochs", "at least 1"],
        ),
        (&["--lr-factor=-1"], &["--lr-factor"]),
        (&["--schedule", "piecewise"], &["--milestones"]),
        (
            &["--warmup-epochs", "3", "--epochs", "3"],
            &["--warmup-epochs", "below"],
        ),
        (
            &["--eps-schedule", "linear", "--eps-warmup-epochs", "2"],
            &["--norm"],
        ),
        (
            &["--eps-schedule", "periodic", "--eps-start", "0.5"],
            &["--eps-start", "[0,"],
        ),
    ];
    for (flags, needles) in cases {
        let mut args = vec!["train", "--out", "run"];
        args.extend(flags);
        if flags.contains(&"--eps-start") {
            args.extend(adversarial);
        }
        user_error(&advland(d, &args), needles);
        assert!(!d.join("run").exists(), "{flags:?} created a run directory");
    }
}
