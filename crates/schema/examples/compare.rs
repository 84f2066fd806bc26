//! Every measure of several training runs per checkpoint, read from their `train.json` and the
//! reports beside them, through the library alone: the table equals the `data` of
//! `advland compare RUN... --out DIR --no-figures` (tested in `tests/e2e/examples.rs`).
//!
//! `cargo run -p advland-schema --example compare -- OUT.json RUN_DIR...`

use std::path::PathBuf;

use advland_schema::compare::compare_runs;
use advland_schema::write_json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(PathBuf::from);
    let out = args.next().ok_or("usage: compare OUT.json RUN_DIR...")?;
    let runs: Vec<PathBuf> = args.collect();
    let table = compare_runs(&runs)?;
    for row in &table.rows {
        let measures: Vec<String> = row
            .values
            .iter()
            .map(|(name, value)| format!("{name} {value:.4}"))
            .collect();
        println!("{} epoch {}: {}", row.run, row.epoch, measures.join(", "));
    }
    write_json(&out, &table)?;
    Ok(())
}
