//! `advland linear`: the closed-form binary linear model shows the L∞ gradient jump of claim
//! C2 and the 1/‖w‖ growth of the L2 smoothness of claim C1 (paper.md §2.3, §5).

use advland_schema::linear::LinearReport;
use advland_schema::{Norm, Report, read_json};

use crate::{advland, ok, user_error};

#[test]
fn linear_report_shows_linf_jumps_and_l2_smoothness_growth() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stdout = ok(&advland(
        d,
        &[
            "linear", "--subset", "200", "--steps", "50", "--out", "lin.json", "-q",
        ],
    ));
    assert!(stdout.contains("lin.json"), "{stdout}");
    let r: Report<LinearReport> = read_json(&d.join("lin.json")).unwrap();
    assert_eq!(r.kind, "linear");
    let data = &r.data;
    assert_eq!((data.examples, data.features), (200, 784));
    assert_eq!(data.classes, [0, 6]);
    assert_eq!(r.meta.data.examples, 200);
    let norms: Vec<Norm> = data.norms.iter().map(|n| n.norm).collect();
    assert_eq!(norms, [Norm::Linf, Norm::L2]);
    let (linf, l2) = (&data.norms[0], &data.norms[1]);
    for n in &data.norms {
        assert_eq!(n.trajectory.len(), 51);
        assert!(
            n.last.loss < n.trajectory[0].loss,
            "{}: GD lowers L",
            n.norm
        );
        assert!(n.last.hessian_max_eigenvalue.unwrap() > 0.0);
        assert!(
            n.last.hessian_min_eigenvalue.unwrap() > -1e-10,
            "L is convex"
        );
        assert_eq!(n.last.lipschitz.len(), 3);
    }

    // C2: crossing w_i = 0 moves the L∞ gradient by 2ε·mean|ℓ'|, the L2 gradient by O(t).
    let jump = &linf.last.jump;
    assert!(jump.predicted > 0.0);
    assert!(
        (jump.measured - jump.predicted).abs() <= 1e-3 * jump.predicted,
        "{jump:?}"
    );
    assert_eq!(l2.last.jump.predicted, 0.0);
    assert!(
        l2.last.jump.measured < 1e-3 * jump.measured,
        "{:?} vs {jump:?}",
        l2.last.jump
    );
    // The L∞ weights chatter across their hyper-planes far more often than the L2 ones.
    assert!(linf.total_sign_changes > l2.total_sign_changes);

    // C1: κ of the L2 loss grows as w shrinks, under the bound.
    let sweep = &data.l2_scaling;
    assert_eq!(sweep.len(), 4);
    let (first, last) = (&sweep[0], &sweep[3]);
    assert_eq!((first.scale, last.scale), (1.0, 0.001));
    assert!(last.kappa > first.kappa, "{sweep:?}");
    assert!(last.curvature_term > 100.0 * first.curvature_term);
    for p in sweep {
        assert!(p.kappa <= p.bound, "{p:?}");
    }
    assert_eq!(l2.last.l2_bound, Some(first.bound));
}

#[test]
fn linear_rejects_bad_classes_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for classes in ["0,0", "0,12", "3"] {
        user_error(
            &advland(d, &["linear", "--classes", classes, "-q"]),
            &["--classes"],
        );
    }
    user_error(
        &advland(d, &["linear", "--split", "test", "--subset", "1000", "-q"]),
        &["--subset"],
    );
    assert!(!d.join("runs").exists());
}
