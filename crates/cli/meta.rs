//! Report metadata the CLI knows: versions, command line, device, time.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use advland_analysis::Measured;
use advland_schema::{Cost, DataSubset, Meta, Payload, Report};
use serde::Serialize;

/// burn's version, pinned exactly in the workspace manifest.
pub const BURN_VERSION: &str = "0.22.1";

/// The command line reports record, the program named `advland` whatever path started it (an
/// experiment's steps run the binary by its full path).
pub fn command_line() -> Vec<String> {
    std::env::args()
        .enumerate()
        .map(|(i, a)| if i == 0 { "advland".to_owned() } else { a })
        .collect()
}

/// Metadata with zero duration and cost (filled in by whoever finishes the work).
///
/// # Panics
/// If `config` cannot be represented as JSON (a map with non-string keys): configs are our
/// own plain structs, so that is a programming error.
pub fn meta<C: Serialize>(device: &str, seed: u64, config: &C, data: DataSubset) -> Meta {
    Meta {
        advland_version: env!("CARGO_PKG_VERSION").to_owned(),
        burn_version: BURN_VERSION.to_owned(),
        command: command_line(),
        device: device.to_owned(),
        seed,
        config: serde_json::to_value(config).expect("run configs serialise to JSON"),
        data,
        started_unix_s: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        duration_s: 0.0,
        cost: Cost::default(),
    }
}

/// The report of a library result: `config` (the analysis configuration) recorded whole,
/// duration counted from `start`.
pub fn report<T: Payload, C: Serialize>(
    measured: Measured<T>,
    config: &C,
    seed: u64,
    device: &str,
    start: Instant,
) -> Report<T> {
    let Measured { report, cost, data } = measured;
    let mut meta = meta(device, seed, config, data);
    meta.duration_s = start.elapsed().as_secs_f64();
    meta.cost = cost;
    Report::of(meta, report)
}

/// A command's arguments as report configuration: every field by name, flags not given
/// (`None`) left out, since reports hold no `null`.
///
/// # Panics
/// If `args` cannot be represented as JSON: argument structs are plain data, so that is a
/// programming error.
pub fn args_config<T: Serialize>(args: &T) -> serde_json::Value {
    fn drop_nulls(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.retain(|_, x| !x.is_null());
                map.values_mut().for_each(drop_nulls);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(args).expect("argument structs serialise to JSON");
    drop_nulls(&mut value);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Flags {
        k: usize,
        out: Option<String>,
        radii: Vec<Option<f64>>,
    }

    #[test]
    fn args_config_names_every_given_flag_and_drops_absent_ones() {
        let v = args_config(&Flags {
            k: 5,
            out: None,
            radii: vec![Some(0.5)],
        });
        assert_eq!(v, serde_json::json!({"k": 5, "radii": [0.5]}));
    }
}
