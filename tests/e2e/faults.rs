//! Fault injection: special files as outputs, concurrent writers, data of another shape,
//! corrupt shards and settings that used to be changed silently. Each case exits with 1 and
//! a message naming the file or flag and the rule, and leaves every file as it was.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use advland_schema::{EvalReport, Report, SurfaceReport, read_json};

use crate::{advland, ok, snapshot, text, train_mlp, user_error};

const C1: &str = "run/checkpoints/epoch-0001";

/// A 1-epoch MLP on 100 training and 50 test examples in `d/run`.
fn trained(d: &Path) {
    train_mlp(d, "8", "1", ["100", "50"], &[]);
}

fn eval_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["eval", "-q", "--checkpoint", C1, "--test-subset", "20"];
    args.extend(extra);
    args.extend(["--out", out]);
    args
}

#[cfg(unix)]
#[test]
fn outputs_write_through_symlinks_and_refuse_fifos_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    fs_err::write(d.join("target.json"), b"old").unwrap();
    std::os::unix::fs::symlink("target.json", d.join("link.json")).unwrap();
    ok(&advland(d, &eval_args("link.json", &[])));
    let link = fs_err::symlink_metadata(d.join("link.json")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    let r: Report<EvalReport> = read_json(&d.join("target.json")).unwrap();
    assert_eq!(r.kind, "eval");

    let status = Command::new("mkfifo").arg(d.join("pipe")).status();
    assert!(status.is_ok_and(|s| s.success()), "mkfifo is needed");
    fs_err::create_dir(d.join("dir.json")).unwrap();
    fs_err::write(d.join("file"), b"keep").unwrap();
    let before = snapshot(d);
    for (out, rule) in [
        ("pipe", "a FIFO"),
        ("dir.json", "a directory"),
        ("file/r.json", "is a file, not a directory"),
    ] {
        user_error(&advland(d, &eval_args(out, &[])), &[out, rule]);
    }
    let out = advland(
        d,
        &["sharpness", "hessian", "--checkpoint", C1, "--out", "pipe"],
    );
    user_error(&out, &["pipe", "a FIFO"]);
    let out = advland(d, &["train", "--epochs", "1", "--out", "file/run"]);
    user_error(&out, &["file/run", "its parent file is a file"]);
    assert!(!d.join("file/run").exists());
    assert_eq!(snapshot(d), before);
}

#[test]
fn surface_on_a_directory_fails_before_any_point() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    fs_err::create_dir(d.join("s.json")).unwrap();
    let before = snapshot(d);
    let start = Instant::now();
    let out = advland(
        d,
        &[
            "surface",
            "--checkpoint",
            C1,
            "--x",
            "-1:1:41",
            "--subset",
            "50",
            "--out",
            "s.json",
        ],
    );
    user_error(&out, &["s.json", "a directory"]);
    assert_eq!(snapshot(d), before, "a partial file or report was left");
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn two_surfaces_on_one_out_do_not_race() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let args = [
        "surface",
        "-q",
        "--checkpoint",
        C1,
        "--objective",
        "adversarial",
        "--norm",
        "linf",
        "--eps",
        "0.1",
        "--steps",
        "10",
        "--x",
        "-1:1:30",
        "--subset",
        "50",
        "--out",
        "s.json",
    ];
    let mut first = Command::new(env!("CARGO_BIN_EXE_advland"))
        .args(args)
        .current_dir(d)
        .spawn()
        .unwrap();
    let lock = d.join("s.json.lock");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !fs_err::read_to_string(&lock).is_ok_and(|t| !t.is_empty()) {
        assert!(
            Instant::now() < deadline,
            "the first run never took its lock"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let second = advland(d, &args);
    let pid = first.id().to_string();
    if first.try_wait().unwrap().is_none() {
        user_error(&second, &["s.json", "in use", &pid]);
    }
    assert!(first.wait().unwrap().success());
    let r: Report<SurfaceReport> = read_json(&d.join("s.json")).unwrap();
    assert!(r.data.is_complete());
    assert!(!lock.exists() && !d.join("s.json.partial").exists());
}

#[test]
fn data_of_another_shape_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let cifar = d.join("cifar");
    fs_err::create_dir(&cifar).unwrap();
    let record: Vec<u8> = std::iter::once(3u8).chain([128u8; 3072]).collect();
    for name in [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ] {
        // The checkpoint's run evaluates on 50 test examples.
        fs_err::write(cifar.join(name), record.repeat(60)).unwrap();
    }
    let out = advland(
        d,
        &[
            "eval",
            "--checkpoint",
            C1,
            "--dataset",
            "cifar10",
            "--data-dir",
            "cifar",
        ],
    );
    user_error(&out, &[C1, "1×28×28", "3×32×32"]);

    // Train and test images of different sizes.
    let mnist = d.join("mnist");
    fs_err::create_dir(&mnist).unwrap();
    let idx = |name: &str, side: u8| {
        let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, side, 0, 0, 0, side];
        images.extend(vec![7u8; 2 * usize::from(side) * usize::from(side)]);
        fs_err::write(mnist.join(format!("{name}-images-idx3-ubyte")), images).unwrap();
        fs_err::write(
            mnist.join(format!("{name}-labels-idx1-ubyte")),
            [0, 0, 8, 1, 0, 0, 0, 2, 1, 2],
        )
        .unwrap();
    };
    idx("train", 28);
    idx("t10k", 20);
    let out = advland(
        d,
        &[
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            "mnist",
            "--out",
            "mixed",
        ],
    );
    user_error(&out, &["1×28×28", "1×20×20", "both splits"]);
    assert!(!d.join("mixed").exists());
}

/// Three shards of a 2-objective surface (x 4 points, y 3 points) into `d/shard{i}.json`, with
/// `extra` flags on shard 2.
fn shards(d: &Path, extra: &[&str]) {
    for i in 0..3 {
        let shard = format!("{i}/3");
        let out = format!("shard{i}.json");
        let mut args = vec![
            "surface",
            "-q",
            "--checkpoint",
            C1,
            "--objective",
            "clean,adversarial",
            "--norm",
            "l2",
            "--eps",
            "0.5",
            "--steps",
            "2",
            "--x",
            "-1:1:4",
            "--y",
            "-1:1:3",
            "--subset",
            "40",
            "--shard",
            &shard,
            "--out",
            &out,
        ];
        if i == 2 {
            args.extend(extra);
        }
        ok(&advland(d, &args));
    }
}

#[test]
fn merge_refuses_other_batch_sizes_and_corrupt_shards() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    shards(d, &["--batch-size", "7"]);
    let merge = [
        "merge",
        "shard0.json",
        "shard1.json",
        "shard2.json",
        "--out",
        "m.json",
    ];
    user_error(&advland(d, &merge), &["shard2.json", "fingerprint"]);
    assert!(!d.join("m.json").exists());

    shards(d, &[]);
    ok(&advland(d, &merge));
    fs_err::remove_file(d.join("m.json")).unwrap();
    let path = d.join("shard1.json");
    let original = fs_err::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["data"]["values"][1]["loss"].as_array_mut().unwrap().pop();
    fs_err::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    user_error(
        &advland(d, &merge),
        &["shard1.json", "not a valid surface shard", "losses for"],
    );
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["schema_version"] = 99.into();
    fs_err::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    user_error(&advland(d, &merge), &["shard1.json", "schema_version 99"]);
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["data"]["values"].as_array_mut().unwrap().pop();
    fs_err::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    user_error(&advland(d, &merge), &["shard1.json", "other objectives"]);
    assert!(!d.join("m.json").exists());
}

#[test]
fn settings_are_refused_not_changed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let cases: [(&[&str], &[&str]); 9] = [
        (
            &[
                "sharpness",
                "hessian",
                "--checkpoint",
                C1,
                "--subset",
                "5000",
            ],
            &["--subset", "5000"],
        ),
        (
            &["surface", "--checkpoint", C1, "--subset", "5000"],
            &["--subset", "5000"],
        ),
        (
            &["eval", "--checkpoint", C1, "--batch-size", "0"],
            &["--batch-size", "at least 1"],
        ),
        (
            &[
                "sharpness",
                "hessian",
                "--checkpoint",
                C1,
                "--batch-size",
                "0",
            ],
            &["--batch-size", "at least 1"],
        ),
        (
            &["surface", "--checkpoint", C1, "--workers", "0"],
            &["--workers", "at least 1"],
        ),
        (
            &[
                "sharpness",
                "hessian",
                "--checkpoint",
                C1,
                "--objective",
                "clean",
                "--method",
                "lanczos",
                "--k",
                "20000",
                "--subset",
                "20",
            ],
            &["k: must be in 1..="],
        ),
        (
            &[
                "sharpness",
                "lipschitz",
                "--checkpoint",
                C1,
                "--radii=-1e-3",
            ],
            &["--radii", "'-1e-3'", "above 0"],
        ),
        (
            &["eval", "--checkpoint", "run/checkpoints/epoch-0009"],
            &["run/checkpoints/epoch-0009: does not exist"],
        ),
        (
            &["report", "notes.txt", "--out", "page"],
            &["notes.txt", "no advland report"],
        ),
    ];
    fs_err::write(d.join("notes.txt"), b"not json").unwrap();
    let before = snapshot(d);
    for (args, needles) in cases {
        user_error(&advland(d, args), needles);
    }
    assert_eq!(snapshot(d), before);

    fs_err::write(d.join("exp.toml"), "schema_version = 99\n").unwrap();
    let out = advland(d, &["train", "--config", "exp.toml", "--out", "r2"]);
    user_error(&out, &["exp.toml", "schema_version", "99"]);
}

#[test]
fn eval_step_size_reaches_every_attack() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let args = eval_args(
        "e.json",
        &[
            "--attack",
            "linf:0.1:3",
            "--attack",
            "l2:1",
            "--step-size",
            "0.01",
        ],
    );
    ok(&advland(d, &args));
    let r: Report<EvalReport> = read_json(&d.join("e.json")).unwrap();
    let sizes: Vec<f64> = r
        .data
        .result
        .robust
        .iter()
        .map(|a| a.attack.step_size)
        .collect();
    assert_eq!(sizes, [0.01, 0.01]);
}

#[test]
fn io_errors_state_their_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = advland(
        dir.path(),
        &["train", "--config", "missing.toml", "--out", "run"],
    );
    let stderr = user_error(&out, &["missing.toml"]);
    let (_, err) = text(&out);
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}
