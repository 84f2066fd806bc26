//! A complete surface's loss and accuracy grids and their axes as files (NumPy `.npy` and/or
//! CSV, encoded by [`crate::grid`]), with a JSON sidecar (`grid.json`) that names every file
//! and carries the axes and the surface's provenance: what `advland export-grid` writes.
//!
//! A shard or any other incomplete surface is refused: NaN standing for a missing point would
//! read as a real value to anyone who skips the sidecar.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::grid::{arrays, csv_text, grid_shape, npy_bytes};
use crate::hash::file_sha256;
use crate::output::{check_output, resolve_output, write_atomic};
use crate::report::{Meta, read_report, to_json_bytes};
use crate::sharpness::{ObjectiveKind, Precision};
use crate::surface::{Axis, DirectionsInfo, SurfaceReport};
use crate::threat::PgdSettings;

/// A file format of the export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum GridFormat {
    /// NumPy `.npy` version 1.0, little-endian f64.
    Npy,
    /// Comma-separated decimal text: a row per y, a column per x; one value a line in 1-D.
    Csv,
}

impl GridFormat {
    /// The file extension (`npy`, `csv`).
    pub fn extension(self) -> &'static str {
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
    /// The surface report as given by the caller, and its SHA-256.
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

/// What [`export_grid`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridExport {
    /// The arrays' names (`x`, `y`, `clean-loss`, …), each written once per format.
    pub arrays: Vec<String>,
    /// The formats written, sorted, each once.
    pub format: Vec<GridFormat>,
    /// Every array file, in the order of `arrays` then `format`.
    pub files: Vec<PathBuf>,
    /// The sidecar, written last.
    pub sidecar: PathBuf,
}

/// Exports the complete surface report at `surface` into the directory `out`: `x`, `y` (2-D),
/// `<objective>-loss` and `<objective>-accuracy` in each of `format`, and [`SIDECAR`]
/// recording `surface` as given, its SHA-256 and `command` (the command line of the export).
/// Files of the same names are replaced.
///
/// Layout: C order, 2-D arrays indexed `[j, i]` = the point (x[i], y[j]) (y outer, the order
/// of [`SurfaceReport::dense`]), so `matplotlib`'s `contourf(x, y, z)` takes them as they are;
/// 1-D surfaces give 1-D arrays.
///
/// Every file's bytes exist and every path is checked before the first is written, so a
/// refusal leaves `out` as it was; an older sidecar is removed first and the new one written
/// last, so a sidecar present always describes files written completely.
///
/// # Errors
/// [`Error::InvalidConfig`] for no format; a file that is not a valid surface report or not a
/// complete surface ([`Error::Format`], naming it); outputs that cannot be written.
pub fn export_grid(
    surface: &Path,
    format: &[GridFormat],
    out: &Path,
    command: Vec<String>,
) -> Result<GridExport> {
    let mut formats = format.to_vec();
    formats.sort();
    formats.dedup();
    if formats.is_empty() {
        return Err(Error::invalid("format", "give npy, csv or both"));
    }
    let report = read_report::<SurfaceReport>(surface, "surface")?;
    let s = &report.data;
    if let Err(rule) = s.check_contents() {
        return Err(Error::format(
            surface,
            format!("not a valid surface: {rule}"),
        ));
    }
    let arrays = arrays(s).map_err(|e| Error::format(surface, e))?;

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
        surface: surface.display().to_string(),
        surface_sha256: file_sha256(surface)?,
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
            command,
        },
    };
    let sidecar_path = out.join(SIDECAR);
    let sidecar_bytes = to_json_bytes(&sidecar, &sidecar_path)?;

    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for a in &arrays {
        for f in &formats {
            let bytes = match f {
                GridFormat::Npy => npy_bytes(&a.shape, &a.values),
                GridFormat::Csv => csv_text(&a.shape, &a.values).into_bytes(),
            };
            files.push((out.join(format!("{}.{}", a.name, f.extension())), bytes));
        }
    }
    for path in files.iter().map(|(p, _)| p).chain([&sidecar_path]) {
        check_output(path)?;
    }
    write_files(&sidecar_path, &files, &sidecar_bytes)?;
    Ok(GridExport {
        arrays: arrays.into_iter().map(|a| a.name).collect(),
        format: formats,
        files: files.into_iter().map(|(p, _)| p).collect(),
        sidecar: sidecar_path,
    })
}

/// Writes the arrays, then the sidecar. An older sidecar goes first, so a sidecar present
/// always describes files that were written completely (each through its own rename).
fn write_files(sidecar: &Path, files: &[(PathBuf, Vec<u8>)], sidecar_bytes: &[u8]) -> Result<()> {
    // A link stays and its target goes, as `write_atomic` writes through links.
    let target = resolve_output(sidecar)?;
    match fs_err::remove_file(&target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            // fs_err's message names the file again; keep only what went wrong.
            let why =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string);
            return Err(Error::output(&target, format!("cannot replace it: {why}")));
        }
    }
    for (path, bytes) in files {
        write_atomic(path, bytes)?;
    }
    write_atomic(sidecar, sidecar_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_format_and_missing_reports_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("grid");
        let missing = dir.path().join("missing.json");
        let err = export_grid(&missing, &[], &out, Vec::new()).unwrap_err();
        assert_eq!(err.to_string(), "format: give npy, csv or both");
        let err = export_grid(&missing, &[GridFormat::Npy], &out, Vec::new()).unwrap_err();
        assert!(err.to_string().contains("missing.json"), "{err}");
        assert!(!out.exists());
    }

    #[test]
    fn extensions_name_the_formats() {
        assert_eq!(GridFormat::Npy.extension(), "npy");
        assert_eq!(GridFormat::Csv.extension(), "csv");
        assert!(GridFormat::Npy < GridFormat::Csv);
    }
}
