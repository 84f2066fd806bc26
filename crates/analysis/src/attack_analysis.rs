//! The one-model analyses under one attack (`flatness`, `perturbation`, `bound`, `calibrate`)
//! behind one trait, so a caller (the command line, a script) resolves, runs and names their
//! reports the same way for all four.

use std::fmt::Display;

use advland_schema::{self as schema, Norm, Payload, PgdSettings};
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

/// [`AttackAnalysis`] for each configuration: `$kind` names its reports, `$payload` is their
/// payload, `$measure(subject, config, device, observer)` the library call, `$attack` the field
/// holding the attack and `$norm` the norm that names the report.
macro_rules! attack_analyses {
    ($($config:ty: $kind:literal, $payload:ty, $measure:path, $attack:ident, $norm:expr;)+) => {$(
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
    )+};
}

attack_analyses! {
    FlatnessConfig: "flatness", schema::flatness::FlatnessReport, crate::flatness::measure,
        attack, |c| c.attack.norm;
    PerturbationConfig: "perturbation", schema::perturbation::PerturbationReport,
        crate::perturbation::measure, attack, |c| c.attack.norm;
    BoundConfig: "bound", schema::bound::BoundReport, crate::bound::measure,
        attack, |c| c.attack.norm;
    CalibrateConfig: "calibrate", schema::calibrate::CalibrateReport, crate::calibrate::calibrate,
        reference, |c| c.norm;
}
