//! The summaries that are tables of several results: an evaluation, a comparison of runs, a
//! relation of measures and the demo's.

use std::fmt;

use crate::compare::CompareReport;
use crate::flatness::RelationReport;
use crate::{DemoSummary, EvalResult};

/// Loss and accuracy, clean and per attack, with the worst case.
impl fmt::Display for EvalResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let result = self;
        writeln!(f, "| attack | loss | accuracy |\n|---|---|---|")?;
        writeln!(
            f,
            "| clean | {:.4} | {:.4} |",
            result.clean.loss, result.clean.accuracy
        )?;
        if result.attacks.is_empty() {
            for r in &result.robust {
                writeln!(
                    f,
                    "| {} eps={} PGD-{} | {:.4} | {:.4} |",
                    r.attack.norm, r.attack.eps, r.attack.steps, r.metrics.loss, r.metrics.accuracy
                )?;
            }
        }
        for r in &result.attacks {
            writeln!(
                f,
                "| {} {} eps={} ({} steps) | {:.4} | {:.4} |",
                r.attack.kind(),
                r.attack.norm(),
                r.attack.eps(),
                r.attack.steps(),
                r.metrics.loss,
                r.metrics.accuracy
            )?;
        }
        if let Some(w) = &result.worst_case {
            writeln!(
                f,
                "| worst case | {:.4} | {:.4} |",
                w.metrics.loss, w.metrics.accuracy
            )?;
        }

        Ok(())
    }
}

/// One row per run and epoch, the accuracies, λ1 and κ as columns.
impl fmt::Display for CompareReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        let columns: Vec<&String> = r
            .measures
            .iter()
            .filter(|m| m.contains("accuracy") || m.starts_with("λ1") || m.starts_with("κ"))
            .collect();
        let mut header = "| run | epoch |".to_owned();
        let mut rule = "|---|---|".to_owned();
        for c in &columns {
            header.push_str(&format!(" {c} |"));
            rule.push_str("---|");
        }
        writeln!(f, "{header}\n{rule}")?;
        for row in &r.rows {
            let mut line = format!("| {} | {} |", row.run, row.epoch);
            for c in &columns {
                match row.values.get(*c) {
                    Some(v) => line.push_str(&format!(" {v:.4} |")),
                    None => line.push_str(" |"),
                }
            }
            writeln!(f, "{line}")?;
        }

        Ok(())
    }
}

/// One row per model and attack, then the rank correlations.
impl fmt::Display for RelationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self;
        writeln!(
            f,
            "| checkpoint | attack | kappa adv | kappa frozen | lambda_top adv | |g|_2 adv |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|")?;
        for r in &report.rows {
            writeln!(
                f,
                "| {} | {} eps={} | {:.4} | {:.4} | {:+.4e} | {:.4e} |",
                r.checkpoint,
                r.attack.norm,
                r.attack.eps,
                r.kappa_adversarial,
                r.kappa_frozen,
                r.hessian_top_adversarial,
                r.grad_l2_adversarial
            )?;
        }
        for c in &report.correlations {
            let rho = c
                .spearman
                .map_or("undefined".to_owned(), |r| format!("{r:+.3}"));
            writeln!(
                f,
                "Spearman rho({}, {}) = {rho} over {} rows",
                c.measure, c.with, c.rows
            )?;
        }

        Ok(())
    }
}

/// Accuracies per threat with the worst case, sharpness, input flatness, then the relation table.
impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let summary = self;
        let Some(first) = summary.models.first() else {
            return Ok(());
        };
        let mut header = "| model | clean acc |".to_owned();
        let mut rule = "|---|---|".to_owned();
        for group in &first.robustness {
            for a in &group.attacks {
                header.push_str(&format!(" {} acc |", a.attack));
                rule.push_str("---|");
            }
            if let Some(a) = group.attacks.first() {
                header.push_str(&format!(
                    " {} eps={} worst case acc |",
                    a.attack.norm(),
                    a.attack.eps()
                ));
                rule.push_str("---|");
            }
        }
        writeln!(f, "{header}\n{rule}")?;
        for m in &summary.models {
            let mut row = format!("| {} | {:.4} |", m.name, m.eval.clean.accuracy);
            for group in &m.robustness {
                for a in &group.attacks {
                    row.push_str(&format!(" {:.4} |", a.metrics.accuracy));
                }
                if let Some(w) = &group.worst_case {
                    row.push_str(&format!(" {:.4} |", w.metrics.accuracy));
                }
            }
            writeln!(f, "{row}")?;
        }
        writeln!(
            f,
            "\n| model | attack | lambda_1..k (adversarial-frozen) | kappa adversarial | kappa frozen |"
        )?;
        writeln!(f, "|---|---|---|---|---|")?;
        for m in &summary.models {
            for sh in &m.sharpness {
                let lambdas: Vec<String> =
                    sh.eigenvalues.iter().map(|l| format!("{l:+.3}")).collect();
                writeln!(
                    f,
                    "| {} | {} eps={} | {} | {:.3} | {:.3} |",
                    m.name,
                    sh.attack.norm,
                    sh.attack.eps,
                    lambdas.join(" "),
                    sh.kappa_adversarial,
                    sh.kappa_frozen
                )?;
            }
        }
        writeln!(
            f,
            "\n| model | attack | point | median loss | median |g|_2 | median lambda_top (input) |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|")?;
        for m in &summary.models {
            for flat in &m.flatness {
                for p in &flat.points {
                    writeln!(
                        f,
                        "| {} | {} eps={} | {:?} | {:.4} | {:.4e} | {:+.4e} |",
                        m.name,
                        flat.attack.norm,
                        flat.attack.eps,
                        p.point,
                        p.loss.median,
                        p.grad_l2.median,
                        p.hessian_top.median
                    )?;
                }
            }
        }
        writeln!(f)?;
        write!(f, "{}", summary.relation)?;

        Ok(())
    }
}
