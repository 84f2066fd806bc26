//! `advland compare`: every measure of several runs per checkpoint, in one table. A run is a
//! training directory (`train.json`) plus whatever analysis reports lie under it (sharpness,
//! flatness, eval, surface, perturbation, connectivity); each report is attached to its
//! checkpoint's epoch (a connectivity report to its start's). Runs must have been evaluated on
//! the same test data with the same attacks, and their surfaces must share directions:
//! comparing across different subsets or directions is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::attack::AttackSpec;
use crate::connectivity::ConnectivityReport;
use crate::error::{Error, Result};
use crate::flatness::{FlatnessReport, InputPoint};
use crate::metrics::{EvalReport, TrainLog};
use crate::perturbation::PerturbationReport;
use crate::report::{DataSubset, Report, read_json};
use crate::sharpness::{SharpnessEstimate, SharpnessReport};
use crate::surface::SurfaceReport;

/// One checkpoint of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareRow {
    /// The run (its directory as given).
    pub run: String,
    /// Epoch of the checkpoint.
    pub epoch: usize,
    /// Measure name → value; a measure not taken at this checkpoint is absent.
    pub values: BTreeMap<String, f64>,
}

/// Payload of a `compare` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareReport {
    /// The runs, in the order given.
    pub runs: Vec<String>,
    /// Every measure name that occurs, sorted.
    pub measures: Vec<String>,
    /// One row per run and epoch, runs in order, epochs increasing.
    pub rows: Vec<CompareRow>,
    /// The test data every run was evaluated on (checked equal across runs).
    pub data: DataSubset,
    /// The surface directions hash the runs share, when they have surfaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<String>,
}

/// Data and attacks a run's per-epoch evaluation used: must agree across compared runs.
fn evaluation_identity(log: &Report<TrainLog>) -> (serde_json::Value, serde_json::Value) {
    let config = &log.meta.config;
    let data = serde_json::json!({
        "dataset": config["data"]["dataset"],
        "test_subset": config["data"]["test_subset"],
        "eval_subset": config["eval"]["subset"],
    });
    (data, config["eval"]["attacks"].clone())
}

/// The comparison table of `runs`.
///
/// # Errors
/// A directory without `train.json`, unreadable reports, runs on different data, attacks or
/// surface directions.
pub fn compare_runs(runs: &[PathBuf]) -> Result<CompareReport> {
    let mut rows = Vec::new();
    let mut identity: Option<(PathBuf, (serde_json::Value, serde_json::Value))> = None;
    let mut directions: Option<(PathBuf, String)> = None;
    let mut examples = 0;
    let mut dataset = String::new();
    for run in runs {
        let train = run.join("train.json");
        if !train.is_file() {
            return Err(Error::format(run, "no train.json, so not a run directory"));
        }
        let log: Report<TrainLog> = read_json(&train)?;
        let this = evaluation_identity(&log);
        dataset = this.0["dataset"].as_str().unwrap_or_default().to_owned();
        match &identity {
            None => identity = Some((run.clone(), this)),
            Some((first, id)) => {
                if id.0 != this.0 {
                    return Err(Error::format(
                        run,
                        format!(
                            "evaluated on other test data than {} ({} vs {}); compare runs on \
                             the same data subset",
                            first.display(),
                            this.0,
                            id.0
                        ),
                    ));
                }
                if id.1 != this.1 {
                    return Err(Error::format(
                        run,
                        format!(
                            "evaluated under other attacks than {}; compare runs evaluated alike",
                            first.display()
                        ),
                    ));
                }
            }
        }
        let mut by_epoch: BTreeMap<usize, BTreeMap<String, f64>> = BTreeMap::new();
        for e in &log.data.epochs {
            examples = e.test.clean.examples;
            let v = by_epoch.entry(e.epoch).or_default();
            v.insert("train objective loss".into(), e.train_objective.loss);
            for (split, result) in e.evaluations() {
                v.insert(format!("{split} clean accuracy"), result.clean.accuracy);
                v.insert(format!("{split} clean loss"), result.clean.loss);
                for r in &result.robust {
                    v.insert(
                        format!("{split} {} accuracy", r.attack.threat()),
                        r.metrics.accuracy,
                    );
                }
            }
        }
        for path in reports_under(run)? {
            add_report(&path, &mut by_epoch, &mut directions)?;
        }
        rows.extend(by_epoch.into_iter().map(|(epoch, values)| CompareRow {
            run: run.display().to_string(),
            epoch,
            values,
        }));
    }
    let mut measures: Vec<String> = rows.iter().flat_map(|r| r.values.keys().cloned()).collect();
    measures.sort();
    measures.dedup();
    Ok(CompareReport {
        runs: runs.iter().map(|p| p.display().to_string()).collect(),
        measures,
        rows,
        data: DataSubset {
            name: format!("{dataset}/test"),
            examples,
            total: examples,
            selection: "evenly-spaced".to_owned(),
        },
        directions: directions.map(|(_, h)| h),
    })
}

/// Every `*.json` below `dir`, sorted.
fn reports_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let io = |source| Error::Io {
            path: d.clone(),
            source,
        };
        for entry in std::fs::read_dir(&d).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn add_report(
    path: &Path,
    by_epoch: &mut BTreeMap<usize, BTreeMap<String, f64>>,
    directions: &mut Option<(PathBuf, String)>,
) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let Ok(mut envelope) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(());
    };
    let kind = envelope["kind"].as_str().unwrap_or_default().to_owned();
    let data = envelope["data"].take();
    match kind.as_str() {
        "sharpness" => {
            let r: SharpnessReport = serde_json::from_value(data)
                .map_err(|e| Error::format(path, format!("not a sharpness report: {e}")))?;
            let o = &r.objective;
            let suffix = match &o.attack {
                Some(a) => format!("{} {}", o.kind.as_str(), a.threat()),
                None => o.kind.as_str().to_owned(),
            };
            let v = by_epoch.entry(o.epoch).or_default();
            match &r.estimate {
                SharpnessEstimate::Hessian(h) => {
                    if let Some(l) = h.eigenvalues.first() {
                        v.insert(format!("λ1 {suffix}"), l.value);
                    }
                }
                SharpnessEstimate::Trace(t) => {
                    v.insert(format!("trace {suffix}"), t.mean);
                }
                SharpnessEstimate::Lipschitz(l) => {
                    if let Some(e) = &l.local_entropy {
                        v.insert(
                            format!("κ local-entropy γ={} {suffix}", e.gamma),
                            e.kappa_max,
                        );
                    }
                    for s in &l.objectives {
                        let name = match &o.attack {
                            Some(a) => format!("κ {} {}", s.kind.as_str(), a.threat()),
                            None => format!("κ {}", s.kind.as_str()),
                        };
                        v.insert(name, s.kappa_max);
                    }
                }
                SharpnessEstimate::WorstCase(w) | SharpnessEstimate::AverageCase(w) => {
                    let name = match &r.estimate {
                        SharpnessEstimate::WorstCase(_) => "worst-case",
                        _ => "average-case",
                    };
                    v.insert(
                        format!(
                            "{name} sharpness {} ρ={} m={} {suffix}",
                            w.ball.as_str(),
                            w.rho,
                            w.m
                        ),
                        w.increase.mean,
                    );
                }
                SharpnessEstimate::Awp(w) => {
                    let at = format!("γ={} m={} {suffix}", w.rho, w.m);
                    v.insert(format!("AWP increase {at}"), w.increase.mean);
                    if let Some(one) = &w.one_step_increase {
                        v.insert(format!("AWP one-step increase {at}"), one.mean);
                    }
                }
                _ => {}
            }
        }
        "flatness" => {
            let r: FlatnessReport = serde_json::from_value(data)
                .map_err(|e| Error::format(path, format!("not a flatness report: {e}")))?;
            let v = by_epoch.entry(r.epoch).or_default();
            let attack = r.attack.threat();
            for p in &r.points {
                let at = match p.point {
                    InputPoint::Clean => "x",
                    InputPoint::Adversarial => "x+δ*",
                };
                v.insert(format!("input λtop at {at} {attack}"), p.hessian_top.median);
                v.insert(format!("input ‖∇ℓ‖₂ at {at} {attack}"), p.grad_l2.median);
            }
            if let Some(l) = &r.logit_lipschitz {
                v.insert(format!("logit Lipschitz {attack}"), l.estimate.median);
            }
        }
        "eval" => {
            let r: EvalReport = serde_json::from_value(data)
                .map_err(|e| Error::format(path, format!("not an eval report: {e}")))?;
            let v = by_epoch.entry(r.epoch).or_default();
            v.insert("eval clean accuracy".into(), r.result.clean.accuracy);
            for m in &r.result.robust {
                v.insert(
                    format!("eval {} accuracy", m.attack.threat()),
                    m.metrics.accuracy,
                );
            }
            // PGD's accuracies are above under their old names.
            for a in &r.result.attacks {
                if !matches!(a.attack, AttackSpec::Pgd(_)) {
                    v.insert(format!("eval {} accuracy", a.attack), a.metrics.accuracy);
                }
            }
            if let Some(w) = &r.result.worst_case {
                v.insert("eval worst-case accuracy".into(), w.metrics.accuracy);
            }
        }
        "surface" => {
            let r: SurfaceReport = serde_json::from_value(data)
                .map_err(|e| Error::format(path, format!("not a surface report: {e}")))?;
            match directions {
                None => *directions = Some((path.to_owned(), r.directions.hash.clone())),
                Some((first, hash)) if *hash != r.directions.hash => {
                    return Err(Error::format(
                        path,
                        format!(
                            "surface directions {} differ from those of {} ({}); reuse one \
                             directions file (`surface --load-directions`) for surfaces to \
                             compare",
                            &r.directions.hash[..12.min(r.directions.hash.len())],
                            first.display(),
                            &hash[..12.min(hash.len())]
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        "perturbation" => {
            let r: PerturbationReport = serde_json::from_value(data)
                .map_err(|e| Error::format(path, format!("not a perturbation report: {e}")))?;
            by_epoch
                .entry(r.epoch)
                .or_default()
                .extend(r.compare_measures());
        }
        "connectivity" => {
            let r: ConnectivityReport = serde_json::from_value(data)
                .map_err(|e| Error::format(path, format!("not a connectivity report: {e}")))?;
            by_epoch
                .entry(r.epoch)
                .or_default()
                .extend(r.compare_measures());
        }
        _ => {}
    }
    Ok(())
}

impl crate::report::Payload for CompareReport {
    const KIND: &'static str = "compare";
}
