//! Redraws reports: `cargo run -p advland-plot --example render -- OUT INPUT...`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let out = args.next().ok_or("usage: render OUT INPUT...")?;
    let inputs: Vec<PathBuf> = args.collect();
    let summary = advland_plot::render(&inputs, &out)?;
    println!(
        "{} reports, {} figure files, {} skipped -> {}",
        summary.reports.len(),
        summary.figures.len(),
        summary.skipped.len(),
        summary.index.display()
    );
    Ok(())
}
