//! `advland perturbation` on a small L∞-trained MLP.

use advland_schema::Report;
use advland_schema::perturbation::PerturbationReport;

use crate::{advland, ok, train_linf_mlp, user_error};

#[test]
fn perturbation_reports_cosines_and_per_step_attack_progress() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_linf_mlp(d, "8");
    let stdout = ok(&advland(
        d,
        &[
            "perturbation",
            "--checkpoint",
            "run/checkpoints/epoch-0002",
            "--subset",
            "12",
            "--gradient-examples",
            "5",
            "--steps",
            "3",
        ],
    ));
    assert!(stdout.contains("adversarial gradients"), "{stdout}");
    let path = d.join("run/checkpoints/epoch-0002/perturbation-linf.json");
    let raw = fs_err::read_to_string(&path).unwrap();
    assert!(raw.contains("\"kind\": \"perturbation\""));
    let r: Report<PerturbationReport> = advland_schema::read_json(&path).unwrap();
    let p = &r.data;
    // The checkpoint's own attack is the default: L∞ ε = 0.1.
    assert_eq!((p.attack.eps, p.attack.steps, p.examples), (0.1, 3, 12));
    assert_eq!(p.gradient_examples, 5);
    assert_eq!(p.adversarial_gradients.vectors, 5);
    assert_eq!(p.steps.len(), 4);
    assert!(p.steps[3].mean_loss >= p.steps[0].mean_loss);
    assert!((-1.0..=1.0).contains(&p.perturbations.mean));
    assert_eq!(r.meta.config["gradient_examples"], 5);
    assert_eq!(r.meta.data.examples, 12);
}

#[test]
fn perturbation_rejects_bad_flags_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_linf_mlp(d, "4");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "perturbation",
            "--checkpoint",
            "run/checkpoints/epoch-0002",
            "--steps",
            "1",
            "--out",
            "p.json",
        ];
        args.extend(extra);
        advland(d, &args)
    };
    user_error(
        &run(&["--subset", "4", "--gradient-examples", "1"]),
        &["--gradient-examples", ">= 2"],
    );
    user_error(&run(&["--subset", "1"]), &["--subset", ">= 2"]);
    user_error(&run(&["--subset", "100000"]), &["--subset", "100000"]);
    user_error(&run(&["--eps", "abc"]), &["--eps"]);
}
