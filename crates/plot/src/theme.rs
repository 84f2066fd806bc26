//! The look shared by every figure: sizes, fonts and the categorical palette.
//!
//! Sizes are in pixels of an 800×600 figure, which prints at about 8×6 cm per 100 dpi: a
//! 16 px tick label stays above 7 pt when the figure is shrunk to one column of a paper.

use std::sync::OnceLock;

use plotters::style::{FontFamily, FontStyle, RGBColor, register_font};

use crate::error::{Error, Result};

/// Width of a single-chart figure.
pub const WIDTH: u32 = 800;
/// Height of a single-chart figure.
pub const HEIGHT: u32 = 600;
/// Width of one cell of a multi-panel figure.
pub const PANEL_WIDTH: u32 = 560;
/// Height of one cell of a multi-panel figure.
pub const PANEL_HEIGHT: u32 = 460;
/// Height of the figure title band.
pub const TITLE_BAND: u32 = 44;
/// Width of the colour bar band at the right of heat-map figures.
pub const COLOUR_BAR_BAND: u32 = 130;

/// Figure title.
pub const TITLE_PX: f64 = 24.0;
/// Chart captions (one per panel).
pub const CAPTION_PX: f64 = 20.0;
/// Axis descriptions.
pub const LABEL_PX: f64 = 18.0;
/// Tick labels and legends.
pub const TICK_PX: f64 = 16.0;

/// The font family every text uses; the bundled DejaVu Sans is registered under this name.
pub const FONT: FontFamily<'static> = FontFamily::SansSerif;

/// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies and in
/// grey-scale print (paired with dashes/markers where series overlap).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

/// The `i`-th palette colour (wrapping).
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the bundled DejaVu Sans with plotters once per process. Every glyph of every PNG
/// comes from this file, which is what makes the bitmaps identical across machines.
///
/// # Errors
/// [`Error::Font`] when the bundled file is not a valid font (a broken checkout).
pub fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FONT.as_str(), FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "not an OpenType/TrueType font".to_owned())
        })
        .clone()
        .map_err(Error::Font)
}
