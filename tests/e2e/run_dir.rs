//! Run directories of `advland train`: one run per directory, one writer at a time, exact
//! resume after a kill, no debris from a failed run.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use advland_schema::{EpochRecord, EvalReport, EvalResult, Report, TrainLog, read_json};
use serde_json::Value;

use crate::{advland, ok, snapshot, text, user_error};

/// A small MLP, 1 epoch per `epochs`, quick enough for the directory rules.
fn quick(out: &str, epochs: &str) -> Vec<String> {
    [
        "train",
        "-q",
        "--model",
        "mlp",
        "--hidden",
        "8",
        "--train-subset",
        "200",
        "--test-subset",
        "50",
        "--epochs",
        epochs,
        "--out",
        out,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn run(dir: &Path, args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    advland(dir, &args)
}

/// L∞ PGD-AT of the CNN on 400 examples for 3 epochs (about a second each), a checkpoint after
/// every epoch. The PGD steps are shorter than ε, so the random starts, which follow the
/// global step counter, survive into the attacks.
fn slow(out: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "train",
        "-q",
        "--model",
        "cnn",
        "--train-subset",
        "400",
        "--test-subset",
        "50",
        "--batch-size",
        "50",
        "--epochs",
        "3",
        "--lr",
        "0.05",
        "--norm",
        "linf",
        "--eps",
        "0.1",
        "--steps",
        "3",
        "--step-size",
        "0.02",
        "--eval-subset",
        "50",
        "--eval-attack",
        "linf:0.1:2",
        "--checkpoint-every",
        "1",
        "--out",
        out,
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn spawn(dir: &Path, args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_advland"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the advland binary starts")
}

/// Polls until `ready` holds; fails if `child` exits first.
fn wait_for(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            panic!("advland exited ({status}) before {what}: {stderr}");
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn checkpoints(run: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The log's epochs, checkpoints and totals, wall-clock times removed.
fn log_without_times(run: &Path) -> Value {
    let log: Report<TrainLog> = read_json(&run.join("train.json")).unwrap();
    let mut data = serde_json::to_value(&log.data).unwrap();
    for epoch in data["epochs"].as_array_mut().unwrap() {
        epoch.as_object_mut().unwrap().remove("duration_s").unwrap();
    }
    serde_json::json!({ "data": data, "cost": log.meta.cost })
}

#[test]
fn a_non_empty_directory_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&run(d, &quick("run", "1")));
    fs_err::write(d.join("run/notes.txt"), b"mine").unwrap();
    let before = snapshot(d);
    let out = run(d, &quick("run", "2"));
    user_error(&out, &["run", "not empty", "--resume", "--overwrite"]);
    assert!(
        snapshot(d) == before,
        "a refused train changed the directory"
    );

    fs_err::create_dir(d.join("other")).unwrap();
    fs_err::write(d.join("other/data.csv"), b"1,2\n").unwrap();
    let before = snapshot(d);
    user_error(
        &run(d, &quick("other", "1")),
        &["other", "data.csv", "not empty"],
    );
    assert!(snapshot(d) == before);
}

#[test]
fn overwrite_replaces_a_run_but_never_deletes_another_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&run(d, &quick("run", "2")));
    fs_err::write(d.join("run/notes.txt"), b"of the old run").unwrap();
    let mut args = quick("run", "1");
    args.push("--overwrite".into());
    ok(&run(d, &args));
    assert_eq!(checkpoints(&d.join("run")), ["epoch-0001"]);
    assert!(!d.join("run/notes.txt").exists());
    let log: Report<TrainLog> = read_json(&d.join("run/train.json")).unwrap();
    assert_eq!(log.data.epochs.len(), 1);
    let eval = ok(&advland(d, &["eval", "--checkpoint", "run", "-q"]));
    assert!(eval.contains("\"epoch\": 1"), "{eval}");

    fs_err::create_dir(d.join("home")).unwrap();
    fs_err::write(d.join("home/thesis.tex"), b"years of work").unwrap();
    fs_err::create_dir(d.join("home/checkpoints")).unwrap();
    let before = snapshot(d);
    let mut args = quick("home", "1");
    args.push("--overwrite".into());
    user_error(
        &run(d, &args),
        &[
            "home",
            "thesis.tex",
            "does not look like an advland run directory",
        ],
    );
    assert!(
        snapshot(d) == before,
        "--overwrite touched a foreign directory"
    );

    let mut both = quick("run", "1");
    both.extend(["--overwrite".into(), "--resume".into()]);
    user_error(&run(d, &both), &["--resume", "--overwrite"]);
}

#[test]
fn a_second_train_into_a_directory_in_use_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut first = spawn(d, &slow("run", &[]));
    let lock = d.join("run/advland.lock");
    let pid = first.id().to_string();
    wait_for(&mut first, "the lock holds a pid", || {
        fs_err::read_to_string(&lock).is_ok_and(|t| t.trim() == pid)
    });
    for extra in [&[][..], &["--overwrite"], &["--resume"]] {
        let mut args = quick("run", "1");
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        user_error(
            &run(d, &args),
            &["run", "in use", "advland.lock", &format!("pid {pid}")],
        );
    }
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run did not survive the second"
    );
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn a_failed_train_leaves_no_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut args = quick("run", "1");
    args.extend(["--lr".into(), "1e30".into()]);
    user_error(&run(d, &args), &["run", "not finite"]);
    assert!(!d.join("run").exists(), "the failed run left its directory");

    fs_err::create_dir(d.join("empty")).unwrap();
    let mut args = quick("empty", "1");
    args.extend(["--lr".into(), "1e30".into()]);
    user_error(&run(d, &args), &["empty", "not finite"]);
    assert!(
        d.join("empty").is_dir(),
        "a directory that existed was removed"
    );
    assert_eq!(fs_err::read_dir(d.join("empty")).unwrap().count(), 0);
}

#[test]
fn resume_refuses_what_it_cannot_continue() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut resume = quick("missing", "1");
    resume.push("--resume".into());
    user_error(&run(d, &resume), &["missing", "does not exist"]);

    // A run killed before its first checkpoint left only its settings.
    fs_err::create_dir(d.join("early")).unwrap();
    fs_err::write(d.join("early/config.resolved.json"), b"{}").unwrap();
    let before = snapshot(d);
    user_error(
        &advland(d, &["train", "--out", "early", "--resume"]),
        &[
            "early",
            "no finished checkpoint",
            "nothing to resume",
            "--overwrite",
        ],
    );
    assert!(snapshot(d) == before);

    // A checkpoint saved without the training state (as before resumable checkpoints) still
    // evaluates, but cannot be resumed.
    ok(&run(d, &quick("old", "2")));
    fs_err::remove_dir_all(d.join("old/checkpoints/epoch-0002")).unwrap();
    let info = d.join("old/checkpoints/epoch-0001/checkpoint.json");
    let mut json: Value = read_json(&info).unwrap();
    json.as_object_mut().unwrap().remove("training").unwrap();
    fs_err::write(&info, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    fs_err::remove_file(d.join("old/checkpoints/epoch-0001/optimizer.safetensors")).unwrap();
    ok(&advland(d, &["eval", "--checkpoint", "old", "-q"]));
    user_error(
        &advland(d, &["train", "--out", "old", "--resume"]),
        &[
            "epoch-0001",
            "cannot be resumed exactly",
            "no training state",
        ],
    );
}

/// Trains `args` uninterrupted into `a`; into `b`, kills the same run once its first
/// checkpoint exists (mid-epoch 2) and resumes it; both must end identically.
fn check_kill_and_resume_matches_uninterrupted(extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&run(d, &slow("a", extra)));

    let mut child = spawn(d, &slow("b", extra));
    let first = d.join("b/checkpoints/epoch-0001");
    wait_for(&mut child, "the first checkpoint", || first.exists());
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        checkpoints(&d.join("b")),
        ["epoch-0001"],
        "the run was not killed during epoch 2"
    );

    // Other settings are refused, naming the field, and change nothing.
    let mut longer = slow("b", extra);
    let epochs = longer.iter().position(|a| a == "--epochs").unwrap();
    longer[epochs + 1] = "4".into();
    longer.push("--resume".into());
    let before = snapshot(&d.join("b"));
    let stderr = user_error(&run(d, &longer), &["b", "training.epochs: 3 → 4"]);
    assert_eq!(stderr.matches("resuming b").count(), 1, "{stderr}");
    assert!(snapshot(&d.join("b")) == before);

    let resumed = advland(d, &["train", "--out", "b", "--resume"]);
    let (_, stderr) = text(&resumed);
    ok(&resumed);
    assert!(stderr.contains("resuming b after epoch 1 of 3"), "{stderr}");
    for file in ["model.safetensors", "optimizer.safetensors"] {
        let bytes = |run: &str| fs_err::read(d.join(run).join("checkpoints/epoch-0003").join(file));
        assert!(
            bytes("a").unwrap() == bytes("b").unwrap(),
            "{file} of the resumed run differs"
        );
    }
    assert_eq!(
        log_without_times(&d.join("b")),
        log_without_times(&d.join("a"))
    );
    assert_eq!(checkpoints(&d.join("b")), checkpoints(&d.join("a")));

    // Resuming a finished run (with its own settings given again) does nothing and succeeds.
    let mut again = slow("b", extra);
    again.push("--resume".into());
    let before = snapshot(&d.join("b"));
    let out = run(d, &again);
    let (_, stderr) = text(&out);
    ok(&out);
    assert!(
        stderr.contains("already complete (epoch 3 of 3)"),
        "{stderr}"
    );
    assert!(snapshot(&d.join("b")) == before);
}

#[test]
fn sgd_with_momentum_killed_mid_epoch_resumes_to_the_uninterrupted_run() {
    check_kill_and_resume_matches_uninterrupted(&["--momentum", "0.9"]);
}

#[test]
fn entropy_sgd_killed_mid_epoch_resumes_to_the_uninterrupted_run() {
    // 8 adversarial gradients an epoch, chains of 3: two outer steps and a chain the epoch's
    // end cuts short.
    check_kill_and_resume_matches_uninterrupted(&[
        "--optimizer",
        "entropy-sgd",
        "--inner-steps",
        "3",
    ]);
}

/// A per-minibatch learning rate and an ε warm-up across the kill: both follow the epoch and
/// the minibatch, so the resumed epoch 2 gets the uninterrupted run's rates and radii.
#[test]
fn cyclic_lr_and_eps_warmup_killed_mid_epoch_resume_to_the_uninterrupted_run() {
    check_kill_and_resume_matches_uninterrupted(&crate::schedules::CYCLIC_AND_EPS_WARMUP);
}

#[test]
fn trades_with_awp_after_a_warm_up_killed_mid_epoch_resumes_to_the_uninterrupted_run() {
    // AWP starts in epoch 2, so the resumed part crosses the warm-up's end.
    check_kill_and_resume_matches_uninterrupted(&[
        "--trades-beta",
        "6",
        "--awp-gamma",
        "0.005",
        "--awp-warmup",
        "1",
    ]);
}

/// The epoch the log ranks first by `score`, the earliest of equals (robust_overfitting keeps
/// `model_best.pth` on an improvement only).
fn earliest_best(log: &TrainLog, score: impl Fn(&EpochRecord) -> f64) -> usize {
    log.epochs
        .iter()
        .rev()
        .max_by(|a, b| score(a).total_cmp(&score(b)))
        .unwrap()
        .epoch
}

/// `eval --checkpoint run/best` on `test_subset` test images in `d`.
fn eval_best(d: &Path, test_subset: &str) -> Report<EvalReport> {
    let out = ok(&advland(
        d,
        &[
            "eval",
            "-q",
            "--checkpoint",
            "run/best",
            "--test-subset",
            test_subset,
        ],
    ));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn run_slash_best_evaluates_the_epoch_the_log_ranks_first_under_the_training_threat() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::train_mlp(d, "8", "4", ["300", "100"], &crate::LINF_AT);
    let log: Report<TrainLog> = read_json(&d.join("run/train.json")).unwrap();
    let under_linf = |e: &EpochRecord| {
        let r = e.test.robust.iter().find(|r| {
            r.attack.norm == advland_schema::Norm::Linf && (r.attack.eps - 0.1).abs() < 1e-12
        });
        r.expect("the run evaluates its own threat")
            .metrics
            .accuracy
    };
    let r = eval_best(d, "100");
    assert_eq!(r.data.epoch, earliest_best(&log.data, under_linf));
    assert_eq!(r.data.model_path, "run/best");

    // A run evaluated only under another threat than it trained at has no best by that rule.
    let other = tempfile::tempdir().unwrap();
    let mut args = quick("run", "1");
    args.extend(
        [
            "--norm",
            "l2",
            "--eps",
            "0.5",
            "--steps",
            "1",
            "--eval-attack",
            "linf:0.1:1",
        ]
        .map(str::to_owned),
    );
    ok(&run(other.path(), &args));
    user_error(
        &advland(other.path(), &["eval", "--checkpoint", "run/best"]),
        &["train.json", "training threat (l2 ε=0.5)", "[linf ε=0.1]"],
    );
}

/// `--val-subset N` holds N training examples out, evaluates them after every epoch under the
/// test's attacks, and RUN/best ranks the epochs by them instead of by the test split.
#[test]
fn a_validation_split_is_evaluated_every_epoch_and_ranks_run_slash_best() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let extra: Vec<&str> = crate::LINF_AT
        .iter()
        .copied()
        .chain(["--val-subset", "150"])
        .collect();
    let summary = crate::train_mlp(d, "8", "3", ["300", "100"], &extra);
    assert!(
        summary.contains("validation robust accuracy (linf eps=0.1"),
        "{summary}"
    );
    let used = &read_json::<Report<TrainLog>>(&d.join("run/train.json"))
        .unwrap()
        .meta
        .data;
    assert_eq!(
        (used.examples, used.total, used.selection.as_str()),
        (
            300,
            8000,
            "evenly-spaced among those the 150 held out for validation leave"
        )
    );
    let config: Value = read_json(&d.join("run/config.resolved.json")).unwrap();
    assert_eq!(config["data"]["validation_subset"], 150);
    let log_path = d.join("run/train.json");
    let log: Report<TrainLog> = read_json(&log_path).unwrap();
    let linf = |r: &EvalResult| r.robust[0].metrics.accuracy;
    for e in &log.data.epochs {
        let v = e.validation.as_ref().expect("every epoch is validated");
        // All of it, where the test split's per-epoch evaluation takes --eval-subset's 50.
        assert_eq!((v.clean.examples, e.test.clean.examples), (150, 50));
        assert_eq!(v.robust[0].attack.threat(), "linf ε=0.1");
    }
    let best_epoch = || {
        let r = eval_best(d, "20");
        // 20 of the bundled 2,000 test images, as the report says.
        let data = &r.meta.data;
        assert_eq!(
            (data.examples, data.total, data.selection.as_str()),
            (20, 2000, "evenly-spaced")
        );
        r.data.epoch
    };
    assert_eq!(
        best_epoch(),
        earliest_best(&log.data, |e| linf(e.validation.as_ref().unwrap()))
    );

    ok(&advland(d, &["compare", "run", "--out", "cmp"]));
    let cmp: Report<advland_schema::CompareReport> =
        read_json(&d.join("cmp/compare.json")).unwrap();
    for (row, e) in cmp.data.rows.iter().zip(&log.data.epochs) {
        let v = e.validation.as_ref().unwrap();
        assert_eq!(row.values["validation linf ε=0.1 accuracy"], linf(v));
        assert_eq!(row.values["validation clean accuracy"], v.clean.accuracy);
        assert_eq!(row.values["test linf ε=0.1 accuracy"], linf(&e.test));
    }

    ok(&advland(d, &["report", "run", "--out", "site"]));
    let page = fs_err::read_to_string(d.join("site/index.html")).unwrap();
    assert!(
        page.contains("<th>validation acc, L∞ ε=0.1"),
        "no validation column"
    );
    let figure = fs_err::read_to_string(d.join("site/figures/run-train--training.svg")).unwrap();
    assert!(figure.contains("validation, clean"), "no validation curve");

    // The log decides: an epoch the test split does not rank first, made the validation's best.
    let by_test = earliest_best(&log.data, |e| linf(&e.test));
    let chosen = if by_test == 1 { 2 } else { 1 };
    let mut raw: Value = read_json(&log_path).unwrap();
    for e in raw["data"]["epochs"].as_array_mut().unwrap() {
        let acc = if e["epoch"] == chosen { 1.0 } else { 0.0 };
        e["validation"]["robust"][0]["metrics"]["accuracy"] = acc.into();
    }
    fs_err::write(&log_path, serde_json::to_string(&raw).unwrap()).unwrap();
    assert_eq!(best_epoch(), chosen);
}

/// `--train-subset all` trains on everything a validation hold-out leaves, though the training
/// file sets a subset; `eval --test-subset all` measures the whole test split, though the run
/// kept a subset of it.
#[test]
fn subset_all_undoes_the_files_and_the_runs_subsets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs_err::write(
        d.join("train.toml"),
        "[data]\ntrain_subset = 300\ntest_subset = 100\n[model]\nkind = \"mlp\"\nhidden = [4]\n\
         [training]\nepochs = 1\n",
    )
    .unwrap();
    let train = ["train", "-q", "--config", "train.toml", "--out", "run"];
    let all: Vec<&str> = train
        .iter()
        .copied()
        .chain(["--val-subset", "7900", "--train-subset", "all"])
        .collect();
    ok(&advland(d, &all));
    let log: Report<TrainLog> = read_json(&d.join("run/train.json")).unwrap();
    let used = &log.meta.data;
    assert_eq!(
        (used.examples, used.total, used.selection.as_str()),
        (100, 8000, "all but the 7900 held out for validation")
    );
    let config: Value = read_json(&d.join("run/config.resolved.json")).unwrap();
    assert_eq!(config["data"]["train_subset"], Value::Null);
    assert_eq!(log.data.epochs[0].test.clean.examples, 100);

    let eval = |subset: &str| {
        let out = ok(&advland(
            d,
            &["eval", "-q", "--checkpoint", "run", "--test-subset", subset],
        ));
        serde_json::from_str::<Report<EvalReport>>(&out).unwrap()
    };
    let whole = eval("all");
    assert_eq!(
        (whole.meta.data.examples, whole.meta.data.total),
        (2000, 2000)
    );
    assert_eq!(whole.data.result.clean.examples, 2000);
    assert_eq!(eval("40").data.result.clean.examples, 40);
    user_error(
        &advland(d, &["eval", "--checkpoint", "run", "--test-subset", "none"]),
        &["--test-subset", "(or `all`)"],
    );
}
