//! Synthetic surface reports and the real demo fixtures, written into a temp dir.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use advland_schema::{
    Axis, Cost, DataSubset, DirectionKind, DirectionsInfo, IgnoreParams, Meta, Norm, Normalization,
    ObjectiveKind, PgdSettings, Precision, Report, Shard, SurfaceReport, SurfaceValues, write_json,
};

pub fn meta(command: &str) -> Meta {
    Meta {
        advland_version: "0.1.0".into(),
        burn_version: "0.22.1".into(),
        command: command.split(' ').map(str::to_owned).collect(),
        device: "cpu (burn flex)".into(),
        seed: 7,
        config: serde_json::json!({"surface": {"grid": "-1:1:21", "note": "<b>escaped</b>"}}),
        data: DataSubset {
            name: "fashion-mnist-bundled/test".into(),
            examples: 64,
            total: 1000,
            selection: "evenly-spaced".into(),
        },
        started_unix_s: 1_700_000_000,
        duration_s: 12.5,
        cost: Cost {
            forward: 1000,
            backward: 500,
        },
        weights: Vec::new(),
        provenance: Default::default(),
    }
}

fn directions(count: usize) -> DirectionsInfo {
    DirectionsInfo {
        kind: DirectionKind::Random,
        count,
        hash: format!("synthetic-{count}d"),
        norms: vec![12.5; count],
        normalization: Some(Normalization::Filter),
        ignore: Some(IgnoreParams::Biasbn),
        seed: Some(3),
        checkpoints: vec![],
        eigenvalues: vec![],
        cosine: (count == 2).then_some(0.01),
    }
}

/// Loss of each objective at (a, b): bowls of different widths, the adversarial one with a
/// ripple so contours are not plain ellipses; `scale` makes the L2 surface lower.
fn loss(o: ObjectiveKind, a: f64, b: f64, scale: f64) -> f64 {
    scale
        * match o {
            ObjectiveKind::Clean => 0.2 + a * a + 0.5 * b * b,
            ObjectiveKind::Adversarial => 0.6 + 2.0 * a * a + b * b + 0.3 * (3.0 * a).sin().abs(),
            ObjectiveKind::AdversarialFrozen => 0.5 + 1.5 * a * a + b * b,
        }
}

/// A surface report on `-1:1:n` (2-D when `two_d`), holding only the points of `shard`.
pub fn surface(norm: Norm, n: usize, two_d: bool, shard: Shard) -> SurfaceReport {
    let x = Axis {
        min: -1.0,
        max: 1.0,
        points: n,
    };
    let y = two_d.then_some(x);
    let (xs, ys) = (x.values(), y.map_or(vec![0.0], |y| y.values()));
    let eps = match norm {
        Norm::Linf => 8.0 / 255.0,
        Norm::L2 => 0.5,
    };
    let scale = match norm {
        Norm::Linf => 1.0,
        Norm::L2 => 0.7,
    };
    let points: Vec<usize> = (0..xs.len() * ys.len())
        .filter(|&k| shard.owns(k))
        .collect();
    let values = [
        ObjectiveKind::Clean,
        ObjectiveKind::Adversarial,
        ObjectiveKind::AdversarialFrozen,
    ]
    .into_iter()
    .map(|o| {
        let loss: Vec<f64> = points
            .iter()
            .map(|&k| loss(o, xs[k % xs.len()], ys[k / xs.len()], scale))
            .collect();
        let accuracy = loss
            .iter()
            .map(|l| (1.0 - l / 4.0).clamp(0.0, 1.0))
            .collect();
        SurfaceValues {
            objective: o,
            loss,
            accuracy,
        }
    })
    .collect();
    SurfaceReport {
        checkpoint: "runs/x/checkpoints/epoch-0003".into(),
        checkpoint_hash: "abc".into(),
        epoch: 3,
        theta_norm: 25.0,
        directions: directions(if two_d { 2 } else { 1 }),
        x,
        y,
        attack: Some(PgdSettings::new(norm, eps, 10)),
        precision: Precision::F32,
        bn_recompute: None,
        examples: 64,
        shard,
        points,
        values,
    }
}

pub fn write_surface(path: &Path, s: SurfaceReport) {
    let report = Report::new("surface", meta("advland surface --dims 2 <script>"), s);
    write_json(path, &report).unwrap();
}

/// The demo fixtures (copied from a real `advland demo --quick`) plus synthetic surfaces:
/// 2-D L∞ and L2 on shared directions, a 1-D pair, and a sharded 2-D surface.
pub fn write_inputs(dir: &Path) -> PathBuf {
    let root = dir.join("inputs");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo"),
        &root,
    );
    let s = root.join("surfaces");
    write_surface(
        &s.join("surface-2d-linf.json"),
        surface(Norm::Linf, 21, true, Shard::WHOLE),
    );
    write_surface(
        &s.join("surface-2d-l2.json"),
        surface(Norm::L2, 21, true, Shard::WHOLE),
    );
    write_surface(
        &s.join("surface-1d-linf.json"),
        surface(Norm::Linf, 41, false, Shard::WHOLE),
    );
    write_surface(
        &s.join("surface-1d-l2.json"),
        surface(Norm::L2, 41, false, Shard::WHOLE),
    );
    let mut sharded = surface(Norm::Linf, 15, true, Shard { index: 1, count: 3 });
    sharded.directions.hash = "sharded".into();
    write_surface(&s.join("surface-shard-1of3.json"), sharded);
    root
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).unwrap();
    for e in fs_err::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs_err::copy(e.path(), target).unwrap();
        }
    }
}

/// Every `src="..."`/`href="..."` value pointing into `figures/`.
pub fn figure_refs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap();
            if rest[..end].starts_with("figures/") {
                out.push(rest[..end].to_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
