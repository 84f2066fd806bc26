//! `advland export-grid`: a complete surface's loss and accuracy grids and their axes as NumPy
//! `.npy` files and/or CSV, with a JSON sidecar (`grid.json`) that names every file and
//! carries the axes and the surface's provenance.
//!
//! Layout: C order, 2-D arrays indexed `[j, i]` = the point (x[i], y[j]) (y outer, the order
//! of [`SurfaceReport::dense`]), so `matplotlib`'s `contourf(x, y, z)` takes them as they are;
//! 1-D surfaces give 1-D arrays. A shard or any other incomplete surface is refused: NaN
//! standing for a missing point would read as a real value to anyone who skips the sidecar.

use std::path::{Path, PathBuf};

use advland_schema::grid::{arrays, csv_text, grid_shape, npy_bytes};
use advland_schema::{
    Axis, DirectionsInfo, Meta, ObjectiveKind, PgdSettings, Precision, SurfaceReport, file_sha256,
    read_report, to_json_bytes, write_atomic,
};
use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;

/// `advland export-grid`.
#[derive(Debug, Args)]
pub struct ExportGridArgs {
    /// A complete surface report (`advland surface` or `advland merge`); shards are refused.
    pub surface: PathBuf,
    /// File formats, comma separated: `npy` (numpy.load) and/or `csv` (numpy.loadtxt with
    /// delimiter=",", values in shortest round-trip decimal form).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "npy")]
    pub format: Vec<GridFormat>,
    /// Output directory: `x`, `y` (2-D), `<objective>-loss`, `<objective>-accuracy` per
    /// format, and `grid.json`. Files of the same names are replaced.
    #[arg(long)]
    pub out: PathBuf,
}

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum GridFormat {
    /// NumPy `.npy` version 1.0, little-endian f64.
    Npy,
    /// Comma-separated decimal text: a row per y, a column per x; one value a line in 1-D.
    Csv,
}

impl GridFormat {
    fn extension(self) -> &'static str {
        match self {
            GridFormat::Npy => "npy",
            GridFormat::Csv => "csv",
        }
    }
}

/// The sidecar's name in the output directory.
pub const SIDECAR: &str = "grid.json";

/// Identifies the sidecar's layout; readers check it.
const SIDECAR_FORMAT: &str = "advland-grid-export";
const SIDECAR_VERSION: u32 = 1;

/// The sidecar: what each file holds and where the surface came from.
#[derive(Serialize)]
struct Sidecar<'a> {
    format: &'static str,
    format_version: u32,
    /// The surface report as given on the command line, and its SHA-256.
    surface: String,
    surface_sha256: String,
    layout: &'static str,
    /// Shape of every grid array.
    shape: Vec<usize>,
    x: AxisEntry,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<AxisEntry>,
    arrays: Vec<ArrayEntry>,
    source: Source<'a>,
    /// advland's version and the command line of this export.
    exported_by: Exporter,
}

#[derive(Serialize)]
struct AxisEntry {
    min: f64,
    max: f64,
    points: usize,
    files: Vec<String>,
}

#[derive(Serialize)]
struct ArrayEntry {
    name: String,
    objective: ObjectiveKind,
    quantity: &'static str,
    files: Vec<String>,
}

/// The surface's identity (everything but its values) and its report's provenance.
#[derive(Serialize)]
struct Source<'a> {
    checkpoint: &'a str,
    checkpoint_hash: &'a str,
    epoch: usize,
    theta_norm: f64,
    directions: &'a DirectionsInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    attack: Option<&'a PgdSettings>,
    precision: Precision,
    examples: usize,
    meta: &'a Meta,
}

#[derive(Serialize)]
struct Exporter {
    advland_version: &'static str,
    command: Vec<String>,
}

/// Runs `advland export-grid`.
pub fn run(args: &ExportGridArgs) -> Result<()> {
    let mut formats = args.format.clone();
    formats.sort();
    formats.dedup();
    if formats.is_empty() {
        bail!("--format: give npy, csv or both");
    }
    let report = read_report::<SurfaceReport>(&args.surface, "surface")?;
    let s = &report.data;
    if let Err(rule) = s.check_contents() {
        bail!("{}: not a valid surface: {rule}", args.surface.display());
    }
    let arrays = arrays(s).map_err(|e| anyhow::anyhow!("{}: {e}", args.surface.display()))?;

    let file_names = |name: &str| -> Vec<String> {
        formats
            .iter()
            .map(|f| format!("{name}.{}", f.extension()))
            .collect()
    };
    let axis_entry = |a: &Axis, name: &str| AxisEntry {
        min: a.min,
        max: a.max,
        points: a.points,
        files: file_names(name),
    };
    let sidecar = Sidecar {
        format: SIDECAR_FORMAT,
        format_version: SIDECAR_VERSION,
        surface: args.surface.display().to_string(),
        surface_sha256: file_sha256(&args.surface)?,
        layout: "C order; a 2-D array's [j, i] is the point (x[i], y[j])",
        shape: grid_shape(s),
        x: axis_entry(&s.x, "x"),
        y: s.y.as_ref().map(|y| axis_entry(y, "y")),
        arrays: arrays
            .iter()
            .filter_map(|a| {
                Some(ArrayEntry {
                    name: a.name.clone(),
                    objective: a.objective?,
                    quantity: a.quantity,
                    files: file_names(&a.name),
                })
            })
            .collect(),
        source: Source {
            checkpoint: &s.checkpoint,
            checkpoint_hash: &s.checkpoint_hash,
            epoch: s.epoch,
            theta_norm: s.theta_norm,
            directions: &s.directions,
            attack: s.attack.as_ref(),
            precision: s.precision,
            examples: s.examples,
            meta: &report.meta,
        },
        exported_by: Exporter {
            advland_version: env!("CARGO_PKG_VERSION"),
            command: crate::meta::command_line(),
        },
    };
    let sidecar_path = args.out.join(SIDECAR);
    let sidecar_bytes = to_json_bytes(&sidecar, &sidecar_path)?;

    // Every file's bytes exist before the first is written, and each path is checked, so a
    // refusal leaves the directory as it was.
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for a in &arrays {
        for f in &formats {
            let bytes = match f {
                GridFormat::Npy => npy_bytes(&a.shape, &a.values),
                GridFormat::Csv => csv_text(&a.shape, &a.values).into_bytes(),
            };
            files.push((
                args.out.join(format!("{}.{}", a.name, f.extension())),
                bytes,
            ));
        }
    }
    for path in files.iter().map(|(p, _)| p).chain([&sidecar_path]) {
        advland_schema::check_output(path)?;
    }
    write_files(&sidecar_path, &files, &sidecar_bytes)?;
    println!(
        "{} arrays ({}) and {SIDECAR}: {}",
        arrays.len(),
        formats
            .iter()
            .map(|f| f.extension())
            .collect::<Vec<_>>()
            .join(", "),
        args.out.display()
    );
    Ok(())
}

/// Writes the arrays, then the sidecar. An older sidecar goes first, so a sidecar present
/// always describes files that were written completely (each through its own rename).
fn write_files(sidecar: &Path, files: &[(PathBuf, Vec<u8>)], sidecar_bytes: &[u8]) -> Result<()> {
    // A link stays and its target goes, as `write_atomic` writes through links.
    let target = advland_schema::resolve_output(sidecar)?;
    match std::fs::remove_file(&target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("{}: cannot replace it: {e}", target.display()),
    }
    for (path, bytes) in files {
        write_atomic(path, bytes)?;
    }
    write_atomic(sidecar, sidecar_bytes)?;
    Ok(())
}
