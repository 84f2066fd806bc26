//! TRADES and AWP through `advland train`: the settings are recorded in `train.json`, the cost
//! counts the extra passes, AWP's warm-up is plain PGD-AT, bad values name their flag.

use advland_schema::{Report, TrainLog, read_json};

use crate::{LINF_AT, advland, train_mlp, user_error};

fn log(dir: &std::path::Path, run: &str) -> Report<TrainLog> {
    read_json(&dir.join(run).join("train.json")).unwrap()
}

/// 100 examples in batches of 50: two minibatches, PGD-2 at ε = 0.1.
fn train(dir: &std::path::Path, out: &str, extra: &[&str]) {
    let mut args = LINF_AT.to_vec();
    args.extend(["--batch-size", "50"]);
    args.extend(extra);
    train_mlp(dir, "8", "1", ["100", "50"], &args);
    if out != "run" {
        fs_err::rename(dir.join("run"), dir.join(out)).unwrap();
    }
}

#[test]
fn trades_training_records_beta_and_counts_both_forwards() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train(d, "run", &["--trades-beta", "6"]);
    let log = log(d, "run");
    assert_eq!(log.meta.config["objective"]["trades"]["beta"], 6.0);
    assert!(log.meta.config.get("awp").is_none());
    let resolved: serde_json::Value =
        serde_json::from_slice(&fs_err::read(d.join("run/config.resolved.json")).unwrap()).unwrap();
    assert_eq!(resolved["objective"]["trades"]["beta"], 6.0);
    // Per minibatch of 50: the attack's clean forward and 2 KL steps, then f(x) and f(x′).
    let cost = log.data.updates.examples;
    assert_eq!((cost.forward, cost.backward), (2 * 50 * 5, 2 * 50 * 4));
    assert!(log.data.epochs[0].train_objective.loss.is_finite());
}

#[test]
fn awp_training_records_gamma_and_its_warm_up_is_plain_pgd_at() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train(d, "awp", &["--awp-gamma", "0.01"]);
    let awp = log(d, "awp");
    assert_eq!(awp.meta.config["awp"]["gamma"], 0.01);
    assert_eq!(awp.meta.config["awp"]["warmup_epochs"], 0);
    assert!(awp.meta.config.get("objective").is_none());
    // Per minibatch: 2 attack steps, the proxy's pass, the pass at θ + v.
    let cost = awp.data.updates.examples;
    assert_eq!((cost.forward, cost.backward), (2 * 50 * 4, 2 * 50 * 4));

    // One epoch inside a warm-up of one is PGD-AT to the bit.
    train(d, "warm", &["--awp-gamma", "0.01", "--awp-warmup", "1"]);
    train(d, "at", &[]);
    let weights = |run: &str| {
        fs_err::read(d.join(run).join("checkpoints/epoch-0001/model.safetensors")).unwrap()
    };
    assert!(
        weights("warm") == weights("at"),
        "the warm-up epoch is not PGD-AT"
    );
    assert!(weights("awp") != weights("at"), "AWP changed nothing");
}

#[test]
fn bad_trades_and_awp_values_exit_1_naming_the_flag_or_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let at = ["train", "--norm", "linf", "--eps", "0.1", "--out", "run"];
    let with = |extra: &[&str]| {
        let mut args = at.to_vec();
        args.extend(extra);
        advland(d, &args)
    };
    user_error(&with(&["--trades-beta=-1"]), &["--trades-beta", "-1"]);
    user_error(&with(&["--awp-gamma", "inf"]), &["--awp-gamma"]);
    user_error(
        &with(&["--awp-warmup", "2"]),
        &["--awp-warmup", "--awp-gamma"],
    );
    user_error(
        &advland(d, &["train", "--trades-beta", "6", "--out", "run"]),
        &["objective", "--norm"],
    );
    user_error(
        &advland(d, &["train", "--awp-gamma", "0.01", "--out", "run"]),
        &["awp", "--norm"],
    );
    fs_err::write(
        d.join("exp.toml"),
        "objective = { trades = { beta = -2 } }\n[adversarial]\nnorm = \"linf\"\neps = 0.1\n",
    )
    .unwrap();
    user_error(
        &advland(d, &["train", "--config", "exp.toml", "--out", "run"]),
        &["objective.trades.beta", "-2"],
    );
    fs_err::write(d.join("exp.toml"), "[awp]\ngama = 0.01\n").unwrap();
    user_error(
        &advland(d, &["train", "--config", "exp.toml", "--out", "run"]),
        &["exp.toml", "gama"],
    );
    assert!(!d.join("run").exists());

    let (help, _) = crate::text(&advland(d, &["train", "--help"]));
    for flag in ["--trades-beta", "--awp-gamma", "--awp-warmup"] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}
