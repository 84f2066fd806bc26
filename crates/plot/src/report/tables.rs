//! The numbers of each report as HTML tables, and its provenance.

use advland_schema::flatness::{Distribution, FlatnessReport, RelationReport};
use advland_schema::linear::LinearReport;
use advland_schema::{AttackSpec, DemoSummary, EvalResult, Meta, SurfaceReport, TrainLog};

use crate::html::{Table, escape, num};
use crate::label;
use crate::report::AnyReport;
use crate::report::sharpness_tables::sharpness;

/// Every table of one report.
pub fn tables(r: &AnyReport) -> Vec<Table> {
    match r {
        AnyReport::Train(r) => train(&r.data),
        AnyReport::Eval(r) => vec![eval("evaluation", &r.data.result)],
        AnyReport::Demo(r) => demo(&r.data),
        AnyReport::Sharpness(r) => sharpness(&r.data),
        AnyReport::Flatness(r) => flatness(&r.data),
        AnyReport::Relate(r) => relation(&r.data),
        AnyReport::Linear(r) => linear(&r.data),
        AnyReport::Surface(r) => surface(&r.data),
        AnyReport::Compare(r) => vec![compare(&r.data)],
        AnyReport::Perturbation(r) => super::path_tables::perturbation(&r.data),
        AnyReport::Connectivity(r) => super::path_tables::connectivity(&r.data),
        AnyReport::Calibrate(r) => super::path_tables::calibrate(&r.data),
    }
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

fn train(log: &TrainLog) -> Vec<Table> {
    let mut head = vec![
        "epoch",
        "lr",
        "objective loss",
        "objective acc",
        "train clean acc",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    if let Some(e) = log.epochs.first() {
        for (split, result) in e.evaluations() {
            head.push(format!("{split} clean loss"));
            head.push(format!("{split} clean acc"));
            for r in &result.robust {
                head.push(format!("{split} acc, {}", label::attack(&r.attack)));
            }
        }
    }
    head.push("duration (s)".to_owned());
    let mut t = Table {
        caption: format!("per-epoch log ({} parameters)", log.parameters),
        head,
        rows: Vec::new(),
    };
    for e in &log.epochs {
        let mut row = vec![
            s(e.epoch),
            num(e.lr),
            num(e.train_objective.loss),
            num(e.train_objective.accuracy),
            num(e.train_clean.accuracy),
        ];
        for (_, result) in e.evaluations() {
            row.push(num(result.clean.loss));
            row.push(num(result.clean.accuracy));
            row.extend(result.robust.iter().map(|r| num(r.metrics.accuracy)));
        }
        row.push(num(e.duration_s));
        t.row(row);
    }
    vec![t]
}

fn eval(caption: &str, r: &EvalResult) -> Table {
    let mut t = Table::new(caption, &["inputs", "loss", "accuracy", "examples"]);
    t.row(vec![
        "clean".into(),
        num(r.clean.loss),
        num(r.clean.accuracy),
        s(r.clean.examples),
    ]);
    for a in &r.robust {
        t.row(vec![
            label::attack_long(&a.attack),
            num(a.metrics.loss),
            num(a.metrics.accuracy),
            s(a.metrics.examples),
        ]);
    }
    // PGD's rows are above, with their step size and restarts.
    for a in r
        .attacks
        .iter()
        .filter(|a| !matches!(a.attack, AttackSpec::Pgd(_)))
    {
        t.row(vec![
            label::attack_spec(&a.attack),
            num(a.metrics.loss),
            num(a.metrics.accuracy),
            s(a.metrics.examples),
        ]);
    }
    if let Some(w) = &r.worst_case {
        t.row(vec![
            "worst case per example (clean and every attack)".into(),
            num(w.metrics.loss),
            num(w.metrics.accuracy),
            s(w.metrics.examples),
        ]);
    }
    t
}

fn demo(d: &DemoSummary) -> Vec<Table> {
    let mut t = Table::new(
        "models",
        &[
            "model",
            "trained with",
            "epochs",
            "train time (s)",
            "clean acc",
            "attack",
            "robust acc",
            "worst-case acc",
            "κ adversarial",
            "κ frozen",
            "top eigenvalues (frozen)",
        ],
    );
    for m in &d.models {
        let trained = m
            .adversarial
            .as_ref()
            .map_or("standard".to_owned(), label::attack);
        for (i, sh) in m.sharpness.iter().enumerate() {
            let robust = m
                .eval
                .robust
                .iter()
                .find(|r| r.attack.norm == sh.attack.norm)
                .map_or("–".to_owned(), |r| num(r.metrics.accuracy));
            let worst = m
                .robustness
                .iter()
                .find(|g| g.attacks.first().map(|a| a.attack.norm()) == Some(sh.attack.norm))
                .and_then(|g| g.worst_case.as_ref())
                .map_or("–".to_owned(), |w| num(w.metrics.accuracy));
            let eig: Vec<String> = sh.eigenvalues.iter().map(|&v| num(v)).collect();
            let first = i == 0;
            t.row(vec![
                if first { m.name.clone() } else { String::new() },
                if first {
                    trained.clone()
                } else {
                    String::new()
                },
                if first { s(m.epochs) } else { String::new() },
                if first {
                    num(m.train_duration_s)
                } else {
                    String::new()
                },
                if first {
                    num(m.eval.clean.accuracy)
                } else {
                    String::new()
                },
                label::attack(&sh.attack),
                robust,
                worst,
                num(sh.kappa_adversarial),
                num(sh.kappa_frozen),
                eig.join(", "),
            ]);
        }
    }
    let mut out = vec![t];
    out.extend(relation(&d.relation));
    out
}

fn dist_row(name: &str, point: &str, d: &Distribution) -> Vec<String> {
    vec![
        name.to_owned(),
        point.to_owned(),
        num(d.mean),
        num(d.median),
        num(d.q10),
        num(d.q90),
        num(d.min),
        num(d.max),
    ]
}

fn flatness(r: &FlatnessReport) -> Vec<Table> {
    let mut info = Table::new("setting", &["field", "value"]);
    for (k, v) in [
        ("checkpoint", r.checkpoint.clone()),
        ("epoch", s(r.epoch)),
        ("attack", label::attack_long(&r.attack)),
        ("examples", s(r.examples)),
        ("frozen activations", s(r.frozen_activations)),
    ] {
        info.row(vec![k.to_owned(), v]);
    }
    let mut t = Table::new(
        "per-example distributions",
        &[
            "measure", "at", "mean", "median", "q10", "q90", "min", "max",
        ],
    );
    for p in &r.points {
        let at = match p.point {
            advland_schema::flatness::InputPoint::Clean => "x",
            advland_schema::flatness::InputPoint::Adversarial => "x+δ*",
        };
        t.row(dist_row("loss", at, &p.loss));
        t.row(dist_row("‖∇ₓℓ‖₂", at, &p.grad_l2));
        t.row(dist_row("‖∇ₓℓ‖₁", at, &p.grad_l1));
        t.row(dist_row("input-Hessian λmax", at, &p.hessian_top));
        t.row(dist_row("gᵀHg/‖g‖²", at, &p.curvature_along_gradient));
        t.row(dist_row("tr ∇²ₓℓ", at, &p.hessian_trace));
        if let Some(k) = &p.kkt_multiplier {
            t.row(dist_row("KKT multiplier", at, k));
        }
    }
    if let Some(l) = &r.logit_lipschitz {
        t.row(dist_row(
            &format!("logit Lipschitz ({}, {} steps)", l.output_norm, l.steps),
            "ball",
            &l.estimate,
        ));
    }
    vec![info, t]
}

fn relation(r: &RelationReport) -> Vec<Table> {
    let mut rows = Table::new(
        "rows",
        &[
            "checkpoint",
            "epoch",
            "trained with",
            "attack",
            "κ adversarial",
            "κ frozen",
            "λmax at x+δ*",
            "curvature at x+δ*",
            "‖∇ₓℓ‖₂ at x+δ*",
            "λmax at x",
            "‖∇ₓℓ‖₂ at x",
        ],
    );
    for w in &r.rows {
        rows.row(vec![
            w.checkpoint.clone(),
            s(w.epoch),
            w.trained_with
                .as_ref()
                .map_or("standard".into(), label::attack),
            label::attack(&w.attack),
            num(w.kappa_adversarial),
            num(w.kappa_frozen),
            num(w.hessian_top_adversarial),
            num(w.curvature_adversarial),
            num(w.grad_l2_adversarial),
            num(w.hessian_top_clean),
            num(w.grad_l2_clean),
        ]);
    }
    let mut c = Table::new("Spearman correlations", &["measure", "with", "ρ", "rows"]);
    for k in &r.correlations {
        c.row(vec![
            k.measure.clone(),
            k.with.clone(),
            k.spearman.map_or("undefined".into(), num),
            s(k.rows),
        ]);
    }
    vec![rows, c]
}

fn linear(r: &LinearReport) -> Vec<Table> {
    let mut t = Table::new(
        &format!(
            "final points ({} vs {}, {} examples, {} features)",
            r.class_names[0], r.class_names[1], r.examples, r.features
        ),
        &[
            "norm",
            "ε",
            "loss",
            "clean acc",
            "robust acc",
            "‖w‖₂",
            "λmax(H)",
            "sign changes",
            "jump predicted",
            "jump measured",
        ],
    );
    for n in &r.norms {
        let l = &n.last;
        t.row(vec![
            label::norm(n.norm).into(),
            label::eps(n.eps),
            num(l.loss),
            num(l.clean_accuracy),
            num(l.robust_accuracy),
            num(l.w_norm),
            l.hessian_max_eigenvalue.map_or_else(
                || l.hessian_error.clone().unwrap_or_else(|| "–".into()),
                num,
            ),
            s(n.total_sign_changes),
            num(l.jump.predicted),
            num(l.jump.measured),
        ]);
    }
    vec![t]
}

fn surface(r: &SurfaceReport) -> Vec<Table> {
    let mut info = Table::new("grid and directions", &["field", "value"]);
    let d = &r.directions;
    for (k, v) in [
        (
            "checkpoint",
            format!("{} (epoch {})", r.checkpoint, r.epoch),
        ),
        (
            "directions",
            format!("{:?} ×{}", d.kind, d.count).to_lowercase(),
        ),
        ("directions hash", d.hash.clone()),
        (
            "‖dᵢ‖",
            d.norms
                .iter()
                .map(|&v| num(v))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("‖θ₀‖₂", num(r.theta_norm)),
        ("x axis", r.x.to_string()),
        ("y axis", r.y.map_or("–".into(), |y| y.to_string())),
        (
            "attack",
            r.attack.as_ref().map_or("–".into(), label::attack_long),
        ),
        ("examples", s(r.examples)),
        (
            "points",
            format!("{} of {} (shard {})", r.points.len(), r.grid_len(), r.shard),
        ),
    ] {
        info.row(vec![k.to_owned(), v]);
    }
    let mut vals = Table::new(
        "values",
        &[
            "objective",
            "loss at θ₀",
            "min loss",
            "at (α, β)",
            "max loss",
            "accuracy at θ₀",
        ],
    );
    let xs = r.x.values();
    let ys = r.y.map_or(vec![0.0], |y| y.values());
    let origin = r
        .points
        .iter()
        .position(|&k| xs.get(k % xs.len()) == Some(&0.0) && ys.get(k / xs.len()) == Some(&0.0));
    for v in &r.values {
        let (mut imin, mut imax) = (None::<usize>, None::<usize>);
        for (i, &l) in v.loss.iter().enumerate() {
            if imin.is_none_or(|m| l < v.loss[m]) {
                imin = Some(i);
            }
            if imax.is_none_or(|m| l > v.loss[m]) {
                imax = Some(i);
            }
        }
        let at = |i: Option<usize>| -> String {
            i.and_then(|i| r.points.get(i)).map_or("–".into(), |&k| {
                let a = xs.get(k % xs.len()).copied().unwrap_or(f64::NAN);
                match r.y {
                    Some(_) => format!(
                        "({}, {})",
                        num(a),
                        num(ys.get(k / xs.len()).copied().unwrap_or(f64::NAN))
                    ),
                    None => num(a),
                }
            })
        };
        let get = |vals: &[f64], i: Option<usize>| {
            i.and_then(|i| vals.get(i)).map_or("–".into(), |&x| num(x))
        };
        vals.row(vec![
            label::objective(v.objective).into(),
            get(&v.loss, origin),
            get(&v.loss, imin),
            at(imin),
            get(&v.loss, imax),
            get(&v.accuracy, origin),
        ]);
    }
    vec![info, vals]
}

/// The provenance of a report as a table plus its resolved config in a `<details>` block.
pub fn meta_html(m: &Meta) -> String {
    let mut t = Table::new("provenance", &["field", "value"]);
    for (k, v) in [
        ("command", m.command.join(" ")),
        ("advland", m.advland_version.clone()),
        ("burn", m.burn_version.clone()),
        ("device", m.device.clone()),
        ("seed", s(m.seed)),
        (
            "data",
            format!(
                "{}: {} of {} examples ({})",
                m.data.name, m.data.examples, m.data.total, m.data.selection
            ),
        ),
        ("started (Unix s)", s(m.started_unix_s)),
        ("duration (s)", num(m.duration_s)),
        (
            "cost (examples)",
            format!("{} forward, {} backward", m.cost.forward, m.cost.backward),
        ),
    ] {
        t.row(vec![k.to_owned(), v]);
    }
    let config = serde_json::to_string_pretty(&m.config).unwrap_or_else(|e| e.to_string());
    format!(
        "{}<details><summary>resolved configuration</summary><pre>{}</pre></details>\n",
        t.to_html(),
        escape(&config)
    )
}

fn compare(r: &advland_schema::CompareReport) -> Table {
    let mut head = vec!["run".to_owned(), "epoch".to_owned()];
    head.extend(r.measures.iter().cloned());
    Table {
        caption: format!("measures per checkpoint ({} runs)", r.runs.len()),
        head,
        rows: r
            .rows
            .iter()
            .map(|row| {
                let mut cells = vec![row.run.clone(), s(row.epoch)];
                cells.extend(
                    r.measures
                        .iter()
                        .map(|m| row.values.get(m).map_or_else(String::new, |&v| num(v))),
                );
                cells
            })
            .collect(),
    }
}
