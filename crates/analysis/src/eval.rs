//! Clean and robust loss/accuracy of a model (PGD, APGD, autoattack-lite) on its test data:
//! what `advland eval` reports.

use std::path::Path;

use advland_schema::{AttackSpec, DataSettings, EvalReport, PgdSettings};
use advland_train::data::{check_fits, load_described};
use advland_train::{Attack, Model, ModelShape, Observer, evaluate, evaluate_attacks};
use burn::tensor::Device;
use serde::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::subject::Measured;

/// What to evaluate a model on: its data, the attacks in order, the batch size and the seed
/// of the attacks' random starts.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalConfig {
    /// The data (its test split, or `test_subset` of it, is evaluated).
    pub data: DataSettings,
    /// The attacks, in order; with any but PGD, the report adds each attack's per-example
    /// flags and the worst case.
    pub attacks: Vec<AttackSpec>,
    /// Examples per batch.
    pub batch_size: usize,
    /// Seed of the attacks' random starts (recorded as the report's seed, not here).
    pub seed: u64,
}

/// Reports record the configuration as they always have: PGD alone as its settings, any
/// other attack list as tagged attack specifications; the seed goes to `meta.seed`.
impl Serialize for EvalConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Recorded<'a, A> {
            data: &'a DataSettings,
            attacks: A,
            batch_size: usize,
        }
        match self.pgd_only() {
            Some(pgd) => Recorded {
                data: &self.data,
                attacks: pgd,
                batch_size: self.batch_size,
            }
            .serialize(serializer),
            None => Recorded {
                data: &self.data,
                attacks: &self.attacks,
                batch_size: self.batch_size,
            }
            .serialize(serializer),
        }
    }
}

impl EvalConfig {
    /// The attacks' PGD settings when all are PGD.
    fn pgd_only(&self) -> Option<Vec<&PgdSettings>> {
        self.attacks
            .iter()
            .map(|a| match a {
                AttackSpec::Pgd(p) => Some(p),
                _ => None,
            })
            .collect()
    }
}

/// Evaluates `model` (built for `shape`, named `model_path` in the report and messages,
/// trained for `epoch` epochs) on the test split of `config.data` under each attack; progress
/// goes to `observer`.
///
/// # Errors
/// [`Error::LoadData`]: data that cannot be read; data that does not fit the model; attacks
/// that cannot run.
pub fn evaluate_model(
    model: &Model,
    shape: ModelShape,
    model_path: &Path,
    epoch: usize,
    config: &EvalConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Measured<EvalReport>> {
    AttackSpec::check_each(&config.attacks).map_err(advland_train::Error::from)?;
    let (splits, used) = load_described(&config.data).map_err(|source| Error::LoadData {
        source: Box::new(source),
    })?;
    let test = &splits.test;
    check_fits(test, shape, &model_path.display().to_string())?;
    // PGD alone keeps the report it always had; any APGD attack adds each attack's
    // per-example flags and the worst case.
    let (result, cost) = match config.pgd_only() {
        Some(pgd) => {
            let pgd: Vec<Attack> = pgd.into_iter().cloned().map(Attack::new).collect();
            evaluate(
                model,
                test,
                &pgd,
                config.batch_size,
                config.seed,
                device,
                observer,
            )?
        }
        None => evaluate_attacks(
            model,
            test,
            &config.attacks,
            config.batch_size,
            config.seed,
            device,
            observer,
        )?,
    };
    Ok(Measured {
        report: EvalReport {
            model_path: model_path.display().to_string(),
            epoch,
            result,
        },
        cost,
        data: used.test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use advland_schema::Norm;

    #[test]
    fn pgd_alone_is_recorded_as_its_settings() {
        let pgd = PgdSettings::new(Norm::Linf, 0.1, 3);
        let config = EvalConfig {
            data: DataSettings::default(),
            attacks: vec![AttackSpec::Pgd(pgd.clone())],
            batch_size: 10,
            seed: 4,
        };
        let recorded = serde_json::to_value(&config).expect("serialises");
        assert_eq!(
            recorded,
            serde_json::json!({ "data": config.data, "attacks": [pgd], "batch_size": 10 })
        );
    }
}
