//! Payload of `advland calibrate`: the radius of one norm's attack that matches another's
//! strength on a model (paper.md §3.2's option (c): compare norms at equal robust accuracy or
//! equal loss increase, not at equal ε).

use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;
use crate::threat::{Norm, PgdSettings};

/// What two attacks are matched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum MatchOn {
    /// Robust accuracy (falls as ε grows).
    Accuracy,
    /// Mean adversarial cross-entropy (rises as ε grows).
    Loss,
}

/// One evaluation of the search: the calibrated attack at radius `eps`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationStep {
    /// The radius tried.
    pub eps: f64,
    /// Loss and accuracy under the attack at that radius.
    pub metrics: Metrics,
}

/// Payload of a `calibrate` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrateReport {
    /// The checkpoint or weights file measured.
    pub checkpoint: String,
    /// Epochs it was trained for (0 when unknown).
    pub epoch: usize,
    /// The attack whose strength is matched.
    pub reference: PgdSettings,
    /// Loss and accuracy under it.
    pub reference_metrics: Metrics,
    /// The norm whose radius was searched.
    pub norm: Norm,
    /// What was matched.
    pub matched_on: MatchOn,
    /// The value matched (the reference's accuracy or loss).
    pub target: f64,
    /// Input dimension d, which fixes the search's bracket: an L2 ball of radius ε∞ lies
    /// inside the L∞ ball of radius ε∞, which lies inside the L2 ball of radius ε∞·√d.
    pub dimension: usize,
    /// The bracket searched, `[weaker, stronger]` end by geometry.
    pub bracket: [f64; 2],
    /// Whether the values at the bracket's ends enclose the target (PGD is not an exact
    /// maximiser, so they need not); without it `eps` is the nearer end.
    pub bracketed: bool,
    /// Whether the search met `tolerance` (or the bracket shrank to the relative width
    /// limit) within its evaluation budget.
    pub converged: bool,
    /// The calibrated radius: of every radius tried, the one whose value is nearest the
    /// target.
    pub eps: f64,
    /// Loss and accuracy at `eps`.
    pub metrics: Metrics,
    /// `eps` over the reference radius.
    pub ratio: f64,
    /// Every radius tried, in order (the two bracket ends first).
    pub steps: Vec<CalibrationStep>,
}

impl crate::report::Payload for CalibrateReport {
    const KIND: &'static str = "calibrate";
}
