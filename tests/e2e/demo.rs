//! The main job in its quick form.

use advland_schema::{DemoSummary, Norm, Report, SurfaceReport, read_json};

use crate::{advland, ok};

#[test]
fn demo_quick_trains_three_models_and_adversarial_training_helps() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = ok(&advland(
        dir.path(),
        &["demo", "--quick", "-q", "--out", "demo"],
    ));
    assert!(stdout.contains("| standard |"), "{stdout}");
    let report: Report<DemoSummary> = read_json(&dir.path().join("demo/demo.json")).unwrap();
    assert_eq!(report.kind, "demo");
    let names: Vec<&str> = report.data.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["standard", "linf", "l2"]);
    for m in &report.data.models {
        assert!(
            dir.path()
                .join("demo")
                .join(&m.run_dir)
                .join("train.json")
                .exists()
        );
        for r in &m.eval.robust {
            assert!(
                r.metrics.accuracy <= m.eval.clean.accuracy,
                "{}: attack helped",
                m.name
            );
        }
    }
    // Per threat: PGD, autoattack-lite, and a worst case no higher than either.
    for m in &report.data.models {
        assert_eq!(m.robustness.len(), 2, "{}", m.name);
        for group in &m.robustness {
            let kinds: Vec<&str> = group.attacks.iter().map(|a| a.attack.kind()).collect();
            assert_eq!(kinds, ["pgd", "autoattack-lite"]);
            let worst = group.worst_case.as_ref().unwrap().metrics.accuracy;
            for a in &group.attacks {
                assert!(
                    worst <= a.metrics.accuracy,
                    "{}: {worst} > {}",
                    m.name,
                    a.attack
                );
            }
        }
    }
    assert!(
        stdout.contains("autoattack-lite:linf:0.1:10 acc"),
        "{stdout}"
    );
    // 3 models × 2 epochs × 2 attacks, and a defined ρ for every measure.
    assert_eq!(report.data.relation.rows.len(), 12);
    assert!(
        report
            .data
            .relation
            .correlations
            .iter()
            .all(|c| c.spearman.is_some())
    );
    assert!(dir.path().join("demo/relate.json").exists());
    let robust = |model: usize, norm: Norm| {
        report.data.models[model]
            .eval
            .robust
            .iter()
            .find(|r| r.attack.norm == norm)
            .unwrap()
            .metrics
            .accuracy
    };
    assert!(
        robust(1, Norm::Linf) > robust(0, Norm::Linf),
        "L∞-AT not more robust than standard"
    );
    assert!(
        robust(2, Norm::L2) > robust(0, Norm::L2),
        "L2-AT not more robust than standard"
    );

    // Surfaces of both norms on shared directions, and the report that draws them.
    let surfaces: Vec<Report<SurfaceReport>> = report
        .data
        .surfaces
        .iter()
        .map(|f| read_json(&dir.path().join("demo").join(f)).unwrap())
        .collect();
    assert_eq!(surfaces.len(), 4);
    for pair in surfaces.chunks(2) {
        assert_eq!(pair[0].data.directions, pair[1].data.directions);
        assert_ne!(pair[0].data.attack, pair[1].data.attack);
        for s in pair {
            assert!(s.data.is_complete());
            assert_eq!(s.data.values.len(), 3);
        }
    }
    let index = fs_err::read_to_string(dir.path().join("demo/report/index.html")).unwrap();
    for needle in [
        "linf-2d.json",
        "l2-1d.json",
        "train.json",
        "relate.json",
        "compare",
    ] {
        assert!(index.contains(needle), "the report lacks {needle}");
    }
    let (results, files) = (
        index
            .find("<section id=\"results\">")
            .expect("a results section"),
        index.find("<section id=\"files\">").expect("a file list"),
    );
    assert!(results < files, "the page does not open on its results");
    assert!(index[results..files].contains("Test accuracy"));
    assert!(index[results..files].contains("L∞ ε=0.1 worst case"));
}
