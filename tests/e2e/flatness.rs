//! `advland flatness` on a small L2-trained MLP.

use advland_schema::Report;
use advland_schema::flatness::{FlatnessReport, InputPoint};

use crate::{advland, ok, train_mlp, user_error};

#[test]
fn flatness_reports_clean_and_adversarial_points_and_curves() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(
        d,
        "16",
        "1",
        ["300", "100"],
        &["--norm", "l2", "--eps", "1.0", "--steps", "2"],
    );
    ok(&advland(
        d,
        &[
            "flatness",
            "--checkpoint",
            "run/checkpoints/epoch-0001",
            "--subset",
            "16",
            "--steps",
            "5",
            "--power-iterations",
            "5",
            "--trace-samples",
            "3",
            "--curve-points",
            "5",
            "--random-directions",
            "1",
            "--out",
            "f.json",
        ],
    ));
    let r: Report<FlatnessReport> = advland_schema::read_json(&d.join("f.json")).unwrap();
    let f = &r.data;
    assert_eq!((f.attack.eps, f.examples), (1.0, 16));
    // Without the new flags the report is as before: no top-k, surface or Lipschitz keys.
    let raw = fs_err::read_to_string(d.join("f.json")).unwrap();
    for key in ["hessian_top_k", "\"surface\"", "logit_lipschitz", "null"] {
        assert!(!raw.contains(key), "default report contains {key}");
    }
    assert!(f.surface.is_none() && f.logit_lipschitz.is_none());
    let [clean, adv] = [&f.points[0], &f.points[1]];
    assert_eq!(
        (clean.point, adv.point),
        (InputPoint::Clean, InputPoint::Adversarial)
    );
    assert!(
        adv.loss.mean > clean.loss.mean,
        "the attack did not raise the loss"
    );
    assert!(clean.kkt_multiplier.is_none());
    let kkt = adv.kkt_multiplier.unwrap();
    assert!((kkt.median - adv.grad_l2.median / 1.0).abs() <= 1e-12 * kkt.median.max(1.0));
    // Under an L∞ attack the multiplier is in the dual norm ‖·‖₁.
    ok(&advland(
        d,
        &[
            "flatness",
            "--checkpoint",
            "run/checkpoints/epoch-0001",
            "--norm",
            "linf",
            "--eps",
            "0.1",
            "--subset",
            "16",
            "--steps",
            "5",
            "--power-iterations",
            "2",
            "--trace-samples",
            "1",
            "--curve-points",
            "0",
            "--out",
            "f-linf.json",
        ],
    ));
    let linf: Report<FlatnessReport> = advland_schema::read_json(&d.join("f-linf.json")).unwrap();
    let [clean_linf, adv_linf] = [&linf.data.points[0], &linf.data.points[1]];
    assert!(clean_linf.kkt_multiplier.is_none());
    let kkt_linf = adv_linf.kkt_multiplier.unwrap();
    for (k, g) in [
        (kkt_linf.min, adv_linf.grad_l1.min),
        (kkt_linf.max, adv_linf.grad_l1.max),
    ] {
        assert!((k - g / 0.1).abs() <= 1e-12 * k.max(1.0), "{k} vs {g}/0.1");
    }
    assert_eq!(f.curves.len(), 2);
    let g = &f.curves[0];
    assert_eq!((g.direction.as_str(), g.t.len()), ("gradient", 5));
    assert!(
        (g.mean_loss[2] - clean.loss.mean).abs() < 1e-9,
        "curve at t = 0 is the clean loss"
    );
    assert!(
        g.mean_loss[4] > g.mean_loss[2],
        "loss does not rise along the gradient"
    );
}

#[test]
fn relate_tabulates_flatness_against_kappa_with_rank_correlations() {
    use advland_schema::flatness::RelationReport;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(
        d,
        "8",
        "2",
        ["300", "100"],
        &["--norm", "linf", "--eps", "0.1", "--steps", "2"],
    );
    ok(&advland(
        d,
        &[
            "relate",
            "--checkpoint",
            "run/checkpoints/epoch-0001",
            "--checkpoint",
            "run/checkpoints/epoch-0002",
            "--attack",
            "linf:0.1:3",
            "--attack",
            "l2:1.0:3",
            "--subset",
            "8",
            "--radii",
            "1e-2",
            "--directions",
            "1",
            "--power-iterations",
            "3",
            "--out",
            "relate.json",
        ],
    ));
    let r: Report<RelationReport> = advland_schema::read_json(&d.join("relate.json")).unwrap();
    assert_eq!(r.kind, "relate");
    assert_eq!(r.data.rows.len(), 4);
    for row in &r.data.rows {
        assert!(
            row.kappa_adversarial.is_finite() && row.kappa_adversarial >= 0.0,
            "{row:?}"
        );
        assert!(
            row.grad_l2_adversarial >= 0.0 && row.grad_l2_clean >= 0.0,
            "{row:?}"
        );
        // The small-radius random κ is one of the probes the largest κ is taken over.
        let random = row.kappa_adversarial_random.unwrap();
        assert!(random >= 0.0 && random <= row.kappa_adversarial, "{row:?}");
    }
    // Five flatness measures, each against both κ variants.
    assert_eq!(r.data.correlations.len(), 10);
    for with in ["kappa_adversarial", "kappa_adversarial_random"] {
        assert_eq!(
            r.data
                .correlations
                .iter()
                .filter(|c| c.with == with)
                .count(),
            5
        );
    }
    for c in &r.data.correlations {
        assert_eq!(c.rows, 4);
        if let Some(rho) = c.spearman {
            assert!((-1.0..=1.0).contains(&rho));
        }
    }
}

/// `--top-k`, `--surface-example` and `--lipschitz-steps` on one example (`--subset 1`), so
/// the report's distributions are that example's values and can be cross-checked exactly.
#[test]
fn flatness_reports_top_k_surface_and_logit_lipschitz() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(
        d,
        "16",
        "1",
        ["300", "100"],
        &["--norm", "l2", "--eps", "1.0", "--steps", "2"],
    );
    let out = ok(&advland(
        d,
        &[
            "flatness",
            "--checkpoint",
            "run/checkpoints/epoch-0001",
            "--subset",
            "1",
            "--steps",
            "3",
            "--power-iterations",
            "10",
            "--trace-samples",
            "2",
            "--curve-points",
            "21",
            "--random-directions",
            "0",
            "--top-k",
            "3",
            "--surface-example",
            "0",
            "--lipschitz-steps",
            "10",
            "--lipschitz-restarts",
            "2",
            "--out",
            "f.json",
        ],
    ));
    assert!(
        out.contains("top-3 eigenvalues") && out.contains("logit Lipschitz"),
        "{out}"
    );
    let r: Report<FlatnessReport> = advland_schema::read_json(&d.join("f.json")).unwrap();
    let f = &r.data;
    let eps = f.attack.eps;
    for p in &f.points {
        assert_eq!(p.hessian_top_k.len(), 3, "{:?}", p.point);
        assert_eq!(p.hessian_top_k[0], p.hessian_top);
        for pair in p.hessian_top_k.windows(2) {
            assert!(
                pair[0].median.abs() >= pair[1].median.abs(),
                "{:?}",
                p.hessian_top_k
            );
        }
        assert!(p.hessian_top_k.iter().all(|e| e.median.is_finite()));
    }
    let clean = &f.points[0];
    assert_eq!(clean.point, InputPoint::Clean);

    let s = f.surface.as_ref().expect("a surface");
    assert_eq!(
        (s.example, s.directions.clone()),
        (0, ["gradient".to_owned(), "random".to_owned()])
    );
    assert!(s.label < 10);
    for axis in [s.x, s.y] {
        assert_eq!(
            (axis.min, axis.max, axis.points),
            (-2.0 * eps, 2.0 * eps, 21)
        );
    }
    assert_eq!((s.loss.len(), s.predicted.len()), (21 * 21, 21 * 21));
    assert!(s.loss.iter().all(|l| l.is_finite() && *l >= 0.0));
    assert!(s.predicted.iter().all(|&p| p < 10));
    let centre = s.loss[10 * 21 + 10];
    assert!(
        (centre - clean.loss.median).abs() < 1e-9,
        "surface centre {centre} vs clean loss {}",
        clean.loss.median
    );
    // The b = 0 row is the gradient-direction loss curve of the same (only) example.
    let g = &f.curves[0];
    assert_eq!((g.direction.as_str(), g.t.len()), ("gradient", 21));
    for (i, want) in g.mean_loss.iter().enumerate() {
        let got = s.loss[10 * 21 + i];
        assert!(
            (got - want).abs() < 1e-9,
            "a = {}: surface {got} vs curve {want}",
            g.t[i]
        );
    }

    let l = f.logit_lipschitz.as_ref().expect("a Lipschitz estimate");
    assert_eq!((l.output_norm.as_str(), l.steps, l.restarts), ("l2", 10, 2));
    assert!(l.estimate.min > 0.0 && l.estimate.max.is_finite(), "{l:?}");
    assert!(r.meta.cost.backward > 0);
}

/// The same flags under an L∞ attack on several examples.
#[test]
fn flatness_top_k_and_lipschitz_under_linf() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(
        d,
        "16",
        "1",
        ["300", "100"],
        &["--norm", "linf", "--eps", "0.1", "--steps", "2"],
    );
    ok(&advland(
        d,
        &[
            "flatness",
            "--checkpoint",
            "run/checkpoints/epoch-0001",
            "--subset",
            "8",
            "--steps",
            "3",
            "--power-iterations",
            "5",
            "--trace-samples",
            "2",
            "--curve-points",
            "0",
            "--top-k",
            "2",
            "--surface-example",
            "7",
            "--surface-grid",
            "-0.3:0.3:4",
            "--lipschitz-steps",
            "5",
            "--out",
            "f.json",
        ],
    ));
    let r: Report<FlatnessReport> = advland_schema::read_json(&d.join("f.json")).unwrap();
    let f = &r.data;
    assert!(
        f.points
            .iter()
            .all(|p| p.hessian_top_k.len() == 2 && p.hessian_top_k[0] == p.hessian_top)
    );
    let s = f.surface.as_ref().unwrap();
    assert_eq!((s.example, s.x.points, s.loss.len()), (7, 4, 16));
    assert_eq!((s.x.min, s.x.max), (-0.3, 0.3));
    let l = f.logit_lipschitz.as_ref().unwrap();
    assert_eq!((l.steps, l.restarts), (5, 1));
    assert!(l.estimate.min > 0.0 && l.estimate.max.is_finite(), "{l:?}");
}

#[test]
fn flatness_rejects_bad_top_k_surface_and_lipschitz_flags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_mlp(d, "8", "1", ["100", "50"], &[]);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "flatness",
            "--checkpoint",
            "run/checkpoints/epoch-0001",
            "--subset",
            "4",
            "--steps",
            "1",
            "--power-iterations",
            "1",
            "--trace-samples",
            "1",
            "--curve-points",
            "0",
            "--out",
            "f.json",
        ];
        args.extend(extra);
        advland(d, &args)
    };
    user_error(&run(&["--top-k", "0"]), &["--top-k", "1..="]);
    user_error(
        &run(&["--top-k", "100000"]),
        &["--top-k", "input dimension"],
    );
    user_error(
        &run(&["--surface-example", "4"]),
        &["--surface-example", "out of range", "4 examples"],
    );
    user_error(
        &run(&["--surface-example", "0", "--surface-grid", "1:-1:5"]),
        &["--surface-grid", "min must be smaller than max"],
    );
    user_error(
        &run(&["--surface-example", "0", "--surface-grid", "-1:1"]),
        &["--surface-grid", "MIN:MAX:POINTS"],
    );
    user_error(&run(&["--surface-grid", "-1:1:5"]), &["--surface-example"]);
    user_error(
        &run(&["--lipschitz-steps", "2", "--lipschitz-restarts", "0"]),
        &["--lipschitz-restarts"],
    );
    assert!(!d.join("f.json").exists(), "a report was written");
}
