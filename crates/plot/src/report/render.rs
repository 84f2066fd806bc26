//! Drawing every figure of a set of reports and writing the page.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use advland_schema::SurfaceReport;

use crate::error::{Error, Result};
use crate::figures::{self, LogScale};
use crate::html;
use crate::label;
use crate::plot::FigureSpec;
use crate::report::inputs::{AnyReport, Classified, classify, find_json};
use crate::report::results::results_tables;
use crate::report::tables::{meta_html, tables};

/// Choices of `advland report`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Log colour scale of loss heat maps.
    pub log_colour: LogScale,
}

/// A file that was not drawn, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why (not a report, unknown kind).
    pub reason: String,
}

/// What [`render`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderSummary {
    /// The page, `OUT/index.html`.
    pub index: PathBuf,
    /// Reports read, in page order.
    pub reports: Vec<PathBuf>,
    /// Figure files written (an SVG and a PNG per figure), in page order.
    pub figures: Vec<PathBuf>,
    /// JSON files that were not reports of a known kind.
    pub skipped: Vec<Skipped>,
}

/// [`render_with`] with default options.
///
/// # Errors
/// See [`render_with`].
pub fn render(inputs: &[PathBuf], out: &Path) -> Result<RenderSummary> {
    render_with(inputs, out, &RenderOptions::default())
}

/// Redraws every figure of the reports found under `inputs` into `OUT/figures/` and writes
/// `OUT/index.html`: first the results (accuracy per model, headline measures, comparisons
/// of surfaces that share directions but differ in attack), then the list of reports and one
/// section per report (figures, tables, provenance and resolved config).
///
/// `inputs` are files or directories (walked recursively, `*.json`, sorted). A JSON file
/// without the report envelope (`checkpoint.json`, `config.resolved.json`) or of an unknown
/// kind is listed in [`RenderSummary::skipped`]. The same inputs give the same bytes in every
/// output file: no timestamps, no absolute paths, sorted iteration.
///
/// # Errors
/// [`crate::Error::Parse`] naming a file of a known kind that does not match its schema,
/// [`crate::Error::InvalidData`] for numbers that cannot be drawn, IO errors naming the file.
pub fn render_with(
    inputs: &[PathBuf],
    out: &Path,
    options: &RenderOptions,
) -> Result<RenderSummary> {
    let figures_dir = out.join("figures");
    let mut summary = RenderSummary {
        index: out.join("index.html"),
        ..RenderSummary::default()
    };
    let mut reports: Vec<(String, AnyReport)> = Vec::new();
    for found in find_json(inputs)? {
        match classify(&found.path)? {
            Classified::Report(r) => {
                summary.reports.push(found.path);
                reports.push((found.name, *r));
            }
            Classified::Skip(reason) => summary.skipped.push(Skipped {
                path: found.path,
                reason,
            }),
        }
    }
    if reports.is_empty() {
        // An empty page would look like success; say what each input was instead.
        let reasons: Vec<String> = summary
            .skipped
            .iter()
            .map(|s| format!("{} ({})", s.path.display(), s.reason))
            .collect();
        return Err(Error::InvalidData {
            what: "inputs".to_owned(),
            reason: if reasons.is_empty() {
                "no JSON file found".to_owned()
            } else {
                format!("no advland report among them: {}", reasons.join("; "))
            },
        });
    }

    // The page's own sections keep their ids; a report named like one gets a suffix.
    let mut used_slugs: BTreeMap<String, usize> = ["results", "files", "skipped"]
        .into_iter()
        .map(|id| (id.to_owned(), 1))
        .collect();
    let mut slugs = Vec::new();
    for (name, _) in &reports {
        let base = label::slug(name.trim_end_matches(".json"));
        let n = used_slugs.entry(base.clone()).or_insert(0);
        *n += 1;
        slugs.push(if *n == 1 { base } else { format!("{base}-{n}") });
    }

    // The results a reader opens the page for come first (accuracy, headline measures, the
    // L∞ and L2 surfaces side by side); the list of files and each report's own section,
    // figures and config follow.
    let mut body = String::from("<h1>advland report</h1>\n");
    let mut results = String::new();
    for t in results_tables(&reports) {
        results.push_str(&t.to_html());
    }
    let comparisons = comparison_figures(&reports, options.log_colour);
    if !comparisons.is_empty() {
        results.push_str(
            "<h3>Loss surfaces, L∞ next to L2 (shared directions and colour scale)</h3>\n",
        );
        for (names, spec) in &comparisons {
            let _ = writeln!(results, "<p>From {}.</p>", html::escape(&names.join(", ")));
            let stems: Vec<&str> = names.iter().map(|n| n.trim_end_matches(".json")).collect();
            let prefix = format!("compare-{}", label::slug(&stems.join("-")));
            results.push_str(&draw(spec, &prefix, &figures_dir, &mut summary.figures)?);
        }
    }
    if !results.is_empty() {
        let _ = write!(
            body,
            "<section id=\"results\"><h2>Results</h2>\n{results}</section>\n"
        );
    }

    body.push_str("<section id=\"files\"><h2>Reports</h2>\n");
    let _ = writeln!(
        body,
        "<p>{} reports, redrawn from their JSON alone; each section below has its figures, \
         numbers and resolved configuration.</p>",
        reports.len()
    );
    body.push_str("<nav><ul>\n");
    for ((name, r), slug) in reports.iter().zip(&slugs) {
        let _ = writeln!(
            body,
            "<li><a href=\"#{}\">{}</a> <span class=\"kind\">({})</span></li>",
            html::escape(slug),
            html::escape(name),
            html::escape(r.kind())
        );
    }
    body.push_str("</ul></nav></section>\n");

    for ((name, report), slug) in reports.iter().zip(&slugs) {
        let _ = writeln!(
            body,
            "<section id=\"{}\"><h2>{}</h2><p class=\"kind\">kind: {}</p>",
            html::escape(slug),
            html::escape(name),
            html::escape(report.kind())
        );
        for spec in report_figures(report, name, options.log_colour)? {
            body.push_str(&draw(&spec, slug, &figures_dir, &mut summary.figures)?);
        }
        for t in tables(report) {
            body.push_str(&t.to_html());
        }
        body.push_str(&meta_html(report.meta()));
        body.push_str("</section>\n");
    }

    if !summary.skipped.is_empty() {
        body.push_str("<section id=\"skipped\"><h2>Files skipped</h2><ul>\n");
        let names = find_json(inputs)?;
        for s in &summary.skipped {
            let name = names
                .iter()
                .find(|f| f.path == s.path)
                .map_or_else(|| s.path.display().to_string(), |f| f.name.clone());
            let _ = writeln!(
                body,
                "<li>{}: {}</li>",
                html::escape(&name),
                html::escape(&s.reason)
            );
        }
        body.push_str("</ul></section>\n");
    }
    let page = html::page("advland report", &body);
    advland_schema::write_atomic(&summary.index, page.as_bytes())?;
    Ok(summary)
}

/// Renders one figure, writes its files and returns its HTML block.
fn draw(spec: &FigureSpec, prefix: &str, dir: &Path, written: &mut Vec<PathBuf>) -> Result<String> {
    let fig = spec.render(prefix)?;
    written.extend(fig.write(dir)?);
    Ok(html::figure(&fig.name, &fig.title, fig.width, fig.height))
}

fn report_figures(r: &AnyReport, name: &str, log: LogScale) -> Result<Vec<FigureSpec>> {
    Ok(match r {
        AnyReport::Train(r) => figures::train_figures(&r.data),
        AnyReport::Eval(_) => Vec::new(),
        AnyReport::Demo(r) => figures::demo_figures(&r.data),
        AnyReport::Sharpness(r) => figures::sharpness_figures(&r.data),
        AnyReport::Flatness(r) => figures::flatness_figures(&r.data),
        AnyReport::Relate(r) => figures::relation_figures(&r.data),
        AnyReport::Linear(r) => figures::linear_figures(&r.data),
        AnyReport::Surface(r) => figures::surface_figures(&r.data, name, log)?,
        AnyReport::Compare(r) => figures::compare_figures(&r.data),
        AnyReport::Perturbation(r) => figures::perturbation_figures(&r.data),
        AnyReport::Connectivity(r) => figures::connectivity_figures(&r.data),
        AnyReport::Calibrate(_) => Vec::new(),
    })
}

/// Surfaces are comparable when they share directions (hash) and grid (x, y as text).
type GroupKey = (String, String, String);

/// Groups surfaces by (directions hash, grid) and compares the attacks within each group:
/// one report per distinct attack (the most complete one), L∞ before L2, smaller ε first.
fn comparison_figures(
    reports: &[(String, AnyReport)],
    log: LogScale,
) -> Vec<(Vec<String>, FigureSpec)> {
    let mut groups: BTreeMap<GroupKey, Vec<(&str, &SurfaceReport)>> = BTreeMap::new();
    for (name, r) in reports {
        if let AnyReport::Surface(s) = r {
            let d = &s.data;
            let key = (
                d.directions.hash.clone(),
                d.x.to_string(),
                d.y.map(|y| y.to_string()).unwrap_or_default(),
            );
            groups.entry(key).or_default().push((name, d));
        }
    }
    // 2-D comparisons first: they are the landscapes a reader looks for.
    let mut groups: Vec<(GroupKey, Vec<(&str, &SurfaceReport)>)> = groups.into_iter().collect();
    groups.sort_by_key(|((_, _, y), _)| y.is_empty());
    let mut out = Vec::new();
    for (_, members) in &groups {
        let mut by_attack: BTreeMap<(u8, u64), (&str, &SurfaceReport)> = BTreeMap::new();
        for &(name, s) in members {
            let Some(a) = &s.attack else { continue };
            let norm_order = match a.norm {
                advland_schema::Norm::Linf => 0,
                advland_schema::Norm::L2 => 1,
            };
            let key = (norm_order, a.eps.to_bits());
            let better = by_attack
                .get(&key)
                .is_none_or(|(_, old)| s.points.len() > old.points.len());
            if better {
                by_attack.insert(key, (name, s));
            }
        }
        let norms: std::collections::BTreeSet<u8> = by_attack.keys().map(|k| k.0).collect();
        if norms.len() < 2 {
            continue;
        }
        let names: Vec<String> = by_attack.values().map(|(n, _)| (*n).to_owned()).collect();
        let surfaces: Vec<&SurfaceReport> = by_attack.values().map(|(_, s)| *s).collect();
        for spec in figures::surface_comparison_figures(&surfaces, log) {
            out.push((names.clone(), spec));
        }
    }
    out
}
