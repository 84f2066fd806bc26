//! `advland calibrate`: the matched radius, cross-checked against `advland eval`.

use advland_schema::{CalibrateReport, EvalReport, Report, read_json};

use crate::{advland, ok, train_linf_mlp, user_error};

fn eval_accuracy(d: &std::path::Path, norm: &str, eps: &str, out: &str) -> f64 {
    ok(&advland(
        d,
        &[
            "eval",
            "-q",
            "--checkpoint",
            "run/checkpoints/epoch-0002",
            "--norm",
            norm,
            "--eps",
            eps,
            "--steps",
            "5",
            "--batch-size",
            "100",
            "--out",
            out,
        ],
    ));
    let r: Report<EvalReport> = read_json(&d.join(out)).unwrap();
    r.data.result.robust[0].metrics.accuracy
}

#[test]
fn calibrate_matches_the_other_norm_and_eval_reproduces_both_ends() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_linf_mlp(d, "16");
    let stdout = ok(&advland(
        d,
        &[
            "calibrate",
            "-q",
            "--checkpoint",
            "run/checkpoints/epoch-0002",
            "--steps",
            "5",
            "--subset",
            "100",
            "--batch-size",
            "100",
            "--max-evaluations",
            "12",
            "--out",
            "cal.json",
        ],
    ));
    assert!(stdout.contains("matched accuracy: l2 eps"), "{stdout}");
    let r: Report<CalibrateReport> = read_json(&d.join("cal.json")).unwrap();
    assert_eq!(r.kind, "calibrate");
    let c = &r.data;
    // The checkpoint's own attack is the reference; the bracket is [ε, ε√784].
    assert_eq!(
        (c.reference.norm.to_string(), c.reference.eps),
        ("linf".into(), 0.1)
    );
    assert_eq!(c.dimension, 784);
    assert!((c.bracket[1] - 2.8).abs() < 1e-12 && c.bracket[0] == 0.1);
    assert!(c.steps.len() >= 2 && c.steps.len() <= 12);
    assert!((c.bracket[0]..=c.bracket[1]).contains(&c.eps));
    if c.bracketed {
        // Radii below the match leave more examples robust than the reference does.
        for s in &c.steps {
            if s.eps < c.eps {
                assert!(s.metrics.accuracy > c.target, "{s:?}");
            }
        }
    }
    // `eval` with the same attacks on the same examples gives the same accuracies.
    assert_eq!(
        eval_accuracy(d, "linf", "0.1", "ref.json"),
        c.reference_metrics.accuracy
    );
    assert_eq!(
        eval_accuracy(d, "l2", &c.eps.to_string(), "matched.json"),
        c.metrics.accuracy
    );
    // The report page shows the search.
    ok(&advland(d, &["report", "cal.json", "--out", "site"]));
    let page = fs_err::read_to_string(d.join("site/index.html")).unwrap();
    assert!(
        page.contains("radii tried, in order"),
        "no calibration table"
    );
    user_error(
        &advland(
            d,
            &[
                "calibrate",
                "--checkpoint",
                "run/checkpoints/epoch-0002",
                "--to",
                "linf",
            ],
        ),
        &["--to: is the reference's own norm"],
    );
}
