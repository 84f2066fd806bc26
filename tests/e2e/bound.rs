//! `advland bound` on a small L∞-trained MLP.

use advland_schema::Report;
use advland_schema::bound::BoundReport;

use crate::{advland, ok, train_linf_mlp, user_error};

#[test]
fn bound_reports_faces_bounds_and_the_measured_motion() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_linf_mlp(d, "8");
    let stdout = ok(&advland(
        d,
        &[
            "bound",
            "--checkpoint",
            "run/checkpoints/epoch-0002",
            "--norm",
            "l2",
            "--eps",
            "0.5",
            "--steps",
            "3",
            "--subset",
            "6",
            "--lanczos-steps",
            "4",
            "--directions",
            "2",
        ],
    ));
    assert!(stdout.contains("kappa bound"), "{stdout}");
    let path = d.join("run/checkpoints/epoch-0002/bound-l2.json");
    let r: Report<BoundReport> = advland_schema::read_json(&path).unwrap();
    let b = &r.data;
    assert_eq!(r.kind, "bound");
    assert_eq!((b.attack.eps, b.attack.steps, b.examples), (0.5, 3, 6));
    assert_eq!(b.per_example.len(), 6);
    assert_eq!(b.motion_check.pairs, 2 * b.concave);
    assert!(b.per_example.iter().all(|e| e.face_changes <= 2));
    assert!(b.hessian_norm > 0.0 && b.kappa.max >= b.kappa.min);
    assert_eq!(r.meta.config["lanczos_steps"], 4);
    assert_eq!(r.meta.data.examples, 6);
}

#[test]
fn bound_rejects_bad_flags_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_linf_mlp(d, "4");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "bound",
            "--checkpoint",
            "run/checkpoints/epoch-0002",
            "--steps",
            "1",
            "--out",
            "b.json",
        ];
        args.extend(extra);
        advland(d, &args)
    };
    user_error(&run(&["--radius", "0"]), &["--radius", "positive"]);
    user_error(&run(&["--face-tol", "1.5"]), &["--face-tol", "[0, 1)"]);
    user_error(&run(&["--fd-step", "0"]), &["--fd-step", "positive"]);
    user_error(&run(&["--lanczos-steps", "0"]), &["--lanczos-steps"]);
    user_error(&run(&["--subset", "100000"]), &["--subset", "100000"]);
    assert!(!d.join("b.json").exists(), "a refused run wrote its report");
}
