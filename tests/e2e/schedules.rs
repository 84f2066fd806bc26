//! Learning-rate and ε schedules through `advland train`: what train.json records per epoch,
//! and bad schedule flags refused naming the flag.

use advland_schema::{Report, TrainLog, read_json};

use crate::{LINF_AT, advland, train_mlp, user_error};

/// robust_overfitting's one cycle of the learning rate and a linear ε warm-up over 2 epochs.
pub const CYCLIC_AND_EPS_WARMUP: [&str; 6] = [
    "--schedule",
    "cyclic",
    "--eps-schedule",
    "linear",
    "--eps-warmup-epochs",
    "2",
];

/// L∞ PGD-AT at ε = 0.1 ([`LINF_AT`]) with [`CYCLIC_AND_EPS_WARMUP`], 4 minibatches an epoch:
/// the cycle is `np.interp(t, [0, 2*2//5, 2], [0, 0.1, 0])` at t = epoch + (i+1)/4, the ramp
/// ε·t/2 at t = epoch + i/4; train.json holds the first and last step's rates and the radii.
#[test]
fn cyclic_lr_and_eps_warmup_are_recorded_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(
        d,
        "8",
        "2",
        ["200", "50"],
        &["--batch-size", "50", "--lr", "0.1"]
            .iter()
            .chain(&CYCLIC_AND_EPS_WARMUP)
            .chain(&LINF_AT)
            .copied()
            .collect::<Vec<_>>(),
    );
    let log: Report<TrainLog> = read_json(&d.join("run/train.json")).unwrap();
    // (lr, lr_last, smallest ε, largest ε) of each epoch.
    let want = [(0.0875, 0.05, 0.0, 0.0375), (0.0375, 0.0, 0.05, 0.0875)];
    let got: Vec<(f64, f64, f64, f64)> = log
        .data
        .epochs
        .iter()
        .map(|e| {
            let eps = e.eps.expect("an ε range under adversarial training");
            (e.lr, e.lr_last.expect("lr_last"), eps.min, eps.max)
        })
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(
            close(g.0, w.0) && close(g.1, w.1) && close(g.2, w.2) && close(g.3, w.3),
            "{got:?} vs {want:?}"
        );
    }
    let config: serde_json::Value =
        serde_json::from_slice(&fs_err::read(d.join("run/config.resolved.json")).unwrap()).unwrap();
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
