use super::*;

#[test]
fn quick_and_full_resolve_their_plans() {
    let quick = DemoConfig::new(true, 7);
    assert_eq!(quick, DemoConfig::quick(7));
    assert_eq!(DemoConfig::new(false, 7), DemoConfig::full(7));
    let full = DemoConfig::full(7);
    assert!(quick.quick && !full.quick);
    assert_eq!((quick.epochs, full.epochs), (3, 10));
    assert_eq!((quick.train_subset, full.train_subset), (Some(2000), None));
    assert_eq!(quick.surface_grid_2d.to_string(), "-1:1:5");
    assert_eq!(quick.surface_grid_1d.to_string(), "-1:1:11");
    assert_eq!(full.surface_grid_2d.to_string(), "-1:1:17");
    assert_eq!(full.surface_grid_1d.to_string(), "-1:1:21");
    // The grids equal what the surface flag parser makes of the same text.
    assert_eq!(full.surface_grid_2d, "-1:1:17".parse::<Axis>().unwrap());
    quick.check().unwrap();
    full.check().unwrap();
}

#[test]
fn every_call_takes_the_plan_and_seed() {
    let c = DemoConfig::quick(3);
    let runs = c.runs();
    assert_eq!(runs.clone().map(|(n, _)| n), RUNS);
    assert_eq!(runs[0].1, None);
    assert_eq!(runs[1].1, Some(PgdSettings::new(Norm::Linf, 0.1, 5)));
    assert_eq!(runs[2].1, Some(PgdSettings::new(Norm::L2, 1.0, 5)));

    let s = c.train_settings(runs[1].1.clone());
    assert_eq!(s.seed, 3);
    assert_eq!(s.data.train_subset, Some(2000));
    assert_eq!(s.data.test_subset, Some(500));
    assert_eq!(s.training.epochs, 3);
    assert_eq!(s.eval.subset, Some(200));
    assert_eq!(s.eval.attacks, threats(5));
    s.check().unwrap();

    let groups = c.final_attacks();
    assert_eq!(groups.len(), 2);
    for (group, norm) in groups.iter().zip([Norm::Linf, Norm::L2]) {
        let [AttackSpec::Pgd(pgd), AttackSpec::AutoattackLite(lite)] = group else {
            panic!("{group:?}");
        };
        assert_eq!((pgd.norm, pgd.steps), (norm, 10));
        assert_eq!((lite.norm, lite.eps, lite.steps), (norm, pgd.eps, 10));
    }

    let attack = PgdSettings::new(Norm::L2, 1.0, 5);
    let sharp = c.sharpness_config(Estimator::Lipschitz, ObjectiveKind::Adversarial, &attack);
    assert_eq!((sharp.subset, sharp.k, sharp.max_iter), (32, 2, 10));
    // The κ ascent has its own setting (it once took the number of directions).
    assert_eq!(
        (sharp.directions, sharp.ascent_steps, sharp.seed),
        (1, 1, 3)
    );
    let relate = c.relate_config();
    assert_eq!(
        (relate.subset, relate.ascent_steps, relate.seed),
        (16, 1, 3)
    );
    assert_eq!(DemoConfig::full(0).relate_config().subset, 64);
    let flat = c.flatness_config(attack.clone());
    assert_eq!((flat.subset, flat.seed), (16, 3));
    let surface = c.surface_config(&attack, c.surface_grid_1d, false);
    assert_eq!(surface.y, None);
    assert_eq!(surface.attack, Some(PgdSettings::new(Norm::L2, 1.0, 3)));
    assert_eq!(surface.subset, 100);
}

#[test]
fn the_summary_records_the_plan_as_it_always_has() {
    let c = DemoConfig::quick(0);
    let recorded = c.recorded();
    let keys: Vec<&str> = recorded
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 4);
    for key in ["quick", "runs", "final_attacks", "base_settings"] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert_eq!(recorded["quick"], true);
    assert_eq!(
        recorded["runs"],
        serde_json::json!(["standard", "linf", "l2"])
    );
    assert_eq!(
        recorded["base_settings"],
        serde_json::to_value(c.train_settings(None)).unwrap()
    );
}

#[test]
fn configurations_round_trip_and_refuse_what_cannot_finish() {
    let full = DemoConfig::full(1);
    let text = serde_json::to_string(&full).unwrap();
    assert_eq!(serde_json::from_str::<DemoConfig>(&text).unwrap(), full);

    let late = DemoConfig {
        relation_epochs: vec![1, 4],
        ..DemoConfig::quick(0)
    };
    let err = late.check().unwrap_err().to_string();
    assert!(err.starts_with("relation_epochs: epoch 4"), "{err}");
    let zero = DemoConfig {
        relation_epochs: vec![0],
        ..DemoConfig::quick(0)
    };
    assert!(zero.check().is_err());
    let flat = DemoConfig {
        surface_grid_1d: Axis {
            min: 1.0,
            max: -1.0,
            points: 3,
        },
        ..DemoConfig::quick(0)
    };
    let err = flat.check().unwrap_err().to_string();
    assert!(err.starts_with("surface_grid_1d"), "{err}");
}
