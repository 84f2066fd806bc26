//! `advland connect` between two small MLPs trained from different seeds.

use std::path::Path;

use advland_schema::connectivity::ConnectivityReport;
use advland_schema::surface::SurfaceReport;
use advland_schema::{ObjectiveKind, Report};

use crate::{advland, ok, user_error};

const A: &str = "a/checkpoints/epoch-0002";
const B: &str = "b/checkpoints/epoch-0002";

/// Two MLPs of 16 hidden units, 2 epochs each on the same 300 training and 100 test
/// examples, from seeds 1 and 2.
fn two_runs(d: &Path) {
    for (out, seed) in [("a", "1"), ("b", "2")] {
        ok(&advland(
            d,
            &[
                "train",
                "-q",
                "--model",
                "mlp",
                "--hidden",
                "16",
                "--epochs",
                "2",
                "--train-subset",
                "300",
                "--test-subset",
                "100",
                "--seed",
                seed,
                "--out",
                out,
            ],
        ));
    }
}

fn connect(d: &Path, out: &str, extra: &[&str]) -> Report<ConnectivityReport> {
    let mut args = vec![
        "connect",
        "-q",
        "--checkpoint",
        A,
        "--to",
        B,
        "--points",
        "5",
        "--subset",
        "100",
        "--out",
        out,
    ];
    args.extend(extra);
    ok(&advland(d, &args));
    advland_schema::read_json(&d.join(out)).unwrap()
}

#[test]
fn a_midpoint_curve_is_the_line_of_surface_to() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_runs(d);
    let r = connect(d, "mid.json", &["--epochs", "0"]);
    let raw = fs_err::read_to_string(d.join("mid.json")).unwrap();
    assert!(raw.contains("\"kind\": \"connectivity\""));
    let c = &r.data;
    assert_eq!((c.steps, c.control_offset), (0, 0.0));
    for (curve, line) in c.curve.clean_loss.iter().zip(&c.line.clean_loss) {
        assert!((curve - line).abs() <= 1e-6 * line, "{curve} vs {line}");
    }
    ok(&advland(
        d,
        &[
            "surface",
            "-q",
            "--checkpoint",
            A,
            "--directions",
            "interpolation",
            "--to",
            B,
            "--x",
            "0:1:5",
            "--subset",
            "100",
            "--out",
            "line.json",
        ],
    ));
    let s: Report<SurfaceReport> = advland_schema::read_json(&d.join("line.json")).unwrap();
    let surface = s.data.dense(ObjectiveKind::Clean, false).unwrap();
    for (got, want) in c.line.clean_loss.iter().zip(&surface) {
        assert!(
            (got - want).abs() <= 1e-5 * want,
            "line {got} vs surface {want}"
        );
    }
}

#[test]
fn a_trained_curve_stays_below_the_line_and_saves_its_control_point() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_runs(d);
    let r = connect(
        d,
        "curve.json",
        &[
            "--epochs",
            "4",
            "--lr",
            "0.1",
            "--batch-size",
            "32",
            "--scan-adversarial",
            "--norm",
            "linf",
            "--eps",
            "0.05",
            "--steps",
            "2",
            "--save-curve",
            "phi",
        ],
    );
    let c = &r.data;
    assert_eq!((c.train_examples, c.steps), (300, 4 * 10));
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        max(&c.curve.clean_loss) <= max(&c.line.clean_loss),
        "curve {:?} line {:?}",
        c.curve.clean_loss,
        c.line.clean_loss
    );
    assert!(c.curve.clean_barrier < c.line.clean_barrier);
    let adversarial = c.curve.adversarial_loss.as_ref().unwrap();
    assert_eq!(adversarial.len(), 5);
    assert!(adversarial[0] > c.curve.clean_loss[0]);
    assert_eq!(r.meta.config["epochs"], 4);
    // The control point is a checkpoint the other commands read.
    ok(&advland(d, &["eval", "-q", "--checkpoint", "phi"]));
}

#[test]
fn connect_rejects_bad_flags_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_runs(d);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "connect",
            "--checkpoint",
            A,
            "--epochs",
            "0",
            "--out",
            "c.json",
        ];
        args.extend(extra);
        advland(d, &args)
    };
    user_error(&run(&["--to", B, "--points", "1"]), &["--points", ">= 2"]);
    user_error(
        &run(&["--to", B, "--objective", "adversarial"]),
        &["--norm and --eps"],
    );
    user_error(
        &run(&[
            "--to",
            B,
            "--objective",
            "adversarial-frozen",
            "--norm",
            "l2",
            "--eps",
            "1",
        ]),
        &["--objective"],
    );
    user_error(&run(&["--to", "missing"]), &["--to", "missing"]);
    user_error(&run(&["--to", B, "--lr", "0"]), &["--lr"]);
    user_error(&run(&["--to", B, "--subset", "100000"]), &["--subset"]);
}

#[test]
fn compare_and_report_show_perturbation_and_connectivity() {
    use advland_schema::CompareReport;

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_runs(d);
    ok(&advland(
        d,
        &[
            "perturbation",
            "-q",
            "--checkpoint",
            A,
            "--subset",
            "10",
            "--gradient-examples",
            "3",
            "--steps",
            "2",
        ],
    ));
    connect(d, "a/connectivity.json", &["--epochs", "1"]);
    ok(&advland(d, &["compare", "a", "--out", "cmp"]));
    let r: Report<CompareReport> = advland_schema::read_json(&d.join("cmp/compare.json")).unwrap();
    let last = r.data.rows.iter().find(|row| row.epoch == 2).unwrap();
    for key in [
        "cos δ linf ε=0.1",
        "cos ∇θℓ at x+δ linf ε=0.1",
        "PGD success rate linf ε=0.1",
        &format!("bezier clean barrier to {B}"),
        &format!("line clean barrier to {B}"),
    ] {
        assert!(
            last.values.contains_key(key),
            "{key} missing: {:?}",
            last.values
        );
    }
    ok(&advland(d, &["report", "a", "--out", "page"]));
    let page = fs_err::read_to_string(d.join("page/index.html")).unwrap();
    assert!(page.contains("PGD per step"), "no perturbation table");
    assert!(page.contains("barrier curve"), "no connectivity table");
    let svgs: Vec<String> = fs_err::read_dir(d.join("page/figures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    for figure in ["attack-steps", "connectivity"] {
        assert!(
            svgs.iter().any(|n| n.contains(figure)),
            "{figure} not in {svgs:?}"
        );
    }
}
