//! `advland export-grid` on a tiny surface: the `.npy` files carry numpy's exact header and the
//! report's values, the CSV the same numbers, the sidecar the axes and provenance; shards and
//! bad outputs are refused before anything is written.

use std::path::Path;

use advland_schema::{ObjectiveKind, Report, SurfaceReport, read_json};

use crate::surface::{SMALL_2D, surface, trained};
use crate::{advland, ok, snapshot, user_error};

/// The 2-D surface (4 × 3 points, clean and adversarial) and one shard of it.
fn surfaces(d: &Path) -> Report<SurfaceReport> {
    trained(d);
    let mut shard = vec!["--shard", "1/2"];
    shard.extend(SMALL_2D);
    surface(d, "shard.json", &shard);
    surface(d, "s.json", &SMALL_2D)
}

/// The f64 values of a `.npy` file whose header must be exactly `dict` (numpy's layout).
fn read_npy(path: &Path, dict: &str) -> Vec<f64> {
    let bytes = fs_err::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "{}", path.display());
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert_eq!(header.trim_end(), dict, "{}", path.display());
    assert!(header.ends_with('\n') && (10 + header_len) % 64 == 0);
    bytes[10 + header_len..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn read_csv(path: &Path) -> Vec<Vec<f64>> {
    fs_err::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
        .collect()
}

#[test]
fn export_grid_writes_npy_csv_and_a_sidecar_and_refuses_shards() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let report = surfaces(d);
    let s = &report.data;
    let stdout = ok(&advland(
        d,
        &[
            "export-grid",
            "s.json",
            "--format",
            "npy,csv",
            "--out",
            "grid",
        ],
    ));
    assert!(stdout.contains("6 arrays"), "{stdout}");
    let g = d.join("grid");

    let grid_dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
    for objective in [ObjectiveKind::Clean, ObjectiveKind::Adversarial] {
        for (quantity, accuracy) in [("loss", false), ("accuracy", true)] {
            let name = format!("{}-{quantity}", objective.as_str());
            let want = s.dense(objective, accuracy).unwrap();
            let got = read_npy(&g.join(format!("{name}.npy")), grid_dict);
            assert_eq!(got, want, "{name}.npy");
            let csv = read_csv(&g.join(format!("{name}.csv")));
            assert_eq!(csv.len(), 3, "{name}.csv: a row per y");
            assert_eq!(csv.concat(), want, "{name}.csv");
        }
    }
    let x = read_npy(
        &g.join("x.npy"),
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }",
    );
    assert_eq!(x, s.x.values());
    let y = read_npy(
        &g.join("y.npy"),
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
    );
    assert_eq!(y, s.y.unwrap().values());
    assert_eq!(read_csv(&g.join("y.csv")).concat(), y);

    let side: serde_json::Value = read_json(&g.join("grid.json")).unwrap();
    assert_eq!(side["format"], "advland-grid-export");
    assert_eq!(side["shape"], serde_json::json!([3, 4]));
    assert_eq!(side["x"]["points"], 4);
    assert_eq!(side["y"]["files"], serde_json::json!(["y.npy", "y.csv"]));
    assert_eq!(side["arrays"].as_array().unwrap().len(), 4);
    assert_eq!(
        side["source"]["checkpoint_hash"],
        s.checkpoint_hash.as_str()
    );
    assert_eq!(
        side["source"]["directions"]["hash"],
        s.directions.hash.as_str()
    );
    assert_eq!(side["source"]["meta"]["seed"], report.meta.seed);
    assert_eq!(side["exported_by"]["command"][1], "export-grid");

    // Refusals change nothing in the output directory.
    let before = snapshot(&g);
    let out = advland(d, &["export-grid", "shard.json", "--out", "grid"]);
    user_error(
        &out,
        &["shard.json", "6 of the grid's 12 points", "advland merge"],
    );
    fs_err::write(d.join("file"), "x").unwrap();
    let out = advland(d, &["export-grid", "s.json", "--out", "file/sub"]);
    user_error(&out, &["file", "is a file"]);
    let out = advland(d, &["export-grid", "run/train.json", "--out", "grid"]);
    user_error(&out, &["run/train.json", "not a `surface` report"]);
    assert_eq!(snapshot(&g), before);

    // 1-D surfaces give 1-D arrays; only the formats asked for are written.
    ok(&advland(
        d,
        &[
            "surface",
            "-q",
            "--checkpoint",
            "run",
            "--x",
            "-1:1:5",
            "--subset",
            "20",
            "--out",
            "line.json",
        ],
    ));
    ok(&advland(d, &["export-grid", "line.json", "--out", "line"]));
    let line: Report<SurfaceReport> = read_json(&d.join("line.json")).unwrap();
    let got = read_npy(
        &d.join("line/clean-loss.npy"),
        "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }",
    );
    assert_eq!(got, line.data.values[0].loss);
    assert!(!d.join("line/clean-loss.csv").exists());
    assert!(!d.join("line/y.npy").exists());
}
