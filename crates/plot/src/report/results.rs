//! The numbers a reader looks for first, gathered across reports: test accuracy per model
//! (clean, under each attack, the worst attack) and the headline measures per model and attack
//! (λ1, κ, input flatness). The page shows them above the list of files.
//!
//! A demo report brings its models' numbers; sharpness and flatness reports it does not list
//! (measured by hand) add rows of their own, named by the directory that holds them.

use std::collections::BTreeSet;

use advland_schema::flatness::{FlatnessAtPoint, InputPoint};
use advland_schema::{EvalResult, ObjectiveKind, PgdSettings, SharpnessEstimate};

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

fn accuracy(reports: &[(String, AnyReport)]) -> Table {
    let mut rows: Vec<(String, String, &EvalResult)> = Vec::new();
    for (name, r) in reports {
        match r {
            AnyReport::Demo(d) => {
                for m in &d.data.models {
                    let trained = m
                        .adversarial
                        .as_ref()
                        .map_or_else(|| "standard".to_owned(), label::attack);
                    rows.push((m.name.clone(), trained, &m.eval));
                }
            }
            AnyReport::Eval(e) => {
                rows.push((stem(name), "–".to_owned(), &e.data.result));
            }
            _ => {}
        }
    }
    let mut attacks: Vec<String> = Vec::new();
    for (_, _, e) in &rows {
        for r in &e.robust {
            let column = attack_column(&r.attack);
            if !attacks.contains(&column) {
                attacks.push(column);
            }
        }
    }
    let mut head = vec!["model", "trained with", "test examples", "clean"];
    head.extend(attacks.iter().map(String::as_str));
    head.push("worst case");
    let mut t = Table::new(
        "Test accuracy: clean, under each attack, and the worst case (the lowest accuracy \
         over the attacks)",
        &head,
    );
    for (model, trained, e) in rows {
        let mut cells = vec![
            model,
            trained,
            e.clean.examples.to_string(),
            num(e.clean.accuracy),
        ];
        for column in &attacks {
            let found = e
                .robust
                .iter()
                .find(|r| attack_column(&r.attack) == *column);
            cells.push(found.map_or_else(|| "–".to_owned(), |r| num(r.metrics.accuracy)));
        }
        let worst = e
            .robust
            .iter()
            .map(|r| r.metrics.accuracy)
            .min_by(f64::total_cmp);
        cells.push(worst.map_or_else(|| "–".to_owned(), num));
        t.row(cells);
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
