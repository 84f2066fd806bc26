//! A complete surface's grids and axes as plain arrays, and their NumPy `.npy` and CSV
//! encodings (what `advland export-grid` writes).
//!
//! Layout: C order, 2-D arrays indexed `[j, i]` = the point (x[i], y[j]) (y outer, the order
//! of [`SurfaceReport::dense`]); 1-D surfaces give 1-D arrays.

use std::fmt::Write as _;

use crate::sharpness::ObjectiveKind;
use crate::surface::{Axis, SurfaceReport};

/// One array of the export.
#[derive(Debug, PartialEq)]
pub struct GridArray {
    /// File stem (`x`, `clean-loss`).
    pub name: String,
    /// The objective of a grid; `None` for an axis.
    pub objective: Option<ObjectiveKind>,
    /// `loss` or `accuracy` for a grid, `axis` for an axis.
    pub quantity: &'static str,
    /// `[ny, nx]` for 2-D grids, `[n]` for axes and 1-D grids.
    pub shape: Vec<usize>,
    /// C-order values.
    pub values: Vec<f64>,
}

/// The arrays of a complete surface: its axes, then loss and accuracy of each objective.
///
/// # Errors
/// A surface that is not complete (a shard, or a report with points missing), naming how
/// many points it holds and what to do.
pub fn arrays(surface: &SurfaceReport) -> std::result::Result<Vec<GridArray>, String> {
    if !surface.is_complete() {
        let shard = if surface.shard.count > 1 {
            format!(" (shard {})", surface.shard)
        } else {
            String::new()
        };
        return Err(format!(
            "holds {} of the grid's {} points{shard}; export-grid takes complete surfaces \
             only (join the shards with `advland merge` first)",
            surface.points.len(),
            surface.grid_len()
        ));
    }
    let shape = grid_shape(surface);
    let axis = |name: &str, a: &Axis| GridArray {
        name: name.to_owned(),
        objective: None,
        quantity: "axis",
        shape: vec![a.points],
        values: a.values(),
    };
    let mut out = vec![axis("x", &surface.x)];
    if let Some(y) = &surface.y {
        out.push(axis("y", y));
    }
    for v in &surface.values {
        for (quantity, accuracy) in [("loss", false), ("accuracy", true)] {
            if let Some(values) = surface.dense(v.objective, accuracy) {
                out.push(GridArray {
                    name: format!("{}-{quantity}", v.objective.as_str()),
                    objective: Some(v.objective),
                    quantity,
                    shape: shape.clone(),
                    values,
                });
            }
        }
    }
    Ok(out)
}

/// `[ny, nx]` of a 2-D surface, `[nx]` of a 1-D one.
pub fn grid_shape(surface: &SurfaceReport) -> Vec<usize> {
    match surface.y {
        Some(y) => vec![y.points, surface.x.points],
        None => vec![surface.x.points],
    }
}

/// Free header space numpy leaves after the dict (`GROWTH_AXIS_MAX_DIGITS` in
/// `numpy/lib/format.py`, numpy ≥ 1.24) so the first axis can grow in place; kept so the
/// files equal `numpy.save`'s byte for byte.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// `values` of `shape` as a NumPy `.npy` file, format version 1.0: magic, version, a
/// little-endian u16 header length, the header dict padded with spaces and ended by `\n` so
/// the data starts at a multiple of 64 bytes, then the values as little-endian f64 in C order.
///
/// # Panics
/// When `values.len()` differs from the product of `shape` (callers build both together).
pub fn npy_bytes(shape: &[usize], values: &[f64]) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<usize>(),
        values.len(),
        "an array's values fill its shape"
    );
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {dims}, }}");
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        header.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    // magic (6) + version (2) + length (2) + header + '\n', padded to 64 as numpy does: one
    // to 64 spaces, never zero.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(64 - unpadded % 64));
    header.push('\n');
    let header_len =
        u16::try_from(header.len()).expect("a header of at most 3 dimensions fits in u16");
    let mut out = Vec::with_capacity(10 + header.len() + 8 * values.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// `values` of `shape` as CSV text: a line per row of a 2-D array, one value a line in 1-D.
/// Rust prints the shortest decimal that parses back to the same f64, so `numpy.loadtxt`
/// returns exactly the `.npy` file's values.
pub fn csv_text(shape: &[usize], values: &[f64]) -> String {
    let width = if shape.len() == 2 { shape[1] } else { 1 };
    let mut out = String::new();
    for row in values.chunks(width.max(1)) {
        let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "{}", cells.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy 2.4's `np.save(f, np.array([[1.5, -2.0, 0.25], [3.0, 4.0, 5.0]]))`, written out
    /// by hand: the 59-byte dict, 20 growth spaces (21 − len("2")), 38 padding spaces and
    /// `\n` make 118 header bytes, so the data starts at byte 128.
    #[test]
    fn npy_bytes_match_a_hand_written_header() {
        let got = npy_bytes(&[2, 3], &[1.5, -2.0, 0.25, 3.0, 4.0, 5.0]);
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
        let mut header = String::from(dict);
        header.push_str(&" ".repeat(20));
        header.push_str(&" ".repeat(38));
        header.push('\n');
        assert_eq!(10 + header.len(), 128);
        let mut want = b"\x93NUMPY\x01\x00".to_vec();
        want.extend_from_slice(&118u16.to_le_bytes());
        want.extend_from_slice(header.as_bytes());
        for v in [1.5f64, -2.0, 0.25, 3.0, 4.0, 5.0] {
            want.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(got, want);
    }

    #[test]
    fn npy_one_dimensional_shapes_keep_the_trailing_comma() {
        let got = npy_bytes(&[21], &[0.0; 21]);
        let text = String::from_utf8_lossy(&got[10..128]);
        assert!(text.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (21,), }"));
        assert_eq!(u16::from_le_bytes([got[8], got[9]]), 118);
        assert_eq!(got.len(), 128 + 21 * 8);
    }

    #[test]
    fn npy_data_always_starts_on_a_64_byte_boundary() {
        for shape in [vec![1], vec![7, 9], vec![123_456, 1], vec![3, 4, 5]] {
            let n = shape.iter().product();
            let bytes = npy_bytes(&shape, &vec![1.0; n]);
            let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
            assert_eq!((10 + header_len) % 64, 0, "{shape:?}");
            assert_eq!(bytes[10 + header_len - 1], b'\n');
            assert_eq!(bytes.len(), 10 + header_len + 8 * n);
        }
    }

    #[test]
    fn csv_rows_follow_y_and_values_round_trip() {
        let values = [0.1, 1.0 / 3.0, -2.5e-12, 4.0];
        let text = csv_text(&[2, 2], &values);
        assert_eq!(text.lines().count(), 2);
        let parsed: Vec<f64> = text
            .lines()
            .flat_map(|l| l.split(','))
            .map(|c| c.parse().unwrap())
            .collect();
        assert_eq!(parsed, values);
        assert_eq!(csv_text(&[3], &[1.0, 2.0, 3.0]), "1\n2\n3\n");
    }
}
