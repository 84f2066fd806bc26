//! How quantities are named in figures and tables, so every figure says the same thing the
//! same way (L∞ not `linf`, ε = 8/255 not 0.03137254901960784).

use advland_schema::{ApgdLoss, AttackSpec, Norm, ObjectiveKind, PgdSettings};

/// `L∞` or `L2`.
pub fn norm(n: Norm) -> &'static str {
    match n {
        Norm::Linf => "L∞",
        Norm::L2 => "L2",
    }
}

/// ε as `k/255` when it is one (the usual image radii), else a short decimal.
pub fn eps(e: f64) -> String {
    let k = e * 255.0;
    if e > 0.0 && e < 1.0 && (k - k.round()).abs() < 1e-6 {
        format!("{}/255", k.round())
    } else {
        crate::plot::fmt_tick(e)
    }
}

/// `L∞ ε=8/255`.
pub fn attack(a: &PgdSettings) -> String {
    format!("{} ε={}", norm(a.norm), eps(a.eps))
}

/// `L∞ ε=8/255 APGD-CE-100`: an evaluation attack of any kind, for column headings.
pub fn attack_spec(a: &AttackSpec) -> String {
    let kind = match a {
        AttackSpec::Pgd(_) => "PGD",
        AttackSpec::Apgd(s) => match s.loss {
            ApgdLoss::Ce => "APGD-CE",
            ApgdLoss::Dlr => "APGD-DLR",
            ApgdLoss::TargetedDlr => "APGD-T",
        },
        AttackSpec::AutoattackLite(_) => "AA-lite",
    };
    format!("{} ε={} {kind}-{}", norm(a.norm()), eps(a.eps()), a.steps())
}

/// `L∞ ε=8/255, 10 steps`: the attack with its strength, for tables.
pub fn attack_long(a: &PgdSettings) -> String {
    format!(
        "{} ε={}, {} steps of {}, {} restart(s){}",
        norm(a.norm),
        eps(a.eps),
        a.steps,
        crate::plot::fmt_tick(a.step_size),
        a.restarts,
        if a.random_start { ", random start" } else { "" }
    )
}

/// The objective's name as written in the paper's vocabulary.
pub fn objective(o: ObjectiveKind) -> &'static str {
    match o {
        ObjectiveKind::Clean => "clean",
        ObjectiveKind::Adversarial => "adversarial",
        ObjectiveKind::AdversarialFrozen => "adversarial (frozen δ)",
    }
}

/// A file-name-safe slug: lower-case ASCII letters, digits and single dashes.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eps_prefers_fractions_of_255() {
        assert_eq!(eps(8.0 / 255.0), "8/255");
        assert_eq!(eps(0.5), "0.5");
    }

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(
            slug("linf/sharpness-hessian_L2.json"),
            "linf-sharpness-hessian-l2-json"
        );
        assert_eq!(slug("../a b"), "a-b");
    }
}
