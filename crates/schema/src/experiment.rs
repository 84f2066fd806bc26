//! Experiment plans: a committed analysis (`analysis/<name>/experiment.toml`) as a list of
//! advland commands run in order from the file's directory, so that an experiment is data
//! anyone can read and re-run rather than a script. (A training run's settings are a
//! training file, [`TrainSettings`](crate::TrainSettings); a plan's steps may train with one.)
//!
//! ```toml
//! name = "linear-closed-form"
//! question = "Does the L∞ adversarial loss of a linear model jump where L2's does not?"
//! [[step]]
//! args = ["linear", "--eps-linf", "0.01", "--out", "reports/linear.json"]
//! ```
//!
//! **Variables** let the same file run at another scale: `[vars]` declares names with their
//! defaults (the committed, CPU-sized run), steps write `{name}`, and a `--set name=value`
//! replaces a default. An argument that is exactly `{name}` becomes the value's
//! whitespace-separated words (none when it is empty), so one variable can carry extra flags:
//!
//! ```toml
//! [vars]
//! eps = "0.1"
//! train = ""   # extra flags for every training step
//! [[step]]
//! args = ["train", "--norm", "linf", "--eps", "{eps}", "--out", "runs/linf-{eps}", "{train}"]
//! ```
//!
//! Unknown names, in `--set` or in a step, are errors. Whether a step is a valid command line
//! is the program's to check (it owns the command line).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// An experiment plan (`experiment.toml`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentPlan {
    /// Short name (the directory's).
    pub name: String,
    /// The question it answers.
    pub question: String,
    /// Variables steps may use as `{name}`, with their defaults.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// The commands, in order (`[[step]]` tables).
    #[serde(rename = "step")]
    pub steps: Vec<PlanStep>,
}

/// One advland command of a plan.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStep {
    /// Its arguments, without the program name.
    pub args: Vec<String>,
}

/// Commands that cannot be steps: a plan does not start plans, and the demo is its own plan.
pub const NOT_STEPS: [&str; 2] = ["experiment", "demo"];

/// Why an experiment plan cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file is not TOML of a plan (unknown keys included).
    #[error("{}: not an experiment file", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// What the parser said, with line and column.
        #[source]
        source: toml::de::Error,
    },
    /// A variable to set that the plan does not declare.
    #[error(
        "--set {name}: {} has no variable `{name}` (it has: {})",
        path.display(),
        known.join(", ")
    )]
    UnknownVariable {
        /// The file.
        path: PathBuf,
        /// The variable.
        name: String,
        /// The plan's variables.
        known: Vec<String>,
    },
    /// A step whose variables do not expand.
    #[error("{}: step {step}", path.display())]
    Step {
        /// The file.
        path: PathBuf,
        /// The step, from 1.
        step: usize,
        /// What is wrong with it.
        #[source]
        source: ExpandError,
    },
    /// A plan without steps.
    #[error("{}: step: an experiment needs at least one step", path.display())]
    NoSteps {
        /// The file.
        path: PathBuf,
    },
    /// A step running a command that cannot be a step ([`NOT_STEPS`]).
    #[error("{}: step {step}: `{command}` cannot be a step", path.display())]
    NotAStep {
        /// The file.
        path: PathBuf,
        /// The step, from 1.
        step: usize,
        /// The command.
        command: String,
    },
}

/// Why a step's arguments do not expand.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpandError {
    /// `{name}` names no variable.
    #[error("`{arg}`: no variable `{name}` in [vars]")]
    NoVariable {
        /// The argument.
        arg: String,
        /// The name.
        name: String,
    },
    /// A `{` that no `}` closes.
    #[error("`{arg}`: `{{` without `}}`")]
    Unclosed {
        /// The argument.
        arg: String,
    },
}

impl ExperimentPlan {
    /// Reads a plan with the variables of `set` (name, value) replaced: the steps come back
    /// expanded.
    ///
    /// # Errors
    /// Unreadable file, TOML or unknown keys, unknown variables (set or used), no steps, a
    /// step that runs a command of [`NOT_STEPS`].
    pub fn load(path: &Path, set: &[(String, String)]) -> Result<Self, PlanError> {
        let text = fs_err::read_to_string(path)?;
        let mut plan: Self = toml::from_str(&text).map_err(|source| PlanError::Toml {
            path: path.to_owned(),
            source,
        })?;
        for (name, value) in set {
            let Some(slot) = plan.vars.get_mut(name) else {
                return Err(PlanError::UnknownVariable {
                    path: path.to_owned(),
                    name: name.clone(),
                    known: plan.vars.keys().cloned().collect(),
                });
            };
            value.clone_into(slot);
        }
        for (i, step) in plan.steps.iter_mut().enumerate() {
            step.args = expand(&step.args, &plan.vars).map_err(|source| PlanError::Step {
                path: path.to_owned(),
                step: i + 1,
                source,
            })?;
        }
        if plan.steps.is_empty() {
            return Err(PlanError::NoSteps {
                path: path.to_owned(),
            });
        }
        for (i, step) in plan.steps.iter().enumerate() {
            if let Some(command) = step.command().filter(|c| NOT_STEPS.contains(c)) {
                return Err(PlanError::NotAStep {
                    path: path.to_owned(),
                    step: i + 1,
                    command: command.to_owned(),
                });
            }
        }
        Ok(plan)
    }
}

impl PlanStep {
    /// The command (the first argument).
    pub fn command(&self) -> Option<&str> {
        self.args.first().map(String::as_str)
    }

    /// The step's `--out`.
    pub fn out(&self) -> Option<PathBuf> {
        self.args
            .iter()
            .position(|a| a == "--out")
            .and_then(|i| self.args.get(i + 1))
            .map(PathBuf::from)
    }

    /// The file whose existence means the step is done: its `--out`. Training steps have
    /// none: `train.json` exists from the first epoch on, so a run directory that holds
    /// anything is continued (resumed) instead, and a finished run returns at once. `report`
    /// and `compare` summarise other steps' outputs, so they run again each time.
    pub fn done_marker(&self) -> Option<PathBuf> {
        match self.command() {
            Some("train" | "report" | "compare") => None,
            _ => self.out(),
        }
    }
}

/// `args` with every `{name}` replaced by its value in `vars`; an argument that is exactly
/// `{name}` becomes the value's words.
///
/// # Errors
/// An unknown name, or a `{` without `}`.
pub fn expand(
    args: &[String],
    vars: &BTreeMap<String, String>,
) -> Result<Vec<String>, ExpandError> {
    let lookup = |arg: &str, name: &str| {
        vars.get(name)
            .map(String::as_str)
            .ok_or_else(|| ExpandError::NoVariable {
                arg: arg.to_owned(),
                name: name.to_owned(),
            })
    };
    let mut out = Vec::with_capacity(args.len());
    for arg in args {
        let whole = arg
            .strip_prefix('{')
            .and_then(|a| a.strip_suffix('}'))
            .filter(|name| !name.contains(['{', '}']));
        if let Some(name) = whole {
            out.extend(lookup(arg, name)?.split_whitespace().map(str::to_owned));
            continue;
        }
        let mut text = String::new();
        let mut rest = arg.as_str();
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .ok_or_else(|| ExpandError::Unclosed { arg: arg.clone() })?;
            text.push_str(&rest[..open]);
            text.push_str(lookup(arg, &rest[open + 1..close])?);
            rest = &rest[close + 1..];
        }
        text.push_str(rest);
        out.push(text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn analysis() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analysis")
    }

    #[test]
    fn variables_expand_inside_arguments_and_as_word_lists() {
        let vars: BTreeMap<String, String> = [
            ("eps", "8/255"),
            ("train", " --model resnet  --width 16 "),
            ("none", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let got = expand(
            &strings(&[
                "--eps",
                "{eps}",
                "runs/linf-{eps}-{eps}",
                "{train}",
                "{none}",
                "x",
            ]),
            &vars,
        )
        .unwrap();
        assert_eq!(
            got,
            strings(&[
                "--eps",
                "8/255",
                "runs/linf-8/255-8/255",
                "--model",
                "resnet",
                "--width",
                "16",
                "x"
            ])
        );
        let err = expand(&strings(&["a{epz}"]), &vars)
            .unwrap_err()
            .to_string();
        assert!(err.contains("epz"), "{err}");
        let err = expand(&strings(&["{eps"]), &vars).unwrap_err().to_string();
        assert!(err.contains("without"), "{err}");
    }

    /// Plans name the file and the step in their errors; `experiment` and `demo` are no steps;
    /// a step's `--out` marks it done unless it trains or only reads.
    #[test]
    fn plans_refuse_what_cannot_run_naming_file_and_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("experiment.toml");
        let load = |text: &str, set: &[(&str, &str)]| {
            fs_err::write(&path, text).unwrap();
            let set: Vec<(String, String)> = set
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            ExperimentPlan::load(&path, &set)
        };
        let head = "name = \"x\"\nquestion = \"q\"\n[vars]\nout = \"a.json\"\n";
        let plan = load(
            &format!("{head}[[step]]\nargs = [\"linear\", \"--out\", \"{{out}}\"]\n"),
            &[("out", "b.json")],
        )
        .unwrap();
        assert_eq!(plan.steps[0].done_marker(), Some(PathBuf::from("b.json")));
        let train = PlanStep {
            args: strings(&["train", "--out", "runs/r"]),
        };
        assert_eq!(
            (train.out(), train.done_marker()),
            (Some(PathBuf::from("runs/r")), None)
        );
        let err = load(&format!("{head}[[step]]\nargs = [\"{{nope}}\"]\n"), &[]).unwrap_err();
        assert!(
            matches!(&err, PlanError::Step { step: 1, source: ExpandError::NoVariable { name, .. }, .. } if name == "nope"),
            "{err:?}"
        );
        let err = load(
            &format!("{head}[[step]]\nargs = [\"linear\"]\n[[step]]\nargs = [\"demo\"]\n"),
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string().ends_with("step 2: `demo` cannot be a step"),
            "{err}"
        );
        let err = load(head, &[]).unwrap_err();
        assert!(matches!(err, PlanError::Toml { .. }), "{err:?}");
        let err = load("name = \"x\"\nquestion = \"q\"\nstep = []\n", &[]).unwrap_err();
        assert!(matches!(err, PlanError::NoSteps { .. }), "{err:?}");
        let err = load(
            &format!("{head}[[step]]\nargs = [\"linear\"]\n"),
            &[("epz", "1")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("--set epz: ") && err.ends_with("(it has: out)"),
            "{err}"
        );
    }

    /// Every committed plan loads with its defaults, named after its directory.
    #[test]
    fn committed_plans_load() {
        let root = analysis();
        let mut seen = 0;
        for entry in fs_err::read_dir(&root).unwrap() {
            let path = entry.unwrap().path().join("experiment.toml");
            if path.exists() {
                let plan = ExperimentPlan::load(&path, &[]).unwrap_or_else(|err| panic!("{err}"));
                assert_eq!(
                    Some(plan.name.as_str()),
                    path.parent().unwrap().file_name().unwrap().to_str()
                );
                seen += 1;
            }
        }
        assert!(seen > 0, "no experiments under {}", root.display());
    }
}
