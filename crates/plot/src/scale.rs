//! Colour scales of heat maps: a value range (linear or log10) mapped onto viridis.

use plotters::style::RGBColor;

/// Viridis (matplotlib's default; perceptually uniform, readable in grey-scale), eight stops.
const VIRIDIS: [(u8, u8, u8); 8] = [
    (68, 1, 84),
    (70, 50, 127),
    (54, 92, 141),
    (39, 127, 143),
    (31, 162, 136),
    (74, 194, 110),
    (160, 219, 57),
    (254, 232, 37),
];

/// A value range mapped onto colours. Build one per figure from *all* its panels
/// ([`ColourScale::fit`] over every value), so equal colours mean equal values across panels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColourScale {
    /// Value at the bottom of the scale (data units, > 0 when `log`).
    pub min: f64,
    /// Value at the top of the scale.
    pub max: f64,
    /// Whether colours are spaced by log10 of the value (losses spanning decades).
    pub log: bool,
}

impl ColourScale {
    /// The smallest range holding every finite value (positive values only when `log`); `None`
    /// when there is no such value. A constant field gets a range of ±0.5 (±half a decade when
    /// `log`) around its value so that it still has a colour.
    pub fn fit<I: IntoIterator<Item = f64>>(values: I, log: bool) -> Option<ColourScale> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            if v.is_finite() && (!log || v > 0.0) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if lo > hi {
            return None;
        }
        if lo == hi {
            (lo, hi) = if log {
                (lo / 10f64.sqrt(), hi * 10f64.sqrt())
            } else {
                (lo - 0.5, hi + 0.5)
            };
        }
        Some(ColourScale {
            min: lo,
            max: hi,
            log,
        })
    }

    /// The value in scale space: log10 of it when `log`, itself otherwise (NaN for values the
    /// scale cannot show).
    pub fn transform(&self, v: f64) -> f64 {
        if self.log {
            if v > 0.0 { v.log10() } else { f64::NAN }
        } else {
            v
        }
    }

    /// Inverse of [`ColourScale::transform`].
    pub fn untransform(&self, t: f64) -> f64 {
        if self.log { 10f64.powf(t) } else { t }
    }

    /// Where `v` sits on the scale, in [0, 1] (clamped); `None` for NaN (missing grid points)
    /// and, on a log scale, for values ≤ 0.
    pub fn position(&self, v: f64) -> Option<f64> {
        let t = self.transform(v);
        if !t.is_finite() {
            return None;
        }
        let (a, b) = (self.transform(self.min), self.transform(self.max));
        Some(((t - a) / (b - a)).clamp(0.0, 1.0))
    }

    /// The colour of `v`; `None` where [`ColourScale::position`] is.
    pub fn colour(&self, v: f64) -> Option<RGBColor> {
        self.position(v).map(viridis)
    }

    /// `n` levels evenly spaced in scale space strictly inside the range (contour levels).
    pub fn levels(&self, n: usize) -> Vec<f64> {
        let (a, b) = (self.transform(self.min), self.transform(self.max));
        (1..=n)
            .map(|i| self.untransform(a + (b - a) * i as f64 / (n + 1) as f64))
            .collect()
    }
}

/// Viridis at `p` ∈ [0, 1], linearly interpolated between the stops.
pub fn viridis(p: f64) -> RGBColor {
    let p = if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let scaled = p * (VIRIDIS.len() - 1) as f64;
    let i = (scaled.floor() as usize).min(VIRIDIS.len() - 2);
    let f = scaled - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_scale_maps_ends_and_middle() {
        let s = ColourScale::fit([2.0, f64::NAN, 4.0, 3.0], false).unwrap();
        assert_eq!((s.min, s.max), (2.0, 4.0));
        assert_eq!(s.position(2.0), Some(0.0));
        assert_eq!(s.position(3.0), Some(0.5));
        assert_eq!(s.position(9.0), Some(1.0));
        assert_eq!(s.position(f64::NAN), None);
        assert_eq!(s.colour(2.0), Some(RGBColor(68, 1, 84)));
        assert_eq!(s.colour(4.0), Some(RGBColor(254, 232, 37)));
    }

    #[test]
    fn log_scale_spaces_decades_evenly_and_ignores_non_positive_values() {
        let s = ColourScale::fit([0.0, -1.0, 0.01, 1.0, 100.0], true).unwrap();
        assert_eq!((s.min, s.max), (0.01, 100.0));
        let p = |v| s.position(v).unwrap();
        assert!((p(0.1) - 0.25).abs() < 1e-12);
        assert!((p(1.0) - 0.5).abs() < 1e-12);
        assert_eq!(s.position(0.0), None);
        let levels = s.levels(3);
        for (l, want) in levels.iter().zip([0.1, 1.0, 10.0]) {
            assert!((l / want - 1.0).abs() < 1e-12, "{levels:?}");
        }
    }

    #[test]
    fn shared_scale_covers_every_panel_so_equal_values_get_equal_colours() {
        let linf = [0.5, 1.0, 2.0];
        let l2 = [0.2, 0.4, 0.8];
        let shared = ColourScale::fit(linf.iter().chain(&l2).copied(), false).unwrap();
        assert_eq!((shared.min, shared.max), (0.2, 2.0));
        let own = ColourScale::fit(l2, false).unwrap();
        // With its own scale, L2's maximum would look as hot as L∞'s.
        assert_eq!(own.colour(0.8), shared.colour(2.0));
        assert_ne!(shared.colour(0.8), shared.colour(2.0));
    }

    #[test]
    fn constant_and_empty_fields() {
        let c = ColourScale::fit([1.0, 1.0], false).unwrap();
        assert_eq!((c.min, c.max), (0.5, 1.5));
        assert!(ColourScale::fit([f64::NAN], false).is_none());
        assert!(ColourScale::fit([-1.0], true).is_none());
    }
}
