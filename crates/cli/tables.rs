//! Tables on stdout that several commands print.

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
