//! One figure drawn once into both an SVG and a PNG, and written atomically.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingBackend, IntoDrawingArea, SVGBackend};

use crate::error::{Error, Result};
use crate::theme;

/// Something that can draw itself on any plotters backend. The same code paints the SVG and
/// the PNG, so the two files of a figure never disagree.
pub trait Drawing {
    /// Pixel size of the figure.
    fn size(&self) -> (u32, u32);
    /// Paints the whole figure on `root` (already sized to [`Drawing::size`]).
    ///
    /// # Errors
    /// plotters' message, as text: backends have different error types.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String>;
}

/// Turns plotters' backend-specific errors into text, so drawing code can use `?` uniformly.
pub(crate) trait Drawn<T> {
    /// The value, or the error's message.
    fn drawn(self) -> std::result::Result<T, String>;
}

impl<T, E: std::fmt::Display> Drawn<T> for std::result::Result<T, E> {
    fn drawn(self) -> std::result::Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// A rendered figure: its file stem, alt text, and the SVG and PNG bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    /// File stem (`NAME.svg`, `NAME.png`); only `[a-z0-9._-]`.
    pub name: String,
    /// One-line description, used as alt text and caption.
    pub title: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The SVG document.
    pub svg: String,
    /// The PNG file.
    pub png: Vec<u8>,
}

impl Figure {
    /// Draws `drawing` into an SVG and a PNG.
    ///
    /// # Errors
    /// [`Error::Draw`] naming the figure when plotters fails, [`Error::Font`] when the bundled
    /// font cannot be loaded.
    pub fn render(name: &str, title: &str, drawing: &impl Drawing) -> Result<Figure> {
        theme::ensure_font()?;
        let (width, height) = drawing.size();
        let fail = |message: String| Error::Draw {
            figure: name.to_owned(),
            message,
        };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            drawing.draw(&root).map_err(fail)?;
            root.present().drawn().map_err(fail)?;
        }
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
            drawing.draw(&root).map_err(fail)?;
            root.present().drawn().map_err(fail)?;
        }
        let png =
            encode_png(&rgb, width, height).map_err(|e| fail(format!("PNG encoding: {e}")))?;
        Ok(Figure {
            name: name.to_owned(),
            title: title.to_owned(),
            width,
            height,
            svg,
            png,
        })
    }

    /// Writes `DIR/NAME.svg` and `DIR/NAME.png` atomically and returns both paths.
    ///
    /// # Errors
    /// IO errors naming the file.
    pub fn write(&self, dir: &Path) -> Result<[PathBuf; 2]> {
        let svg = dir.join(format!("{}.svg", self.name));
        let png = dir.join(format!("{}.png", self.name));
        advland_schema::write_atomic(&svg, self.svg.as_bytes())?;
        advland_schema::write_atomic(&png, &self.png)?;
        Ok([svg, png])
    }
}

/// Encodes an RGB buffer with fixed settings and no timestamp chunk, so equal pixels give
/// equal bytes.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().drawn()?;
    writer.write_image_data(rgb).drawn()?;
    writer.finish().drawn()?;
    Ok(out)
}
