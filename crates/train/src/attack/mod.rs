//! Adversarial attacks, written once: an [`Attack`] is PGD settings with their ball (a
//! [`Constraint`]), [`pgd_attack`] runs it (its loop, [`projected_ascent`], is also generic over
//! the objective), and [`ball`] is the only place the norm is looked at.

mod constraint;
mod pgd;

pub use constraint::{Constraint, L2, Linf, ball, standard_normal};
pub use pgd::{Attack, AttackOutput, pgd_attack, projected_ascent};
