//! Finding report files and reading them into their schema types.

use std::path::{Path, PathBuf};

use advland_schema::flatness::{FlatnessReport, RelationReport};
use advland_schema::linear::LinearReport;
use advland_schema::{
    DemoSummary, EvalReport, Meta, Report, SharpnessReport, SurfaceReport, TrainLog,
};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A JSON file found under an input path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Where it is.
    pub path: PathBuf,
    /// How the page names it: the input directory's name joined with the path below it
    /// (`demo-quick/linf/train.json`), or the file name for a file given directly. Never
    /// absolute, so the page does not depend on where the files live.
    pub name: String,
}

/// Every `*.json` file under `inputs` (files taken as given, directories walked recursively),
/// sorted by name within each input so the result does not depend on directory order.
///
/// # Errors
/// [`Error::Io`] naming a path that does not exist or cannot be listed.
pub fn find_json(inputs: &[PathBuf]) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| Error::Io {
            path: input.clone(),
            source,
        })?;
        let root_name = input
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| input.display().to_string());
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(input, &mut files)?;
            let mut found: Vec<Found> = files
                .into_iter()
                .map(|path| {
                    let rel = path.strip_prefix(input).unwrap_or(&path);
                    let rel: Vec<String> = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    Found {
                        name: format!("{root_name}/{}", rel.join("/")),
                        path,
                    }
                })
                .collect();
            found.sort_by(|a, b| a.name.cmp(&b.name));
            out.extend(found);
        } else {
            out.push(Found {
                path: input.clone(),
                name: root_name,
            });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        // file_type does not follow symlinks, so a link cycle cannot recurse forever.
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// A parsed report of any kind advland writes.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum AnyReport {
    Train(Report<TrainLog>),
    Eval(Report<EvalReport>),
    Demo(Report<DemoSummary>),
    Sharpness(Report<SharpnessReport>),
    Flatness(Report<FlatnessReport>),
    Relate(Report<RelationReport>),
    Linear(Report<LinearReport>),
    Surface(Report<SurfaceReport>),
    /// `advland compare`.
    Compare(Report<advland_schema::CompareReport>),
    /// `advland perturbation`.
    Perturbation(Report<advland_schema::perturbation::PerturbationReport>),
    /// `advland connect`.
    Connectivity(Report<advland_schema::connectivity::ConnectivityReport>),
    /// `advland calibrate`.
    Calibrate(Report<advland_schema::CalibrateReport>),
}

impl AnyReport {
    /// The envelope's provenance.
    pub fn meta(&self) -> &Meta {
        match self {
            AnyReport::Train(r) => &r.meta,
            AnyReport::Eval(r) => &r.meta,
            AnyReport::Demo(r) => &r.meta,
            AnyReport::Sharpness(r) => &r.meta,
            AnyReport::Flatness(r) => &r.meta,
            AnyReport::Relate(r) => &r.meta,
            AnyReport::Linear(r) => &r.meta,
            AnyReport::Surface(r) => &r.meta,
            AnyReport::Compare(r) => &r.meta,
            AnyReport::Perturbation(r) => &r.meta,
            AnyReport::Connectivity(r) => &r.meta,
            AnyReport::Calibrate(r) => &r.meta,
        }
    }

    /// The envelope's kind.
    pub fn kind(&self) -> &str {
        match self {
            AnyReport::Train(r) => &r.kind,
            AnyReport::Eval(r) => &r.kind,
            AnyReport::Demo(r) => &r.kind,
            AnyReport::Sharpness(r) => &r.kind,
            AnyReport::Flatness(r) => &r.kind,
            AnyReport::Relate(r) => &r.kind,
            AnyReport::Linear(r) => &r.kind,
            AnyReport::Surface(r) => &r.kind,
            AnyReport::Compare(r) => &r.kind,
            AnyReport::Perturbation(r) => &r.kind,
            AnyReport::Connectivity(r) => &r.kind,
            AnyReport::Calibrate(r) => &r.kind,
        }
    }
}

/// What a JSON file turned out to be.
#[derive(Debug)]
pub enum Classified {
    /// A report of a known kind.
    Report(Box<AnyReport>),
    /// Not a report (no envelope), or a kind this crate does not draw; the reason says which.
    Skip(String),
}

/// The envelope fields every report has.
const ENVELOPE: [&str; 4] = ["schema_version", "kind", "meta", "data"];

/// Reads `path`: a report if it has the envelope fields, parsed into its kind's type.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Parse`] naming the file, the kind and
/// serde's message when a file of a known kind does not match its schema.
pub fn classify(path: &Path) -> Result<Classified> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(Classified::Skip("not valid JSON".to_owned()));
    };
    let Some(object) = value.as_object() else {
        return Ok(Classified::Skip(
            "not a report (not a JSON object)".to_owned(),
        ));
    };
    if !ENVELOPE.iter().all(|k| object.contains_key(*k)) {
        return Ok(Classified::Skip(
            "not a report (no schema_version/kind/meta/data envelope)".to_owned(),
        ));
    }
    let Some(kind) = object.get("kind").and_then(|k| k.as_str()) else {
        return Ok(Classified::Skip(
            "not a report (`kind` is not a string)".to_owned(),
        ));
    };
    // Parse from the text, not the Value, so serde's message carries line and column.
    fn parse<T: DeserializeOwned>(path: &Path, kind: &str, text: &str) -> Result<Report<T>> {
        serde_json::from_str(text).map_err(|source| Error::Parse {
            path: path.to_owned(),
            kind: kind.to_owned(),
            source,
        })
    }
    const KINDS: [&str; 12] = [
        "train",
        "eval",
        "demo",
        "sharpness",
        "flatness",
        "relate",
        "linear",
        "surface",
        "compare",
        "perturbation",
        "connectivity",
        "calibrate",
    ];
    let version = object
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    if KINDS.contains(&kind) && version != Some(u64::from(advland_schema::SCHEMA_VERSION)) {
        return Ok(Classified::Skip(format!(
            "schema_version {}: this advland draws version {} only",
            version.map_or_else(|| "?".to_owned(), |v| v.to_string()),
            advland_schema::SCHEMA_VERSION
        )));
    }
    let report = match kind {
        "train" => AnyReport::Train(parse(path, kind, &text)?),
        "eval" => AnyReport::Eval(parse(path, kind, &text)?),
        "demo" => AnyReport::Demo(parse(path, kind, &text)?),
        "sharpness" => AnyReport::Sharpness(parse(path, kind, &text)?),
        "flatness" => AnyReport::Flatness(parse(path, kind, &text)?),
        "relate" => AnyReport::Relate(parse(path, kind, &text)?),
        "linear" => AnyReport::Linear(parse(path, kind, &text)?),
        "surface" => AnyReport::Surface(parse(path, kind, &text)?),
        "compare" => AnyReport::Compare(parse(path, kind, &text)?),
        "perturbation" => AnyReport::Perturbation(parse(path, kind, &text)?),
        "connectivity" => AnyReport::Connectivity(parse(path, kind, &text)?),
        "calibrate" => AnyReport::Calibrate(parse(path, kind, &text)?),
        other => return Ok(Classified::Skip(format!("unknown report kind `{other}`"))),
    };
    Ok(Classified::Report(Box::new(report)))
}
