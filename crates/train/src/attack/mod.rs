//! Adversarial attacks, written once: an [`Attack`] is PGD settings with their ball (a
//! [`Constraint`]), [`pgd_attack`] runs it (its loop, [`projected_ascent`], is also generic over
//! the objective), [`apgd_attack`] runs APGD (Croce & Hein 2020) with its CE and DLR losses and
//! [`autoattack_lite`] chains APGD-CE and APGD-T, all through the same ball; [`ball`] is the
//! only place the norm is looked at.

mod apgd;
mod constraint;
mod pgd;

pub(crate) use apgd::correct_flags;
pub use apgd::{
    APGD_INITIAL_STEP, APGD_MOMENTUM, APGD_RHO, ApgdOutput, apgd_attack, apgd_checkpoints,
    apgd_class_problem, autoattack_lite, target_classes,
};
pub use constraint::{ActiveFace, Constraint, L2, Linf, ball, standard_normal};
pub use pgd::{
    Attack, AttackOutput, Start, StepObserver, StepView, pgd_attack, pgd_attack_observed,
    projected_ascent, projected_ascent_from,
};
