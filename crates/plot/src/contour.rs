//! Contour lines of a gridded field by marching squares.

/// One piece of a contour line, in data coordinates.
pub type Segment = [(f64, f64); 2];

/// The segments where the field `z` crosses `level`.
///
/// `z` is row-major on the grid `x × y` (`z[j·nx + i]` at `(x[i], y[j])`), as
/// [`advland_schema::SurfaceReport::dense`] returns it. Crossings are interpolated linearly
/// along cell edges. A cell with a NaN corner (a missing grid point) has no contour: drawing a
/// line through a value nobody computed would invent data. The two ambiguous saddle cases are
/// resolved with the mean of the four corners (the usual asymptotic-decider shortcut).
///
/// Returns an empty list when the lengths disagree.
pub fn isolines(x: &[f64], y: &[f64], z: &[f64], level: f64) -> Vec<Segment> {
    let (nx, ny) = (x.len(), y.len());
    let mut out = Vec::new();
    if nx < 2 || ny < 2 || z.len() != nx * ny || !level.is_finite() {
        return out;
    }
    for j in 0..ny - 1 {
        for i in 0..nx - 1 {
            let corners = [
                (x[i], y[j], z[j * nx + i]),
                (x[i + 1], y[j], z[j * nx + i + 1]),
                (x[i + 1], y[j + 1], z[(j + 1) * nx + i + 1]),
                (x[i], y[j + 1], z[(j + 1) * nx + i]),
            ];
            if corners.iter().any(|c| !c.2.is_finite()) {
                continue;
            }
            cell_segments(&corners, level, &mut out);
        }
    }
    out
}

/// Adds the segments of one cell. `c` runs counter-clockwise from (i, j): edges 0 = bottom,
/// 1 = right, 2 = top, 3 = left.
fn cell_segments(c: &[(f64, f64, f64); 4], level: f64, out: &mut Vec<Segment>) {
    let above = |k: usize| c[k].2 >= level;
    let mut crossings: [Option<(f64, f64)>; 4] = [None; 4];
    for (edge, slot) in crossings.iter_mut().enumerate() {
        let (a, b) = (edge, (edge + 1) % 4);
        if above(a) != above(b) {
            let t = (level - c[a].2) / (c[b].2 - c[a].2);
            *slot = Some((
                c[a].0 + t * (c[b].0 - c[a].0),
                c[a].1 + t * (c[b].1 - c[a].1),
            ));
        }
    }
    match crossings {
        [Some(b), Some(r), Some(t), Some(l)] => {
            let centre_above = c.iter().map(|p| p.2).sum::<f64>() / 4.0 >= level;
            if centre_above == above(0) {
                out.push([b, r]);
                out.push([t, l]);
            } else {
                out.push([b, l]);
                out.push([r, t]);
            }
        }
        _ => {
            let mut found = crossings.iter().flatten();
            if let (Some(&p), Some(&q)) = (found.next(), found.next()) {
                out.push([p, q]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| -1.0 + 2.0 * i as f64 / (n - 1) as f64)
            .collect()
    }

    fn radial(x: &[f64], y: &[f64]) -> Vec<f64> {
        y.iter()
            .flat_map(|&b| x.iter().map(move |&a| a * a + b * b))
            .collect()
    }

    #[test]
    fn isolines_of_a_radial_field_are_circles() {
        let (x, y) = (grid(41), grid(31));
        let z = radial(&x, &y);
        for r in [0.3, 0.5, 0.8] {
            let segs = isolines(&x, &y, &z, r * r);
            assert!(!segs.is_empty());
            let mut length = 0.0;
            for [p, q] in &segs {
                for (a, b) in [p, q] {
                    let rad = (a * a + b * b).sqrt();
                    assert!((rad - r).abs() < 2e-3, "point at radius {rad}, want {r}");
                }
                length += ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt();
            }
            let circumference = 2.0 * std::f64::consts::PI * r;
            assert!(
                (length / circumference - 1.0).abs() < 0.01,
                "length {length} vs {circumference}"
            );
        }
    }

    #[test]
    fn levels_outside_the_field_give_nothing() {
        let (x, y) = (grid(5), grid(5));
        let z = radial(&x, &y);
        assert!(isolines(&x, &y, &z, 3.0).is_empty());
        assert!(isolines(&x, &y, &z, -1.0).is_empty());
        assert!(isolines(&x, &y, &z[1..], 0.5).is_empty());
    }

    #[test]
    fn cells_with_missing_points_have_no_contour() {
        let (x, y) = (grid(21), grid(21));
        let mut z = radial(&x, &y);
        // Knock out every point with x > 0: no segment may reach there.
        for j in 0..21 {
            for i in 11..21 {
                z[j * 21 + i] = f64::NAN;
            }
        }
        let segs = isolines(&x, &y, &z, 0.25);
        assert!(!segs.is_empty());
        assert!(segs.iter().flatten().all(|p| p.0 <= 1e-12));
    }

    #[test]
    fn saddles_are_split_by_the_centre_value() {
        // z = x·y: the zero level is the two axes; levels ±0.1 are hyperbola branches that
        // must never cross the axes.
        let (x, y) = (grid(20), grid(20));
        let z: Vec<f64> = y
            .iter()
            .flat_map(|&b| x.iter().map(move |&a| a * b))
            .collect();
        for seg in isolines(&x, &y, &z, 0.1) {
            for (a, b) in seg {
                assert!(a * b > 0.0, "({a}, {b}) is on the wrong side");
            }
        }
    }
}
