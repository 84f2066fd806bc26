//! `advland sharpness worst-case|average-case|awp`: m-sharpness reports of a checkpoint, their
//! place in `compare` and the report page, and the flags that are refused (a PyTorch
//! batch-norm model: `weights.rs`).

use std::path::Path;

use advland_schema::{
    CompareReport, Report, SharpnessEstimate, SharpnessReport, WeightBall, WeightSharpnessResult,
    read_json,
};

use crate::{advland, ok, train_linf_mlp, user_error};

const CHECKPOINT: &str = "run/checkpoints/epoch-0002";

pub fn weight_result(path: &Path) -> (Report<SharpnessReport>, WeightSharpnessResult) {
    let r: Report<SharpnessReport> = read_json(path).unwrap();
    let w = match &r.data.estimate {
        SharpnessEstimate::WorstCase(w)
        | SharpnessEstimate::AverageCase(w)
        | SharpnessEstimate::Awp(w) => w.clone(),
        other => panic!("not a weight sharpness: {other:?}"),
    };
    (r, w)
}

#[test]
fn weight_sharpness_estimators_write_reports_that_compare_and_report_show() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_linf_mlp(d, "8");
    let common = ["--subset", "32", "--m", "16", "--steps", "2", "--seed", "1"];
    let mut args = vec![
        "sharpness",
        "worst-case",
        "--checkpoint",
        CHECKPOINT,
        "--iterations",
        "4",
        "--rho",
        "0.05",
        "--out",
        "run/reports/worst.json",
    ];
    args.extend(common);
    let stdout = ok(&advland(d, &args));
    assert!(stdout.contains("worst-case sharpness"), "{stdout}");
    let (r, w) = weight_result(&d.join("run/reports/worst.json"));
    assert_eq!(
        (w.ball, w.rho, w.m, w.batches.len()),
        (WeightBall::AdaptiveL2, 0.05, 16, 2)
    );
    assert!(
        w.batches
            .iter()
            .all(|b| b.trace.len() == 4 && b.increase >= 0.0)
    );
    assert!(w.increase.std_error.is_some() && w.error_increase.is_some());
    assert_eq!(w.batch_norm, "none");
    // meta.config is the library configuration, whole.
    let config = &r.meta.config["perturbation"];
    assert_eq!(config["iterations"], 4);
    assert_eq!(config["perturbed"], "weights");
    assert_eq!(r.data.objective.kind.as_str(), "adversarial");

    let mut args = vec![
        "sharpness",
        "average-case",
        "--checkpoint",
        CHECKPOINT,
        "--objective",
        "clean",
        "--ball",
        "linf",
        "--rho",
        "0.01",
        "--samples",
        "3",
        "--out",
        "run/reports/average.json",
    ];
    args.extend(common);
    ok(&advland(d, &args));
    let (_, w) = weight_result(&d.join("run/reports/average.json"));
    assert_eq!((w.ball, w.iterations), (WeightBall::Linf, 3));
    assert!(w.batches.iter().all(|b| b.std_error.is_some()));

    let mut args = vec![
        "sharpness",
        "awp",
        "--checkpoint",
        CHECKPOINT,
        "--iterations",
        "2",
        "--gamma",
        "0.02",
        "--out",
        "run/reports/awp.json",
    ];
    args.extend(common);
    ok(&advland(d, &args));
    let (_, w) = weight_result(&d.join("run/reports/awp.json"));
    assert_eq!((w.ball, w.rho), (WeightBall::Layerwise, 0.02));
    for b in &w.batches {
        assert!(b.increase >= b.one_step_increase.unwrap() - 1e-12, "{b:?}");
    }

    ok(&advland(d, &["compare", "run", "--out", "cmp"]));
    let c: Report<CompareReport> = read_json(&d.join("cmp/compare.json")).unwrap();
    for measure in [
        "worst-case sharpness adaptive-l2 ρ=0.05 m=16 adversarial linf ε=0.1",
        "average-case sharpness linf ρ=0.01 m=16 clean",
        "AWP increase γ=0.02 m=16 adversarial linf ε=0.1",
        "AWP one-step increase γ=0.02 m=16 adversarial linf ε=0.1",
    ] {
        assert!(
            c.data.measures.iter().any(|m| m == measure),
            "{measure}: {:?}",
            c.data.measures
        );
    }
    ok(&advland(d, &["report", "run/reports", "--out", "site"]));
    let index = fs_err::read_to_string(d.join("site/index.html")).unwrap();
    for needle in [
        "worst-case sharpness",
        "average-case sharpness per batch",
        "AWP one-step increase",
        "mean loss increase under weight perturbations",
    ] {
        assert!(index.contains(needle), "{needle}");
    }
}

#[test]
fn weight_sharpness_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_linf_mlp(d, "8");
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["worst-case", "--subset", "30", "--m", "16"],
            &["--m", "divide"],
        ),
        (&["worst-case", "--rho", "0"], &["--rho"]),
        (
            &["average-case", "--ball", "layerwise"],
            &["--ball", "average-case"],
        ),
        (&["awp", "--rand-init"], &["--rand-init"]),
    ];
    for (flags, needles) in cases {
        let mut args = vec!["sharpness"];
        args.extend(flags);
        args.extend(["--checkpoint", CHECKPOINT, "--out", "bad.json"]);
        user_error(&advland(d, &args), needles);
        assert!(!d.join("bad.json").exists());
    }
}
