//! `advland sharpness` on a tiny adversarially trained MLP: every estimator writes a report
//! that reads back, with the frozen ablation next to the adversarial objective.

use advland_schema::{ObjectiveKind, Report, SharpnessEstimate, SharpnessReport, read_json};

use crate::{advland, ok, train_linf_mlp, user_error};

#[test]
fn sharpness_estimators_write_reports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_linf_mlp(d, "8");
    let c1 = "run/checkpoints/epoch-0001";
    let c2 = "run/checkpoints/epoch-0002";
    let common = ["--subset", "32", "--steps", "3", "--seed", "1"];
    let mut args = vec![
        "sharpness",
        "lipschitz",
        "--checkpoint",
        c1,
        "--checkpoint",
        c2,
        "--directions",
        "2",
        "--radii",
        "1e-3,1e-2",
        "--out",
        "lip.json",
    ];
    args.extend(common);
    ok(&advland(d, &args));
    let r: Report<SharpnessReport> = read_json(&d.join("lip.json")).unwrap();
    let SharpnessEstimate::Lipschitz(l) = &r.data.estimate else {
        panic!("not lipschitz")
    };
    let kinds: Vec<ObjectiveKind> = l.objectives.iter().map(|o| o.kind).collect();
    assert_eq!(
        kinds,
        [ObjectiveKind::Adversarial, ObjectiveKind::AdversarialFrozen]
    );
    assert_eq!(l.trajectory.len(), 1);
    for o in &l.objectives {
        assert_eq!(o.random.len(), 2);
        assert!(o.kappa_max > 0.0 && o.kappa_max.is_finite());
        // With two directions and two radii: κ's distribution per radius and its scaling.
        for p in &o.random {
            let s = p.summary.as_ref().expect("a κ summary");
            assert!(s.q10 <= s.median && s.median <= s.q90 && s.q90 <= p.kappa_max);
            assert!(s.median_ci[0] <= s.median && s.median <= s.median_ci[1]);
        }
        let fit = o.scaling.as_ref().expect("a κ(r) scaling");
        assert!(
            fit.slope.is_finite() && fit.slope_ci[0] <= fit.slope_ci[1],
            "{fit:?}"
        );
        assert_eq!(fit.radii, 2);
    }
    // Claim C6's test: the re-solved attack's movement against the L∞ ball's diameter
    // 2ε√784 = 5.6; the frozen attack does not move and has none.
    let c6 = l.objectives[0]
        .diameter
        .as_ref()
        .expect("a diameter comparison");
    assert!((c6.diameter - 5.6).abs() < 1e-12);
    assert_eq!(c6.fraction.len(), 2);
    assert!(c6.fraction.iter().all(|f| (0.0..1.0).contains(f)), "{c6:?}");
    assert!(l.objectives[1].diameter.is_none());
    // The re-solved attack moves with θ; the frozen one cannot.
    let moved = |i: usize| l.objectives[i].random[1].secants[0].delta_ratio.unwrap();
    assert!(moved(0) > 0.0);
    assert_eq!(moved(1), 0.0);
    assert_eq!(r.data.objective.attack.as_ref().unwrap().eps, 0.1);

    let mut args = vec![
        "sharpness",
        "hessian",
        "--checkpoint",
        c2,
        "--objective",
        "clean",
        "--k",
        "2",
        "--max-iter",
        "20",
        "--out",
        "h.json",
    ];
    args.extend(common);
    ok(&advland(d, &args));
    let r: Report<SharpnessReport> = read_json(&d.join("h.json")).unwrap();
    let SharpnessEstimate::Hessian(h) = &r.data.estimate else {
        panic!("not hessian")
    };
    assert_eq!(h.eigenvalues.len(), 2);
    assert!(h.eigenvalues[0].value.abs() >= h.eigenvalues[1].value.abs() * 0.5);
    assert!(r.data.gradient_evaluations >= 2 * h.eigenvalues[0].hvps as u64);

    let mut args = vec![
        "sharpness",
        "kinks",
        "--checkpoint",
        c2,
        "--norm",
        "l2",
        "--eps",
        "1.0",
        "--points",
        "9",
        "--out",
        "k.json",
    ];
    args.extend(common);
    ok(&advland(d, &args));
    let r: Report<SharpnessReport> = read_json(&d.join("k.json")).unwrap();
    let SharpnessEstimate::Kinks(k) = &r.data.estimate else {
        panic!("not kinks")
    };
    assert_eq!((k.t.len(), k.jumps.len()), (9, 8));

    // A run directory stands for its last checkpoint; a directory that is neither is refused.
    user_error(
        &advland(
            d,
            &[
                "sharpness",
                "hessian",
                "--checkpoint",
                "run/checkpoints",
                "--objective",
                "adversarial",
            ],
        ),
        &["run/checkpoints", "not a checkpoint"],
    );
}

/// The local-entropy probe of claim C8: κ of θ ↦ γ(θ − μ(θ)) next to the adversarial loss's own.
#[test]
fn lipschitz_probes_the_local_entropy_map() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_linf_mlp(d, "8");
    let out = ok(&advland(
        d,
        &[
            "sharpness",
            "lipschitz",
            "--checkpoint",
            "run/checkpoints/epoch-0002",
            "--subset",
            "16",
            "--steps",
            "2",
            "--radii",
            "1e-2",
            "--directions",
            "1",
            "--local-entropy-gamma",
            "5",
            "--local-entropy-steps",
            "3",
            "--out",
            "le.json",
        ],
    ));
    assert!(out.contains("local-entropy map"), "{out}");
    let r: Report<SharpnessReport> = read_json(&d.join("le.json")).unwrap();
    let SharpnessEstimate::Lipschitz(l) = &r.data.estimate else {
        panic!("not lipschitz")
    };
    let e = l.local_entropy.as_ref().unwrap();
    assert_eq!((e.gamma, e.inner_steps), (5.0, 3));
    assert_eq!(e.random.len(), 1);
    assert!(e.kappa_max.is_finite() && e.kappa_max > 0.0, "{e:?}");
    assert!(
        !fs_err::read_to_string(d.join("le.json"))
            .unwrap()
            .contains("null")
    );

    let bad = advland(
        d,
        &[
            "sharpness",
            "lipschitz",
            "--checkpoint",
            "run/checkpoints/epoch-0002",
            "--local-entropy-gamma",
            "0",
            "--out",
            "bad.json",
        ],
    );
    user_error(&bad, &["gamma", "> 0"]);
}

/// Under L∞, PGD's δ is piecewise constant in θ, so the re-solved adversarial loss's local
/// Hessian (f64, forward differences at 1e-7) is the frozen attack's: the alternative the f32
/// refusal names. In f32 the products of the re-solved loss are refused before any work, and
/// so are lipschitz radii below what f32 resolves.
#[test]
fn adversarial_hessian_is_the_frozen_one_under_linf_and_refused_in_f32() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_linf_mlp(d, "8");
    let top = |objective: &str, out: &str| {
        ok(&advland(
            d,
            &[
                "sharpness",
                "hessian",
                "--checkpoint",
                "run",
                "--objective",
                objective,
                "--k",
                "1",
                "--max-iter",
                "30",
                "--subset",
                "32",
                "--steps",
                "3",
                "--seed",
                "1",
                "--out",
                out,
            ],
        ));
        let r: Report<SharpnessReport> = read_json(&d.join(out)).unwrap();
        let SharpnessEstimate::Hessian(h) = r.data.estimate else {
            panic!("not hessian")
        };
        h.eigenvalues[0].value
    };
    let resolved = top("adversarial", "resolved.json");
    let frozen = top("adversarial-frozen", "frozen.json");
    assert!(
        (resolved - frozen).abs() <= 1e-6 * frozen.abs(),
        "re-solved {resolved} against frozen {frozen}"
    );

    for estimator in ["hessian", "trace", "density"] {
        let out = format!("{estimator}-f32.json");
        user_error(
            &advland(
                d,
                &[
                    "sharpness",
                    estimator,
                    "--checkpoint",
                    "run",
                    "--precision",
                    "f32",
                    "--out",
                    &out,
                ],
            ),
            &["precision", "f32", "adversarial-frozen"],
        );
        assert!(!d.join(&out).exists());
    }
    // κ in f32 only where f32 resolves the step.
    let lipschitz = |radii: &str| {
        advland(
            d,
            &[
                "sharpness",
                "lipschitz",
                "--checkpoint",
                "run",
                "--objective",
                "clean",
                "--precision",
                "f32",
                "--subset",
                "8",
                "--directions",
                "1",
                "--radii",
                radii,
                "--out",
                "lip-f32.json",
            ],
        )
    };
    user_error(&lipschitz("1e-6,1e-2"), &["--radii", "1e-6", "f32"]);
    assert!(!d.join("lip-f32.json").exists());
    ok(&lipschitz("1e-5,1e-2"));
}
