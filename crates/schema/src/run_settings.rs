//! What a run's settings say about its directory: the default run directory's name, and the
//! differences between a run's stored settings and those given to resume it (a run continues
//! only with its own settings).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::settings::{OptimizerSettings, TrainObjective, TrainSettings};

impl TrainSettings {
    /// The default run directory, `runs/<model>-<norm>-<eps>[-trades<β>][-awp<γ>][-esgd]-s<seed>`
    /// (`std` in place of norm and ε for standard training).
    pub fn default_run_dir(&self) -> PathBuf {
        // The kind's name as files and flags spell it (serde's kebab-case).
        let kind = serde_json::to_value(self.model.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "model".to_owned());
        let mut objective = self
            .adversarial
            .as_ref()
            .map_or("std".to_owned(), |a| format!("{}-{}", a.norm, a.eps));
        if let TrainObjective::Trades { beta } = self.objective {
            objective.push_str(&format!("-trades{beta}"));
        }
        if let Some(awp) = &self.awp {
            objective.push_str(&format!("-awp{}", awp.gamma));
        }
        let rule = match self.optimizer {
            OptimizerSettings::Sgd { .. } => "",
            OptimizerSettings::EntropySgd(_) => "-esgd",
        };
        PathBuf::from("runs").join(format!("{kind}-{objective}{rule}-s{}", self.seed))
    }

    /// The settings where `self` (a run's stored settings) and `given` differ, as
    /// `field: stored → given` lines sorted by dotted path.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the settings cannot be written as JSON (a data
    /// directory that is not UTF-8).
    pub fn differences(&self, given: &TrainSettings) -> Result<Vec<String>> {
        fn walk(path: &str, stored: Option<&Value>, given: Option<&Value>, out: &mut Vec<String>) {
            let show = |v: Option<&Value>| v.map_or_else(|| "unset".to_owned(), Value::to_string);
            match (stored, given) {
                (Some(Value::Object(a)), Some(Value::Object(b))) => {
                    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                    keys.sort();
                    keys.dedup();
                    for key in keys {
                        let field = if path.is_empty() {
                            key.clone()
                        } else {
                            format!("{path}.{key}")
                        };
                        walk(&field, a.get(key), b.get(key), out);
                    }
                }
                (a, b) if a == b => {}
                (a, b) => out.push(format!("{path}: {} → {}", show(a), show(b))),
            }
        }
        let json = |s: &TrainSettings| {
            serde_json::to_value(s).map_err(|e| Error::invalid("settings", e.to_string()))
        };
        let mut out = Vec::new();
        walk("", Some(&json(self)?), Some(&json(given)?), &mut out);
        Ok(out)
    }

    /// Refuses to continue the run in `run_dir` (its settings `self`, stored in `checkpoint`)
    /// with settings `given` that differ.
    ///
    /// # Errors
    /// [`Error::SettingsDiffer`] listing every difference; those of
    /// [`TrainSettings::differences`].
    pub fn check_resumable_with(
        &self,
        given: &TrainSettings,
        run_dir: &Path,
        checkpoint: &Path,
    ) -> Result<()> {
        let differences = self.differences(given)?;
        if differences.is_empty() {
            Ok(())
        } else {
            Err(Error::SettingsDiffer {
                run_dir: run_dir.to_owned(),
                checkpoint: checkpoint.to_owned(),
                differences,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Norm, PgdSettings, TrainSettings};

    #[test]
    fn setting_differences_name_each_field() {
        let stored = TrainSettings::default();
        let mut given = stored.clone();
        given.training.epochs += 1;
        given.adversarial = Some(PgdSettings::new(Norm::L2, 1.0, 3));
        let d = stored.differences(&given).unwrap();
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("adversarial: unset → {"), "{d:?}");
        assert_eq!(
            d[1],
            format!(
                "training.epochs: {} → {}",
                stored.training.epochs, given.training.epochs
            )
        );
        assert!(stored.differences(&stored).unwrap().is_empty());
        let dir = std::path::Path::new("runs/r");
        let ckpt = dir.join("checkpoints/epoch-0001");
        assert!(stored.check_resumable_with(&stored, dir, &ckpt).is_ok());
        let err = stored
            .check_resumable_with(&given, dir, &ckpt)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("resuming runs/r: the settings given differ")
                && err.ends_with(&format!("\n  {}", d[1])),
            "{err}"
        );
    }
}
