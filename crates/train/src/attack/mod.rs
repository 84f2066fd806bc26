//! Adversarial attacks, written once: [`pgd_attack`] is generic over a [`Constraint`] (its loop,
//! [`projected_ascent`], also over the objective), and
//! [`constraint_for`] is the only place the norm is looked at.

mod constraint;
mod pgd;

pub use constraint::{Constraint, L2, Linf, constraint_for, standard_normal};
pub use pgd::{AttackOutput, pgd_attack, projected_ascent};
