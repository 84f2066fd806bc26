//! `advland experiment`: re-runs a committed analysis, an experiment plan
//! (`analysis/<name>/experiment.toml`, read by [`ExperimentPlan::load`]: its format and
//! `[vars]` are documented in `advland_schema::experiment`), each step a child process of this
//! same binary started in the plan's directory.
//!
//! A step whose output already exists is skipped (so an interrupted experiment continues),
//! unless `--force` is given, which also lets training steps replace their run directories. A
//! training step whose run directory holds a checkpoint continues that run; one killed before
//! its first checkpoint starts again.
//!
//! `advland experiment FILE --set eps=8/255 --set 'train=--dataset cifar10 --model resnet'`.
//! A step that no longer parses as a command line is an error, naming the file and the step.

use std::path::{Path, PathBuf};

use advland_schema::ExperimentPlan;
use advland_train::checkpoint::last_checkpoint;
use anyhow::{Context, Result, bail};
use clap::{Args, Parser};

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
    /// Run only the steps whose command line (variables expanded, without `advland`) matches
    /// this regular expression, e.g. `'^(train|eval) .*-linf-s'`.
    #[arg(long, value_name = "REGEX")]
    pub only: Option<regex::Regex>,
    /// Replace the default of one of the file's `[vars]` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
}

fn parse_set(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected NAME=VALUE"))?;
    Ok((name.trim().to_owned(), value.to_owned()))
}

/// Reads an experiment plan with the variables of `set` replaced (the steps come back
/// expanded) and checks that every step parses as an advland command.
///
/// # Errors
/// Those of [`ExperimentPlan::load`], or a step that is not a valid command line.
pub fn load(path: &Path, set: &[(String, String)]) -> Result<ExperimentPlan> {
    let plan = ExperimentPlan::load(path, set)?;
    for (i, step) in plan.steps.iter().enumerate() {
        parse(&step.args).with_context(|| format!("{}: step {}", path.display(), i + 1))?;
    }
    Ok(plan)
}

fn parse(args: &[String]) -> Result<Cli> {
    Cli::try_parse_from(std::iter::once("advland".to_owned()).chain(args.iter().cloned()))
        .map_err(|e| anyhow::anyhow!("{}", e.render().to_string().trim()))
}

/// Whether `dir` exists and holds anything.
fn non_empty(dir: &Path) -> bool {
    fs_err::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// Runs `advland experiment`: each step as a child process of this same binary, started in
/// the experiment's directory (steps name their files relative to it), so steps share no state
/// and each report records the step's own command line.
pub fn run(args: &ExperimentArgs, global: &crate::args::GlobalArgs) -> Result<()> {
    let e = load(&args.file, &args.set)?;
    eprintln!("experiment {}: {}", e.name, e.question);
    let dir = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    let exe = std::env::current_exe().context("locating the advland binary")?;
    // The experiment's own --device and -q apply to every step.
    let mut globals = vec!["--device".to_owned(), global.device.as_str().to_owned()];
    if global.quiet {
        globals.push("-q".to_owned());
    }
    let selected: Vec<(usize, String)> = e
        .steps
        .iter()
        .map(|step| step.args.join(" "))
        .enumerate()
        .filter(|(_, line)| args.only.as_ref().is_none_or(|only| only.is_match(line)))
        .collect();
    if let Some(only) = &args.only
        && selected.is_empty()
    {
        bail!(
            "--only `{only}`: matches none of the {} steps of {}",
            e.steps.len(),
            args.file.display()
        );
    }
    for (i, line) in selected {
        let step = &e.steps[i];
        if !args.force && step.done_marker().is_some_and(|m| dir.join(m).exists()) {
            eprintln!(
                "[{}/{}] skip (output exists): advland {line}",
                i + 1,
                e.steps.len()
            );
            continue;
        }
        let cli = parse(&step.args)?;
        let mut extra = Vec::new();
        if let crate::args::Command::Train(train) = &cli.command
            && !train.resume
            && !train.overwrite
        {
            // --force replaces the run (a run directory is never trained into twice, and
            // --overwrite still refuses anything but a run directory); otherwise a run already
            // there is continued, or returns at once when it is finished.
            if args.force {
                extra.push("--overwrite");
            } else if let Some(out) = train.out.as_ref().map(|o| dir.join(o))
                && non_empty(&out)
            {
                // A run killed before its first checkpoint holds nothing to continue (and
                // `--resume` refuses it), so it starts again.
                extra.push(if last_checkpoint(&out).is_ok() {
                    "--resume"
                } else {
                    "--overwrite"
                });
            }
        }
        let verb = match (extra.as_slice(), args.force) {
            (["--resume"], _) => "resume: ",
            (["--overwrite"], false) => "restart (no epoch had finished): ",
            _ => "",
        };
        eprintln!("[{}/{}] {verb}advland {line}", i + 1, e.steps.len());
        if args.dry_run {
            continue;
        }
        let status = std::process::Command::new(&exe)
            .args(&globals)
            .args(&step.args)
            .args(&extra)
            .current_dir(&dir)
            .status()
            .with_context(|| format!("step {}: starting advland {line}", i + 1))?;
        if !status.success() {
            // The step printed its own error.
            bail!(
                "step {}: advland {line} failed ({status}); fix it and run the experiment again \
                 (finished steps are skipped)",
                i + 1
            );
        }
    }
    Ok(())
}
