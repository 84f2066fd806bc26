//! The numbers a reader looks for first, gathered across reports: test accuracy per model
//! (clean, under each attack, the worst attack) and the headline measures per model and attack
//! (λ1, κ, input flatness). The page shows them above the list of files.
//!
//! A demo report brings its models' numbers; sharpness and flatness reports it does not list
//! (measured by hand) add rows of their own, named by the directory that holds them.

use std::collections::BTreeSet;

use advland_schema::flatness::{FlatnessAtPoint, InputPoint};
use advland_schema::{AttackResult, EvalResult, ObjectiveKind, PgdSettings, SharpnessEstimate};

use crate::html::{Table, num};
use crate::label;
use crate::report::AnyReport;

/// The accuracy table and the headline table (either is empty without its reports).
pub fn results_tables(reports: &[(String, AnyReport)]) -> Vec<Table> {
    vec![accuracy(reports), headline(reports)]
}

/// `L∞ ε=0.1 PGD-20`: an evaluation attack as a column heading.
fn attack_column(a: &PgdSettings) -> String {
    format!("{} PGD-{}", label::attack(a), a.steps)
}

/// An evaluation's accuracy columns in order: each attack, then the worst case. With
/// per-example flags the worst case is theirs (an example counts once it falls to any attack)
/// and is named by the threat when every attack shares one; otherwise it is the lowest
/// attack accuracy, a bound from above.
fn columns(e: &EvalResult) -> Vec<(String, f64)> {
    if e.attacks.is_empty() {
        let mut out: Vec<(String, f64)> = e
            .robust
            .iter()
            .map(|r| (attack_column(&r.attack), r.metrics.accuracy))
            .collect();
        if let Some(worst) = e
            .robust
            .iter()
            .map(|r| r.metrics.accuracy)
            .min_by(f64::total_cmp)
        {
            out.push(("worst case".to_owned(), worst));
        }
        return out;
    }
    let mut out: Vec<(String, f64)> = e
        .attacks
        .iter()
        .map(|a| (label::attack_spec(&a.attack), a.metrics.accuracy))
        .collect();
    if let Some(w) = &e.worst_case {
        let threat = |a: &AttackResult| (a.attack.norm(), a.attack.eps().to_bits());
        let shared = e.attacks.iter().all(|a| threat(a) == threat(&e.attacks[0]));
        let name = if shared {
            let a = &e.attacks[0].attack;
            format!(
                "{} ε={} worst case",
                label::norm(a.norm()),
                label::eps(a.eps())
            )
        } else {
            "worst case".to_owned()
        };
        out.push((name, w.metrics.accuracy));
    }
    out
}

/// One model's row: name, how it was trained, test examples, clean accuracy, its columns.
type AccuracyRow = (String, String, usize, f64, Vec<(String, f64)>);

fn accuracy(reports: &[(String, AnyReport)]) -> Table {
    let mut rows: Vec<AccuracyRow> = Vec::new();
    for (name, r) in reports {
        match r {
            AnyReport::Demo(d) => {
                for m in &d.data.models {
                    let trained = m
                        .adversarial
                        .as_ref()
                        .map_or_else(|| "standard".to_owned(), label::attack);
                    let cells = if m.robustness.is_empty() {
                        columns(&m.eval)
                    } else {
                        m.robustness.iter().flat_map(columns).collect()
                    };
                    let clean = &m.eval.clean;
                    rows.push((
                        m.name.clone(),
                        trained,
                        clean.examples,
                        clean.accuracy,
                        cells,
                    ));
                }
            }
            AnyReport::Eval(e) => {
                let clean = &e.data.result.clean;
                rows.push((
                    stem(name),
                    "–".to_owned(),
                    clean.examples,
                    clean.accuracy,
                    columns(&e.data.result),
                ));
            }
            _ => {}
        }
    }
    let mut heads: Vec<String> = Vec::new();
    for (.., cells) in &rows {
        for (column, _) in cells {
            if !heads.contains(column) {
                heads.push(column.clone());
            }
        }
    }
    let mut head = vec!["model", "trained with", "test examples", "clean"];
    head.extend(heads.iter().map(String::as_str));
    let mut t = Table::new(
        "Test accuracy: clean, under each attack, and the worst case (per example over the \
         attacks of one threat where flags were recorded, else the lowest accuracy)",
        &head,
    );
    for (model, trained, examples, clean, cells) in rows {
        let mut row = vec![model, trained, examples.to_string(), num(clean)];
        for column in &heads {
            let found = cells.iter().find(|(c, _)| c == column);
            row.push(found.map_or_else(|| "–".to_owned(), |(_, v)| num(*v)));
        }
        t.row(row);
    }
    t
}

/// The headline measures of one model under one attack.
#[derive(Default)]
struct Headline {
    epoch: Option<usize>,
    lambda1: Option<(f64, ObjectiveKind)>,
    kappa_adversarial: Option<f64>,
    kappa_frozen: Option<f64>,
    grad_l2: Option<f64>,
    input_lambda: Option<f64>,
    /// Mean loss increases under weight perturbations, with the loss they perturb.
    worst_case: Option<(f64, ObjectiveKind)>,
    average_case: Option<(f64, ObjectiveKind)>,
    awp: Option<(f64, ObjectiveKind)>,
}

impl Headline {
    fn flatness(&mut self, points: &[FlatnessAtPoint]) {
        if let Some(p) = points.iter().find(|p| p.point == InputPoint::Adversarial) {
            self.grad_l2 = Some(p.grad_l2.median);
            self.input_lambda = Some(p.hessian_top.median);
        }
    }
}

/// Rows keyed by (model, attack heading), in the order first met.
#[derive(Default)]
struct Rows(Vec<((String, String), Headline)>);

impl Rows {
    fn entry(&mut self, model: &str, attack: Option<&PgdSettings>) -> &mut Headline {
        let key = (
            model.to_owned(),
            attack.map_or_else(|| "–".to_owned(), label::attack),
        );
        let i = match self.0.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.0.push((key, Headline::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }
}

fn headline(reports: &[(String, AnyReport)]) -> Table {
    let mut rows = Rows::default();
    // Files a demo summarises, by page name, so their numbers are not listed twice.
    let mut summarised = BTreeSet::new();
    for (name, r) in reports {
        let AnyReport::Demo(d) = r else { continue };
        let dir = directory(name);
        for m in &d.data.models {
            for sh in &m.sharpness {
                let h = rows.entry(&m.name, Some(&sh.attack));
                h.epoch = Some(m.epochs);
                h.lambda1 = sh
                    .eigenvalues
                    .first()
                    .map(|&v| (v, ObjectiveKind::AdversarialFrozen));
                h.kappa_adversarial = Some(sh.kappa_adversarial);
                h.kappa_frozen = Some(sh.kappa_frozen);
                summarised.extend(sh.reports.iter().map(|f| format!("{dir}{f}")));
            }
            for f in &m.flatness {
                let h = rows.entry(&m.name, Some(&f.attack));
                h.epoch = Some(m.epochs);
                h.flatness(&f.points);
                summarised.insert(format!("{dir}{}", f.report));
            }
        }
    }
    for (name, r) in reports {
        if summarised.contains(name) {
            continue;
        }
        let dir = directory(name);
        let model = match dir.trim_end_matches('/') {
            "" => stem(name),
            d => d.to_owned(),
        };
        let model = model.as_str();
        match r {
            AnyReport::Sharpness(s) => {
                let o = &s.data.objective;
                let h = rows.entry(model, o.attack.as_ref());
                h.epoch = Some(o.epoch);
                match &s.data.estimate {
                    SharpnessEstimate::Hessian(hess) => {
                        h.lambda1 = hess.eigenvalues.first().map(|e| (e.value, o.kind));
                    }
                    SharpnessEstimate::Lipschitz(l) => {
                        for e in &l.objectives {
                            match e.kind {
                                ObjectiveKind::Adversarial => {
                                    h.kappa_adversarial = Some(e.kappa_max);
                                }
                                ObjectiveKind::AdversarialFrozen => {
                                    h.kappa_frozen = Some(e.kappa_max);
                                }
                                ObjectiveKind::Clean => {}
                            }
                        }
                    }
                    SharpnessEstimate::WorstCase(w) => {
                        h.worst_case = Some((w.increase.mean, o.kind));
                    }
                    SharpnessEstimate::AverageCase(w) => {
                        h.average_case = Some((w.increase.mean, o.kind));
                    }
                    SharpnessEstimate::Awp(w) => h.awp = Some((w.increase.mean, o.kind)),
                    _ => {}
                }
            }
            AnyReport::Flatness(f) => {
                let h = rows.entry(model, Some(&f.data.attack));
                h.epoch = Some(f.data.epoch);
                h.flatness(&f.data.points);
            }
            _ => {}
        }
    }
    let mut t = Table::new(
        "Headline measures per model and attack: top Hessian eigenvalue λ1 of the loss named, \
         largest gradient-Lipschitz estimate κ of the adversarial loss and of its frozen-δ \
         ablation, input-space flatness at the adversarial points (medians over examples), and \
         the mean loss increase under weight perturbations (worst case, average case, AWP; the \
         loss perturbed in brackets, the ball in the report's own tables)",
        &[
            "model",
            "epoch",
            "attack",
            "Hessian of",
            "λ1",
            "κ adversarial",
            "κ frozen",
            "median ‖∇ₓℓ‖₂ at x+δ*",
            "median input-Hessian λmax at x+δ*",
            "worst-case sharpness",
            "average-case sharpness",
            "AWP increase",
        ],
    );
    let cell = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), num);
    let of = |v: Option<(f64, ObjectiveKind)>| {
        v.map_or_else(
            || "–".to_owned(),
            |(v, o)| format!("{} ({})", num(v), label::objective(o)),
        )
    };
    for ((model, attack), h) in rows.0 {
        t.row(vec![
            model,
            h.epoch.map_or_else(|| "–".to_owned(), |e| e.to_string()),
            attack,
            h.lambda1
                .map_or_else(|| "–".to_owned(), |(_, o)| label::objective(o).to_owned()),
            cell(h.lambda1.map(|(v, _)| v)),
            cell(h.kappa_adversarial),
            cell(h.kappa_frozen),
            cell(h.grad_l2),
            cell(h.input_lambda),
            of(h.worst_case),
            of(h.average_case),
            of(h.awp),
        ]);
    }
    t
}

/// The page name without `.json`.
fn stem(name: &str) -> String {
    name.trim_end_matches(".json").to_owned()
}

/// The directory part of a page name, with its trailing `/` (empty for a bare file name).
fn directory(name: &str) -> String {
    name.rfind('/')
        .map_or_else(String::new, |i| name[..=i].to_owned())
}

#[cfg(test)]
mod tests {
    use advland_schema::{
        AttackResult, AttackSpec, AutoattackLiteSettings, Cost, Metrics, Norm, RobustMetrics,
        RobustWorstCase,
    };

    use super::*;

    fn metrics(accuracy: f64) -> Metrics {
        Metrics {
            loss: 1.0,
            accuracy,
            examples: 4,
        }
    }

    fn result(attack: AttackSpec, accuracy: f64) -> AttackResult {
        AttackResult {
            attack,
            metrics: metrics(accuracy),
            robust: vec![],
            seed: 0,
            cost: Cost::default(),
            stages: vec![],
        }
    }

    #[test]
    fn columns_name_each_attack_and_the_worst_case_of_one_threat() {
        let pgd = PgdSettings::new(Norm::Linf, 0.1, 20);
        let lite = AutoattackLiteSettings::new(Norm::Linf, 0.1);
        let mut e = EvalResult {
            clean: metrics(1.0),
            robust: vec![RobustMetrics {
                attack: pgd.clone(),
                metrics: metrics(0.75),
            }],
            attacks: vec![],
            worst_case: None,
        };
        // Without flags the worst case is the lowest accuracy.
        assert_eq!(
            columns(&e),
            [
                ("L∞ ε=0.1 PGD-20".to_owned(), 0.75),
                ("worst case".to_owned(), 0.75)
            ]
        );
        e.attacks = vec![
            result(AttackSpec::Pgd(pgd), 0.75),
            result(AttackSpec::AutoattackLite(lite), 0.5),
        ];
        e.worst_case = Some(RobustWorstCase {
            metrics: metrics(0.25),
            robust: vec![],
        });
        assert_eq!(
            columns(&e),
            [
                ("L∞ ε=0.1 PGD-20".to_owned(), 0.75),
                ("L∞ ε=0.1 AA-lite-100".to_owned(), 0.5),
                ("L∞ ε=0.1 worst case".to_owned(), 0.25),
            ]
        );
        // Attacks of two threats: the worst case is over both, named plainly.
        e.attacks[1] = result(
            AttackSpec::AutoattackLite(AutoattackLiteSettings::new(Norm::L2, 1.0)),
            0.5,
        );
        assert_eq!(columns(&e)[2].0, "worst case");
    }
}
