//! `advland experiment`: re-runs a committed analysis (`analysis/<name>/experiment.toml`), a list
//! of advland commands run in order from the file's directory, so that an experiment is data
//! anyone can read and re-run rather than a script.
//!
//! ```toml
//! name = "linear-closed-form"
//! question = "Does the L∞ adversarial loss of a linear model jump where L2's does not?"
//! [[step]]
//! args = ["linear", "--eps-linf", "0.01", "--out", "reports/linear.json"]
//! ```
//!
//! A step whose output already exists is skipped (so an interrupted experiment continues),
//! unless `--force` is given.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser};
use serde::Deserialize;

use crate::args::Cli;

/// `advland experiment`.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The experiment file.
    pub file: PathBuf,
    /// Re-run steps whose output already exists.
    #[arg(long)]
    pub force: bool,
    /// Print the steps without running them.
    #[arg(long)]
    pub dry_run: bool,
}

/// An experiment file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Short name (the directory's).
    pub name: String,
    /// The question it answers.
    pub question: String,
    /// The commands, in order.
    pub step: Vec<Step>,
}

/// One advland command.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Its arguments, without the program name.
    pub args: Vec<String>,
}

/// Reads and checks an experiment file: every step must parse as an advland command.
///
/// # Errors
/// Unreadable TOML, unknown keys, or a step that is not a valid command line.
pub fn load(path: &Path) -> Result<Experiment> {
    let text = fs_err::read_to_string(path)?;
    let e: Experiment = toml::from_str(&text)
        .with_context(|| format!("{}: not an experiment file", path.display()))?;
    if e.step.is_empty() {
        bail!(
            "{}: step: an experiment needs at least one step",
            path.display()
        );
    }
    for (i, s) in e.step.iter().enumerate() {
        if s.args
            .first()
            .is_some_and(|a| a == "experiment" || a == "demo")
        {
            bail!(
                "{}: step {}: `{}` cannot be a step",
                path.display(),
                i + 1,
                s.args[0]
            );
        }
        parse(&s.args).with_context(|| format!("{}: step {}", path.display(), i + 1))?;
    }
    Ok(e)
}

fn parse(args: &[String]) -> Result<Cli> {
    Cli::try_parse_from(std::iter::once("advland".to_owned()).chain(args.iter().cloned()))
        .map_err(|e| anyhow::anyhow!("{}", e.render().to_string().trim()))
}

/// The file whose existence means the step is done: `--out`, or a training run's `train.json`
/// (written last, so an interrupted run is not mistaken for a finished one).
fn done_marker(args: &[String]) -> Option<PathBuf> {
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)?;
    match args.first().map(String::as_str) {
        Some("train") => Some(out.join("train.json")),
        Some("report" | "compare") => None,
        _ => Some(out),
    }
}

/// Runs `advland experiment`.
pub fn run(args: &ExperimentArgs, global: &crate::args::GlobalArgs) -> Result<()> {
    let e = load(&args.file)?;
    eprintln!("experiment {}: {}", e.name, e.question);
    let dir = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    let home = std::env::current_dir()?;
    // Steps name their files relative to the experiment's directory.
    std::env::set_current_dir(&dir).with_context(|| format!("entering {}", dir.display()))?;
    let result = (|| {
        for (i, step) in e.step.iter().enumerate() {
            let line = step.args.join(" ");
            if !args.force && done_marker(&step.args).is_some_and(|m| m.exists()) {
                eprintln!(
                    "[{}/{}] skip (output exists): advland {line}",
                    i + 1,
                    e.step.len()
                );
                continue;
            }
            eprintln!("[{}/{}] advland {line}", i + 1, e.step.len());
            if args.dry_run {
                continue;
            }
            let mut cli = parse(&step.args)?;
            // The experiment's own --device and -q apply to every step.
            cli.global.quiet |= global.quiet;
            cli.global.device = global.device;
            crate::run(&cli).with_context(|| format!("step {}: advland {line}", i + 1))?;
        }
        Ok(())
    })();
    std::env::set_current_dir(home)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every committed experiment must parse, and each of its steps must be a valid command.
    #[test]
    fn committed_experiments_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("analysis");
        let mut seen = 0;
        for entry in fs_err::read_dir(&root).unwrap() {
            let path = entry.unwrap().path().join("experiment.toml");
            if path.exists() {
                let e = load(&path).unwrap_or_else(|err| panic!("{err:#}"));
                assert_eq!(
                    Some(e.name.as_str()),
                    path.parent().unwrap().file_name().unwrap().to_str()
                );
                seen += 1;
            }
        }
        assert!(seen > 0, "no experiments under {}", root.display());
    }
}
