//! `advland surface`, `merge` and `report` on a tiny adversarially trained MLP: the surface at
//! the origin is the evaluated loss, a killed run resumes to the same numbers, merged shards
//! equal a single run, and the report redraws from JSON alone.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use advland_schema::{EvalReport, ObjectiveKind, Report, SurfaceReport, read_json};

use crate::{advland, ok, train_linf_mlp, train_mlp, user_error};

const C1: &str = "run/checkpoints/epoch-0001";
const C2: &str = "run/checkpoints/epoch-0002";

/// Trains the MLP whose first checkpoint [`surface`] measures.
pub fn trained(d: &Path) {
    train_linf_mlp(d, "16");
}

/// A small 2-D surface: 4 × 3 points, clean and adversarial (PGD-2), 60 examples.
pub const SMALL_2D: [&str; 10] = [
    "--objective",
    "clean,adversarial",
    "--x",
    "-1:1:4",
    "--y",
    "-0.5:0.5:3",
    "--subset",
    "60",
    "--steps",
    "2",
];

/// Runs `surface` on the first checkpoint with `extra` flags into `out` and reads the report.
pub fn surface(d: &Path, out: &str, extra: &[&str]) -> Report<SurfaceReport> {
    let mut args = vec!["surface", "-q", "--checkpoint", C1, "--out", out];
    args.extend(extra);
    ok(&advland(d, &args));
    read_json(&d.join(out)).unwrap()
}

fn eval_loss(d: &Path, checkpoint: &str) -> f64 {
    let out = ok(&advland(
        d,
        &[
            "eval",
            "-q",
            "--checkpoint",
            checkpoint,
            "--test-subset",
            "100",
        ],
    ));
    let r: Report<EvalReport> = serde_json::from_str(&out).unwrap();
    r.data.result.clean.loss
}

#[test]
fn surfaces_start_at_the_evaluated_loss_and_reach_other_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let r = surface(
        d,
        "s.json",
        &[
            "--objective",
            "clean,adversarial,adversarial-frozen",
            "--x",
            "-1:1:5",
            "--subset",
            "100",
            "--steps",
            "3",
        ],
    );
    assert!(r.data.is_complete());
    assert_eq!(r.data.points, vec![0, 1, 2, 3, 4]);
    let at = |kind: ObjectiveKind, k: usize| r.data.dense(kind, false).unwrap()[k];
    let loss = eval_loss(d, C1);
    let clean = at(ObjectiveKind::Clean, 2);
    assert!(
        (clean - loss).abs() <= 1e-5 * loss,
        "{clean} vs eval {loss}"
    );
    // At θ₀ the frozen attack is the re-solved one.
    assert_eq!(
        at(ObjectiveKind::Adversarial, 2),
        at(ObjectiveKind::AdversarialFrozen, 2)
    );
    for v in &r.data.values {
        assert_eq!(v.accuracy.len(), 5);
        assert!(v.accuracy.iter().all(|a| (0.0..=1.0).contains(a)));
        assert!(v.loss.iter().all(|l| l.is_finite() && *l > 0.0));
    }
    // Re-solving the attack can only raise the loss above the frozen attack's, up to PGD's
    // own sub-optimality; on average over the line it does.
    let mean = |k: ObjectiveKind| r.data.dense(k, false).unwrap().iter().sum::<f64>();
    assert!(mean(ObjectiveKind::Adversarial) >= mean(ObjectiveKind::AdversarialFrozen));
    assert!(mean(ObjectiveKind::Adversarial) > mean(ObjectiveKind::Clean));

    // The line through two checkpoints reaches the second at a = 1.
    let line = surface(
        d,
        "line.json",
        &[
            "--directions",
            "interpolation",
            "--to",
            C2,
            "--x",
            "0:1:3",
            "--subset",
            "100",
        ],
    );
    let end = line.data.dense(ObjectiveKind::Clean, false).unwrap()[2];
    let loss2 = eval_loss(d, C2);
    assert!((end - loss2).abs() <= 1e-4 * loss2, "{end} vs eval {loss2}");
    assert_eq!(line.data.directions.checkpoints.len(), 2);
}

#[test]
fn saved_directions_are_shared_across_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let common = ["--x", "-1:1:3", "--y", "-1:1:3", "--subset", "50"];
    let mut first = vec!["--save-directions", "dirs.safetensors"];
    first.extend(common);
    let a = surface(d, "a.json", &first);
    let mut args = vec![
        "surface",
        "-q",
        "--checkpoint",
        C2,
        "--load-directions",
        "dirs.safetensors",
        "--out",
        "b.json",
    ];
    args.extend(common);
    ok(&advland(d, &args));
    let b: Report<SurfaceReport> = read_json(&d.join("b.json")).unwrap();
    assert_eq!(a.data.directions, b.data.directions);
    assert_ne!(a.data.checkpoint_hash, b.data.checkpoint_hash);
    assert!(a.data.directions.cosine.unwrap().abs() < 0.2);

    // Directions of another architecture are refused, naming the file.
    fs_err::create_dir(d.join("other")).unwrap();
    train_mlp(&d.join("other"), "8", "1", ["100", "50"], &[]);
    let out = advland(
        d,
        &[
            "surface",
            "--checkpoint",
            "other/run/checkpoints/epoch-0001",
            "--load-directions",
            "dirs.safetensors",
            "--y",
            "-1:1:3",
            "--out",
            "c.json",
        ],
    );
    user_error(&out, &["dirs.safetensors", "other parameters"]);
}

#[test]
fn merged_shards_equal_a_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let common = SMALL_2D;
    let whole = surface(d, "whole.json", &common);
    for i in 0..3 {
        let shard = format!("{i}/3");
        let mut args = vec!["--shard", shard.as_str()];
        args.extend(common);
        let r = surface(d, &format!("shard{i}.json"), &args);
        assert!(!r.data.is_complete());
    }
    ok(&advland(
        d,
        &[
            "merge",
            "shard2.json",
            "shard0.json",
            "shard1.json",
            "--out",
            "merged.json",
        ],
    ));
    let merged: Report<SurfaceReport> = read_json(&d.join("merged.json")).unwrap();
    assert_eq!(merged.data, whole.data);

    let out = advland(
        d,
        &["merge", "shard0.json", "shard1.json", "--out", "m.json"],
    );
    user_error(&out, &["8 of 12 grid points"]);
    let mut other = vec!["--shard", "2/3", "--seed", "5"];
    other.extend(common);
    surface(d, "foreign.json", &other);
    let out = advland(
        d,
        &[
            "merge",
            "shard0.json",
            "shard1.json",
            "foreign.json",
            "--out",
            "m.json",
        ],
    );
    user_error(
        &out,
        &["foreign.json", "not a shard of the same surface", "other"],
    );
    assert!(!d.join("m.json").exists());
}

#[test]
fn a_killed_surface_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let common = [
        "--objective",
        "adversarial",
        "--x",
        "-1:1:12",
        "--y",
        "-1:1:12",
        "--subset",
        "100",
        "--steps",
        "10",
    ];
    let whole = surface(d, "whole.json", &common);

    let mut args = vec!["surface", "-q", "--checkpoint", C1, "--out", "resumed.json"];
    args.extend(common);
    let partial = d.join("resumed.json.partial");
    let mut child = Command::new(env!("CARGO_BIN_EXE_advland"))
        .args(&args)
        .current_dir(d)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let lines = fs_err::read_to_string(&partial)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 6 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress in the partial file");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success() && !d.join("resumed.json").exists(),
        "the run finished before it could be killed; enlarge the grid"
    );
    // A write cut short by the kill must not poison the resume.
    let mut text = fs_err::read_to_string(&partial).unwrap();
    text.push_str("{\"k\":1");
    fs_err::write(&partial, text).unwrap();

    // Other settings refuse to continue it.
    let mut foreign = args.clone();
    foreign.extend(["--seed", "3"]);
    user_error(
        &advland(d, &foreign),
        &["resumed.json.partial", "--restart"],
    );

    ok(&advland(d, &args));
    let resumed: Report<SurfaceReport> = read_json(&d.join("resumed.json")).unwrap();
    assert_eq!(resumed.data, whole.data);
    assert!(resumed.meta.config["resumed_points"].as_u64().unwrap() >= 5);
    assert!(!partial.exists());
}

#[test]
fn surface_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(d, "8", "1", ["100", "50"], &[]);
    for (args, needles) in [
        (vec!["--x", "1:0:3"], vec!["--x", "smaller than max"]),
        (vec!["--directions", "plane"], vec!["--to"]),
        (vec!["--objective", "adversarial"], vec!["--norm and --eps"]),
        (vec!["--shard", "3/3"], vec!["--shard", "0 <= I < N"]),
    ] {
        let mut full = vec!["surface", "--checkpoint", C1, "--out", "s.json"];
        full.extend(args);
        user_error(&advland(d, &full), &needles);
        assert!(!d.join("s.json").exists());
    }
}

#[test]
fn report_redraws_every_figure_from_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    surface(
        d,
        "surfaces/linf.json",
        &[
            "--objective",
            "clean,adversarial",
            "--x",
            "-1:1:3",
            "--y",
            "-1:1:3",
            "--subset",
            "30",
            "--steps",
            "2",
        ],
    );
    let out = ok(&advland(d, &["report", "run", "surfaces", "--out", "site"]));
    assert!(out.contains("figures"), "{out}");
    let index = fs_err::read_to_string(d.join("site/index.html")).unwrap();
    assert!(index.contains("linf.json"));
    let figures: Vec<_> = fs_err::read_dir(d.join("site/figures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        figures
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "png"))
    );
    for f in &figures {
        let name = f.file_name().unwrap().to_string_lossy();
        if name.ends_with(".svg") {
            assert!(index.contains(name.as_ref()), "index lacks {name}");
        }
    }
    let before = fs_err::read(d.join("site/index.html")).unwrap();
    ok(&advland(d, &["report", "run", "surfaces", "--out", "site"]));
    assert_eq!(before, fs_err::read(d.join("site/index.html")).unwrap());

    let bad = d.join("surfaces/bad.json");
    fs_err::write(
        &bad,
        r#"{"schema_version":1,"kind":"surface","meta":{},"data":{}}"#,
    )
    .unwrap();
    user_error(
        &advland(d, &["report", "surfaces", "--out", "site2"]),
        &["bad.json"],
    );
}

#[test]
fn hessian_directions_have_their_eigenvalue_as_curvature() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let a = 1e-5;
    let r = surface(
        d,
        "h.json",
        &[
            "--directions",
            "hessian",
            "--x",
            "-1e-5:1e-5:3",
            "--subset",
            "100",
            "--precision",
            "f64",
        ],
    );
    let lambda = r.data.directions.eigenvalues[0];
    assert!((r.data.directions.norms[0] - 1.0).abs() < 1e-6);
    let f = r.data.dense(ObjectiveKind::Clean, false).unwrap();
    let curvature = (f[0] + f[2] - 2.0 * f[1]) / (a * a);
    assert!(
        (curvature - lambda).abs() <= 1e-3 * lambda.abs(),
        "second difference {curvature} vs eigenvalue {lambda}"
    );
}
