//! `advland compare`: runs side by side per checkpoint; different data or directions refused.

use advland_schema::{CompareReport, Report, read_json};

use crate::{advland, ok, user_error};

fn train(d: &std::path::Path, out: &str, seed: &str, test: &str) {
    ok(&advland(
        d,
        &[
            "train",
            "-q",
            "--model",
            "mlp",
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--train-subset",
            "200",
            "--test-subset",
            test,
            "--norm",
            "l2",
            "--eps",
            "0.5",
            "--steps",
            "2",
            "--seed",
            seed,
            "--out",
            out,
        ],
    ));
}

#[test]
fn compare_tabulates_runs_and_refuses_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train(d, "a", "1", "60");
    train(d, "b", "2", "60");
    for run in ["a", "b"] {
        let checkpoint = format!("{run}/checkpoints/epoch-0002");
        ok(&advland(
            d,
            &[
                "sharpness",
                "lipschitz",
                "-q",
                "--checkpoint",
                &checkpoint,
                "--subset",
                "20",
                "--steps",
                "2",
                "--radii",
                "1e-2",
                "--directions",
                "1",
                "--out",
                &format!("{run}/lip.json"),
            ],
        ));
    }
    // An evaluation with APGD brings its attacks and the per-example worst case.
    ok(&advland(
        d,
        &[
            "eval",
            "-q",
            "--checkpoint",
            "a/checkpoints/epoch-0002",
            "--attack",
            "pgd:l2:0.5:2",
            "--attack",
            "apgd-ce:l2:0.5:5",
            "--out",
            "a/eval.json",
        ],
    ));
    let stdout = ok(&advland(d, &["compare", "a", "b", "--out", "cmp"]));
    assert!(stdout.contains("| a | 2 |"), "{stdout}");
    let r: Report<CompareReport> = read_json(&d.join("cmp/compare.json")).unwrap();
    assert_eq!(r.data.rows.len(), 4);
    let last = |run: &str| {
        r.data
            .rows
            .iter()
            .find(|row| row.run == run && row.epoch == 2)
            .unwrap()
    };
    for run in ["a", "b"] {
        let values = &last(run).values;
        assert!(values["κ adversarial l2 ε=0.5"] > 0.0, "{values:?}");
        assert!(values.contains_key("κ adversarial-frozen l2 ε=0.5"));
        assert!((0.0..=1.0).contains(&values["test l2 ε=0.5 accuracy"]));
    }
    let a = &last("a").values;
    let (pgd, apgd, worst) = (
        a["eval l2 ε=0.5 accuracy"],
        a["eval apgd-ce:l2:0.5:5 accuracy"],
        a["eval worst-case accuracy"],
    );
    assert!(worst <= pgd && worst <= apgd, "{a:?}");
    assert!(!last("b").values.contains_key("eval worst-case accuracy"));
    let page = fs_err::read_to_string(d.join("cmp/index.html")).unwrap();
    assert!(
        page.contains("eval apgd-ce:l2:0.5:5 accuracy"),
        "no APGD column on the page"
    );
    // Epoch 1 has no sharpness report: the measure is absent, not a placeholder.
    let first = r.data.rows.iter().find(|row| row.epoch == 1).unwrap();
    assert!(!first.values.contains_key("κ adversarial l2 ε=0.5"));
    assert!(d.join("cmp/index.html").exists());

    train(d, "c", "3", "80");
    user_error(
        &advland(d, &["compare", "a", "c", "--out", "cmp2"]),
        &["c: evaluated on other test data"],
    );
    user_error(
        &advland(d, &["compare", "a", "nothing", "--out", "cmp2"]),
        &["nothing: no train.json"],
    );

    // Surfaces on different directions make runs incomparable.
    for (run, seed) in [("a", "0"), ("b", "1")] {
        ok(&advland(
            d,
            &[
                "surface",
                "-q",
                "--checkpoint",
                &format!("{run}/checkpoints/epoch-0002"),
                "--x",
                "-1:1:3",
                "--subset",
                "20",
                "--seed",
                seed,
                "--out",
                &format!("{run}/surface.json"),
            ],
        ));
    }
    user_error(
        &advland(d, &["compare", "a", "b", "--out", "cmp3"]),
        &["surface directions", "--load-directions"],
    );
}

#[test]
fn experiment_files_run_their_steps_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs_err::create_dir(d.join("exp")).unwrap();
    fs_err::write(
        d.join("exp/experiment.toml"),
        r#"
name = "tiny"
question = "Does the runner run?"
[vars]
reports = "reports"
extra = ""
[[step]]
args = ["linear", "--subset", "100", "--steps", "20", "--out", "{reports}/linear.json", "{extra}"]
[[step]]
args = ["train", "--model", "mlp", "--hidden", "8", "--epochs", "1", "--train-subset", "100",
        "--test-subset", "50", "--out", "runs/tiny"]
[[step]]
args = ["report", "{reports}", "--out", "site"]
"#,
    )
    .unwrap();
    let run = || advland(d, &["experiment", "-q", "exp/experiment.toml"]);
    ok(&run());
    assert!(d.join("exp/reports/linear.json").exists());
    assert!(d.join("exp/site/index.html").exists());
    let before = fs_err::metadata(d.join("exp/reports/linear.json"))
        .unwrap()
        .modified()
        .unwrap();
    let weights = d.join("exp/runs/tiny/checkpoints/epoch-0001/model.safetensors");
    let trained = fs_err::read(&weights).unwrap();
    let (_, stderr) = crate::text(&run());
    assert!(stderr.contains("skip (output exists)"), "{stderr}");
    // A finished training step is resumed, which returns at once and changes nothing.
    assert!(stderr.contains("resume: advland train"), "{stderr}");
    assert_eq!(fs_err::read(&weights).unwrap(), trained);
    let after = fs_err::metadata(d.join("exp/reports/linear.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);

    // A training step killed before its first checkpoint leaves its resolved settings and lock
    // file, nothing to resume from: the step starts again.
    let run_dir = d.join("exp/runs/tiny");
    fs_err::remove_dir_all(run_dir.join("checkpoints")).unwrap();
    fs_err::remove_file(run_dir.join("train.json")).unwrap();
    assert!(run_dir.join("config.resolved.json").exists());
    let restarted = run();
    ok(&restarted);
    let (_, stderr) = crate::text(&restarted);
    assert!(
        stderr.contains("restart (no epoch had finished): advland train"),
        "{stderr}"
    );
    assert_eq!(fs_err::read(&weights).unwrap(), trained);

    // --only: the steps whose command line matches, no others.
    let only = advland(
        d,
        &[
            "experiment",
            "exp/experiment.toml",
            "--set",
            "reports=only",
            "--only",
            "^linear ",
        ],
    );
    ok(&only);
    let (_, stderr) = crate::text(&only);
    assert!(stderr.contains("[1/3] advland linear"), "{stderr}");
    assert!(!stderr.contains("advland train"), "{stderr}");
    assert!(!stderr.contains("advland report"), "{stderr}");
    assert!(d.join("exp/only/linear.json").exists());
    user_error(
        &advland(
            d,
            &["experiment", "exp/experiment.toml", "--only", "(train"],
        ),
        &["--only", "(train"],
    );
    user_error(
        &advland(
            d,
            &["experiment", "exp/experiment.toml", "--only", "^eval "],
        ),
        &["--only `^eval `", "matches none of the 3 steps"],
    );

    // Variables: another output root and extra flags, the defaults untouched.
    ok(&advland(
        d,
        &[
            "experiment",
            "-q",
            "exp/experiment.toml",
            "--set",
            "reports=big",
            "--set",
            "extra=--eps-linf 0.02 --seed 3",
        ],
    ));
    let big: advland_schema::Report<serde_json::Value> =
        advland_schema::read_json(&d.join("exp/big/linear.json")).unwrap();
    let command = big.meta.command.join(" ");
    assert!(
        command.ends_with("--out big/linear.json --eps-linf 0.02 --seed 3"),
        "{command}"
    );
    assert_eq!(
        before,
        fs_err::metadata(d.join("exp/reports/linear.json"))
            .unwrap()
            .modified()
            .unwrap()
    );
    user_error(
        &advland(
            d,
            &["experiment", "exp/experiment.toml", "--set", "report=x"],
        ),
        &["--set report", "has no variable `report`", "reports"],
    );

    fs_err::write(
        d.join("exp/bad.toml"),
        "name = \"bad\"\nquestion = \"?\"\n[[step]]\nargs = [\"linear\", \"--no-such-flag\"]\n",
    )
    .unwrap();
    user_error(
        &advland(d, &["experiment", "exp/bad.toml"]),
        &["bad.toml: step 1", "--no-such-flag"],
    );
    fs_err::write(
        d.join("exp/typo.toml"),
        "name = \"t\"\nquestion = \"?\"\nsteps = []\n",
    )
    .unwrap();
    user_error(
        &advland(d, &["experiment", "exp/typo.toml"]),
        &["typo.toml", "steps"],
    );
}
