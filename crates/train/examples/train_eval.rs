//! PGD adversarial training of a small MLP on the bundled data, then its robust accuracy under
//! PGD and APGD-CE with the per-example worst case, through the library alone. With the same
//! settings the numbers equal those of
//! `advland train --model mlp --hidden 32 --epochs 2 --norm linf --eps 0.1 --steps 2
//! --train-subset 300 --test-subset 100 --out run` followed by
//! `advland eval --checkpoint run --attack pgd:linf:0.1:10 --attack apgd-ce:linf:0.1:10`
//! (tested in `tests/e2e/examples.rs`).
//!
//! `cargo run -p advland-train --example train_eval -- OUT.json`

use advland_schema::{
    AttackSpec, ModelKind, ModelSpec, Norm, PgdSettings, TrainSettings, write_json,
};
use advland_train::data::load_splits;
use advland_train::{Silent, evaluate_attacks, train};
use burn::tensor::Device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(out) = std::env::args().nth(1) else {
        return Err("usage: train_eval OUT.json".into());
    };
    let mut settings = TrainSettings {
        model: ModelSpec {
            kind: ModelKind::Mlp,
            hidden: vec![32],
            ..ModelSpec::default()
        },
        adversarial: Some(PgdSettings::new(Norm::Linf, 0.1, 2)),
        ..TrainSettings::default()
    };
    settings.training.epochs = 2;
    settings.data.train_subset = Some(300);
    settings.data.test_subset = Some(100);

    let device = Device::flex().autodiff();
    let splits = load_splits(&settings.data)?;
    let (model, log) = train(&settings, &splits, &device, None, &mut Silent)?;
    if let Some(last) = log.epochs.last() {
        println!(
            "epoch {}: training loss {:.4}",
            last.epoch, last.train_objective.loss
        );
    }

    let attacks: Vec<AttackSpec> = ["pgd:linf:0.1:10", "apgd-ce:linf:0.1:10"]
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let (result, _cost) = evaluate_attacks(
        &model,
        &splits.test,
        &attacks,
        500, // `advland eval`'s --batch-size and --seed defaults
        0,
        &device,
        &mut Silent,
    )?;
    println!("clean accuracy {:.4}", result.clean.accuracy);
    write_json(std::path::Path::new(&out), &result)?;
    Ok(())
}
