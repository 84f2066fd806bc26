//! The report page (figures and `index.html`) drawn from report files: shared by `report`,
//! `compare` and `demo`.

use std::path::PathBuf;

use advland_plot::{LogScale, RenderOptions, render_with};
use anyhow::Result;
use clap::ValueEnum;

/// `--log-colour`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogColour {
    /// Log when the values span more than two decades.
    Auto,
    /// Always log10.
    Always,
    /// Always linear.
    Never,
}

/// Renders the report of `inputs` into `out`.
pub fn write(
    inputs: &[PathBuf],
    out: &std::path::Path,
    log_colour: LogColour,
) -> Result<advland_plot::RenderSummary> {
    let options = RenderOptions {
        log_colour: match log_colour {
            LogColour::Auto => LogScale::Auto,
            LogColour::Always => LogScale::Always,
            LogColour::Never => LogScale::Never,
        },
    };
    Ok(render_with(inputs, out, &options)?)
}
