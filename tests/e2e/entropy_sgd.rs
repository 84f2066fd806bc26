//! EntropySGD through `advland train`: the report carries the gradient cost, so SGD and
//! EntropySGD compare at equal gradient budget; bad settings name their field.

use advland_schema::{Report, TrainLog, UpdateCost, read_json};

use crate::{advland, ok, text, train_mlp, user_error};

fn updates(dir: &std::path::Path, run: &str) -> (Report<TrainLog>, UpdateCost) {
    let log: Report<TrainLog> = read_json(&dir.join(run).join("train.json")).unwrap();
    let total = log.data.updates;
    (log, total)
}

#[test]
fn entropy_sgd_adversarial_training_reports_gradient_cost() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 400 examples in batches of 50: 8 adversarial gradients per epoch. L = 3 makes two outer
    // steps (6 gradients) and a chain of 2 that the epoch's end cuts short.
    let common = [
        "--batch-size",
        "50",
        "--norm",
        "linf",
        "--eps",
        "0.1",
        "--steps",
        "2",
        "--eval-attack",
        "linf:0.1:2",
    ];
    let mut esgd = common.to_vec();
    esgd.extend([
        "--optimizer",
        "entropy-sgd",
        "--inner-steps",
        "3",
        "--lr",
        "1",
    ]);
    let stdout = train_mlp(d, "8", "1", ["400", "100"], &esgd);
    assert!(stdout.contains("outer steps: 2"), "{stdout}");
    let (log, total) = updates(d, "run");
    let epoch = log.data.epochs[0].updates;
    assert_eq!(epoch, total);
    assert_eq!(
        (
            total.outer_steps,
            total.inner_steps,
            total.gradient_evaluations,
            total.discarded_gradient_evaluations
        ),
        (2, 8, 8, 2)
    );
    // Each adversarial gradient: 50 examples × (2 attack steps + the training pass) forward.
    assert_eq!(total.examples.forward, 8 * 50 * 3);
    assert_eq!(log.meta.config["optimizer"]["kind"], "entropy-sgd");
    assert_eq!(log.meta.config["optimizer"]["inner_steps"], 3);
    let raw = fs_err::read_to_string(d.join("run/train.json")).unwrap();
    assert!(raw.contains("\"gradient_evaluations\"") && !raw.contains("null"));

    let mut sgd = common.to_vec();
    sgd.extend(["--out", "sgd"]);
    let mut args = vec![
        "train",
        "-q",
        "--model",
        "mlp",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--train-subset",
        "400",
        "--test-subset",
        "100",
    ];
    args.extend(sgd);
    ok(&advland(d, &args));
    let (_, sgd_total) = updates(d, "sgd");
    assert_eq!(
        (
            sgd_total.outer_steps,
            sgd_total.inner_steps,
            sgd_total.gradient_evaluations
        ),
        (8, 0, 8)
    );
    assert_eq!(sgd_total.examples, total.examples, "equal gradient budget");
}

#[test]
fn gradient_budget_stops_training_mid_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(
        d,
        "8",
        "3",
        ["400", "100"],
        &["--batch-size", "50", "--gradient-budget", "5"],
    );
    let (log, total) = updates(d, "run");
    assert_eq!(log.data.epochs.len(), 1);
    assert_eq!((total.gradient_evaluations, total.outer_steps), (5, 5));
    assert_eq!(log.data.checkpoints.len(), 1, "the last epoch is saved");
}

#[test]
fn bad_entropy_sgd_settings_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = advland(
        d,
        &[
            "train",
            "--optimizer",
            "entropy-sgd",
            "--mean-weight",
            "1.5",
            "--inner-steps",
            "0",
            "--out",
            "run",
        ],
    );
    user_error(&out, &["optimizer.mean_weight", "optimizer.inner_steps"]);
    assert!(!d.join("run").exists());

    let out = advland(d, &["train", "--gamma0", "0.1", "--out", "run"]);
    user_error(&out, &["--gamma0", "--optimizer entropy-sgd"]);

    fs_err::write(
        d.join("exp.toml"),
        "[optimizer]\nkind = \"entropy-sgd\"\nlangevin_lr = 0.1\n",
    )
    .unwrap();
    let out = advland(d, &["train", "--config", "exp.toml", "--out", "run"]);
    user_error(&out, &["exp.toml", "langevin_lr"]);

    // 100 examples in batches of 50 cannot feed a 20-step chain.
    let out = advland(
        d,
        &[
            "train",
            "--model",
            "mlp",
            "--hidden",
            "4",
            "--epochs",
            "1",
            "--train-subset",
            "100",
            "--test-subset",
            "50",
            "--batch-size",
            "50",
            "--optimizer",
            "entropy-sgd",
            "--out",
            "run",
        ],
    );
    user_error(&out, &["optimizer.inner_steps"]);
}

#[test]
fn train_help_documents_entropy_sgd_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = advland(dir.path(), &["train", "--help"]);
    let (stdout, _) = text(&out);
    for flag in [
        "--optimizer",
        "entropy-sgd",
        "--inner-steps",
        "--gamma0",
        "--gamma1",
        "--scoping",
        "--inner-lr",
        "--noise",
        "--noise-convention",
        "--mean-weight",
        "--outer-convention",
        "--gradient-budget",
    ] {
        assert!(stdout.contains(flag), "--help lacks {flag}");
    }
}
