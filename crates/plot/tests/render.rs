//! `render` on the demo fixtures and synthetic surfaces.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use advland_plot::{Error, render};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn render_is_byte_for_byte_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = common::write_inputs(tmp.path());
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    render(std::slice::from_ref(&inputs), &a).unwrap();
    render(&[inputs], &b).unwrap();
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa, fb);
    assert!(fa.len() > 20, "{fa:?}");
    for f in &fa {
        let (x, y) = (
            fs_err::read(a.join(f)).unwrap(),
            fs_err::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{} differs between two renders", f.display());
    }
}

#[test]
fn index_references_every_figure_and_every_reference_is_a_valid_image() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = common::write_inputs(tmp.path());
    let out = tmp.path().join("out");
    let summary = render(&[inputs], &out).unwrap();
    let html = fs_err::read_to_string(&summary.index).unwrap();
    let refs = common::figure_refs(&html);
    let written: Vec<String> = summary
        .figures
        .iter()
        .map(|p| format!("figures/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    let mut sorted = written.clone();
    sorted.sort();
    assert_eq!(refs, sorted, "page and written figures disagree");
    for r in &refs {
        let bytes = fs_err::read(out.join(r)).unwrap_or_else(|e| panic!("{r}: {e}"));
        if r.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{r} is not a PNG");
        } else {
            let text = String::from_utf8(bytes).unwrap();
            assert!(
                text.starts_with("<svg") && text.trim_end().ends_with("</svg>"),
                "{r}"
            );
        }
    }
    let imgs = html.matches("<img ").count();
    assert_eq!(imgs * 2, summary.figures.len());
    // Every kind in the fixtures is drawn, the L∞/L2 comparison too.
    for needle in [
        "--training.svg",
        "--spectrum.svg",
        "--kappa.svg",
        "--distributions.svg",
        "--input-curves.svg",
        "--relation.svg",
        "--surface-2d-loss.svg",
        "--surface-2d-accuracy.svg",
        "--surface-3d.svg",
        "--surface-1d.svg",
        "--compare-2d.svg",
        "--compare-1d.svg",
    ] {
        assert!(html.contains(needle), "no {needle} in the page");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "external URL"
    );
    assert!(html.contains("data-figures"));
}

#[test]
fn non_reports_and_unknown_kinds_are_skipped_with_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = common::write_inputs(tmp.path());
    fs_err::write(
        inputs.join("future.json"),
        r#"{"schema_version": 9, "kind": "hologram", "meta": {}, "data": {}}"#,
    )
    .unwrap();
    fs_err::write(inputs.join("broken.json"), "{ not json").unwrap();
    let summary = render(&[inputs], &tmp.path().join("out")).unwrap();
    let reason = |name: &str| {
        summary
            .skipped
            .iter()
            .find(|s| s.path.ends_with(name))
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{name} not skipped: {:?}", summary.skipped))
    };
    assert!(reason("checkpoint.json").contains("envelope"));
    assert!(reason("config.resolved.json").contains("envelope"));
    assert!(reason("future.json").contains("hologram"));
    assert!(reason("broken.json").contains("JSON"));
    assert_eq!(summary.reports.len(), 11);
}

#[test]
fn known_kind_of_another_schema_version_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = common::write_inputs(tmp.path());
    let path = inputs.join("linf/sharpness-hessian-linf.json");
    let text = fs_err::read_to_string(&path).unwrap();
    let old = text.replacen("\"schema_version\": 1", "\"schema_version\": 99", 1);
    assert_ne!(old, text, "the fixture's version field moved");
    fs_err::write(&path, old).unwrap();
    let summary = render(&[inputs], &tmp.path().join("out")).unwrap();
    let skipped = summary
        .skipped
        .iter()
        .find(|s| s.path == path)
        .expect("the version-99 report was drawn");
    assert!(
        skipped.reason.contains("schema_version 99"),
        "{}",
        skipped.reason
    );
}

#[test]
fn inputs_without_any_report_are_an_error_and_write_no_page() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("notes.json");
    fs_err::write(&file, "{ not json").unwrap();
    let out = tmp.path().join("out");
    let err = render(&[file], &out).unwrap_err().to_string();
    assert!(
        err.contains("no advland report") && err.contains("notes.json (not valid JSON)"),
        "{err}"
    );
    assert!(!out.exists(), "a page was written");
}

#[test]
fn a_known_kind_that_does_not_parse_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = common::write_inputs(tmp.path());
    let text = fs_err::read_to_string(inputs.join("linf/sharpness-hessian-linf.json")).unwrap();
    let bad = text.replacen(
        "\"estimator\": \"hessian\"",
        "\"estimator\": \"crystal-ball\"",
        1,
    );
    assert_ne!(bad, text);
    let path = inputs.join("linf/bad-sharpness.json");
    fs_err::write(&path, bad).unwrap();
    let err = render(&[inputs], &tmp.path().join("out")).unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("bad-sharpness.json") && msg.contains("sharpness"),
        "{msg}"
    );
    assert!(msg.contains("crystal-ball"), "{msg}");
}

#[test]
fn a_sharded_surface_draws_with_missing_points_blank() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let s = common::surface(
        advland_schema::Norm::L2,
        9,
        true,
        advland_schema::Shard { index: 2, count: 4 },
    );
    assert!(!s.is_complete());
    common::write_surface(&dir.join("shard.json"), s);
    let summary = render(&[dir], &tmp.path().join("out")).unwrap();
    assert_eq!(summary.figures.len(), 6, "{:?}", summary.figures);
    let html = fs_err::read_to_string(&summary.index).unwrap();
    assert!(html.contains("(shard 2/4)"));
}

#[test]
fn strings_from_reports_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    common::write_surface(
        &dir.join("s.json"),
        common::surface(
            advland_schema::Norm::Linf,
            5,
            false,
            advland_schema::Shard::WHOLE,
        ),
    );
    let summary = render(&[dir], &tmp.path().join("out")).unwrap();
    let html = fs_err::read_to_string(&summary.index).unwrap();
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("&lt;b&gt;escaped&lt;/b&gt;"));
    assert_eq!(html.matches("<script>").count(), 1, "only our own script");
}

#[test]
fn a_missing_input_is_an_io_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = render(&[missing], &tmp.path().join("out")).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn linear_reports_draw_training_kappa_and_the_l2_scaling() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let norm = |name: &str, eps: f64| {
        serde_json::json!({
            "norm": name, "eps": eps,
            "trajectory": (0..5).map(|s| serde_json::json!({
                "step": s, "loss": 0.7 / (1.0 + s as f64), "w_norm": 1.0 + s as f64,
                "min_abs_weight": 0.01, "sign_changes": s % 2
            })).collect::<Vec<_>>(),
            "total_sign_changes": 2, "steps_with_sign_changes": 2,
            "last": {
                "loss": 0.2, "gradient_norm": 0.01, "clean_accuracy": 0.95, "robust_accuracy": 0.8,
                "w_norm": 5.0, "bias": 0.1, "mean_abs_slope": 0.2, "hessian_max_eigenvalue": 3.0,
                "lipschitz": [{"radius": 0.001, "kappa": 3.0}, {"radius": 0.1, "kappa": 2.0}],
                "jump": {"index": 3, "weight": 0.01, "t": 0.001, "predicted": 0.4, "measured": 0.39}
            }
        })
    };
    let scaling: Vec<serde_json::Value> = [1.0, 0.1, 0.01]
        .iter()
        .map(|s| {
            serde_json::json!({
                "scale": s, "w_norm": 5.0 * s, "radius": 0.05 * s, "kappa": 1.0 / s,
                "curvature_term": 0.9 / s, "bound": 60.0 + 1.0 / s
            })
        })
        .collect();
    let data = serde_json::json!({
        "dataset": "fashion-mnist-bundled/train", "classes": [0, 1],
        "class_names": ["T-shirt", "Trouser"], "examples": 200, "positives": 100,
        "features": 784, "max_input_norm": 15.0, "init_weight_norm": 0.1,
        "norms": [norm("linf", 0.1), norm("l2", 1.0)],
        "l2_scaling": scaling
    });
    let report = advland_schema::Report::new("linear", common::meta("advland linear"), data);
    advland_schema::write_json(&dir.join("linear.json"), &report).unwrap();
    let summary = render(&[dir], &tmp.path().join("out")).unwrap();
    let names: Vec<String> = summary
        .figures
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"in-linear--linear.svg".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"in-linear--l2-scaling.png".to_owned()),
        "{names:?}"
    );
    let html = fs_err::read_to_string(&summary.index).unwrap();
    assert!(html.contains("T-shirt vs Trouser"));
}

#[test]
fn the_page_opens_on_the_results_and_lists_the_files_below() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = common::write_inputs(tmp.path());
    let summary = render(&[inputs], &tmp.path().join("out")).unwrap();
    let html = fs_err::read_to_string(&summary.index).unwrap();
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("no {needle} in the page"))
    };
    let (results, files) = (at("<section id=\"results\">"), at("<section id=\"files\">"));
    assert!(results < files && at("<nav>") > files);
    assert!(
        html[..results]
            .find("<section")
            .is_none_or(|i| i == results)
    );
    let results_html = &html[results..files];
    // The quick demo's models with clean, both attacks and the worst case.
    for needle in [
        "<th>clean</th>",
        "<th>L∞ ε=0.1 PGD-10</th>",
        "<th>L2 ε=1 PGD-10</th>",
        "<th>worst case</th>",
        "<td>standard</td>",
        "<td>l2</td>",
        "<td>adversarial (frozen δ)</td>",
        "--compare-2d.svg",
    ] {
        assert!(results_html.contains(needle), "the results lack {needle}");
    }
    // The sharpness and flatness files the demo summarises are not listed again.
    assert!(
        !results_html.contains("<td>inputs/linf</td>"),
        "{results_html}"
    );
}
