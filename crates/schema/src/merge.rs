//! Joining the shards of one surface (`surface --shard I/N`) into the complete report,
//! refusing shards that do not belong together.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::report::{Cost, Report, read_report};
use crate::surface::{Shard, SurfaceReport};

/// The shard reports at `paths`, each read, checked ([`SurfaceReport::check_contents`]) and
/// paired with its path, ready for [`merge_shards`].
///
/// # Errors
/// A file that is not a surface report, or not a valid surface shard, naming it.
pub fn read_shards(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Report<SurfaceReport>)>> {
    paths
        .iter()
        .map(|p| {
            let report = read_report::<SurfaceReport>(p, "surface")?;
            if let Err(rule) = report.data.check_contents() {
                return Err(Error::format(
                    p,
                    format!("not a valid surface shard: {rule}"),
                ));
            }
            Ok((p.clone(), report))
        })
        .collect()
}

/// The complete surface made of `shards` (each with the path it was read from, for messages),
/// its metadata the first shard's with their durations and costs summed and the shards named
/// in `config.merged_from`.
///
/// # Errors
/// Shards of different surfaces (checkpoint, directions, grid, attack, objectives, data,
/// shard count), a point present twice, or points missing from the union.
pub fn merge_shards(shards: &[(PathBuf, Report<SurfaceReport>)]) -> Result<Report<SurfaceReport>> {
    let Some((first_path, first)) = shards.first() else {
        return Err(Error::invalid("shards", "no shards given"));
    };
    // Every setting that decides a value (batch size and seed included) is in the fingerprint
    // that `surface` also resumes by; the named checks before it say which part differs.
    let fingerprint = |path: &PathBuf, report: &Report<SurfaceReport>| {
        report
            .meta
            .config
            .get("fingerprint")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::format(
                    path,
                    "records no fingerprint (written by an older advland); recompute it",
                )
            })
    };
    let reference_fingerprint = fingerprint(first_path, first)?;
    let identity = |r: &SurfaceReport| {
        let mut r = r.clone();
        r.points.clear();
        for v in &mut r.values {
            v.loss.clear();
            v.accuracy.clear();
        }
        r.shard = Shard::WHOLE;
        r
    };
    let reference = identity(&first.data);
    let mut points: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    let mut cost = Cost::default();
    let mut duration = 0.0;
    let mut seen_shards = Vec::new();
    for (s, (path, report)) in shards.iter().enumerate() {
        let r = &report.data;
        let other = identity(r);
        for (what, same) in [
            (
                "checkpoint hash",
                other.checkpoint_hash == reference.checkpoint_hash,
            ),
            ("directions", other.directions == reference.directions),
            ("grid", other.x == reference.x && other.y == reference.y),
            ("objectives", other.values == reference.values),
            ("attack", other.attack == reference.attack),
            (
                "data subset",
                other.examples == reference.examples && report.meta.data == first.meta.data,
            ),
            ("precision", other.precision == reference.precision),
            ("shard count", r.shard.count == first.data.shard.count),
            (
                "fingerprint (batch size, seed or another setting)",
                fingerprint(path, report)? == reference_fingerprint,
            ),
        ] {
            if !same {
                return Err(Error::format(
                    path,
                    format!(
                        "not a shard of the same surface as {}: other {what}",
                        first_path.display()
                    ),
                ));
            }
        }
        if seen_shards.contains(&r.shard.index) {
            return Err(Error::format(
                path,
                format!("shard {} given twice", r.shard),
            ));
        }
        seen_shards.push(r.shard.index);
        // check_contents vouched that each point is the shard's, once, with its values.
        for (i, &k) in r.points.iter().enumerate() {
            points.insert(k, (s, i));
        }
        cost += report.meta.cost;
        duration += report.meta.duration_s;
    }
    let total = reference.grid_len();
    if points.len() != total {
        let missing: Vec<String> = (0..total)
            .filter(|k| !points.contains_key(k))
            .take(5)
            .map(|k| k.to_string())
            .collect();
        return Err(Error::invalid(
            "shards",
            format!(
                "the shards hold {} of {total} grid points (missing e.g. {}); merge all {} \
                 shards after they have finished",
                points.len(),
                missing.join(", "),
                first.data.shard.count
            ),
        ));
    }
    let mut data = reference;
    data.points = points.keys().copied().collect();
    for (o, values) in data.values.iter_mut().enumerate() {
        for &(s, i) in points.values() {
            let from = &shards[s].1.data.values[o];
            values.loss.push(from.loss[i]);
            if let Some(&a) = from.accuracy.get(i) {
                values.accuracy.push(a);
            }
        }
    }
    let mut meta = first.meta.clone();
    meta.duration_s = duration;
    meta.cost = cost;
    meta.config["merged_from"] = serde_json::json!(
        shards
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
    );
    Ok(Report::of(meta, data))
}
