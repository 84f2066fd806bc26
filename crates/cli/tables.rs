//! Tables on stdout: the demo's summary, and the relation table `relate` and `demo` print.

use std::path::Path;

use advland_schema::DemoSummary;
use advland_schema::flatness::RelationReport;

/// The table and correlations on stdout.
pub fn print_relation(report: &RelationReport) {
    println!("| checkpoint | attack | kappa adv | kappa frozen | lambda_top adv | |g|_2 adv |");
    println!("|---|---|---|---|---|---|");
    for r in &report.rows {
        println!(
            "| {} | {} eps={} | {:.4} | {:.4} | {:+.4e} | {:.4e} |",
            r.checkpoint,
            r.attack.norm,
            r.attack.eps,
            r.kappa_adversarial,
            r.kappa_frozen,
            r.hessian_top_adversarial,
            r.grad_l2_adversarial
        );
    }
    for c in &report.correlations {
        let rho = c
            .spearman
            .map_or("undefined".to_owned(), |r| format!("{r:+.3}"));
        println!(
            "Spearman rho({}, {}) = {rho} over {} rows",
            c.measure, c.with, c.rows
        );
    }
}

/// The demo's summary: accuracies per threat, sharpness, flatness, the relation.
pub fn print_demo(summary: &DemoSummary, path: &Path) {
    let Some(first) = summary.models.first() else {
        return;
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
    println!("{header}\n{rule}");
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
        println!("{row}");
    }
    println!(
        "\n| model | attack | lambda_1..k (adversarial-frozen) | kappa adversarial | kappa frozen |"
    );
    println!("|---|---|---|---|---|");
    for m in &summary.models {
        for sh in &m.sharpness {
            let lambdas: Vec<String> = sh.eigenvalues.iter().map(|l| format!("{l:+.3}")).collect();
            println!(
                "| {} | {} eps={} | {} | {:.3} | {:.3} |",
                m.name,
                sh.attack.norm,
                sh.attack.eps,
                lambdas.join(" "),
                sh.kappa_adversarial,
                sh.kappa_frozen
            );
        }
    }
    println!(
        "\n| model | attack | point | median loss | median |g|_2 | median lambda_top (input) |"
    );
    println!("|---|---|---|---|---|---|");
    for m in &summary.models {
        for f in &m.flatness {
            for p in &f.points {
                println!(
                    "| {} | {} eps={} | {:?} | {:.4} | {:.4e} | {:+.4e} |",
                    m.name,
                    f.attack.norm,
                    f.attack.eps,
                    p.point,
                    p.loss.median,
                    p.grad_l2.median,
                    p.hessian_top.median
                );
            }
        }
    }
    println!();
    print_relation(&summary.relation);
    println!("report: {}", path.display());
}
