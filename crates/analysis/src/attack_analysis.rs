//! The one-model analyses under one attack (`flatness`, `perturbation`, `bound`, `calibrate`)
//! behind one trait, so a caller (the command line, a script) resolves, runs and names their
//! reports the same way for all four.

use std::fmt::Display;

use advland_schema::{Norm, Payload, PgdSettings};
use advland_train::Observer;
use burn::tensor::Device;

use crate::bound::BoundConfig;
use crate::calibrate::CalibrateConfig;
use crate::flatness::FlatnessConfig;
use crate::perturbation::PerturbationConfig;
use crate::{Measured, Result, Subject};

/// The configuration of a one-model analysis under an attack, and the library call that
/// measures it.
pub trait AttackAnalysis: serde::Serialize + Clone {
    /// The analysis's name, which names its default report (`<kind>-<norm>.json`).
    const KIND: &'static str;
    /// The report's payload.
    type Payload: Payload + serde::Serialize + Display;
    /// The seed the report records.
    fn seed(&self) -> u64;
    /// The attack's norm (for `calibrate`, the norm searched), which names the default report.
    fn norm(&self) -> Norm;
    /// This configuration under `attack`, the one the analysis measures under (for
    /// `calibrate`, the reference attack).
    #[must_use]
    fn with_attack(self, attack: PgdSettings) -> Self;
    /// Measures `subject`.
    ///
    /// # Errors
    /// The analysis's.
    fn measure(
        &self,
        subject: &Subject,
        device: &Device,
        observer: &mut dyn Observer,
    ) -> Result<Measured<Self::Payload>>;
}

/// [`AttackAnalysis`] for a configuration whose `$attack` field is the attack and whose
/// `$norm` field names the report, measured by `$measure(subject, config, device, observer)`.
macro_rules! attack_analysis {
    ($config:ty, $kind:literal, $payload:ty, $measure:path, $attack:ident, $norm:expr) => {
        impl AttackAnalysis for $config {
            const KIND: &'static str = $kind;
            type Payload = $payload;
            fn seed(&self) -> u64 {
                self.seed
            }
            fn norm(&self) -> Norm {
                let norm: fn(&Self) -> Norm = $norm;
                norm(self)
            }
            fn with_attack(self, $attack: PgdSettings) -> Self {
                Self { $attack, ..self }
            }
            fn measure(
                &self,
                subject: &Subject,
                device: &Device,
                observer: &mut dyn Observer,
            ) -> Result<Measured<Self::Payload>> {
                $measure(subject, self, device, observer)
            }
        }
    };
}

attack_analysis!(
    FlatnessConfig,
    "flatness",
    advland_schema::flatness::FlatnessReport,
    crate::flatness::measure,
    attack,
    |c| c.attack.norm
);
attack_analysis!(
    PerturbationConfig,
    "perturbation",
    advland_schema::perturbation::PerturbationReport,
    crate::perturbation::measure,
    attack,
    |c| c.attack.norm
);
attack_analysis!(
    BoundConfig,
    "bound",
    advland_schema::bound::BoundReport,
    crate::bound::measure,
    attack,
    |c| c.attack.norm
);
attack_analysis!(
    CalibrateConfig,
    "calibrate",
    advland_schema::calibrate::CalibrateReport,
    crate::calibrate::calibrate,
    reference,
    |c| c.norm
);
