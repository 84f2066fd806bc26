//! `advland flatness` on a small L2-trained MLP.

use advland_schema::Report;
use advland_schema::flatness::{FlatnessReport, InputPoint};

use crate::{advland, ok, train_mlp};

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
    }
    assert_eq!(r.data.correlations.len(), 5);
    for c in &r.data.correlations {
        assert_eq!(c.rows, 4);
        if let Some(rho) = c.spearman {
            assert!((-1.0..=1.0).contains(&rho));
        }
    }
}
