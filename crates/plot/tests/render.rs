//! `render` on the demo fixtures and synthetic surfaces.

mod common;

use std::path::{Path, PathBuf};

use advland_plot::{Error, render};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
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
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
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
    let html = std::fs::read_to_string(&summary.index).unwrap();
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
        let bytes = std::fs::read(out.join(r)).unwrap_or_else(|e| panic!("{r}: {e}"));
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
    std::fs::write(
        inputs.join("future.json"),
        r#"{"schema_version": 9, "kind": "hologram", "meta": {}, "data": {}}"#,
    )
    .unwrap();
    std::fs::write(inputs.join("broken.json"), "{ not json").unwrap();
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
fn a_known_kind_that_does_not_parse_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = common::write_inputs(tmp.path());
    let text = std::fs::read_to_string(inputs.join("linf/sharpness-hessian-linf.json")).unwrap();
    let bad = text.replacen(
        "\"estimator\": \"hessian\"",
        "\"estimator\": \"crystal-ball\"",
        1,
    );
    assert_ne!(bad, text);
    let path = inputs.join("linf/bad-sharpness.json");
    std::fs::write(&path, bad).unwrap();
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
    let html = std::fs::read_to_string(&summary.index).unwrap();
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
    let html = std::fs::read_to_string(&summary.index).unwrap();
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
